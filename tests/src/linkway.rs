//! The `linkway` binary as a child process, for tests that kill it, stop it with a signal
//! or start it again: `kill -9` under load, SIGTERM during load, a start while NATS seeds
//! are down.
//!
//! The binary's path comes from the caller (a test in `services/linkway/tests` passes
//! `env!("CARGO_BIN_EXE_linkway")`); this crate cannot name it. Like the servers, the
//! process runs under a small shell watchdog that kills it when the test process goes
//! away, even after a panic or a kill of the test itself.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::Scope;

/// The watchdog: starts `"$@"` (the binary and its arguments) with its output appended to
/// `$LOG`, prints its pid, and kills it with SIGKILL once its own stdin closes (the test's
/// handle dropped, or the test process died). It exits with the child's exit status.
const WATCHDOG: &str = r#"exec 3<&0
"$@" 3<&- </dev/null >>"$LINKWAY_TEST_LOG" 2>&1 &
pid=$!
echo $pid
( read _ignored <&3; kill -KILL $pid 2>/dev/null ) &
watcher=$!
exec 3<&-
wait $pid
code=$?
kill $watcher 2>/dev/null
exit $code"#;

/// Services `linkway serve` runs by default, with the variable naming each one's port.
const SERVICES: [(&str, &str); 3] = [
    ("intake", "LINKWAY_INTAKE_PORT"),
    ("link-worker", "LINKWAY_LINK_WORKER_PORT"),
    ("reporting", "LINKWAY_REPORTING_PORT"),
];

/// One `linkway serve` process (or none, between a kill and a start), always started with
/// the same environment and ports.
pub struct Linkway {
    binary: PathBuf,
    env: Vec<(String, String)>,
    /// Services served, with their ports.
    ports: Vec<(&'static str, u16)>,
    /// Holds the log file.
    dir: tempfile::TempDir,
    running: Mutex<Option<Running>>,
}

/// The watchdog shell and the pid of `linkway` under it.
struct Running {
    watchdog: Child,
    /// Closing it tells the watchdog to kill `linkway`.
    stdin: Option<ChildStdin>,
    pid: u32,
}

impl Linkway {
    /// A `linkway serve` of all three services on NATS `seeds` (comma-joined into
    /// `LINKWAY_NATS_URL`) and PostgreSQL `postgres_url`, in the private names of `scope`,
    /// on free ports. Not started yet: add settings with [`Linkway::env`], then
    /// [`Linkway::start`].
    pub fn new(
        binary: impl Into<PathBuf>,
        seeds: &[String],
        postgres_url: &str,
        scope: &Scope,
    ) -> std::io::Result<Linkway> {
        let ports: Vec<(&'static str, u16)> = SERVICES
            .iter()
            .map(|(service, _)| (*service, crate::free_port()))
            .collect();
        let mut env: Vec<(String, String)> = vec![
            ("LINKWAY_NATS_URL".into(), seeds.join(",")),
            ("LINKWAY_DATABASE_URL".into(), postgres_url.into()),
            (
                "LINKWAY_DATABASE_PREFIX".into(),
                scope.database_prefix.clone(),
            ),
            ("LINKWAY_STREAM".into(), scope.stream.clone()),
            (
                "LINKWAY_SUBJECT_PREFIX".into(),
                scope.subject_prefix.clone(),
            ),
            ("LINKWAY_BIND".into(), "127.0.0.1".into()),
            // Reporting needs a key outside `linkway demo`; this one guards test data only.
            (
                "LINKWAY_PSEUDONYM_KEY".into(),
                "linkway-testkit-pseudonym-key".into(),
            ),
            // Every test's log is sealed as a real one is.
            ("LINKWAY_KEKS".into(), crate::TEST_KEKS.into()),
            (
                "LINKWAY_LOG".into(),
                std::env::var("LINKWAY_TEST_CHILD_LOG")
                    .unwrap_or_else(|_| "info,async_nats=warn".into()),
            ),
        ];
        for ((_, var), (_, port)) in SERVICES.iter().zip(&ports) {
            env.push(((*var).into(), port.to_string()));
        }
        Ok(Linkway {
            binary: binary.into(),
            env,
            ports,
            dir: tempfile::Builder::new().prefix("linkway-proc-").tempdir()?,
            running: Mutex::new(None),
        })
    }

    /// Sets (or replaces) one environment variable of the process, e.g.
    /// `LINKWAY_REPLICAS=3`. Takes effect at the next start.
    pub fn env(mut self, name: &str, value: impl Into<String>) -> Linkway {
        self.env.retain(|(n, _)| n != name);
        self.env.push((name.into(), value.into()));
        self
    }

    /// The environment the process gets (besides the test process's own, minus every
    /// `LINKWAY_*` variable of it).
    pub fn environment(&self) -> &[(String, String)] {
        &self.env
    }

    /// Starts `linkway serve` (after a kill or a stop, again on the same ports).
    pub fn start(&self) -> std::io::Result<()> {
        let mut running = self.running.lock().unwrap();
        if running.is_some() {
            return Err(std::io::Error::other("linkway is already running"));
        }
        let mut cmd = self.command();
        cmd.arg("serve");
        *running = Some(spawn(cmd, &self.log_path())?);
        Ok(())
    }

    /// Starts it and waits until every service answers `/readyz` 200.
    pub async fn start_ready(&self, timeout: Duration) -> std::io::Result<()> {
        self.start()?;
        self.wait_ready(timeout).await
    }

    /// Runs another `linkway` sub-command with the same environment and waits for it,
    /// e.g. `["rebuild", "caseload", "--quiet"]` or `["admin", "org", "add", ...]`.
    pub fn run(&self, args: &[&str]) -> std::io::Result<std::process::Output> {
        let mut cmd = self.command();
        cmd.args(args);
        cmd.stdin(Stdio::null()).output()
    }

    /// `linkway` with this environment, nothing else of the test's `LINKWAY_*` settings.
    fn command(&self) -> Command {
        let mut cmd = Command::new(&self.binary);
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("LINKWAY_") {
                cmd.env_remove(name);
            }
        }
        cmd.envs(self.env.iter().map(|(n, v)| (n, v)));
        cmd
    }

