//! Authentication and authorisation: 401, 403, and organisations kept apart.

use linkway_events::Role;
use reqwest::StatusCode;
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn no_token_or_a_bad_token_is_401_with_a_problem() {
    let intake = Intake::start().await;
    for (method, path) in [
        ("POST", "/referrals"),
        ("GET", "/referrals"),
        ("GET", "/referrals/0195606d-9db4-7445-b4c4-ba2ea74ad4bf"),
    ] {
        for auth in [None, Some("Bearer lw_not_a_token"), Some("Basic abc")] {
            let mut req = intake
                .http
                .request(method.parse().unwrap(), intake.url(path))
                .json(&referral());
            if let Some(a) = auth {
                req = req.header("authorization", a);
            }
            let res = req.send().await.unwrap();
            assert_eq!(
                res.status(),
                StatusCode::UNAUTHORIZED,
                "{method} {path} {auth:?}"
            );
            assert_eq!(res.headers()["www-authenticate"], "Bearer");
            assert_eq!(res.headers()["content-type"], "application/problem+json");
        }
    }
}

#[tokio::test]
async fn a_commissioner_or_link_worker_cannot_call_person_level_operations() {
    let intake = Intake::start().await;
    intake.add_rule(SERVICE, district("LS6"), 1).await;
    let gp = intake.token(GP, Role::Referrer).await;
    let (_, sent) = intake.submit(&gp, &referral()).await;
    let id = sent["referral_id"].as_str().unwrap();
    let mut tokens = Vec::new();
    for (org, role) in [
        (ICB, Role::Commissioner),
        (SERVICE, Role::LinkWorker),
        (SERVICE, Role::ServiceManager),
    ] {
        tokens.push((role, intake.token(org, role).await));
    }
    let before = intake.log_end().await;
    for (role, token) in tokens {
        let (status, _) = intake.submit(&token, &referral()).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{role:?} submit");
        let (status, _) = intake.get(&token, &format!("/referrals/{id}")).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{role:?} get");
        let (status, _) = intake.get(&token, "/referrals").await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{role:?} list");
        for action in ["withdraw", "entered-in-error", "route"] {
            let (status, _) = intake
                .post(
                    &token,
                    &format!("/referrals/{id}/{action}"),
                    &json!({"reason": "x", "link_worker_organisation_id": SERVICE}),
                )
                .await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{role:?} {action}");
        }
        let (status, _) = intake.get(&token, "/admin/unroutable").await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{role:?} unroutable");
    }
    assert_eq!(intake.log_end().await, before);
}

