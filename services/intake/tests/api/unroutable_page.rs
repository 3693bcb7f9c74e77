//! The administrator's unroutable referrals page (`/admin/unroutable/view`), signed in
//! through the platform's demo sign-in: only administrators see it; a referral no rule
//! matched is listed with codes and ids only and routed through its form by the JSON API's
//! decision, the administrator's user id in `referral.routed`'s actor; a refusal is the
//! list again with the error summary; a form without its CSRF token appends nothing.

use std::time::{Duration, Instant};

use linkway_events::registry::{RegistryEvent, UserRegistered};
use linkway_events::{Event, Role};
use linkway_platform::web::settings::DEMO_ISSUER;
use linkway_platform::web::{DemoUser, WebSettings};
use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use uuid::Uuid;

use crate::channels::pct;
use crate::support::*;

const LIST: &str = "/admin/unroutable/view";

/// Someone signed in: user id, session cookie, CSRF token.
pub(crate) struct Admin {
    pub(crate) user_id: Uuid,
    pub(crate) cookie: String,
    pub(crate) csrf: String,
}

/// Intake without routing rules, with demo users for an administrator and a referrer.
pub(crate) async fn start() -> Intake {
    let demo = |s: &str| DemoUser {
        subject: s.into(),
        label: s.into(),
    };
    Intake::start_with(WebSettings {
        demo_users: vec![demo("ops-admin"), demo("gp-referrer")],
        ..WebSettings::for_tests()
    })
    .await
}

