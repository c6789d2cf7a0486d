//! The Telegram notifier: the messages a request's change causes (the administrators' copies
//! with decision buttons, the client's answer, the edits of every copy after a decision; its
//! work and thread in `notifier/work.rs`, the administrators' group in `notifier/group.rs`) and
//! those of a reminder run (a contact's reminder, the administrators' summary). Written to the
//! outbox inside the transaction of the change or the run.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::Utc;
use chrono_tz::Tz;
use sea_orm::{ConnectionTrait, DatabaseTransaction};

use super::texts::{Arg, Lang, Texts};
use crate::error::Result;
use crate::outbox::{self, MessageRef, Outgoing, RetryPolicy};
use crate::services::deadlines::DeadlineView;
use crate::services::lifecycle::{Action, Change};
use crate::services::reminders::{ReminderMessages, Summary};
use crate::services::requests::{Kind, Request, RequestEvents, Status};
use crate::services::{administrators, clients, copies, request_queries, requests, telegram_users, thread};

mod group;
mod work;

pub use group::AdminGroup;

pub struct TelegramNotifier {
    texts: Arc<Texts>,
    timezone: Tz,
    reminder_retry: Option<RetryPolicy>,
    /// Where new requests go instead of every administrator's chat (`ADMIN_GROUP_CHAT_ID`).
    group: Option<AdminGroup>,
}

/// A user's language as stored, for messages sent to them outside their own update.
pub async fn lang_of(db: &impl ConnectionTrait, telegram_id: i64) -> Result<Lang> {
    let user = telegram_users::find(db, telegram_id).await?;
    Ok(user.map_or(Lang::Ru, |u| Lang::for_user(u.language.as_deref(), u.language_code.as_deref())))
}

impl TelegramNotifier {
    pub fn new(texts: Arc<Texts>, timezone: Tz) -> Self {
        Self { texts, timezone, reminder_retry: None, group: None }
    }

    /// New requests go to the administrators' group, once, instead of to each administrator.
    pub fn with_admin_group(mut self, group: AdminGroup) -> Self {
        self.group = Some(group);
        self
    }

    /// Reminders are retried by this policy instead of the sender's default.
    pub fn with_reminder_retry(mut self, policy: RetryPolicy) -> Self {
        self.reminder_retry = Some(policy);
        self
    }

    /// The bot's texts.
    pub fn texts(&self) -> &Arc<Texts> {
        &self.texts
    }

    pub fn status_text(&self, lang: Lang, status: Status) -> String {
        let id = match status {
            Status::Pending => "status-pending",
            Status::Approved => "status-approved",
            Status::Rejected => "status-rejected",
            Status::Cancelled => "status-cancelled",
            Status::InProgress => "status-in-progress",
            Status::WaitingForClient => "status-waiting-for-client",
            Status::Done => "status-done",
        };
        self.texts.get(lang, id, &[])
    }

    pub async fn type_name(&self, db: &impl ConnectionTrait, lang: Lang, request: &Request) -> Result<String> {
        let Some(type_id) = request.request_type_id else { return Ok(String::new()) };
        Ok(requests::get_type(db, type_id)
            .await?
            .map(|t| if lang == Lang::En { t.name_en } else { t.name_ru })
            .unwrap_or_default())
    }

    /// The administrator's view of a request (without its outcome).
    pub async fn admin_text(&self, db: &impl ConnectionTrait, lang: Lang, request: &Request) -> Result<String> {
        let t = |id: &str| self.texts.get(lang, id, &[]);
        let mut requester = request.requester_name.clone().unwrap_or_else(|| request.requester_telegram_id.to_string());
        if let Some(username) = &request.requester_username {
            requester.push_str(&format!(" (@{username})"));
        }
        let client = match request.client_id {
            Some(id) => clients::find(db, id).await?.map(|c| format!("{} (ИНН {})", c.name, c.inn)),
            None => None,
        };
        let number = Arg::from(request.number);
        Ok(match request.kind {
            Kind::Service => self.texts.get(
                lang,
                "admin-request",
                &[
                    ("number", number),
                    ("type", self.type_name(db, lang, request).await?.into()),
                    ("requester", requester.into()),
                    ("client", client.unwrap_or_else(|| t("admin-client-unknown")).into()),
                    ("description", request.description.clone().into()),
                ],
            ),
            Kind::Link => {
                let client = client.unwrap_or_else(|| t("admin-client-not-found"));
                self.texts.get(
                    lang,
                    "admin-link-request",
                    &[
                        ("number", number),
                        ("requester", requester.into()),
                        ("inn", request.inn.clone().unwrap_or_default().into()),
                        ("client", client.into()),
                    ],
                )
            }
        })
    }

