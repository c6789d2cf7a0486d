// The pages. Each returns a node (or fills `main`); all data reaches the page as text.

import { resetPassword } from './account.js';
import { get, patch, post, put } from './api.js';
import { weeksChart } from './chart.js';
import { daysLeft, fmtDate, h, pick, urgency } from './dom.js';
import { getLang, t, tMaybe } from './i18n.js';
import { qrSvg } from './qr.js';
import { assigneeCard, photoCard, threadCard } from './request_work.js';
import { badge, emptyState, errorState, formView, listView, loadingState, openDialog, toast, validInn } from './ui.js';

const d = (v) => fmtDate(v, getLang());
const link = (href, text) => h('a', { href }, text);

/** Download links of an export (`deadlines`, `clients`, `requests`, `reminders`) as CSV and XLSX. */
function exportLinks(dataset) {
  return ['csv', 'xlsx'].map((format) =>
    h('a', { class: 'btn', href: `/api/export/${dataset}.${format}`, download: `${dataset}.${format}`, 'data-export': `${dataset}.${format}` }, t(`export_${format}`)),
  );
}

function pageHead(title, ...actions) {
  return h('div', { class: 'page-head' }, h('h1', { tabindex: '-1' }, title), h('div', { class: 'page-actions' }, actions));
}

/** Loads something then renders it, with loading and error states. */
function loadInto(loader, render) {
  const box = h('div', { class: 'async' }, loadingState());
  const run = async () => {
    box.replaceChildren(loadingState());
    try {
      const data = await loader();
      box.replaceChildren(render(data, run));
    } catch (err) {
      box.replaceChildren(errorState(err, run));
    }
  };
  run();
  return box;
}

// ------------------------------------------------------------------------------ login

export function loginPage(onLoggedIn) {
  const { form } = formView({
    className: 'login-form',
    submitLabel: t('sign_in'),
    fields: [
      { name: 'email', label: t('email'), type: 'email', required: true, autocomplete: 'username' },
      { name: 'password', label: t('password'), type: 'password', required: true, autocomplete: 'current-password' },
    ],
    onSubmit: async (v) => {
      try {
        const res = await post('/api/auth/login', { email: v.email, password: v.password });
        onLoggedIn(res && res.user);
      } catch (err) {
        if (err.status === 401) err.message = t('bad_credentials');
        throw err;
      }
    },
  });
  return h('section', { class: 'login card' }, h('h1', { tabindex: '-1' }, t('login_title')), form);
}

// ------------------------------------------------------------------------------ overview

// The figures of GET /api/stats (StatsDto), in display order.
const FIGURES = [
  ['fig_clients', 'clients'],
  ['fig_active_cash_registers', 'active_cash_registers'],
  ['fig_due_7', 'deadlines.due_7_days'],
  ['fig_due_14', 'deadlines.due_14_days'],
  ['fig_due_30', 'deadlines.due_30_days'],
  ['fig_overdue', 'deadlines.overdue'],
  ['fig_pending', 'requests_30_days.pending'],
  ['fig_approved', 'requests_30_days.approved'],
  ['fig_rejected', 'requests_30_days.rejected'],
  ['fig_sent', 'notifications_7_days.sent'],
  ['fig_failed', 'notifications_7_days.failed'],
];

export function overviewPage() {
  return h(
    'section',
    { class: 'page page-overview' },
    pageHead(t('overview_title')),
    loadInto(
      () => get('/api/stats'),
      (stats) => {
        const cards = [];
        for (const [key, path] of FIGURES) {
          const value = pick(stats || {}, path);
          if (value === undefined || typeof value === 'object') continue;
          cards.push(
            h('div', { class: `figure figure-${key}`, 'data-figure': key }, h('div', { class: 'figure-value' }, String(value)), h('div', { class: 'figure-label' }, t(key))),
          );
        }
        const weeks = ((stats && stats.deadlines_by_week) || []).map((w) => ({ start: w.week_start, count: Number(w.deadlines) }));
        const overdue = Number(pick(stats || {}, 'deadlines.overdue') ?? 0);
        const hasAny = weeks.some((w) => w.count > 0) || overdue > 0;
        return h(
          'div',
          {},
          h('div', { class: 'figures' }, cards),
          h('section', { class: 'card chart-card' }, h('h2', {}, t('chart_title')), hasAny ? weeksChart(weeks, overdue) : null, hasAny ? null : emptyState(t('chart_empty'))),
        );
      },
    ),
  );
}

