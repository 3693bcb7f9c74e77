//! Page scripts in headless Chromium: [`run_browser_script`] runs a Node script of
//! `tests/browser/` (Playwright through `playwright-core`, helpers in
//! `tests/browser/lib.mjs`) against Debian's `/usr/bin/chromium`, never a downloaded
//! browser, and fails the test with the script's stderr when it exits non-zero.
//!
//! The script gets the caller's variables plus `CHROMIUM` (the executable, default
//! `/usr/bin/chromium`) and `SCREENSHOT_DIR` ([`screenshot_dir`]). It runs under a
//! watchdog like the servers: if the test process dies, the script (and with it
//! Chromium) is stopped.

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::Duration;

use crate::oidc::{browser_dir, check_node_modules, node};

/// Starts `"$@"` with no stdin of its own and kills it with SIGTERM once the watchdog's
/// stdin closes (the handle dropped, or the test process died); exits with its status.
const WATCHDOG: &str = r#"exec 3<&0
"$@" 3<&- </dev/null &
pid=$!
( read _ignored <&3; kill -TERM $pid 2>/dev/null ) &
watcher=$!
exec 3<&-
wait $pid
code=$?
kill $watcher 2>/dev/null
exit $code"#;

/// The Chromium executable: `CHROMIUM` if set, else Debian's.
pub fn chromium() -> PathBuf {
    std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| "/usr/bin/chromium".into())
}

/// Where page scripts save screenshots and axe results: `browser-screenshots/` in the
/// build's target dir (`CARGO_TARGET_DIR`, else the workspace's `target/`), created.
pub fn screenshot_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let dir = target.join("browser-screenshots");
    std::fs::create_dir_all(&dir).expect("create the screenshot dir");
    dir
}

/// How long one script may run: `LINKWAY_BROWSER_SCRIPT_TIMEOUT` seconds, default 300.
fn timeout() -> Duration {
    let secs = std::env::var("LINKWAY_BROWSER_SCRIPT_TIMEOUT")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(300);
    Duration::from_secs(secs)
}

/// Runs `node <script>` in `tests/browser` (a relative `script` is taken from there) with
/// `env` added, and returns its output once it exits 0. Panics with the script's stderr
/// and stdout when it exits non-zero, runs past the timeout, or cannot start (Chromium
/// or `node_modules` missing: run `deploy/browser.sh`).
///
/// Async, so servers of the same test (an axum router on this runtime) keep serving
/// the browser while the script runs.
pub async fn run_browser_script(script: impl AsRef<Path>, env: &[(&str, &str)]) -> Output {
    let dir = browser_dir();
    let script = dir.join(script.as_ref());
    let name = script.display().to_string();
    if let Err(e) = check_node_modules() {
        panic!("{e}");
    }
    let chromium = chromium();
    assert!(
        chromium.exists(),
        "{} not found: run deploy/browser.sh (Debian's chromium)",
        chromium.display()
    );
    let mut command = tokio::process::Command::new("sh");
    command
        .args(["-c", WATCHDOG, "sh"])
        .arg(node())
        .arg(&script)
        .current_dir(&dir)
        .env("CHROMIUM", &chromium)
        .env("SCREENSHOT_DIR", screenshot_dir())
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = command
        .spawn()
        .unwrap_or_else(|e| panic!("start {name}: {e}"));
    // Held until the script ends: closing it tells the watchdog to stop the script.
    let stdin = child.stdin.take();
    let output = tokio::time::timeout(timeout(), child.wait_with_output()).await;
    drop(stdin);
    let output = match output {
        Ok(Ok(output)) => output,
        Ok(Err(e)) => panic!("wait for {name}: {e}"),
        Err(_) => panic!("{name} still running after {:?}: stopped", timeout()),
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        panic!(
            "{name} failed ({}):\n{stderr}\n--- stdout ---\n{stdout}",
            output.status
        );
    }
    print!("{stdout}");
    eprint!("{stderr}");
    output
}
