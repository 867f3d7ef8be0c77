/* The block stream from the keyboard.
   - "/" typed in an empty text block opens a list of block kinds, filtered by what follows the
     slash ("/li" → Link list); ↑/↓ pick, Enter or Tab chooses, Esc closes. Choosing turns the
     empty block into that kind. The focus stays in the text box (aria-activedescendant), as
     in an autocomplete, so typing goes on filtering.
   - Shortcuts (the page's "?" dialog lists them): Alt+Shift+N adds a text block below the
     current one, Alt+Shift+↑/↓ move the current block, Alt+Shift+C folds or unfolds it,
     Ctrl/⌘+S saves and goes on editing, "?" (outside text fields) shows the list.
   Every change goes through block_stream.js, so autosave and the live preview follow. */
'use strict';
(function () {
  const KIND_SELECT = 'select[name$="-kind"]';
  const TEXT_BODY = '.sf-kind-fields[data-kind="markdown"] textarea';
  const SLASH = /^\/([^\n/]{0,30})$/;

  function kinds() {
    return Array.from(document.querySelectorAll('template.sf-kind-template')).map(function (template) {
      return { name: template.dataset.kind, label: template.dataset.label };
    });
  }

  function firstField(row) {
    return row.querySelector('.sf-kind-fields input:not([type=hidden]), .sf-kind-fields textarea, .sf-kind-fields select');
  }

  /* The kind menu: one listbox, shown under the text box that opened it. */
  function SlashMenu() {
    const menu = document.createElement('ul');
    menu.id = 'sf-slash-menu';
    menu.className = 'sf-slash-menu';
    menu.setAttribute('role', 'listbox');
    menu.setAttribute('aria-label', 'Block kinds');
    menu.hidden = true;
    let box = null;
    let active = 0;

    function options() { return Array.from(menu.querySelectorAll('[role=option]')); }

    function highlight(index) {
      const all = options();
      if (!all.length) return;
      active = (index + all.length) % all.length;
      all.forEach(function (option, n) { option.setAttribute('aria-selected', String(n === active)); });
      box.setAttribute('aria-activedescendant', all[active].id);
      all[active].scrollIntoView({ block: 'nearest' });
    }

    function close() {
      if (!box) return;
      box.removeAttribute('aria-activedescendant');
      box.removeAttribute('aria-controls');
      box.removeAttribute('aria-autocomplete');
      menu.hidden = true;
      box = null;
    }

    function choose(option) {
      const row = box.closest('.sf-block');
      const kind = option.dataset.kind;
      const text = box;
      close();
      text.value = '';
      if (kind === 'markdown') { text.dispatchEvent(new Event('input', { bubbles: true })); return; }
      const select = row.querySelector(KIND_SELECT);
      select.value = kind;
      select.dispatchEvent(new Event('change', { bubbles: true }));  // swaps the fields, autosaves
      const first = firstField(row);
      if (first) first.focus();
    }

    function open(textarea, query) {
      const words = query.trim().toLowerCase();
      const found = kinds().filter(function (kind) {
        return !words || kind.label.toLowerCase().indexOf(words) !== -1 || kind.name.indexOf(words) !== -1;
      });
      if (!found.length) { close(); return; }
      menu.replaceChildren.apply(menu, found.map(function (kind) {
        const option = document.createElement('li');
        option.id = 'sf-slash-' + kind.name;
        option.setAttribute('role', 'option');
        option.dataset.kind = kind.name;
        option.textContent = kind.label;
        return option;
      }));
      if (box !== textarea) {
        close();
        box = textarea;
        textarea.setAttribute('aria-controls', menu.id);
        textarea.setAttribute('aria-autocomplete', 'list');
      }
      menu.hidden = false;
      place();
      highlight(0);
    }

    /* Fixed under the typed line: the admin's modules clip what overflows them. */
    function place() {
      if (!box) return;
      const at = box.getBoundingClientRect();
      const line = parseFloat(getComputedStyle(box).lineHeight) || 20;
      menu.style.left = at.left + 'px';
      menu.style.top = Math.min(at.top + line + 10, window.innerHeight - menu.offsetHeight - 4) + 'px';
    }
    window.addEventListener('scroll', place, true);
    window.addEventListener('resize', place);
    document.body.appendChild(menu);

    document.addEventListener('input', function (event) {
      if (!event.target.matches(TEXT_BODY)) return;
      const typed = event.target.value.match(SLASH);
      if (typed) open(event.target, typed[1]);
      else if (box === event.target) close();
    });
    document.addEventListener('keydown', function (event) {
      if (!box || event.target !== box) return;
      const moves = { ArrowDown: 1, ArrowUp: -1 };
      if (event.key in moves) highlight(active + moves[event.key]);
      else if (event.key === 'Enter' || event.key === 'Tab') choose(options()[active]);
      else if (event.key === 'Escape') close();
      else return;
      event.preventDefault();
      event.stopPropagation();
    }, true);
    menu.addEventListener('mousedown', function (event) { event.preventDefault(); });  // keep the focus
    menu.addEventListener('click', function (event) {
      const option = event.target.closest('[role=option]');
      if (option && box) choose(option);
    });
    document.addEventListener('focusout', function (event) { if (event.target === box) close(); });
  }

  function typingIn(target) {
    return target.matches('input:not([type=checkbox]):not([type=radio]):not([type=button]):not([type=submit]), textarea, select, [contenteditable]');
  }

  function shortcuts(group, stream, dialog) {
    const form = group.closest('form');
    function current() { return document.activeElement && document.activeElement.closest('.sf-block'); }

    function showHelp() {
      const back = document.activeElement;
      dialog.showModal();
      dialog.addEventListener('close', function () { if (back) back.focus(); }, { once: true });
    }
    dialog.querySelector('.sf-keys-close').addEventListener('click', function () { dialog.close(); });
    group.querySelector('.sf-keys-open').addEventListener('click', showHelp);

    const withAltShift = {
      KeyN: function (row) {
        const added = stream.add('markdown', { after: row });
        const body = added.querySelector('textarea');
        if (body) body.focus();
      },
      ArrowUp: function (row) { if (row) stream.move(row, 'up', document.activeElement); },
      ArrowDown: function (row) { if (row) stream.move(row, 'down', document.activeElement); },
      KeyC: function (row) {
        if (!row) return;
        stream.fold(row, !row.classList.contains('sf-collapsed'));
        row.querySelector('.sf-fold').focus();  // the field that had the focus may be folded away
      },
    };

    document.addEventListener('keydown', function (event) {
      if (dialog.open || event.defaultPrevented) return;
      const command = (event.ctrlKey || event.metaKey) && !event.altKey;
      if (command && !event.shiftKey && event.key.toLowerCase() === 's') {
        event.preventDefault();
        const save = form.querySelector('input[name="_continue"]') || form.querySelector('input[name="_save"]');
        if (save) form.requestSubmit(save);
      } else if (event.altKey && event.shiftKey && !event.ctrlKey && !event.metaKey && withAltShift[event.code]) {
        event.preventDefault();
        withAltShift[event.code](current());
      } else if (event.key === '?' && !command && !event.altKey && !typingIn(event.target)) {
        event.preventDefault();
        showHelp();
      }
    });
  }

  document.addEventListener('DOMContentLoaded', function () {
    const group = document.querySelector('.sf-stream');
    if (!group || !group.sfStream) return;
    SlashMenu();
    const dialog = group.querySelector('.sf-keys');
    if (dialog) {
      group.querySelector('.sf-keys-open').hidden = false;
      shortcuts(group, group.sfStream, dialog);
    }
  });
})();