// ------------------------------------------------------------------------------ requests

const reqStatus = (r) => badge('st_', r.status, tMaybe);
const reqNumber = (r) => pick(r, 'number', 'id');
// A service request shows its type's name (RequestDto.request_type_name_ru/_en); a link request its kind.
const reqType = (r) => pick(r, `request_type_name_${getLang()}`, 'request_type_name_ru') || tMaybe(`kind_${r.kind}`, r.kind);
const requester = (r) => [pick(r, 'requester_name'), r.requester_username ? `@${r.requester_username}` : null].filter(Boolean).join(' ') || String(r.requester_telegram_id ?? '—');
const clientCell = (r) => (r.client_id ? link(`#/clients/${r.client_id}`, r.client_name || `#${r.client_id}`) : '—');

function rejectDialog(r, done) {
  openDialog(t('reject_title', { n: reqNumber(r) }), (close) =>
    formView({
      submitLabel: t('reject'),
      fields: [{ name: 'reason', label: t('reason'), type: 'textarea', required: true, maxlength: 1000, placeholder: t('reject_reason_ph') }],
      onCancel: close,
      onSubmit: async (v) => {
        await post(`/api/requests/${r.id}/reject`, { reason: v.reason });
        close();
        toast(t('rejected_msg', { n: reqNumber(r) }));
        done();
      },
    }).form,
  );
}

function askDialog(r, done) {
  openDialog(t('ask_title', { n: reqNumber(r) }), (close) =>
    formView({
      submitLabel: t('act_ask_client'),
      fields: [{ name: 'comment', label: t('question'), type: 'textarea', required: true, maxlength: 1000, placeholder: t('ask_ph') }],
      onCancel: close,
      onSubmit: async (v) => {
        await post(`/api/requests/${r.id}/transitions`, { action: 'ask_client', comment: v.comment });
        close();
        toast(t('changed_msg', { n: reqNumber(r) }));
        done();
      },
    }).form,
  );
}

// A button per action the API says applies now (RequestDto.actions): decisions, then the work.
const ACTION_CLASS = { approve: 'btn-primary btn-approve', reject: 'btn-danger btn-reject', start: 'btn-primary', done: 'btn-primary', ask_client: '', reopen: '' };

function actionButtons(r, reload, only) {
  const actions = (r.actions || []).filter((a) => !only || only.includes(a));
  if (!actions.length) return null;
  const button = (action) => {
    const b = h('button', { type: 'button', class: `btn ${ACTION_CLASS[action] || ''}`, 'data-action': action }, t(`act_${action}`));
    b.addEventListener('click', async () => {
      if (action === 'reject') return rejectDialog(r, reload);
      if (action === 'ask_client') return askDialog(r, reload);
      b.disabled = true;
      try {
        if (action === 'approve') await post(`/api/requests/${r.id}/approve`);
        else await post(`/api/requests/${r.id}/transitions`, { action });
        toast(t(action === 'approve' ? 'approved_msg' : 'changed_msg', { n: reqNumber(r) }));
      } catch (err) {
        toast(err.message, 'error');
      }
      reload();
    });
    return b;
  };
  return h('div', { class: 'row-actions' }, actions.map(button));
}

const decisionButtons = (r, reload) => actionButtons(r, reload, ['approve', 'reject']);

