//! The databases and Redis a test runs against: a temporary SQLite file, or a PostgreSQL or
//! MySQL/MariaDB database created for the test and dropped after, and a Redis key prefix of its
//! own. A service that is
//! not reachable skips the test ([`skip`]), or fails it with `CI=true`.

use std::sync::Mutex;
use std::time::Duration;

use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, Statement};

use super::harness::skip;

pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";
pub const DEFAULT_MYSQL_URL: &str = "mysql://root@127.0.0.1:3306/test";
pub const DEFAULT_REDIS_URL: &str = "redis://127.0.0.1:6379";

/// A database kktbot runs on. A backend test ([`super::harness::backend_test!`]) runs once on
/// each of [`Backend::ALL`]; with PostgreSQL or MySQL the server also keeps its dialogs in Redis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
    /// MySQL or MariaDB (`KKTBOT_TEST_MYSQL_URL`).
    MySql,
}

impl Backend {
    /// Every backend, in the order their tests are listed.
    pub const ALL: [Backend; 3] = [Backend::Sqlite, Backend::Postgres, Backend::MySql];

    /// The last part of a backend test's name.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
            Backend::MySql => "mysql",
        }
    }

    /// Whether the server on this backend keeps dialog state in Redis.
    pub fn uses_redis(self) -> bool {
        self != Backend::Sqlite
    }
}

/// Why PostgreSQL was not reachable, once a test found it so: the other tests skip without
/// waiting again.
static POSTGRES_MISSING: Mutex<Option<String>> = Mutex::new(None);
/// The same for MySQL.
static MYSQL_MISSING: Mutex<Option<String>> = Mutex::new(None);

/// Why a service is not there.
fn unreachable(what: &str, url: &str, err: impl std::fmt::Display) -> String {
    format!("{what} not reachable at {url}: {err}")
}

fn unique_suffix() -> String {
    format!("{}_{:08x}", std::process::id(), rand::random::<u32>())
}

/// A database that exists for one test.
pub enum TestDatabase {
    Sqlite {
        _dir: tempfile::TempDir,
        url: String,
    },
    Postgres {
        admin_url: String,
        name: String,
        url: String,
    },
    MySql {
        admin_url: String,
        name: String,
        url: String,
    },
    /// Handed over to another server (after a crash).
    Detached,
}

impl TestDatabase {
    /// A fresh empty database; skips the test when its server is not reachable.
    pub async fn create(backend: Backend) -> Self {
        Self::try_create(backend).await.unwrap_or_else(|why| skip(why))
    }

    /// A fresh empty database, or why its server is not reachable.
    pub async fn try_create(backend: Backend) -> Result<Self, String> {
        Self::try_create_in(backend, "").await
    }

    /// A fresh empty database whose PostgreSQL locale is `C` (its `lower` folds only ASCII), as a
    /// cluster made without a locale has; the same as [`Self::create`] on the other databases.
    pub async fn create_in_c_locale(backend: Backend) -> Self {
        Self::try_create_in(backend, " ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0")
            .await
            .unwrap_or_else(|why| skip(why))
    }

    /// A fresh empty database, created on PostgreSQL with `postgres_options`.
    async fn try_create_in(backend: Backend, postgres_options: &str) -> Result<Self, String> {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temporary directory");
                let url = format!("sqlite://{}/kktbot.db?mode=rwc", dir.path().display());
                Ok(TestDatabase::Sqlite { _dir: dir, url })
            }
            Backend::Postgres => {
                let admin_url =
                    std::env::var("KKTBOT_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_POSTGRES_URL.into());
                if let Some(why) = POSTGRES_MISSING.lock().unwrap().clone() {
                    return Err(why);
                }
                let admin = match Database::connect(admin_options(&admin_url)).await {
                    Ok(db) => db,
                    Err(e) => {
                        let why = unreachable("PostgreSQL", &admin_url, e);
                        *POSTGRES_MISSING.lock().unwrap() = Some(why.clone());
                        return Err(why);
                    }
                };
                let name = format!("kktbot_test_{}", unique_suffix());
                admin
                    .execute_unprepared(&format!("CREATE DATABASE {name}{postgres_options}"))
                    .await
                    .expect("create test database");
                let _ = admin.close().await;
                let mut url = url::Url::parse(&admin_url).expect("postgres url");
                url.set_path(&name);
                Ok(TestDatabase::Postgres { admin_url, name, url: url.to_string() })
            }
            Backend::MySql => {
                let admin_url = std::env::var("KKTBOT_TEST_MYSQL_URL").unwrap_or_else(|_| DEFAULT_MYSQL_URL.into());
                if let Some(why) = MYSQL_MISSING.lock().unwrap().clone() {
                    return Err(why);
                }
                let admin = match Database::connect(admin_options(&admin_url)).await {
                    Ok(db) => db,
                    Err(e) => {
                        let why = unreachable("MySQL", &admin_url, e);
                        *MYSQL_MISSING.lock().unwrap() = Some(why.clone());
                        return Err(why);
                    }
                };
                let name = format!("kktbot_test_{}", unique_suffix());
                // The server's default character set and collation: the tables name their own.
                admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await.expect("create test database");
                let _ = admin.close().await;
                let mut url = url::Url::parse(&admin_url).expect("mysql url");
                url.set_path(&name);
                Ok(TestDatabase::MySql { admin_url, name, url: url.to_string() })
            }
        }
    }

    /// A fresh database with every migration applied, and a connection to it.
    pub async fn migrated(backend: Backend) -> (Self, DatabaseConnection) {
        let database = Self::create(backend).await;
        let db = database.connect().await;
        kktbot::db::migrate_up(&db).await.expect("migrations apply");
        (database, db)
    }

    pub fn url(&self) -> &str {
        match self {
            TestDatabase::Sqlite { url, .. } | TestDatabase::Postgres { url, .. } | TestDatabase::MySql { url, .. } => {
                url
            }
            TestDatabase::Detached => panic!("the database was handed over"),
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            TestDatabase::Sqlite { .. } => Backend::Sqlite,
            TestDatabase::Postgres { .. } => Backend::Postgres,
            TestDatabase::MySql { .. } => Backend::MySql,
            TestDatabase::Detached => panic!("the database was handed over"),
        }
    }

    pub async fn connect(&self) -> DatabaseConnection {
        kktbot::db::connect(&kktbot::config::DatabaseUrl::new(self.url())).await.expect("connect to test database")
    }

    /// Drops a PostgreSQL or MySQL test database now (ending its connections).
    pub async fn drop_now(&self) {
        match self {
            TestDatabase::Postgres { admin_url, name, .. } => drop_postgres(admin_url, name).await,
            TestDatabase::MySql { admin_url, name, .. } => drop_mysql(admin_url, name).await,
            _ => {}
        }
    }
}

