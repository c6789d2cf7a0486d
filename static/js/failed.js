// The dead letters: Telegram updates that failed because of their own content (admin only).

import { fmtDate, h } from './dom.js';
import { getLang, t } from './i18n.js';
import { listView } from './ui.js';

export const FAILED_TEXTS = {
  ru: {
    nav_failed: 'Сбойные сообщения',
    failed_title: 'Сообщения, которые не удалось обработать',
    failed_hint: 'Сообщения из Telegram, которые не применились из-за своего содержимого. Пользователю сообщено об ошибке; повторно Telegram их не пришлёт.',
    failed_at: 'Когда',
    update_kind: 'Вид',
    telegram_user: 'Пользователь Telegram',
    failure: 'Ошибка',
    update_body: 'Сообщение',
  },
  en: {
    nav_failed: 'Failed updates',
    failed_title: 'Updates that could not be applied',
    failed_hint: 'Telegram updates that failed because of their own content. The user was told; Telegram will not send them again.',
    failed_at: 'When',
    update_kind: 'Kind',
    telegram_user: 'Telegram user',
    failure: 'Error',
    update_body: 'Update',
  },
};

export function failedUpdatesPage() {
  const list = listView({
    path: '/api/failed-updates',
    defaultSort: '-failed_at',
    columns: [
      { key: 'failed_at', label: t('failed_at'), sort: 'failed_at', render: (x) => fmtDate(x.failed_at, getLang()) },
      { key: 'kind', label: t('update_kind'), sort: 'kind' },
      { key: 'telegram_id', label: t('telegram_user'), render: (x) => (x.telegram_id == null ? '—' : String(x.telegram_id)) },
      { key: 'error', label: t('failure'), class: 'wrap', render: (x) => h('span', { class: 'error-text' }, x.error) },
      { key: 'body', label: t('update_body'), class: 'wrap', render: (x) => h('code', { class: 'json' }, x.body) },
    ],
  });
  return h(
    'section',
    { class: 'page page-failed' },
    h('div', { class: 'page-head' }, h('h1', { tabindex: '-1' }, t('failed_title'))),
    h('p', { class: 'hint' }, t('failed_hint')),
    list.root,
  );
}
