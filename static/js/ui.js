// Reusable pieces: sortable paginated lists, validated forms, dialogs, states and messages.

import { ApiError, get } from './api.js';
import { append, clear, h, uid } from './dom.js';
import { t } from './i18n.js';

/** The friendly text for an error from the API. */
export function errorText(err) {
  if (err instanceof ApiError) {
    if (err.status === 0) return t('error_network');
    if (err.status === 403) return t('error_forbidden');
    if (err.status === 429) return t('too_many');
    return t('error_generic', { msg: err.message });
  }
  return t('error_generic', { msg: String(err && err.message ? err.message : err) });
}

export function errorState(err, retry) {
  return h(
    'div',
    { class: 'state state-error', role: 'alert' },
    h('p', {}, errorText(err)),
    retry ? h('button', { type: 'button', class: 'btn', onclick: retry }, t('retry')) : null,
  );
}

export function emptyState(text) {
  return h('div', { class: 'state state-empty' }, h('p', {}, text || t('empty')));
}

export function loadingState() {
  return h('div', { class: 'state state-loading', role: 'status' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), t('loading'));
}

/** A short message in the page's live region. */
export function toast(text, kind = 'ok') {
  const region = document.getElementById('toasts');
  if (!region) return;
  const item = h('div', { class: `toast toast-${kind}` }, text);
  region.append(item);
  while (region.children.length > 2) region.firstElementChild.remove();
  setTimeout(() => item.remove(), 3500);
}

/** A modal dialog; resolves nothing, returns {dialog, body, close}. */
export function openDialog(title, build) {
  const titleId = uid('dlg');
  const body = h('div', { class: 'dialog-body' });
  const dialog = h(
    'dialog',
    { class: 'dialog', 'aria-labelledby': titleId },
    h(
      'div',
      { class: 'dialog-head' },
      h('h2', { id: titleId }, title),
      h('button', { type: 'button', class: 'btn btn-ghost dialog-close', 'aria-label': t('close'), onclick: () => close() }, '×'),
    ),
    body,
  );
  const close = () => {
    if (dialog.open) dialog.close();
    dialog.remove();
  };
  dialog.addEventListener('close', () => dialog.remove());
  document.body.append(dialog);
  append(body, build(close));
  dialog.showModal();
  const first = body.querySelector('input, select, textarea, button');
  if (first) first.focus();
  return { dialog, body, close };
}

// ------------------------------------------------------------------------------ validation

/** ИНН checksum (10 digits for companies, 12 for individuals). */
export function validInn(inn) {
  if (!/^(\d{10}|\d{12})$/.test(inn)) return false;
  const d = inn.split('').map(Number);
  const check = (weights) => (weights.reduce((sum, w, i) => sum + w * d[i], 0) % 11) % 10;
  if (d.length === 10) return check([2, 4, 10, 3, 5, 9, 4, 6, 8]) === d[9];
  return (
    check([7, 2, 4, 10, 3, 5, 9, 4, 6, 8]) === d[10] && check([3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8]) === d[11]
  );
}

/**
 * A form whose fields validate before sending and show the API's field errors next to them.
 * fields: [{name, label, type: text|email|password|number|date|textarea|select|checkbox,
 *           required, maxlength, options: [[value, label]], value, validate: v => message|null}]
 * onSubmit(values) may throw ApiError; its details.fields land next to the fields.
 */
