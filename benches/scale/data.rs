//! A company-sized data set written straight into a migrated database: multi-row inserts of a
//! few thousand rows each, a transaction per table, explicit ids (so rows can refer to each
//! other without reading anything back). The API is not used: it would take hours.
//!
//! At scale 1: 10,000 clients (one Telegram contact each), 30,000 cash registers, 100,000
//! deadlines, 50,000 requests with their events (about 1.8 per request) and 200,000 rows of the
//! reminder log. Names, dates and statuses are spread as a real company's would be: most
//! deadlines in the next two years, some overdue, most closed once past; most requests done.

use chrono::{DateTime, Duration, Months, NaiveDate, Utc};
use kktbot::entities::search::text;
use kktbot::entities::{
    cash_register, client, client_request, contact, deadline, notification_log, request_event, request_type,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sea_orm::{
    ActiveValue::Set, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, QueryOrder, TransactionTrait,
};

/// Row counts at a scale factor.
#[derive(Clone, Copy, Debug)]
pub struct Sizes {
    pub clients: usize,
    pub registers_per_client: usize,
    pub deadlines_per_client: usize,
    pub requests: usize,
    pub reminders: usize,
}

impl Sizes {
    pub fn at(scale: f64) -> Self {
        let n = |full: f64| ((full * scale).round() as usize).max(1);
        Self {
            clients: n(10_000.0),
            registers_per_client: 3,
            deadlines_per_client: 10,
            requests: n(50_000.0),
            reminders: n(200_000.0),
        }
    }

    pub fn registers(&self) -> usize {
        self.clients * self.registers_per_client
    }

    pub fn deadlines(&self) -> usize {
        self.clients * self.deadlines_per_client
    }
}

/// What the generator wrote that the measurements need.
pub struct Generated {
    pub events: usize,
    /// Each deadline's expiration date and client, by id - 1.
    deadlines: Vec<(NaiveDate, i32)>,
    /// Ids of reminder rows written so far.
    reminders_written: usize,
}

const PREFIXES: [&str; 4] = ["ООО", "АО", "ИП", "ООО"];
const WORDS: [&str; 24] = [
    "Ромашка",
    "Вектор",
    "Север",
    "Альфа",
    "Лотос",
    "Меридиан",
    "Гранит",
    "Восток",
    "Орион",
    "Сфера",
    "Импульс",
    "Престиж",
    "Стройсервис",
    "Торговый дом",
    "Продукты",
    "Аптека",
    "Пекарня",
    "Автомир",
    "Фортуна",
    "Радуга",
    "Эверест",
    "Каскад",
    "Прогресс",
    "Кедр",
];
const SURNAMES: [&str; 16] = [
    "Иванов",
    "Петров",
    "Сидоров",
    "Смирнов",
    "Кузнецов",
    "Попов",
    "Васильев",
    "Соколов",
    "Михайлов",
    "Новиков",
    "Фёдоров",
    "Морозов",
    "Волков",
    "Алексеев",
    "Лебедев",
    "Семёнов",
];
const MODELS: [&str; 6] = ["АТОЛ 30Ф", "АТОЛ 91Ф", "Эвотор 7.2", "Меркурий-185Ф", "Штрих-М-01Ф", "Viki Print 57"];
const DESCRIPTIONS: [&str; 6] = [
    "Замена фискального накопителя",
    "Не печатает чеки, ошибка ФН",
    "Продление договора с ОФД",
    "Перерегистрация ККТ в налоговой",
    "Касса не подключается к интернету",
    "Настройка новой кассы",
];

/// The date the data set is built around (the server's "today" in UTC).
pub fn today() -> NaiveDate {
    Utc::now().date_naive()
}

fn at(date: NaiveDate, hour: u32) -> DateTime<Utc> {
    date.and_hms_opt(hour, 0, 0).unwrap_or_default().and_utc()
}

/// Rows per insert for a table of `columns` columns: under every database's limit of bound
/// values (SQLite 32,766; PostgreSQL and MySQL 65,535).
fn batch(columns: usize) -> usize {
    30_000 / columns
}

async fn insert_all<A, E>(db: &DatabaseConnection, rows: Vec<A>, columns: usize)
where
    E: EntityTrait,
    A: sea_orm::ActiveModelTrait<Entity = E> + Send,
{
    let txn = db.begin().await.expect("begin");
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<A> = rows.by_ref().take(batch(columns)).collect();
        E::insert_many(chunk).exec_without_returning(&txn).await.expect("bulk insert");
    }
    txn.commit().await.expect("commit");
}