pub(crate) fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Registers `subject` at `org` with `role`, signs in, and reads a CSRF token from the
/// unroutable page (or, refused there, keeps the cookie only).
pub(crate) async fn signed_in(intake: &Intake, subject: &str, org: &str, role: Role) -> Admin {
    let user_id = Uuid::now_v7();
    let registered: Event = RegistryEvent::UserRegistered(UserRegistered {
        user_id,
        organisation_id: org.into(),
        roles: vec![role],
        display_name: format!("{subject} (test)"),
        issuer: DEMO_ISSUER.into(),
        subject: subject.into(),
    })
    .into();
    intake.append(&user_id.to_string(), registered).await;
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let res = browser()
            .post(intake.url("/auth/demo"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("subject={}&return_to=%2F", pct(subject)))
            .send()
            .await
            .unwrap();
        let cookie = res
            .headers()
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|v| v.strip_prefix("linkway_session="))
            .map(|v| format!("linkway_session={}", v.split(';').next().unwrap()));
        if let Some(cookie) = cookie {
            let mut who = Admin {
                user_id,
                cookie,
                csrf: String::new(),
            };
            let (status, page) = get(intake, &who, LIST).await;
            if status != StatusCode::SEE_OTHER {
                who.csrf = page
                    .split(r#"name="csrf" value=""#)
                    .nth(1)
                    .and_then(|rest| rest.split('"').next())
                    .unwrap_or_default()
                    .to_owned();
                return who;
            }
        }
        assert!(Instant::now() < deadline, "{subject} never signed in");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// The status, and the body or, for a redirect, its `Location`.
pub(crate) async fn read(res: reqwest::Response) -> (StatusCode, String) {
    let status = res.status();
    let location = res
        .headers()
        .get(LOCATION)
        .map(|l| l.to_str().unwrap().to_owned());
    let body = res.text().await.unwrap();
    (status, location.unwrap_or(body))
}

pub(crate) async fn get(intake: &Intake, who: &Admin, path: &str) -> (StatusCode, String) {
    let res = browser()
        .get(intake.url(path))
        .header(COOKIE, &who.cookie)
        .send()
        .await
        .unwrap();
    read(res).await
}

/// Posts the route form of referral `id` choosing `service`, with `csrf`.
async fn route(
    intake: &Intake,
    who: &Admin,
    id: &str,
    service: &str,
    csrf: Option<&str>,
) -> (StatusCode, String) {
    let mut body = format!(
        "service-{id}={}&idempotency_key={}",
        pct(service),
        Uuid::new_v4()
    );
    if let Some(csrf) = csrf {
        body.push_str(&format!("&csrf={}", pct(csrf)));
    }
    let res = browser()
        .post(intake.url(&format!("/admin/unroutable/{id}/route")))
        .header(COOKIE, &who.cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    read(res).await
}

/// A referral no rule matches (there are none): its id and sequence.
async fn unroutable(intake: &Intake) -> (String, u64) {
    let gp = intake.token(GP, Role::Referrer).await;
    let (_, sent) = intake.submit(&gp, &referral()).await;
    assert_eq!(sent["status"], "unroutable", "{sent}");
    (
        sent["referral_id"].as_str().unwrap().to_owned(),
        sent["sequence"].as_u64().unwrap(),
    )
}

#[tokio::test]
async fn the_unroutable_page_is_for_administrators_only() {
    let intake = start().await;
    let (id, _) = unroutable(&intake).await;
    let nobody = Admin {
        user_id: Uuid::nil(),
        cookie: String::new(),
        csrf: String::new(),
    };
    let (status, location) = get(&intake, &nobody, LIST).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(location.starts_with("/sign-in?return_to="), "{location}");

    let referrer = signed_in(&intake, "gp-referrer", GP, Role::Referrer).await;
    let (status, page) = get(&intake, &referrer, LIST).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(!page.contains(&id), "nothing listed for a referrer");
    let before = intake.log_end().await;
    let (status, _) = route(&intake, &referrer, &id, SERVICE, Some(&referrer.csrf)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(intake.log_end().await, before, "nothing appended");
}

#[tokio::test]
async fn an_unroutable_referral_is_listed_and_routed_on_the_page_as_the_administrator() {
    let intake = start().await;
    let (id, sequence) = unroutable(&intake).await;
    let admin = signed_in(&intake, "ops-admin", OPS, Role::Admin).await;

    let (status, page) = get(&intake, &admin, &format!("{LIST}?min_sequence={sequence}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("<title>Unroutable referrals - Administration - Linkway</title>"));
    assert!(page.contains(&id) && page.contains(GP), "{page}");
    assert!(page.contains("LS6"), "why no rule matched");
    assert!(page.contains(r#"<th class="nhsuk-table__header" scope="col">Route to</th>"#));
    assert!(page.contains(&format!(r#"action="/admin/unroutable/{id}/route""#)));
    assert!(page.contains(&format!(
        r#"<label class="nhsuk-label" for="service-{id}">Route to</label>"#
    )));
    assert!(
        page.contains(&format!(r#"value="{SERVICE}""#))
            && page.contains(&format!(r#"value="{OTHER_SERVICE}""#))
    );
    assert!(
        !page.contains(&format!(r#"value="{GP}""#)),
        "only link-worker services"
    );
    for personal in [
        "Robin",
        "9434765919",
        "1961-05-17",
        "LS6 9ZZ",
        "Imaginary",
        "07700",
    ] {
        assert!(!page.contains(personal), "{personal} shown");
    }

    // No service chosen, or one that is not a link-worker service: refused, nothing appended.
    let before = intake.log_end().await;
    for chosen in ["", GP] {
        let (status, page) = route(&intake, &admin, &id, chosen, Some(&admin.csrf)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{chosen}");
        assert!(
            page.contains("<title>Error: Unroutable referrals - Administration - Linkway</title>")
        );
        assert!(
            page.contains(&format!(
                r##"<a href="#service-{id}">Choose the link worker service"##
            )),
            "{page}"
        );
    }
    assert_eq!(intake.log_end().await, before);

    let (status, location) = route(&intake, &admin, &id, SERVICE, Some(&admin.csrf)).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{location}");
    assert!(
        location.starts_with(&format!("{LIST}?min_sequence=")),
        "{location}"
    );
    let events = intake.events(&id).await;
    let (routed, event) = events.last().unwrap();
    assert_eq!(routed.event_type, "referral.routed");
    assert_eq!(routed.actor.organisation_id, OPS);
    assert_eq!(
        routed.actor.user_id.as_deref(),
        Some(admin.user_id.to_string().as_str())
    );
    let Event::Referral(linkway_events::ReferralEvent::Routed(r)) = event else {
        panic!("{event:?}")
    };
    assert_eq!(
        (r.link_worker_organisation_id.as_str(), r.rule_id),
        (SERVICE, None)
    );
    let (status, page) = get(&intake, &admin, &location).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Referral routed"));
    assert!(
        page.contains("There are no unroutable referrals."),
        "{page}"
    );

    // Routed already: the decision's refusal in the error summary, nothing appended.
    let end = intake.log_end().await;
    let (status, page) = route(&intake, &admin, &id, OTHER_SERVICE, Some(&admin.csrf)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.contains("nhsuk-error-summary") && page.contains("not waiting to be routed"),
        "{page}"
    );
    assert_eq!(intake.log_end().await, end);
}

#[tokio::test]
async fn a_route_form_without_its_csrf_token_appends_nothing() {
    let intake = start().await;
    let (id, _) = unroutable(&intake).await;
    let admin = signed_in(&intake, "ops-admin", OPS, Role::Admin).await;
    let before = intake.log_end().await;
    let (status, page) = route(&intake, &admin, &id, SERVICE, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(page.contains("This form could not be sent"));
    let (status, _) = route(
        &intake,
        &admin,
        &id,
        SERVICE,
        Some("another-sessions-token"),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(intake.log_end().await, before);
    let events = intake.events(&id).await;
    assert_eq!(events.last().unwrap().0.event_type, "referral.unroutable");
}