export function formView({ fields, submitLabel, onSubmit, onCancel, className }) {
  const inputs = {};
  const errors = {};
  const general = h('div', { class: 'form-error', role: 'alert' });
  const form = h('form', { class: `form ${className || ''}`, novalidate: true });
  for (const f of fields) {
    const id = uid(f.name);
    const errId = `${id}-err`;
    let input;
    const common = { id, name: f.name, 'aria-describedby': errId };
    if (f.type === 'textarea') {
      input = h('textarea', { ...common, rows: 3, maxlength: f.maxlength, placeholder: f.placeholder });
      input.value = f.value ?? '';
    } else if (f.type === 'select') {
      input = h(
        'select',
        common,
        (f.options || []).map(([value, label]) => h('option', { value: String(value) }, label)),
      );
      if (f.value !== undefined && f.value !== null) input.value = String(f.value);
    } else if (f.type === 'checkbox') {
      input = h('input', { ...common, type: 'checkbox', checked: Boolean(f.value) });
    } else {
      input = h('input', {
        ...common,
        type: f.type || 'text',
        maxlength: f.maxlength,
        placeholder: f.placeholder,
        autocomplete: f.autocomplete || 'off',
        inputmode: f.inputmode,
      });
      input.value = f.value ?? '';
    }
    if (f.required) input.setAttribute('aria-required', 'true');
    inputs[f.name] = input;
    errors[f.name] = h('div', { class: 'field-error', id: errId });
    const label = h('label', { for: id }, f.label, f.required ? h('span', { class: 'req', 'aria-hidden': 'true' }, ' *') : null);
    form.append(
      h('div', { class: `field field-${f.type || 'text'}` }, f.type === 'checkbox' ? [input, label] : [label, input], errors[f.name]),
    );
  }
  const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, submitLabel || t('save'));
  form.append(
    general,
    h(
      'div',
      { class: 'form-actions' },
      submit,
      onCancel ? h('button', { type: 'button', class: 'btn', onclick: onCancel }, t('cancel')) : null,
    ),
  );

  const setError = (name, message) => {
    if (!errors[name]) return false;
    errors[name].textContent = message || '';
    inputs[name].setAttribute('aria-invalid', message ? 'true' : 'false');
    return true;
  };

  const values = () => {
    const out = {};
    for (const f of fields) {
      const input = inputs[f.name];
      if (f.type === 'checkbox') out[f.name] = input.checked;
      else if (f.type === 'number') out[f.name] = input.value.trim() === '' ? null : Number(input.value);
      else if (f.type === 'select' && f.numeric) out[f.name] = input.value === '' ? null : Number(input.value);
      else {
        const v = f.type === 'password' ? input.value : input.value.trim();
        out[f.name] = v === '' ? null : v;
      }
    }
    return out;
  };

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    general.textContent = '';
    const v = values();
    let firstBad = null;
    for (const f of fields) {
      let message = null;
      const value = v[f.name];
      if (f.required && (value === null || value === undefined || value === false)) message = t('required');
      else if (value !== null && f.type === 'number' && Number.isNaN(value)) message = t('invalid_number');
      else if (value !== null && f.type === 'email' && !/^[^\s@]+@[^\s@]+$/.test(value)) message = t('invalid_email');
      else if (value !== null && f.maxlength && String(value).length > f.maxlength) message = t('too_long', { n: f.maxlength });
      else if (value !== null && f.validate) message = f.validate(value);
      setError(f.name, message);
      if (message && !firstBad) firstBad = inputs[f.name];
    }
    if (firstBad) {
      general.textContent = t('fix_fields');
      firstBad.focus();
      return;
    }
    submit.disabled = true;
    submit.setAttribute('aria-busy', 'true');
    try {
      await onSubmit(v);
    } catch (err) {
      let shown = false;
      if (err instanceof ApiError) {
        for (const [name, message] of Object.entries(err.fields)) {
          if (setError(name, message)) {
            if (!shown) inputs[name].focus();
            shown = true;
          }
        }
      }
      general.textContent = shown ? t('fix_fields') : errorText(err);
      const unplaced = err instanceof ApiError ? Object.entries(err.fields).filter(([n]) => !errors[n]) : [];
      if (unplaced.length) general.textContent += ` ${unplaced.map(([n, m]) => `${n}: ${m}`).join('; ')}`;
    } finally {
      submit.disabled = false;
      submit.removeAttribute('aria-busy');
    }
  });
  return { form, inputs, setError };
}

// ------------------------------------------------------------------------------ lists

/**
 * A paginated, sortable list of an API collection ({items, total, page, per_page}).
 * columns: [{key, label, sort (API field, or false), render(row) → node|text, class}]
 * filters: [{name, label, type: text|select|checkbox|date|number, options, placeholder}]
 */