/// Writes the whole data set (the database is freshly migrated and empty).
pub async fn generate(db: &DatabaseConnection, sizes: Sizes) -> Generated {
    let mut rng = StdRng::seed_from_u64(17);
    let now = Utc::now();
    let today = today();
    let mut clients = Vec::with_capacity(sizes.clients);
    let mut contacts = Vec::with_capacity(sizes.clients);
    for i in 1..=sizes.clients {
        let id = i as i32;
        let prefix = PREFIXES[i % PREFIXES.len()];
        let surname = SURNAMES[(i / 7) % SURNAMES.len()];
        let name = if prefix == "ИП" {
            format!("ИП {surname} {}. {}.", ["А", "В", "Е", "И", "О"][i % 5], ["С", "П", "Н"][i % 3])
        } else {
            format!("{prefix} «{} {}»", WORDS[i % WORDS.len()], i)
        };
        let inn = format!("{:010}", 7_700_000_000u64 + i as u64);
        let person = format!("{surname} {}", ["Анна", "Сергей", "Ольга", "Дмитрий"][i % 4]);
        let created = now - Duration::days(rng.random_range(30..1500));
        clients.push(client::ActiveModel {
            id: Set(id),
            search: Set(text([Some(name.as_str()), Some(inn.as_str()), Some(person.as_str())])),
            name: Set(name),
            inn: Set(inn),
            contact_person: Set(Some(person.clone())),
            phone: Set(Some(format!("+7 495 {:03}-{:02}-{:02}", i % 1000, i % 97, i % 89))),
            email: Set(Some(format!("office{i}@example.ru"))),
            address: Set(Some(format!("г. Москва, ул. Ленина, д. {}", i % 300 + 1))),
            notes: Set(None),
            is_active: Set(i % 10 != 0),
            created_at: Set(created),
            updated_at: Set(created),
        });
        contacts.push(contact::ActiveModel {
            id: Set(id),
            client_id: Set(id),
            telegram_id: Set(6_000_000_000 + i as i64),
            search: Set(text([Some(person.as_str())])),
            name: Set(Some(person)),
            notify: Set(true),
            is_active: Set(true),
            created_at: Set(created),
            updated_at: Set(created),
        });
    }
    insert_all(db, clients, 12).await;
    insert_all(db, contacts, 9).await;

    let mut registers = Vec::with_capacity(sizes.registers());
    for r in 1..=sizes.registers() {
        let client_id = ((r - 1) / sizes.registers_per_client + 1) as i32;
        let model = MODELS[r % MODELS.len()].to_string();
        let serial = format!("0{:013}", 4_000_000_000u64 + r as u64);
        let registration = format!("{:016}", 1_000_000_000_000u64 + r as u64);
        let drive = format!("{:016}", 9_960_000_000_000u64 + r as u64);
        registers.push(cash_register::ActiveModel {
            id: Set(r as i32),
            client_id: Set(client_id),
            search: Set(text([Some(&*model), Some(&*serial), Some(&*registration), Some(&*drive)])),
            model: Set(model),
            serial_number: Set(serial),
            registration_number: Set(Some(registration)),
            fiscal_drive_number: Set(Some(drive)),
            ofd_provider_id: Set(None),
            address: Set(None),
            is_active: Set(r % 20 != 0),
            created_at: Set(now),
            updated_at: Set(now),
        });
    }
    insert_all(db, registers, 13).await;

    let types: Vec<i32> = kktbot::entities::deadline_type::Entity::find()
        .all(db)
        .await
        .expect("deadline types")
        .into_iter()
        .map(|t| t.id)
        .collect();
    let mut deadlines = Vec::with_capacity(sizes.deadlines());
    let mut dates = Vec::with_capacity(sizes.deadlines());
    for d in 1..=sizes.deadlines() {
        let client_id = ((d - 1) / sizes.deadlines_per_client + 1) as i32;
        let register =
            (client_id - 1) * sizes.registers_per_client as i32 + (d % sizes.registers_per_client) as i32 + 1;
        let offset = rng.random_range(-400..800);
        let date = today + Duration::days(offset);
        let status = match (offset < 0, rng.random_range(0..100)) {
            (true, 0..70) => deadline::Status::Closed,
            (true, _) => deadline::Status::Expired,
            (false, 0..5) => deadline::Status::Closed,
            (false, _) => deadline::Status::Active,
        };
        let notes = (d % 13 == 0).then(|| format!("Договор № {d}"));
        dates.push((date, client_id));
        deadlines.push(deadline::ActiveModel {
            id: Set(d as i32),
            client_id: Set(client_id),
            cash_register_id: Set((d % 10 != 0).then_some(register)),
            deadline_type_id: Set(types[d % types.len()]),
            expiration_date: Set(date),
            status: Set(status),
            search: Set(text([notes.as_deref()])),
            notes: Set(notes),
            created_at: Set(now - Duration::days(400)),
            updated_at: Set(now - Duration::days(400)),
        });
    }
    insert_all(db, deadlines, 10).await;

    let request_types: Vec<i32> = request_type::Entity::find()
        .order_by_asc(request_type::Column::Id)
        .all(db)
        .await
        .expect("request types")
        .into_iter()
        .map(|t| t.id)
        .collect();
    let mut requests = Vec::with_capacity(sizes.requests);
    let mut events = Vec::with_capacity(sizes.requests * 2);
    for n in 1..=sizes.requests {
        use client_request::Status::*;
        let client_id = rng.random_range(1..=sizes.clients) as i32;
        let link = n % 10 == 0;
        let created = now - Duration::minutes(rng.random_range(0..730 * 24 * 60));
        let status = match rng.random_range(0..100) {
            0..50 => Done,
            50..60 => Rejected,
            60..65 => Cancelled,
            65..75 => Approved,
            75..85 => InProgress,
            85..88 => WaitingForClient,
            _ => Pending,
        };
        let decided = (!matches!(status, Pending | Cancelled)).then(|| created + Duration::hours(2));
        let description = if link { String::new() } else { DESCRIPTIONS[n % DESCRIPTIONS.len()].to_string() };
        let requester = format!("{} {}", ["Анна", "Сергей", "Ольга", "Дмитрий"][n % 4], SURNAMES[n % SURNAMES.len()]);
        let inn = link.then(|| format!("{:010}", 7_700_000_000u64 + client_id as u64));
        events.push((n as i32, "filed", created));
        if let Some(at) = decided {
            events.push((n as i32, if status == Rejected { "rejected" } else { "approved" }, at));
        }
        if status == Done {
            events.push((n as i32, "done", created + Duration::days(1)));
        }
        requests.push(client_request::ActiveModel {
            id: Set(n as i32),
            number: Set(n as i32),
            kind: Set(if link { client_request::Kind::Link } else { client_request::Kind::Service }),
            request_type_id: Set((!link).then(|| request_types[n % request_types.len()])),
            search: Set(text([Some(description.as_str()), Some(requester.as_str()), inn.as_deref()])),
            description: Set(description),
            photo_file_id: Set(None),
            requester_telegram_id: Set(6_000_000_000 + client_id as i64),
            requester_name: Set(Some(requester)),
            requester_username: Set(None),
            client_id: Set(Some(client_id)),
            inn: Set(inn),
            status: Set(status),
            decided_by: Set(decided.map(|_| "Ольга".to_string())),
            decided_by_administrator_id: Set(None),
            decided_by_user_id: Set(None),
            decided_at: Set(decided),
            reason: Set((status == Rejected).then(|| "нет серийного номера".to_string())),
            started_at: Set(matches!(status, InProgress | Done).then(|| created + Duration::hours(3))),
            done_at: Set((status == Done).then(|| created + Duration::days(1))),
            assignee_user_id: Set(None),
            assignee_administrator_id: Set(None),
            assigned_at: Set(None),
            decision_sla_announced_at: Set(None),
            done_sla_flagged_at: Set(None),
            submit_key: Set(None),
            created_at: Set(created),
            updated_at: Set(created),
        });
    }
    insert_all(db, requests, 29).await;
    let event_count = events.len();
    let events = events.into_iter().enumerate().map(|(i, (request, event, at))| request_event::ActiveModel {
        id: Set(i as i32 + 1),
        request_id: Set(request),
        event: Set(event.to_string()),
        channel: Set("telegram".into()),
        actor_kind: Set(if event == "filed" { "client" } else { "administrator" }.into()),
        actor_id: Set(None),
        actor_name: Set(None),
        details: Set(None),
        created_at: Set(at),
    });
    insert_all(db, events.collect(), 9).await;

    let mut generated = Generated { events: event_count, deadlines: dates, reminders_written: 0 };
    generated.add_reminders(db, sizes.reminders, &[14, 7]).await;
    fix_sequences(db).await;
    generated
}

