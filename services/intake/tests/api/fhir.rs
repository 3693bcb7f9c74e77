//! processMessage: BaRS-style FHIR messages in, OperationOutcomes out.

use linkway_events::referral::{ReferralEvent, SourceChannel};
use linkway_events::{Event, Role};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::channels::{fixture, message, resource};
use crate::support::*;

use crate::channels::ODS;

async fn send(
    intake: &Intake,
    token: &str,
    body: &Value,
) -> (StatusCode, Value, reqwest::header::HeaderMap) {
    let res = intake
        .http
        .post(intake.url("/fhir/$process-message"))
        .bearer_auth(token)
        .header("content-type", "application/fhir+json")
        .header("x-request-id", "req-60f1")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    (status, res.json().await.unwrap(), headers)
}

/// The referral id, status and sequence from an accepting OperationOutcome.
fn accepted(oo: &Value) -> (String, String, u64) {
    let coding = oo["issue"][0]["details"]["coding"].as_array().unwrap();
    let code = |suffix: &str| {
        coding
            .iter()
            .find(|c| c["system"].as_str().unwrap().ends_with(suffix))
            .unwrap()["code"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    (
        code("referral-id"),
        code("referral-status"),
        code("event-sequence").parse().unwrap(),
    )
}

async fn setup() -> (Intake, String) {
    let intake = Intake::start().await;
    intake.register_with_code(GP, ODS).await;
    intake.add_rule(SERVICE, district("LS6"), 1).await;
    let gp = intake.token(GP, Role::Referrer).await;
    (intake, gp)
}

#[tokio::test]
async fn a_social_prescribing_message_is_accepted_and_visible_through_get_referral() {
    let (intake, gp) = setup().await;
    let (status, oo, headers) = send(&intake, &gp, &message()).await;
    assert_eq!(status, StatusCode::CREATED, "{oo}");
    assert_eq!(headers["content-type"], "application/fhir+json");
    assert_eq!(
        headers["x-request-id"], "req-60f1",
        "the sender's request id comes back"
    );
    assert_eq!(oo["resourceType"], "OperationOutcome");
    assert_eq!(oo["issue"][0]["severity"], "information");
    let (id, state, seq) = accepted(&oo);
    assert_eq!(state, "routed");
    assert_eq!(headers["location"], format!("/referrals/{id}").as_str());

    let events = intake.events(&id).await;
    let Event::Referral(ReferralEvent::Received(r)) = &events[0].1 else {
        panic!()
    };
    assert_eq!(r.source_channel, SourceChannel::Fhir);
    assert_eq!(r.referrer_organisation_id, GP);
    assert_eq!(r.needs[0].code, "422650009");
    assert_eq!(
        r.personal.as_ref().unwrap().person.nhs_number.as_deref(),
        Some("9434765919")
    );
    assert!(r.consent.share_details_with_referrer);
    assert_eq!(
        r.reply_to.as_deref(),
        Some("https://meadowbank.example/fhir/replies"),
        "the sender's endpoint is in the event"
    );

    let (status, view) = intake
        .get(&gp, &format!("/referrals/{id}?min_sequence={seq}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(view["source_channel"], "fhir");
    assert_eq!(view["status"], "routed");
    assert_eq!(view["person"]["family_name"], "Fictional");
    assert_eq!(view["postcode_district"], "LS6");

    assert!(view.get("reply_to").is_none(), "for administrators only");

    // Administrators see where replies go, answered from the read model (so from the log
    // alone): the same with intake's audit of messages gone.
    let admin = intake.token(OPS, Role::Admin).await;
    let (_, view) = intake.get(&admin, &format!("/referrals/{id}")).await;
    assert_eq!(view["reply_to"], "https://meadowbank.example/fhir/replies");
    let db = intake.env.database("intake").await;
    let client = db.client().await.unwrap();
    client
        .execute("DELETE FROM inbound_messages", &[])
        .await
        .unwrap();
    let (_, after) = intake.get(&admin, &format!("/referrals/{id}")).await;
    assert_eq!(after, view);
}

#[tokio::test]
async fn a_resent_message_gets_the_original_answer_and_a_changed_one_with_the_same_id_is_refused() {
    let (intake, gp) = setup().await;
    let (_, first, _) = send(&intake, &gp, &message()).await;
    let end = intake.log_end().await;
    let (status, again, _) = send(&intake, &gp, &message()).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(accepted(&again), accepted(&first));
    assert_eq!(intake.log_end().await, end);

    let mut changed = message();
    resource(&mut changed, "ServiceRequest")["priority"] = json!("urgent");
    let (status, oo, _) = send(&intake, &gp, &changed).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(oo["issue"][0]["code"], "duplicate");
    assert_eq!(intake.log_end().await, end);
}

#[tokio::test]
async fn the_real_bars_fixtures_are_refused_with_an_operation_outcome_and_nothing_is_appended() {
    let (intake, gp) = setup().await;
    let before = intake.log_end().await;
    for name in [
        "bars-process-message-999-to-cas.json",
        "bars-process-message-POST-body.json",
    ] {
        let (status, oo, headers) = send(&intake, &gp, &fixture(name)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{name}: {oo}");
        assert_eq!(headers["content-type"], "application/fhir+json");
        assert_eq!(oo["resourceType"], "OperationOutcome");
        assert!(
            oo["issue"]
                .as_array()
                .unwrap()
                .iter()
                .all(|i| i["code"] == "not-supported"),
            "{oo}"
        );
        assert!(
            oo["issue"]
                .as_array()
                .unwrap()
                .iter()
                .all(|i| i["details"]["coding"][0]["code"] == "REC_UNPROCESSABLE_ENTITY")
        );
    }
    let (_, oo, _) = send(
        &intake,
        &gp,
        &fixture("bars-process-message-999-to-cas.json"),
    )
    .await;
    assert!(
        oo.to_string().contains("871731000000106"),
        "the reason names the social prescribing code: {oo}"
    );
    let (status, oo, _) = send(
        &intake,
        &gp,
        &fixture("bars-operationoutcome-422-not-supported.json"),
    )
    .await;
    assert_eq!(
        (status, oo["issue"][0]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("structure"))
    );
    assert_eq!(intake.log_end().await, before);
}

#[tokio::test]
async fn bundles_that_break_the_rules_are_refused_and_nothing_is_appended() {
    let (intake, gp) = setup().await;
    let before = intake.log_end().await;

    let mut no_header_first = message();
    no_header_first["entry"].as_array_mut().unwrap().swap(0, 2);
    let (status, oo, _) = send(&intake, &gp, &no_header_first).await;
    assert_eq!(
        (status, oo["issue"][0]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("structure")),
        "{oo}"
    );

    let mut dangling = message();
    resource(&mut dangling, "ServiceRequest")["requester"] =
        json!({"reference": "urn:uuid:9d9d9d9d-0000-4000-8000-000000000000"});
    let (status, oo, _) = send(&intake, &gp, &dangling).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        oo["issue"][0]["details"]["coding"][1]["code"], "dangling_reference",
        "{oo}"
    );

    let mut bad_nhs = message();
    resource(&mut bad_nhs, "Patient")["identifier"][0]["value"] = json!("9434765918");
    let (status, oo, _) = send(&intake, &gp, &bad_nhs).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        oo["issue"][0]["details"]["coding"][1]["code"], "nhs_number_check_digit",
        "{oo}"
    );
    assert!(
        oo["issue"][0]["expression"][0]
            .as_str()
            .unwrap()
            .starts_with("Patient.identifier")
    );

    let mut unknown_sender = message();
    resource(&mut unknown_sender, "Organization")["identifier"][0]["value"] = json!("Z00000");
    let (status, oo, _) = send(&intake, &gp, &unknown_sender).await;
    assert_eq!(
        (status, oo["issue"][0]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("not-found")),
        "{oo}"
    );

    let res = intake
        .http
        .post(intake.url("/fhir/$process-message"))
        .bearer_auth(&gp)
        .header("content-type", "application/json")
        .body(message().to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let res = intake
        .http
        .post(intake.url("/fhir/$process-message"))
        .bearer_auth(&gp)
        .header("content-type", "application/fhir+json")
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);

    assert_eq!(intake.log_end().await, before);
    // Every refused message is in the audit log, with what could be read of its header.
    let db = intake.env.database("intake").await;
    let client = db.client().await.unwrap();
    let rows = client
        .query(
            "SELECT outcome, http_status, source_endpoint FROM inbound_messages ORDER BY id",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 6);
    assert!(rows.iter().all(|r| r.get::<_, &str>(0) == "refused"));
    assert_eq!(
        rows[2].get::<_, Option<&str>>(2),
        Some("https://meadowbank.example/fhir/replies")
    );
}

#[tokio::test]
async fn a_referrer_cannot_send_a_message_as_another_organisation_and_auth_errors_are_fhir() {
    let (intake, _) = setup().await;
    let other = intake.token(OTHER_GP, Role::Referrer).await;
    let icb = intake.token(ICB, Role::Commissioner).await;
    let before = intake.log_end().await;
    let (status, oo, _) = send(&intake, &other, &message()).await;
    assert_eq!(
        (status, oo["issue"][0]["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("forbidden"))
    );
    let (status, oo, _) = send(&intake, &icb, &message()).await;
    assert_eq!(
        (status, oo["issue"][0]["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("forbidden"))
    );
    let (status, oo, _) = send(&intake, "lw_wrong", &message()).await;
    assert_eq!(
        (
            status,
            oo["resourceType"].as_str(),
            oo["issue"][0]["code"].as_str()
        ),
        (
            StatusCode::UNAUTHORIZED,
            Some("OperationOutcome"),
            Some("login")
        )
    );
    assert_eq!(intake.log_end().await, before);

    // An administrator may pass on a message for a registered sender.
    let admin = intake.token(OPS, Role::Admin).await;
    let (status, oo, _) = send(&intake, &admin, &message()).await;
    assert_eq!(status, StatusCode::CREATED, "{oo}");
    let (id, _, _) = accepted(&oo);
    let Event::Referral(ReferralEvent::Received(r)) = &intake.events(&id).await[0].1 else {
        panic!()
    };
    assert_eq!(r.referrer_organisation_id, GP);
}

#[tokio::test]
async fn a_percent_encoded_operation_name_reaches_the_same_endpoint() {
    let (intake, gp) = setup().await;
    let res = intake
        .http
        .post(intake.url("/fhir/%24process-message"))
        .bearer_auth(&gp)
        .header("content-type", "application/fhir+json")
        .body(message().to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
}
