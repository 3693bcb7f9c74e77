//! The appointments page in headless Chromium (`tests/browser/appointments.mjs`), against
//! `linkway serve` on real NATS and PostgreSQL, signed in through the real OpenID
//! provider, with JavaScript on and off: the link worker accepts and takes a referral sent
//! through intake's API, opens the appointments page from the case page, is refused a
//! booking without its minutes (the error summary links to the field), books, and
//! cancels; axe and a screenshot on every page.

use linkway_events::Role;
use linkway_testkit::{ApiClient, Pages, Person};
use serde_json::json;

const BINARY: &str = env!("CARGO_BIN_EXE_linkway");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_appointments_page_books_refuses_and_cancels_and_passes_axe() {
    let lena = Person {
        username: "lena",
        name: "Lena Linkworker",
        organisation_id: "lw-ap",
        roles: vec![Role::LinkWorker],
    };
    let pages = Pages::start(BINARY, vec![lena]).await;
    let env = &pages.env;
    env.referrer_and_link_worker("gp-ap", "lw-ap", "QAP").await;
    pages.register_people().await;
    let (referrer, _) = env.issue_token("gp-ap", Role::Referrer).await;
    let (link_worker, _) = env.issue_token("lw-ap", Role::LinkWorker).await;
    let api = ApiClient::new();
    let (intake, lw) = (
        pages.linkway.url("intake"),
        pages.linkway.url("link-worker"),
    );
    api.until_authorised(&format!("{intake}/referrals"), &referrer)
        .await;
    api.until_authorised(&format!("{lw}/caseload"), &link_worker)
        .await;
    let mut ids = Vec::new();
    for i in [11, 12] {
        let mut body = linkway::demo::referral_body(i);
        body["referrer_organisation_id"] = json!("gp-ap");
        let sent = api
            .ok(
                "POST",
                &format!("{intake}/referrals"),
                &referrer,
                Some(body),
            )
            .await;
        let id = sent["referral_id"].as_str().expect("id").to_owned();
        // The case is on the caseload before the browser looks.
        let seq = sent["sequence"].as_u64().expect("sequence");
        let path = format!("{lw}/cases/{id}?min_sequence={seq}");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let (status, answer) = api.call("GET", &path, &link_worker, None).await;
            if status.is_success() {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "never on the caseload: {status} {answer}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        ids.push(id);
    }
    let date = (time::OffsetDateTime::now_utc() + time::Duration::days(3))
        .date()
        .to_string();
    pages
        .run_script(
            "appointments.mjs",
            &[
                ("LINK_WORKER", "lena"),
                ("CASE_JS", &ids[0]),
                ("CASE_NO_JS", &ids[1]),
                ("DATE", &date),
            ],
        )
        .await;
}
