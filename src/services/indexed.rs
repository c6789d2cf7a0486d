//! The dashboard's queries an index was made for (migrations 000102 and 000130, issue 17: the
//! benchmark `benches/scale.rs` found them slow at company scale), built as each database runs
//! them, with the indexes their plans must read. The query-plan tests hold each query to its
//! indexes on every database: SQLite's plan in `src/services/plans.rs`, PostgreSQL's and
//! MariaDB's, over a generated data set with statistics, in `tests/query_plans.rs`. Public only
//! for those tests; nothing else uses it.

use chrono::{DateTime, TimeDelta, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{DbBackend, QuerySelect, QueryTrait, Statement};

use super::cash_registers;
use super::deadlines::{self, DeadlineFilter};
use super::listing::ListParams;
use super::reminder_log::{self, ReminderFilter};
use super::request_queries::{self, RequestFilter};

/// One of the dashboard's queries and the indexes its plan reads.
#[derive(Clone, Debug)]
pub struct Indexed {
    /// What the dashboard asks, in a few words (the query's name in the tests).
    pub query: &'static str,
    pub statement: Statement,
    /// Every index its plan reads on each database.
    pub indexes: &'static [&'static str],
    /// The indexes its plan reads besides where the database takes the inactive clients' rows
    /// client by client (SQLite, MariaDB). PostgreSQL hashes the few inactive clients' ids
    /// instead and reads their rows off the first of [`Self::indexes`] again, at company scale
    /// too.
    pub client_by_client: &'static [&'static str],
}

/// The first page of 20, in `sort` order, as the dashboard asks for it.
fn page(sort: &str) -> ListParams {
    ListParams::new(1, 20, Some(sort.into()), None)
}

/// The queries as the dashboard would run them on `backend` at `now`; deadlines of type 1.
pub fn dashboard_queries(backend: DbBackend, now: DateTime<Utc>) -> Vec<Indexed> {
    let today = now.date_naive();
    let of_type = DeadlineFilter { deadline_type_id: Some(1), ..Default::default() };
    let of_type_within_30_days = DeadlineFilter { expiring_within: Some(30), ..of_type.clone() };
    let deadlines = |filter: &DeadlineFilter| {
        deadlines::list_query(&page("expiration_date"), filter, today).expect("a valid filter").limit(20).build(backend)
    };
    let failed = ReminderFilter { status: Some("failed".into()), ..Default::default() };
    let sent_count =
        reminder_log::sent_since(now - TimeDelta::days(7)).select_only().column_as(Expr::cust("COUNT(*)"), "n");
    vec![
        Indexed {
            query: "deadlines of a type by date",
            statement: deadlines(&of_type),
            indexes: &["idx_deadlines_type_expiration"],
            client_by_client: &[],
        },
        Indexed {
            query: "deadlines of a type within 30 days by date",
            statement: deadlines(&of_type_within_30_days),
            indexes: &["idx_deadlines_type_expiration"],
            client_by_client: &[],
        },
        Indexed {
            query: "requests newest first",
            statement: request_queries::list_query(&page("-created_at"), &RequestFilter::default())
                .expect("a valid filter")
                .limit(20)
                .build(backend),
            indexes: &["idx_client_requests_created"],
            client_by_client: &[],
        },
        Indexed {
            query: "failed reminders newest first",
            statement: reminder_log::list_query(&page("-created_at"), &failed)
                .expect("a valid filter")
                .limit(20)
                .build(backend),
            indexes: &["idx_notification_logs_status_created"],
            client_by_client: &[],
        },
        Indexed {
            query: "reminders sent in the last 7 days",
            statement: sent_count.build(backend),
            indexes: &["idx_notification_logs_status_sent"],
            client_by_client: &[],
        },
        Indexed {
            query: "open deadlines of active clients per date",
            statement: deadlines::open_per_date_query(today + TimeDelta::days(super::stats::CHART_WEEKS * 7 - 1))
                .build(backend),
            indexes: &["idx_deadlines_status_expiration_client", "idx_clients_active"],
            client_by_client: &["idx_deadlines_client_status_expiration"],
        },
        Indexed {
            query: "active cash registers of active clients",
            statement: cash_registers::active_count_query().build(backend),
            indexes: &["idx_cash_registers_active_client", "idx_clients_active"],
            client_by_client: &[],
        },
    ]
}
