//! Unit tests of the settings (the real binary's are in `tests/configuration.rs`).

use super::*;

#[test]
fn defaults_ignore_the_environment_and_keep_secrets_out_of_debug() {
    let s = Settings::defaults();
    assert_eq!(s.nats_url, ["nats://127.0.0.1:4222"]);
    assert_eq!(s.batch_size, 20_000);
    assert!(s.pseudonym_key.is_none());
    let printed = format!("{s:?}");
    assert!(!printed.contains("postgres://"), "{printed}");
    assert!(printed.contains("[redacted]"));
}

#[test]
fn reporting_rules_are_checked_when_built() {
    let s = Settings {
        disclosure_rounding: 0,
        ..Settings::defaults()
    };
    assert!(s.reporting(Secret::new("0123456789abcdef")).is_err());
}
