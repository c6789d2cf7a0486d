// The import page (admin role): a file is chosen, its preview lists every row's outcome, and
// "Import" confirms that preview (its digest) and applies it.

import { ApiError } from './api.js';
import { h } from './dom.js';
import { t } from './i18n.js';
import { errorText, toast } from './ui.js';

export const IMPORT_TEXTS = {
  ru: {
    nav_import: 'Импорт',
    import_title: 'Импорт клиентов и касс',
    import_hint: 'XLSX или CSV (UTF-8 или Windows-1251, разделитель «;» или «,»), первая строка — заголовки: ИНН, наименование, заводской номер ККТ, номер ФН, срок действия ФН, ОФД, адрес и другие, как в шаблоне или в выгрузке из кабинета ОФД. Сначала показывается, что изменится; записывается только после подтверждения.',
    import_file: 'Файл',
    import_preview: 'Проверить',
    import_apply: 'Импортировать',
    import_template: 'Шаблон XLSX',
    import_template_csv: 'Шаблон CSV',
    import_row: 'Строка',
    import_outcome: 'Итог',
    import_details: 'Что будет сделано',
    import_summary: 'Строк: {rows}. Новых: {new}, изменений: {update}, без изменений: {unchanged}, с ошибками: {error}.',
    import_nothing: 'Изменять нечего.',
    import_errors_left_out: 'Строки с ошибками не импортируются.',
    import_done: 'Импортировано: клиентов {clients}, касс {registers}, контактов {contacts}, сроков {deadlines} (создано и изменено).',
    import_changed: 'Файл или данные изменились после проверки. Проверьте файл ещё раз.',
    outcome_new: 'новая',
    outcome_update: 'изменение',
    outcome_unchanged: 'без изменений',
    outcome_error: 'ошибка',
    change_new: 'новый',
    change_update: 'изменение',
    change_unchanged: 'без изменений',
    entity_client: 'клиент',
    entity_cash_register: 'касса',
    entity_contact: 'контакт',
    entity_deadline: 'срок',
    audit_e_import: 'Импорт',
    audit_e_export: 'Выгрузка',
    audit_a_import: 'Импорт',
  },
  en: {
    nav_import: 'Import',
    import_title: 'Import clients and cash registers',
    import_hint: 'XLSX or CSV (UTF-8 or Windows-1251, separated by ";" or ","), headers in the first row: ИНН, name, serial number, fiscal drive number, fiscal drive expiry, OFD, address and more, as in the template or an OFD cabinet export. What would change is shown first; nothing is written until you confirm.',
    import_file: 'File',
    import_preview: 'Check',
    import_apply: 'Import',
    import_template: 'Template XLSX',
    import_template_csv: 'Template CSV',
    import_row: 'Row',
    import_outcome: 'Outcome',
    import_details: 'What is done',
    import_summary: 'Rows: {rows}. New: {new}, updates: {update}, unchanged: {unchanged}, with errors: {error}.',
    import_nothing: 'Nothing to change.',
    import_errors_left_out: 'Rows with errors are not imported.',
    import_done: 'Imported: {clients} clients, {registers} cash registers, {contacts} contacts, {deadlines} deadlines (created and changed).',
    import_changed: 'The file or the data changed since the check. Check the file again.',
    outcome_new: 'new',
    outcome_update: 'update',
    outcome_unchanged: 'unchanged',
    outcome_error: 'error',
    change_new: 'new',
    change_update: 'update',
    change_unchanged: 'unchanged',
    entity_client: 'client',
    entity_cash_register: 'cash register',
    entity_contact: 'contact',
    entity_deadline: 'deadline',
    audit_e_import: 'Import',
    audit_e_export: 'Export',
    audit_a_import: 'Import',
  },
};

/** Sends the file as the raw body; the parsed JSON, or an ApiError. */
async function send(path, file) {
  const res = await fetch(path, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { Accept: 'application/json', 'Content-Type': 'application/octet-stream', 'X-Requested-With': 'kktbot' },
    body: file,
  }).catch((e) => {
    throw new ApiError(0, { error: { code: 'network', message: String(e && e.message) } });
  });
  const data = await res.json().catch(() => null);
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

