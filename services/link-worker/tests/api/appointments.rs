//! Appointments over HTTP: booked, moved, cancelled and missed through the command path,
//! listed in getCase, refused where the rules say (naming the rule), and only for the
//! organisation the case was routed to. "Now" is the service's manual clock.

use super::*;

/// An assigned case of NORTH's, and a link worker's token.
async fn assigned(s: &Service, name: &str) -> (Uuid, String) {
    let lw = s.token(NORTH, Role::LinkWorker).await;
    let (id, _) = s.refer(NORTH, name).await;
    s.ok(&lw, &format!("/cases/{id}/accept"), json!({})).await;
    s.ok(&lw, &format!("/cases/{id}/assignment"), json!({}))
        .await;
    (id, lw)
}

fn at(s: &Service, hours: i64) -> String {
    let when = s.env.clock.now() + time::Duration::hours(hours);
    when.format(&time::format_description::well_known::Rfc3339)
        .expect("rfc3339")
}

#[tokio::test]
async fn an_appointment_is_booked_moved_and_missed_and_the_case_lists_it() {
    let s = Service::start().await;
    let (id, lw) = assigned(&s, "Quin").await;
    let booked = s
        .ok(
            &lw,
            &format!("/cases/{id}/appointments"),
            json!({"starts_at": at(&s, 48), "minutes": 45, "channel": "face_to_face",
                   "place": "Northfield Community Centre"}),
        )
        .await;
    assert_eq!(booked["event_type"], "case.appointment_booked");
    let appointment = booked["appointment_id"].as_str().expect("appointment id");
    let base = format!("/cases/{id}/appointments/{appointment}");

    // Not started yet: a missed record is refused, naming the rule.
    let (status, problem) = s.post(&lw, &format!("{base}/missed"), json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    assert_eq!(problem["errors"][0]["rule"], "appointment_not_started");

    let moved = s
        .ok(
            &lw,
            &format!("{base}/move"),
            json!({"starts_at": at(&s, 72), "minutes": 30, "channel": "phone"}),
        )
        .await;
    assert_eq!(moved["event_type"], "case.appointment_moved");
    s.env.clock.advance(time::Duration::hours(73));
    let missed = s.ok(&lw, &format!("{base}/missed"), json!({})).await;
    assert_eq!(missed["event_type"], "case.contact_attempted");

    let (status, case) = s.case(&lw, id, seq(&missed)).await;
    assert_eq!(status, StatusCode::OK, "{case}");
    let listed = &case["appointments"][0];
    assert_eq!(listed["status"], "missed");
    assert_eq!(listed["channel"], "phone");
    assert_eq!(listed["moves"], 1);
    assert!(
        listed.get("place").is_none(),
        "the move took the place away"
    );
    assert_eq!(case["contacts"][0]["outcome"], "appointment_missed");
    let doc: Value = s.get(&lw, "/openapi.json").await.1;
    assert_documented(&doc, "CaseDetail", &case);
    let events = s.case_events(id).await;
    assert!(
        events.ends_with(&[
            "case.appointment_booked".to_owned(),
            "case.appointment_moved".to_owned(),
            "case.appointment_cancelled".to_owned(),
            "case.contact_attempted".to_owned(),
        ]),
        "{events:?}"
    );
}

#[tokio::test]
async fn refusals_name_the_field_and_the_rule_and_append_nothing() {
    let s = Service::start().await;
    let (id, lw) = assigned(&s, "Rue").await;
    let book = format!("/cases/{id}/appointments");
    let before = s.case_events(id).await.len();
    for (body, field, rule) in [
        (
            json!({"starts_at": at(&s, -1), "minutes": 30, "channel": "phone"}),
            "starts_at",
            "not_in_past",
        ),
        (
            json!({"starts_at": at(&s, 5), "minutes": 0, "channel": "phone"}),
            "minutes",
            "range",
        ),
        (
            json!({"starts_at": at(&s, 5), "minutes": 30, "channel": "phone", "place": "a\u{0007}b"}),
            "place",
            "no_control_characters",
        ),
    ] {
        let (status, problem) = s.post(&lw, &book, body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
        assert_eq!(problem["errors"][0]["field"], field, "{problem}");
        if field != "place" {
            assert_eq!(problem["errors"][0]["rule"], rule, "{problem}");
        }
    }
    let (status, problem) = s
        .post(&lw, &book, json!({"starts_at": at(&s, 5), "minutes": 30}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");

    let unknown = format!("{book}/{}/cancellation", Uuid::now_v7());
    let (status, problem) = s.post(&lw, &unknown, json!({"reason": "other"})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    assert_eq!(problem["errors"][0]["rule"], "appointment_unknown");
    let (status, _) = s.post(&lw, &unknown, json!({"reason": "missed"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(s.case_events(id).await.len(), before, "nothing appended");

    // Another service's link worker: the case does not exist for them.
    let other = s.token(SOUTH, Role::LinkWorker).await;
    let (status, _) = s
        .post(
            &other,
            &book,
            json!({"starts_at": at(&s, 5), "minutes": 30, "channel": "phone"}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // A commissioner may not book at all.
    let commissioner = s.token(NORTH, Role::Commissioner).await;
    let (status, _) = s
        .post(
            &commissioner,
            &book,
            json!({"starts_at": at(&s, 5), "minutes": 30, "channel": "phone"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_cancelled_appointment_cannot_be_moved_and_a_retry_books_once() {
    let s = Service::start().await;
    let (id, lw) = assigned(&s, "Sol").await;
    let book = format!("/cases/{id}/appointments");
    let body = json!({"starts_at": at(&s, 24), "minutes": 30, "channel": "video"});
    let key = Some("book-sol-1");
    let (first_status, first) = s.post_with(&lw, &book, body.clone(), key).await;
    let (again_status, again) = s.post_with(&lw, &book, body, key).await;
    assert_eq!(
        (first_status, again_status),
        (StatusCode::OK, StatusCode::OK)
    );
    assert_eq!(first["appointment_id"], again["appointment_id"]);
    let appointment = first["appointment_id"].as_str().expect("id");
    let cancelled = s
        .ok(
            &lw,
            &format!("{book}/{appointment}/cancellation"),
            json!({"reason": "person_cancelled"}),
        )
        .await;
    let (status, problem) = s
        .post(
            &lw,
            &format!("{book}/{appointment}/move"),
            json!({"starts_at": at(&s, 30), "minutes": 30, "channel": "video"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    assert_eq!(problem["errors"][0]["rule"], "appointment_not_booked");
    let (_, case) = s.case(&lw, id, seq(&cancelled)).await;
    assert_eq!(case["appointments"].as_array().map(Vec::len), Some(1));
    assert_eq!(case["appointments"][0]["cancel_reason"], "person_cancelled");
}