export function requestsPage(tab) {
  const pending = tab !== 'history';
  const columns = [
    { key: 'number', label: t('number'), sort: 'number', render: (r) => link(`#/requests/${r.id}`, `№${reqNumber(r)}`) },
    { key: 'type', label: t('type'), render: reqType },
    { key: 'description', label: t('description'), class: 'wrap', render: (r) => r.description },
    { key: 'requester', label: t('requester'), render: requester },
    { key: 'client', label: t('client'), render: clientCell },
    { key: 'created_at', label: t('created'), sort: 'created_at', render: (r) => d(r.created_at) },
  ];
  if (pending) columns.push({ key: 'actions', label: t('actions'), render: (r, reload) => decisionButtons(r, reload) });
  else columns.push({ key: 'status', label: t('status'), sort: 'status', render: reqStatus }, { key: 'decided_by', label: t('decided_by'), render: (r) => r.decided_by });
  const list = listView({
    path: '/api/requests',
    fixed: pending ? { status: 'pending' } : {},
    defaultSort: pending ? 'created_at' : '-created_at',
    columns,
    rowAttrs: (r) => ({ 'data-request-id': r.id, 'data-number': reqNumber(r) }),
    filters: pending
      ? [{ name: 'q', label: t('search'), type: 'search' }]
      : [
          { name: 'q', label: t('search'), type: 'search' },
          { name: 'status', label: t('status'), type: 'select', options: ['pending', 'approved', 'in_progress', 'waiting_for_client', 'done', 'rejected', 'cancelled'].map((s) => [s, t(`st_${s}`)]) },
          { name: 'kind', label: t('type'), type: 'select', options: ['service', 'link'].map((s) => [s, t(`kind_${s}`)]) },
          { name: 'from', label: t('period_from'), type: 'date' },
          { name: 'to', label: t('period_to'), type: 'date' },
        ],
  });
  return h(
    'section',
    { class: 'page page-requests' },
    pageHead(t('requests_title'), exportLinks('requests')),
    h(
      'nav',
      { class: 'tabs', 'aria-label': t('requests_title') },
      h('a', { href: '#/requests', class: pending ? 'tab active' : 'tab', 'aria-current': pending ? 'page' : null }, t('tab_pending')),
      h('a', { href: '#/requests/history', class: pending ? 'tab' : 'tab active', 'aria-current': pending ? null : 'page' }, t('tab_history')),
    ),
    list.root,
  );
}

export function requestPage(id) {
  const box = h('section', { class: 'page page-request' });
  const render = () =>
    box.replaceChildren(
      loadInto(
        () => get(`/api/requests/${id}`),
        (data, reload) => {
          const r = data.request || data;
          const events = data.events || r.events || [];
          const rows = [
            [t('status'), reqStatus(r)],
            [t('type'), reqType(r)],
            [t('requester'), requester(r)],
            [t('client'), clientCell(r)],
            [t('created'), d(r.created_at)],
            [t('decided_by'), r.decided_by ? `${r.decided_by} · ${d(r.decided_at)}` : '—'],
            [t('reason'), r.reason || '—'],
            [t('started_at'), r.started_at ? d(r.started_at) : '—'],
            [t('done_at'), r.done_at ? d(r.done_at) : '—'],
          ];
          return h(
            'div',
            {},
            pageHead(t('request_title', { n: reqNumber(r) }), actionButtons(r, reload)),
            h('dl', { class: 'props card' }, rows.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])),
            h('div', { class: 'card' }, h('h2', {}, t('description')), h('p', { class: 'pre' }, r.description)),
            photoCard(r),
            assigneeCard(r, reload),
            threadCard(r, data.thread || [], reload),
            h(
              'section',
              { class: 'card' },
              h('h2', {}, t('events')),
              events.length
                ? h(
                    'ol',
                    { class: 'events' },
                    events.map((e) =>
                      h('li', {}, h('time', {}, d(e.created_at)), ' ', h('strong', {}, e.event), ` · ${e.channel || ''} · ${pick(e, 'actor_name', 'actor_kind') || ''}`, e.details ? h('div', { class: 'muted pre' }, e.details) : null),
                    ),
                  )
                : emptyState(),
            ),
          );
        },
      ),
    );
  render();
  return box;
}

// ------------------------------------------------------------------------------ clients

