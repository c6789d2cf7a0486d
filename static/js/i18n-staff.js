// The dashboard's texts for accounts, the audit log, import and export (merged into i18n.js).

export const STAFF = {
  ru: {
    // accounts
    password_title: 'Смена пароля',
    password_forced: 'Пароль был сброшен администратором. Придумайте новый, чтобы продолжить.',
    current_password: 'Текущий пароль',
    new_password: 'Новый пароль',
    repeat_password: 'Новый пароль ещё раз',
    passwords_differ: 'Пароли не совпадают',
    too_short: 'Не короче {n} символов',
    password_changed: 'Пароль изменён. Другие сеансы завершены.',
    change_password: 'Сменить пароль',
    reset_password: 'Сбросить пароль',
    confirm_reset: 'Сбросить пароль пользователя {email}? Все его сеансы завершатся.',
    reset_title: 'Одноразовый пароль',
    reset_hint: 'Передайте этот пароль пользователю {email}. Он показан только один раз; при входе пользователь задаст свой.',
  },
  en: {
    password_title: 'Change password',
    password_forced: 'An administrator reset your password. Choose a new one to continue.',
    current_password: 'Current password',
    new_password: 'New password',
    repeat_password: 'New password again',
    passwords_differ: 'The passwords differ',
    too_short: 'At least {n} characters',
    password_changed: 'Password changed. Your other sessions have ended.',
    change_password: 'Change password',
    reset_password: 'Reset password',
    confirm_reset: 'Reset the password of {email}? All their sessions end.',
    reset_title: 'One-time password',
    reset_hint: 'Give this password to {email}. It is shown only once; they choose their own at sign-in.',
  },
};
