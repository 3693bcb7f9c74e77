//! The deployment files against the binary: `deploy/linkway.env.sample` names every
//! setting the command line defines and no other, with the built-in default on each
//! commented line; the systemd units run command lines the binary accepts, and stop
//! within the shutdown grace period plus a margin.

use std::collections::BTreeMap;

const SAMPLE: &str = include_str!("../../../deploy/linkway.env.sample");
const SYSTEMD: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../deploy/systemd");

/// `variable -> default` (None: no default) from the command line's definitions, as
/// `tests/configuration.rs` reads them for the README.
fn defined() -> BTreeMap<String, Option<String>> {
    linkway::cli::command()
        .get_arguments()
        .filter_map(|arg| {
            let var = arg.get_env()?.to_string_lossy().into_owned();
            let defaults: Vec<String> = arg
                .get_default_values()
                .iter()
                .map(|v| v.to_string_lossy().into_owned())
                .collect();
            Some((var, (!defaults.is_empty()).then(|| defaults.join(","))))
        })
        .collect()
}

/// One setting line of the sample: `NAME=value` (set) or `# NAME=value` (the default).
struct SampleLine {
    commented: bool,
    value: String,
}

fn sample_lines() -> BTreeMap<String, SampleLine> {
    let mut lines = BTreeMap::new();
    for line in SAMPLE.lines() {
        let (commented, rest) = match line.strip_prefix("# ") {
            Some(rest) => (true, rest),
            None => (false, line),
        };
        let Some((name, value)) = rest.split_once('=') else {
            continue;
        };
        if !name.starts_with("LINKWAY_") || name.contains(char::is_whitespace) {
            continue;
        }
        let previous = lines.insert(
            name.to_owned(),
            SampleLine {
                commented,
                value: value.to_owned(),
            },
        );
        assert!(previous.is_none(), "{name} is in the sample twice");
    }
    lines
}

/// Every word of the sample starting `LINKWAY_`, comments included (not `LINKWAY_*`, nor
/// NATS's `NATS_LINKWAY_PASSWORD`).
fn mentioned() -> Vec<String> {
    SAMPLE
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '*'))
        .filter(|word| word.starts_with("LINKWAY_") && !word.ends_with('*'))
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_env_sample_names_every_setting_with_its_default_and_nothing_else() {
    let defined = defined();
    assert!(defined.len() >= 25, "the settings are found: {defined:?}");
    let sample = sample_lines();
    let missing: Vec<_> = defined
        .keys()
        .filter(|v| !sample.contains_key(*v))
        .collect();
    assert!(missing.is_empty(), "settings the sample lacks: {missing:?}");
    let unknown: Vec<_> = mentioned()
        .into_iter()
        .filter(|v| !defined.contains_key(v))
        .collect();
    assert!(
        unknown.is_empty(),
        "the sample names settings the binary does not have: {unknown:?}"
    );
    for (var, line) in &sample {
        match (&defined[var], line.commented) {
            (Some(default), true) => {
                assert_eq!(&line.value, default, "{var}: sample default vs code");
            }
            (None, true) => {}
            (_, false) => assert!(
                line.value.contains("<password>") || line.value.contains("<secret>"),
                "{var} is set in the sample; only placeholders to replace are: {}",
                line.value
            ),
        }
    }
}

/// The units' `Key=value` lines (the last one of each key wins, as in systemd).
fn unit(name: &str) -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(format!("{SYSTEMD}/{name}")).expect("read unit");
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

#[test]
fn the_systemd_units_run_command_lines_the_binary_accepts() {
    let grace = defined()["LINKWAY_SHUTDOWN_GRACE_SECS"]
        .clone()
        .expect("a default grace")
        .parse::<u64>()
        .unwrap();
    for (name, args) in [
        ("linkway.service", vec!["serve"]),
        (
            "linkway-intake.service",
            vec!["serve", "--services", "intake"],
        ),
        (
            "linkway-link-worker.service",
            vec!["serve", "--services", "link-worker"],
        ),
        (
            "linkway-reporting.service",
            vec!["serve", "--services", "reporting"],
        ),
        ("linkway-migrate.service", vec!["migrate"]),
    ] {
        let unit = unit(name);
        let exec: Vec<&str> = unit["ExecStart"].split_whitespace().collect();
        assert_eq!(exec[0], "/usr/local/bin/linkway", "{name}");
        assert_eq!(exec[1..], args, "{name}");
        let parsed = linkway::cli::command().try_get_matches_from(exec.iter().copied());
        assert!(parsed.is_ok(), "{name}: {:?}", parsed.err());
        assert_eq!(
            unit["EnvironmentFile"], "/etc/linkway/linkway.env",
            "{name}"
        );
        if args[0] == "serve" {
            assert_eq!(unit["KillSignal"], "SIGTERM", "{name}");
            assert_eq!(
                unit["TimeoutStopSec"],
                (grace + 5).to_string(),
                "{name}: LINKWAY_SHUTDOWN_GRACE_SECS plus 5 s"
            );
        }
    }
}
