//! Servers a test owns, on ports of its own: a private `redis-server` it can stop, freeze and
//! start again (the shared Redis is never touched), and a private PostgreSQL cluster it can stop
//! and start again (the shared PostgreSQL is never touched).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::harness::skip;

/// A `redis-server` child process on its own port, killed when dropped.
pub struct RedisServer {
    pub port: u16,
    child: Option<Child>,
}

impl RedisServer {
    /// Starts redis-server on `port` and waits until it answers; skips the test when
    /// `redis-server` is not installed.
    pub async fn start(port: u16) -> Self {
        Self::spawn(port, &["--save", "", "--appendonly", "no"]).await
    }

    /// Like [`Self::start`], with every write in an append-only file in `dir` (fsynced before it
    /// is answered): a server started again on the same `dir` has all the data.
    pub async fn start_persistent(port: u16, dir: &Path) -> Self {
        let dir = dir.to_str().expect("a UTF-8 path");
        Self::spawn(port, &["--save", "", "--appendonly", "yes", "--appendfsync", "always", "--dir", dir]).await
    }

    async fn spawn(port: u16, storage: &[&str]) -> Self {
        let spawned = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(storage)
            .args(["--daemonize", "no"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let child = match spawned {
            Ok(child) => child,
            Err(e) => skip(format!("redis-server cannot be run ({e}); apt-get install redis-server")),
        };
        let server = RedisServer { port, child: Some(child) };
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let ping = async {
                let client = redis::Client::open(server.url())?;
                let mut conn = client.get_multiplexed_async_connection().await?;
                redis::cmd("PING").query_async::<String>(&mut conn).await
            };
            if let Ok(Ok(_)) = tokio::time::timeout(Duration::from_secs(1), ping).await {
                return server;
            }
            assert!(Instant::now() < deadline, "redis-server on port {port} did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// Sends a signal (STOP, CONT) to this child only.
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill").arg(format!("-{signal}")).arg(self.pid().to_string()).status().unwrap();
        assert!(status.success(), "kill -{signal} failed");
    }

    /// Kills the server (SIGKILL) and waits until it is gone.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A port free at the time of the call.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A PostgreSQL cluster of the test's own (`initdb` in a temporary directory, `pg_ctl` on a free
/// port, trust authentication), stopped and removed when dropped. As root its programs run as the
/// `postgres` user, which PostgreSQL requires.
pub struct PostgresCluster {
    pub port: u16,
    bin: PathBuf,
    data: PathBuf,
    as_postgres: bool,
    _dir: tempfile::TempDir,
}

impl PostgresCluster {
    /// Creates and starts a cluster; skips the test when PostgreSQL's server programs are not
    /// installed (`/usr/lib/postgresql/*/bin` or `initdb` on the PATH).
    pub fn start() -> Self {
        let Some(bin) = postgres_bin() else {
            skip("initdb and pg_ctl not found (/usr/lib/postgresql/*/bin); apt-get install postgresql")
        };
        let as_postgres = is_root();
        let dir = tempfile::tempdir().unwrap();
        if as_postgres {
            let status = Command::new("chown").arg("postgres:").arg(dir.path()).status().unwrap();
            assert!(status.success(), "chown postgres {}", dir.path().display());
        }
        let data = dir.path().join("data");
        let cluster = PostgresCluster { port: free_port(), bin, data, as_postgres, _dir: dir };
        let data = cluster.data.to_str().unwrap().to_string();
        cluster.run("initdb", &["-D", &data, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8"]);
        cluster.start_again();
        cluster
    }

    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Stops the server at once (`pg_ctl stop -m immediate`: sessions are cut, as in a crash).
    pub fn stop(&self) {
        self.run("pg_ctl", &["stop", "-D", self.data.to_str().unwrap(), "-m", "immediate", "-w"]);
    }

    /// Starts the server (again) on the same port and waits until it accepts connections.
    pub fn start_again(&self) {
        let data = self.data.to_str().unwrap();
        let socket_dir = self.data.parent().unwrap().to_str().unwrap();
        let options = format!("-p {} -c listen_addresses=127.0.0.1 -k {socket_dir} -c fsync=off", self.port);
        let log = format!("{socket_dir}/server.log");
        self.run("pg_ctl", &["start", "-D", data, "-o", &options, "-l", &log, "-w", "-t", "30"]);
    }

    fn run(&self, program: &str, args: &[&str]) {
        let program = self.bin.join(program);
        let mut command = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&program);
            c
        } else {
            Command::new(&program)
        };
        let out = command.args(args).stdin(Stdio::null()).output().unwrap();
        assert!(
            out.status.success(),
            "{} {args:?}: {}{}",
            program.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for PostgresCluster {
    fn drop(&mut self) {
        let mut command = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(self.bin.join("pg_ctl"));
            c
        } else {
            Command::new(self.bin.join("pg_ctl"))
        };
        let _ = command.arg("stop").arg("-D").arg(&self.data).args(["-m", "immediate"]).output();
    }
}

/// The directory of `initdb` and `pg_ctl`: the newest `/usr/lib/postgresql/N/bin`, else the PATH's.
fn postgres_bin() -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| Some((entry.file_name().to_str()?.parse().ok()?, entry.path().join("bin"))))
        .filter(|(_, bin): &(u32, PathBuf)| bin.join("initdb").is_file())
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Some(bin);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).find(|dir| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file())
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|out| out.stdout.starts_with(b"0\n"))
}
