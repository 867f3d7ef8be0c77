/*
 * Never lose work on the issue form.
 *
 * - Autosave: a few seconds after the editor stops typing, and when they leave a field, the
 *   whole form (valid or not; files are kept by the form itself) is posted as JSON to the
 *   issue's autosave URL. The status line says "Saved 3 s ago", kept current every second.
 * - Presence: a heartbeat every 15 s says who else has the issue open, and whether someone
 *   saved a newer version meanwhile.
 * The page works without this script; it only adds the saving and the status.
 */
(function () {
  "use strict";

  var QUIET_MS = 2000;
  var HEARTBEAT_MS = 15000;

  function ago(ms) {
    var s = Math.max(0, Math.round(ms / 1000));
    if (s < 60) return s + " s ago";
    if (s < 3600) return Math.floor(s / 60) + " min ago";
    if (s < 86400) return Math.floor(s / 3600) + " h ago";
    return Math.floor(s / 86400) + " d ago";
  }

  function start() {
    var bar = document.getElementById("sf-editing");
    if (!bar) return;
    var form = bar.closest("form");
    var status = bar.querySelector(".sf-autosave-status");
    var presence = bar.querySelector(".sf-presence");
    var newer = bar.querySelector(".sf-newer");
    var token = form.querySelector("[name=csrfmiddlewaretoken]").value;
    var version = Number(bar.dataset.version);
    var savedAt = bar.dataset.savedAt ? Date.parse(bar.dataset.savedAt) : null;
    var dirty = false;
    var timer = null;
    var submitting = false;

    function show() {
      if (!status) return;
      if (dirty) status.textContent = "Unsaved changes…";
      else if (savedAt) status.textContent = "Saved " + ago(Date.now() - savedAt);
    }

    function fields() {
      var pairs = [];
      new FormData(form).forEach(function (value, name) {
        if (typeof value === "string") pairs.push([name, value]);
      });
      return pairs;
    }

    function save(keepalive) {
      clearTimeout(timer);
      timer = null;
      if (!dirty || submitting || !bar.dataset.canChange) return;
      dirty = false;
      fetch(bar.dataset.autosaveUrl, {
        method: "POST",
        credentials: "same-origin",
        keepalive: Boolean(keepalive),
        headers: { "Content-Type": "application/json", "X-CSRFToken": token },
        body: JSON.stringify({ fields: fields() }),
      })
        .then(function (response) {
          if (!response.ok) throw new Error(response.status);
          return response.json();
        })
        .then(function (answer) {
          savedAt = Date.parse(answer.saved_at);
          show();
        })
        .catch(function () {
          dirty = true;
          if (status) status.textContent = "Not saved yet: the server did not answer. Retrying…";
          timer = setTimeout(save, QUIET_MS * 3);
        });
    }

    function changed() {
      dirty = true;
      show();
      clearTimeout(timer);
      timer = setTimeout(save, QUIET_MS);
    }

    function heartbeat(leave) {
      var body = new FormData();
      body.append("csrfmiddlewaretoken", token);
      if (leave) {
        body.append("leave", "1");
        navigator.sendBeacon(bar.dataset.presenceUrl, body);
        return;
      }
      fetch(bar.dataset.presenceUrl, { method: "POST", credentials: "same-origin", body: body })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (answer) {
          if (!answer) return;
          var names = answer.others.map(function (other) { return other.name; });
          presence.hidden = names.length === 0;
          presence.textContent = names.length ? "Also open by " + names.join(", ") : "";
          if (answer.version > version) {
            newer.hidden = false;
            newer.textContent = (answer.saved_by || "Someone") + " saved version " + answer.version +
              " " + ago(Date.now() - Date.parse(answer.saved_at)) +
              ". Saving now would be refused; your changes stay kept as a draft.";
          }
        })
        .catch(function () {});
    }

    form.addEventListener("input", changed);
    form.addEventListener("change", function () { dirty = true; save(); });
    form.addEventListener("focusout", function () { if (dirty) save(); });
    form.addEventListener("submit", function () { submitting = true; clearTimeout(timer); });
    window.addEventListener("pagehide", function () {
      if (submitting) return; // the form's own page comes next, and marks the editor present
      if (dirty) save(true);
      heartbeat(true);
    });
    window.addEventListener("focus", function () { heartbeat(false); }); // back to the tab
    setInterval(show, 1000);
    setInterval(function () { heartbeat(false); }, HEARTBEAT_MS);
    heartbeat(false); // after any "gone" a reload of this page sent on its way out
    show();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
