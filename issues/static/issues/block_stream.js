/* The block stream editor. Each block carries only its kind's fields; the page keeps the empty
   block and every kind's fields in <template> elements. This script clones them to add a block
   where the editor chooses, swaps a block's fields when its kind changes (keeping what was typed
   in case the editor switches back), moves blocks (drag the handle, or ↑/↓ from the keyboard),
   folds them, and numbers positions in the order on screen. It announces every change of the
   stream with an "sf:stream-changed" event (the live preview and autosave listen), and tells
   screen readers of moves and removals through a live region; after ↑, ↓ or ✕ the keyboard
   focus stays on the moved block's button (or goes to a neighbour of the removed one). */
'use strict';
(function () {
  const KIND_SELECT = 'select[name="kind"], select[name$="-kind"]';

  function changed(target) {
    (target || document).dispatchEvent(new CustomEvent('sf:stream-changed', { bubbles: true }));
  }

  function rows(group) {
    return Array.from(group.querySelectorAll('.sf-block'));
  }

  /* What a block is called when announcing a move: its kind and its first words. */
  function blockName(row) {
    const kind = row.querySelector('.sf-row-kind');
    const label = row.querySelector('.inline_label');
    return [kind && kind.textContent, label && label.textContent]
      .filter(function (part) { return part && part !== 'new'; }).join(': ') || 'block';
  }

  function announce(group, text) {
    const region = group.querySelector('.sf-stream-announce');
    if (region) region.textContent = text;
  }

  /* Elements of markup named for a new block (``__prefix__``): a template's, or a pasted
     block's fields as the server drew them (paste_draft.js). */
  function fromMarkup(markup, index) {
    const holder = document.createElement('div');
    holder.innerHTML = markup.replace(/__prefix__/g, index);
    return Array.from(holder.children);
  }

  function fromTemplate(template, index) {
    return fromMarkup(template.innerHTML, index);
  }

  /* Kinds: the fields shown are the chosen kind's; those of a kind left are kept aside. */
  const setAside = new WeakMap();

  function kindTemplate(kind) {
    return document.querySelector('template.sf-kind-template[data-kind="' + kind + '"]');
  }

  function swapKind(container, kind, markup) {
    const slot = container.querySelector('.sf-kind-fields');
    if (!slot || slot.dataset.kind === kind) return;
    const kept = setAside.get(container) || {};
    setAside.set(container, kept);
    if (slot.dataset.kind) kept[slot.dataset.kind] = Array.from(slot.children);
    slot.replaceChildren();
    const template = kindTemplate(kind);
    const prefix = container.dataset.prefix || '';
    const index = prefix.split('-').pop();
    const parts = kept[kind] || (markup ? fromMarkup(markup, index) :
      template ? fromTemplate(template, index) : []);
    parts.forEach(function (part) { slot.appendChild(part); });
    slot.dataset.kind = kind;
  }

  function labelKind(container) {
    const select = container.querySelector(KIND_SELECT);
    const label = container.querySelector('.sf-row-kind');
    if (select && label) label.textContent = select.value ? select.options[select.selectedIndex].text : '';
  }

  /* Title bar of a block: drag handle, kind, fold, insert above, move, remove (new blocks). */
  function button(className, text, title, onClick) {
    const el = document.createElement('button');
    el.type = 'button';
    el.className = className;
    el.textContent = text;
    el.title = title;
    el.setAttribute('aria-label', title);
    el.addEventListener('click', function (event) { event.preventDefault(); onClick(el); });
    return el;
  }

  function decorate(row, stream) {
    const header = row.querySelector('h3');
    if (!header || header.querySelector('.sf-fold')) return;
    const kindLabel = document.createElement('span');
    kindLabel.className = 'sf-row-kind';
    header.insertBefore(kindLabel, header.firstChild);
    header.insertBefore(button('sf-fold', '▾', 'Fold or unfold this block', function (el) {
      fold(row, !row.classList.contains('sf-collapsed'));
    }), kindLabel);
    header.insertBefore(dragHandle(row, header), header.firstChild);
    header.appendChild(button('sf-insert', '+', 'Insert a block above this one', function () {
      stream.placeToolbar(row);
    }));
    header.appendChild(button('sf-move sf-move-up', '↑', 'Move up', function (el) { move(row, 'up', el); }));
    header.appendChild(button('sf-move sf-move-down', '↓', 'Move down', function (el) { move(row, 'down', el); }));
    if (!row.classList.contains('has_original')) {
      header.appendChild(button('sf-remove', '✕', 'Remove this new block', function () { remove(row); }));
    }
    labelKind(row);
  }

  /* A folded new block is named by its first words, as saved blocks are. */
  function summarise(row) {
    const label = row.querySelector('.inline_label');
    const typed = Array.from(row.querySelectorAll('.sf-kind-fields input[type=text], .sf-kind-fields textarea'))
      .map(function (input) { return input.value.trim(); })
      .find(function (value) { return value; });
    if (label && typed) label.textContent = typed.length > 60 ? typed.slice(0, 59) + '…' : typed;
  }

  function fold(row, folded) {
    if (folded && !row.classList.contains('has_original')) summarise(row);
    row.classList.toggle('sf-collapsed', folded);
    const toggle = row.querySelector('.sf-fold');
    if (toggle) {
      toggle.textContent = folded ? '▸' : '▾';
      toggle.setAttribute('aria-expanded', String(!folded));
    }
  }

  /* Drag-and-drop: the handle starts the drag; the row follows the pointer through the stream.
     While dragging, blocks fold to their title bars, so the whole stream fits on screen. */
  let dragged = null;

  function dragHandle(row, header) {
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
        row.closest('.sf-stream').classList.add('sf-sorting');
        window.scrollBy(0, header.getBoundingClientRect().top - pointerY + 12);
      });
    });
    handle.addEventListener('dragend', function () {
      const group = row.closest('.sf-stream');
      group.classList.remove('sf-sorting');
      row.classList.remove('sf-dragging');
      dragged = null;
      row.scrollIntoView({ block: 'center' });
      flash(row);
      numberPositions(group);
      changed(group);
    });
    return handle;
  }

  function dropZone(group) {
    group.addEventListener('dragover', function (event) {
      if (!dragged) return;
      event.preventDefault();
      event.dataTransfer.dropEffect = 'move';
      const over = event.target.closest('.sf-block');
      if (!over || over === dragged || over.closest('.sf-stream') !== group) return;
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

  function move(row, direction, control) {
    const group = row.closest('.sf-stream');
    const all = rows(group);
    const index = all.indexOf(row);
    if (direction === 'up' && index > 0) {
      row.parentNode.insertBefore(row, all[index - 1]);
    } else if (direction === 'down' && index < all.length - 1) {
      row.parentNode.insertBefore(all[index + 1], row);
    }
    if (control) control.focus();  // moving the row took the focus away with it
    row.scrollIntoView({ block: 'nearest' });
    flash(row);
    numberPositions(group);
    const now = rows(group);
    announce(group, 'Moved ' + blockName(row) + ' to position ' + (now.indexOf(row) + 1) + ' of ' + now.length + '.');
    changed(group);
  }

  /* A new block taken out again; the focus goes to the block that follows it (or precedes
     it, at the end), never back to the top of the page. */
  function remove(row) {
    const group = row.closest('.sf-stream');
    const all = rows(group);
    const index = all.indexOf(row);
    const neighbour = all[index + 1] || all[index - 1];
    const name = blockName(row);
    row.remove();
    const target = neighbour ? neighbour.querySelector('.sf-fold') : group.querySelector('.sf-toolbar .sf-add');
    if (target) target.focus();
    numberPositions(group);
    const left = rows(group).length;
    announce(group, 'Removed ' + name + '; ' + left + (left === 1 ? ' block' : ' blocks') + ' left.');
    changed(group);
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

  /* Spare item rows left blank are skipped by the server anyway: they need not be posted. */
  function leaveOutBlankItemRows(form) {
    form.querySelectorAll('.sf-item:not(.sf-items-head)').forEach(function (item) {
      const inputs = Array.from(item.querySelectorAll('input[type=text]'));
      const radio = item.querySelector('input[type=radio]');
      if (inputs.every(function (input) { return !input.value.trim(); }) && !(radio && radio.checked)) {
        inputs.forEach(function (input) { input.disabled = true; });
      }
    });
  }

  /* One way of adding: the toolbar of kinds, at the end of the stream or above the block whose
     "+" the editor pressed; it stays there, so blocks added in a row keep their order. */
  function Stream(group) {
    const toolbar = group.querySelector('.sf-toolbar');
    const empty = group.querySelector('template.sf-empty-block');
    const total = group.querySelector('input[name$="-TOTAL_FORMS"]');
    const home = toolbar.querySelector('.sf-toolbar-home');
    const label = toolbar.querySelector('.sf-toolbar-label');
    const stream = this;

    this.placeToolbar = function (row) {
      if (row) {
        row.before(toolbar);
        label.textContent = 'Insert here:';
      } else {
        const all = rows(group);
        if (all.length) all[all.length - 1].after(toolbar);
        label.textContent = 'Add a block:';
      }
      home.hidden = !row;
      toolbar.querySelector('.sf-add').focus();
    };

    /* A new block of this kind where the toolbar stands (or right after the block ``after``);
       other scripts (images dropped, keyboard shortcuts, a pasted draft) add blocks through
       this too. ``fields``: the kind's fields already filled (markup named ``__prefix__``). */
    this.add = function (kind, options) {
      const where = options || {};
      const index = Number(total.value);
      const row = fromTemplate(empty, index)[0];
      total.value = index + 1;
      if (where.after) where.after.after(row);
      else toolbar.before(row);
      const select = row.querySelector(KIND_SELECT);
      select.value = kind;
      swapKind(row, kind, where.fields);
      decorate(row, stream);
      numberPositions(group);
      if (where.focus !== false) {
        row.scrollIntoView({ block: 'center' });
        const first = row.querySelector('.sf-kind-fields input:not([type=hidden]), .sf-kind-fields textarea, .sf-kind-fields select');
        if (first) first.focus();
      }
      changed(group);
      return row;
    };
    /* New blocks taken out together (a paste undone), and one put back before ``before``. */
    this.take = function (taken) {
      taken.forEach(function (row) { row.remove(); });
      numberPositions(group);
      changed(group);
    };
    this.putBack = function (row, before) {
      before.before(row);
      numberPositions(group);
      changed(group);
    };
    this.move = move;
    this.fold = fold;
    this.rows = function () { return rows(group); };
    group.sfStream = this;

    toolbar.hidden = false;
    const region = document.createElement('p');
    region.className = 'sf-stream-announce';
    region.setAttribute('role', 'status');
    region.setAttribute('aria-live', 'polite');
    group.querySelector('fieldset').appendChild(region);
    toolbar.addEventListener('click', function (event) {
      const add = event.target.closest('.sf-add');
      if (add) stream.add(add.dataset.kind);
    });
    home.addEventListener('click', function () { stream.placeToolbar(null); });
    const tools = group.querySelector('.sf-stream-tools');
    tools.hidden = false;
    tools.querySelector('.sf-collapse-all').addEventListener('click', function () {
      rows(group).forEach(function (row) { fold(row, true); });
    });
    tools.querySelector('.sf-expand-all').addEventListener('click', function () {
      rows(group).forEach(function (row) { fold(row, false); });
    });
    rows(group).forEach(function (row) { decorate(row, stream); });
    dropZone(group);
    numberPositions(group);
    group.closest('form').addEventListener('submit', function (event) {
      numberPositions(group);
      leaveOutBlankItemRows(event.target);
    });
  }

  document.addEventListener('DOMContentLoaded', function () {
    document.documentElement.classList.add('sf-js');
    const group = document.querySelector('.sf-stream');
    if (group) new Stream(group);
    document.addEventListener('change', function (event) {
      if (!event.target.matches(KIND_SELECT)) return;
      const container = event.target.closest('.sf-block') || event.target.closest('form');
      swapKind(container, event.target.value);
      labelKind(container);
      if (group && container.matches('.sf-block')) numberPositions(group);
      changed(container);
    });
  });
})();
