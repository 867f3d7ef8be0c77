'use strict';
// The issue form: live character counts for subject and preheader, and the line an inbox
// shows (sender · subject · preheader), cut where Gmail on a desktop cuts it.
(function () {
  // Gmail's desktop list shows about 90-100 characters of subject and preheader together.
  const INBOX_CHARS = 95;
  // Phones show about this much of a subject before cutting it.
  const PHONE_SUBJECT_CHARS = 40;

  function chars(text) { return Array.from(text); }  // code points, as inboxes count them

  function cut(text, room) {
    const all = chars(text);
    if (all.length <= room) return text;
    return all.slice(0, Math.max(room, 0)).join('').trimEnd() + '…';
  }

  function counter(input) {
    const element = document.createElement('div');
    element.id = input.id + '_counter';
    element.className = 'help sf-counter';  // lined up like the field's help text
    element.setAttribute('aria-live', 'polite');
    // Below the field and its help, not inside the row that lines up label and input.
    const field = input.closest('.flex-container') || input;
    const help = field.parentElement.querySelector('.help');
    (help || field).insertAdjacentElement('afterend', element);
    return element;
  }

  function span(className) {
    const element = document.createElement('span');
    element.className = className;
    return element;
  }

  function start() {
    const title = document.getElementById('id_title');
    const subject = document.getElementById('id_subject');
    const preheader = document.getElementById('id_preheader');
    const newsletter = document.getElementById('id_newsletter');
    if (!title || !subject || !preheader) return;
    [title, subject, preheader].forEach(function (input) {
      const row = input.closest('.form-row');
      if (row) row.classList.add('sf-long-text');  // label above: the input takes the width
    });
    const senders = JSON.parse((newsletter && newsletter.dataset.senders) || '{}');

    const subjectCount = counter(subject);
    const preheaderCount = counter(preheader);
    const line = document.createElement('div');
    line.className = 'sf-inbox-line sf-inbox-live';
    line.setAttribute('aria-label', 'As a Gmail inbox on a desktop lists it');
    const from = span('sf-inbox-from');
    const shownSubject = span('sf-inbox-subject');
    const shownPreheader = span('sf-inbox-preheader');
    line.append(from, shownSubject, shownPreheader);
    preheaderCount.insertAdjacentElement('afterend', line);

    function update() {
      // A blank subject is sent as the title.
      const subjectText = subject.value.trim() || title.value.trim();
      const subjectLength = chars(subject.value).length;
      const preheaderLength = chars(preheader.value).length;
      const room = INBOX_CHARS - chars(subjectText).length;
      subjectCount.textContent = subjectLength + ' characters' +
        (subjectLength > PHONE_SUBJECT_CHARS ? ' · phones show about ' + PHONE_SUBJECT_CHARS : '');
      preheaderCount.textContent = preheaderLength + ' characters · ' +
        (room - preheaderLength >= 0
          ? (room - preheaderLength) + ' more fit in the inbox line'
          : 'Gmail cuts the last ' + (preheaderLength - Math.max(room, 0)) + ' on a desktop');
      subjectCount.classList.toggle('sf-counter-long', subjectLength > PHONE_SUBJECT_CHARS);
      preheaderCount.classList.toggle('sf-counter-long', preheaderLength > room);
      from.textContent = senders[newsletter && newsletter.value] || 'Sender';
      shownSubject.textContent = cut(subjectText || '(no subject)', INBOX_CHARS);
      const text = preheader.value.trim();
      shownPreheader.textContent = text && room > 0 ? ' — ' + cut(text, room) : '';
    }

    [title, subject, preheader].forEach(function (input) { input.addEventListener('input', update); });
    if (newsletter) newsletter.addEventListener('change', update);
    update();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
