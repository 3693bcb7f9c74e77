//! The directory feed page: a service manager sees the feed and its last sync, and the
//! "Sync now" button runs `syncDirectory`'s own sync (a failing feed said so, nothing
//! changed); a form without its CSRF token syncs nothing; link workers may not see it.

use axum::http::StatusCode as Http;
use linkway_link_worker::directory::feed::Feed;
use std::sync::atomic::{AtomicBool, Ordering};

use super::*;

/// A one-page Open Referral UK API with one service, answering 500 while `broken`.
async fn one_page_feed(env: &TestEnv, broken: Arc<AtomicBool>) -> String {
    let router = axum::Router::new().route(
        "/services",
        axum::routing::get(move || {
            let broken = broken.clone();
            async move {
                if broken.load(Ordering::SeqCst) {
                    return (Http::SERVICE_UNAVAILABLE, String::new());
                }
                let service = serde_json::json!({"id": "page-feed-1", "name": "Page feed service",
                    "status": "active", "url": "https://feed.example"});
                let page = serde_json::json!({"total_items": 1, "total_pages": 1, "page_number": 1,
                    "size": 1, "first_page": true, "last_page": true, "empty": false,
                    "contents": [service]});
                (Http::OK, page.to_string())
            }
        }),
    );
    linkway_testkit::serve(router, env.shutdown()).await
}

#[tokio::test]
async fn a_service_manager_syncs_the_directory_from_the_feed_page() {
    let mut p = Pages::start().await;
    let broken = Arc::new(AtomicBool::new(true));
    let feed = one_page_feed(&p.env, broken.clone()).await;
    // A link-worker process with the feed, beside the one `Pages::start` runs.
    let mut ctx = p.env.context("link-worker").await;
    let mut web = WebSettings::for_tests();
    web.session_key = Secret::new(KEY);
    ctx.web = Arc::new(web);
    let service = linkway_link_worker::LinkWorkerService {
        policy: linkway_link_worker::case::Policy::default(),
        directory_feed: Some(Feed::new(&feed, 50, None).unwrap()),
        notify: Default::default(),
    };
    let router = linkway_platform::service::router(&service, &ctx)
        .await
        .unwrap();
    p.base = linkway_testkit::serve(router, p.env.shutdown()).await;
    let manager = p.sign_in(NORTH, Role::ServiceManager, "Sam").await;

    let (status, body, _) = p.get(&manager, "/directory/feed").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains(&format!("<code>{feed}</code>")), "{body}");
    assert!(body.contains("has not been synced yet"), "{body}");
    assert!(body.contains("Sync now"));
    assert!(
        body.contains("href=\"/directory/feed\""),
        "in the navigation"
    );

    // The feed is down: the page says the sync failed and nothing changed.
    let (status, body, _) = p
        .post(&manager, "/directory/feed", &[("csrf", &manager.csrf)])
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body.contains("The sync failed and changed nothing"),
        "{body}"
    );
    assert!(body.contains("503 Service Unavailable"), "{body}");
    assert_eq!(p.directory_size().await, 0);

    broken.store(false, Ordering::SeqCst);
    // Without the form's token nothing is synced.
    let (status, _, _) = p.post(&manager, "/directory/feed", &[]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(p.directory_size().await, 0);
    let (status, body, _) = p
        .post(&manager, "/directory/feed", &[("csrf", &manager.csrf)])
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("Directory synced"), "{body}");
    assert!(body.contains("1 added, 0 updated, 0 withdrawn"), "{body}");
    assert!(body.contains("Succeeded"), "{body}");
    assert_eq!(p.directory_size().await, 1);

    let worker = p.sign_in(NORTH, Role::LinkWorker, "Lee").await;
    let (status, _, _) = p.get(&worker, "/directory/feed").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}
