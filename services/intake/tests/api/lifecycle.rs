//! After sending: idempotent resubmission, withdrawal, entered-in-error, unroutable
//! referrals routed by hand, possible duplicates, and the timeline fed by case events.

use linkway_events::referral::ReferralEvent;
use linkway_events::{Event, Role};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::*;

#[tokio::test]
async fn the_same_idempotency_key_and_body_get_the_original_answer_and_append_nothing() {
    let intake = Intake::start().await;
    intake.add_rule(SERVICE, district("LS6"), 1).await;
    let gp = intake.token(GP, Role::Referrer).await;
    let (status, first) = intake
        .submit_with_key(&gp, &referral(), Some("emis-4711"))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let end = intake.log_end().await;
    let (status, again) = intake
        .submit_with_key(&gp, &referral(), Some("emis-4711"))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(again, first);
    assert_eq!(intake.log_end().await, end, "a retry appends nothing");
    assert_eq!(
        intake
            .events(first["referral_id"].as_str().unwrap())
            .await
            .len(),
        2
    );

    let mut other = referral();
    other["urgency"] = json!("urgent");
    let (status, problem) = intake.submit_with_key(&gp, &other, Some("emis-4711")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        problem["type"],
        "https://linkway.example/problems/idempotency-key-reused"
    );
    assert_eq!(intake.log_end().await, end);

    // Keys belong to an organisation: another one may use the same key for its own referral.
    let other_gp = intake.token(OTHER_GP, Role::Referrer).await;
    let (status, theirs) = intake
        .submit_with_key(&other_gp, &referral(), Some("emis-4711"))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_ne!(theirs["referral_id"], first["referral_id"]);
}

#[tokio::test]
async fn concurrent_retries_with_one_key_create_one_referral() {
    let intake = Intake::start().await;
    intake.add_rule(SERVICE, district("LS6"), 1).await;
    let gp = intake.token(GP, Role::Referrer).await;
    let body = referral();
    let attempts = (0..4).map(|_| intake.submit_with_key(&gp, &body, Some("double-click")));
    let answers = futures::future::join_all(attempts).await;
    let ids: Vec<Value> = answers
        .iter()
        .map(|(s, b)| {
            assert_eq!(*s, StatusCode::CREATED, "{b}");
            b["referral_id"].clone()
        })
        .collect();
    assert!(ids.iter().all(|i| *i == ids[0]), "{ids:?}");
    let events = intake.events(ids[0].as_str().unwrap()).await;
    assert_eq!(events.len(), 2, "one received, one routed: {events:?}");
}

