// Accounts: changing one's own password (forced after an administrator's reset), and an
// administrator resetting another user's password to a one-time password shown once.

import { ApiError, post } from './api.js';
import { h } from './dom.js';
import { t } from './i18n.js';
import { formView, openDialog, toast } from './ui.js';

/** The password change page; `onChanged(user)` runs with the updated user. */
export function passwordPage(me, onChanged) {
  const forced = Boolean(me && me.must_change_password);
  const { form } = formView({
    className: 'password-form',
    submitLabel: t('change_password'),
    fields: [
      { name: 'current_password', label: t('current_password'), type: 'password', required: true, autocomplete: 'current-password' },
      { name: 'new_password', label: t('new_password'), type: 'password', required: true, autocomplete: 'new-password', validate: (v) => (v.length >= 10 ? null : t('too_short', { n: 10 })) },
      { name: 'repeat_password', label: t('repeat_password'), type: 'password', required: true, autocomplete: 'new-password' },
    ],
    onSubmit: async (v) => {
      if (v.new_password !== v.repeat_password) {
        throw new ApiError(422, { error: { message: t('passwords_differ'), details: { fields: [{ field: 'repeat_password', message: t('passwords_differ') }] } } });
      }
      const res = await post('/api/auth/password', { current_password: v.current_password, new_password: v.new_password });
      toast(t('password_changed'));
      onChanged(res && res.user);
    },
  });
  return h(
    'section',
    { class: 'page page-password card' },
    h('h1', { tabindex: '-1' }, t('password_title')),
    forced ? h('p', { class: 'notice', id: 'password-forced', role: 'alert' }, t('password_forced')) : null,
    form,
  );
}

/** Resets `user`'s password after a confirmation and shows the one-time password once. */
export async function resetPassword(user, done) {
  if (!window.confirm(t('confirm_reset', { email: user.email }))) return;
  let res;
  try {
    res = await post(`/api/users/${user.id}/reset-password`);
  } catch (err) {
    toast(err.message, 'error');
    return;
  }
  openDialog(t('reset_title'), () => [
    h('p', {}, t('reset_hint', { email: user.email })),
    h('input', { id: 'one-time-password', type: 'text', readonly: true, value: res.password, class: 'one-time' }),
  ]);
  done();
}
