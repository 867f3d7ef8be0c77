/* Live preview: beside the block stream, the email (600 or 375 px, light or dark) and the web
   page as the real renderer draws the unsaved form. The form is posted a moment after the
   editor stops typing; the answer fills a sandboxed frame, which scrolls to the block being
   edited. A chosen image goes up once: the answer names its signed reference (X-Kept-Images),
   which the form carries from then on in the hidden "-kept" input, instead of the file. */
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

    const uploaded = new WeakMap();  // file input -> the File the server keeps for it

    function formData() {
      const data = new FormData(form);
      form.querySelectorAll('input[type=file]').forEach(function (input) {
        const file = input.files && input.files[0];
        if (!file || uploaded.get(input) === file) data.delete(input.name);
      });
      return data;
    }

    /* The server stored these uploads: post their references, not the files, from now on. */
    function keep(references) {
      Object.keys(references).forEach(function (name) {
        const input = form.querySelector('input[type=file][name="' + name + '"]');
        if (!input) return;
        let kept = form.querySelector('input[type=hidden][name="' + name + '-kept"]');
        if (!kept) {
          kept = document.createElement('input');
          kept.type = 'hidden';
          kept.name = name + '-kept';
          input.after(kept);
        }
        kept.value = references[name];
        if (input.files && input.files[0]) uploaded.set(input, input.files[0]);
      });
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
          if (response.ok) keep(JSON.parse(response.headers.get('X-Kept-Images') || '{}'));
          return response.text().then(function (html) {
            if (!response.ok) throw new Error(response.status);
            frame.srcdoc = html;
            status.textContent = leftOut
              ? (leftOut === 1 ? '1 block is' : leftOut + ' blocks are') + ' left out: errors to fix.'
              : 'Up to date.';
          });
        })
        .catch(function (error) {
          if (error.name !== 'AbortError') status.textContent = 'The preview could not be updated (' + error.message + ').';
        })
        .finally(function () { panel.classList.remove('sf-live-busy'); });
    }

    // Said at once: between an edit and its refresh the preview is not up to date.
    function soon() {
      clearTimeout(timer);
      status.textContent = 'Updating…';
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
    form.addEventListener('submit', function () {
      // An image the server keeps goes by its reference: the file is not stored twice.
      form.querySelectorAll('input[type=file]').forEach(function (input) {
        if (input.files && input.files[0] && uploaded.get(input) === input.files[0]) input.value = '';
      });
    });
    document.addEventListener('sf:stream-changed', soon);
    // An edit on its way (a paste being turned into blocks): not up to date, nothing new to
    // show yet. Its blocks, when they come, refresh the preview; if none come, it looks again.
    document.addEventListener('sf:stream-pending', function () {
      clearTimeout(timer);
      status.textContent = 'Updating…';
    });
    document.addEventListener('sf:stream-unchanged', refresh);
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
