/* Live preview: beside the block stream, the email (600 or 375 px, light or dark) and the web
   page as the real renderer draws the unsaved form. The form is posted (without files) a moment
   after the editor stops typing; the answer fills a sandboxed frame, which scrolls to the block
   being edited. */
'use strict';
(function () {
  const DELAY_MS = 400;
  const WIDTHS = { 'email-600': 600, 'email-375': 375, web: 640 };

  function LivePreview(panel, form) {
    const frame = panel.querySelector('iframe');
    const status = panel.querySelector('.sf-live-status');
    const dark = panel.querySelector('.sf-live-dark');
    let view = 'email-600';
    let timer = null;
    let request = null;
    let editing = null;  // position of the block being edited

    function url() {
      const channel = view === 'web' ? 'web' : (dark.checked ? 'email-dark' : 'email');
      return panel.dataset.url + '?view=' + channel;
    }

    function formData() {
      const data = new FormData(form);
      Array.from(data.entries()).forEach(function (entry) {
        if (entry[1] instanceof File) data.delete(entry[0]);  // uploads wait for the save
      });
      return data;
    }

    /* The block with the focus (its position may have changed since), else the last edited. */
    function editedPosition() {
      const row = document.activeElement && document.activeElement.closest('.sf-block');
      const position = row && row.querySelector('input[name$="-position"]');
      return (position && position.value) || editing;
    }

    function scrollToBlock() {
      const doc = frame.contentDocument;
      const position = editedPosition();
      const mark = doc && position && doc.getElementById('sf-block-' + position);
      if (mark) mark.scrollIntoView({ block: 'start' });
    }

    function refresh() {
      if (request) request.abort();
      request = new AbortController();
      status.textContent = 'Updating…';
      panel.classList.add('sf-live-busy');
      fetch(url(), { method: 'POST', body: formData(), signal: request.signal, credentials: 'same-origin' })
        .then(function (response) {
          const leftOut = Number(response.headers.get('X-Blocks-Left-Out') || 0);
          return response.text().then(function (html) {
            if (!response.ok) throw new Error(response.status);
            frame.srcdoc = html;
            status.textContent = leftOut
              ? (leftOut === 1 ? '1 block is' : leftOut + ' blocks are') + ' left out: errors to fix, or an image not saved yet.'
              : 'Up to date.';
          });
        })
        .catch(function (error) {
          if (error.name !== 'AbortError') status.textContent = 'The preview could not be updated (' + error.message + ').';
        })
        .finally(function () { panel.classList.remove('sf-live-busy'); });
    }

    function soon() {
      clearTimeout(timer);
      timer = setTimeout(refresh, DELAY_MS);
    }

    function follow(event) {
      const row = event.target.closest && event.target.closest('.sf-block');
      const position = row && row.querySelector('input[name$="-position"]');
      if (position && position.value && position.value !== editing) {
        editing = position.value;
        scrollToBlock();
      }
    }

    function show(name) {
      view = name;
      panel.style.setProperty('--sf-live-frame', WIDTHS[name] + 'px');
      panel.querySelectorAll('.sf-live-view').forEach(function (tab) {
        tab.setAttribute('aria-pressed', String(tab.dataset.view === name));
      });
      dark.disabled = name === 'web';
      refresh();
    }

    frame.addEventListener('load', scrollToBlock);
    form.addEventListener('input', function (event) { follow(event); soon(); });
    form.addEventListener('change', soon);
    form.addEventListener('focusin', follow);
    document.addEventListener('sf:stream-changed', soon);
    dark.addEventListener('change', refresh);
    panel.querySelectorAll('.sf-live-view').forEach(function (tab) {
      tab.addEventListener('click', function () { show(tab.dataset.view); });
    });
    panel.querySelector('.sf-live-hide').addEventListener('click', function () {
      document.body.classList.toggle('sf-live-hidden');
    });
    panel.hidden = false;
    document.body.classList.add('sf-has-live');
    show(view);
  }

  document.addEventListener('DOMContentLoaded', function () {
    const panel = document.querySelector('.sf-live');
    const form = document.getElementById('issue_form');
    if (panel && form) new LivePreview(panel, form);
  });
})();