function clientFields(c = {}) {
  return [
    { name: 'name', label: t('name'), required: true, maxlength: 255, value: c.name },
    { name: 'inn', label: t('inn'), required: true, inputmode: 'numeric', maxlength: 12, value: c.inn, validate: (v) => (validInn(v) ? null : t('invalid_inn')) },
    { name: 'contact_person', label: t('contact_person'), maxlength: 255, value: c.contact_person },
    { name: 'phone', label: t('phone'), type: 'tel', maxlength: 50, value: c.phone },
    { name: 'email', label: t('email'), type: 'email', maxlength: 255, value: c.email },
    { name: 'address', label: t('address'), maxlength: 500, value: c.address },
    { name: 'notes', label: t('notes'), type: 'textarea', maxlength: 2000, value: c.notes },
  ];
}

export function clientDialog(client, done) {
  openDialog(client ? t('edit_client') : t('new_client'), (close) =>
    formView({
      fields: clientFields(client || {}),
      submitLabel: client ? t('save') : t('create'),
      onCancel: close,
      onSubmit: async (v) => {
        const saved = client ? await put(`/api/clients/${client.id}`, { ...v, is_active: client.is_active !== false }) : await post('/api/clients', v);
        close();
        toast(t('saved'));
        done(saved);
      },
    }).form,
  );
}

export function clientsPage() {
  const list = listView({
    path: '/api/clients',
    defaultSort: 'name',
    columns: [
      { key: 'name', label: t('name'), sort: 'name', render: (c) => h('span', {}, link(`#/clients/${c.id}`, c.name), c.is_active === false ? h('span', { class: 'badge badge-inactive' }, t('inactive')) : null) },
      { key: 'inn', label: t('inn'), sort: 'inn' },
      { key: 'contact_person', label: t('contact_person') },
      { key: 'phone', label: t('phone') },
      { key: 'created_at', label: t('created'), sort: 'created_at', render: (c) => d(c.created_at) },
    ],
    rowAttrs: (c) => ({ 'data-client-id': c.id }),
    filters: [
      { name: 'q', label: t('search'), type: 'search', placeholder: t('search_ph') },
      { name: 'is_active', label: t('active'), type: 'select', options: [['true', t('yes')], ['false', t('no')]] },
    ],
  });
  return h(
    'section',
    { class: 'page page-clients' },
    pageHead(t('clients_title'), exportLinks('clients'), h('button', { type: 'button', class: 'btn btn-primary', id: 'new-client', onclick: () => clientDialog(null, (c) => (c && c.id ? (location.hash = `#/clients/${c.id}`) : list.reload())) }, t('new_client'))),
    list.root,
  );
}

async function options(path, label) {
  try {
    const data = await get(path, { per_page: 100 });
    return ((data && data.items) || []).map((x) => [x.id, label(x)]);
  } catch {
    return [];
  }
}

function deadlineCell(dl) {
  const days = typeof dl.days_left === 'number' ? dl.days_left : daysLeft(dl.expiration_date);
  const u = dl.status === 'active' || dl.status === 'expired' || !dl.status ? urgency(days) : 'ok';
  const text = days === null ? '—' : days < 0 ? t('days_overdue', { n: -days }) : t('days_n', { n: days });
  return h('span', { class: `urgency urgency-${u}`, 'data-urgency': u }, text);
}

function renewDialog(dl, done) {
  openDialog(t('renew_title'), (close) =>
    formView({
      submitLabel: t('renew'),
      onCancel: close,
      fields: [{ name: 'expiration_date', label: t('new_date'), type: 'date', required: true }],
      onSubmit: async (v) => {
        await post(`/api/deadlines/${dl.id}/renew`, { expiration_date: v.expiration_date });
        close();
        toast(t('saved'));
        done();
      },
    }).form,
  );
}

const typeName = (dl) => pick(dl, `deadline_type_name_${getLang()}`, 'deadline_type_name_ru') || dl.deadline_type_code || `#${dl.deadline_type_id}`;