#[tokio::test]
async fn a_referrer_withdraws_its_referral_and_nobody_else_can() {
    let intake = Intake::start().await;
    intake.add_rule(SERVICE, district("LS6"), 1).await;
    let gp = intake.token(GP, Role::Referrer).await;
    let other = intake.token(OTHER_GP, Role::Referrer).await;
    let icb = intake.token(ICB, Role::Commissioner).await;
    let (_, sent) = intake.submit(&gp, &referral()).await;
    let id = sent["referral_id"].as_str().unwrap();
    let path = format!("/referrals/{id}/withdraw");
    let before = intake.log_end().await;

    let (status, theirs) = intake
        .post(&other, &path, &json!({"reason": "not ours"}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, missing) = intake
        .post(
            &other,
            "/referrals/0195606d-9db4-7445-b4c4-ba2ea74ad4bf/withdraw",
            &json!({"reason": "x"}),
        )
        .await;
    assert_eq!(theirs, missing);
    let (status, _) = intake.post(&icb, &path, &json!({"reason": "x"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, p) = intake.post(&gp, &path, &json!({"reason": "  "})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        (
            p["errors"][0]["field"].as_str(),
            p["errors"][0]["rule"].as_str()
        ),
        (Some("reason"), Some("required"))
    );
    assert_eq!(intake.log_end().await, before);

    let (status, done) = intake
        .post(&gp, &path, &json!({"reason": "The person moved away"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(done["status"], "withdrawn");
    let events = intake.events(id).await;
    assert!(matches!(
        events.last().unwrap().1,
        Event::Referral(ReferralEvent::Withdrawn(_))
    ));
    let (_, view) = intake
        .get(
            &gp,
            &format!("/referrals/{id}?min_sequence={}", done["sequence"]),
        )
        .await;
    assert_eq!(view["status"], "withdrawn");
    assert_eq!(
        view["timeline"].as_array().unwrap().last().unwrap()["kind"],
        "withdrawn"
    );

    let (status, _) = intake.post(&gp, &path, &json!({"reason": "again"})).await;
    assert_eq!(status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn entered_in_error_by_the_referrer_or_an_admin_only() {
    let intake = Intake::start().await;
    intake.add_rule(SERVICE, district("LS6"), 1).await;
    let gp = intake.token(GP, Role::Referrer).await;
    let other = intake.token(OTHER_GP, Role::Referrer).await;
    let admin = intake.token(OPS, Role::Admin).await;
    let (_, a) = intake.submit(&gp, &referral()).await;
    let (_, b) = intake.submit(&gp, &referral()).await;
    let path = |v: &Value| {
        format!(
            "/referrals/{}/entered-in-error",
            v["referral_id"].as_str().unwrap()
        )
    };

    let (status, _) = intake
        .post(&other, &path(&a), &json!({"reason": "wrong person"}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, done) = intake
        .post(&gp, &path(&a), &json!({"reason": "wrong person"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(done["status"], "entered_in_error");
    let (status, _) = intake
        .post(&gp, &path(&a), &json!({"reason": "wrong person"}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);

    let (status, done) = intake
        .post(&admin, &path(&b), &json!({"reason": "test data"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{done}");
    let (_, view) = intake
        .get(
            &gp,
            &format!(
                "/referrals/{}?min_sequence={}",
                b["referral_id"].as_str().unwrap(),
                done["sequence"]
            ),
        )
        .await;
    assert_eq!(view["status"], "entered_in_error");
}

#[tokio::test]
async fn unroutable_referrals_are_listed_for_admins_and_routed_by_hand() {
    let intake = Intake::start().await;
    let gp = intake.token(GP, Role::Referrer).await;
    let admin = intake.token(OPS, Role::Admin).await;
    let (_, sent) = intake.submit(&gp, &referral()).await;
    assert_eq!(sent["status"], "unroutable");
    let id = sent["referral_id"].as_str().unwrap();

    let (status, _) = intake.get(&gp, "/admin/unroutable").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, list) = intake
        .get(
            &admin,
            &format!("/admin/unroutable?min_sequence={}", sent["sequence"]),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert_eq!(list["items"][0]["referral_id"], id);
    assert_eq!(list["items"][0]["postcode_district"], "LS6");
    assert!(list["items"][0]["reason"].as_str().unwrap().contains("LS6"));

    let path = format!("/referrals/{id}/route");
    let (status, _) = intake
        .post(&gp, &path, &json!({"link_worker_organisation_id": SERVICE}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, p) = intake
        .post(&admin, &path, &json!({"link_worker_organisation_id": GP}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(p["errors"][0]["rule"], "link_worker_service");
    let (status, p) = intake.post(&admin, &path, &json!({})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(p["errors"][0]["rule"], "required");

    let (status, routed) = intake
        .post(
            &admin,
            &path,
            &json!({"link_worker_organisation_id": SERVICE}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{routed}");
    assert_eq!(routed["status"], "routed");
    let events = intake.events(id).await;
    let Event::Referral(ReferralEvent::Routed(r)) = &events.last().unwrap().1 else {
        panic!()
    };
    assert_eq!(
        (r.link_worker_organisation_id.as_str(), r.rule_id),
        (SERVICE, None)
    );
    let (_, list) = intake
        .get(
            &admin,
            &format!("/admin/unroutable?min_sequence={}", routed["sequence"]),
        )
        .await;
    assert_eq!(list["items"], json!([]));
    let (_, view) = intake
        .get(
            &gp,
            &format!("/referrals/{id}?min_sequence={}", routed["sequence"]),
        )
        .await;
    assert_eq!(view["status"], "routed");
    assert_eq!(view["link_worker_organisation_id"], SERVICE);

    let (status, _) = intake
        .post(
            &admin,
            &path,
            &json!({"link_worker_organisation_id": OTHER_SERVICE}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "a routed referral is not routed again"
    );
}

/// The possible duplicates intake's read model found for a submitted referral, as an
/// administrator sees them (the event no longer carries them: `referral.received` v2).
async fn possible_duplicates(intake: &Intake, admin: &str, submitted: &Value) -> Vec<String> {
    let id = submitted["referral_id"].as_str().expect("referral id");
    let path = format!("/referrals/{id}?min_sequence={}", submitted["sequence"]);
    let (status, view) = intake.get(admin, &path).await;
    assert_eq!(status, StatusCode::OK, "{view}");
    view["possible_duplicate_of"]
        .as_array()
        .expect("shown to administrators")
        .iter()
        .map(|u| u.as_str().expect("a referral id").to_owned())
        .collect()
}

#[tokio::test]
async fn the_same_person_referred_again_to_the_same_service_is_flagged_not_merged() {
    let intake = Intake::start().await;
    intake.add_rule(SERVICE, district("LS6"), 1).await;
    intake.add_rule(OTHER_SERVICE, from_org(OTHER_GP), 1).await;
    let gp = intake.token(GP, Role::Referrer).await;
    let other = intake.token(OTHER_GP, Role::Referrer).await;
    let admin = intake.token(OPS, Role::Admin).await;

    let (_, first) = intake.submit(&gp, &referral()).await;
    let first_id = first["referral_id"].as_str().unwrap().to_owned();
    assert!(
        possible_duplicates(&intake, &admin, &first)
            .await
            .is_empty()
    );

    // Same person, same service, first still open: flagged (the NHS number written with spaces).
    let mut again = referral();
    again["person"]["nhs_number"] = json!("943 476 5919");
    let (status, second) = intake.submit(&gp, &again).await;
    assert_eq!(status, StatusCode::CREATED);
    let second_id = second["referral_id"].as_str().unwrap().to_owned();
    assert_ne!(second_id, first_id, "never merged");
    assert_eq!(
        possible_duplicates(&intake, &admin, &second).await,
        vec![first_id.to_string()]
    );
    let (_, view) = intake
        .get(
            &admin,
            &format!("/referrals/{second_id}?min_sequence={}", second["sequence"]),
        )
        .await;
    assert_eq!(view["possible_duplicate_of"], json!([first_id]));

    // Same person, another service: not a duplicate.
    let (_, elsewhere) = intake.submit(&other, &referral()).await;
    assert!(
        possible_duplicates(&intake, &admin, &elsewhere)
            .await
            .is_empty()
    );

    // Another person at the same service: not a duplicate.
    let mut someone_else = referral();
    someone_else["person"]["nhs_number"] = json!("9990012342");
    let (_, s) = intake.submit(&gp, &someone_else).await;
    assert!(possible_duplicates(&intake, &admin, &s).await.is_empty());

    // Once the earlier ones are closed (withdrawn), a new referral is not flagged.
    for id in [&first_id, &second_id] {
        let (status, _) = intake
            .post(
                &gp,
                &format!("/referrals/{id}/withdraw"),
                &json!({"reason": "sent twice"}),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
    }
    let (_, third) = intake.submit(&gp, &referral()).await;
    assert!(
        possible_duplicates(&intake, &admin, &third)
            .await
            .is_empty()
    );
}

fn case_event(event_type: &str, data: Value) -> Event {
    Event::decode(event_type, 1, data).expect("a valid case event")
}

/// Appends the link-worker's story of a referral; returns the last sequence.
async fn case_story(intake: &Intake, id: &str) -> u64 {
    let events = [
        case_event(
            "case.accepted",
            json!({"referral_id": id, "link_worker_organisation_id": SERVICE}),
        ),
        case_event(
            "case.contact_made",
            json!({"referral_id": id, "channel": "phone", "minutes": 45, "personal": {"notes": "CONTACT-NOTES-SECRET"}}),
        ),
        case_event(
            "case.contact_made",
            json!({"referral_id": id, "channel": "face_to_face", "minutes": 60}),
        ),
        case_event(
            "case.plan_agreed",
            json!({"referral_id": id, "review_date": "2027-01-15", "goal_count": 2,
            "personal": {"what_matters": "WHAT-MATTERS-SECRET", "goals": ["Join the walking group"], "actions": ["Call the group"]}}),
        ),
        case_event(
            "case.outcome_recorded",
            json!({"referral_id": id, "instrument": "swemwbs", "instrument_version": "1",
            "algorithm_version": 1, "timepoint": "baseline", "item_answers": [3, 3, 3, 3, 3, 3, 3], "raw_score": 21, "derived_score": 19.25}),
        ),
        case_event(
            "case.closed",
            json!({"referral_id": id, "reason": "goals_met"}),
        ),
    ];
    let mut last = 0;
    for e in events {
        last = intake.append(id, e).await;
    }
    last
}

#[tokio::test]
async fn the_referrer_sees_the_link_workers_story_with_details_when_the_person_agreed() {
    let intake = Intake::start().await;
    intake.add_rule(SERVICE, district("LS6"), 1).await;
    let gp = intake.token(GP, Role::Referrer).await;
    let (_, sent) = intake.submit(&gp, &referral()).await;
    let id = sent["referral_id"].as_str().unwrap();
    let last = case_story(&intake, id).await;
    let (status, view) = intake
        .get(&gp, &format!("/referrals/{id}?min_sequence={last}"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(view["status"], "closed");
    let timeline = view["timeline"].as_array().unwrap();
    let kinds: Vec<&str> = timeline
        .iter()
        .map(|t| t["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "received",
            "routed",
            "accepted",
            "first_contact",
            "plan_agreed",
            "closed"
        ]
    );
    assert_eq!(timeline[3]["detail"]["channel"], "phone");
    assert_eq!(timeline[4]["detail"]["what_matters"], "WHAT-MATTERS-SECRET");
    assert_eq!(timeline[4]["detail"]["review_date"], "2027-01-15");
    assert_eq!(timeline[5]["detail"]["reason"], "goals_met");
    assert_eq!(timeline[5]["detail"]["outcomes"][0]["derived_score"], 19.25);
    // Contact notes are the link worker's working notes: never sent back.
    assert!(!view.to_string().contains("CONTACT-NOTES-SECRET"));
}

#[tokio::test]
async fn where_the_person_declined_sharing_only_codes_go_back() {
    let intake = Intake::start().await;
    intake.add_rule(SERVICE, district("LS6"), 1).await;
    let gp = intake.token(GP, Role::Referrer).await;
    let mut body = referral();
    body["consent"]["share_details_with_referrer"] = json!(false);
    let (_, sent) = intake.submit(&gp, &body).await;
    let id = sent["referral_id"].as_str().unwrap();
    let last = case_story(&intake, id).await;
    let (_, view) = intake
        .get(&gp, &format!("/referrals/{id}?min_sequence={last}"))
        .await;
    let plan = view["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["kind"] == "plan_agreed")
        .unwrap();
    assert_eq!(plan["detail"]["goal_count"], 2);
    assert!(plan["detail"].get("what_matters").is_none() && plan["detail"].get("goals").is_none());
    let text = view.to_string();
    assert!(!text.contains("WHAT-MATTERS-SECRET") && !text.contains("walking group"));
    assert!(!text.contains("CONTACT-NOTES-SECRET"));
}

#[tokio::test]
async fn a_declined_referral_goes_back_with_its_reason_and_code() {
    let intake = Intake::start().await;
    intake.add_rule(SERVICE, district("LS6"), 1).await;
    let gp = intake.token(GP, Role::Referrer).await;
    let (_, sent) = intake.submit(&gp, &referral()).await;
    let id = sent["referral_id"].as_str().unwrap();
    let last = intake
        .append(
            id,
            case_event("case.declined", json!({"referral_id": id, "link_worker_organisation_id": SERVICE, "reason": "person_declined"})),
        )
        .await;
    let (_, view) = intake
        .get(&gp, &format!("/referrals/{id}?min_sequence={last}"))
        .await;
    assert_eq!(view["status"], "declined");
    let declined = view["timeline"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(declined["kind"], "declined");
    assert_eq!(declined["detail"]["reason"], "person_declined");
    assert_eq!(declined["detail"]["reason_code"]["code"], "871711000000103");
    // A declined referral cannot be withdrawn any more.
    let (status, _) = intake
        .post(
            &gp,
            &format!("/referrals/{id}/withdraw"),
            &json!({"reason": "x"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn connections_reviews_and_giving_up_on_contact_reach_the_referrer() {
    let intake = Intake::start().await;
    intake.add_rule(SERVICE, district("LS6"), 1).await;
    let gp = intake.token(GP, Role::Referrer).await;
    let (_, sent) = intake.submit(&gp, &referral()).await;
    let id = sent["referral_id"].as_str().unwrap();
    let connection = uuid::Uuid::now_v7();
    let events = [
        case_event(
            "case.accepted",
            json!({"referral_id": id, "link_worker_organisation_id": SERVICE}),
        ),
        case_event(
            "case.contact_attempted",
            json!({"referral_id": id, "channel": "phone", "attempt_number": 1}),
        ),
        case_event(
            "case.contact_made",
            json!({"referral_id": id, "channel": "phone", "minutes": 30}),
        ),
        case_event(
            "case.connection_made",
            json!({"referral_id": id, "connection_id": connection, "service_id": "oruk-42", "service_name": "Tuesday walking group"}),
        ),
        case_event(
            "case.plan_reviewed",
            json!({"referral_id": id, "next_review_date": "2027-02-01", "goal_count": 1,
            "personal": {"what_matters": "Getting out", "goals": ["Walk weekly"], "actions": []}}),
        ),
    ];
    let mut last = 0;
    for e in events {
        last = intake.append(id, e).await;
    }
    let (_, view) = intake
        .get(&gp, &format!("/referrals/{id}?min_sequence={last}"))
        .await;
    let kinds: Vec<&str> = view["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "received",
            "routed",
            "accepted",
            "first_contact",
            "connection_made",
            "plan_reviewed"
        ]
    );
    assert_eq!(
        view["timeline"][4]["detail"]["service_name"],
        "Tuesday walking group"
    );
    assert_eq!(view["status"], "in_progress");

    let (_, other) = intake.submit(&gp, &referral()).await;
    let other_id = other["referral_id"].as_str().unwrap();
    let last = intake
        .append(
            other_id,
            case_event("case.contact_attempted", json!({"referral_id": other_id, "channel": "phone", "attempt_number": 3, "could_not_contact": true})),
        )
        .await;
    let (_, view) = intake
        .get(&gp, &format!("/referrals/{other_id}?min_sequence={last}"))
        .await;
    let gave_up = view["timeline"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (
            gave_up["kind"].as_str(),
            gave_up["detail"]["attempts"].as_u64()
        ),
        (Some("could_not_contact"), Some(3))
    );
}

#[tokio::test]
async fn rebuilding_the_read_model_gives_the_same_answers() {
    let intake = Intake::start().await;
    intake.add_rule(SERVICE, district("LS6"), 1).await;
    let gp = intake.token(GP, Role::Referrer).await;
    let admin = intake.token(OPS, Role::Admin).await;
    let (_, a) = intake.submit(&gp, &referral()).await;
    let (_, b) = intake.submit(&gp, &referral()).await;
    let a_id = a["referral_id"].as_str().unwrap().to_owned();
    let b_id = b["referral_id"].as_str().unwrap().to_owned();
    let last = case_story(&intake, &a_id).await;
    let path = |id: &str| format!("/referrals/{id}?min_sequence={last}");
    let (_, before_a) = intake.get(&admin, &path(&a_id)).await;
    let (_, before_b) = intake.get(&admin, &path(&b_id)).await;
    let (_, before_list) = intake.get(&gp, "/referrals").await;

    let ctx = intake.env.context("intake").await;
    let progress = |_: u64, _: u64| {};
    let rebuilt = linkway_intake::rebuild(&ctx, "referrals", &progress)
        .await
        .unwrap();
    assert_eq!(rebuilt, Some(intake.log_end().await));
    assert_eq!(
        linkway_intake::rebuild(&ctx, "caseload", &progress)
            .await
            .unwrap(),
        None
    );

    let (_, after_a) = intake.get(&admin, &path(&a_id)).await;
    let (_, after_b) = intake.get(&admin, &path(&b_id)).await;
    let (_, after_list) = intake.get(&gp, "/referrals").await;
    assert_eq!(after_a, before_a);
    assert_eq!(
        after_b, before_b,
        "possible duplicates found by keyed hash survive a rebuild"
    );
    assert_eq!(before_b["possible_duplicate_of"], json!([a_id]));
    assert_eq!(after_list, before_list);

    // Duplicate detection still works against the rebuilt model (the key was kept).
    let (_, c) = intake.submit(&gp, &referral()).await;
    assert!(
        possible_duplicates(&intake, &admin, &c)
            .await
            .contains(&b_id)
    );
}

#[tokio::test]
async fn a_create_interrupted_between_its_two_appends_is_finished_by_the_retry() {
    let intake = Intake::start().await;
    intake.add_rule(SERVICE, district("LS6"), 1).await;
    let gp = intake.token(GP, Role::Referrer).await;
    // A first attempt appended referral.received and then the process died before routing.
    let key = linkway_platform::idempotency::IdempotencyKey {
        organisation_id: GP.into(),
        key: "crash-1".into(),
    };
    let id = key.derived_id("submitReferral");
    let mut data = serde_json::to_value(received_for(&intake, &gp).await).unwrap();
    data["referral_id"] = json!(id);
    let received = Event::decode("referral.received", 1, data).unwrap();
    let envelope = linkway_events::Envelope::new(
        id.to_string(),
        &received,
        linkway_events::Actor::system(),
        uuid::Uuid::now_v7(),
        time::OffsetDateTime::now_utc(),
    );
    intake
        .env
        .store()
        .await
        .append(
            "referral",
            &id.to_string(),
            linkway_eventstore::Expected::NoEvents,
            // Under the message id the command gives its first event.
            vec![linkway_eventstore::PendingEvent::with_message_id(
                envelope,
                format!(
                    "{}0",
                    key.message_id_prefix("submitReferral", &id.to_string())
                ),
            )],
        )
        .await
        .unwrap();

    let (status, answer) = intake
        .submit_with_key(&gp, &referral(), Some("crash-1"))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    assert_eq!(answer["referral_id"], id.to_string());
    assert_eq!(answer["status"], "routed");
    let events = intake.events(&id.to_string()).await;
    assert_eq!(events.len(), 2, "not received twice: {events:?}");
    assert!(matches!(
        events[1].1,
        Event::Referral(ReferralEvent::Routed(_))
    ));
}

/// The payload of a valid referral.received, taken from a real submission.
async fn received_for(intake: &Intake, token: &str) -> linkway_events::referral::ReferralReceived {
    let (_, sent) = intake.submit(token, &referral()).await;
    let events = intake.events(sent["referral_id"].as_str().unwrap()).await;
    let Event::Referral(ReferralEvent::Received(r)) = &events[0].1 else {
        panic!()
    };
    r.clone()
}

#[tokio::test]
async fn two_simultaneous_withdrawals_append_one_event() {
    let intake = Intake::start().await;
    intake.add_rule(SERVICE, district("LS6"), 1).await;
    let gp = intake.token(GP, Role::Referrer).await;
    let (_, sent) = intake.submit(&gp, &referral()).await;
    let id = sent["referral_id"].as_str().unwrap();
    let path = format!("/referrals/{id}/withdraw");
    let body = json!({"reason": "sent by mistake"});
    let (a, b) = tokio::join!(
        intake.post(&gp, &path, &body),
        intake.post(&gp, &path, &body)
    );
    let mut statuses = [a.0, b.0];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::OK, StatusCode::CONFLICT]);
    let withdrawn = intake
        .events(id)
        .await
        .iter()
        .filter(|(_, e)| matches!(e, Event::Referral(ReferralEvent::Withdrawn(_))))
        .count();
    assert_eq!(withdrawn, 1);
}
