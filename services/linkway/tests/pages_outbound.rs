//! Intake's outbox page for administrators (`/admin/outbound/view`) in headless Chromium
//! (`tests/browser/outbound.mjs`), against `linkway serve` on real NATS and PostgreSQL,
//! signed in through the real OpenID provider, with JavaScript on and off: a dead message
//! listed with its delivery log (opened), the other states' lists, the Retry form's
//! answer; axe on each (what Retry does is tested in intake's `outbound_page.rs`).

use linkway_events::Role;
use linkway_testkit::{Pages, Person};
use uuid::Uuid;

const BINARY: &str = env!("CARGO_BIN_EXE_linkway");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_outbox_page_passes_axe_with_a_dead_message_its_log_and_a_retry() {
    let ada = Person {
        username: "ada",
        name: "Ada Administrator",
        organisation_id: "linkway",
        roles: vec![Role::Admin],
    };
    let pages = Pages::start(BINARY, vec![ada]).await;
    pages.register_people().await;
    // A dead message with two failed attempts, as the sender leaves one (its body is
    // never shown), in one statement.
    let id = Uuid::new_v4();
    let db = pages.env.database("intake").await;
    let dead = "WITH m AS (
                    INSERT INTO outbound_messages (message_id, referral_id, sequence, kind, endpoint,
                                                   body, state, attempts, last_error)
                    VALUES ($1, $2, 7, 'could_not_contact', 'http://127.0.0.1:1/fhir/replies', '{}',
                            'dead', 2, 'http_503')
                    RETURNING message_id)
                INSERT INTO outbound_attempts (message_id, status_code, error_kind, duration_ms)
                SELECT message_id, 503, NULL, 12 FROM m
                UNION ALL SELECT message_id, NULL, 'timeout', 1000 FROM m";
    let client = db.client().await.unwrap();
    let inserted = client.execute(dead, &[&id, &Uuid::from_u128(42)]).await;
    assert_eq!(inserted.unwrap(), 2, "two attempts");
    pages
        .run_script(
            "outbound.mjs",
            &[("ADMIN", "ada"), ("MESSAGE_ID", &id.to_string())],
        )
        .await;
}
