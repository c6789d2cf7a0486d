// The shell: session, hash routing, navigation, language switch, busy indicator.

import { api, onBusy, onUnauthorized, post } from './api.js';
import { clear, h } from './dom.js';
import { getLang, setLang, t } from './i18n.js';
import { passwordPage } from './account.js';
import { failedUpdatesPage } from './failed.js';
import { outboxPage } from './outbox.js';
import { auditPage } from './audit.js';
import { importPage } from './import.js';
import * as pages from './pages.js';
import { errorState, loadingState } from './ui.js';

let me = null;
const main = document.getElementById('main');
const nav = document.getElementById('nav');
const userBox = document.getElementById('user');
const langBtn = document.getElementById('lang');
const busy = document.getElementById('busy');
const menuBtn = document.getElementById('menu-toggle');

const NAV = [
  ['#/', 'nav_overview'],
  ['#/requests', 'nav_requests'],
  ['#/clients', 'nav_clients'],
  ['#/deadlines', 'nav_deadlines'],
  ['#/notifications', 'nav_notifications'],
  ['#/users', 'nav_users', 'admin'],
  ['#/administrators', 'nav_admins', 'admin'],
  ['#/failed-updates', 'nav_failed', 'admin'],
  ['#/outbox', 'nav_outbox', 'admin'],
  ['#/audit', 'nav_audit', 'admin'],
  ['#/import', 'nav_import', 'admin'],
];

const isAdmin = () => me && me.role === 'admin';

function renderChrome() {
  document.title = t('app_title');
  document.getElementById('skip').textContent = t('skip');
  busy.textContent = t('busy');
  langBtn.textContent = t('lang_switch');
  langBtn.setAttribute('aria-label', t('lang_switch_label'));
  menuBtn.textContent = t('menu');
  clear(nav);
  clear(userBox);
  if (!me) {
    nav.hidden = true;
    menuBtn.hidden = true;
    return;
  }
  nav.hidden = false;
  menuBtn.hidden = false;
  const current = location.hash.split('/').slice(0, 2).join('/') || '#/';
  for (const [href, key, role] of NAV) {
    if (role === 'admin' && !isAdmin()) continue;
    const active = href === current || (href === '#/' && (current === '#' || current === ''));
    nav.append(h('a', { href, id: `nav-${key}`, class: active ? 'active' : null, 'aria-current': active ? 'page' : null }, t(key)));
  }
  userBox.append(
    h('a', { class: 'user-email', id: 'user-email', href: '#/password', title: t('change_password') }, me.email || ''),
    h('button', { type: 'button', class: 'btn btn-ghost', id: 'logout', onclick: logout }, t('logout')),
  );
}

async function logout() {
  try {
    await post('/api/auth/logout');
  } catch {
    // the session is dropped below either way
  }
  me = null;
  location.hash = '#/login';
  route();
}

function show(node) {
  clear(main).append(node);
  document.body.classList.remove('menu-open');
  menuBtn.setAttribute('aria-expanded', 'false');
  const heading = main.querySelector('h1');
  if (heading && document.activeElement !== document.body) heading.focus({ preventScroll: true });
}

function route() {
  renderChrome();
  const hash = location.hash || '#/';
  const parts = hash.replace(/^#\/?/, '').split('/').filter(Boolean);
  if (!me) {
    show(
      pages.loginPage((user) => {
        me = user;
        if (!me) {
          checkSession();
          return;
        }
        location.hash = '#/';
        route();
      }),
    );
    return;
  }
  if (parts[0] === 'login') {
    location.hash = '#/';
    return;
  }
  if (me.must_change_password || parts[0] === 'password') {
    // After an administrator's reset nothing else works until a new password is chosen.
    show(
      passwordPage(me, (user) => {
        me = user || { ...me, must_change_password: false };
        if (location.hash === '#/password') location.hash = '#/';
        else route();
      }),
    );
    return;
  }
  const [section, arg] = parts;
  let node;
  switch (section) {
    case undefined:
      node = pages.overviewPage();
      break;
    case 'requests':
      node = arg && arg !== 'history' ? pages.requestPage(arg) : pages.requestsPage(arg);
      break;
    case 'clients':
      node = arg ? pages.clientPage(arg) : pages.clientsPage();
      break;
    case 'deadlines':
      node = pages.deadlinesPage();
      break;
    case 'notifications':
      node = pages.notificationsPage();
      break;
    case 'users':
      node = isAdmin() ? pages.usersPage(me) : forbidden();
      break;
    case 'administrators':
      node = isAdmin() ? pages.adminsPage() : forbidden();
      break;
    case 'failed-updates':
      node = isAdmin() ? failedUpdatesPage() : forbidden();
      break;
    case 'outbox':
      node = isAdmin() ? outboxPage() : forbidden();
      break;
    case 'audit':
      node = isAdmin() ? auditPage() : forbidden();
      break;
    case 'import':
      node = isAdmin() ? importPage() : forbidden();
      break;
    default:
      node = h('section', { class: 'page' }, h('h1', { tabindex: '-1' }, t('not_found')));
  }
  show(node);
}

function forbidden() {
  return h('section', { class: 'page page-forbidden' }, h('h1', { tabindex: '-1' }, t('error_forbidden')));
}

async function checkSession() {
  clear(main).append(loadingState());
  try {
    const res = await api('GET', '/api/auth/me', { quiet401: true });
    me = (res && (res.user || res)) || null;
  } catch (err) {
    me = null;
    if (err.status !== 401) {
      clear(main).append(errorState(err, checkSession));
      return;
    }
  }
  route();
}

onUnauthorized(() => {
  if (me) {
    me = null;
    route();
  }
});
onBusy((on) => {
  busy.hidden = !on;
  document.body.setAttribute('aria-busy', on ? 'true' : 'false');
});
langBtn.addEventListener('click', () => {
  setLang(getLang() === 'ru' ? 'en' : 'ru');
  route();
});
menuBtn.addEventListener('click', () => {
  const open = document.body.classList.toggle('menu-open');
  menuBtn.setAttribute('aria-expanded', open ? 'true' : 'false');
});
window.addEventListener('hashchange', route);
document.addEventListener('keydown', (ev) => {
  if (ev.key === 'Escape' && document.body.classList.contains('menu-open')) menuBtn.click();
});

setLang(getLang());
checkSession();
