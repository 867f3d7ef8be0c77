// A page that follows a worker's job (a CSV import, a move-in from another platform): it
// polls the JSON at #import-progress's data-url every second, writes each figure into the
// elements that name it (data-figure="lines"; a <progress> takes its value from data-figure
// and its max from data-figure-max), and reloads for the report once the job is done.
// Without JavaScript the page refreshes itself instead, where it says so.
(function () {
  "use strict";
  const box = document.getElementById("import-progress");
  if (!box || box.dataset.done === "true") return;

  function show(figures) {
    for (const element of document.querySelectorAll("[data-figure]")) {
      const value = figures[element.dataset.figure];
      if (element.tagName === "PROGRESS") {
        if (element.dataset.figureMax) {
          element.max = Math.max(figures[element.dataset.figureMax], 1);
        }
        element.value = value;
      } else {
        // 20,000 of 100,000, as the page first shows them.
        element.textContent = typeof value === "number" ? value.toLocaleString("en-US") : value;
      }
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
