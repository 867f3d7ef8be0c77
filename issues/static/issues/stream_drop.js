/* Images dropped onto the block stream (or chosen with its "Add images…" button) become image
   blocks, one per file, in the order given: after the block they were dropped on, else where
   the toolbar of kinds stands. Each file goes through the same checks as an image chosen in a
   block (autosave's image endpoint, see autosave.js) before its block exists: a refused file
   adds nothing and the server's reason is shown (and announced). Uploads show their progress.
   Only pages that can store images (the issue form, whose editing bar names the URL) offer it. */
'use strict';
(function () {
  function hasFiles(event) {
    return Array.from(event.dataTransfer ? event.dataTransfer.types : []).indexOf('Files') !== -1;
  }

  function ImageDrop(group, stream, images) {
    const panel = group.querySelector('.sf-drop');
    const picker = panel.querySelector('.sf-drop-input');
    const list = panel.querySelector('.sf-drop-list');
    const refusals = panel.querySelector('.sf-drop-refusals');
    const status = panel.querySelector('.sf-drop-status');
    panel.hidden = false;

    function progressItem(file) {
      const item = document.createElement('li');
      const name = document.createElement('span');
      name.textContent = file.name;
      const bar = document.createElement('progress');
      bar.max = 1;
      bar.value = 0;
      bar.setAttribute('aria-label', 'Storing ' + file.name);
      item.append(name, ' ', bar);
      list.appendChild(item);
      return { item: item, bar: bar };
    }

    function refuse(file, error) {
      const line = document.createElement('li');
      line.textContent = file.name + ' was not added: ' + error.message;
      refusals.appendChild(line);
    }

    /* Uploads run together; blocks are added in the files' order as each one's turn comes. */
    function addImages(files, after) {
      refusals.replaceChildren();
      status.textContent = 'Storing ' + files.length + (files.length === 1 ? ' image…' : ' images…');
      let previous = after || null;
      let added = [];
      let turn = Promise.resolve();
      files.forEach(function (file) {
        const shown = progressItem(file);
        const stored = images.uploadImage(file, function (part) { shown.bar.value = part; })
          .then(function (answer) { return { answer: answer }; }, function (error) { return { error: error }; });
        turn = turn.then(function () { return stored; }).then(function (result) {
          shown.item.remove();
          if (result.error) { refuse(file, result.error); return; }
          const row = stream.add('image', { after: previous, focus: false });
          images.keepImage(row.querySelector('.sf-kind-fields input[type=file]'), result.answer);
          previous = row;
          added.push(row);
        });
      });
      return turn.then(function () {
        const refused = refusals.children.length;
        const done = added.length ? added.length + (added.length === 1 ? ' image added' : ' images added') : 'No image added';
        status.textContent = done + (refused ? '; ' + refused + ' refused.' : '.') +
          (added.length ? ' Describe each for readers who cannot see it.' : '');
        if (added.length) {
          added[0].scrollIntoView({ block: 'center' });
          const alt = added[0].querySelector('input[name$="-image__alt"]');
          if (alt) alt.focus();
        }
      });
    }

    picker.addEventListener('change', function () {
      const files = Array.from(picker.files);
      picker.value = '';
      if (files.length) addImages(files, null);
    });
    panel.querySelector('.sf-drop-choose').addEventListener('click', function () { picker.click(); });

    let depth = 0;  // dragenter/dragleave fire for every child crossed
    group.addEventListener('dragenter', function (event) {
      if (!hasFiles(event)) return;
      depth += 1;
      group.classList.add('sf-drop-target');
    });
    group.addEventListener('dragleave', function (event) {
      if (!hasFiles(event)) return;
      depth = Math.max(0, depth - 1);
      if (!depth) group.classList.remove('sf-drop-target');
    });
    group.addEventListener('dragover', function (event) {
      if (!hasFiles(event)) return;
      event.preventDefault();
      event.dataTransfer.dropEffect = 'copy';
    });
    group.addEventListener('drop', function (event) {
      if (!hasFiles(event)) return;
      event.preventDefault();
      depth = 0;
      group.classList.remove('sf-drop-target');
      const files = Array.from(event.dataTransfer.files);
      if (files.length) addImages(files, event.target.closest('.sf-block'));
    });
    /* A file that misses the stream would make the browser open it instead of this page;
       file inputs (the cover image) still take the files dropped on them. */
    ['dragover', 'drop'].forEach(function (type) {
      document.addEventListener(type, function (event) {
        if (hasFiles(event) && !event.defaultPrevented && !event.target.matches('input[type=file]')) {
          event.preventDefault();
          if (type === 'dragover') event.dataTransfer.dropEffect = 'none';
        }
      });
    });
  }

  document.addEventListener('DOMContentLoaded', function () {
    const group = document.querySelector('.sf-stream');
    const bar = document.getElementById('sf-editing');
    if (!group || !group.sfStream || !group.querySelector('.sf-drop') || !window.sfAutosave) return;
    if (!bar || !bar.dataset.imageUrl || !bar.dataset.canChange) return;
    new ImageDrop(group, group.sfStream, window.sfAutosave);
  });
})();
