//! The commissioner's dashboard in headless Chromium (`tests/browser/dashboard.mjs`),
//! against `linkway serve` on real NATS and PostgreSQL, signed in through the real OpenID
//! provider: referrals sent through intake's API (one person with unique details) appear
//! on reporting's dashboard as disclosure-controlled figures; axe finds no serious or
//! critical violation; the CSV downloads; nothing personal reaches the page or the file;
//! a referrer gets the 403 page; and the same with JavaScript disabled.

use std::time::{Duration, Instant};

use linkway_events::Role;
use linkway_events::registry::OrganisationKind;
use linkway_testkit::{Pages, Person};
use serde_json::json;

const BINARY: &str = env!("CARGO_BIN_EXE_linkway");
const AREA: &str = "QDB";

/// Whom no figure may ever show: found nowhere else in the code base.
const NAME: (&str, &str) = ("Quillon", "Farthingale");
const NHS_NUMBER: &str = "9434765838";
const POSTCODE: &str = "LS7 9QJ";

fn referral(need: (&str, &str)) -> serde_json::Value {
    json!({
        "person": {
            "nhs_number": NHS_NUMBER,
            "nhs_number_verification": "number-present-and-verified",
            "given_name": NAME.0,
            "family_name": NAME.1,
            "birth_date": "1958-03-09",
            "address": {"lines": ["3 Imaginary Close", "Leeds"], "postcode": POSTCODE},
            "phone": "07700 900456",
            "preferred_contact_method": "phone",
            "language": "en"
        },
        "needs_and_concerns": {
            "codes": [{"code": need.0, "display": need.1}],
            "text": "Quillon has not left the house since the winter"
        },
        "urgency": "routine",
        "safeguarding_concern": false,
        "legal_basis": "public_task_health_care",
        "consent": {"referral_agreed": true, "share_details_with_referrer": true},
        "practitioner": {"name": "Dr Placeholder", "role": "GP"}
    })
}

/// Sends a referral through intake's API, retrying while the token is not yet known.
async fn send(http: &reqwest::Client, intake: &str, token: &str, body: &serde_json::Value) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let response = http
            .post(format!("{intake}/referrals"))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .expect("intake answers");
        let status = response.status();
        if status.as_u16() == 201 {
            return;
        }
        let text = response.text().await.unwrap_or_default();
        assert!(
            status.as_u16() == 401 && Instant::now() < deadline,
            "referral refused: {status} {text}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commissioner_signs_in_and_reads_the_dashboard_with_and_without_javascript() {
    let pages = Pages::start(
        BINARY,
        vec![
            Person {
                username: "cora",
                name: "Cora Commissioner",
                organisation_id: "icb-dash",
                roles: vec![Role::Commissioner],
            },
            Person {
                username: "rhys",
                name: "Rhys Referrer",
                organisation_id: "gp-dash",
                roles: vec![Role::Referrer],
            },
        ],
    )
    .await;
    let env = &pages.env;
    env.register_organisation(
        "icb-dash",
        OrganisationKind::Commissioner,
        Some(AREA),
        false,
    )
    .await;
    env.referrer_and_link_worker("gp-dash", "lw-dash", AREA)
        .await;
    pages.register_people().await;
    let (referrer, _) = env.issue_token("gp-dash", Role::Referrer).await;
    let (commissioner, _) = env.issue_token("icb-dash", Role::Commissioner).await;

    // 12 referrals for social isolation (shown, rounded) and 3 for stress (suppressed).
    let http = reqwest::Client::new();
    let intake = pages.linkway.url("intake");
    for i in 0..15 {
        let need = if i < 12 {
            ("422650009", "Social isolation")
        } else {
            ("73595000", "Stress")
        };
        send(&http, &intake, &referrer, &referral(need)).await;
    }
    let end = env.store().await.last_sequence().await.expect("log end");

    // Reporting has them all before the browser looks.
    let reporting = pages.linkway.url("reporting");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let response = http
            .get(format!("{reporting}/summary?min_sequence={end}"))
            .bearer_auth(&commissioner)
            .send()
            .await
            .expect("reporting answers");
        if response.status().is_success() {
            let summary: serde_json::Value = response.json().await.expect("JSON");
            assert_eq!(summary["measures"]["referrals"]["total"], 15, "{summary}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "reporting never reached the referrals"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let name = format!("{} {}", NAME.0, NAME.1);
    pages
        .run_script(
            "dashboard.mjs",
            &[
                ("COMMISSIONER", "cora"),
                ("REFERRER", "rhys"),
                ("AREA", AREA),
                (
                    "PERSONAL",
                    &json!([name, NAME.1, NHS_NUMBER, POSTCODE]).to_string(),
                ),
            ],
        )
        .await;
}