    fn format_time(&self, at: chrono::DateTime<Utc>) -> String {
        at.with_timezone(&self.timezone).format("%d.%m.%Y %H:%M").to_string()
    }

    /// The lines added to the administrators' copies: the decision, then the latest change
    /// after it (work started, a question to the client, done, a cancel, a reopen).
    async fn outcome_text(&self, db: &impl ConnectionTrait, lang: Lang, request: &Request) -> Result<String> {
        let mut lines = Vec::new();
        if let Some(decided_at) = request.decided_at {
            let admin = request.decided_by.clone().unwrap_or_default();
            let args = [("admin", Arg::from(admin)), ("time", Arg::from(self.format_time(decided_at)))];
            // A rejection closes the request (a reopen clears it): any other decision on record
            // is an approval, whatever happened since.
            if request.status == Status::Rejected {
                lines.push(self.texts.get(lang, "admin-outcome-rejected", &args));
                if let Some(reason) = &request.reason {
                    lines.push(self.texts.get(lang, "admin-outcome-reason", &[("reason", reason.clone().into())]));
                }
            } else {
                lines.push(self.texts.get(lang, "admin-outcome-approved", &args));
            }
        }
        // The latest change of its status (an assignment is shown on a line of its own).
        if let Some(event) = request_queries::latest_change(db, request.id).await? {
            let id = match event.event.as_str() {
                "started" => Some("admin-outcome-started"),
                "asked_client" => Some("admin-outcome-asked"),
                "done" => Some("admin-outcome-done"),
                "cancelled" => Some("admin-outcome-cancelled"),
                "reopened" => Some("admin-outcome-reopened"),
                _ => None,
            };
            if let Some(id) = id {
                let args = [
                    ("admin", Arg::from(event.actor_name.clone().unwrap_or_default())),
                    ("time", Arg::from(self.format_time(event.created_at))),
                ];
                lines.push(self.texts.get(lang, id, &args));
                if let Some(details) = event.details {
                    lines.push(self.texts.get(lang, "admin-outcome-comment", &[("comment", details.into())]));
                }
            }
        }
        Ok(lines.join("\n"))
    }

    /// An administrator's copy: the request, then what happened to it.
    async fn copy_text(&self, db: &impl ConnectionTrait, lang: Lang, request: &Request) -> Result<String> {
        let text = self.admin_text(db, lang, request).await?;
        let mut outcome = self.outcome_text(db, lang, request).await?;
        for line in self.work_lines(db, lang, request).await? {
            outcome = if outcome.is_empty() { line } else { format!("{outcome}\n{line}") };
        }
        Ok(if outcome.is_empty() { text } else { format!("{text}\n\n{outcome}") })
    }

    /// Sends one administrator (or the administrators' group, in the request's topic) a copy of
    /// a request with the buttons that apply now, and remembers the copy so it is edited after
    /// each change.
    pub async fn send_admin_copy(&self, txn: &DatabaseTransaction, chat_id: i64, request: &Request) -> Result<()> {
        let lang = lang_of(txn, chat_id).await?;
        let topic = self.topic_in(txn, chat_id, request).await?;
        if let Some(photo) = &request.photo_file_id {
            let caption = Some(self.texts.get(lang, "admin-request-photo", &[("number", request.number.into())]));
            outbox::enqueue(txn, Outgoing::photo(chat_id, photo.clone(), caption).in_topic(topic.clone())).await?;
        }
        let text = self.copy_text(txn, lang, request).await?;
        let reply_markup = self.keyboard_in(txn, chat_id, lang, request).await?;
        let outbox_id = outbox::enqueue(txn, Outgoing::SendMessage { chat_id, text, reply_markup, topic }).await?;
        copies::record(txn, request.id, chat_id, outbox_id).await
    }

