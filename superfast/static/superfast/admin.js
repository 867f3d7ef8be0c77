// Superfast's corrections to the Django admin's markup, on every admin page.

// The search box that Django's autocomplete widget (Select2) draws has no label: name it
// after the label of the select it stands for, now and whenever Select2 draws it again.
(function () {
  "use strict";

  function nameSearchBoxes() {
    document.querySelectorAll(".select2-search__field:not([aria-label])").forEach(function (box) {
      var container = box.closest(".select2-container");
      var select = container && container.previousElementSibling;
      var label = select && select.id && document.querySelector('label[for="' + select.id + '"]');
      if (label) {
        box.setAttribute("aria-label", label.textContent.trim().replace(/:$/, ""));
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (!document.querySelector("select.admin-autocomplete")) {
      return;
    }
    nameSearchBoxes();
    new MutationObserver(nameSearchBoxes).observe(document.body, { childList: true, subtree: true });
  });
})();
