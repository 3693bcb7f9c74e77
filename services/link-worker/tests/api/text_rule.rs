//! Issue 9: text a database cannot hold was accepted and then broke the caseload read model
//! (a NUL in contact notes dead-lettered the event: the contact never showed). Every text a
//! link worker types now goes through the platform's one text rule at the edge: refused
//! with 422 naming the field and the rule (never the value), and nothing appended.

use super::*;

/// A value that must never come back in a refusal.
const SECRET: &str = "Robin9434765919";

/// Asserts a 422 naming `field` and `rule`, without echoing what was sent.
pub(super) fn assert_refused(
    status: StatusCode,
    problem: &Value,
    field: &str,
    rule: &str,
    what: &str,
) {
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{what}: {problem}"
    );
    assert_eq!(problem["errors"][0]["field"], field, "{what}: {problem}");
    assert_eq!(problem["errors"][0]["rule"], rule, "{what}: {problem}");
    assert!(
        !problem.to_string().contains(SECRET),
        "{what}: the refusal echoes the value: {problem}"
    );
}

/// Dead letters of the link-worker's projections (the caseload's, above all).
pub(super) async fn dead_letters(s: &Service) -> Vec<String> {
    let db = s.env.database("link-worker").await;
    let client = db.client().await.expect("database");
    client
        .query("SELECT projection || ': ' || reason FROM dead_letters", &[])
        .await
        .expect("dead letters")
        .iter()
        .map(|r| r.get(0))
        .collect()
}

#[tokio::test]
async fn a_nul_in_contact_notes_is_refused_naming_the_field_and_nothing_is_appended() {
    let s = Service::start().await;
    let lw = s.token(NORTH, Role::LinkWorker).await;
    let (id, _) = s.refer(NORTH, "Nula").await;
    let last = engage(&s, &lw, id).await;
    let before = s.case_events(id).await;
    let (status, problem) = s
        .post(
            &lw,
            &format!("/cases/{id}/contacts"),
            json!({"kind": "made", "channel": "phone", "minutes": 30,
                "notes": format!("{SECRET} said\u{0} hello")}),
        )
        .await;
    assert_refused(status, &problem, "notes", "control_character", "NUL");
    assert_eq!(s.case_events(id).await, before, "nothing appended");
    let (_, case) = s.case(&lw, id, last).await;
    assert_eq!(case["person_name"], "Nula Testperson", "{case}");
    assert!(dead_letters(&s).await.is_empty());
}

#[tokio::test]
async fn control_characters_in_any_text_a_link_worker_types_are_refused_and_nothing_is_appended() {
    let s = Service::start().await;
    let lw = s.token(NORTH, Role::LinkWorker).await;
    let (id, _) = s.refer(NORTH, "Cora").await;
    let last = engage(&s, &lw, id).await;
    let before = s.case_events(id).await;
    let review = (OffsetDateTime::now_utc().date() + time::Duration::days(30)).to_string();
    let plan = |what: &str, goal: &str, action: &str| json!({"what_matters": what, "goals": [goal], "actions": [action], "review_date": review});
    let bad = [
        format!("{SECRET}\u{0}said"),
        format!("{SECRET}\u{1b}[31m"),
        format!("{SECRET}\u{202E}evil"),
        format!("{SECRET}\u{FFFF}x"),
        format!("{SECRET}\u{85}x"),
    ];
    for b in &bad {
        let cases = [
            (
                "/contacts",
                json!({"kind": "made", "channel": "phone", "minutes": 5, "notes": b}),
                "notes",
            ),
            ("/plan", plan(b, "walk", "ring"), "what_matters"),
            ("/plan", plan("people", b, "ring"), "goals.0"),
            ("/plan", plan("people", "walk", b), "actions.0"),
            ("/safeguarding", json!({"concern": b}), "concern"),
            (
                "/assignment",
                json!({"link_worker_id": b}),
                "link_worker_id",
            ),
        ];
        for (path, body, field) in cases {
            let (status, problem) = s.post(&lw, &format!("/cases/{id}{path}"), body).await;
            assert_refused(
                status,
                &problem,
                field,
                "control_character",
                &format!("{path} {b:?}"),
            );
        }
    }
    // A newline is a control character too, in text of one line.
    let (status, problem) = s
        .post(
            &lw,
            &format!("/cases/{id}/plan"),
            plan("people", "walk", "ring\nback"),
        )
        .await;
    assert_refused(
        status,
        &problem,
        "actions.0",
        "control_character",
        "newline",
    );
    assert_eq!(s.case_events(id).await, before, "nothing appended");
    let (status, case) = s.case(&lw, id, last).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(case["contacts_made"], 1);
    assert!(dead_letters(&s).await.is_empty());
}

