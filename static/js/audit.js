// The audit log page (admin role): who did what, when and from where, with the changed fields
// before → after, filtered by actor, entity, action and period.

import { fmtDate, h } from './dom.js';
import { getLang, t, tMaybe } from './i18n.js';
import { badge, listView } from './ui.js';

const ENTITIES = ['user', 'administrator', 'client', 'contact', 'cash_register', 'deadline', 'request', 'reminders', 'outgoing_message', 'chat', 'export', 'import'];
const ACTOR_KINDS = ['user', 'administrator', 'cli', 'anonymous'];

const show = (v) => (v === null || v === undefined || v === '' ? '—' : typeof v === 'object' ? JSON.stringify(v) : String(v));

/** `field: before → after` per changed field, or `key: value` per detail. */
function changes(record) {
  const c = record.changes;
  if (!c || typeof c !== 'object') return null;
  return h(
    'ul',
    { class: 'audit-changes' },
    Object.entries(c).map(([field, value]) =>
      h(
        'li',
        { 'data-field': field },
        h('span', { class: 'audit-field' }, `${field}: `),
        Array.isArray(value) && value.length === 2 ? `${show(value[0])} → ${show(value[1])}` : show(value),
      ),
    ),
  );
}

/** The action in words: its own text, or the entity's name and what was done to it. */
function action(r) {
  const own = tMaybe(`audit_a_${r.action}`, null);
  if (own) return own;
  const [entity, verb] = r.action.split('.');
  return verb ? `${tMaybe(`audit_e_${entity}`, entity)}: ${tMaybe(`audit_v_${verb}`, verb)}` : r.action;
}

function actor(r) {
  return [badge('audit_actor_', r.actor_kind, tMaybe), ' ', r.actor_name, r.actor_id != null ? ` #${r.actor_id}` : ''];
}

function origin(r) {
  if (r.source !== 'web') return tMaybe(`audit_source_${r.source}`, r.source);
  return h('span', { title: r.user_agent || '' }, r.ip || '—');
}

export function auditPage() {
  const list = listView({
    path: '/api/audit',
    caption: t('audit_title'),
    emptyText: t('audit_empty'),
    columns: [
      { key: 'at', label: t('audit_at'), render: (r) => fmtDate(r.at, getLang()) },
      { key: 'actor', label: t('audit_actor'), render: actor },
      { key: 'source', label: t('audit_source'), render: origin },
      { key: 'action', label: t('audit_action'), render: action },
      { key: 'entity', label: t('audit_entity'), render: (r) => [tMaybe(`audit_e_${r.entity}`, r.entity), r.entity_id ? ` #${r.entity_id}` : ''] },
      { key: 'changes', label: t('audit_changes'), class: 'wrap', render: changes },
    ],
    rowAttrs: (r) => ({ 'data-audit-id': r.id, 'data-action': r.action }),
    filters: [
      { name: 'actor_kind', label: t('audit_actor'), type: 'select', options: ACTOR_KINDS.map((k) => [k, t(`audit_actor_${k}`)]) },
      { name: 'actor_id', label: t('audit_actor_id'), type: 'number' },
      { name: 'entity', label: t('audit_entity'), type: 'select', options: ENTITIES.map((e) => [e, t(`audit_e_${e}`)]) },
      { name: 'action', label: t('audit_action'), placeholder: 'login, client.created…' },
      { name: 'from', label: t('period_from'), type: 'date' },
      { name: 'to', label: t('period_to'), type: 'date' },
    ],
  });
  return h('section', { class: 'page page-audit' }, h('div', { class: 'page-head' }, h('h1', { tabindex: '-1' }, t('audit_title'))), list.root);
}
