# kktbot — the bot's texts in English.

start-greeting =
    Hello, { $name }!
    I am the bot of a cash register (KKT) service company. Here you can file a request (fiscal drive replacement, registration, OFD renewal, repair) and receive deadline reminders.

    To receive reminders, link yourself to your company: open the invite link from your manager or send the company's INN (10 or 12 digits).
    /help — all commands.
start-linked = Done: you are linked to “{ $client }” (INN { $inn }). You will now receive deadline reminders.
start-already-linked = You are already linked to “{ $client }” (INN { $inn }).
start-invite-invalid = This invite link is invalid or has expired. Ask your manager for a new one.
help =
    Commands:
    /request — file a request
    /myrequests — my requests
    /list — my company's deadlines
    /today — deadlines due today
    /lang — language / язык
    /cancel — leave the current action
    /help — this help

    To link yourself to a company, send its INN.
help-admin =
    Administrator commands:
    /pending — requests waiting for a decision
    /approve N — approve request #N
    /reject N reason — reject request #N
    /ask N question — ask the client a question about request #N
    /reopen N — open closed request #N again
    /mine — your open requests
    /note N text — an internal note on request #N (the client does not see it)
    /search name or INN — find a client
    /export — deadlines, clients, requests or reminders as CSV or XLSX
    You can also reply to a request message with “Approve” or “Reject reason”; any other reply to a message about a request goes to the client.
cancel-done = Cancelled.
cancel-nothing = There is nothing to cancel. /help — all commands.
lang-choose = Выберите язык / Choose your language:
lang-set = Done: the bot will write to you in English.
unknown-input = I did not understand that. /request — file a request, /help — all commands.
unknown-command = There is no such command. /help — all commands.
dialog-expired = This conversation has expired. Please start again: /request.
update-failed = Something went wrong with that message and it was not applied. Please try again in other words, or /help — all commands.
callback-outdated = This button is outdated.
not-admin = This command is for administrators only.

