//! `correctPerson`: a person's details recorded wrongly, corrected by a new event.

use linkway_events::referral::ReferralEvent;
use linkway_events::{Event, Role};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::*;

fn corrected() -> Value {
    let mut person = referral()["person"].clone();
    person["given_name"] = json!("Robyn");
    person["family_name"] = json!("Exemplar");
    person["nhs_number"] = json!("9990012342");
    // Moved from Leeds to Manchester, and born ten years earlier than was recorded.
    person["address"]["postcode"] = json!("M1 1AE");
    person["birth_date"] = json!("1951-05-17");
    json!({"person": person, "notes": "Prefers morning calls"})
}

#[tokio::test]
async fn a_correction_is_a_new_event_that_the_referral_shows_and_erasure_ends() {
    let intake = Intake::start().await;
    intake.add_rule(SERVICE, district("LS6"), 1).await;
    let gp = intake.token(GP, Role::Referrer).await;
    let (status, body) = intake.submit(&gp, &referral()).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let id = body["referral_id"].as_str().unwrap().to_owned();
    let path = format!("/referrals/{id}/person/correction");

    // Held to a referral's rules, each error naming field and rule.
    let mut bad = corrected();
    bad["person"]["nhs_number"] = json!("9434765918");
    bad["notes"] = json!("x".repeat(4001));
    let (status, problem) = intake.post(&gp, &path, &bad).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    let rules: Vec<(&str, &str)> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["field"].as_str().unwrap(), e["rule"].as_str().unwrap()))
        .collect();
    assert!(rules.contains(&("person.nhs_number", "nhs_number_check_digit")));
    assert!(rules.contains(&("notes", "max_length")));

    // Another organisation's referrer: no such referral; nothing appended.
    let other = intake.token(OTHER_GP, Role::Referrer).await;
    let lw = intake.token(SERVICE, Role::LinkWorker).await;
    let end = intake.log_end().await;
    let (status, problem) = intake.post(&other, &path, &corrected()).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{problem}");
    // A link worker of the receiving service may not correct the referrer's record.
    let (status, _) = intake.post(&lw, &path, &corrected()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(intake.log_end().await, end);

    let ig = intake.token(GP, Role::IgLead).await;
    let (status, done) = intake.post(&gp, &path, &corrected()).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(done["status"], "routed", "the status stays");
    let sequence = done["sequence"].as_u64().unwrap();
    let (status, view) = intake
        .get(&gp, &format!("/referrals/{id}?min_sequence={sequence}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(view["person"]["given_name"], "Robyn");
    assert_eq!(view["person"]["family_name"], "Exemplar");
    // What was worked out from the corrected details moves with them (65 -> 75 at referral).
    assert_eq!(
        (&view["postcode_district"], &view["age_band"]),
        (&json!("M1"), &json!("75-84"))
    );
    let kinds: Vec<&str> = view["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["received", "routed", "person_corrected"]);

    // The log keeps what was received and adds the correction, whole, sealed in the log
    // and opened for a reader with the key.
    let events = intake.events(&id).await;
    let Some((envelope, Event::Referral(ReferralEvent::PersonCorrected(c)))) = events.last() else {
        panic!("{:?}", events.last())
    };
    assert_eq!(envelope.actor.organisation_id, GP);
    let personal = c.personal.as_ref().expect("opened with the key");
    assert_eq!(personal.person.given_name, "Robyn");
    assert_eq!(personal.person.nhs_number.as_deref(), Some("9990012342"));
    assert_eq!(personal.notes.as_deref(), Some("Prefers morning calls"));
    assert_eq!(
        personal.needs_text.as_deref(),
        Some("Lives alone since her partner died"),
        "absent, the referrer's words stay"
    );
    let Event::Referral(ReferralEvent::Received(r)) = &events[0].1 else {
        panic!("{:?}", events[0])
    };
    let received = r.personal.as_ref().unwrap();
    assert_eq!(
        received.person.given_name, "Robin",
        "the log is never rewritten"
    );
    let raw = intake
        .env
        .store()
        .await
        .load("referral", &id)
        .await
        .expect("load");
    let sealed = String::from_utf8_lossy(&raw.last().unwrap().payload).into_owned();
    assert!(sealed.contains("personal_sealed") && !sealed.contains("Robyn"));

    // The same correction again appends nothing.
    let end = intake.log_end().await;
    let (status, again) = intake.post(&gp, &path, &corrected()).await;
    assert_eq!(
        (status, again["sequence"].as_u64()),
        (StatusCode::OK, Some(sequence))
    );
    assert_eq!(intake.log_end().await, end);

    // Once the person is erased nothing about them is recorded again.
    let (status, erased) = intake
        .post(
            &ig,
            &format!("/referrals/{id}/person/erasure"),
            &json!({"reason": "person_asked"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{erased}");
    let end = intake.log_end().await;
    let mut late = corrected();
    late["person"]["given_name"] = json!("Rob");
    let (status, problem) = intake.post(&ig, &path, &late).await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    assert_eq!(problem["errors"][0]["rule"], "person_erased");
    assert_eq!(intake.log_end().await, end);
}