#[tokio::test]
async fn another_referrer_cannot_read_or_list_a_referral_it_did_not_send() {
    let intake = Intake::start().await;
    intake.add_rule(SERVICE, district("LS6"), 1).await;
    let gp = intake.token(GP, Role::Referrer).await;
    let other = intake.token(OTHER_GP, Role::Referrer).await;
    let (_, sent) = intake.submit(&gp, &referral()).await;
    let id = sent["referral_id"].as_str().unwrap();
    let seq = sent["sequence"].as_u64().unwrap();

    let (status, theirs) = intake
        .get(&other, &format!("/referrals/{id}?min_sequence={seq}"))
        .await;
    let (missing_status, missing) = intake
        .get(&other, "/referrals/0195606d-9db4-7445-b4c4-ba2ea74ad4bf")
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(missing_status, StatusCode::NOT_FOUND);
    assert_eq!(
        theirs, missing,
        "another organisation's referral looks exactly like a missing one"
    );

    let (status, list) = intake
        .get(&other, &format!("/referrals?min_sequence={seq}"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["total"], 0);
    assert_eq!(list["items"], json!([]));
    let (_, mine) = intake
        .get(&gp, &format!("/referrals?min_sequence={seq}"))
        .await;
    assert_eq!(mine["total"], 1);
}

#[tokio::test]
async fn a_referrer_cannot_send_as_another_organisation_but_an_admin_can_on_its_behalf() {
    let intake = Intake::start().await;
    intake.add_rule(SERVICE, district("LS6"), 1).await;
    let gp = intake.token(GP, Role::Referrer).await;
    let admin = intake.token(OPS, Role::Admin).await;
    let before = intake.log_end().await;
    let mut body = referral();
    body["referrer_organisation_id"] = json!(OTHER_GP);
    let (status, _) = intake.submit(&gp, &body).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(intake.log_end().await, before);

    let (status, p) = intake.submit(&admin, &referral()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(p["errors"][0]["field"], "referrer_organisation_id");
    body["referrer_organisation_id"] = json!("nobody-registered");
    let (status, p) = intake.submit(&admin, &body).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(p["errors"][0]["rule"], "registered_organisation");
    assert_eq!(intake.log_end().await, before);

    body["referrer_organisation_id"] = json!(OTHER_GP);
    let (status, sent) = intake.submit(&admin, &body).await;
    assert_eq!(status, StatusCode::CREATED, "{sent}");
    let other = intake.token(OTHER_GP, Role::Referrer).await;
    let (status, view) = intake
        .get(
            &other,
            &format!(
                "/referrals/{}?min_sequence={}",
                sent["referral_id"].as_str().unwrap(),
                sent["sequence"]
            ),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(view["referrer_organisation_id"], OTHER_GP);
}

#[tokio::test]
async fn list_filters_are_validated_and_applied() {
    let intake = Intake::start().await;
    intake.add_rule(SERVICE, district("LS6"), 1).await;
    let gp = intake.token(GP, Role::Referrer).await;
    for (query, field, rule) in [
        ("status=lost", "status", "one_of"),
        ("limit=0", "limit", "range"),
        ("limit=201", "limit", "range"),
        ("offset=-1", "offset", "range"),
    ] {
        let (status, p) = intake.get(&gp, &format!("/referrals?{query}")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{query}");
        assert_eq!(
            (
                p["errors"][0]["field"].as_str(),
                p["errors"][0]["rule"].as_str()
            ),
            (Some(field), Some(rule))
        );
    }
    let (_, a) = intake.submit(&gp, &referral()).await;
    let (_, b) = intake.submit(&gp, &referral()).await;
    let (_, w) = intake
        .post(
            &gp,
            &format!("/referrals/{}/withdraw", a["referral_id"].as_str().unwrap()),
            &json!({"reason": "x"}),
        )
        .await;
    let seq = w["sequence"].as_u64().unwrap();
    let (_, routed) = intake
        .get(&gp, &format!("/referrals?status=routed&min_sequence={seq}"))
        .await;
    assert_eq!(routed["total"], 1);
    assert_eq!(routed["items"][0]["referral_id"], b["referral_id"]);
    let (_, page) = intake.get(&gp, "/referrals?limit=1&offset=1").await;
    assert_eq!(
        (
            page["total"].as_i64(),
            page["items"].as_array().unwrap().len()
        ),
        (Some(2), 1)
    );
    assert_eq!(
        page["items"][0]["referral_id"], a["referral_id"],
        "newest first"
    );
}

#[tokio::test]
async fn a_malformed_idempotency_key_is_refused() {
    let intake = Intake::start().await;
    let gp = intake.token(GP, Role::Referrer).await;
    let before = intake.log_end().await;
    let (status, p) = intake
        .submit_with_key(&gp, &referral(), Some("has space"))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(p["errors"][0]["rule"], "idempotency_key_format");
    assert_eq!(intake.log_end().await, before);
}

#[tokio::test]
async fn a_reading_that_cannot_catch_up_says_so_instead_of_answering_stale() {
    let intake = Intake::start().await;
    let gp = intake.token(GP, Role::Referrer).await;
    // Beyond the log's end no wait can reach it: a 409 naming the parameter, not a retry.
    let (status, p) = intake.get(&gp, "/referrals?min_sequence=999999").await;
    assert_eq!(status, StatusCode::CONFLICT, "{p}");
    assert_eq!(p["errors"][0]["field"], "min_sequence");
    assert_eq!(p["errors"][0]["rule"], "beyond_log_end");
}
