// The import page polls its job until the worker is done, then shows the report.
(function () {
  "use strict";
  const box = document.getElementById("import-progress");
  if (!box || box.dataset.done === "true") return;
  const fields = ["lines", "imported", "rejected", "percent"];

  function show(figures) {
    document.getElementById("import-status").textContent = figures.status_label;
    document.getElementById("import-bar").value = figures.percent;
    document.getElementById("import-added").textContent = figures.added_to_newsletter;
    for (const name of fields) {
      document.getElementById("import-" + name).textContent = figures[name];
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
