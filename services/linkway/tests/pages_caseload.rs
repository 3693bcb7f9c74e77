//! The link worker's and service manager's pages in headless Chromium
//! (`tests/browser/caseload.mjs`), against `linkway serve` on real NATS and PostgreSQL,
//! signed in through the real OpenID provider. Referrals are sent beforehand through
//! intake's JSON API; the link worker finds one on the caseload page, opens it, accepts
//! it, records a contact keyboard-only, records a SWEMWBS questionnaire and closes the
//! case; a service manager accepts and allocates another from the team page; axe on
//! every page and a screenshot of each; the main flow again with JavaScript disabled; a
//! form posted without its CSRF token is refused and changes nothing; another
//! organisation's case is the same 404 page as a missing one.

use std::time::{Duration, Instant};

use linkway_events::Role;
use linkway_events::registry::OrganisationKind;
use linkway_testkit::{Pages, Person};
use serde_json::json;

const BINARY: &str = env!("CARGO_BIN_EXE_linkway");

fn referral(given_name: &str) -> serde_json::Value {
    json!({
        "person": {
            "nhs_number": "9434765919",
            "nhs_number_verification": "number-present-and-verified",
            "given_name": given_name,
            "family_name": "Brightwater",
            "birth_date": "1952-06-14",
            "address": {"lines": ["7 Example Row", "Leeds"], "postcode": "LS6 2AB"},
            "phone": "07700 900321",
            "preferred_contact_method": "phone",
            "language": "en"
        },
        "needs_and_concerns": {
            "codes": [{"code": "422650009", "display": "Social isolation"}],
            "text": "Lonely since moving"
        },
        "urgency": "routine",
        "safeguarding_concern": false,
        "legal_basis": "public_task_health_care",
        "consent": {"referral_agreed": true, "share_details_with_referrer": true},
        "practitioner": {"name": "Dr Placeholder", "role": "GP"}
    })
}

/// Sends a referral through intake's API (retrying while the token is not yet known);
/// its id.
async fn send(http: &reqwest::Client, intake: &str, token: &str, given_name: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let response = http
            .post(format!("{intake}/referrals"))
            .bearer_auth(token)
            .json(&referral(given_name))
            .send()
            .await
            .expect("intake answers");
        let status = response.status().as_u16();
        let body: serde_json::Value = response.json().await.unwrap_or_default();
        if status == 201 {
            return body["referral_id"]
                .as_str()
                .expect("referral_id")
                .to_owned();
        }
        assert!(
            status == 401 && Instant::now() < deadline,
            "referral refused: {status} {body}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn link_workers_and_service_managers_work_cases_in_the_browser_with_and_without_javascript() {
    let person = |username, name, organisation_id, role| Person {
        username,
        name,
        organisation_id,
        roles: vec![role],
    };
    let pages = Pages::start(
        BINARY,
        vec![
            person("lena", "Lena Linkworker", "lw-cl", Role::LinkWorker),
            person("mona", "Mona Manager", "lw-cl", Role::ServiceManager),
        ],
    )
    .await;
    let env = &pages.env;
    env.referrer_and_link_worker("gp-cl", "lw-cl", "QCL").await;
    env.referrer_and_link_worker("gp-other", "lw-other", "QOT")
        .await;
    env.register_organisation("lw-cl-x", OrganisationKind::Vcse, Some("QCL"), false)
        .await;
    pages.register_people().await;
    let (referrer, _) = env.issue_token("gp-cl", Role::Referrer).await;
    let (other_referrer, _) = env.issue_token("gp-other", Role::Referrer).await;
    let (link_worker, _) = env.issue_token("lw-cl", Role::LinkWorker).await;

    let http = reqwest::Client::new();
    let intake = pages.linkway.url("intake");
    let with_js = send(&http, &intake, &referrer, "Juniper").await;
    let without_js = send(&http, &intake, &referrer, "Nettle").await;
    let to_allocate = send(&http, &intake, &referrer, "Alder").await;
    let theirs = send(&http, &intake, &other_referrer, "Quince").await;
    let end = env.store().await.last_sequence().await.expect("log end");

    // The caseload has them before the browser looks.
    let lw = pages.linkway.url("link-worker");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let response = http
            .get(format!("{lw}/caseload?min_sequence={end}"))
            .bearer_auth(&link_worker)
            .send()
            .await
            .expect("link-worker answers");
        if response.status().is_success() {
            let page: serde_json::Value = response.json().await.expect("JSON");
            assert_eq!(page["total"], 3, "{page}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the caseload never had the referrals"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    pages
        .run_script(
            "caseload.mjs",
            &[
                ("LINK_WORKER", "lena"),
                ("MANAGER", "mona"),
                ("CASE_JS", &with_js),
                ("CASE_NO_JS", &without_js),
                ("CASE_ALLOCATE", &to_allocate),
                ("CASE_OTHER_ORG", &theirs),
            ],
        )
        .await;
}