async function deadlineDialog(clientId, registers, done) {
  const types = await options('/api/deadline-types', (x) => (getLang() === 'en' ? x.name_en : x.name_ru) || x.code);
  openDialog(t('new_deadline'), (close) =>
    formView({
      submitLabel: t('create'),
      onCancel: close,
      fields: [
        { name: 'deadline_type_id', label: t('deadline_type'), type: 'select', numeric: true, required: true, options: [['', '—'], ...types] },
        { name: 'cash_register_id', label: t('cash_register'), type: 'select', numeric: true, options: [['', t('none')], ...registers.map((r) => [r.id, `${r.model} · ${r.serial_number}`])] },
        { name: 'expiration_date', label: t('expiration_date'), type: 'date', required: true },
        { name: 'notes', label: t('notes'), type: 'textarea', maxlength: 2000 },
      ],
      onSubmit: async (v) => {
        await post('/api/deadlines', { ...v, client_id: clientId });
        close();
        toast(t('saved'));
        done();
      },
    }).form,
  );
}

async function cashRegisterDialog(clientId, done) {
  const ofds = await options('/api/ofd-providers', (x) => x.name);
  openDialog(t('new_cash_register'), (close) =>
    formView({
      submitLabel: t('create'),
      onCancel: close,
      fields: [
        { name: 'model', label: t('model'), required: true, maxlength: 255 },
        { name: 'serial_number', label: t('serial_number'), required: true, maxlength: 100 },
        { name: 'registration_number', label: t('registration_number'), maxlength: 100 },
        { name: 'fiscal_drive_number', label: t('fiscal_drive_number'), maxlength: 100 },
        { name: 'ofd_provider_id', label: t('ofd_provider'), type: 'select', numeric: true, options: [['', t('none')], ...ofds] },
        { name: 'address', label: t('address'), maxlength: 500 },
      ],
      onSubmit: async (v) => {
        await post('/api/cash-registers', { ...v, client_id: clientId });
        close();
        toast(t('saved'));
        done();
      },
    }).form,
  );
}

function inviteDialog(clientId) {
  const btn = document.activeElement;
  post(`/api/clients/${clientId}/invites`)
    .then((inv) => {
      openDialog(t('invite_title'), () => {
        const input = h('input', { id: 'invite-link', type: 'text', readonly: true, value: inv.link });
        const copyBtn = h('button', { type: 'button', class: 'btn', id: 'copy-invite' }, t('copy'));
        copyBtn.addEventListener('click', async () => {
          input.select();
          try {
            await navigator.clipboard.writeText(inv.link);
          } catch {
            document.execCommand('copy');
          }
          copyBtn.textContent = t('copied');
        });
        const qr = inv.link ? qrSvg(inv.link, t('invite_qr_label')) : null;
        return [
          h('p', {}, t('invite_hint')),
          h('label', { for: 'invite-link' }, t('invite_link')),
          h('div', { class: 'copy-row' }, input, copyBtn),
          qr ? h('figure', { class: 'qr-figure', id: 'invite-qr' }, qr, h('figcaption', { class: 'muted' }, t('invite_qr_hint'))) : null,
          h('p', { class: 'muted' }, t('invite_expires', { d: d(inv.expires_at) })),
        ];
      });
    })
    .catch((err) => {
      toast(err.message, 'error');
      if (btn) btn.focus();
    });
}