impl Generated {
    /// Adds `count` rows to the reminder log: for deadline after deadline, one row per threshold
    /// of `thresholds` (thresholds not used before, so the log's unique key holds). A reminder
    /// not due yet has not been sent: its row stands for the same deadline's earlier term, whole
    /// years before (the fiscal drive or OFD contract it renews), reminded then — so the log
    /// spreads over the past as a real one does instead of piling up on today.
    pub async fn add_reminders(&mut self, db: &DatabaseConnection, count: usize, thresholds: &[i32]) {
        let now = Utc::now();
        let mut rng = StdRng::seed_from_u64(self.reminders_written as u64);
        let mut rows = Vec::with_capacity(count);
        for k in 0..count {
            let (mut date, client_id) = self.deadlines[(k / thresholds.len()) % self.deadlines.len()];
            let days_before = thresholds[k % thresholds.len()];
            let reminded = |date: NaiveDate| date - Duration::days(i64::from(days_before));
            while reminded(date) > now.date_naive() {
                date = date.checked_sub_months(Months::new(12)).expect("a date a year earlier");
            }
            let created = at(reminded(date), 9).min(now);
            let (status, error) = match rng.random_range(0..100) {
                0..95 => ("sent", None),
                95..99 => ("failed", Some("Forbidden: bot was blocked by the user".to_string())),
                _ => ("pending", None),
            };
            rows.push(notification_log::ActiveModel {
                id: Set((self.reminders_written + k + 1) as i64),
                deadline_id: Set((k / thresholds.len() % self.deadlines.len()) as i32 + 1),
                contact_id: Set(client_id),
                days_before: Set(days_before),
                expiration_date: Set(date),
                status: Set(status.into()),
                attempts: Set(if status == "pending" { 0 } else { 1 }),
                last_error: Set(error),
                outgoing_message_id: Set(None),
                created_at: Set(created),
                sent_at: Set((status == "sent").then(|| created + Duration::seconds(1))),
            });
        }
        insert_all(db, rows, 11).await;
        self.reminders_written += count;
        fix_sequences(db).await;
    }

