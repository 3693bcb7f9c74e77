//! Submitting, routing, reading and listing referrals.

use linkway_events::Event;
use linkway_events::Role;
use linkway_events::referral::{ReferralEvent, SourceChannel};
use reqwest::StatusCode;
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn a_referral_is_received_routed_by_district_and_visible_to_its_referrer() {
    let intake = Intake::start().await;
    let rule = intake.add_rule(SERVICE, district("LS6"), 10).await;
    let gp = intake.token(GP, Role::Referrer).await;

    let (status, body) = intake.submit(&gp, &referral()).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["status"], "routed");
    let id = body["referral_id"].as_str().unwrap().to_owned();
    let sequence = body["sequence"].as_u64().unwrap();

    let events = intake.events(&id).await;
    assert_eq!(events.len(), 2);
    let Event::Referral(ReferralEvent::Received(received)) = &events[0].1 else {
        panic!("{:?}", events[0])
    };
    assert_eq!(received.referrer_organisation_id, GP);
    assert_eq!(received.source_channel, SourceChannel::Api);
    assert_eq!(received.postcode_district, "LS6");
    assert_eq!(received.age_band, "65-74");
    assert_eq!(
        received
            .personal
            .as_ref()
            .unwrap()
            .person
            .nhs_number
            .as_deref(),
        Some("9434765919")
    );
    assert_eq!(events[0].0.actor.organisation_id, GP);
    let Event::Referral(ReferralEvent::Routed(routed)) = &events[1].1 else {
        panic!("{:?}", events[1])
    };
    assert_eq!(routed.link_worker_organisation_id, SERVICE);
    assert_eq!(routed.rule_id, Some(rule));
    assert_eq!(events[1].0.causation_id, Some(events[0].0.event_id));
    assert_eq!(events[1].0.correlation_id, events[0].0.correlation_id);

    let (status, view) = intake
        .get(&gp, &format!("/referrals/{id}?min_sequence={sequence}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(view["status"], "routed");
    assert_eq!(view["link_worker_organisation_id"], SERVICE);
    assert_eq!(view["source_channel"], "api");
    assert_eq!(view["person"]["family_name"], "Example");
    assert_eq!(view["needs"][0]["code"], "422650009");
    assert_eq!(view["sequence"], sequence);
    let kinds: Vec<&str> = view["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["received", "routed"]);
    // The referrer is not told about other referrals of the person.
    assert!(view.get("possible_duplicate_of").is_none());

    let (status, list) = intake.get(&gp, "/referrals").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["total"], 1);
    assert_eq!(list["items"][0]["referral_id"], id.as_str());
}

#[tokio::test]
async fn a_rule_on_the_referring_organisation_beats_a_district_rule_and_priority_decides_ties() {
    let intake = Intake::start().await;
    intake.add_rule(OTHER_SERVICE, district("LS6"), -5).await;
    intake.add_rule(OTHER_SERVICE, from_org(GP), 2).await;
    let winner = intake.add_rule(SERVICE, from_org(GP), 1).await;
    let gp = intake.token(GP, Role::Referrer).await;
    let (status, body) = intake.submit(&gp, &referral()).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let events = intake.events(body["referral_id"].as_str().unwrap()).await;
    let Event::Referral(ReferralEvent::Routed(routed)) = &events[1].1 else {
        panic!()
    };
    assert_eq!(
        (routed.link_worker_organisation_id.as_str(), routed.rule_id),
        (SERVICE, Some(winner))
    );
}

#[tokio::test]
async fn without_a_matching_rule_the_referral_is_unroutable_not_lost() {
    let intake = Intake::start().await;
    intake.add_rule(SERVICE, district("BD1"), 1).await;
    let gp = intake.token(GP, Role::Referrer).await;
    let (status, body) = intake.submit(&gp, &referral()).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["status"], "unroutable");
    let id = body["referral_id"].as_str().unwrap();
    let events = intake.events(id).await;
    assert!(matches!(
        events[1].1,
        Event::Referral(ReferralEvent::Unroutable(_))
    ));
    let (_, view) = intake
        .get(
            &gp,
            &format!("/referrals/{id}?min_sequence={}", body["sequence"]),
        )
        .await;
    assert_eq!(view["status"], "unroutable");
}

#[tokio::test]
async fn an_invalid_referral_is_refused_with_field_and_rule_and_nothing_is_appended() {
    let intake = Intake::start().await;
    let gp = intake.token(GP, Role::Referrer).await;
    let before = intake.log_end().await;
    let mut body = referral();
    body["person"]["nhs_number"] = json!("9434765918");
    body["person"]["address"]["postcode"] = json!("not a postcode");
    body["urgency"] = json!("yesterday");
    let res = intake
        .http
        .post(intake.url("/referrals"))
        .bearer_auth(&gp)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let problem: serde_json::Value = res.json().await.unwrap();
    let mut pairs: Vec<(String, String)> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["field"].as_str().unwrap().to_owned(),
                e["rule"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    pairs.sort();
    assert_eq!(
        pairs,
        [
            (
                "person.address.postcode".to_owned(),
                "postcode_format".to_owned()
            ),
            (
                "person.nhs_number".to_owned(),
                "nhs_number_check_digit".to_owned()
            ),
            ("urgency".to_owned(), "one_of".to_owned()),
        ]
    );
    assert_eq!(intake.log_end().await, before);
}

#[tokio::test]
async fn malformed_json_unknown_fields_and_wrong_content_type_are_refused() {
    let intake = Intake::start().await;
    let gp = intake.token(GP, Role::Referrer).await;
    let before = intake.log_end().await;
    let res = intake
        .http
        .post(intake.url("/referrals"))
        .bearer_auth(&gp)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let p: serde_json::Value = res.json().await.unwrap();
    assert_eq!(
        (
            p["errors"][0]["field"].as_str(),
            p["errors"][0]["rule"].as_str()
        ),
        (Some("body"), Some("json"))
    );

    let mut body = referral();
    body["person"]["shoe_size"] = json!(9);
    let (status, p) = intake.submit(&gp, &body).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(p["detail"].as_str().unwrap().contains("shoe_size"), "{p}");

    let res = intake
        .http
        .post(intake.url("/referrals"))
        .bearer_auth(&gp)
        .header("content-type", "text/plain")
        .body(referral().to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(intake.log_end().await, before);
}
