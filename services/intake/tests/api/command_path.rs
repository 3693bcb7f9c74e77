//! Every intake command family through the platform's command path: a retry (whose answer
//! was lost after the append) gets the original answer and appends nothing. Answers are
//! stored nowhere: the log alone answers a retry, so a process that died after the append
//! loses nothing.

use linkway_events::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::*;

async fn post_with_key(
    intake: &Intake,
    token: &str,
    path: &str,
    body: &Value,
    key: &str,
) -> (StatusCode, Value) {
    let res = intake
        .http
        .post(intake.url(path))
        .bearer_auth(token)
        .header("Idempotency-Key", key)
        .json(body)
        .send()
        .await
        .expect("request");
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// Sends the command, then sends it again: the same answer, and no event appended.
async fn answer_survives_being_lost(
    intake: &Intake,
    token: &str,
    path: &str,
    body: &Value,
    key: &str,
) -> Value {
    let (status, first) = post_with_key(intake, token, path, body, key).await;
    assert!(status.is_success(), "{path}: {status} {first}");
    let end = intake.log_end().await;
    let (again_status, again) = post_with_key(intake, token, path, body, key).await;
    assert_eq!(again_status, status, "{path}: {again}");
    assert_eq!(again, first, "{path}");
    assert_eq!(intake.log_end().await, end, "{path}: the retry appended");
    first
}

#[tokio::test]
async fn every_command_retried_after_its_answer_was_lost_gets_the_original_answer() {
    let intake = Intake::start().await;
    intake.add_rule(SERVICE, district("LS6"), 1).await;
    let gp = intake.token(GP, Role::Referrer).await;
    let admin = intake.token(OPS, Role::Admin).await;

    let sent =
        answer_survives_being_lost(&intake, &gp, "/referrals", &referral(), "submit-1").await;
    assert_eq!(sent["status"], "routed");
    let id = sent["referral_id"].as_str().unwrap();
    let reason = json!({"reason": "sorted elsewhere"});
    let withdrawn = answer_survives_being_lost(
        &intake,
        &gp,
        &format!("/referrals/{id}/withdraw"),
        &reason,
        "withdraw-1",
    )
    .await;
    assert_eq!(withdrawn["status"], "withdrawn");
    let corrected = answer_survives_being_lost(
        &intake,
        &gp,
        &format!("/referrals/{id}/entered-in-error"),
        &reason,
        "error-1",
    )
    .await;
    assert_eq!(corrected["status"], "entered_in_error");

    let mut elsewhere = referral();
    elsewhere["person"]["address"]["postcode"] = json!("BD1 1AA");
    let (status, stray) = intake.submit(&gp, &elsewhere).await;
    assert_eq!(status, StatusCode::CREATED, "{stray}");
    assert_eq!(stray["status"], "unroutable", "{stray}");
    let stray_id = stray["referral_id"].as_str().unwrap();
    let routed = answer_survives_being_lost(
        &intake,
        &admin,
        &format!("/referrals/{stray_id}/route"),
        &json!({"link_worker_organisation_id": SERVICE}),
        "route-1",
    )
    .await;
    assert_eq!(routed["status"], "routed");
}