    pub fn reminders(&self) -> usize {
        self.reminders_written
    }
}

/// PostgreSQL's sequences do not move for explicit ids: set each to its table's largest id
/// (MySQL's AUTO_INCREMENT and SQLite's rowid follow by themselves).
async fn fix_sequences(db: &DatabaseConnection) {
    if db.get_database_backend() != DbBackend::Postgres {
        return;
    }
    for table in
        ["clients", "contacts", "cash_registers", "deadlines", "client_requests", "request_events", "notification_logs"]
    {
        let sql = format!(
            "SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE((SELECT MAX(id) FROM {table}), 1))"
        );
        db.execute_unprepared(&sql).await.expect("setval");
    }
}

/// Statistics for the planner and PostgreSQL's visibility map, as the databases' own
/// background work would leave them after a load this size: PostgreSQL's autovacuum both
/// analyzes and vacuums a table after that many inserts (the vacuum marks its pages all-visible,
/// which is what lets a count read an index alone, without visiting the table), InnoDB gathers
/// persistent statistics. SQLite gathers none by itself, and kktbot does not ask it to: it is
/// left without, as in production.
pub async fn analyze(db: &DatabaseConnection) {
    match db.get_database_backend() {
        DbBackend::Postgres => {
            db.execute_unprepared("VACUUM ANALYZE").await.expect("VACUUM ANALYZE");
        }
        DbBackend::MySql => {
            db.execute_unprepared(
                "ANALYZE TABLE clients, contacts, cash_registers, deadlines, client_requests, request_events, \
                 notification_logs",
            )
            .await
            .expect("ANALYZE TABLE");
        }
        _ => {}
    }
}
