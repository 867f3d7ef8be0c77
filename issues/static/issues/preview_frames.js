/* The Preview page: each frame shows its whole page (email, plain text, web page) at its full
   height. A page served in its own sandbox has an origin of its own and cannot be measured
   from here, so this script fetches each channel's page and shows it through srcdoc in a frame
   sandboxed without scripts but sharing this page's origin (as the live preview does): nothing
   in the issue runs, and this page can read the frame's height. Should a fetch fail, the frame
   shows the sandboxed page itself, at a fixed height. */
'use strict';
(function () {
  function plainTextPage(text) {
    const pre = document.createElement('pre');
    pre.textContent = text;
    pre.style.cssText = 'white-space: pre-wrap; margin: 12px; font: 13px/1.5 monospace;';
    return '<!doctype html><meta charset="utf-8">' + pre.outerHTML;
  }

  function fit(frame) {
    const doc = frame.contentDocument;
    if (!doc || !doc.documentElement) return;
    frame.style.height = '0';  // measured from nothing, so a frame can shrink as well as grow
    frame.style.height = doc.documentElement.scrollHeight + 'px';
  }

  function show(frame) {
    const src = frame.dataset.src;
    fetch(src, { credentials: 'same-origin' })
      .then(function (response) {
        if (!response.ok) throw new Error(response.status);
        const plain = (response.headers.get('Content-Type') || '').startsWith('text/plain');
        return response.text().then(function (body) { return plain ? plainTextPage(body) : body; });
      })
      .then(function (html) {
        frame.addEventListener('load', function () { fit(frame); });
        frame.setAttribute('sandbox', 'allow-same-origin');  // still no scripts, no forms
        frame.srcdoc = html;
      })
      .catch(function () { frame.src = src; });  // the sandboxed page itself, at a fixed height
  }

  document.addEventListener('DOMContentLoaded', function () {
    const frames = Array.from(document.querySelectorAll('iframe.sf-fit'));
    frames.forEach(show);
    window.addEventListener('resize', function () { frames.forEach(fit); });
  });
})();