    /// `http://127.0.0.1:<port>` of one service (`intake`, `link-worker`, `reporting`).
    pub fn url(&self, service: &str) -> String {
        format!("http://127.0.0.1:{}", self.port(service))
    }

    pub fn port(&self, service: &str) -> u16 {
        self.ports
            .iter()
            .find(|(s, _)| *s == service)
            .map(|(_, p)| *p)
            .unwrap_or_else(|| panic!("no service {service}"))
    }

    /// The pid of the running `linkway`, if any.
    pub fn pid(&self) -> Option<u32> {
        self.running.lock().unwrap().as_ref().map(|r| r.pid)
    }

    /// Waits until every service answers `GET /readyz` with 200, at most `timeout`. Fails
    /// at once, with the end of the log, if the process exits.
    pub async fn wait_ready(&self, timeout: Duration) -> std::io::Result<()> {
        let deadline = Instant::now() + timeout;
        for (service, port) in &self.ports {
            loop {
                if let Some(status) = self.try_exit_status() {
                    return Err(std::io::Error::other(format!(
                        "linkway exited ({status}) before it was ready; log:\n{}",
                        self.log_tail(40)
                    )));
                }
                if let Ok((200, _)) = get(*port, "/readyz").await {
                    break;
                }
                if Instant::now() > deadline {
                    let last = get(*port, "/readyz").await;
                    return Err(std::io::Error::other(format!(
                        "{service} not ready within {timeout:?} (last answer {last:?}); log:\n{}",
                        self.log_tail(40)
                    )));
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        Ok(())
    }

    /// `GET <path>` on one service: status and body (no TLS, no keep-alive).
    pub async fn get(&self, service: &str, path: &str) -> std::io::Result<(u16, String)> {
        get(self.port(service), path).await
    }

    /// kill -9: a crash, no shutdown of any kind. Returns once the process is gone.
    pub fn kill(&self) {
        if let Some(mut running) = self.running.lock().unwrap().take() {
            signal(running.pid, "KILL");
            let _ = running.watchdog.wait();
            running.stdin.take();
        }
    }

    /// Sends SIGTERM and waits at most `grace` for the process to exit. Returns its exit
    /// status, or `None` if it was still running after `grace` (it is then killed).
    pub fn sigterm(&self, grace: Duration) -> Option<ExitStatus> {
        self.signal("TERM");
        self.wait_exit(grace)
    }

    /// Sends a signal (`TERM`, `INT`, ...) without waiting.
    pub fn signal(&self, name: &str) {
        if let Some(pid) = self.pid() {
            signal(pid, name);
        }
    }

    /// Waits at most `timeout` for the process to exit by itself; kills it if it does not.
    /// Its exit status, or `None` when it had to be killed (or was not running).
    pub fn wait_exit(&self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.try_exit_status() {
                self.running.lock().unwrap().take();
                return Some(status);
            }
            if self.pid().is_none() || Instant::now() > deadline {
                self.kill();
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn try_exit_status(&self) -> Option<ExitStatus> {
        let mut running = self.running.lock().unwrap();
        running.as_mut()?.watchdog.try_wait().ok().flatten()
    }

    /// Kill -9, then start again with the same settings and ports.
    pub fn restart(&self) -> std::io::Result<()> {
        self.kill();
        self.start()
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("linkway.log")
    }

    /// Everything the process (every start of it) wrote to stdout and stderr.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    fn log_tail(&self, lines: usize) -> String {
        let log = self.log();
        let all: Vec<&str> = log.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }
}

impl Drop for Linkway {
    fn drop(&mut self) {
        self.kill();
    }
}

fn spawn(cmd: Command, log: &Path) -> std::io::Result<Running> {
    // `sh -c SCRIPT sh BINARY ARGS...`: the program and its arguments become "$@".
    let program = cmd.get_program().to_owned();
    let args: Vec<_> = cmd.get_args().map(|a| a.to_owned()).collect();
    let mut sh = Command::new("sh");
    sh.arg("-c").arg(WATCHDOG).arg("sh").arg(program).args(args);
    for (name, value) in cmd.get_envs() {
        match value {
            Some(v) => sh.env(name, v),
            None => sh.env_remove(name),
        };
    }
    sh.env("LINKWAY_TEST_LOG", log);
    let mut watchdog = sh
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        // The shell's own "Killed" notices; `linkway`'s output goes to the log file.
        .stderr(Stdio::null())
        .spawn()?;
    let mut line = String::new();
    BufReader::new(watchdog.stdout.take().expect("piped")).read_line(&mut line)?;
    let pid = line
        .trim()
        .parse()
        .map_err(|_| std::io::Error::other(format!("watchdog did not report a pid: {line:?}")))?;
    // Nothing is ever written to it; it only has to stay open while the handle lives.
    let stdin = watchdog.stdin.take();
    Ok(Running {
        watchdog,
        stdin,
        pid,
    })
}

fn signal(pid: u32, name: &str) {
    let _ = Command::new("kill")
        .args([&format!("-{name}"), &pid.to_string()])
        .status();
}

/// A minimal HTTP/1.1 GET on 127.0.0.1 (the harness has no HTTP client of its own).
async fn get(port: u16, path: &str) -> std::io::Result<(u16, String)> {
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
        stream
            .write_all(
                format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                    .as_bytes(),
            )
            .await?;
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await?;
        let answer = String::from_utf8_lossy(&answer).into_owned();
        let status = answer
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| std::io::Error::other(format!("not an HTTP answer: {answer:?}")))?;
        let body = answer
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_owned())
            .unwrap_or_default();
        Ok::<_, std::io::Error>((status, body))
    };
    tokio::time::timeout(Duration::from_secs(5), exchange)
        .await
        .map_err(|_| std::io::Error::other("no answer within 5 s"))?
}