/// Options of a test's administrative connection: a short timeout, so a machine without the
/// server skips its tests at once.
fn admin_options(url: &str) -> ConnectOptions {
    ConnectOptions::new(url)
        .connect_timeout(Duration::from_secs(3))
        .acquire_timeout(Duration::from_secs(3))
        .sqlx_logging(false)
        .max_connections(1)
        .to_owned()
}

/// Ends the connections to a MySQL test database (a crashed server's may still hold locks the
/// drop would wait for) and drops it.
async fn drop_mysql(admin_url: &str, name: &str) {
    let Ok(admin) = Database::connect(admin_options(admin_url)).await else { return };
    let backend = admin.get_database_backend();
    let sessions = Statement::from_sql_and_values(
        backend,
        "SELECT CAST(id AS SIGNED) AS id FROM information_schema.processlist WHERE db = ? AND id <> CONNECTION_ID()",
        [name.into()],
    );
    if let Ok(rows) = admin.query_all_raw(sessions).await {
        for row in rows {
            if let Ok(id) = row.try_get::<i64>("", "id") {
                let _ = admin.execute_unprepared(&format!("KILL {id}")).await;
            }
        }
    }
    let _ = admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS {name}")).await;
    let _ = admin.close().await;
}

async fn drop_postgres(admin_url: &str, name: &str) {
    if let Ok(admin) = Database::connect(admin_url).await {
        let _ = admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
        let _ = admin.close().await;
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let (mysql, admin_url, name) = match self {
            TestDatabase::Postgres { admin_url, name, .. } => (false, admin_url.clone(), name.clone()),
            TestDatabase::MySql { admin_url, name, .. } => (true, admin_url.clone(), name.clone()),
            _ => return,
        };
        // Drop runs outside any runtime guarantee: use a thread with its own runtime.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            if mysql {
                rt.block_on(drop_mysql(&admin_url, &name));
            } else {
                rt.block_on(drop_postgres(&admin_url, &name));
            }
        })
        .join();
    }
}

/// A Redis key prefix that exists for one test; its keys are deleted afterwards.
pub struct TestRedis {
    pub url: String,
    pub prefix: String,
}

impl TestRedis {
    /// A fresh key prefix; skips the test when Redis is not reachable.
    pub async fn create() -> Self {
        Self::try_create().await.unwrap_or_else(|why| skip(why))
    }

    /// A fresh key prefix, or why Redis is not reachable.
    pub async fn try_create() -> Result<Self, String> {
        let url = std::env::var("KKTBOT_TEST_REDIS_URL").unwrap_or_else(|_| DEFAULT_REDIS_URL.into());
        let reachable = async {
            let client = redis::Client::open(url.as_str())?;
            let mut conn = client.get_multiplexed_async_connection().await?;
            redis::cmd("PING").query_async::<String>(&mut conn).await
        };
        match tokio::time::timeout(std::time::Duration::from_secs(3), reachable).await {
            Ok(Ok(_)) => Ok(TestRedis { url, prefix: format!("kktbot_test_{}:", unique_suffix()) }),
            Ok(Err(e)) => Err(unreachable("Redis", &url, e)),
            Err(_) => Err(unreachable("Redis", &url, "no answer within 3 s")),
        }
    }

    /// Keys currently stored under this test's prefix.
    pub fn keys(&self) -> Vec<String> {
        let client = redis::Client::open(self.url.as_str()).expect("redis url");
        let mut conn = client.get_connection().expect("redis connection");
        redis::cmd("KEYS").arg(format!("{}*", self.prefix)).query(&mut conn).unwrap_or_default()
    }
}

impl Drop for TestRedis {
    fn drop(&mut self) {
        let keys = self.keys();
        if !keys.is_empty()
            && let Ok(client) = redis::Client::open(self.url.as_str())
            && let Ok(mut conn) = client.get_connection()
        {
            let _: redis::RedisResult<()> = redis::cmd("DEL").arg(keys).query(&mut conn);
        }
    }
}

/// Counts rows of a table with a raw query (any backend).
pub async fn count_rows(db: &DatabaseConnection, table: &str) -> i64 {
    let backend = db.get_database_backend();
    let row = db
        .query_one_raw(Statement::from_string(backend, format!("SELECT COUNT(*) AS n FROM {table}")))
        .await
        .expect("count query")
        .expect("one row");
    row.try_get::<i64>("", "n").expect("count value")
}
