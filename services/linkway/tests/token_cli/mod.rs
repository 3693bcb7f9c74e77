//! What the token tests share: `linkway admin` run as a child process, `token list`'s
//! rows, its times, and waiting for what the services project.

#![allow(dead_code, reason = "each test binary uses its own part")]

use std::time::{Duration, Instant};

use linkway_testkit::Linkway;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

fn output(lw: &Linkway, args: &[&str]) -> std::process::Output {
    let mut all = vec!["admin"];
    all.extend_from_slice(args);
    lw.run(&all).expect("linkway admin")
}

/// `linkway admin <args>`'s output; panics with its error when it fails.
pub fn admin(lw: &Linkway, args: &[&str]) -> String {
    let out = output(lw, args);
    assert!(
        out.status.success(),
        "linkway admin {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// What `linkway admin` says on refusing `args`.
pub fn refused(lw: &Linkway, args: &[&str]) -> String {
    let out = output(lw, args);
    assert!(!out.status.success(), "linkway admin {args:?} was accepted");
    String::from_utf8(out.stderr).unwrap()
}

/// The cells of `token list`'s row for one token.
pub fn row(list: &str, token_id: &str) -> Vec<String> {
    list.lines()
        .find(|l| l.starts_with(token_id))
        .unwrap_or_else(|| panic!("{token_id} not listed:\n{list}"))
        .split("  ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_owned)
        .collect()
}

pub fn rfc3339(cell: &str) -> OffsetDateTime {
    OffsetDateTime::parse(cell, &Rfc3339)
        .unwrap_or_else(|e| panic!("{cell:?} is not an RFC 3339 time: {e}"))
}

/// `token create` or `token rotate`: the first line (the new id) and the last (the secret).
pub fn id_and_secret(printed: &str) -> (String, String) {
    let lines: Vec<&str> = printed.lines().collect();
    let secret = lines.last().expect("a secret");
    assert!(secret.starts_with("lw_"), "{printed}");
    (lines[0].to_owned(), (*secret).to_owned())
}

/// Waits until `done`, at most 30 s (what the services project from the log).
pub async fn until(what: &str, mut done: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done().await {
        assert!(Instant::now() < deadline, "{what}: not within 30 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
