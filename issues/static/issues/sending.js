/* The sending pages: the delivery page's live progress, the audience choice that counts at
   once, and the confirmations before irreversible buttons. A file, not inline code: the
   admin's Content-Security-Policy runs no inline script. */
'use strict';

/* A form with data-confirm asks first (e.g. cancelling a dispatch). */
document.addEventListener('submit', function (event) {
  const question = event.target.dataset && event.target.dataset.confirm;
  if (question && !window.confirm(question)) event.preventDefault();
});

/* Choosing another audience shows its count at once; the button does the same without scripts. */
document.addEventListener('DOMContentLoaded', function () {
  const audience = document.querySelector('#audience-form #id_audience');
  if (audience) audience.addEventListener('change', function () { this.form.submit(); });
});

/* The delivery page's figures, polled until the dispatch is done. */
document.addEventListener('DOMContentLoaded', function () {
  const root = document.getElementById('progress');
  const initialData = document.getElementById('progress-initial');
  if (!root || !initialData) return;
  function duration(seconds) {
    if (seconds === null || seconds === undefined) return "–";
    if (seconds < 90) return seconds + " s";
    if (seconds < 5400) return Math.round(seconds / 60) + " min";
    return (seconds / 3600).toFixed(1) + " h";
  }
  function show(p) {
    const total = Math.max(p.planned, 1);
    document.getElementById("bar-sent").style.width = (100 * p.sent / total) + "%";
    document.getElementById("bar-failed").style.width = (100 * p.failed / total) + "%";
    root.querySelector("[role=progressbar]").setAttribute("aria-valuenow", p.sent);
    for (const key of ["planned", "sent", "failed", "pending"]) {
      document.getElementById("figure-" + key).textContent = p[key];
    }
    // A finished send's page shows its duration and average rate instead (rendered once).
    const rate = document.getElementById("figure-rate"), eta = document.getElementById("figure-eta");
    if (rate) rate.textContent = p.rate_per_second;
    if (eta) eta.textContent = p.done ? "done" : duration(p.eta_seconds);
    document.getElementById("progress-status").textContent = p.status_label;
    const reason = document.getElementById("progress-reason");
    reason.textContent = p.reason;
    reason.hidden = !p.reason;
    return p;
  }
  function poll() {
    fetch(root.dataset.url, {credentials: "same-origin"})
      .then((response) => response.json())
      .then(show)
      // Once the dispatch finishes, reload: the actions (pause, cancel, retry) belong to its new state.
      .then((p) => { if (!p.done) setTimeout(poll, 1000); else if (!initial.done) location.reload(); })
      .catch(() => setTimeout(poll, 5000));
  }
  const initial = show(JSON.parse(initialData.textContent));
  poll();
});