export function listView({ path, columns, filters = [], fixed = {}, defaultSort, rowAttrs, emptyText, perPage = 20, caption }) {
  const state = { page: 1, per_page: perPage, sort: defaultSort || '', filters: {} };
  const root = h('section', { class: 'list' });
  const filterForm = h('form', { class: 'filters', role: 'search' });
  const filterInputs = {};
  for (const f of filters) {
    const id = uid(`flt-${f.name}`);
    let input;
    if (f.type === 'select') {
      input = h('select', { id, name: f.name }, h('option', { value: '' }, t('all')), (f.options || []).map(([v, l]) => h('option', { value: String(v) }, l)));
    } else if (f.type === 'checkbox') {
      input = h('input', { id, name: f.name, type: 'checkbox' });
    } else {
      input = h('input', { id, name: f.name, type: f.type || 'text', placeholder: f.placeholder, min: f.type === 'number' ? 0 : null });
    }
    if (f.value !== undefined) {
      if (f.type === 'checkbox') input.checked = Boolean(f.value);
      else input.value = String(f.value);
    }
    filterInputs[f.name] = input;
    filterForm.append(h('div', { class: `filter filter-${f.type || 'text'}` }, f.type === 'checkbox' ? [input, h('label', { for: id }, f.label)] : [h('label', { for: id }, f.label), input]));
  }
  if (filters.length) {
    filterForm.append(
      h(
        'div',
        { class: 'filter-actions' },
        h('button', { type: 'submit', class: 'btn btn-primary' }, t('apply')),
        h('button', { type: 'reset', class: 'btn' }, t('reset')),
      ),
    );
    filterForm.addEventListener('submit', (ev) => {
      ev.preventDefault();
      state.page = 1;
      load();
    });
    filterForm.addEventListener('reset', () => {
      setTimeout(() => {
        state.page = 1;
        load();
      }, 0);
    });
    // On a phone the filters start folded so the list is visible at once.
    const folded = window.matchMedia && window.matchMedia('(max-width: 720px)').matches;
    root.append(h('details', { class: 'filters-box', open: !folded }, h('summary', {}, t('filter')), filterForm));
  }
  const body = h('div', { class: 'list-body', 'aria-live': 'polite' });
  root.append(body);

  const readFilters = () => {
    const out = {};
    for (const f of filters) {
      const input = filterInputs[f.name];
      if (f.type === 'checkbox') {
        if (input.checked) out[f.name] = f.checkedValue ?? 'true';
      } else if (input.value.trim() !== '') out[f.name] = input.value.trim();
    }
    return out;
  };

  const sortHeader = (col) => {
    if (!col.sort) return h('th', { scope: 'col', class: col.class }, col.label);
    const asc = state.sort === col.sort;
    const desc = state.sort === `-${col.sort}`;
    const th = h('th', { scope: 'col', class: col.class, 'aria-sort': asc ? 'ascending' : desc ? 'descending' : 'none' });
    th.append(
      h(
        'button',
        {
          type: 'button',
          class: 'sort',
          title: t('sort_by', { col: col.label }),
          onclick: () => {
            state.sort = asc ? `-${col.sort}` : col.sort;
            state.page = 1;
            load();
          },
        },
        col.label,
        h('span', { class: 'sort-mark', 'aria-hidden': 'true' }, asc ? ' ▲' : desc ? ' ▼' : ' ↕'),
      ),
    );
    return th;
  };

  // Only the latest load is shown: an earlier one answering late (the first page still on its
  // way when a filter is applied) must not replace the filtered rows.
  let latest = 0;
  async function load() {
    const mine = ++latest;
    clear(body).append(loadingState());
    const query = { ...fixed, ...readFilters(), page: state.page, per_page: state.per_page, sort: state.sort || undefined };
    let data;
    try {
      data = await get(path, query);
    } catch (err) {
      if (mine === latest) clear(body).append(errorState(err, load));
      return;
    }
    if (mine !== latest) return;
    const items = (data && data.items) || [];
    const total = Number((data && data.total) ?? items.length);
    const pages = Math.max(1, Math.ceil(total / state.per_page));
    clear(body);
    if (!items.length) {
      body.append(emptyState(emptyText));
    } else {
      const table = h(
        'table',
        { class: 'table' },
        caption ? h('caption', { class: 'visually-hidden' }, caption) : null,
        h('thead', {}, h('tr', {}, columns.map(sortHeader))),
        h(
          'tbody',
          {},
          items.map((row) =>
            h(
              'tr',
              rowAttrs ? rowAttrs(row) : {},
              columns.map((col) => {
                const value = col.render ? col.render(row, load) : row[col.key];
                return h('td', { class: col.class, 'data-col': col.key, 'data-label': col.label }, value === null || value === undefined || value === '' ? '—' : value);
              }),
            ),
          ),
        ),
      );
      body.append(h('div', { class: 'table-wrap' }, table));
    }
    const perPageId = uid('pp');
    const perPageSelect = h('select', { id: perPageId }, [10, 20, 50, 100].map((n) => h('option', { value: String(n) }, String(n))));
    perPageSelect.value = String(state.per_page);
    perPageSelect.addEventListener('change', () => {
      state.per_page = Number(perPageSelect.value);
      state.page = 1;
      load();
    });
    body.append(
      h(
        'nav',
        { class: 'pager', 'aria-label': 'pagination' },
        h('button', { type: 'button', class: 'btn', disabled: state.page <= 1, onclick: () => { state.page -= 1; load(); } }, t('prev')),
        h('span', { class: 'pager-info' }, t('page_of', { page: state.page, pages, total })),
        h('button', { type: 'button', class: 'btn', disabled: state.page >= pages, onclick: () => { state.page += 1; load(); } }, t('next')),
        h('label', { for: perPageId, class: 'pager-pp' }, t('per_page')),
        perPageSelect,
      ),
    );
  }

  load();
  return { root, reload: load };
}

/** A status badge: text from the dictionary (prefix + value) or the value itself. */
export function badge(prefix, value, tMaybe) {
  return h('span', { class: `badge badge-${value}` }, tMaybe(`${prefix}${value}`, value));
}
