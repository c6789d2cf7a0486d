// A request's work on its page: who it is assigned to (a dashboard user or a Telegram
// administrator), its photo, and its thread — the client's comments, the staff's replies and
// questions, internal notes — each with its delivery, and a form for a reply to the client or a
// note. Photos and files come through this server (it fetches them from Telegram), never from
// Telegram itself.

import { del, get, post, put } from './api.js';
import { fmtDate, h } from './dom.js';
import { getLang, t, tMaybe } from './i18n.js';
import { emptyState, formView, toast } from './ui.js';

const d = (v) => fmtDate(v, getLang());
const assigneeKey = (a) => (a ? `${a.kind}:${a.id}` : '');

/** The request's assignee, and a choice of anyone to assign it to (or nobody). */
export function assigneeCard(r, reload) {
  const select = h('select', { id: 'assignee-select', name: 'assignee', 'aria-label': t('assignee') }, h('option', { value: '' }, t('nobody')));
  get('/api/assignees')
    .then((people) => {
      for (const a of people || []) {
        select.append(h('option', { value: assigneeKey(a) }, `${a.name} · ${tMaybe(`assignee_${a.kind}`, a.kind)}`));
      }
      select.value = assigneeKey(r.assignee);
      select.dataset.loaded = 'true';
    })
    .catch((err) => toast(err.message, 'error'));
  const save = h('button', { type: 'button', class: 'btn', 'data-action': 'assign' }, t('assign'));
  save.addEventListener('click', async () => {
    save.disabled = true;
    try {
      if (select.value) {
        const [kind, id] = select.value.split(':');
        await put(`/api/requests/${r.id}/assignee`, { kind, id: Number(id) });
      } else {
        await del(`/api/requests/${r.id}/assignee`);
      }
      toast(t('assigned_msg', { n: r.number }));
    } catch (err) {
      toast(err.message, 'error');
    }
    reload();
  });
  return h(
    'section',
    { class: 'card assignee-card' },
    h('h2', {}, t('assignee')),
    h('p', { class: 'assignee-now' }, r.assignee ? r.assignee.name : t('nobody')),
    h('div', { class: 'row-actions' }, select, save),
  );
}

/** The photo the client filed the request with, if any. */
export function photoCard(r) {
  if (!r.photo_file_id) return null;
  return h(
    'section',
    { class: 'card photo-card' },
    h('h2', {}, t('photo')),
    h('img', { class: 'request-photo', src: `/api/requests/${r.id}/photo`, alt: t('photo_of', { n: r.number }) }),
  );
}

function attachment(a) {
  if (a.kind === 'photo' || (a.mime || '').startsWith('image/')) {
    return h('img', { class: 'thread-photo', src: a.url, alt: a.name || t('photo') });
  }
  return h('a', { class: 'thread-file', href: a.url, download: a.name || '' }, a.name || t('document'));
}

function threadItem(m) {
  const author = m.author_name || tMaybe(`author_${m.author_kind}`, m.author_kind);
  const chats = (m.deliveries || []).map((x) => `${x.chat_id}: ${tMaybe(`delivery_${x.status}`, x.status)}${x.error ? ` (${x.error})` : ''}`);
  return h(
    'li',
    { class: `msg msg-${m.kind}`, 'data-kind': m.kind, 'data-delivery': m.delivery, 'data-message-id': m.id },
    h(
      'div',
      { class: 'msg-head' },
      h('strong', {}, author),
      ` · ${tMaybe(`msg_${m.kind}`, m.kind)} · `,
      h('time', {}, d(m.created_at)),
      ' · ',
      h('span', { class: `delivery delivery-${m.delivery}`, title: chats.join('\n') }, tMaybe(`delivery_${m.delivery}`, m.delivery)),
    ),
    m.text ? h('p', { class: 'pre msg-text' }, m.text) : null,
    m.attachment ? attachment(m.attachment) : null,
  );
}

/** The conversation, oldest first, and a form for a reply to the client or an internal note. */
export function threadCard(r, thread, reload) {
  const { form } = formView({
    className: 'comment-form',
    submitLabel: t('send'),
    fields: [
      { name: 'kind', label: t('comment_kind'), type: 'select', options: [['reply', t('msg_reply')], ['note', t('msg_note')]], value: 'reply' },
      { name: 'text', label: t('comment_text'), type: 'textarea', required: true, maxlength: 4000, placeholder: t('comment_ph') },
    ],
    onSubmit: async (v) => {
      await post(`/api/requests/${r.id}/comments`, { kind: v.kind, text: v.text });
      toast(t(v.kind === 'note' ? 'noted_msg' : 'replied_msg', { n: r.number }));
      reload();
    },
  });
  return h(
    'section',
    { class: 'card thread-card' },
    h('h2', {}, t('thread')),
    thread.length ? h('ol', { class: 'thread' }, thread.map(threadItem)) : emptyState(t('thread_empty')),
    form,
  );
}
