//! The bots under test run as processes of their own, so their CPU time and memory can be read
//! apart from the driver's: the real `kktbot` binary (`kktbot serve`), or this benchmark's own
//! executable in the role of the minimal durable bot. Both are configured by environment
//! variables, listen on a port chosen here (so a restart comes back on the same one) and are
//! ready when `GET /health` answers 200.

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tokio::time::Instant;

/// The environment variable that makes the benchmark executable serve as the minimal bot.
pub const ROLE: &str = "BENCH_ROLE";
pub const MINIMAL_BOT: &str = "minimal-bot";

/// Which program to start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Program {
    Kktbot,
    Minimal,
}

/// A free loopback port (bound and let go at once).
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    listener.local_addr().expect("address").port()
}

/// A running bot process.
pub struct Bot {
    child: Child,
    pub port: u16,
    program: Program,
    env: BTreeMap<String, String>,
    dir: tempfile::TempDir,
}

impl Bot {
    /// Starts `program` with `env` on `port` and waits until it is ready (at most 60 s).
    pub async fn start(program: Program, port: u16, env: BTreeMap<String, String>) -> Self {
        // An empty working directory: no `.env` file of the developer's is read.
        let dir = tempfile::tempdir().expect("temporary directory");
        let child = spawn(program, port, &env, dir.path());
        let bot = Self { child, port, program, env, dir };
        bot.wait_ready().await;
        bot
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    async fn wait_ready(&self) {
        let client = reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(2)).build().expect("client");
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(response) = client.get(self.url("/health")).send().await
                && response.status() == 200
            {
                return;
            }
            assert!(Instant::now() < deadline, "{:?} did not become ready within 60 s", self.program);
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// SIGKILL, then the same program on the same port at once; returns when it is ready.
    pub async fn kill_and_restart(&mut self) {
        self.child.kill().expect("SIGKILL the bot");
        self.child.wait().expect("reap the killed bot");
        self.child = spawn(self.program, self.port, &self.env, self.dir.path());
        self.wait_ready().await;
    }

    /// SIGTERM, and waits until it has exited (as systemd stops it).
    pub fn stop(mut self) {
        let _ = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
        let _ = self.child.wait();
    }

    /// CPU seconds used so far (user + system).
    pub fn cpu_seconds(&self) -> f64 {
        cpu_seconds(self.child.id()).unwrap_or(0.0)
    }

    /// Peak resident memory so far, in MB.
    pub fn peak_rss_mb(&self) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap_or_default();
        status
            .lines()
            .find(|l| l.starts_with("VmHWM:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    }
}

impl Drop for Bot {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn(program: Program, port: u16, env: &BTreeMap<String, String>, dir: &std::path::Path) -> Child {
    let mut command = match program {
        Program::Kktbot => {
            // KKTBOT_BIN runs another build of kktbot (a release build from a debug benchmark).
            let bin = std::env::var("KKTBOT_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_kktbot").to_string());
            let mut c = Command::new(bin);
            c.arg("serve").arg("--no-register-webhook");
            c
        }
        Program::Minimal => Command::new(std::env::current_exe().expect("the benchmark's executable")),
    };
    command.current_dir(dir).env_clear().env("PATH", std::env::var("PATH").unwrap_or_default()).envs(env);
    if program == Program::Minimal {
        command.env(ROLE, MINIMAL_BOT);
    }
    command
        .env("API_HOST", "127.0.0.1")
        .env("API_PORT", port.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {program:?}: {e}"))
}

/// Clock ticks per second of `/proc/*/stat` (USER_HZ; 100 on Linux).
const TICKS_PER_SECOND: f64 = 100.0;

/// CPU seconds used by process `pid` (user + system), from `/proc/<pid>/stat`.
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may hold spaces: count fields after it.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / TICKS_PER_SECOND)
}

/// The names of a database server's processes on this machine (`/proc/<pid>/comm`): PostgreSQL's
/// (a process per connection) or MariaDB's and MySQL's (one process); none for SQLite, which
/// runs inside the bot.
pub fn database_processes(backend: crate::support::Backend) -> &'static [&'static str] {
    match backend {
        crate::support::Backend::Postgres => &["postgres"],
        crate::support::Backend::MySql => &["mariadbd", "mysqld"],
        crate::support::Backend::Sqlite => &[],
    }
}

/// Per-process CPU seconds of every process named one of `names`, so a delta can count only the
/// ones that lived through a measurement and the ones that started during it.
pub fn cpu_by_pid(names: &[&str]) -> BTreeMap<u32, f64> {
    let Ok(dir) = std::fs::read_dir("/proc") else { return BTreeMap::new() };
    dir.filter_map(Result::ok)
        .filter_map(|entry| entry.file_name().to_str().and_then(|name| name.parse::<u32>().ok()))
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|comm| names.contains(&comm.trim()))
        })
        .filter_map(|pid| cpu_seconds(pid).map(|cpu| (pid, cpu)))
        .collect()
}

/// CPU seconds the processes spent between two [`cpu_by_pid`] readings (PostgreSQL backends that
/// ended in between are missed: the bots keep their pools open, so they are few).
pub fn cpu_between(before: &BTreeMap<u32, f64>, after: &BTreeMap<u32, f64>) -> f64 {
    after.iter().map(|(pid, cpu)| cpu - before.get(pid).copied().unwrap_or(0.0)).sum()
}
