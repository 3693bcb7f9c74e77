//! How a contact attempt ended (`outcome`, `case.contact_attempted` v2): optional in the
//! request (existing clients keep working: `not_recorded`), carried into the event, shown
//! on the case's contacts; refused on a contact made and outside the list.

use super::*;

#[tokio::test]
async fn an_attempts_outcome_reaches_the_event_and_the_cases_contacts() {
    let s = Service::start().await;
    let lw = s.token(NORTH, Role::LinkWorker).await;
    let (id, _) = s.refer(NORTH, "Ola").await;
    let contacts = format!("/cases/{id}/contacts");
    s.ok(&lw, &format!("/cases/{id}/accept"), json!({})).await;
    s.ok(&lw, &format!("/cases/{id}/assignment"), json!({}))
        .await;
    s.ok(
        &lw,
        &contacts,
        json!({"kind": "attempt", "channel": "phone", "outcome": "voicemail_left"}),
    )
    .await;
    s.ok(
        &lw,
        &contacts,
        json!({"kind": "attempt", "channel": "text"}),
    )
    .await;
    let last = s
        .ok(
            &lw,
            &contacts,
            json!({"kind": "attempt", "channel": "phone", "outcome": null}),
        )
        .await;

    let stored = s.store.load("case", &id.to_string()).await.expect("load");
    let attempts: Vec<(u32, Value)> = stored
        .iter()
        .map(|e| e.decode().expect("decode").0)
        .filter(|e| e.event_type == "case.contact_attempted")
        .map(|e| (e.version, e.data_value()["outcome"].clone()))
        .collect();
    assert_eq!(
        attempts,
        [
            (2, json!("voicemail_left")),
            (2, json!("not_recorded")),
            (2, json!("not_recorded"))
        ]
    );

    let (status, case) = s.case(&lw, id, seq(&last)).await;
    assert_eq!(status, StatusCode::OK, "{case}");
    let outcomes: Vec<&Value> = case["contacts"]
        .as_array()
        .expect("contacts")
        .iter()
        .map(|c| &c["outcome"])
        .collect();
    // Not recorded is absent, as on every attempt recorded before v2.
    assert_eq!(
        outcomes,
        [&json!("voicemail_left"), &Value::Null, &Value::Null]
    );
    assert_eq!(case["state"], "could_not_contact");
    let doc: Value = s.get(&lw, "/openapi.json").await.1;
    assert_documented(&doc, "CaseDetail", &case);
}

#[tokio::test]
async fn an_outcome_on_a_contact_made_or_outside_the_list_is_refused() {
    let s = Service::start().await;
    let lw = s.token(NORTH, Role::LinkWorker).await;
    let (id, _) = s.refer(NORTH, "Pim").await;
    let contacts = format!("/cases/{id}/contacts");
    s.ok(&lw, &format!("/cases/{id}/accept"), json!({})).await;
    s.ok(&lw, &format!("/cases/{id}/assignment"), json!({}))
        .await;
    let (status, problem) = s
        .post(
            &lw,
            &contacts,
            json!({"kind": "made", "channel": "phone", "minutes": 20, "outcome": "no_answer"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["errors"][0]["field"], "outcome", "{problem}");
    assert_eq!(problem["errors"][0]["rule"], "made_has_no_outcome");
    let (status, problem) = s
        .post(
            &lw,
            &contacts,
            json!({"kind": "attempt", "channel": "phone", "outcome": "answered"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert!(!problem.to_string().contains("answered"), "no value echoed");
    assert_eq!(s.case_events(id).await, ["case.accepted", "case.assigned"]);
}
