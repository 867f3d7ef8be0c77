/* "Fill in last week's result" on a Last week's quiz block: asks the admin for the result of
   the newsletter's previous quiz (…/<issue>/quiz-result/, JSON) and fills the block's fields
   with it, rows added as needed; the editor then edits it like any block. */
'use strict';
(function () {
  const CHANGE_PAGE = /\/issue\/(\d+)\/change\/$/;
  const ROW_NAME = /-(\d+)-(\w+)$/;

  function field(block, name) {
    return block.querySelector('[name$="quiz_result__' + name + '"]');
  }

  function rows(items) {
    return Array.from(items.querySelectorAll('.sf-item:not(.sf-items-head)'));
  }

  function fill(block, values) {
    field(block, 'title').value = values.title || '';
    field(block, 'summary').value = values.summary || '';
    const items = block.querySelector('.sf-items');
    while (rows(items).length < values.headlines.length) {
      items.querySelector('.sf-item-add').click();
    }
    rows(items).forEach(function (row, n) {
      const headline = values.headlines[n] || {};
      row.querySelectorAll('input[type=text], input[type=url]').forEach(function (input) {
        const part = (input.name.match(ROW_NAME) || [])[2];
        if (part) input.value = headline[part] || '';
      });
      const pick = row.querySelector('input[type=radio]');
      if (pick) pick.checked = Boolean(headline.pick);
    });
    block.dispatchEvent(new Event('input', { bubbles: true }));  // autosave and preview follow
  }

  document.addEventListener('click', function (event) {
    const button = event.target.closest('.sf-quiz-result-fill');
    if (!button) return;
    const block = button.closest('.sf-kind-fields');
    const status = block.querySelector('.sf-quiz-result-status');
    if (!CHANGE_PAGE.test(location.pathname)) {
      status.textContent = 'Save the issue first: the result comes from the issue sent before it.';
      return;
    }
    status.textContent = 'Looking up last week’s quiz…';
    fetch(location.pathname.replace(/change\/$/, 'quiz-result/'), {
      credentials: 'same-origin', headers: { Accept: 'application/json' },
    }).then(function (response) {
      if (!response.ok) throw new Error(response.status);
      return response.json();
    }).then(function (answer) {
      if (!answer.values) {
        status.textContent = answer.message;
        return;
      }
      fill(block, answer.values);
      status.textContent = 'Filled in from “' + answer.from.title + '”.';
    }).catch(function () {
      status.textContent = 'Could not look up last week’s quiz; try again.';
    });
  });
})();
