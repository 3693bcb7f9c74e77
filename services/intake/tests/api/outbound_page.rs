//! The administrator's outbox page (`/admin/outbound/view`), signed in through the
//! platform's demo sign-in: only administrators see it; a dead message is listed with ids,
//! codes and its delivery log (never a body) and a Retry form, which without the session's
//! CSRF token changes nothing and with it makes the message pending again and answers 303
//! to the dead list saying so.

use linkway_events::Role;
use reqwest::StatusCode;
use reqwest::header::COOKIE;
use uuid::Uuid;

use crate::channels::pct;
use crate::support::*;
use crate::unroutable_page::{Admin, browser, get, read, signed_in, start};

const LIST: &str = "/admin/outbound/view";

/// A dead message with two failed attempts, put in the outbox as its sender left it.
async fn dead_message(intake: &Intake) -> Uuid {
    let db = intake.env.database("intake").await;
    let client = db.client().await.unwrap();
    let id = Uuid::new_v4();
    client
        .execute(
            "INSERT INTO outbound_messages (message_id, referral_id, sequence, kind, endpoint, body,
                                            state, attempts, last_error)
             VALUES ($1, $2, 7, 'accepted', 'urn:nowhere:replies', '{\"secret\": \"Quennell\"}',
                     'dead', 2, 'http_503')",
            &[&id, &Uuid::from_u128(42)],
        )
        .await
        .unwrap();
    client
        .execute(
            "INSERT INTO outbound_attempts (message_id, status_code, error_kind, duration_ms)
             VALUES ($1, 503, NULL, 12), ($1, NULL, 'timeout', 1000)",
            &[&id],
        )
        .await
        .unwrap();
    id
}

async fn retry(intake: &Intake, who: &Admin, id: Uuid, csrf: Option<&str>) -> (StatusCode, String) {
    let body = csrf.map_or_else(String::new, |c| format!("csrf={}", pct(c)));
    let res = browser()
        .post(intake.url(&format!("/admin/outbound/{id}/retry/view")))
        .header(COOKIE, &who.cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    read(res).await
}

async fn state(intake: &Intake, id: Uuid) -> String {
    let db = intake.env.database("intake").await;
    let client = db.client().await.unwrap();
    client
        .query_one(
            "SELECT state FROM outbound_messages WHERE message_id = $1",
            &[&id],
        )
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn the_outbox_page_lists_dead_messages_with_their_log_and_retries_them_for_administrators_only()
 {
    let intake = start().await;
    let referrer = signed_in(&intake, "gp-referrer", GP, Role::Referrer).await;
    let (status, _) = get(&intake, &referrer, LIST).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let admin = signed_in(&intake, "ops-admin", "linkway", Role::Admin).await;
    let (status, page) = get(&intake, &admin, LIST).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("There are no dead messages."), "{page}");
    let id = dead_message(&intake).await;
    let (status, page) = get(&intake, &admin, LIST).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(&id.to_string()), "{page}");
    assert!(
        page.contains("HTTP 503") && page.contains("timeout"),
        "the delivery log: {page}"
    );
    assert!(
        page.contains(&format!("/admin/outbound/{id}/retry/view")),
        "a Retry form"
    );
    assert!(!page.contains("Quennell"), "never a body");
    let (status, page) = get(&intake, &admin, &format!("{LIST}?state=lost")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");

    // Without the session's CSRF token nothing changes.
    let (status, _) = retry(&intake, &admin, id, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(state(&intake, id).await, "dead");
    let (status, location) = retry(&intake, &admin, id, Some(&admin.csrf)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location, format!("{LIST}?state=dead&retried=1"));
    // Pending again, and (its endpoint not http) dead again at once by the sender.
    let (_, page) = get(&intake, &admin, &location).await;
    assert!(page.contains("Message will be sent again"), "{page}");
    let (status, _) = retry(&intake, &admin, Uuid::new_v4(), Some(&admin.csrf)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
