//! The referrer's pages, signed in (the platform's demo sign-in, which begins a real
//! session): a refused form is shown again with its errors and appends nothing; a referral
//! made is the person's (their user id in the event's actor) and opens its page; the list
//! is the organisation's own; withdrawing goes through the same decision as the API; another
//! organisation's referral is the same 404 page as a missing one; a post without the CSRF
//! token changes nothing.

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

/// Someone signed in: their session cookie and their forms' CSRF token.
pub(crate) struct Person {
    user_id: Uuid,
    cookie: String,
    csrf: String,
}

/// Demo users: a referrer at each GP practice, a link worker and the first practice's IG
/// lead.
const USERS: [(&str, &str, Role); 4] = [
    ("gp-person", GP, Role::Referrer),
    ("other-gp-person", OTHER_GP, Role::Referrer),
    ("lw-person", SERVICE, Role::LinkWorker),
    ("gp-ig-lead", GP, Role::IgLead),
];

pub(crate) async fn start() -> Intake {
    let web = WebSettings {
        demo_users: USERS
            .iter()
            .map(|(subject, _, _)| DemoUser {
                subject: (*subject).into(),
                label: (*subject).into(),
            })
            .collect(),
        ..WebSettings::for_tests()
    };
    let intake = Intake::start_with(web).await;
    intake.add_rule(SERVICE, district("LS6"), 1).await;
    intake
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Registers the demo user `subject` and signs them in.
pub(crate) async fn sign_in(intake: &Intake, subject: &str) -> Person {
    let (_, org, role) = USERS.iter().find(|u| u.0 == subject).unwrap();
    let user_id = Uuid::now_v7();
    let event: Event = RegistryEvent::UserRegistered(UserRegistered {
        user_id,
        organisation_id: (*org).into(),
        roles: vec![*role],
        display_name: format!("{subject} (test)"),
        issuer: DEMO_ISSUER.into(),
        subject: subject.into(),
    })
    .into();
    intake.append(&user_id.to_string(), event).await;
    let deadline = Instant::now() + Duration::from_secs(5);
    let cookie = loop {
        let res = client()
            .post(intake.url("/auth/demo"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("subject={}&return_to=%2F", pct(subject)))
            .send()
            .await
            .unwrap();
        let session = res
            .headers()
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with("linkway_session="))
            .map(|v| v.split(';').next().unwrap().to_owned());
        if let Some(cookie) = session {
            break cookie;
        }
        assert!(Instant::now() < deadline, "{subject} never signed in");
        tokio::time::sleep(Duration::from_millis(25)).await;
    };
    let mut person = Person {
        user_id,
        cookie,
        csrf: String::new(),
    };
    // The session's sign-in reaches intake's registry shortly after.
    let deadline = Instant::now() + Duration::from_secs(5);
    let page = loop {
        let (status, page) = get(intake, &person, "/referrals/new").await;
        if status != StatusCode::SEE_OTHER {
            break page;
        }
        assert!(
            Instant::now() < deadline,
            "{subject}'s session never worked"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    };
    person.csrf = between(&page, r#"name="csrf" value=""#, "\"").unwrap_or_default();
    person
}

fn between(text: &str, start: &str, end: &str) -> Option<String> {
    let from = text.find(start)? + start.len();
    Some(text[from..from + text[from..].find(end)?].to_owned())
}

pub(crate) async fn get(intake: &Intake, who: &Person, path: &str) -> (StatusCode, String) {
    let res = client()
        .get(intake.url(path))
        .header(COOKIE, &who.cookie)
        .send()
        .await
        .unwrap();
    answer(res).await
}

/// The status, and the body or, for a redirect, its `Location`.
async fn answer(res: reqwest::Response) -> (StatusCode, String) {
    let status = res.status();
    let location = res
        .headers()
        .get(LOCATION)
        .map(|l| l.to_str().unwrap().to_owned());
    let body = res.text().await.unwrap();
    (status, location.unwrap_or(body))
}

/// Posts `pairs` as a form; the answer's body, or its `Location` for a redirect.
async fn post<K: AsRef<str>, V: AsRef<str>>(
    intake: &Intake,
    who: &Person,
    path: &str,
    pairs: &[(K, V)],
) -> (StatusCode, String) {
    let body = pairs
        .iter()
        .map(|(k, v)| format!("{}={}", pct(k.as_ref()), pct(v.as_ref())))
        .collect::<Vec<_>>()
        .join("&");
    let res = client()
        .post(intake.url(path))
        .header(COOKIE, &who.cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    answer(res).await
}

/// A referral the form would send (the token form's fields, without the token), with
/// the person's CSRF token and `key`.
fn filled(who: &Person, key: &str) -> Vec<(String, String)> {
    let mut pairs = crate::channels::form("");
    pairs.retain(|(k, _)| k != "access_token" && k != "idempotency_key");
    pairs.push(("csrf".into(), who.csrf.clone()));
    pairs.push(("idempotency_key".into(), key.into()));
    pairs
}

/// Makes a referral on the page; its id and the page it redirected to.
pub(crate) async fn make(intake: &Intake, who: &Person) -> (String, String) {
    let key = Uuid::new_v4().to_string();
    let (status, location) = post(intake, who, "/referrals/new", &filled(who, &key)).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{location}");
    let id = between(&location, "/referrals/", "/view").unwrap();
    (id, location)
}

#[tokio::test]
async fn a_refused_referral_is_shown_again_with_its_errors_and_appends_nothing() {
    let intake = start().await;
    let gp = sign_in(&intake, "gp-person").await;
    let (status, page) = get(&intake, &gp, "/referrals/new").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("<title>Make a referral - Referrals - Linkway</title>"));
    assert!(
        !page.contains("access_token"),
        "signed in: no token to paste"
    );

    let before = intake.log_end().await;
    let key = Uuid::new_v4().to_string();
    let mut form = filled(&gp, &key);
    form.retain(|(k, _)| k != "postcode" && k != "legal_basis");
    let (status, page) = post(&intake, &gp, "/referrals/new", &form).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("<title>Error: Make a referral - Referrals - Linkway</title>"));
    assert!(page.contains("nhsuk-error-summary"));
    assert!(
        page.contains(r##"<a href="#postcode">Postcode is required</a>"##),
        "{page}"
    );
    assert!(page.contains(r##"<a href="#legal_basis">"##));
    assert!(
        page.contains(r#"id="postcode-error""#),
        "the message beside its field"
    );
    assert!(page.contains(r#"value="Robin""#), "what was typed is kept");
    assert!(page.contains(&format!(r#"name="idempotency_key" value="{key}""#)));
    assert_eq!(intake.log_end().await, before, "nothing appended");

    // Corrected, it is sent as the person, and opens its page once the read model has it.
    let (status, location) = post(&intake, &gp, "/referrals/new", &filled(&gp, &key)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(location.contains("/view?min_sequence="), "{location}");
    let id = between(&location, "/referrals/", "/view").unwrap();
    let events = intake.events(&id).await;
    let (received, _) = &events[0];
    assert_eq!(received.actor.organisation_id, GP);
    assert_eq!(
        received.actor.user_id.as_deref(),
        Some(gp.user_id.to_string().as_str()),
        "the person's user id is the actor"
    );
    let (status, page) = get(&intake, &gp, &location).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Referral sent"));
    assert!(page.contains("Sent to a link worker service"), "{page}");
    assert!(page.contains(SERVICE));

    // The same form sent again (a double click) is the same referral.
    let end = intake.log_end().await;
    let (_, again) = post(&intake, &gp, "/referrals/new", &filled(&gp, &key)).await;
    assert_eq!(between(&again, "/referrals/", "/view").unwrap(), id);
    assert_eq!(intake.log_end().await, end);
}

#[tokio::test]
async fn the_list_is_the_organisations_own_filtered_by_status() {
    let intake = start().await;
    let gp = sign_in(&intake, "gp-person").await;
    let other = sign_in(&intake, "other-gp-person").await;
    let (mine, _) = make(&intake, &gp).await;
    let (theirs, location) = make(&intake, &other).await;
    get(&intake, &other, &location).await;

    let (status, page) = get(&intake, &gp, "/referrals/view").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(&format!("/referrals/{mine}/view")));
    assert!(
        !page.contains(&theirs),
        "another organisation's is not listed"
    );
    assert!(page.contains(r#"<th class="nhsuk-table__header" scope="col">Status</th>"#));

    let (_, routed) = get(&intake, &gp, "/referrals/view?status=routed").await;
    assert!(routed.contains(&mine));
    assert!(routed.contains(r#"<option value="routed" selected>"#));
    let (_, withdrawn) = get(&intake, &gp, "/referrals/view?status=withdrawn").await;
    assert!(!withdrawn.contains(&mine));
    assert!(withdrawn.contains("No referrals with this status."));
    let (status, _) = get(&intake, &gp, "/referrals/view?status=nonsense&page=x").await;
    assert_eq!(
        status,
        StatusCode::OK,
        "a value that is not one shows everything"
    );
}

#[tokio::test]
async fn withdrawing_needs_a_reason_then_withdraws_through_the_apis_decision() {
    let intake = start().await;
    let gp = sign_in(&intake, "gp-person").await;
    let (id, location) = make(&intake, &gp).await;
    let (_, page) = get(&intake, &gp, &location).await;
    assert!(page.contains(&format!(r#"action="/referrals/{id}/view/withdraw""#)));

    let before = intake.events(&id).await.len();
    let action = format!("/referrals/{id}/view/withdraw");
    let (status, page) = post(
        &intake,
        &gp,
        &action,
        &[("csrf", gp.csrf.as_str()), ("reason", " ")],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.contains(r##"<a href="#reason">Reason is required</a>"##),
        "{page}"
    );
    // Nothing of the referral: the page shown again is only a read (in the audit trail).
    assert_eq!(intake.events(&id).await.len(), before);

    let reason = [("csrf", gp.csrf.as_str()), ("reason", "Referred in error")];
    let (status, location) = post(&intake, &gp, &action, &reason).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, page) = get(&intake, &gp, &location).await;
    assert!(page.contains("Referral withdrawn"));
    assert!(page.contains("Reason: Referred in error"));
    assert!(
        !page.contains("Withdraw this referral"),
        "no withdraw form once withdrawn"
    );
    let events = intake.events(&id).await;
    let (withdrawn, _) = events.last().unwrap();
    assert_eq!(withdrawn.event_type, "referral.withdrawn");
    assert_eq!(
        withdrawn.actor.user_id.as_deref(),
        Some(gp.user_id.to_string().as_str())
    );

    // Again: refused by the decision, said on the page, nothing appended to the referral.
    let end = intake.events(&id).await.len();
    let (status, page) = post(&intake, &gp, &action, &reason).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(page.contains("can no longer be withdrawn"), "{page}");
    assert_eq!(intake.events(&id).await.len(), end);
}

#[tokio::test]
async fn another_organisations_referral_is_the_same_not_found_as_a_missing_one() {
    let intake = start().await;
    let gp = sign_in(&intake, "gp-person").await;
    let other = sign_in(&intake, "other-gp-person").await;
    let (theirs, location) = make(&intake, &other).await;
    get(&intake, &other, &location).await;

    let (status, page) = get(&intake, &gp, &format!("/referrals/{theirs}/view")).await;
    let (missing_status, missing) =
        get(&intake, &gp, &format!("/referrals/{}/view", Uuid::now_v7())).await;
    let (bad_status, bad) = get(&intake, &gp, "/referrals/not-an-id/view").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!((missing_status, bad_status), (status, status));
    assert_eq!(page, missing);
    assert_eq!(page, bad);
    assert!(page.contains("Page not found"));

    let before = intake.log_end().await;
    let (status, answer) = post(
        &intake,
        &gp,
        &format!("/referrals/{theirs}/view/withdraw"),
        &[("csrf", gp.csrf.as_str()), ("reason", "not mine")],
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(answer, missing);
    assert_eq!(intake.log_end().await, before);
}

#[tokio::test]
async fn a_form_without_its_csrf_token_is_refused_and_appends_nothing() {
    let intake = start().await;
    let gp = sign_in(&intake, "gp-person").await;
    let before = intake.log_end().await;
    let key = Uuid::new_v4().to_string();
    let mut form = filled(&gp, &key);
    form.retain(|(k, _)| k != "csrf");
    let (status, page) = post(&intake, &gp, "/referrals/new", &form).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(page.contains("This form could not be sent"));
    form.push(("csrf".into(), "another-sessions-token".into()));
    let (status, _) = post(&intake, &gp, "/referrals/new", &form).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(intake.log_end().await, before);
}

#[tokio::test]
async fn the_pages_are_for_referrers_signed_in() {
    let intake = start().await;
    let nobody = Person {
        user_id: Uuid::nil(),
        cookie: String::new(),
        csrf: String::new(),
    };
    let (status, location) = get(&intake, &nobody, "/referrals/view?status=routed").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        location,
        "/sign-in?return_to=%2Freferrals%2Fview%3Fstatus%3Drouted"
    );

    let link_worker = sign_in(&intake, "lw-person").await;
    for path in ["/", "/referrals/new", "/referrals/view"] {
        let (status, _) = get(&intake, &link_worker, path).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
    }
    let gp = sign_in(&intake, "gp-person").await;
    let (status, home) = get(&intake, &gp, "/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        home.contains(r#"href="/referrals/new""#) && home.contains(r#"href="/referrals/view""#)
    );
    // The JSON routes beside the pages are still JSON.
    let token = intake.token(GP, Role::Referrer).await;
    let (status, list) = intake.get(&token, "/referrals").await;
    assert_eq!(status, StatusCode::OK);
    assert!(list["items"].is_array());
}
