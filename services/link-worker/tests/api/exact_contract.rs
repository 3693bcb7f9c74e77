//! Issue 9: the OpenAPI document was looser than the code (negative `limit`, `minutes: 0`,
//! any `Idempotency-Key`, text of any length or character). The document now states what
//! the code accepts: these tests walk it for the bounds, and send requests at the edge of
//! each bound to check that what the document allows is accepted and what it refuses is
//! refused (422, nothing appended).

use linkway_platform::http::paging::{DEFAULT_LIMIT, MAX_LIMIT};
use linkway_platform::text::Text;

use super::*;

fn doc() -> Value {
    serde_json::to_value(linkway_link_worker::openapi()).expect("document")
}

/// The schema of query or header parameter `name` of the operation at `path`.
fn parameter<'d>(doc: &'d Value, path: &str, method: &str, name: &str) -> &'d Value {
    doc["paths"][path][method]["parameters"]
        .as_array()
        .unwrap_or_else(|| panic!("{path} has parameters"))
        .iter()
        .find(|p| p["name"] == name)
        .map(|p| &p["schema"])
        .unwrap_or_else(|| panic!("{path} {name}"))
}

fn property<'d>(doc: &'d Value, schema: &str, name: &str) -> &'d Value {
    let p = &doc["components"]["schemas"][schema]["properties"][name];
    assert!(p.is_object(), "{schema}.{name}");
    p
}

/// The text rule's pattern and length (required text: the pattern that also wants a
/// character other than white space).
fn assert_text(schema: &Value, text: Text, what: &str) {
    let required = linkway_link_worker::api::contract::required_pattern(text);
    assert!(
        schema["pattern"] == text.pattern() || schema["pattern"] == required.as_str(),
        "{what}: {schema}"
    );
    assert_eq!(schema["maxLength"], text.max_chars, "{what}: {schema}");
}

/// A request body is refused (422) exactly when the document says it is invalid.
fn valid(doc: &Value, schema: &str, body: &Value) -> bool {
    schema_errors(doc, schema, body).is_empty()
}

#[test]
fn the_document_states_the_bounds_the_code_enforces() {
    use linkway_link_worker::api::fields;
    let doc = doc();
    for (path, method) in [("/caseload", "get"), ("/directory", "get")] {
        let limit = parameter(&doc, path, method, "limit");
        assert_eq!(limit["minimum"], 1, "{path}");
        assert_eq!(limit["maximum"], MAX_LIMIT, "{path}");
        assert_eq!(limit["default"], DEFAULT_LIMIT, "{path}");
        assert_eq!(
            parameter(&doc, path, method, "offset")["minimum"],
            0,
            "{path}"
        );
    }
    for name in ["q", "category", "area"] {
        assert_text(
            parameter(&doc, "/directory", "get", name),
            fields::SEARCH,
            name,
        );
    }
    assert_text(
        parameter(&doc, "/caseload", "get", "link_worker"),
        fields::LINK_WORKER_ID,
        "link_worker",
    );
    // Every command's headers.
    let mut commands = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        let Some(op) = item.get("post") else { continue };
        // The pages' forms carry their key and version as fields, not headers.
        if path == "/directory/import" || path == "/directory/sync" || op["tags"][0] == "pages" {
            continue;
        }
        commands += 1;
        let key = parameter(&doc, path, "post", "Idempotency-Key");
        assert_eq!(key["type"], "string", "{path}");
        assert_eq!(key["minLength"], 1, "{path}");
        assert_eq!(key["maxLength"], 255, "{path}");
        assert_eq!(key["pattern"], "^[!-~]+$", "{path}");
        let version = parameter(&doc, path, "post", "If-Match");
        assert_eq!(version["type"], "string", "{path}");
        assert!(version["pattern"].is_string(), "{path}");
        assert!(op["operationId"].is_string());
    }
    // 11, the four appointment commands, and the inbox's three answers.
    assert_eq!(commands, 18, "every case command");
    // Texts.
    for (schema, name, text) in fields::DOCUMENTED {
        let p = property(&doc, schema, name);
        let p = if p["type"] == "array" { &p["items"] } else { p };
        assert_text(p, *text, &format!("{schema}.{name}"));
    }
    let plan = &doc["components"]["schemas"]["PlanRequest"]["properties"];
    assert_eq!(plan["goals"]["minItems"], *fields::GOALS.start());
    assert_eq!(plan["goals"]["maxItems"], *fields::GOALS.end());
    assert_eq!(plan["actions"]["maxItems"], fields::MAX_ACTIONS);
    assert_eq!(
        doc["components"]["schemas"]["ConnectRequest"]["properties"]["share"]["uniqueItems"],
        true
    );
    // A contact: an attempt has no minutes or notes; a contact made has 1-600 minutes.
    let contact = &doc["components"]["schemas"]["ContactRequest"]["oneOf"];
    let made = contact
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["properties"]["kind"]["enum"][0] == "made")
        .expect("made");
    assert_eq!(
        made["properties"]["minutes"]["minimum"],
        *fields::MINUTES.start()
    );
    assert_eq!(
        made["properties"]["minutes"]["maximum"],
        *fields::MINUTES.end()
    );
    assert_text(&made["properties"]["notes"], fields::CONTACT_NOTES, "notes");
    // An outcome: each instrument's item count and answer range.
    let outcome = doc["components"]["schemas"]["OutcomeRequest"]["oneOf"]
        .as_array()
        .expect("one schema per instrument");
    for instrument in linkway_link_worker::outcomes::Instrument::ALL {
        let (_, min, max) = instrument.shape();
        let variants: Vec<&Value> = outcome
            .iter()
            .filter(|v| v["properties"]["instrument"]["enum"][0] == instrument.as_str())
            .collect();
        // One schema per item count the instrument takes, each exactly that many items.
        let counts: Vec<u64> = variants
            .iter()
            .map(|s| {
                let items = &s["properties"]["item_answers"];
                assert_eq!(items["minItems"], items["maxItems"], "{instrument:?}");
                assert_eq!(items["items"]["minimum"], min);
                assert_eq!(items["items"]["maximum"], max);
                items["minItems"].as_u64().unwrap()
            })
            .collect();
        let expected: Vec<u64> = instrument.item_counts().map(|n| n as u64).collect();
        assert_eq!(counts, expected, "{instrument:?}");
        for s in variants {
            let n = s["properties"]["item_answers"]["minItems"]
                .as_u64()
                .unwrap();
            // MYCaW's concerns: one per item before wellbeing, each a line the text rule keeps.
            let concerns = &s["properties"]["concerns"];
            if instrument.asks_for_concerns() {
                assert_eq!(
                    (&concerns["minItems"], &concerns["maxItems"]),
                    (&json!(n - 1), &json!(n - 1))
                );
                assert_text(&concerns["items"], fields::MEASURED_CONCERN, "concerns");
                assert!(
                    s["required"]
                        .as_array()
                        .unwrap()
                        .contains(&json!("concerns"))
                );
            } else {
                assert!(concerns.is_null(), "{instrument:?} takes no concerns");
            }
        }
    }
}

