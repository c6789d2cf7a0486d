# kktbot — тексты бота на русском (язык по умолчанию).

start-greeting =
    Здравствуйте, { $name }!
    Я бот сервисной компании по обслуживанию ККТ. Через меня можно подать заявку (замена ФН, регистрация ККТ, продление ОФД, ремонт) и получать напоминания о сроках.

    Чтобы получать напоминания, подключитесь к своей организации: откройте ссылку-приглашение от менеджера или отправьте ИНН организации (10 или 12 цифр).
    /help — все команды.
start-linked = Готово: вы подключены к организации «{ $client }» (ИНН { $inn }). Теперь вы будете получать напоминания о сроках.
start-already-linked = Вы уже подключены к организации «{ $client }» (ИНН { $inn }).
start-invite-invalid = Ссылка-приглашение недействительна или устарела. Попросите менеджера прислать новую.
help =
    Команды:
    /request — подать заявку
    /myrequests — мои заявки
    /list — сроки моей организации
    /today — сроки на сегодня
    /lang — язык / language
    /cancel — выйти из текущего действия
    /help — эта справка

    Чтобы подключиться к организации, отправьте её ИНН.
help-admin =
    Команды администратора:
    /pending — заявки, ждущие решения
    /approve N — одобрить заявку №N
    /reject N причина — отклонить заявку №N
    /ask N вопрос — задать клиенту вопрос по заявке №N
    /reopen N — снова открыть закрытую заявку №N
    /mine — ваши открытые заявки
    /note N текст — внутренняя заметка к заявке №N (клиент её не видит)
    /search название или ИНН — найти клиента
    /export — выгрузка сроков, клиентов, заявок или напоминаний (CSV или XLSX)
    На сообщение с заявкой можно ответить «Одобрить» или «Отклонить причина»; любой другой ответ на сообщение о заявке уйдёт клиенту.
cancel-done = Действие отменено.
cancel-nothing = Сейчас нечего отменять. /help — список команд.
lang-choose = Выберите язык / Choose your language:
lang-set = Готово: бот будет писать вам по-русски.
unknown-input = Я не понял сообщение. /request — подать заявку, /help — все команды.
unknown-command = Такой команды нет. /help — все команды.
dialog-expired = Диалог устарел. Начните заново: /request.
update-failed = Не удалось обработать это сообщение. Попробуйте написать иначе или /help — все команды.
callback-outdated = Эта кнопка устарела.
not-admin = Эта команда доступна только администраторам.

inn-invalid = { $inn } — это не ИНН: не сходится контрольная сумма. Проверьте цифры.
inn-link-requested = Запрос на подключение к организации с ИНН { $inn } отправлен администраторам (заявка №{ $number }). Мы сообщим о решении.
inn-link-pending = Запрос на подключение к ИНН { $inn } уже ждёт решения (заявка №{ $number }).
inn-link-approved = Заявка №{ $number } одобрена: вы подключены к организации «{ $client }» (ИНН { $inn }).

request-choose-type = Выберите тип заявки:
request-no-types = Сейчас нельзя подать заявку: не настроены типы заявок. Свяжитесь с менеджером.
request-ask-description = Тип: { $type }. Опишите, что нужно сделать (до 2000 символов). Можно отправить фото с подписью.
request-description-too-long = Описание слишком длинное: { $length } символов, а можно не больше 2000. Сократите и отправьте снова.
request-description-empty = Описание не может быть пустым. Опишите, что нужно сделать.
request-photo-needs-caption = Добавьте к фото подпись с описанием и отправьте снова.
request-description-wrong-kind = Нужен текст или фото с подписью. Опишите, что нужно сделать.
request-summary =
    Проверьте заявку:
    Тип: { $type }
    Описание: { $description }
request-summary-photo = Фото приложено.
request-submitted = Заявка №{ $number } принята. Мы сообщим о решении.
request-cancelled = Заявка не отправлена.
request-confirm-first = Нажмите «Отправить» или «Отменить» под сводкой заявки.

button-submit = Отправить
button-cancel = Отменить
button-approve = ✅ Одобрить
button-reject = ❌ Отклонить
button-skip = Пропустить
button-start = 🔧 Взять в работу
button-done = 🏁 Выполнена

admin-request =
    Заявка №{ $number } — { $type }
    От: { $requester }
    Клиент: { $client }

    { $description }
admin-request-photo = Фото к заявке №{ $number }
admin-link-request =
    Заявка №{ $number } — подключение к организации
    От: { $requester }
    ИНН: { $inn } ({ $client })
group-topic = №{ $number } · { $title }
admin-client-unknown = не указан
admin-client-not-found = организации с таким ИНН нет в базе
admin-outcome-approved = ✅ Одобрена: { $admin }, { $time }
admin-outcome-rejected = ❌ Отклонена: { $admin }, { $time }
admin-outcome-reason = Причина: { $reason }
admin-outcome-cancelled = Отменена клиентом, { $time }
admin-outcome-started = 🔧 В работе: { $admin }, { $time }
admin-outcome-asked = ❓ Вопрос клиенту: { $admin }, { $time }
admin-outcome-done = 🏁 Выполнена: { $admin }, { $time }
admin-outcome-reopened = ↩️ Открыта снова: { $admin }, { $time }
admin-outcome-comment = «{ $comment }»
admin-reject-ask-reason = Напишите причину отклонения заявки №{ $number } или нажмите «Пропустить».
admin-decided = Готово: заявка №{ $number } — { $status }.
admin-already-decided = Заявка №{ $number } уже { $status }: { $admin }.
admin-request-not-found = Заявки №{ $number } нет.
admin-command-usage = Использование: /approve N или /reject N причина.
admin-link-client-missing = Нельзя одобрить: организации с ИНН { $inn } нет в базе. Сначала добавьте клиента.
admin-action-refused = Заявка №{ $number } сейчас { $status }: это действие к ней не относится.
admin-link-no-work = Заявка на подключение к организации после решения закрыта: брать в работу нечего.
admin-comment-too-long = Слишком длинный текст: не больше { $max } символов.
admin-ask-usage = Использование: /ask N вопрос клиенту.
admin-reopen-usage = Использование: /reopen N или /reopen N комментарий.