export function clientPage(id) {
  return h(
    'section',
    { class: 'page page-client' },
    loadInto(
      () => get(`/api/clients/${id}`),
      (data, reload) => {
        const c = data.client || data;
        const registers = data.cash_registers || c.cash_registers || [];
        const deadlines = data.deadlines || c.deadlines || [];
        const contacts = data.contacts || c.contacts || [];
        const toggle = async () => {
          if (c.is_active !== false && !window.confirm(t('confirm_deactivate', { name: c.name }))) return;
          try {
            const body = {};
            for (const f of ['name', 'inn', 'contact_person', 'phone', 'email', 'address', 'notes']) body[f] = c[f] ?? null;
            await put(`/api/clients/${c.id}`, { ...body, is_active: c.is_active === false });
            toast(t('saved'));
            reload();
          } catch (err) {
            toast(err.message, 'error');
          }
        };
        const rowsTable = (cols, items, attrs) =>
          items.length
            ? h(
                'div',
                { class: 'table-wrap' },
                h('table', { class: 'table' }, h('thead', {}, h('tr', {}, cols.map(([label]) => h('th', { scope: 'col' }, label)))), h('tbody', {}, items.map((x) => h('tr', attrs ? attrs(x) : {}, cols.map(([label, f]) => h('td', { 'data-label': label }, f(x) ?? '—')))))),
              )
            : emptyState();
        return h(
          'div',
          {},
          pageHead(
            c.name,
            h('button', { type: 'button', class: 'btn btn-primary', id: 'create-invite', onclick: () => inviteDialog(c.id) }, t('create_invite')),
            h('button', { type: 'button', class: 'btn', id: 'edit-client', onclick: () => clientDialog(c, reload) }, t('edit')),
            h('button', { type: 'button', class: 'btn btn-danger', id: 'toggle-client', onclick: toggle }, c.is_active === false ? t('activate') : t('deactivate')),
          ),
          h(
            'dl',
            { class: 'props card' },
            [
              [t('inn'), c.inn],
              [t('contact_person'), c.contact_person],
              [t('phone'), c.phone],
              [t('email'), c.email],
              [t('address'), c.address],
              [t('notes'), c.notes],
              [t('active'), c.is_active === false ? t('no') : t('yes')],
            ].map(([k, v]) => [h('dt', {}, k), h('dd', {}, v || '—')]),
          ),
          h(
            'section',
            { class: 'card' },
            h('div', { class: 'card-head' }, h('h2', {}, t('cash_registers')), h('button', { type: 'button', class: 'btn', id: 'new-cash-register', onclick: () => cashRegisterDialog(c.id, reload) }, t('new_cash_register'))),
            rowsTable(
              [
                [t('model'), (r) => r.model],
                [t('serial_number'), (r) => r.serial_number],
                [t('registration_number'), (r) => r.registration_number],
                [t('fiscal_drive_number'), (r) => r.fiscal_drive_number],
                [t('ofd_provider'), (r) => pick(r, 'ofd_provider_name', 'ofd_provider.name')],
              ],
              registers,
              (r) => ({ 'data-cash-register-id': r.id }),
            ),
          ),
          h(
            'section',
            { class: 'card' },
            h('div', { class: 'card-head' }, h('h2', {}, t('deadlines_title')), h('button', { type: 'button', class: 'btn', id: 'new-deadline', onclick: () => deadlineDialog(c.id, registers, reload) }, t('new_deadline'))),
            rowsTable(
              [
                [t('deadline_type'), typeName],
                [t('cash_register'), (x) => (x.cash_register_id ? (registers.find((r) => r.id === x.cash_register_id) || {}).serial_number || `#${x.cash_register_id}` : null)],
                [t('expiration_date'), (x) => d(x.expiration_date)],
                [t('days_left'), deadlineCell],
                [t('status'), (x) => badge('dst_', x.status, tMaybe)],
                [t('actions'), (x) => h('button', { type: 'button', class: 'btn btn-small', onclick: () => renewDialog(x, reload) }, t('renew'))],
              ],
              deadlines,
              (x) => ({ 'data-deadline-id': x.id }),
            ),
          ),
          h(
            'section',
            { class: 'card' },
            h('h2', {}, t('contacts')),
            rowsTable(
              [
                [t('name'), (x) => x.name],
                [t('telegram_id'), (x) => String(x.telegram_id)],
                [t('notify'), (x) => (x.notify ? t('yes') : t('no'))],
                [t('active'), (x) => (x.is_active === false ? t('no') : t('yes'))],
              ],
              contacts,
            ),
          ),
        );
      },
    ),
  );
}

// ------------------------------------------------------------------------------ deadlines

