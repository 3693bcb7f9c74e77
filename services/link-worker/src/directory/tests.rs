//! The import's rules against the Open Referral UK fixtures and what breaks them.

use super::*;
use serde_json::json;

fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/tests/fixtures/openreferral/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}")))
        .expect("fixture is JSON")
}

#[test]
fn the_full_service_fixture_parses_with_categories_and_areas() {
    let services = parse_import(&fixture("service_full.json")).expect("valid");
    assert_eq!(services.len(), 1);
    let s = &services[0];
    assert_eq!(s.id, "ac148810-d857-441c-9679-408f346de14b");
    assert_eq!(s.name, "Community Counselling");
    assert_eq!(s.status, "active");
    assert_eq!(
        s.organisation_name.as_deref(),
        Some("Example Organization Inc.")
    );
    assert!(
        s.categories.contains(&"name".to_owned()),
        "{:?}",
        s.categories
    );
    assert!(s.areas.contains("MyCity"), "{}", s.areas);
    assert!(s.accepts_connections());
}

#[test]
fn the_paginated_list_fixture_parses() {
    let services = parse_import(&fixture("service_list.json")).expect("valid");
    assert_eq!(services.len(), 1);
    assert_eq!(services[0].name, "Community Counselling");
}

#[test]
fn an_organisation_document_imports_its_services() {
    let services = parse_import(&fixture("organization_full.json")).expect("valid");
    assert_eq!(services.len(), 1);
    assert_eq!(services[0].id, "ac148810-d857-441c-9679-408f346de14b");
    assert_eq!(
        services[0].organisation_name.as_deref(),
        Some("Example Organization Inc.")
    );
    let errors = parse_import(&json!({"name": "Org", "services": [{"id": "x"}]})).unwrap_err();
    assert_eq!(errors[0].field, "services.0.name");
    let named = parse_import(&json!({"name": "Org", "services": [
        {"id": "x", "name": "n", "status": "active", "url": "https://x.example"}
    ]}))
    .unwrap();
    assert_eq!(named[0].organisation_name.as_deref(), Some("Org"));
}

#[test]
fn missing_required_fields_are_each_named() {
    let errors = parse_import(&json!({"description": "x"})).unwrap_err();
    let fields: Vec<(&str, &str)> = errors
        .iter()
        .map(|e| (e.field.as_str(), e.rule.as_str()))
        .collect();
    assert_eq!(
        fields,
        vec![
            ("id", "required"),
            ("name", "required"),
            ("status", "required"),
            ("url", "required")
        ]
    );
}

#[test]
fn an_unknown_status_and_a_bad_url_are_refused_with_their_position_in_a_list() {
    let mut good = fixture("service_full.json");
    let mut bad = good.clone();
    bad["id"] = json!("other");
    bad["status"] = json!("closed");
    bad["url"] = json!("example.com");
    good["id"] = json!("good");
    let errors = parse_import(&json!({"contents": [good, bad]})).unwrap_err();
    let fields: Vec<(&str, &str)> = errors
        .iter()
        .map(|e| (e.field.as_str(), e.rule.as_str()))
        .collect();
    assert_eq!(
        fields,
        vec![
            ("contents.1.status", "status_enum"),
            ("contents.1.url", "url")
        ]
    );
}

#[test]
fn every_status_of_the_standard_is_accepted_and_only_inactive_and_defunct_refuse_connections() {
    for status in STATUSES {
        let services = parse_import(
            &json!({"id": "s", "name": "n", "status": status, "url": "https://x.example"}),
        )
        .unwrap_or_else(|e| panic!("{status}: {e:?}"));
        assert_eq!(
            services[0].accepts_connections(),
            !matches!(status, "inactive" | "defunct"),
            "{status}"
        );
    }
}

#[test]
fn duplicate_ids_and_non_objects_are_refused() {
    let s = json!({"id": "s", "name": "n", "status": "active", "url": "https://x.example"});
    let errors = parse_import(&json!({"contents": [s.clone(), s]})).unwrap_err();
    assert_eq!(errors[0].rule, "unique");
    assert_eq!(parse_import(&json!([1])).unwrap_err()[0].rule, "type");
    assert_eq!(
        parse_import(&json!({"contents": [1]})).unwrap_err()[0].field,
        "contents.0"
    );
    assert_eq!(
        parse_import(&json!({"contents": {}})).unwrap_err()[0].field,
        "contents"
    );
    let blank = json!({"id": " ", "name": 3, "status": "active", "url": "https://x.example"});
    let rules: Vec<String> = parse_import(&blank)
        .unwrap_err()
        .into_iter()
        .map(|e| e.rule)
        .collect();
    assert_eq!(rules, vec!["non_empty_string", "non_empty_string"]);
}