#[tokio::test]
async fn typed_text_is_kept_trimmed_and_normalised_and_multi_line_text_keeps_its_lines() {
    let s = Service::start().await;
    let lw = s.token(NORTH, Role::LinkWorker).await;
    let (id, _) = s.refer(NORTH, "Noor").await;
    engage(&s, &lw, id).await;
    // "e" + combining acute is kept as the one precomposed character.
    let made = s
        .ok(
            &lw,
            &format!("/cases/{id}/contacts"),
            json!({"kind": "made", "channel": "phone", "minutes": 5,
                "notes": "  Cafe\u{301} on Tuesday\r\n\tthen the library  "}),
        )
        .await;
    let (_, case) = s.case(&lw, id, seq(&made)).await;
    let notes = &case["contacts"][1]["notes"];
    assert_eq!(notes, "Caf\u{e9} on Tuesday\n\tthen the library", "{case}");
    // A blank optional note is no note.
    let made = s
        .ok(
            &lw,
            &format!("/cases/{id}/contacts"),
            json!({"kind": "made", "channel": "phone", "minutes": 5, "notes": "   "}),
        )
        .await;
    let (_, case) = s.case(&lw, id, seq(&made)).await;
    assert_eq!(case["contacts"][2]["notes"], Value::Null, "{case}");
}

#[tokio::test]
async fn a_directory_import_with_a_control_character_in_any_string_is_refused_and_imports_nothing()
{
    let s = Service::start().await;
    let manager = s.token(NORTH, Role::ServiceManager).await;
    let service = |id: &str| {
        json!({"id": id, "name": "Headingley walking group", "status": "active",
            "url": "https://walk.example", "description": "Gentle walks\nevery Tuesday",
            "organization": {"name": "Walkers"},
            "service_areas": [{"id": "a", "name": "Leeds"}],
            "attributes": [{"id": "x", "taxonomy_term": {"id": "t1", "name": "Physical activity"}}]})
    };
    let bad = format!("{SECRET}\u{0}");
    let mut cases = Vec::new();
    for (pointer, field) in [
        ("/id", "contents.1.id"),
        ("/name", "contents.1.name"),
        ("/description", "contents.1.description"),
        ("/organization/name", "contents.1.organization.name"),
        ("/service_areas/0/name", "contents.1.service_areas.0.name"),
        (
            "/attributes/0/taxonomy_term/name",
            "contents.1.attributes.0.taxonomy_term.name",
        ),
        ("/url", "contents.1.url"),
    ] {
        let mut item = service("walk-2");
        *item.pointer_mut(pointer).expect(pointer) = json!(bad);
        cases.push((item, field, "control_character"));
    }
    // A string of the document Linkway does not read is stored with it: it must be storable.
    let mut item = service("walk-2");
    item["extra"] = json!({"note": bad});
    cases.push((item, "contents.1.extra.note", "control_character"));
    let mut item = service("walk-2");
    item["name"] = json!(" \t ");
    cases.push((item, "contents.1.name", "non_empty_string"));
    let mut item = service("walk-2");
    item["name"] = json!("x".repeat(300));
    cases.push((item, "contents.1.name", "max_length"));
    for (item, field, rule) in cases {
        let body = json!({"contents": [service("walk-1"), item]});
        let (status, problem) = s.post(&manager, "/directory/import", body).await;
        assert_refused(status, &problem, field, rule, field);
    }
    let (status, page) = s.get(&manager, "/directory").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["total"], 0, "all or nothing: {page}");
    // What is imported is kept trimmed and normalised.
    let mut item = service("walk-3");
    item["name"] = json!("  Cafe\u{301} club ");
    s.ok(&manager, "/directory/import", item).await;
    let (_, page) = s.get(&manager, "/directory").await;
    assert_eq!(page["items"][0]["name"], "Caf\u{e9} club", "{page}");
}

#[tokio::test]
async fn search_text_with_a_control_character_is_refused_not_a_server_error() {
    let s = Service::start().await;
    let lw = s.token(NORTH, Role::LinkWorker).await;
    for (path, field) in [
        ("/directory?q=a%00b", "q"),
        ("/directory?category=a%00b", "category"),
        ("/directory?area=a%1Bb", "area"),
        ("/caseload?link_worker=a%00b", "link_worker"),
    ] {
        let (status, problem) = s.get(&lw, path).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{path}: {problem}"
        );
        assert_eq!(problem["errors"][0]["field"], field, "{path}");
        assert_eq!(problem["errors"][0]["rule"], "control_character", "{path}");
    }
}
