/* Preview frames grow to their document's height, so each preview reads like the real thing. */
'use strict';
document.addEventListener('DOMContentLoaded', function () {
  document.querySelectorAll('.sf-preview iframe').forEach(function (frame) {
    function fit() {
      const doc = frame.contentDocument;
      if (!doc || !doc.documentElement) return;
      frame.style.height = '120px';  // a document is never shorter than its frame: measure small
      frame.style.height = (doc.documentElement.scrollHeight + 8) + 'px';
    }
    frame.addEventListener('load', fit);
    if (frame.contentDocument && frame.contentDocument.readyState === 'complete') fit();
  });
});
