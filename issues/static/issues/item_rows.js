/* Item rows (link lists, quiz headlines): inputs are named <field>-<n>-<part>; a new row takes
   the next unused n, so the server reads the rows in the order shown. */
'use strict';
(function () {
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
    row.querySelectorAll('.errorlist, .sf-link-status').forEach(function (list) { list.remove(); });
    row.querySelectorAll('input').forEach(function (input) {
      input.removeAttribute('aria-invalid');
      input.removeAttribute('aria-describedby');
      input.disabled = false;
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
    } else {
      const after = all[all.indexOf(row) + 1];
      row.remove();
      (after ? after.querySelector('input') : items.querySelector('.sf-item-add')).focus();
    }
    items.dispatchEvent(new Event('input', { bubbles: true }));  // the preview follows
  }

  document.addEventListener('click', function (event) {
    const add = event.target.closest('.sf-item-add');
    const remove = event.target.closest('.sf-item-remove');
    if (add) addItemRow(add.closest('.sf-items'));
    if (remove) removeItemRow(remove.closest('.sf-item'));
  });
})();