status-pending = ждёт решения
status-approved = одобрена
status-rejected = отклонена
status-cancelled = отменена
status-in-progress = в работе
status-waiting-for-client = ждёт ответа клиента
status-done = выполнена

client-request-approved = Заявка №{ $number } одобрена.
client-request-rejected = Заявка №{ $number } отклонена.
client-request-rejected-reason = Заявка №{ $number } отклонена. Причина: { $reason }
client-request-started = Заявка №{ $number } взята в работу.
client-request-resumed = Работа по заявке №{ $number } продолжается.
client-request-question = Вопрос по заявке №{ $number }: { $question }
client-request-done = Заявка №{ $number } выполнена.
client-request-reopened = Заявка №{ $number } снова открыта.

admin-assignee = 👤 Исполнитель: { $name }
admin-done-overdue = ⚠️ Не выполнена в срок
assigned-to-you = 📌 Вам назначена заявка №{ $number }.
thread-comment-header = 💬 Заявка №{ $number } — { $author }:
thread-reply-header = 💬 Заявка №{ $number } — ответ:
decision-overdue = ⏰ Заявка №{ $number } ждёт решения дольше { $hours } ч.
done-overdue = ⚠️ Заявка №{ $number } не выполнена за { $hours } ч.

myrequests-empty = У вас пока нет заявок. /request — подать заявку.
myrequests-header = Ваши заявки:
myrequests-line = №{ $number } · { $type } · { $status } · { $date }
myrequests-reason = причина: { $reason }
button-cancel-request = Отменить №{ $number }
request-cancelled-by-client = Заявка №{ $number } отменена.
request-cannot-cancel = Заявку №{ $number } уже нельзя отменить: она { $status }.
pending-empty = Заявок, ждущих решения, нет.
pending-header = Ждут решения: { $count }.
mine-empty = У вас нет открытых заявок.
mine-header = Ваши открытые заявки: { $count }.
myrequests-assignee = исполнитель: { $name }
comment-sent = Комментарий к заявке №{ $number } передан.
comment-wrong-kind = Комментарий к заявке — это текст, фото или документ.
admin-reply-sent = Ответ по заявке №{ $number } отправлен клиенту.
admin-reply-wrong-kind = Ответ клиенту — это текст, фото или документ.
admin-note-saved = Заметка к заявке №{ $number } сохранена: клиент её не видит.
admin-note-usage = Использование: /note N текст заметки.

# Command menu (setMyCommands): short descriptions, 1–256 characters.
menu-start = Начало работы
menu-request = Подать заявку
menu-myrequests = Мои заявки
menu-lang = Язык / Language
menu-cancel = Отменить текущее действие
menu-help = Все команды
menu-pending = Заявки, ждущие решения
menu-approve = Одобрить заявку: /approve N
menu-reject = Отклонить заявку: /reject N причина
menu-ask = Вопрос клиенту: /ask N вопрос
menu-reopen = Открыть заявку снова: /reopen N
menu-mine = Мои открытые заявки
menu-note = Заметка к заявке: /note N текст

reminder =
    ⏰ { $type }: срок истекает { $date } — { $days ->
        [0] сегодня
        [one] остался { $days } день
        [few] осталось { $days } дня
       *[other] осталось { $days } дней
    }.
    Организация: { $client }{ $register }
reminder-register = , ККТ { $model } № { $serial }
summary-header = Сводка по срокам на { $date }
summary-due = Истекают в ближайшие 14 дней: { $count }
summary-overdue = Просрочено: { $count }
summary-run = Напоминаний поставлено в очередь: { $queued }. За сутки доставлено: { $sent }, не доставлено: { $failed }.
summary-line = { $date } · { $client } · { $type }{ $register }
summary-more = …и ещё { $count }

not-linked = Вы не подключены к организации. Откройте ссылку-приглашение от менеджера или отправьте ИНН организации.
list-header = Сроки «{ $client }» (ИНН { $inn }):
list-empty = У «{ $client }» нет открытых сроков.
deadline-left = { $days ->
        [0] сегодня
        [one] остался { $days } день
        [few] осталось { $days } дня
       *[other] осталось { $days } дней
    }
deadline-overdue = просрочен на { $days } дн.
today-empty = На сегодня ({ $date }) сроков нет.
today-header = Сроки на сегодня, { $date }: { $count }
search-usage = Использование: /search название или ИНН
search-empty = По запросу «{ $query }» ничего не найдено.
export-caption = Строк: { $count }
export-choose = Что выгрузить и в каком формате?
export-deadlines = Сроки
export-clients = Клиенты и ККТ
export-requests = Заявки
export-reminders = Напоминания
