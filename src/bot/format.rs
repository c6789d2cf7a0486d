//! How the bot writes dates and deadlines in its lists.

use chrono::NaiveDate;

use super::context::Ctx;
use super::texts::Lang;
use crate::services::deadlines::DeadlineView;

/// Days before a deadline from which it is marked urgent in lists.
const URGENT_DAYS: i64 = 7;

/// Today in the company's time zone.
pub fn today(ctx: &Ctx) -> NaiveDate {
    crate::services::reminders::local_date(chrono::Utc::now(), ctx.timezone)
}

/// A date as the bot writes it: `31.12.2026`.
pub fn date(date: NaiveDate) -> String {
    date.format("%d.%m.%Y").to_string()
}

/// One deadline as a line of a list: urgency mark, date, type, register, days left.
pub fn deadline_line(ctx: &Ctx, view: &DeadlineView, today: NaiveDate, with_client: bool) -> String {
    let days = view.days_left(today);
    let mark = if days < 0 {
        "🔴 "
    } else if days <= URGENT_DAYS {
        "⚠️ "
    } else {
        ""
    };
    let left = if days < 0 {
        ctx.t("deadline-overdue", &[("days", (-days).into())])
    } else {
        ctx.t("deadline-left", &[("days", days.into())])
    };
    let kind = if ctx.lang() == Lang::En { view.kind.name_en.clone() } else { view.kind.name_ru.clone() };
    let register = view.register.as_ref().map_or(String::new(), |r| format!(" · {} № {}", r.model, r.serial_number));
    let client = if with_client { format!("{} · ", view.client.name) } else { String::new() };
    format!("{mark}{} · {client}{kind}{register} · {left}", date(view.deadline.expiration_date))
}
