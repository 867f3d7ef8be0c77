/* Paste a whole draft (Google Docs, Word, Notion, a web page; or Markdown as text) onto the
   block stream: the server turns the clipboard into blocks through the importers' one
   converter (issues/admin/paste.py), and each comes back as its kind's fields, filled. They
   are added after the block the paste landed in (or where the toolbar of kinds stands),
   through the stream's own "add a block", so the preview and autosave follow them like typed
   blocks. A note over them says what the paste made, and "Undo paste" takes them all out
   again in one click.

   Where a paste is a draft: onto the stream with no field focused, or into an empty text
   block (which the pasted blocks then replace). A paste into a field with words in it, a
   single line of plain text into an empty one, and a lone link (link_previews.js) are left
   to the browser and the other scripts. A refused paste changes nothing and says why. */
'use strict';
(function () {
  const MARKDOWN_BLOCKS = /\n\s*\n|^#{1,2} |^- \[|^(?:-{3,}|\*{3,})$/m;

  function endpoint() {
    return document.getElementById('sf-paste');
  }

  function token() {
    const input = document.querySelector('form [name=csrfmiddlewaretoken]');
    return input ? input.value : '';
  }

  /* An empty text block, new (never saved): a paste into it takes its place. */
  function emptyTextBlock(target) {
    const row = target.closest('.sf-block');
    const slot = target.closest('.sf-kind-fields');
    if (!row || !slot || slot.dataset.kind !== 'markdown' || row.classList.contains('has_original')) {
      return null;
    }
    return target.matches('textarea') && !target.value.trim() ? row : null;
  }

  function megabytes(bytes) {
    return (bytes / 1000000).toFixed(1) + ' MB';
  }

  function Paste(group, stream, element) {
    const maxBytes = Number(element.dataset.maxBytes);
    let note = null;

    function show(where, text, isError) {
      if (note) note.remove();
      note = document.createElement('div');
      note.className = 'sf-paste-note' + (isError ? ' sf-paste-refused' : '');
      note.setAttribute('role', isError ? 'alert' : 'status');
      const said = document.createElement('p');
      said.className = 'sf-paste-summary';
      said.textContent = text;
      note.appendChild(said);
      if (where.before) where.before.before(note);
      else if (where.after) where.after.after(note);
      else group.querySelector('.sf-toolbar').before(note);
      return note;
    }

    function listProblems(problems) {
      if (!problems.length) return;
      const list = document.createElement('ul');
      list.className = 'sf-paste-problems';
      problems.forEach(function (problem) {
        const item = document.createElement('li');
        item.textContent = problem;
        list.appendChild(item);
      });
      note.appendChild(list);
    }

    /* The live preview says "Updating…" while a paste is turned into blocks (it is an edit
       on its way), and looks again if the paste came to nothing. */
    function announce(name) {
      group.dispatchEvent(new CustomEvent(name, { bubbles: true }));
    }

    function insert(answer, after, replaced) {
      let previous = after;
      const added = answer.blocks.map(function (block) {
        const row = stream.add(block.kind, { after: previous, focus: false, fields: block.fields });
        previous = row;
        return row;
      });
      if (!added.length) {
        show({ after: after }, answer.summary + ' Nothing was changed.', true);
        announce('sf:stream-unchanged');
        return;
      }
      if (replaced) stream.take([replaced]);
      const title = document.getElementById('id_title');
      const titled = Boolean(answer.title && title && !title.value.trim());
      if (titled) {
        title.value = answer.title;
        title.dispatchEvent(new Event('input', { bubbles: true }));
      }
      show({ before: added[0] }, 'Pasted ' + answer.summary, false);
      listProblems(answer.problems);
      const undo = document.createElement('button');
      undo.type = 'button';
      undo.className = 'button sf-paste-undo';
      undo.textContent = 'Undo paste';
      undo.addEventListener('click', function () {
        const first = added[0];
        if (replaced) stream.putBack(replaced, first);
        if (titled && title.value === answer.title) {
          title.value = '';
          title.dispatchEvent(new Event('input', { bubbles: true }));
        }
        show({ before: first }, 'Paste undone: ' + added.length +
          (added.length === 1 ? ' block' : ' blocks') + ' taken out.', false).tabIndex = -1;
        stream.take(added);
        note.focus();
      });
      note.appendChild(undo);
      note.tabIndex = -1;
      note.scrollIntoView({ block: 'start' });
    }

    function send(html, text, after, replaced) {
      const size = new Blob([html, text]).size;
      if (size > maxBytes) {
        show({ after: after }, 'This paste is ' + megabytes(size) + '; at most ' +
          megabytes(maxBytes) + ' is turned into blocks at once. Paste the draft in parts. ' +
          'Nothing was changed.', true);
        return;
      }
      show({ after: after }, 'Turning the paste into blocks…', false);
      announce('sf:stream-pending');
      fetch(element.dataset.url, {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json', 'X-CSRFToken': token(), Accept: 'application/json' },
        body: JSON.stringify({ html: html, text: text }),
      })
        .then(function (response) {
          return response.json().then(function (answer) { return { ok: response.ok, answer: answer }; },
            function () { return { ok: false, answer: { error: 'the server answered ' + response.status } }; });
        })
        .then(function (result) {
          if (!result.ok) {
            show({ after: after }, 'The paste was not added: ' + (result.answer.error || 'refused') +
              ' Nothing was changed.', true);
            announce('sf:stream-unchanged');
            return;
          }
          insert(result.answer, after, replaced);
        })
        .catch(function () {
          show({ after: after }, 'The paste was not added: the server did not answer. Nothing was changed.', true);
          announce('sf:stream-unchanged');
        });
    }

    document.addEventListener('paste', function (event) {
      if (event.defaultPrevented) return;
      const data = event.clipboardData;
      if (!data) return;
      const html = data.getData('text/html') || '';
      const text = data.getData('text/plain') || '';
      if (!html.trim() && !text.trim()) return;
      const links = window.sfLinkPreviews;
      if (links && links.isLink(text) && !/<(p|h[1-6]|ul|ol|img|hr)\b/i.test(html)) return;
      const target = event.target instanceof Element ? event.target : document.body;
      let replaced = null;
      if (links && links.editable(target)) {
        replaced = emptyTextBlock(target);
        if (!replaced || (!html.trim() && !MARKDOWN_BLOCKS.test(text))) return;
      } else if (!target.closest('.sf-stream') && !target.contains(group)) {
        return;  // focus elsewhere on the page (not the stream, nor a box around it)
      }
      event.preventDefault();
      send(html, text, target.closest('.sf-block'), replaced);
    });
  }

  document.addEventListener('DOMContentLoaded', function () {
    const group = document.querySelector('.sf-stream');
    const element = endpoint();
    if (!group || !group.sfStream || !element) return;
    new Paste(group, group.sfStream, element);
  });
})();
