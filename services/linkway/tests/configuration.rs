//! The settings: the README's table against the definitions, the precedence of flag,
//! environment, file and default, secrets that never print, reporting's refusal to run
//! without a pseudonym key, and `linkway migrate` migrating without starting anything.

use std::collections::BTreeMap;
use std::process::{Command, Output};

use linkway_testkit::{TestEnv, shared_postgres};

const BINARY: &str = env!("CARGO_BIN_EXE_linkway");

/// `variable -> default` (None: no default) from the README's Configuration table.
fn readme_table() -> BTreeMap<String, Option<String>> {
    let readme = include_str!("../../../README.md");
    let section = readme
        .split("## Configuration\n")
        .nth(1)
        .expect("README has a Configuration section");
    let section = section.split("\n## ").next().unwrap();
    let mut table = BTreeMap::new();
    for row in section.lines().filter(|l| l.starts_with("| `LINKWAY_")) {
        let cells: Vec<&str> = row.trim_matches('|').split(" | ").map(str::trim).collect();
        assert_eq!(
            cells.len(),
            3,
            "a row is variable | default | meaning: {row}"
        );
        let vars = backticked(cells[0]);
        let defaults = backticked(cells[1]);
        assert!(
            defaults.is_empty() || defaults.len() == vars.len(),
            "one default per variable, or `none`: {row}"
        );
        if defaults.is_empty() {
            assert_eq!(
                cells[1], "none",
                "a default is backticked, or `none`: {row}"
            );
        }
        for (i, var) in vars.into_iter().enumerate() {
            let previous = table.insert(var.clone(), defaults.get(i).cloned());
            assert!(previous.is_none(), "{var} documented twice");
        }
    }
    table
}

fn backticked(cell: &str) -> Vec<String> {
    cell.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

/// `variable -> default` from the command line's definitions.
fn defined() -> BTreeMap<String, Option<String>> {
    let command = linkway::cli::command();
    command
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

#[test]
fn the_readme_documents_every_setting_with_its_default_and_nothing_else() {
    let documented = readme_table();
    let defined = defined();
    assert!(defined.len() >= 25, "the settings are found: {defined:?}");
    let missing: Vec<_> = defined
        .keys()
        .filter(|v| !documented.contains_key(*v))
        .collect();
    let extra: Vec<_> = documented
        .keys()
        .filter(|v| !defined.contains_key(*v))
        .collect();
    assert!(
        missing.is_empty(),
        "settings the README does not document: {missing:?}"
    );
    assert!(
        extra.is_empty(),
        "README rows for settings that do not exist: {extra:?}"
    );
    for (var, default) in &defined {
        assert_eq!(&documented[var], default, "{var}: README default vs code");
    }
}

/// `linkway <args>` with only the given `LINKWAY_*` variables.
fn linkway(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(BINARY);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("LINKWAY_") {
            cmd.env_remove(name);
        }
    }
    cmd.args(args).envs(env.iter().copied());
    cmd.output().expect("run linkway")
}

fn settings_lines(output: &Output) -> BTreeMap<String, String> {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|l| {
            let (var, rest) = l.split_once('=')?;
            Some((var.to_owned(), rest.to_owned()))
        })
        .collect()
}

