//! The community service's inbox pages in headless Chromium (`tests/browser/inbox.mjs`),
//! against `linkway serve` on real NATS and PostgreSQL, signed in through the real OpenID
//! provider, with JavaScript on and off. Two referrals of the GP practice, sent through
//! intake's API and worked through link-worker's up to an onward connection to the
//! directory service the community service answers for (sharing name, phone and the
//! plan); the first one's service was reminded. The community service sees both (awaiting
//! first, "Reminder sent"), opens one (the shared details and the lawful basis, not what
//! was not shared), is refused a decline without a reason (the error summary linking to
//! the field), and accepts then records attendance (JavaScript on) or declines with a
//! reason (off). axe finds no serious or critical violation on any page; a screenshot of
//! each; a form posted without its CSRF token is refused; another community service's
//! inbox holds neither, and its connection page is the same 404 as a missing one's.

use std::time::{Duration, Instant};

use linkway_events::case::{CaseEvent, ConnectionReminded};
use linkway_events::{Actor, Envelope, Event, Role};
use linkway_eventstore::{Expected, PendingEvent};
use linkway_testkit::{Pages, Person};
use serde_json::{Value, json};
use uuid::Uuid;

const BINARY: &str = env!("CARGO_BIN_EXE_linkway");
const AREA: &str = "QIN";
const GP: &str = "gp-inbox-pages";
const LW: &str = "lw-inbox-pages";
const CS: &str = "cs-inbox-pages";
const OTHER_CS: &str = "cs-inbox-pages-other";
/// The directory fixture's service.
const SERVICE_ID: &str = "ac148810-d857-441c-9679-408f346de14b";
const NAMES: [&str; 2] = ["Perpetua", "Octavian"];
const NHS_NUMBER: &str = "9434765919";

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

/// A referral for `given_name` sent by the GP and worked to a connection to
/// [`SERVICE_ID`]: its id, the connection's id and the last sequence.
async fn connected(pages: &Pages, given_name: &str) -> (String, String, u64) {
    let env = &pages.env;
    let (referrer, _) = env.issue_token(GP, Role::Referrer).await;
    let (worker, _) = env.issue_token(LW, Role::LinkWorker).await;
    let body = json!({
        "person": {
            "nhs_number": NHS_NUMBER,
            "given_name": given_name,
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
    let intake = pages.linkway.url("intake");
    let sent = call(
        "POST",
        &format!("{intake}/referrals"),
        &referrer,
        Some(body),
    )
    .await;
    let id = sent["referral_id"].as_str().unwrap().to_owned();
    let seq = sent["sequence"].as_u64().unwrap();
    let link_worker = pages.linkway.url("link-worker");
    call(
        "GET",
        &format!("{link_worker}/cases/{id}?min_sequence={seq}"),
        &worker,
        None,
    )
    .await;
    let review = time::OffsetDateTime::now_utc().date() + time::Duration::days(42);
    let mut last = (seq, None);
    for (path, body) in [
        ("accept", json!({})),
        ("assignment", json!({"link_worker_id": "lw-1"})),
        (
            "contacts",
            json!({"kind": "made", "channel": "phone", "minutes": 15}),
        ),
        (
            "plan",
            json!({"what_matters": "Getting out and meeting people", "goals": ["Walk every week"],
                   "actions": ["Ring the group"], "review_date": review.to_string()}),
        ),
        (
            "connections",
            json!({"service_id": SERVICE_ID, "legal_basis": "explicit_consent",
                   "share": ["name", "phone", "plan"]}),
        ),
    ] {
        let done = call(
            "POST",
            &format!("{link_worker}/cases/{id}/{path}"),
            &worker,
            Some(body),
        )
        .await;
        last = (
            done["sequence"].as_u64().unwrap_or(last.0),
            done["connection_id"].as_str().map(str::to_owned).or(last.1),
        );
    }
    (id, last.1.expect("a connection"), last.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_community_service_answers_its_onward_referrals_with_and_without_javascript() {
    let pages = Pages::start(
        BINARY,
        vec![
            Person {
                username: "corin",
                name: "Corin Service",
                organisation_id: CS,
                roles: vec![Role::CommunityService],
            },
            Person {
                username: "odile",
                name: "Odile Elsewhere",
                organisation_id: OTHER_CS,
                roles: vec![Role::CommunityService],
            },
        ],
    )
    .await;
    let env = &pages.env;
    env.referrer_and_link_worker(GP, LW, AREA).await;
    env.register_community_service(CS, &[SERVICE_ID]).await;
    env.register_community_service(OTHER_CS, &["another-directory-service"])
        .await;
    pages.register_people().await;
    let (manager, _) = env.issue_token(LW, Role::ServiceManager).await;
    let directory: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../link-worker/tests/fixtures/openreferral/service_full.json"
        ))
        .expect("fixture"),
    )
    .expect("json");
    call(
        "POST",
        &format!("{}/directory/import", pages.linkway.url("link-worker")),
        &manager,
        Some(directory),
    )
    .await;
    let (first, first_connection, _) = connected(&pages, NAMES[0]).await;
    let (second, second_connection, _) = connected(&pages, NAMES[1]).await;
    // The first one's service was reminded (as the connection timer does).
    let referral_id: Uuid = first.parse().unwrap();
    let reminded: Event = CaseEvent::ConnectionReminded(ConnectionReminded {
        referral_id,
        connection_id: first_connection.parse().unwrap(),
    })
    .into();
    let envelope = Envelope::new(
        &first,
        &reminded,
        Actor::system(),
        Uuid::now_v7(),
        time::OffsetDateTime::now_utc(),
    );
    let at = env
        .store()
        .await
        .append(
            "case",
            &first,
            Expected::Any,
            vec![PendingEvent::new(envelope)],
        )
        .await
        .expect("append")
        .last_sequence();
    // The inbox has everything before the pages are opened.
    let (cs, _) = env.issue_token(CS, Role::CommunityService).await;
    let inbox = call(
        "GET",
        &format!(
            "{}/inbox?min_sequence={at}",
            pages.linkway.url("link-worker")
        ),
        &cs,
        None,
    )
    .await;
    assert_eq!(inbox["total"], 2, "{inbox}");

    pages
        .run_script(
            "inbox.mjs",
            &[
                ("SERVICE_USER", "corin"),
                ("OTHER_SERVICE_USER", "odile"),
                ("FIRST", &format!("{first}/{first_connection}")),
                ("SECOND", &format!("{second}/{second_connection}")),
                ("MISSING", &format!("{first}/{}", Uuid::now_v7())),
                ("FIRST_NAME", NAMES[0]),
                ("SECOND_NAME", NAMES[1]),
                ("NHS_NUMBER", NHS_NUMBER),
            ],
        )
        .await;
}