export function deadlinesPage() {
  const box = h('section', { class: 'page page-deadlines' }, pageHead(t('deadlines_title'), exportLinks('deadlines')));
  options('/api/deadline-types', (x) => (getLang() === 'en' ? x.name_en : x.name_ru) || x.code).then((types) => {
    const list = listView({
      path: '/api/deadlines',
      defaultSort: 'expiration_date',
      columns: [
        { key: 'client', label: t('client'), render: (x) => link(`#/clients/${x.client_id}`, pick(x, 'client_name', 'client.name') || `#${x.client_id}`) },
        { key: 'type', label: t('deadline_type'), render: typeName },
        { key: 'expiration_date', label: t('expiration_date'), sort: 'expiration_date', render: (x) => d(x.expiration_date) },
        { key: 'days', label: t('days_left'), render: deadlineCell },
        { key: 'status', label: t('status'), sort: 'status', render: (x) => badge('dst_', x.status, tMaybe) },
        { key: 'actions', label: t('actions'), render: (x, reload) => h('button', { type: 'button', class: 'btn btn-small', onclick: () => renewDialog(x, reload) }, t('renew')) },
      ],
      rowAttrs: (x) => ({ 'data-deadline-id': x.id }),
      filters: [
        { name: 'client_id', label: t('client'), type: 'number' },
        { name: 'status', label: t('status'), type: 'select', options: ['active', 'expired', 'closed'].map((s) => [s, t(`dst_${s}`)]) },
        { name: 'type_id', label: t('deadline_type'), type: 'select', options: types },
        { name: 'expiring_within', label: t('expiring_within'), type: 'number' },
        { name: 'overdue', label: t('overdue_only'), type: 'checkbox' },
      ],
    });
    box.append(list.root);
  });
  return box;
}

// ------------------------------------------------------------------------------ notifications

export function notificationsPage() {
  const list = listView({
    path: '/api/notifications',
    defaultSort: '-created_at',
    columns: [
      { key: 'created_at', label: t('created'), sort: 'created_at', render: (x) => d(x.created_at) },
      { key: 'deadline', label: t('deadline'), render: (x) => `${typeName(x)} · ${d(x.expiration_date)}` },
      { key: 'client', label: t('client'), render: (x) => (x.client_id ? link(`#/clients/${x.client_id}`, x.client_name) : '—') },
      { key: 'contact', label: t('contact'), render: (x) => pick(x, 'contact_name', 'contact.name') || `#${x.contact_id}` },
      { key: 'days_before', label: t('days_before') },
      { key: 'status', label: t('status'), sort: 'status', render: (x) => badge('nst_', x.status, tMaybe) },
      { key: 'attempts', label: t('attempts') },
      { key: 'last_error', label: t('last_error'), class: 'wrap', render: (x) => (x.last_error ? h('span', { class: 'error-text' }, x.last_error) : null) },
      { key: 'sent_at', label: t('sent_at'), sort: 'sent_at', render: (x) => d(x.sent_at) },
    ],
    filters: [
      { name: 'status', label: t('status'), type: 'select', options: ['sent', 'failed', 'pending'].map((s) => [s, t(`nst_${s}`)]) },
      { name: 'from', label: t('period_from'), type: 'date' },
      { name: 'to', label: t('period_to'), type: 'date' },
    ],
  });
  return h('section', { class: 'page page-notifications' }, pageHead(t('notifications_title'), exportLinks('reminders')), list.root);
}

// ------------------------------------------------------------------------------ users / administrators

