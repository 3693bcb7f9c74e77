//! The information governance lead's pages in headless Chromium (`tests/browser/ig_lead.mjs`),
//! against `linkway serve` on real NATS and PostgreSQL (sealing with the testkit's KEK),
//! signed in through the real OpenID provider, with JavaScript on and off. A referral of
//! the GP practice, sent through intake's API and worked through link-worker's (accepted,
//! assigned, a contact with notes): the IG lead of the practice filters the audit trail by
//! it (and a bad date gets the error summary linking to the field), opens the person page
//! (every event, with the person's details and the notes, and who saw the record), and,
//! with JavaScript off, erases the person (a form missing its ground and tick first), after
//! which the page says erased and holds neither their name nor the notes. axe finds no
//! serious or critical violation on any page; a screenshot of each; an erase posted without
//! its CSRF token is refused; another organisation's referral's person page is the same
//! 404 page as a missing one's; a referrer gets 403 on both pages.

use std::time::{Duration, Instant};

use linkway_events::Role;
use linkway_events::registry::OrganisationKind;
use linkway_testkit::{Pages, Person};
use serde_json::{Value, json};

const BINARY: &str = env!("CARGO_BIN_EXE_linkway");
const AREA: &str = "QIG";
const GP: &str = "gp-ig-lead-pages";
const LW: &str = "lw-ig-lead-pages";
const OTHER_GP: &str = "gp-ig-lead-pages-other";
const GIVEN_NAME: &str = "Wilhelmina";
const NOTES: &str = "Talked about the bowls club on Thursdays";

/// `method` `url` with `token` (and `body`), asked again while the token is not yet known
/// (401) or the record not yet projected (404); the answer's JSON.
async fn call(method: &str, url: &str, token: &str, body: Option<Value>) -> Value {
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let request = match method {
            "GET" => http.get(url),
            _ => http.post(url).json(body.as_ref().unwrap_or(&json!({}))),
        };
        let response = request.bearer_auth(token).send().await.expect("answers");
        let status = response.status().as_u16();
        let answer: Value = response.json().await.unwrap_or_default();
        if (200..300).contains(&status) {
            return answer;
        }
        assert!(
            (status == 401 || status == 404) && Instant::now() < deadline,
            "{method} {url}: {status} {answer}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A referral sent as `organisation`'s referrer: its id and sequence.
async fn send(pages: &Pages, organisation: &str) -> (String, u64) {
    let (token, _) = pages.env.issue_token(organisation, Role::Referrer).await;
    let body = json!({
        "person": {
            "given_name": GIVEN_NAME,
            "family_name": "Quillfeather",
            "birth_date": "1948-09-12",
            "address": {"lines": ["3 Imaginary Close", "Leeds"], "postcode": "LS6 9ZZ"},
            "phone": "07700 900456",
            "preferred_contact_method": "phone"
        },
        "needs_and_concerns": {"text": "Would like to get out more"},
        "urgency": "routine",
        "safeguarding_concern": false,
        "legal_basis": "public_task_health_care",
        "consent": {"referral_agreed": true, "share_details_with_referrer": false},
        "practitioner": {"name": "Dr Placeholder"}
    });
    let url = format!("{}/referrals", pages.linkway.url("intake"));
    let sent = call("POST", &url, &token, Some(body)).await;
    (
        sent["referral_id"].as_str().unwrap().to_owned(),
        sent["sequence"].as_u64().unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ig_lead_reads_the_audit_trail_and_the_person_page_and_erases_with_and_without_javascript()
 {
    let pages = Pages::start(
        BINARY,
        vec![
            Person {
                username: "imogen",
                name: "Imogen Governance",
                organisation_id: GP,
                roles: vec![Role::IgLead],
            },
            Person {
                username: "rowan",
                name: "Rowan Referrer",
                organisation_id: GP,
                roles: vec![Role::Referrer],
            },
        ],
    )
    .await;
    let env = &pages.env;
    env.referrer_and_link_worker(GP, LW, AREA).await;
    env.register_organisation(OTHER_GP, OrganisationKind::GpPractice, Some(AREA), false)
        .await;
    pages.register_people().await;
    let (id, seq) = send(&pages, GP).await;
    let (other, _) = send(&pages, OTHER_GP).await;

    // Worked a little by the link worker: accepted, assigned, a contact with notes.
    let link_worker = pages.linkway.url("link-worker");
    let (worker, _) = env.issue_token(LW, Role::LinkWorker).await;
    call(
        "GET",
        &format!("{link_worker}/cases/{id}?min_sequence={seq}"),
        &worker,
        None,
    )
    .await;
    let mut last = seq;
    for (path, body) in [
        ("accept", json!({})),
        ("assignment", json!({"link_worker_id": "lw-1"})),
        (
            "contacts",
            json!({"kind": "made", "channel": "phone", "minutes": 15, "notes": NOTES}),
        ),
    ] {
        let done = call(
            "POST",
            &format!("{link_worker}/cases/{id}/{path}"),
            &worker,
            Some(body),
        )
        .await;
        last = done["sequence"].as_u64().unwrap_or(last);
    }
    // The audit trail has every step before the pages are opened.
    let (ig, _) = env.issue_token(GP, Role::IgLead).await;
    call(
        "GET",
        &format!(
            "{}/audit?referral_id={id}&min_sequence={last}",
            pages.linkway.url("intake")
        ),
        &ig,
        None,
    )
    .await;

    pages
        .run_script(
            "ig_lead.mjs",
            &[
                ("IG_LEAD", "imogen"),
                ("REFERRER", "rowan"),
                ("REFERRAL", &id),
                ("OTHER_REFERRAL", &other),
                ("MISSING_REFERRAL", &uuid::Uuid::now_v7().to_string()),
                ("GIVEN_NAME", GIVEN_NAME),
                ("NOTES", NOTES),
            ],
        )
        .await;
}
