//! Connection answers' reasons through the API, and the connection timers in process on
//! the test environment's manual clock (`env.clock`): reminded at 7 days, declined at 14
//! as `no_answer_in_time`, each once.

use super::*;

/// A case worked to an agreed plan and connected to the fixture's service: the case and
/// the connection.
async fn connected(s: &Service, lw: &str) -> (Uuid, String) {
    let (id, _) = s.refer(NORTH, "Ida").await;
    let path = |p: &str| format!("/cases/{id}{p}");
    s.ok(lw, &path("/accept"), json!({})).await;
    s.ok(
        lw,
        &path("/assignment"),
        json!({"link_worker_id": "link_worker-user"}),
    )
    .await;
    s.ok(
        lw,
        &path("/contacts"),
        json!({"kind": "made", "channel": "phone", "minutes": 20}),
    )
    .await;
    s.ok(lw, &path("/plan"), plan_body(42)).await;
    let made = s
        .ok(
            lw,
            &path("/connections"),
            json!({"service_id": "ac148810-d857-441c-9679-408f346de14b",
                   "legal_basis": "explicit_consent", "share": ["name"]}),
        )
        .await;
    (id, made["connection_id"].as_str().expect("id").to_owned())
}

/// The case's first connection once the caseload holds `seq`.
async fn connection(s: &Service, lw: &str, id: Uuid, seq: u64) -> Value {
    let (status, case) = s.case(lw, id, seq).await;
    assert_eq!(status, StatusCode::OK, "{case}");
    case["connections"][0].clone()
}

#[tokio::test]
async fn a_decline_recorded_by_hand_keeps_its_reason_and_no_answer_in_time_is_linkways_own() {
    let s = Service::start().await;
    let lw = s.token(NORTH, Role::LinkWorker).await;
    let manager = s.token(NORTH, Role::ServiceManager).await;
    s.ok(&manager, "/directory/import", fixture("service_full.json"))
        .await;

    let (id, c) = connected(&s, &lw).await;
    let respond = format!("/cases/{id}/connections/{c}/responses");
    for (body, rule) in [
        (
            json!({"response": "accepted", "reason": "no_capacity"}),
            "reason_only_for_decline",
        ),
        (
            json!({"response": "declined", "reason": "no_answer_in_time"}),
            "reason_is_automatic",
        ),
    ] {
        let (status, problem) = s.post(&lw, &respond, body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
        assert_eq!(problem["errors"][0]["field"], "reason", "{problem}");
        assert_eq!(problem["errors"][0]["rule"], rule, "{problem}");
    }
    let (status, problem) = s
        .post(
            &lw,
            &respond,
            json!({"response": "declined", "reason": "busy"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert!(
        !s.case_events(id)
            .await
            .contains(&"case.connection_declined".to_owned()),
        "nothing appended when refused"
    );
    let declined = s
        .ok(
            &lw,
            &respond,
            json!({"response": "declined", "reason": "no_capacity"}),
        )
        .await;
    let view = connection(&s, &lw, id, seq(&declined)).await;
    assert_eq!(
        (&view["status"], &view["decline_reason"]),
        (&json!("declined"), &json!("no_capacity")),
        "{view}"
    );

    // Without a reason, a decline is recorded as `not_recorded`.
    let (id, c) = connected(&s, &lw).await;
    let declined = s
        .ok(
            &lw,
            &format!("/cases/{id}/connections/{c}/responses"),
            json!({"response": "declined"}),
        )
        .await;
    let view = connection(&s, &lw, id, seq(&declined)).await;
    assert_eq!(view["decline_reason"], "not_recorded", "{view}");
}

/// Waits until the case's log holds `n` events of `event_type`, then its event types.
async fn until_events(s: &Service, id: Uuid, event_type: &str, n: usize) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let events = s.case_events(id).await;
        if events.iter().filter(|t| *t == event_type).count() >= n {
            return events;
        }
        assert!(Instant::now() < deadline, "no {event_type} within 20 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn the_timers_remind_at_seven_days_and_decline_at_fourteen_by_the_services_clock() {
    let s = Service::start().await;
    let lw = s.token(NORTH, Role::LinkWorker).await;
    let manager = s.token(NORTH, Role::ServiceManager).await;
    s.ok(&manager, "/directory/import", fixture("service_full.json"))
        .await;
    let (id, _) = connected(&s, &lw).await;
    let (answered, c) = connected(&s, &lw).await;
    s.ok(
        &lw,
        &format!("/cases/{answered}/connections/{c}/responses"),
        json!({"response": "accepted"}),
    )
    .await;

    // The clock stood at the environment's start, before the connection was made.
    s.env
        .clock
        .advance(time::Duration::days(7) + time::Duration::hours(1));
    let events = until_events(&s, id, "case.connection_reminded", 1).await;
    let last = s.store.last_sequence().await.expect("end");
    let view = connection(&s, &lw, id, last).await;
    assert!(view["reminded_at"].is_string(), "{view}");
    assert_eq!(view["status"], "pending", "{view}");
    s.env.clock.advance(time::Duration::days(7));
    let events_after = until_events(&s, id, "case.connection_declined", 1).await;
    assert!(events_after.starts_with(&events), "{events_after:?}");
    let count = |t: &str| events_after.iter().filter(|e| *e == t).count();
    assert_eq!(
        (
            count("case.connection_reminded"),
            count("case.connection_declined")
        ),
        (1, 1),
        "{events_after:?}"
    );
    let last = s.store.last_sequence().await.expect("end");
    let view = connection(&s, &lw, id, last).await;
    assert_eq!(view["decline_reason"], "no_answer_in_time", "{view}");

    let (status, caseload) = s
        .get(
            &lw,
            &format!("/caseload?min_sequence={last}&include_closed=true"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{caseload}");
    let item = |case: Uuid| {
        caseload["items"]
            .as_array()
            .expect("items")
            .iter()
            .find(|i| i["referral_id"] == case.to_string())
            .cloned()
            .expect("on the caseload")
    };
    assert_eq!(item(id)["connection_declined_automatically"], true);
    assert_eq!(item(answered)["connection_declined_automatically"], false);
    let answered_events = s.case_events(answered).await;
    assert!(
        !answered_events
            .iter()
            .any(|t| t == "case.connection_reminded" || t == "case.connection_declined"),
        "answered in time: {answered_events:?}"
    );
}