function details(row) {
  if (row.outcome === 'error') {
    return h('ul', { class: 'import-errors' }, row.errors.map((e) => h('li', { 'data-column': e.column }, `${e.column}: ${e.message}`)));
  }
  return h(
    'ul',
    { class: 'import-changes' },
    row.changes.map((c) =>
      h('li', { 'data-entity': c.entity, 'data-action': c.action }, `${t(`entity_${c.entity}`)} ${c.key}: ${t(`change_${c.action}`)}${c.fields.length ? ` (${c.fields.join(', ')})` : ''}`),
    ),
  );
}

function previewTable(preview) {
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: 'table import-preview' },
      h('thead', {}, h('tr', {}, [t('import_row'), t('import_outcome'), t('import_details')].map((l) => h('th', { scope: 'col' }, l)))),
      h(
        'tbody',
        {},
        preview.rows.map((row) =>
          h(
            'tr',
            { 'data-row': row.row, 'data-outcome': row.outcome },
            h('td', { 'data-col': 'row' }, String(row.row)),
            h('td', { 'data-col': 'outcome' }, h('span', { class: `badge badge-${row.outcome}` }, t(`outcome_${row.outcome}`))),
            h('td', { 'data-col': 'details', class: 'wrap' }, details(row)),
          ),
        ),
      ),
    ),
  );
}

export function importPage() {
  const input = h('input', { type: 'file', id: 'import-file', name: 'file', accept: '.xlsx,.xls,.csv,text/csv' });
  const result = h('div', { class: 'import-result', 'aria-live': 'polite' });
  const message = (text, kind = 'info') => result.replaceChildren(h('p', { class: `state state-${kind}`, role: kind === 'error' ? 'alert' : null }, text));
  const check = h('button', { type: 'submit', class: 'btn btn-primary', id: 'import-preview' }, t('import_preview'));

  const showPreview = (file, preview) => {
    const s = preview.summary;
    const parts = [h('p', { class: 'import-summary', id: 'import-summary' }, t('import_summary', s))];
    if (s.error) parts.push(h('p', { class: 'hint' }, t('import_errors_left_out')));
    parts.push(previewTable(preview));
    if (preview.writes === 0) {
      parts.push(h('p', { class: 'state state-empty', id: 'import-nothing' }, t('import_nothing')));
    } else {
      const apply = h('button', { type: 'button', class: 'btn btn-primary', id: 'import-apply' }, t('import_apply'));
      apply.addEventListener('click', async () => {
        apply.disabled = true;
        try {
          const done = await send(`/api/import/apply?digest=${encodeURIComponent(preview.digest)}`, file);
          const w = done.written;
          const n = (x) => x.created + x.updated;
          const text = t('import_done', { clients: n(w.clients), registers: n(w.cash_registers), contacts: n(w.contacts), deadlines: n(w.deadlines) });
          result.replaceChildren(h('p', { class: 'state state-ok', id: 'import-done' }, text));
          toast(text);
        } catch (err) {
          apply.disabled = false;
          message(err instanceof ApiError && err.status === 409 ? t('import_changed') : errorText(err), 'error');
        }
      });
      parts.push(h('div', { class: 'form-actions' }, apply));
    }
    result.replaceChildren(...parts);
  };

  const form = h(
    'form',
    { class: 'form import-form', novalidate: true },
    h('div', { class: 'field' }, h('label', { for: 'import-file' }, t('import_file')), input),
    h('div', { class: 'form-actions' }, check),
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const file = input.files && input.files[0];
    if (!file) return;
    check.disabled = true;
    try {
      showPreview(file, await send('/api/import/preview', file));
    } catch (err) {
      const fields = err instanceof ApiError ? Object.values(err.fields) : [];
      message(fields.length ? fields.join('; ') : errorText(err), 'error');
    } finally {
      check.disabled = false;
    }
  });
  const templates = [
    h('a', { class: 'btn', id: 'import-template', href: '/api/import/template?format=xlsx', download: 'kktbot-import.xlsx' }, t('import_template')),
    h('a', { class: 'btn', href: '/api/import/template?format=csv', download: 'kktbot-import.csv' }, t('import_template_csv')),
  ];
  return h(
    'section',
    { class: 'page page-import' },
    h('div', { class: 'page-head' }, h('h1', { tabindex: '-1' }, t('import_title')), h('div', { class: 'page-actions' }, templates)),
    h('p', { class: 'hint' }, t('import_hint')),
    form,
    result,
  );
}
