/* A small toolbar over every Markdown field (textarea[data-markdown]): bold, italic, link,
   list, heading, with Ctrl/⌘+B, I and K. Pasting a web address over selected text makes it a
   link, [text](address). Edits go through the browser's own text insertion where it has one,
   so Undo undoes them and the usual input event tells autosave and the live preview. The
   toolbar is one tab stop; ←/→ move between its buttons (the ARIA toolbar pattern). Fields
   that appear later (a block added, a kind changed) get theirs on the stream's change event. */
'use strict';
(function () {
  const FIELD = 'textarea[data-markdown]';
  const ADDRESS = /^(https?:\/\/|mailto:)[^\s<>()[\]]+$/i;

  /* Replace start…end with text and select from/to (offsets in the new value). */
  function put(box, start, end, text, from, to) {
    box.focus();
    box.setSelectionRange(start, end);
    if (!document.execCommand('insertText', false, text)) {
      box.setRangeText(text, start, end);
      box.dispatchEvent(new Event('input', { bubbles: true }));
    }
    box.setSelectionRange(from, to);
  }

  function wrap(marker, placeholder) {
    return function (box) {
      const start = box.selectionStart;
      const end = box.selectionEnd;
      const chosen = box.value.slice(start, end);
      const m = marker.length;
      if (chosen.length > 2 * m && chosen.startsWith(marker) && chosen.endsWith(marker)) {
        const inner = chosen.slice(m, -m);  // already wrapped: unwrap
        put(box, start, end, inner, start, start + inner.length);
        return;
      }
      const inner = chosen || placeholder;
      put(box, start, end, marker + inner + marker, start + m, start + m + inner.length);
    };
  }

  function link(box) {
    const start = box.selectionStart;
    const end = box.selectionEnd;
    const chosen = box.value.slice(start, end);
    if (!chosen) {
      put(box, start, end, '[link text](https://)', start + 1, start + 10);
    } else {
      const text = '[' + chosen + '](https://)';
      put(box, start, end, text, start + chosen.length + 3, start + text.length - 1);
    }
  }

  /* Each line the selection touches starts with prefix; if every one already does, none. */
  function linePrefix(prefix) {
    return function (box) {
      const value = box.value;
      const start = value.lastIndexOf('\n', box.selectionStart - 1) + 1;
      let end = value.indexOf('\n', Math.max(box.selectionEnd - 1, start));
      if (end === -1) end = value.length;
      const lines = value.slice(start, end).split('\n');
      const all = lines.every(function (line) { return line.startsWith(prefix); });
      const text = lines.map(function (line) {
        return all ? line.slice(prefix.length) : prefix + line;
      }).join('\n');
      put(box, start, end, text, start, start + text.length);
    };
  }

  const ACTIONS = [
    { name: 'bold', text: 'B', label: 'Bold', key: 'b', act: wrap('**', 'bold text') },
    { name: 'italic', text: 'I', label: 'Italic', key: 'i', act: wrap('_', 'italic text') },
    { name: 'link', text: 'Link', label: 'Link', key: 'k', act: link },
    { name: 'list', text: '• List', label: 'Bulleted list', act: linePrefix('- ') },
    { name: 'heading', text: 'H', label: 'Heading', act: linePrefix('### ') },
  ];
  const MAC = /Mac|iPhone|iPad/.test(navigator.platform);

  function toolbarFor(box) {
    const bar = document.createElement('div');
    bar.className = 'sf-md-toolbar';
    bar.setAttribute('role', 'toolbar');
    bar.setAttribute('aria-label', 'Markdown formatting');
    bar.setAttribute('aria-controls', box.id);
    ACTIONS.forEach(function (action, n) {
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'sf-md-' + action.name;
      button.textContent = action.text;
      const shortcut = action.key ? ' (' + (MAC ? '⌘' : 'Ctrl+') + action.key.toUpperCase() + ')' : '';
      button.title = action.label + shortcut;
      button.setAttribute('aria-label', action.label);
      if (action.key) button.setAttribute('aria-keyshortcuts', (MAC ? 'Meta+' : 'Control+') + action.key.toUpperCase());
      button.tabIndex = n === 0 ? 0 : -1;
      button.addEventListener('click', function () { action.act(box); });
      bar.appendChild(button);
    });
    bar.addEventListener('keydown', function (event) {
      const buttons = Array.from(bar.querySelectorAll('button'));
      const at = buttons.indexOf(document.activeElement);
      const to = { ArrowRight: at + 1, ArrowLeft: at - 1, Home: 0, End: buttons.length - 1 }[event.key];
      if (to === undefined || at === -1) return;
      event.preventDefault();
      const next = buttons[(to + buttons.length) % buttons.length];
      buttons.forEach(function (button) { button.tabIndex = button === next ? 0 : -1; });
      next.focus();
    });
    return bar;
  }

  function equip(root) {
    root.querySelectorAll(FIELD).forEach(function (box) {
      if (box.closest('.sf-md')) return;
      const holder = document.createElement('div');
      holder.className = 'sf-md';
      box.before(holder);
      const focused = document.activeElement === box;  // moving the box takes its focus away
      holder.append(toolbarFor(box), box);
      if (focused) box.focus();
    });
  }

  document.addEventListener('keydown', function (event) {
    if (!event.target.matches(FIELD) || !(event.ctrlKey || event.metaKey) || event.altKey || event.shiftKey) return;
    const action = ACTIONS.find(function (one) { return one.key === event.key.toLowerCase(); });
    if (!action) return;
    event.preventDefault();
    action.act(event.target);
  });

  document.addEventListener('paste', function (event) {
    const box = event.target;
    if (!box.matches || !box.matches(FIELD) || box.selectionStart === box.selectionEnd) return;
    const pasted = (event.clipboardData ? event.clipboardData.getData('text/plain') : '').trim();
    const chosen = box.value.slice(box.selectionStart, box.selectionEnd);
    if (!ADDRESS.test(pasted) || ADDRESS.test(chosen.trim()) || chosen.indexOf('\n') !== -1) return;
    event.preventDefault();
    const start = box.selectionStart;
    const text = '[' + chosen + '](' + pasted + ')';
    put(box, start, box.selectionEnd, text, start + text.length, start + text.length);
  });

  document.addEventListener('DOMContentLoaded', function () { equip(document); });
  document.addEventListener('sf:stream-changed', function () { equip(document); });
})();
