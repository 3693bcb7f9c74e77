//! The clinical safety hazard log (`docs/HAZARDS.md`) names, for every hazard, the tests
//! that prove its controls. This test fails when a named test no longer exists, when a
//! hazard names none, or when one of the hazards the log must cover is missing.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace root")
        .to_path_buf()
}

/// Every hazard row: `| H<n> | ... | tests |`, with the test names in the last column as
/// `` `name` `` spans.
fn hazards(log: &str) -> Vec<(String, Vec<String>)> {
    log.lines()
        .filter(|l| l.starts_with("| H"))
        .map(|row| {
            let cells: Vec<&str> = row.trim_matches('|').split('|').map(str::trim).collect();
            let id = cells[0].to_owned();
            let tests = cells
                .last()
                .expect("a row has cells")
                .split('`')
                .skip(1)
                .step_by(2)
                .map(str::to_owned)
                .collect();
            (id, tests)
        })
        .collect()
}

/// The names of every `fn` in the Rust sources under `dir`.
fn functions(dir: &Path, found: &mut BTreeSet<String>) {
    for entry in std::fs::read_dir(dir).expect("a readable directory") {
        let path = entry.expect("an entry").path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if path.is_dir() {
            if name != "target" && !name.starts_with('.') && name != "node_modules" {
                functions(&path, found);
            }
        } else if name.ends_with(".rs") {
            let text = std::fs::read_to_string(&path).expect("a readable source file");
            for part in text.split("fn ").skip(1) {
                let ident: String = part
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !ident.is_empty() {
                    found.insert(ident);
                }
            }
        }
    }
}

#[test]
fn every_test_the_hazard_log_names_exists() {
    let log = std::fs::read_to_string(root().join("docs/HAZARDS.md")).expect("docs/HAZARDS.md");
    let mut found = BTreeSet::new();
    functions(&root().join("services"), &mut found);
    functions(&root().join("tests"), &mut found);
    let rows = hazards(&log);
    assert!(!rows.is_empty(), "the hazard log lists no hazard rows");
    for (id, tests) in rows {
        assert!(
            !tests.is_empty(),
            "{id} names no test that proves its control"
        );
        for test in tests {
            assert!(
                found.contains(&test),
                "{id} names the test `{test}`, which no longer exists"
            );
        }
    }
}

#[test]
fn the_hazard_log_covers_every_hazard_it_must() {
    let log = std::fs::read_to_string(root().join("docs/HAZARDS.md")).expect("docs/HAZARDS.md");
    let log = log.to_lowercase();
    for hazard in [
        "routed to nobody",
        "wrong person",
        "consent",
        "lawful basis",
        "safeguarding",
        "gp record",
        "stale directory",
        "wrong organisation",
    ] {
        assert!(
            log.contains(hazard),
            "the hazard log has no hazard about {hazard}"
        );
    }
}

#[test]
fn the_checker_reads_test_names_from_the_last_column() {
    let rows = hazards(
        "| Id | Hazard | Tests |\n|---|---|---|\n| H1 | lost | `a_test`, `b_test` |\n| H2 | x | none |\n",
    );
    assert_eq!(
        rows,
        vec![
            (
                "H1".to_owned(),
                vec!["a_test".to_owned(), "b_test".to_owned()]
            ),
            ("H2".to_owned(), vec![]),
        ]
    );
}
