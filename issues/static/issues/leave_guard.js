/* A page with edits its Save buttons have not saved asks before the browser leaves it
   (beforeunload), even where autosave kept a draft: the editor decides. Edits are what the
   editor changes inside the page's change form (typing, choosing, a block moved, inserted or
   removed); controls outside it, such as the live preview's, are not. Sending any form of the
   page (Save, a notice's "discard", an object tool) leaves it on purpose. */
'use strict';
(function () {
  document.addEventListener('DOMContentLoaded', function () {
    const form = document.querySelector('#content-main form[id$="_form"]');
    if (!form) return;
    let edited = false;
    let leaving = false;
    function edit() { edited = true; }
    form.addEventListener('input', edit);
    form.addEventListener('change', edit);
    document.addEventListener('sf:stream-changed', edit);
    document.addEventListener('submit', function () { leaving = true; });
    window.addEventListener('beforeunload', function (event) {
      if (!edited || leaving) return;
      event.preventDefault();
      event.returnValue = '';  // older browsers ask only when this is set
    });
  });
})();