function userDialog(user, done) {
  const roles = ['operator', 'admin'].map((r) => [r, t(`role_${r}`)]);
  const fields = user
    ? [
        { name: 'name', label: t('name'), maxlength: 255, value: user.name },
        { name: 'role', label: t('role'), type: 'select', options: roles, value: user.role },
        { name: 'is_active', label: t('active'), type: 'checkbox', value: user.is_active !== false },
      ]
    : [
        { name: 'email', label: t('email'), type: 'email', required: true, maxlength: 255 },
        { name: 'name', label: t('name'), maxlength: 255 },
        { name: 'role', label: t('role'), type: 'select', options: roles, value: 'operator' },
        { name: 'password', label: t('password'), type: 'password', required: true, maxlength: 200, autocomplete: 'new-password' },
      ];
  openDialog(user ? t('edit') : t('new_user'), (close) =>
    formView({
      fields,
      submitLabel: user ? t('save') : t('create'),
      onCancel: close,
      onSubmit: async (v) => {
        if (user) await patch(`/api/users/${user.id}`, v);
        else await post('/api/users', v);
        close();
        toast(t('saved'));
        done();
      },
    }).form,
  );
}

export function usersPage(me) {
  let list;
  list = listView({
    path: '/api/users',
    defaultSort: 'email',
    columns: [
      { key: 'email', label: t('email'), sort: 'email', render: (u) => [u.email, me && me.id === u.id ? ` ${t('you')}` : ''] },
      { key: 'name', label: t('name'), sort: 'name' },
      { key: 'role', label: t('role'), sort: 'role', render: (u) => badge('role_', u.role, tMaybe) },
      { key: 'is_active', label: t('active'), render: (u) => (u.is_active === false ? t('no') : t('yes')) },
      { key: 'last_login_at', label: t('last_login'), sort: 'last_login_at', render: (u) => d(u.last_login_at) },
      {
        key: 'actions',
        label: t('actions'),
        render: (u) =>
          h(
            'div',
            { class: 'row-actions' },
            h('button', { type: 'button', class: 'btn btn-small', onclick: () => userDialog(u, () => list.reload()) }, t('edit')),
            me && me.id === u.id ? null : h('button', { type: 'button', class: 'btn btn-small btn-reset', 'data-action': 'reset-password', onclick: () => resetPassword(u, () => list.reload()) }, t('reset_password')),
          ),
      },
    ],
    rowAttrs: (u) => ({ 'data-user-id': u.id, 'data-email': u.email }),
    filters: [{ name: 'q', label: t('search'), type: 'search' }],
  });
  return h('section', { class: 'page page-users' }, pageHead(t('users_title'), h('button', { type: 'button', class: 'btn btn-primary', id: 'new-user', onclick: () => userDialog(null, () => list.reload()) }, t('new_user'))), list.root);
}

export function adminsPage() {
  let list;
  const create = () =>
    openDialog(t('new_admin'), (close) =>
      formView({
        submitLabel: t('create'),
        onCancel: close,
        fields: [
          { name: 'telegram_id', label: t('telegram_id'), type: 'number', required: true, validate: (v) => (Number.isInteger(v) && v > 0 ? null : t('invalid_number')) },
          { name: 'name', label: t('name'), maxlength: 255 },
        ],
        onSubmit: async (v) => {
          await post('/api/administrators', v);
          close();
          toast(t('saved'));
          list.reload();
        },
      }).form,
    );
  const toggle = async (a) => {
    try {
      await patch(`/api/administrators/${a.id}`, { is_active: a.is_active === false });
      list.reload();
    } catch (err) {
      toast(err.message, 'error');
    }
  };
  list = listView({
    path: '/api/administrators',
    defaultSort: 'name',
    columns: [
      { key: 'telegram_id', label: t('telegram_id'), sort: 'telegram_id', render: (a) => String(a.telegram_id) },
      { key: 'name', label: t('name'), sort: 'name' },
      { key: 'username', label: t('username'), render: (a) => (a.username ? `@${a.username}` : null) },
      { key: 'is_active', label: t('active'), render: (a) => (a.is_active === false ? t('no') : t('yes')) },
      { key: 'actions', label: t('actions'), render: (a) => h('button', { type: 'button', class: 'btn btn-small', onclick: () => toggle(a) }, a.is_active === false ? t('activate') : t('deactivate')) },
    ],
  });
  return h('section', { class: 'page page-admins' }, pageHead(t('admins_title'), h('button', { type: 'button', class: 'btn btn-primary', id: 'new-admin', onclick: create }, t('new_admin'))), list.root);
}
