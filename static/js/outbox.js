// Outgoing messages that failed for good (admin only): why, to which chat, when; an
// administrator sends one again, or all of a chat's.

import { post } from './api.js';
import { fmtDate, h } from './dom.js';
import { getLang, t } from './i18n.js';
import { listView, toast } from './ui.js';

export const OUTBOX_TEXTS = {
  ru: {
    nav_outbox: 'Недоставленные',
    outbox_title: 'Недоставленные сообщения',
    outbox_hint: 'Сообщения бота, которые Telegram не принял (например, чат не найден или бот заблокирован). Когда причина устранена, их можно отправить снова: сообщение встанет в очередь своего чата раньше тех, что поставлены после него.',
    outbox_empty: 'Недоставленных сообщений нет.',
    outbox_failed_at: 'Когда',
    outbox_chat: 'Чат',
    outbox_kind: 'Вид',
    outbox_text: 'Текст',
    outbox_error: 'Ошибка',
    outbox_actions: 'Действия',
    outbox_replay: 'Отправить снова',
    outbox_replay_chat: 'Весь чат',
    outbox_replay_chat_title: 'Отправить снова все недоставленные сообщения чата {chat}',
    outbox_replayed: 'Поставлено в очередь: {n}',
    outbox_not_replayable: 'нельзя повторить',
    audit_e_outgoing_message: 'Исходящее сообщение',
    audit_e_chat: 'Чат Telegram',
    'audit_a_outbox.replayed': 'Повторная отправка сообщения',
    'audit_a_outbox.chat_replayed': 'Повторная отправка сообщений чата',
  },
  en: {
    nav_outbox: 'Undelivered',
    outbox_title: 'Undelivered messages',
    outbox_hint: 'Messages of the bot that Telegram refused (the chat was not found, the bot was blocked, …). Once the cause is gone they can be sent again: a message goes back in its chat’s queue ahead of those queued after it.',
    outbox_empty: 'No undelivered messages.',
    outbox_failed_at: 'When',
    outbox_chat: 'Chat',
    outbox_kind: 'Kind',
    outbox_text: 'Text',
    outbox_error: 'Error',
    outbox_actions: 'Actions',
    outbox_replay: 'Send again',
    outbox_replay_chat: 'Whole chat',
    outbox_replay_chat_title: 'Send all undelivered messages of chat {chat} again',
    outbox_replayed: 'Queued again: {n}',
    outbox_not_replayable: 'cannot be sent again',
    audit_e_outgoing_message: 'Outgoing message',
    audit_e_chat: 'Telegram chat',
    'audit_a_outbox.replayed': 'Message sent again',
    'audit_a_outbox.chat_replayed': 'Chat’s messages sent again',
  },
};

async function replay(path, reload) {
  try {
    const res = await post(path);
    toast(t('outbox_replayed', { n: res.replayed }));
  } catch (err) {
    toast(err.message, 'error');
  }
  reload();
}

function actions(m, reload) {
  if (!m.can_replay) return h('span', { class: 'muted' }, t('outbox_not_replayable'));
  return h(
    'div',
    { class: 'row-actions' },
    h('button', { type: 'button', class: 'btn btn-primary', 'data-replay': m.id, onclick: () => replay(`/api/outbox/failed/${m.id}/replay`, reload) }, t('outbox_replay')),
    h(
      'button',
      {
        type: 'button',
        class: 'btn',
        'data-replay-chat': m.chat_id,
        title: t('outbox_replay_chat_title', { chat: m.chat_id }),
        onclick: () => replay(`/api/outbox/chats/${m.chat_id}/replay`, reload),
      },
      t('outbox_replay_chat'),
    ),
  );
}

export function outboxPage() {
  const list = listView({
    path: '/api/outbox/failed',
    defaultSort: '-failed_at',
    caption: t('outbox_title'),
    emptyText: t('outbox_empty'),
    columns: [
      { key: 'failed_at', label: t('outbox_failed_at'), sort: 'failed_at', render: (m) => fmtDate(m.failed_at || m.created_at, getLang()) },
      { key: 'chat_id', label: t('outbox_chat'), sort: 'chat_id', render: (m) => String(m.chat_id) },
      { key: 'kind', label: t('outbox_kind') },
      { key: 'text', label: t('outbox_text'), class: 'wrap' },
      { key: 'error', label: t('outbox_error'), class: 'wrap', render: (m) => h('span', { class: 'error-text' }, m.error || '—') },
      { key: 'actions', label: t('outbox_actions'), render: actions },
    ],
    rowAttrs: (m) => ({ 'data-outbox-id': m.id }),
    filters: [{ name: 'chat_id', label: t('outbox_chat'), type: 'number' }],
  });
  return h(
    'section',
    { class: 'page page-outbox' },
    h('div', { class: 'page-head' }, h('h1', { tabindex: '-1' }, t('outbox_title'))),
    h('p', { class: 'hint' }, t('outbox_hint')),
    list.root,
  );
}
