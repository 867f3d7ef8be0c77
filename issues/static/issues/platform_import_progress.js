// An import from another platform: poll its progress until the worker is done, then reload
// for the report. Without JavaScript the page refreshes itself (a <noscript> meta refresh).
(function () {
  "use strict";
  const box = document.getElementById("import-progress");
  if (!box || box.dataset.done === "true") return;

  function show(figures) {
    document.getElementById("import-status").textContent = figures.status_label;
    for (const part of ["posts", "readers"]) {
      const bar = document.getElementById("import-" + part + "-bar");
      bar.max = Math.max(figures[part + "_total"], 1);
      bar.value = figures[part + "_done"];
      document.getElementById("import-" + part + "-done").textContent = figures[part + "_done"];
      document.getElementById("import-" + part + "-total").textContent = figures[part + "_total"];
    }
  }

  async function poll() {
    try {
      const response = await fetch(box.dataset.url, { credentials: "same-origin" });
      if (response.ok) {
        const figures = await response.json();
        show(figures);
        if (figures.done) {
          window.location.reload();
          return;
        }
      }
    } catch (error) {
      // A dropped request is retried on the next tick.
    }
    window.setTimeout(poll, 1000);
  }
  window.setTimeout(poll, 500);
})();
