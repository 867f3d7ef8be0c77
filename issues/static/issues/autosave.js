/*
 * Never lose work on the issue form.
 *
 * - Autosave: a few seconds after the editor stops typing, when they leave a field, and after
 *   every change to the block stream (move, insert, remove, kind), the whole form (valid or
 *   not) is posted as JSON to the autosave URL ("Add issue" has one too). The status
 *   line says "Saved 3 s ago", kept current every second.
 * - Images: a file chosen in a block is stored at once (``…/autosave/image/``); the form then
 *   carries the stored image's signed reference instead of the file, so drafts keep it.
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
    var dirty = false; // changed since the last autosave
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

    /* Where a block shows its image, above the file input: the page's own, for a block that
       has one (or null). */
    function currentImage(input) {
      var before = input.previousElementSibling;
      return input.closest(".current-image") ||
        (before && before.matches(".current-image") ? before : null);
    }

    /* A thumbnail without an address yet keeps its room (block_stream.css). */
    function newImageHolder(input) {
      var current = document.createElement("p");
      current.className = "file-upload current-image";
      var img = document.createElement("img");
      img.alt = "";
      img.height = 60;
      current.appendChild(img);
      current.appendChild(document.createTextNode(""));
      input.before(current);
      return current;
    }

    function showImage(current, url, name) {
      var img = current.querySelector("img");
      if (url) img.src = url;
      else img.removeAttribute("src");
      img.nextSibling.textContent = " " + name + " ";
    }

    /* The stored image's reference goes into the hidden input the server reads when no file
       is posted; the file input is emptied, so the image is never uploaded twice. */
    function keepImage(input, answer) {
      var current = currentImage(input) || newImageHolder(input);
      var kept = form.querySelector('input[type=hidden][name="' + input.name + '-kept"]');
      if (!kept) {
        kept = document.createElement("input");
        kept.type = "hidden";
        kept.name = input.name + "-kept";
        current.prepend(kept);
      }
      kept.value = answer.kept;
      showImage(current, answer.url, answer.name);
      input.value = "";
    }

    /* Check and store one image file on the server; resolves to its signed reference, or
       rejects with the server's own words on why the file was refused. XMLHttpRequest rather
       than fetch, for the upload's progress (onProgress gets 0…1). */
    function uploadImage(file, onProgress) {
      return new Promise(function (resolve, reject) {
        if (!bar.dataset.imageUrl) { reject(new Error("images cannot be stored here")); return; }
        var body = new FormData();
        body.append("image", file);
        var request = new XMLHttpRequest();
        request.open("POST", bar.dataset.imageUrl);
        request.setRequestHeader("X-CSRFToken", token);
        request.responseType = "json";
        if (onProgress) {
          request.upload.addEventListener("progress", function (event) {
            if (event.lengthComputable) onProgress(event.loaded / event.total);
          });
        }
        request.addEventListener("load", function () {
          var answer = request.response || {};
          if (request.status === 200 && answer.kept) resolve(answer);
          else reject(new Error(answer.error || "the server answered " + request.status));
        });
        request.addEventListener("error", function () {
          reject(new Error("the server did not answer"));
        });
        request.send(body);
      });
    }

    /* The thumbnail takes its room as the file is chosen, not when the server answers: the
       answer moves nothing, so a button the editor is pressing meanwhile (a block below, the
       "+ Text" of the toolbar) stays under the pointer instead of slipping away from it. */
    function storeImage(input) {
      if (!bar.dataset.imageUrl || !input.files.length) return;
      var file = input.files[0];
      var existing = currentImage(input);
      var current = existing || newImageHolder(input);
      var img = current.querySelector("img");
      var shown = { url: img.getAttribute("src"), name: img.nextSibling.textContent.trim() };
      showImage(current, null, file.name);
      if (status) status.textContent = "Storing the image…";
      uploadImage(file)
        .then(function (answer) {
          keepImage(input, answer);
          changed();
        })
        .catch(function (error) {
          // The file stays chosen: saving the form checks it again and says what is wrong.
          if (!existing) current.remove();
          else showImage(current, shown.url, shown.name);
          if (status) status.textContent = "The image was not stored: " + error.message;
        });
    }

    /* For images dropped onto the stream (stream_drop.js): the same checks and storage. */
    window.sfAutosave = {
      uploadImage: uploadImage,
      keepImage: function (input, answer) { keepImage(input, answer); changed(); },
    };

    function heartbeat(leave) {
      if (!bar.dataset.presenceUrl) return; // a new issue: nobody else can have it open
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
    form.addEventListener("change", function (event) {
      dirty = true;
      if (event.target.type === "file" && event.target.closest(".sf-block")) storeImage(event.target);
      save();
    });
    form.addEventListener("focusout", function () { if (dirty) save(); });
    document.addEventListener("sf:stream-changed", changed);
    // Any form sent from this page (Save, a notice's "discard", an object tool) leaves it on purpose.
    document.addEventListener("submit", function () { submitting = true; clearTimeout(timer); });
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
