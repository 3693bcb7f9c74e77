//! The administrator's pages in headless Chromium (`tests/browser/admin.mjs`), against
//! `linkway serve` on real NATS and PostgreSQL, signed in through the real OpenID provider,
//! with JavaScript on (on intake) and off (on link-worker): an organisation registered (a
//! refused one first), a user added and given another role, a routing rule added and
//! previewed, another added and removed, a token issued (its secret once) and revoked, the
//! dead letters page; axe on every page, a screenshot of each; a form posted without its
//! CSRF token refused. Then, from the log: what the pages appended names the
//! administrator's user id, and a referral intake routes goes where the preview said.

use std::time::{Duration, Instant};

use linkway::admin::registry;
use linkway_events::Role;
use linkway_testkit::{Pages, Person};
use serde_json::Value;

const BINARY: &str = env!("CARGO_BIN_EXE_linkway");

/// Sends a referral from `organisation` through intake's API and waits until it is
/// routed; the service it went to.
async fn routed_to(pages: &Pages, organisation: &str) -> String {
    let (token, _) = pages.env.issue_token(organisation, Role::Referrer).await;
    let http = reqwest::Client::new();
    let intake = pages.linkway.url("intake");
    // Routed by the referring organisation, whatever the person's district.
    let body = linkway::demo::referral_body(0);
    let deadline = Instant::now() + Duration::from_secs(30);
    let id = loop {
        let response = http
            .post(format!("{intake}/referrals"))
            .bearer_auth(&token)
            .json(&body)
            .send()
            .await
            .expect("intake answers");
        let status = response.status().as_u16();
        let answer: Value = response.json().await.unwrap_or_default();
        if status == 201 {
            break answer["referral_id"].as_str().unwrap().to_owned();
        }
        assert!(
            status == 401 && Instant::now() < deadline,
            "referral refused: {status} {answer}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    loop {
        let view: Value = http
            .get(format!("{intake}/referrals/{id}"))
            .bearer_auth(&token)
            .send()
            .await
            .expect("intake answers")
            .json()
            .await
            .unwrap_or_default();
        if let Some(to) = view["link_worker_organisation_id"].as_str() {
            return to.to_owned();
        }
        assert!(Instant::now() < deadline, "never routed: {view}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_administrator_registers_adds_routes_previews_issues_and_revokes_with_and_without_javascript()
 {
    let pages = Pages::start(
        BINARY,
        vec![Person {
            username: "ada",
            name: "Ada Administrator",
            organisation_id: "linkway",
            roles: vec![Role::Admin],
        }],
    )
    .await;
    pages.register_people().await;
    let issuer = pages.provider.issuer();
    pages
        .run_script("admin.mjs", &[("ADMIN", "ada"), ("ISSUER", &issuer)])
        .await;

    let store = pages.env.store().await;
    let registry = registry::load(&store).await.expect("the registry");
    let ada = registry
        .user_by_identity(&issuer, "sub-ada")
        .expect("ada is registered")
        .registered
        .user_id
        .to_string();
    for mode in ["js", "no-js"] {
        // What the pages appended is the administrator's.
        let events = store
            .load("organisation", &format!("lw-admin-{mode}"))
            .await
            .expect("the organisation's events");
        let (envelope, _) = events[0].decode().expect("decodes");
        assert_eq!(envelope.actor.user_id.as_deref(), Some(ada.as_str()));
        assert_eq!(envelope.actor.role, Role::Admin);
        let sam = registry
            .user_by_identity(&issuer, &format!("sub-sam-{mode}"))
            .expect("the user the page added");
        assert_eq!(
            sam.registered.roles,
            vec![Role::LinkWorker, Role::ServiceManager]
        );
        assert!(
            registry
                .organisations
                .contains_key(&format!("gp-admin-{mode}"))
        );
        assert!(
            !registry
                .organisations
                .contains_key(&format!("forged-{mode}"))
        );
        assert!(
            !registry
                .organisations
                .contains_key(&format!("icb-admin-{mode}"))
        );
        // Intake routes a referral from the practice where the preview said it would go.
        assert_eq!(
            routed_to(&pages, &format!("gp-admin-{mode}")).await,
            format!("lw-admin-{mode}")
        );
    }
}