#[test]
fn a_flag_beats_the_environment_which_beats_the_file_which_beats_the_default() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("linkway.toml");
    std::fs::write(
        &file,
        r#"
nats_url = ["nats://linkway:nats-file-secret@a.example:4222", "nats://b.example:4222"]
batch_size = 111
stream = "FROM_FILE"
replicas = 3
database_url = "postgres://user:file-secret@db.example/postgres"
pseudonym_key = "file-pseudonym-key-kept-secret"
"#,
    )
    .unwrap();
    let out = linkway(
        &["settings", "--stream", "FROM_FLAG"],
        &[
            ("LINKWAY_CONFIG", file.to_str().unwrap()),
            ("LINKWAY_BATCH_SIZE", "222"),
            ("LINKWAY_STREAM", "FROM_ENV"),
            ("LINKWAY_PSEUDONYM_KEY", "a-secret-key-that-is-long-enough"),
        ],
    );
    let all = String::from_utf8_lossy(&out.stdout).into_owned();
    let s = settings_lines(&out);
    assert_eq!(
        s["LINKWAY_NATS_URL"],
        "nats://a.example:4222,nats://b.example:4222  (file)"
    );
    assert_eq!(s["LINKWAY_REPLICAS"], "3  (file)");
    assert_eq!(s["LINKWAY_BATCH_SIZE"], "222  (environment)");
    assert_eq!(s["LINKWAY_STREAM"], "FROM_FLAG  (flag)");
    assert_eq!(s["LINKWAY_BATCH_DELAY_MS"], "20  (default)");
    assert_eq!(s["LINKWAY_DATABASE_URL"], "[redacted]  (file)");
    assert_eq!(s["LINKWAY_PSEUDONYM_KEY"], "[redacted]  (environment)");
    assert!(
        !all.contains("file-secret") && !all.contains("long-enough") && !all.contains("linkway:"),
        "{all}"
    );

    // The file's secret is not shown by --help either.
    let help = linkway(&["--help"], &[("LINKWAY_CONFIG", file.to_str().unwrap())]);
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(help.contains("--database-url"), "{help}");
    assert!(
        !help.contains("file-secret") && !help.contains("file-pseudonym-key"),
        "{help}"
    );

    // Nor by the settings listing when the file holds the key.
    let from_file = linkway(&["settings"], &[("LINKWAY_CONFIG", file.to_str().unwrap())]);
    let listed = String::from_utf8_lossy(&from_file.stdout);
    assert!(
        listed.contains("LINKWAY_PSEUDONYM_KEY=[redacted]  (file)"),
        "{listed}"
    );
    assert!(!listed.contains("file-pseudonym-key"), "{listed}");
}

#[test]
fn a_file_key_that_is_not_a_setting_or_a_bad_value_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("linkway.toml");
    std::fs::write(&file, "batch_sise = 10\n").unwrap();
    let out = linkway(&["settings", "--config", file.to_str().unwrap()], &[]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("\"batch_sise\" is not a setting") && err.contains("batch_size"),
        "{err}"
    );

    for (var, value) in [
        ("LINKWAY_BATCH_SIZE", "0"),
        ("LINKWAY_MAX_CONTACT_ATTEMPTS", "21"),
        ("LINKWAY_PSEUDONYM_KEY", "short"),
        ("LINKWAY_BIND", "not-an-address"),
    ] {
        let out = linkway(&["settings"], &[(var, value)]);
        assert!(!out.status.success(), "{var}={value} accepted");
    }
}

#[test]
fn serve_refuses_to_run_reporting_without_a_pseudonym_key() {
    // Nothing listens on port 1: the refusal comes before any connection is tried.
    let out = linkway(
        &["serve", "--services", "reporting"],
        &[("LINKWAY_NATS_URL", "nats://127.0.0.1:1")],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("LINKWAY_PSEUDONYM_KEY"), "{err}");
}

#[tokio::test]
async fn migrate_brings_the_databases_up_to_date_and_starts_nothing() {
    let env = TestEnv::on("nats://127.0.0.1:1".into(), shared_postgres().url());
    // No NATS at all: migrating needs none, so it can start no projection either.
    let out = tokio::task::spawn_blocking({
        let prefix = env.scope.database_prefix.clone();
        let url = env.postgres_url.clone();
        move || {
            linkway(
                &["migrate"],
                &[
                    ("LINKWAY_NATS_URL", "nats://127.0.0.1:1"),
                    ("LINKWAY_DATABASE_URL", &url),
                    ("LINKWAY_DATABASE_PREFIX", &prefix),
                ],
            )
        }
    });
    let out = tokio::time::timeout(std::time::Duration::from_secs(60), out)
        .await
        .expect("migrate finishes without NATS")
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for service in ["intake", "link-worker", "reporting"] {
        let db = env.database(service).await;
        let client = db.client().await.unwrap();
        let schemas: Vec<String> = client
            .query(
                "SELECT schema_name FROM information_schema.schemata
                 WHERE schema_name IN ('registry', 'referrals', 'caseload', 'reporting')",
                &[],
            )
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert!(
            schemas.is_empty(),
            "{service}: no projection prepared: {schemas:?}"
        );
        let migrated: i64 = client
            .query_one("SELECT count(*) FROM platform_schema_history", &[])
            .await
            .unwrap()
            .get(0);
        assert!(migrated > 0, "{service}: platform tables migrated");
    }
    let intake = env.database("intake").await;
    let service_migrations: i64 = intake
        .client()
        .await
        .unwrap()
        .query_one("SELECT count(*) FROM service_schema_history", &[])
        .await
        .unwrap()
        .get(0);
    assert!(service_migrations > 0, "intake's own tables migrated");
}