#[tokio::test]
async fn paging_is_accepted_at_its_bounds_and_refused_beyond_them() {
    let s = Service::start().await;
    let lw = s.token(NORTH, Role::LinkWorker).await;
    for list in ["/caseload", "/directory"] {
        for (query, ok) in [
            ("limit=1", true),
            ("limit=200", true),
            ("offset=0", true),
            ("limit=0", false),
            ("limit=201", false),
            ("limit=-1", false),
            ("offset=-1", false),
            ("limit=1.5", false),
            ("limit=ten", false),
        ] {
            let (status, body) = s.get(&lw, &format!("{list}?{query}")).await;
            let expected = if ok {
                StatusCode::OK
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            assert_eq!(status, expected, "{list}?{query}: {body}");
            if !ok {
                assert!(body["errors"][0]["field"].is_string(), "{body}");
            }
        }
    }
}

#[tokio::test]
async fn a_command_body_is_refused_exactly_when_the_document_says_it_is_invalid() {
    let s = Service::start().await;
    let lw = s.token(NORTH, Role::LinkWorker).await;
    let (id, _) = s.refer(NORTH, "Edge").await;
    engage(&s, &lw, id).await;
    let doc: Value = s.get(&lw, "/openapi.json").await.1;
    let review = (OffsetDateTime::now_utc().date() + time::Duration::days(30)).to_string();
    let plan = |goals: Value, actions: Value, what: Value| json!({"what_matters": what, "goals": goals, "actions": actions, "review_date": review});
    let long = |n: usize| Value::String("x".repeat(n));
    let contact = |v: Value| {
        let mut c = json!({"channel": "phone"});
        c.as_object_mut()
            .unwrap()
            .extend(v.as_object().unwrap().clone());
        c
    };
    let g = |n: usize| json!(vec!["g"; n]);
    let a = |n: usize| json!(vec!["a"; n]);
    let contacts = [
        json!({"kind": "made", "minutes": 1}),
        json!({"kind": "made", "minutes": 600}),
        json!({"kind": "made", "minutes": 0}),
        json!({"kind": "made", "minutes": 601}),
        json!({"kind": "made", "minutes": -1}),
        json!({"kind": "made"}),
        json!({"kind": "made", "minutes": 5, "notes": null}),
        json!({"kind": "made", "minutes": 5, "notes": long(10_000)}),
        json!({"kind": "made", "minutes": 5, "notes": long(10_001)}),
        json!({"kind": "attempt", "minutes": 0}),
        json!({"kind": "attempt", "notes": "x"}),
        json!({"kind": "attempt", "minutes": null, "notes": null}),
    ];
    let plans = [
        plan(g(20), a(50), json!("w")),
        plan(g(21), a(0), json!("w")),
        plan(g(0), a(0), json!("w")),
        plan(g(1), a(51), json!("w")),
        plan(g(1), a(0), long(4000)),
        plan(g(1), a(0), long(4001)),
        plan(g(1), a(0), json!(" \t ")),
        plan(json!([" "]), a(0), json!("w")),
        plan(g(1), a(0), json!(null)),
    ];
    let outcome = |instrument: &str, answers: Value| json!({"instrument": instrument, "timepoint": "baseline", "item_answers": answers});
    let cases: Vec<(&str, &str, Vec<Value>)> = vec![
        (
            "/contacts",
            "ContactRequest",
            contacts.map(contact).to_vec(),
        ),
        ("/plan", "PlanRequest", plans.to_vec()),
        (
            "/safeguarding",
            "SafeguardingRequest",
            vec![
                json!({"concern": long(10_000)}),
                json!({"concern": long(10_001)}),
                json!({"concern": null}),
            ],
        ),
        (
            "/assignment",
            "AssignRequest",
            vec![
                json!({"link_worker_id": null}),
                json!({"link_worker_id": long(128)}),
                json!({"link_worker_id": long(129)}),
            ],
        ),
        (
            "/outcomes",
            "OutcomeRequest",
            vec![
                outcome("ucla3", json!([1, 2, 3])),
                outcome("ucla3", json!([1, 2, 4])),
                outcome("ucla3", json!([1, 2])),
                outcome("ons4", json!([0, 10, 5, 5])),
                outcome("ons4", json!([0, 11, 5, 5])),
            ],
        ),
        (
            "/connections",
            "ConnectRequest",
            vec![
                json!({"service_id": "x", "legal_basis": "explicit_consent", "share": ["name", "name"]}),
                json!({"service_id": long(129), "legal_basis": "explicit_consent"}),
            ],
        ),
        ("/decline", "DeclineRequest", vec![json!({"reason": null})]),
        ("/closure", "CloseRequest", vec![json!({"reason": null})]),
    ];
    let mut accepted = 0;
    for (path, schema, bodies) in cases {
        for body in bodies {
            let before = s.case_events(id).await.len();
            let by_document = valid(&doc, schema, &body);
            let (status, answer) = s
                .post(&lw, &format!("/cases/{id}{path}"), body.clone())
                .await;
            if by_document {
                assert_ne!(
                    status,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "{path} {body} is valid by the document: {answer}"
                );
                accepted += usize::from(status == StatusCode::OK);
            } else {
                assert_eq!(
                    status,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "{path} {body} is invalid by the document: {answer}"
                );
                assert_eq!(
                    s.case_events(id).await.len(),
                    before,
                    "{path} {body} appended"
                );
            }
        }
    }
    assert!(accepted >= 10, "the valid edges were accepted ({accepted})");
}

#[tokio::test]
async fn idempotency_keys_and_case_versions_are_read_as_the_document_says() {
    let s = Service::start().await;
    let lw = s.token(NORTH, Role::LinkWorker).await;
    let (id, _) = s.refer(NORTH, "Kit").await;
    let doc = doc();
    let key = parameter(&doc, "/cases/{id}/safeguarding", "post", "Idempotency-Key").clone();
    let version = parameter(&doc, "/cases/{id}/safeguarding", "post", "If-Match").clone();
    let validator = |schema: &Value| {
        jsonschema::draft202012::options()
            .build(schema)
            .expect("schema compiles")
    };
    let concern = json!({"concern": "fell at home"});
    let path = format!("{}/cases/{id}/safeguarding", s.base);
    let keys = [
        "k".repeat(255),
        "k".repeat(256),
        "a b".into(),
        "abc~!".into(),
        "é".into(),
        String::new(),
    ];
    let versions = [
        "\"1\"",
        "W/\"1\"",
        "1",
        "+1",
        "\"1",
        "*",
        "W/1",
        "1 2",
        "\"99999999999999999999\"",
    ];
    let sent = keys
        .iter()
        .map(|k| ("Idempotency-Key", k.as_str(), &key))
        .chain(versions.iter().map(|v| ("If-Match", *v, &version)));
    for (header, value, schema) in sent {
        let documented = validator(schema).is_valid(&json!(value));
        let request = s.http.post(&path).bearer_auth(&lw).header(header, value);
        let status = request.json(&concern).send().await.unwrap().status();
        // A value the document allows is read (a version may be stale: 409), never refused.
        assert_eq!(
            status == StatusCode::UNPROCESSABLE_ENTITY,
            !documented,
            "{header} {value:?}: {status}"
        );
    }
}

#[tokio::test]
async fn what_the_document_cannot_state_is_refused_only_for_a_case_the_caller_can_see() {
    let s = Service::start().await;
    let lw = s.token(NORTH, Role::LinkWorker).await;
    let past =
        json!({"what_matters": "w", "goals": ["g"], "actions": [], "review_date": "2001-01-01"});
    let unknown = json!({"service_id": "no-such-service", "legal_basis": "explicit_consent"});
    let (id, _) = s.refer(NORTH, "Seen").await;
    engage(&s, &lw, id).await;
    for (path, body, field, rule) in [
        ("/plan", &past, "review_date", "not_in_past"),
        ("/connections", &unknown, "service_id", "known_service"),
    ] {
        // A case no one routed to the caller: 404, whatever the body says.
        let (status, _) = s
            .post(
                &lw,
                &format!("/cases/{}{path}", Uuid::now_v7()),
                body.clone(),
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        let (status, problem) = s
            .post(&lw, &format!("/cases/{id}{path}"), body.clone())
            .await;
        super::text_rule::assert_refused(status, &problem, field, rule, path);
    }
}

#[tokio::test]
async fn whole_numbers_written_with_a_fraction_of_zero_are_the_integers_the_document_allows() {
    let s = Service::start().await;
    let lw = s.token(NORTH, Role::LinkWorker).await;
    let (id, _) = s.refer(NORTH, "Whole").await;
    engage(&s, &lw, id).await;
    let contact = json!({"kind": "made", "channel": "phone", "minutes": 30.0});
    s.ok(&lw, &format!("/cases/{id}/contacts"), contact).await;
    let outcome =
        json!({"instrument": "ucla3", "timepoint": "baseline", "item_answers": [1.0, 2, 3.0]});
    let done = s.ok(&lw, &format!("/cases/{id}/outcomes"), outcome).await;
    let (_, case) = s.case(&lw, id, seq(&done)).await;
    assert_eq!(case["contact_minutes"], 40 + 30, "{case}");
    for (path, body) in [
        (
            "/contacts",
            json!({"kind": "made", "channel": "phone", "minutes": 30.5}),
        ),
        (
            "/outcomes",
            json!({"instrument": "ucla3", "timepoint": "baseline", "item_answers": [1, 2.5, 3]}),
        ),
    ] {
        let (status, _) = s.post(&lw, &format!("/cases/{id}{path}"), body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{path}");
    }
}

#[tokio::test]
async fn a_directory_import_is_refused_exactly_when_the_document_says_it_is_invalid() {
    let s = Service::start().await;
    let manager = s.token(NORTH, Role::ServiceManager).await;
    let doc: Value = s.get(&manager, "/openapi.json").await.1;
    let valid_service =
        json!({"id": "s-1", "name": "Walkers", "status": "active", "url": "https://walk.example"});
    let with = |pointer: &str, value: Value| {
        let mut service = valid_service.clone();
        let (parent, key) = pointer.rsplit_once('/').unwrap();
        let target = if parent.is_empty() {
            &mut service
        } else {
            service.pointer_mut(parent).unwrap()
        };
        target[key] = value;
        service
    };
    let bodies = [
        json!({}),
        valid_service.clone(),
        json!({"contents": [valid_service]}),
        json!({"contents": []}),
        json!({"name": "Org", "services": [valid_service]}),
        json!({"contents": "no"}),
        with("/status", json!(" active")),
        with("/status", json!("closed")),
        with("/url", json!(" https://walk.example")),
        with("/url", json!("walk.example")),
        with("/name", json!("111")),
        with("/name", json!("  ")),
        with("/id", json!("x".repeat(129))),
        with("/extra", json!({"note": "a\u{0}b"})),
        with("/extra", json!({"a\u{1b}": 1})),
        with("/description", json!(5)),
        with("/description", json!("two\nlines")),
        with("/description", json!("a\u{1b}b")),
        with("/organization", json!("not an object")),
        with("/organization", json!({"name": "one\ntwo"})),
        with("/attributes", json!([{"taxonomy_term": {"name": "a\nb"}}])),
        with("/attributes", json!([{"taxonomy_term": {"name": 7}}])),
        with("/service_areas", json!([{"name": "x".repeat(256)}])),
    ];
    for body in bodies {
        let by_document = valid(&doc, "DirectoryImport", &body);
        let (status, answer) = s.post(&manager, "/directory/import", body.clone()).await;
        let expected = if by_document {
            StatusCode::OK
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        };
        assert_eq!(status, expected, "{body}: {answer}");
    }
}