    /// Edits every administrator's copy to show the request as it is now, with the buttons that
    /// apply now.
    pub(crate) async fn edit_copies(&self, txn: &DatabaseTransaction, request: &Request) -> Result<()> {
        for copy in copies::of_request(txn, request.id).await? {
            let lang = lang_of(txn, copy.chat_id).await?;
            let text = self.copy_text(txn, lang, request).await?;
            outbox::enqueue(
                txn,
                Outgoing::EditMessageText {
                    chat_id: copy.chat_id,
                    message: MessageRef::Outbox(copy.outgoing_message_id),
                    text,
                    reply_markup: self.keyboard_in(txn, copy.chat_id, lang, request).await?,
                },
            )
            .await?;
        }
        Ok(())
    }
}

#[async_trait]
impl RequestEvents for TelegramNotifier {
    async fn request_filed(&self, txn: &DatabaseTransaction, request: &Request) -> Result<()> {
        if let Some(group) = self.group {
            return self.file_in_group(txn, group, request).await;
        }
        for admin in administrators::active(txn).await? {
            self.send_admin_copy(txn, admin.telegram_id, request).await?;
        }
        Ok(())
    }

    async fn request_decided(&self, txn: &DatabaseTransaction, request: &Request) -> Result<()> {
        let chat_id = request.requester_telegram_id;
        let lang = lang_of(txn, chat_id).await?;
        let number = Arg::from(request.number);
        let text = match (request.status, request.kind, &request.reason) {
            (Status::Approved, Kind::Link, _) => {
                let client = match request.client_id {
                    Some(id) => clients::find(txn, id).await?,
                    None => None,
                };
                let (name, inn) = client.map(|c| (c.name, c.inn)).unwrap_or_default();
                self.texts.get(
                    lang,
                    "inn-link-approved",
                    &[("number", number), ("client", name.into()), ("inn", inn.into())],
                )
            }
            (Status::Approved, _, _) => self.texts.get(lang, "client-request-approved", &[("number", number)]),
            (_, _, Some(reason)) => self.texts.get(
                lang,
                "client-request-rejected-reason",
                &[("number", number), ("reason", reason.clone().into())],
            ),
            (_, _, None) => self.texts.get(lang, "client-request-rejected", &[("number", number)]),
        };
        self.tell_client(txn, request, None, Outgoing::text(chat_id, text)).await?;
        self.edit_copies(txn, request).await
    }

    async fn request_changed(&self, txn: &DatabaseTransaction, request: &Request, change: &Change) -> Result<()> {
        let chat_id = request.requester_telegram_id;
        let lang = lang_of(txn, chat_id).await?;
        let number = ("number", Arg::from(request.number));
        let text = match change.action {
            Action::Start if change.from == Status::WaitingForClient => {
                Some(self.texts.get(lang, "client-request-resumed", &[number]))
            }
            Action::Start => Some(self.texts.get(lang, "client-request-started", &[number])),
            Action::AskClient => Some(self.texts.get(
                lang,
                "client-request-question",
                &[number, ("question", change.comment.clone().unwrap_or_default().into())],
            )),
            Action::Done => Some(self.texts.get(lang, "client-request-done", &[number])),
            Action::Reopen => Some(self.texts.get(lang, "client-request-reopened", &[number])),
            // The client made it and is answered in their own update.
            Action::Cancel => None,
            // Decisions are told by `request_decided`.
            Action::Approve | Action::Reject => None,
        };
        if let Some(text) = text {
            let question = change.question.as_ref().map(|q| q.id);
            self.tell_client(txn, request, question, Outgoing::text(chat_id, text)).await?;
        }
        self.edit_copies(txn, request).await
    }

