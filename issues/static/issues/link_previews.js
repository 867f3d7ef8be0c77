/* Paste a link into an empty link-list row (or onto the stream, where it starts a new link
   list): the row keeps the link at once, then asks the
   link preview endpoint (issues/admin/link_previews.py) until the worker has read the page,
   and fills the title and note the page gives. It fills only what is still empty, so it
   never overwrites what the editor typed meanwhile; a link already sent in an earlier issue
   of the newsletter is marked ("Sent in #41"). */
'use strict';
(function () {
  const LINK = /^(https?:\/\/\S+|arxiv:\s*\S+|\d{4}\.\d{4,5}(v\d+)?)$/i;
  const POLL_MS = 600;
  const TRIES = 100;

  function endpoint() {
    const element = document.getElementById('sf-link-preview');
    return element ? element.dataset.url : '';
  }

  function part(row, name) {
    return row.querySelector('.sf-item-' + name + ' input');
  }

  function linkRow(target) {
    const row = target.closest ? target.closest('.sf-item') : null;
    if (!row || row.closest('.sf-items-pick') || !part(row, 'url') || !part(row, 'title')) {
      return null;
    }
    return row;
  }

  function isEmpty(row) {
    return Array.from(row.querySelectorAll('input[type=text]')).every(function (input) {
      return !input.value.trim();
    });
  }

  function put(input, value) {
    input.value = value;
    input.dispatchEvent(new Event('input', { bubbles: true }));  // preview and autosave follow
  }

  function say(row, text, state) {
    let status = row.querySelector('.sf-link-status');
    if (!status) {
      status = document.createElement('span');
      status.className = 'sf-link-status';
      status.setAttribute('role', 'status');
      part(row, 'url').after(status);
    }
    status.textContent = text;
    status.dataset.state = state;
  }

  function fill(row, answer) {
    const url = part(row, 'url');
    const title = part(row, 'title');
    const note = part(row, 'note');
    if (answer.url && url.value.trim() !== answer.url) put(url, answer.url);
    if (answer.title && !title.value.trim()) put(title, answer.title);
    if (note && answer.note && !note.value.trim()) put(note, answer.note);
  }

  function sentIn(answer) {
    return answer.sent_in && answer.sent_in.length
      ? 'Sent in ' + answer.sent_in.map(function (n) { return '#' + n; }).join(', ')
      : '';
  }

  function ask(row, pasted, tries) {
    const url = part(row, 'url');
    if (url.value.trim() !== pasted) return;  // the editor changed the link: this answer is not theirs
    const newsletter = document.getElementById('id_newsletter');
    const query = '?url=' + encodeURIComponent(pasted) +
      (newsletter && newsletter.value ? '&newsletter=' + encodeURIComponent(newsletter.value) : '');
    fetch(endpoint() + query, { credentials: 'same-origin', headers: { Accept: 'application/json' } })
      .then(function (response) { return response.json(); })
      .then(function (answer) {
        if (url.value.trim() !== pasted) return;
        if (answer.status === 'pending' && tries > 0) {
          say(row, 'Reading the page…' + (sentIn(answer) ? ' ' + sentIn(answer) : ''), 'pending');
          setTimeout(function () { ask(row, pasted, tries - 1); }, POLL_MS);
          return;
        }
        if (answer.status === 'ready') {
          fill(row, answer);
          say(row, sentIn(answer), sentIn(answer) ? 'sent' : 'ready');
        } else {
          say(row, (sentIn(answer) ? sentIn(answer) + '. ' : '') +
            'No preview: ' + (answer.error || 'the page did not answer in time'), 'failed');
        }
      })
      .catch(function () { say(row, 'No preview: the server did not answer', 'failed'); });
  }

  function editable(element) {
    return element instanceof HTMLInputElement || element instanceof HTMLTextAreaElement ||
      element instanceof HTMLSelectElement || (element instanceof HTMLElement && element.isContentEditable);
  }

  /* A link pasted onto the stream (nothing editable focused) becomes a new link list. */
  function newLinkRow() {
    const add = document.querySelector('.sf-stream .sf-add-link_list');
    if (!add) return null;
    const before = Array.from(document.querySelectorAll('.sf-stream .sf-items'));
    add.click();
    const items = Array.from(document.querySelectorAll('.sf-stream .sf-items')).find(function (list) {
      return before.indexOf(list) < 0;
    });
    return items ? items.querySelector('.sf-item:not(.sf-items-head)') : null;
  }

  /* paste_draft.js leaves a lone link to this script, and pastes where it does. */
  window.sfLinkPreviews = {
    isLink: function (text) { return LINK.test(text.trim()); },
    editable: editable,
  };

  document.addEventListener('paste', function (event) {
    if (event.defaultPrevented || !endpoint()) return;
    const text = (event.clipboardData || window.clipboardData).getData('text/plain').trim();
    if (!LINK.test(text)) return;
    let row;
    if (event.target instanceof HTMLInputElement) {
      row = linkRow(event.target);
      if (!row || !isEmpty(row)) return;
    } else if (!editable(event.target) &&
               (event.target === document.body || event.target.closest('.sf-stream'))) {
      row = newLinkRow();
      if (!row) return;
    } else {
      return;
    }
    event.preventDefault();
    put(part(row, 'url'), text);
    part(row, 'title').focus();
    ask(row, text, TRIES);
  });
})();
