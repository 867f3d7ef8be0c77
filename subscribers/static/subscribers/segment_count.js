// The segment page's live count: a moment after any condition changes, the form as it
// stands is posted (with its CSRF token) to the count endpoint, which saves nothing.
(function () {
  "use strict";
  function start() {
    const output = document.getElementById("segment-count");
    const form = document.getElementById("segment_form");
    if (!output || !form) return;
    const problem = document.getElementById("segment-count-problem");
    let timer = null;
    let asked = 0;

    function show(text, trouble) {
      output.textContent = text;
      problem.textContent = trouble || "";
      problem.style.display = trouble ? "" : "none";
    }

    async function count() {
      const mine = ++asked;
      output.setAttribute("aria-busy", "true");
      try {
        const answer = await fetch(output.dataset.url, {
          method: "POST",
          body: new FormData(form),
          credentials: "same-origin",
          headers: { "X-Requested-With": "fetch" },
        });
        const data = await answer.json();
        if (mine !== asked) return; // a newer count is on its way
        if (data.errors) {
          const messages = Object.values(data.errors).flat();
          show("–", messages.join(" "));
        } else {
          show(String(data.count), "");
        }
      } catch (error) {
        if (mine === asked) show("–", "The count could not be updated.");
      } finally {
        if (mine === asked) output.removeAttribute("aria-busy");
      }
    }

    function later() {
      clearTimeout(timer);
      timer = setTimeout(count, 400);
    }

    form.addEventListener("input", later);
    form.addEventListener("change", later);
    // The tag pickers (select2) announce changes through jQuery only.
    if (window.django && window.django.jQuery) {
      window.django.jQuery(form).on("change", "select", later);
    }
    if (output.textContent.trim() === "–") count();
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
