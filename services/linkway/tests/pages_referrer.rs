//! The referrer's pages in headless Chromium (`tests/browser/referrer.mjs`), against
//! `linkway serve` on real NATS and PostgreSQL, signed in through the real OpenID provider:
//! a referral made with a mistake first (the error summary, its links, focus), then
//! corrected; seen in the organisation's list and filtered; opened; withdrawn (a reason
//! first missing). The referral form is filled keyboard-only; axe finds no serious or
//! critical violation on any page; a screenshot of each; the same flow with JavaScript
//! disabled; a form posted without its CSRF token is refused and appends nothing; another
//! organisation's referral is the same 404 page as a missing one.

use std::time::{Duration, Instant};

use linkway_events::Role;
use linkway_events::registry::OrganisationKind;
use linkway_testkit::{Pages, Person};
use serde_json::json;

const BINARY: &str = env!("CARGO_BIN_EXE_linkway");
const AREA: &str = "QRF";
const GP: &str = "gp-referrer-pages";
const OTHER_GP: &str = "gp-referrer-pages-other";

/// Sends a referral through intake's API as `organisation`; its id.
async fn send(pages: &Pages, organisation: &str) -> String {
    let (token, _) = pages.env.issue_token(organisation, Role::Referrer).await;
    let http = reqwest::Client::new();
    let body = json!({
        "person": {
            "given_name": "Ottoline",
            "family_name": "Elsewhere",
            "birth_date": "1970-02-03",
            "address": {"lines": ["9 Imaginary Lane", "Leeds"], "postcode": "LS6 9ZZ"},
            "phone": "07700 900789",
            "preferred_contact_method": "phone"
        },
        "needs_and_concerns": {"text": "Would like company"},
        "urgency": "routine",
        "safeguarding_concern": false,
        "legal_basis": "public_task_health_care",
        "consent": {"referral_agreed": true, "share_details_with_referrer": false},
        "practitioner": {"name": "Dr Placeholder"}
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let response = http
            .post(format!("{}/referrals", pages.linkway.url("intake")))
            .bearer_auth(&token)
            .json(&body)
            .send()
            .await
            .expect("intake answers");
        let status = response.status().as_u16();
        let answer: serde_json::Value = response.json().await.unwrap_or_default();
        if status == 201 {
            return answer["referral_id"].as_str().unwrap().to_owned();
        }
        assert!(
            status == 401 && Instant::now() < deadline,
            "referral refused: {status} {answer}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_referrer_makes_follows_and_withdraws_a_referral_with_and_without_javascript() {
    let pages = Pages::start(
        BINARY,
        vec![Person {
            username: "rowan",
            name: "Rowan Referrer",
            organisation_id: GP,
            roles: vec![Role::Referrer],
        }],
    )
    .await;
    let env = &pages.env;
    env.referrer_and_link_worker(GP, "lw-referrer-pages", AREA)
        .await;
    env.register_organisation(OTHER_GP, OrganisationKind::GpPractice, Some(AREA), false)
        .await;
    pages.register_people().await;
    let other = send(&pages, OTHER_GP).await;

    pages
        .run_script(
            "referrer.mjs",
            &[
                ("REFERRER", "rowan"),
                ("OTHER_REFERRAL", &other),
                ("MISSING_REFERRAL", &uuid::Uuid::now_v7().to_string()),
            ],
        )
        .await;
}