#[test]
fn no_code_but_the_settings_reads_the_environment() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut readers = Vec::new();
    let mut scanned = 0;
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let rel = path
                .strip_prefix(&root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            if path.is_dir() {
                // Only code that ships: each crate's src/ (tests may read their own knobs).
                if !rel.ends_with("/tests") && !rel.ends_with("target") {
                    stack.push(path);
                }
            } else if rel.contains("/src/") && rel.ends_with(".rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                scanned += 1;
                if (text.contains("env::var") || text.contains("try_from_env"))
                    && rel != "linkway/src/config/file.rs"
                {
                    readers.push(rel);
                }
            }
        }
    }
    assert!(
        scanned > 50,
        "the services' sources are scanned ({scanned} files)"
    );
    assert!(
        readers.is_empty(),
        "read the environment beside the settings: {readers:?}"
    );
}

#[tokio::test]
async fn the_benchmark_runs_every_service_through_its_service_shape() {
    let env = TestEnv::shared();
    let settings = linkway::Settings {
        nats_url: vec![env.nats_url.clone()],
        database_url: linkway_platform::secret::Secret::new(env.postgres_url.clone()),
        database_prefix: env.scope.database_prefix.clone(),
        ..linkway::Settings::defaults()
    };
    for mix in [linkway::bench::Mix::Simple, linkway::bench::Mix::National] {
        let options = linkway::bench::Options {
            mix,
            ..linkway::bench::Options::new(300, 50)
        };
        let report = linkway::bench::run(&settings, &options)
            .await
            .expect("bench");
        let replayed: Vec<&str> = report.replay.iter().map(|f| f.name).collect();
        assert_eq!(
            replayed.len(),
            3,
            "a replay into each service's read model: {replayed:?}"
        );
        // Every read model reaches the end of the log, alone and all three at once.
        let appended = report.append.count;
        assert!(appended >= 250, "{}", report.render());
        assert!(
            report.replay.iter().all(|f| f.count == appended),
            "{}",
            report.render()
        );
        let together = report.replay_together.as_ref().expect("together");
        assert_eq!(together.count, 3 * appended, "{}", report.render());
    }
}

#[tokio::test]
async fn only_the_demo_runs_reporting_without_a_configured_key() {
    let env = TestEnv::shared();
    let vars = [
        ("LINKWAY_NATS_URL".to_owned(), env.nats_url.clone()),
        ("LINKWAY_DATABASE_URL".to_owned(), env.postgres_url.clone()),
        (
            "LINKWAY_DATABASE_PREFIX".to_owned(),
            env.scope.database_prefix.clone(),
        ),
        ("LINKWAY_STREAM".to_owned(), env.scope.stream.clone()),
        (
            "LINKWAY_SUBJECT_PREFIX".to_owned(),
            env.scope.subject_prefix.clone(),
        ),
        ("LINKWAY_INTAKE_PORT".to_owned(), "0".to_owned()),
        ("LINKWAY_LINK_WORKER_PORT".to_owned(), "0".to_owned()),
        ("LINKWAY_REPORTING_PORT".to_owned(), "0".to_owned()),
    ];
    let out = tokio::task::spawn_blocking(move || {
        let vars: Vec<(&str, &str)> = vars.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        linkway(&["demo", "--referrals", "3", "--exit"], &vars)
    });
    let out = tokio::time::timeout(std::time::Duration::from_secs(120), out)
        .await
        .expect("the demo seeds and exits")
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("LINKWAY_PSEUDONYM_KEY is not set: the demo runs reporting on its public"),
        "the demo says it runs on the public key: {err}"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("/summary"));
    // Every case worked, the second referred on to the demo's community service.
    assert!(
        stdout.contains("3 synthetic referrals sent, 3 cases worked"),
        "{stdout}"
    );
}
