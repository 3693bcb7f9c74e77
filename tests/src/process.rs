//! A child server under a shell watchdog: the shell starts the server, prints its pid,
//! then waits on its stdin; when the test process ends (or drops the handle) the pipe
//! closes and the shell stops the server.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};

pub(crate) struct Watched {
    child: Child,
    stdin: Option<ChildStdin>,
    /// The server's own pid (the watchdog's child), for kill -9.
    pub(crate) pid: u32,
}

impl Watched {
    /// Runs `command` (a shell command line) under the watchdog, as `user` if given.
    /// `stop_signal` is what the watchdog sends when asked to stop (e.g. `INT`).
    pub(crate) fn spawn(
        command: &str,
        user: Option<&str>,
        stop_signal: &str,
    ) -> std::io::Result<Watched> {
        let script = format!(
            "{command} & pid=$!; echo $pid; read _ignored; kill -{stop_signal} $pid 2>/dev/null; wait $pid"
        );
        let mut cmd = match user {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--", "sh", "-c", &script]);
                c
            }
            None => {
                let mut c = Command::new("sh");
                c.args(["-c", &script]);
                c
            }
        };
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("piped")).read_line(&mut line)?;
        let pid = line.trim().parse().map_err(|_| {
            std::io::Error::other(format!("watchdog did not report a pid: {line:?}"))
        })?;
        Ok(Watched {
            stdin: child.stdin.take(),
            child,
            pid,
        })
    }

    /// Asks the server to stop and waits for it.
    pub(crate) fn stop(&mut self) {
        if let Some(mut stdin) = self.stdin.take() {
            let _ = stdin.write_all(b"\n");
        }
        let _ = self.child.wait();
    }

    /// Kills the server with SIGKILL: a crash, no clean shutdown.
    pub(crate) fn kill(&mut self) {
        let _ = Command::new("kill")
            .args(["-KILL", &self.pid.to_string()])
            .status();
        self.stop();
    }
}

impl Drop for Watched {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Waits until something accepts TCP connections on the port.
pub(crate) fn wait_for_port(port: u16, what: &str) -> std::io::Result<()> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while std::time::Instant::now() < deadline {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(());
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    Err(std::io::Error::other(format!(
        "{what} did not open port {port} within 30 s"
    )))
}

/// The running process of a server, if any (an implementation detail of [`Server`]).
#[derive(Default)]
pub struct Slot(std::sync::Mutex<Option<Watched>>);

impl Slot {
    pub(crate) fn put(&self, watched: Watched) {
        *self.0.lock().unwrap() = Some(watched);
    }

    fn take(&self) -> Option<Watched> {
        self.0.lock().unwrap().take()
    }
}

/// Fault injection on a private server: stop, kill, start again.
pub trait Server {
    #[doc(hidden)]
    fn slot(&self) -> &Slot;
    /// Starts the server process on its port and data directory.
    #[doc(hidden)]
    fn run(&self) -> std::io::Result<()>;

    /// Stops the server cleanly (its data stays).
    fn stop(&self) {
        if let Some(mut p) = self.slot().take() {
            p.stop();
        }
    }

    /// Kills the server with SIGKILL: a crash.
    fn kill(&self) {
        if let Some(mut p) = self.slot().take() {
            p.kill();
        }
    }

    /// Stops it and starts it again on the same port with the same data.
    fn restart(&self) -> std::io::Result<()> {
        self.stop();
        self.run()
    }

    /// Starts it again after a stop or kill.
    fn start_again(&self) -> std::io::Result<()> {
        self.run()
    }
}
