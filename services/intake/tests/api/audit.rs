//! The audit trail on intake (issue 12): the referrer's reads of a person's details are in
//! it (no log line any more), beside the referral's own events; `listAudit` and the audit
//! page are for IG leads and administrators only.

use linkway_events::Role;
use reqwest::StatusCode;
use serde_json::Value;

use crate::pages;
use crate::support::*;

/// `listAudit` once intake's trail has every event now in the log.
async fn trail(intake: &Intake, token: &str, query: &str) -> Value {
    let end = intake.log_end().await;
    let (status, page) = intake
        .get(token, &format!("/audit?min_sequence={end}&{query}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page
}

/// `(operation, organisation, user, role)` of each entry, oldest first.
fn entries(page: &Value) -> Vec<(String, String, String, String)> {
    let text = |v: &Value| v.as_str().unwrap_or("-").to_owned();
    let mut all: Vec<_> = page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|e| {
            (
                text(&e["operation"]),
                text(&e["organisation_id"]),
                text(&e["user_id"]),
                text(&e["role"]),
            )
        })
        .collect();
    all.reverse();
    all
}

#[tokio::test]
async fn the_referrers_reads_are_in_the_trail_after_the_referrals_own_events() {
    let intake = Intake::start().await;
    intake.add_rule(SERVICE, district("LS6"), 1).await;
    let gp = intake.token(GP, Role::Referrer).await;
    // Before the referral: its wait for the token lists referrals, which is a read too.
    let admin = intake.token(OPS, Role::Admin).await;
    let (status, answer) = intake.submit(&gp, &referral()).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let id = answer["referral_id"].as_str().unwrap().to_owned();
    let seq = answer["sequence"].as_u64().unwrap();
    let path = format!("/referrals/{id}?min_sequence={seq}");
    assert_eq!(intake.get(&gp, &path).await.0, StatusCode::OK);
    let (status, list) = intake
        .get(&gp, &format!("/referrals?min_sequence={seq}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");

    let page = trail(&intake, &admin, &format!("referral_id={id}")).await;
    let gp_user = |op: &str| {
        (
            op.to_owned(),
            GP.to_owned(),
            "referrer-user".to_owned(),
            "referrer".to_owned(),
        )
    };
    let routing = entries(&page)[1].clone();
    assert_eq!(routing.0, "referral.routed");
    assert_eq!(
        entries(&page),
        [
            gp_user("referral.received"),
            routing,
            gp_user("getReferral"),
            gp_user("listReferrals"),
        ]
    );
    assert!(!page.to_string().contains("Robin"), "nothing of the person");

    // Who may read it: IG leads (the referrer's, the service's it went to) and admins.
    assert_eq!(intake.get(&gp, "/audit").await.0, StatusCode::FORBIDDEN);
    let other = intake.token(OTHER_GP, Role::IgLead).await;
    let page = trail(&intake, &other, &format!("referral_id={id}")).await;
    assert_eq!(page["total"], 0, "another organisation's IG lead: {page:#}");
    let service = intake.token(SERVICE, Role::IgLead).await;
    let page = trail(&intake, &service, &format!("referral_id={id}")).await;
    assert_eq!(page["total"], 4, "the service it was routed to: {page:#}");
}

#[tokio::test]
async fn the_audit_page_shows_an_ig_lead_who_opened_a_referral_and_refuses_a_referrer() {
    let intake = pages::start().await;
    let gp = pages::sign_in(&intake, "gp-person").await;
    let (id, location) = pages::make(&intake, &gp).await;
    assert_eq!(pages::get(&intake, &gp, &location).await.0, StatusCode::OK);
    let lead = pages::sign_in(&intake, "gp-ig-lead").await;

    let end = intake.log_end().await;
    let (status, page) = pages::get(
        &intake,
        &lead,
        &format!("/audit/view?min_sequence={end}&referral_id={id}"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains(r#"<form method="get" action="/audit/view" novalidate>"#));
    assert!(page.contains("getReferralPage"), "{page}");
    assert!(page.contains("referral.received"), "{page}");
    assert!(page.contains(&id));
    assert!(!page.contains("Robin"), "the trail names no one: {page}");

    let (status, page) = pages::get(
        &intake,
        &lead,
        "/audit/view?referral_id=nope&from=2026-12-01&to=2026-11-01",
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("nhsuk-error-summary"), "{page}");
    assert!(page.contains(r##"href="#referral_id""##) && page.contains(r##"href="#to""##));

    let (status, _) = pages::get(&intake, &gp, "/audit/view").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}
