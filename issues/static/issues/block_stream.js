/* The block stream editor: show the chosen kind's fields, add blocks by kind, move blocks
   (drag the handle, or the ↑/↓ buttons from the keyboard), add and remove item rows. */
'use strict';
(function () {
  const KIND_SELECT = 'select[name="kind"], select[name$="-kind"]';

  function streamGroup() {
    const fieldset = document.querySelector('fieldset.sf-block-stream');
    return fieldset ? fieldset.closest('.inline-group') : null;
  }

  function rows(group) {
    return Array.from(group.querySelectorAll('.inline-related:not(.empty-form)'));
  }

  function show(container, selector, on) {
    container.querySelectorAll(selector).forEach(function (el) { el.hidden = !on; });
  }

  /* Show only the fieldset of the kind chosen in this block form. */
  function sync(container) {
    const select = container.querySelector(KIND_SELECT);
    if (!select) return;
    const kind = select.value;
    container.querySelectorAll('fieldset.sf-kind').forEach(function (fieldset) {
      const on = fieldset.classList.contains('sf-kind-' + kind);
      fieldset.hidden = !on;
      if (on) fieldset.querySelectorAll('[disabled]').forEach(function (el) { el.disabled = false; });
    });
    show(container, '.field-library_block', kind === 'library');
    show(container, '.field-save_to_library_as', kind !== '' && kind !== 'library');
    const title = container.querySelector('.sf-row-kind');
    if (title) title.textContent = kind ? select.options[select.selectedIndex].text : '';
  }

  function moveButtons(row) {
    const header = row.querySelector('h3');
    if (!header || header.querySelector('.sf-move')) return;
    const kindLabel = document.createElement('span');
    kindLabel.className = 'sf-row-kind';
    header.insertBefore(kindLabel, header.querySelector('.inline_label'));
    [['up', '↑', 'Move up'], ['down', '↓', 'Move down']].forEach(function (spec) {
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'sf-move sf-move-' + spec[0];
      button.textContent = spec[1];
      button.title = button.ariaLabel = spec[2];
      button.addEventListener('click', function (event) {
        event.preventDefault();
        move(row, spec[0]);
      });
      header.appendChild(button);
    });
  }

  /* Drag-and-drop: the handle starts the drag; the row follows the pointer through the stream.
     While dragging, blocks fold to their title bars, so the whole stream fits on screen. */
  let dragged = null;

  function dragHandle(row) {
    const header = row.querySelector('h3');
    if (!header || header.querySelector('.sf-drag')) return;
    const handle = document.createElement('span');
    handle.className = 'sf-drag';
    handle.draggable = true;
    handle.textContent = '⠿';
    handle.title = 'Drag to move this block (or use the arrows)';
    handle.setAttribute('aria-hidden', 'true');
    handle.addEventListener('dragstart', function (event) {
      dragged = row;
      row.classList.add('sf-dragging');
      event.dataTransfer.effectAllowed = 'move';
      event.dataTransfer.setData('text/plain', row.id);
      event.dataTransfer.setDragImage(header, 24, 16);
      const pointerY = event.clientY;
      setTimeout(function () {  // changing the layout inside dragstart would cancel the drag
        row.closest('.inline-group').classList.add('sf-sorting');
        window.scrollBy(0, header.getBoundingClientRect().top - pointerY + 12);
      });
    });
    handle.addEventListener('dragend', function () {
      row.closest('.inline-group').classList.remove('sf-sorting');
      row.classList.remove('sf-dragging');
      dragged = null;
      row.scrollIntoView({ block: 'center' });
      flash(row);
    });
    header.insertBefore(handle, header.firstChild);
  }

  function dropZone(group) {
    group.addEventListener('dragover', function (event) {
      if (!dragged) return;
      event.preventDefault();
      event.dataTransfer.dropEffect = 'move';
      const over = event.target.closest('.inline-related:not(.empty-form)');
      if (!over || over === dragged || over.closest('.inline-group') !== group) return;
      const box = over.getBoundingClientRect();
      const below = event.clientY > box.top + box.height / 2;
      over.parentNode.insertBefore(dragged, below ? over.nextSibling : over);
    });
    group.addEventListener('drop', function (event) {
      if (dragged) event.preventDefault();
    });
  }

  function flash(row) {
    row.classList.add('sf-moved');
    setTimeout(function () { row.classList.remove('sf-moved'); }, 600);
  }

  function move(row, direction) {
    const group = row.closest('.inline-group');
    const all = rows(group);
    const index = all.indexOf(row);
    if (direction === 'up' && index > 0) {
      row.parentNode.insertBefore(row, all[index - 1]);
    } else if (direction === 'down' && index < all.length - 1) {
      row.parentNode.insertBefore(all[index + 1], row);
    }
    row.scrollIntoView({ block: 'nearest' });
    flash(row);
  }

  /* Item rows (link lists, quiz headlines): inputs are named <field>-<n>-<part>; a new row
     takes the next unused n, so the server reads the rows in the order shown. */
  const ROW_NAME = /-(\d+)-(\w+)$/;

  function itemRows(items) {
    return Array.from(items.querySelectorAll('.sf-item:not(.sf-items-head)'));
  }

  function addItemRow(items) {
    const all = itemRows(items);
    const last = all[all.length - 1];
    const next = 1 + Math.max.apply(null, all.map(function (row) {
      return Number(row.querySelector('input[type=text]').name.match(ROW_NAME)[1]);
    }));
    const row = last.cloneNode(true);
    row.querySelectorAll('.errorlist').forEach(function (list) { list.remove(); });
    row.querySelectorAll('input').forEach(function (input) {
      input.removeAttribute('aria-invalid');
      input.removeAttribute('aria-describedby');
      if (input.type === 'radio') {
        input.checked = false;
        input.value = next;
      } else {
        input.value = '';
        input.name = input.name.replace(ROW_NAME, '-' + next + '-$2');
        input.id = input.id.replace(ROW_NAME, '-' + next + '-$2');
      }
    });
    last.after(row);
    row.querySelector('input').focus();
  }

  function removeItemRow(row) {
    const items = row.closest('.sf-items');
    const all = itemRows(items);
    if (all.length === 1) {
      row.querySelectorAll('input[type=text]').forEach(function (input) { input.value = ''; });
      row.querySelectorAll('input[type=radio]').forEach(function (input) { input.checked = false; });
      return;
    }
    const after = all[all.indexOf(row) + 1];
    row.remove();
    (after ? after.querySelector('input') : items.querySelector('.sf-item-add')).focus();
  }

  function addBlock(group, kind) {
    const add = group.querySelector('.add-row a');
    if (!add) return;
    add.click();
    const all = rows(group);
    const row = all[all.length - 1];
    const select = row.querySelector(KIND_SELECT);
    select.value = kind;
    select.dispatchEvent(new Event('change', { bubbles: true }));
    row.scrollIntoView({ block: 'center' });
    const first = row.querySelector('fieldset:not([hidden]).sf-kind input, fieldset:not([hidden]).sf-kind textarea, .field-library_block select');
    if (first && kind !== 'library') first.focus();
  }

  function toolbar(group) {
    const source = document.querySelector('.sf-add-blocks');
    if (!source || group.querySelector('.sf-toolbar')) return;
    const bar = document.createElement('div');
    bar.className = 'sf-toolbar';
    const kinds = source.dataset.kinds.split('|').map(function (pair) { return pair.split(':'); });
    kinds.push(['library', 'From the library']);
    const label = document.createElement('span');
    label.textContent = 'Add a block: ';
    bar.appendChild(label);
    kinds.forEach(function (pair) {
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'button sf-add sf-add-' + pair[0];
      button.dataset.kind = pair[0];
      button.textContent = '+ ' + pair[1];
      button.addEventListener('click', function () { addBlock(group, pair[0]); });
      bar.appendChild(button);
    });
    group.querySelector('fieldset').after(bar);
  }

  /* Positions follow the order on screen; blocks left without a kind stay untouched. */
  function numberPositions(group) {
    let position = 0;
    rows(group).forEach(function (row) {
      const select = row.querySelector(KIND_SELECT);
      const input = row.querySelector('input[name$="-position"]');
      if (select && select.value && input) input.value = ++position;
    });
  }

  document.addEventListener('DOMContentLoaded', function () {
    document.documentElement.classList.add('sf-js');
    document.addEventListener('click', function (event) {
      const add = event.target.closest('.sf-item-add');
      const remove = event.target.closest('.sf-item-remove');
      if (add) addItemRow(add.closest('.sf-items'));
      if (remove) removeItemRow(remove.closest('.sf-item'));
    });
    const group = streamGroup();
    if (group) {
      toolbar(group);
      dropZone(group);
      rows(group).forEach(function (row) { moveButtons(row); dragHandle(row); sync(row); });
      group.closest('form').addEventListener('submit', function () { numberPositions(group); });
    } else {
      const form = document.querySelector('#content-main form');
      if (form) sync(form);
    }
    document.addEventListener('change', function (event) {
      if (!event.target.matches(KIND_SELECT)) return;
      sync(event.target.closest('.inline-related') || event.target.closest('form'));
    });
    document.addEventListener('formset:added', function (event) {
      const row = event.target;
      if (!row.closest('.inline-group') || row.closest('.inline-group') !== group) return;
      moveButtons(row);
      dragHandle(row);
      sync(row);
    });
  });
})();