    async fn request_assigned(&self, txn: &DatabaseTransaction, request: &Request) -> Result<()> {
        self.tell_assignee(txn, request).await?;
        self.edit_copies(txn, request).await
    }

    async fn thread_message(
        &self,
        txn: &DatabaseTransaction,
        request: &Request,
        message: &thread::Message,
    ) -> Result<()> {
        self.pass_on(txn, request, message).await
    }

    async fn decision_overdue(&self, txn: &DatabaseTransaction, request: &Request, hours: u32) -> Result<()> {
        self.announce_again(txn, request, hours).await
    }

    async fn done_overdue(&self, txn: &DatabaseTransaction, request: &Request, hours: u32) -> Result<()> {
        self.flag_overdue(txn, request, hours).await
    }
}

/// Lines of deadlines shown in the administrators' summary before "…and N more".
const SUMMARY_LINES: usize = 15;

impl TelegramNotifier {
    fn deadline_args(&self, lang: Lang, view: &DeadlineView) -> Vec<(&'static str, Arg)> {
        let kind = if lang == Lang::En { view.kind.name_en.clone() } else { view.kind.name_ru.clone() };
        let register = view.register.as_ref().map_or(String::new(), |r| {
            self.texts.get(
                lang,
                "reminder-register",
                &[("model", r.model.clone().into()), ("serial", r.serial_number.clone().into())],
            )
        });
        vec![
            ("type", kind.into()),
            ("date", view.deadline.expiration_date.format("%d.%m.%Y").to_string().into()),
            ("client", view.client.name.clone().into()),
            ("register", register.into()),
        ]
    }

    fn summary_lines(&self, lang: Lang, views: &[DeadlineView]) -> Vec<String> {
        let mut lines: Vec<String> = views
            .iter()
            .take(SUMMARY_LINES)
            .map(|v| self.texts.get(lang, "summary-line", &self.deadline_args(lang, v)))
            .collect();
        if views.len() > SUMMARY_LINES {
            lines.push(self.texts.get(lang, "summary-more", &[("count", (views.len() - SUMMARY_LINES).into())]));
        }
        lines
    }
}

#[async_trait]
impl ReminderMessages for TelegramNotifier {
    async fn reminder(
        &self,
        txn: &DatabaseTransaction,
        chat_id: i64,
        deadline: &DeadlineView,
        days_left: i64,
    ) -> Result<i64> {
        let lang = lang_of(txn, chat_id).await?;
        let mut args = self.deadline_args(lang, deadline);
        args.push(("days", days_left.into()));
        let text = self.texts.get(lang, "reminder", &args);
        outbox::enqueue_with(txn, Outgoing::text(chat_id, text), self.reminder_retry).await.map_err(Into::into)
    }

    async fn summary(&self, txn: &DatabaseTransaction, chat_id: i64, summary: &Summary) -> Result<i64> {
        let lang = lang_of(txn, chat_id).await?;
        let t = |id: &str, args: &[(&str, Arg)]| self.texts.get(lang, id, args);
        let mut parts = vec![t("summary-header", &[("date", summary.date.format("%d.%m.%Y").to_string().into())])];
        parts.push(t("summary-due", &[("count", summary.due_soon.len().into())]));
        parts.extend(self.summary_lines(lang, &summary.due_soon));
        parts.push(t("summary-overdue", &[("count", summary.overdue.len().into())]));
        parts.extend(self.summary_lines(lang, &summary.overdue));
        parts.push(t(
            "summary-run",
            &[
                ("queued", (summary.queued as i64).into()),
                ("sent", (summary.sent_last_day as i64).into()),
                ("failed", (summary.failed_last_day as i64).into()),
            ],
        ));
        outbox::enqueue(txn, Outgoing::text(chat_id, parts.join("\n"))).await.map_err(Into::into)
    }
}