inn-invalid = { $inn } is not a valid INN: its checksum does not match. Please check the digits.
inn-link-requested = Your request to link to the company with INN { $inn } was sent to the administrators (request #{ $number }). We will let you know the decision.
inn-link-pending = Your request to link to INN { $inn } is already waiting for a decision (request #{ $number }).
inn-link-approved = Request #{ $number } approved: you are linked to “{ $client }” (INN { $inn }).

request-choose-type = Choose the type of request:
request-no-types = Requests cannot be filed right now: no request types are set up. Please contact your manager.
request-ask-description = Type: { $type }. Describe what needs to be done (up to 2000 characters). You may send a photo with a caption.
request-description-too-long = The description is too long: { $length } characters, at most 2000 are allowed. Please shorten it and send it again.
request-description-empty = The description cannot be empty. Describe what needs to be done.
request-photo-needs-caption = Add a caption describing the problem to the photo and send it again.
request-description-wrong-kind = Please send text or a photo with a caption. Describe what needs to be done.
request-summary =
    Please check your request:
    Type: { $type }
    Description: { $description }
request-summary-photo = Photo attached.
request-submitted = Request #{ $number } received. We will let you know the decision.
request-cancelled = The request was not sent.
request-confirm-first = Press “Submit” or “Cancel” under the request summary.

button-submit = Submit
button-cancel = Cancel
button-approve = ✅ Approve
button-reject = ❌ Reject
button-skip = Skip
button-start = 🔧 Take
button-done = 🏁 Done

admin-request =
    Request #{ $number } — { $type }
    From: { $requester }
    Client: { $client }

    { $description }
admin-request-photo = Photo for request #{ $number }
admin-link-request =
    Request #{ $number } — link to a company
    From: { $requester }
    INN: { $inn } ({ $client })
group-topic = #{ $number } · { $title }
admin-client-unknown = not given
admin-client-not-found = no company with this INN in the database
admin-outcome-approved = ✅ Approved: { $admin }, { $time }
admin-outcome-rejected = ❌ Rejected: { $admin }, { $time }
admin-outcome-reason = Reason: { $reason }
admin-outcome-cancelled = Cancelled by the client, { $time }
admin-outcome-started = 🔧 In progress: { $admin }, { $time }
admin-outcome-asked = ❓ Question to the client: { $admin }, { $time }
admin-outcome-done = 🏁 Done: { $admin }, { $time }
admin-outcome-reopened = ↩️ Reopened: { $admin }, { $time }
admin-outcome-comment = “{ $comment }”
admin-reject-ask-reason = Write the reason for rejecting request #{ $number }, or press “Skip”.
admin-decided = Done: request #{ $number } is { $status }.
admin-already-decided = Request #{ $number } is already { $status }: { $admin }.
admin-request-not-found = There is no request #{ $number }.
admin-command-usage = Usage: /approve N or /reject N reason.
admin-link-client-missing = Cannot approve: there is no company with INN { $inn } in the database. Add the client first.
admin-action-refused = Request #{ $number } is { $status } now: this action does not apply to it.
admin-link-no-work = A request to link to a company is closed by its decision: there is no work to take.
admin-comment-too-long = The text is too long: at most { $max } characters.
admin-ask-usage = Usage: /ask N question for the client.
admin-reopen-usage = Usage: /reopen N or /reopen N comment.

status-pending = pending
status-approved = approved
status-rejected = rejected
status-cancelled = cancelled
status-in-progress = in progress
status-waiting-for-client = waiting for the client
status-done = done

client-request-approved = Request #{ $number } approved.
client-request-rejected = Request #{ $number } rejected.
client-request-rejected-reason = Request #{ $number } rejected. Reason: { $reason }
client-request-started = Request #{ $number } is in progress.
client-request-resumed = The work on request #{ $number } goes on.
client-request-question = A question about request #{ $number }: { $question }
client-request-done = Request #{ $number } is done.
client-request-reopened = Request #{ $number } is open again.

admin-assignee = 👤 Assignee: { $name }
admin-done-overdue = ⚠️ Not done in time
assigned-to-you = 📌 Request #{ $number } is assigned to you.
thread-comment-header = 💬 Request #{ $number } — { $author }:
thread-reply-header = 💬 Request #{ $number } — reply:
decision-overdue = ⏰ Request #{ $number } has waited for a decision over { $hours } h.
done-overdue = ⚠️ Request #{ $number } is not done within { $hours } h.

myrequests-empty = You have no requests yet. /request — file a request.
myrequests-header = Your requests:
myrequests-line = #{ $number } · { $type } · { $status } · { $date }
myrequests-reason = reason: { $reason }
button-cancel-request = Cancel #{ $number }
request-cancelled-by-client = Request #{ $number } cancelled.
request-cannot-cancel = Request #{ $number } can no longer be cancelled: it is { $status }.
pending-empty = No requests are waiting for a decision.
pending-header = Waiting for a decision: { $count }.
mine-empty = You have no open requests.
mine-header = Your open requests: { $count }.
myrequests-assignee = assignee: { $name }
comment-sent = Your comment on request #{ $number } was passed on.
comment-wrong-kind = A comment on a request is a text, a photo or a document.
admin-reply-sent = The reply on request #{ $number } was sent to the client.
admin-reply-wrong-kind = A reply to the client is a text, a photo or a document.
admin-note-saved = The note on request #{ $number } is saved: the client does not see it.
admin-note-usage = Usage: /note N note text.

# Command menu (setMyCommands): short descriptions, 1–256 characters.
menu-start = Start and introduction
menu-request = File a request
menu-myrequests = My requests
menu-lang = Language / Язык
menu-cancel = Leave the current action
menu-help = All commands
menu-pending = Requests waiting for a decision
menu-approve = Approve a request: /approve N
menu-reject = Reject a request: /reject N reason
menu-ask = Ask the client: /ask N question
menu-reopen = Reopen a request: /reopen N
menu-mine = My open requests
menu-note = A note on a request: /note N text

reminder =
    ⏰ { $type }: expires on { $date } — { $days ->
        [0] today
        [one] { $days } day left
       *[other] { $days } days left
    }.
    Company: { $client }{ $register }
reminder-register = , cash register { $model } No. { $serial }
summary-header = Deadline summary for { $date }
summary-due = Expiring within 14 days: { $count }
summary-overdue = Overdue: { $count }
summary-run = Reminders queued: { $queued }. Last 24 hours: { $sent } delivered, { $failed } failed.
summary-line = { $date } · { $client } · { $type }{ $register }
summary-more = …and { $count } more

not-linked = You are not linked to a company. Open the invite link from your manager or send the company's INN.
list-header = Deadlines of “{ $client }” (INN { $inn }):
list-empty = “{ $client }” has no open deadlines.
deadline-left = { $days ->
        [0] today
        [one] { $days } day left
       *[other] { $days } days left
    }
deadline-overdue = overdue by { $days } d.
today-empty = Nothing is due today ({ $date }).
today-header = Due today, { $date }: { $count }
search-usage = Usage: /search name or INN
search-empty = Nothing found for “{ $query }”.
export-caption = Rows: { $count }
export-choose = What to export, in which format?
export-deadlines = Deadlines
export-clients = Clients and registers
export-requests = Requests
export-reminders = Reminders
