//! The link worker's and service manager's pages over HTTP, against a real nats-server and
//! PostgreSQL: signed in with a session cookie sealed under the service's key (as a sign-in
//! would set it), for a registered user. What the pages decide: the caseload shows the
//! routed case, a form runs the API's command (the event's actor is the user) and 303s to
//! the case with `?min_sequence=`, a refusal is the form again with the error summary, a
//! form without its CSRF token appends nothing, and another organisation's case is the
//! same 404 page as a missing one.

use std::sync::Arc;
use std::time::{Duration, Instant};

use linkway_events::common::Coding;
use linkway_events::referral::{
    Address, Consent, ContactMethod, LegalBasis, Person, Practitioner, ReferralEvent,
    ReferralPersonal, ReferralReceived, ReferralRouted, SourceChannel, Urgency,
};
use linkway_events::registry::{OrganisationKind, RegistryEvent, UserRegistered};
use linkway_events::{Actor, Envelope, Event, Role};
use linkway_eventstore::{EventStore, Expected, PendingEvent};
use linkway_platform::secret::Secret;
use linkway_platform::web::WebSettings;
use linkway_platform::web::session::{SESSION_COOKIE, Sealer, Session};
use linkway_testkit::TestEnv;
use reqwest::StatusCode;
use reqwest::redirect::Policy;
use time::OffsetDateTime;
use time::macros::date;
use uuid::Uuid;

const NORTH: &str = "north-pages";
const SOUTH: &str = "south-pages";
const GP: &str = "meadowbank-pages";
const KEY: &str = "a-session-key-for-the-pages-tests-0123456789";

struct Pages {
    env: TestEnv,
    store: EventStore,
    base: String,
    http: reqwest::Client,
}

/// A signed-in person: their cookie and the form token it carries.
struct Person_ {
    user_id: Uuid,
    cookie: String,
    csrf: String,
}

impl Pages {
    async fn start() -> Pages {
        let env = TestEnv::shared();
        env.register_organisation(NORTH, OrganisationKind::Pcn, Some("ZZ1"), true)
            .await;
        env.register_organisation(SOUTH, OrganisationKind::Vcse, Some("ZZ1"), true)
            .await;
        env.register_organisation(GP, OrganisationKind::GpPractice, Some("ZZ1"), false)
            .await;
        let mut ctx = env.context("link-worker").await;
        let mut web = WebSettings::for_tests();
        web.session_key = Secret::new(KEY);
        ctx.web = Arc::new(web);
        let router = linkway_link_worker::start(ctx).await.expect("start");
        let base = linkway_testkit::serve(router, env.shutdown()).await;
        Pages {
            store: env.store().await,
            env,
            base,
            http: reqwest::Client::builder()
                .redirect(Policy::none())
                .build()
                .unwrap(),
        }
    }

    /// Registers a user of `org` with `role` and signs them in (once the registry has them).
    async fn sign_in(&self, org: &str, role: Role, name: &str) -> Person_ {
        let user_id = Uuid::now_v7();
        let event: Event = RegistryEvent::UserRegistered(UserRegistered {
            user_id,
            organisation_id: org.into(),
            roles: vec![role],
            display_name: name.into(),
            issuer: "https://idp.test".into(),
            subject: user_id.to_string(),
        })
        .into();
        self.append("user", &user_id.to_string(), event).await;
        let session = Session::begin(user_id, OffsetDateTime::now_utc());
        let sealed = Sealer::new(&Secret::new(KEY), false).seal(
            SESSION_COOKIE,
            &session,
            time::Duration::hours(1),
        );
        let person = Person_ {
            user_id,
            cookie: sealed.split(';').next().unwrap().to_owned(),
            csrf: session.csrf,
        };
        let deadline = Instant::now() + Duration::from_secs(5);
        while self.get(&person, "/").await.0 != StatusCode::OK {
            assert!(Instant::now() < deadline, "the user never became known");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        person
    }

    async fn append(&self, kind: &str, id: &str, event: Event) -> u64 {
        let actor = Actor {
            organisation_id: GP.into(),
            user_id: None,
            role: Role::Referrer,
        };
        let envelope = Envelope::new(id, &event, actor, Uuid::now_v7(), OffsetDateTime::now_utc());
        self.store
            .append(kind, id, Expected::Any, vec![PendingEvent::new(envelope)])
            .await
            .expect("append")
            .last_sequence()
    }

    /// A referral received and routed to `org`, as intake would append it.
    async fn refer(&self, org: &str, given_name: &str) -> Uuid {
        let id = Uuid::now_v7();
        self.append(
            "referral",
            &id.to_string(),
            ReferralEvent::Received(received(id, given_name)).into(),
        )
        .await;
        let routed = ReferralRouted {
            referral_id: id,
            link_worker_organisation_id: org.into(),
            rule_id: None,
        };
        self.append(
            "referral",
            &id.to_string(),
            ReferralEvent::Routed(routed).into(),
        )
        .await;
        id
    }

    async fn get(&self, who: &Person_, path: &str) -> (StatusCode, String, Option<String>) {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .header("cookie", &who.cookie)
            .send()
            .await
            .unwrap();
        let location = r
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_owned());
        (r.status(), r.text().await.unwrap(), location)
    }

    async fn post(
        &self,
        who: &Person_,
        path: &str,
        form: &[(&str, &str)],
    ) -> (StatusCode, String, Option<String>) {
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .header("cookie", &who.cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(encode(form))
            .send()
            .await
            .unwrap();
        let location = r
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_owned());
        (r.status(), r.text().await.unwrap(), location)
    }

    /// The case's events in the log, as (type, actor user id).
    async fn case_events(&self, id: Uuid) -> Vec<(String, Option<String>)> {
        self.store
            .load_aggregate(&id.to_string())
            .await
            .unwrap()
            .iter()
            .filter(|e| e.event.subject.contains(".case."))
            .map(|e| {
                let (envelope, _) = e.event.decode().unwrap();
                (envelope.event_type.clone(), envelope.actor.user_id.clone())
            })
            .collect()
    }
}

fn received(id: Uuid, given_name: &str) -> ReferralReceived {
    ReferralReceived {
        referral_id: id,
        referrer_organisation_id: GP.into(),
        practitioner: Practitioner {
            name: "Dr A Example".into(),
            role: None,
            phone: None,
            email: None,
        },
        source_channel: SourceChannel::Api,
        needs: vec![Coding::snomed("1060011000000103", "Social isolation")],
        urgency: Urgency::Routine,
        safeguarding_concern: false,
        legal_basis: LegalBasis::PublicTaskHealthCare,
        consent: Consent {
            referral_agreed: true,
            share_details_with_referrer: true,
        },
        postcode_district: "LS6".into(),
        age_band: "65-74".into(),
        personal: Some(ReferralPersonal {
            person: Person {
                nhs_number: Some("9434765919".into()),
                nhs_number_verification: None,
                given_name: given_name.into(),
                family_name: "Testperson".into(),
                birth_date: date!(1955 - 03 - 01),
                address: Address {
                    lines: vec!["1 Example Street".into()],
                    postcode: "LS6 1AA".into(),
                },
                phone: Some("07700900123".into()),
                email: None,
                preferred_contact_method: ContactMethod::Phone,
                language: None,
                interpreter_needed: false,
                accessibility_needs: None,
                gender: None,
                ethnicity: None,
            },
            needs_text: Some("Lonely since moving".into()),
            notes: None,
        }),
        reply_to: None,
    }
}

fn encode(form: &[(&str, &str)]) -> String {
    let part = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    form.iter()
        .map(|(k, v)| format!("{}={}", part(k), part(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn sequence_of(location: &str) -> u64 {
    let (_, rest) = location.split_once("min_sequence=").expect("min_sequence");
    rest.split('&').next().unwrap().parse().unwrap()
}

#[tokio::test]
async fn the_main_flow_runs_through_the_pages_with_the_persons_user_id_in_each_event() {
    let p = Pages::start().await;
    let worker = p.sign_in(NORTH, Role::LinkWorker, "Sam Patel").await;
    let id = p.refer(NORTH, "Ada").await;
    // The team's caseload shows the new referral, with its waiting time.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let (status, body, _) = p.get(&worker, "/?filtered=1&link_worker=").await;
        assert_eq!(status, StatusCode::OK);
        if body.contains(&format!("/cases/{id}/view")) {
            assert!(
                body.contains("Ada Testperson") && body.contains("0 days"),
                "{body}"
            );
            assert!(body.contains("<title>Team caseload - Caseload - Linkway</title>"));
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the case never reached the caseload"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let view = format!("/cases/{id}/view");
    let (status, body, _) = p.get(&worker, &view).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("Accept referral") && body.contains("Ada Testperson"));
    assert!(
        body.contains("<title>Case - Caseload - Linkway</title>"),
        "no name in the title"
    );
    // Accept, then allocate to me: each 303 to the case with ?min_sequence=.
    let steps: &[&[(&str, &str)]] = &[
        &[("action", "accept")],
        &[("action", "assign")],
        &[
            ("action", "attempt"),
            ("attempt_channel", "phone"),
            ("attempt_outcome", "voicemail_left"),
        ],
        &[
            ("action", "made"),
            ("made_channel", "phone"),
            ("minutes", "30"),
            ("notes", "Likes singing"),
        ],
        &[
            ("action", "plan"),
            ("what_matters", "Company"),
            ("goals", "Join a choir\nWalk weekly"),
            ("review_date", "2099-01-01"),
        ],
        &[("action", "close"), ("close_reason", "goals_met")],
    ];
    for step in steps {
        let mut form = vec![("csrf", worker.csrf.as_str())];
        form.extend_from_slice(step);
        let (status, body, location) = p.post(&worker, &view, &form).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{step:?}: {body}");
        let location = location.unwrap();
        assert!(location.starts_with(&view), "{location}");
        let (status, body, _) = p.get(&worker, &location).await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            body.contains("nhsuk-notification-banner--success"),
            "{step:?}"
        );
        assert!(sequence_of(&location) > 0);
    }
    let (_, body, _) = p.get(&worker, &view).await;
    assert!(
        body.contains("Contact attempted") && body.contains("voicemail left"),
        "timeline: {body}"
    );
    assert!(body.contains("Closed"), "{body}");
    let events = p.case_events(id).await;
    let types: Vec<&str> = events.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(
        types,
        [
            "case.accepted",
            "case.assigned",
            "case.contact_attempted",
            "case.contact_made",
            "case.plan_agreed",
            "case.closed"
        ]
    );
    let me = worker.user_id.to_string();
    assert!(
        events
            .iter()
            .all(|(_, user)| user.as_deref() == Some(me.as_str())),
        "{events:?}"
    );
}

#[tokio::test]
async fn a_refused_form_is_shown_again_with_its_errors_and_what_was_typed() {
    let p = Pages::start().await;
    let worker = p.sign_in(NORTH, Role::LinkWorker, "Sam Patel").await;
    let id = p.refer(NORTH, "Bea").await;
    let view = format!("/cases/{id}/view");
    for action in ["accept", "assign"] {
        let (status, _, location) = p
            .post(
                &worker,
                &view,
                &[("csrf", &worker.csrf), ("action", action)],
            )
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        p.get(&worker, &location.unwrap()).await;
    }
    let form = [
        ("csrf", worker.csrf.as_str()),
        ("action", "made"),
        ("made_channel", "phone"),
        ("minutes", "700"),
        ("notes", "Kept this"),
    ];
    let (status, body, _) = p.post(&worker, &view, &form).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(
        body.contains("nhsuk-error-summary") && body.contains("href=\"#minutes\""),
        "{body}"
    );
    assert!(body.contains("Kept this"), "what was typed stays");
    assert!(body.contains("<title>Error: Case - Caseload - Linkway</title>"));
    // A step the case does not allow now is a 409 with the rule's message.
    let (status, body, _) = p
        .post(
            &worker,
            &view,
            &[("csrf", &worker.csrf), ("action", "accept")],
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(body.contains("nhsuk-error-summary"));
    assert_eq!(
        p.case_events(id).await.len(),
        2,
        "nothing appended by the refusals"
    );
}

#[tokio::test]
async fn a_form_without_its_csrf_token_is_refused_and_nothing_is_appended() {
    let p = Pages::start().await;
    let worker = p.sign_in(NORTH, Role::LinkWorker, "Sam Patel").await;
    let id = p.refer(NORTH, "Cy").await;
    let view = format!("/cases/{id}/view");
    let (status, body, _) = p.post(&worker, &view, &[("action", "accept")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body.contains("Nothing was changed"));
    let (status, ..) = p
        .post(&worker, &view, &[("csrf", "forged"), ("action", "accept")])
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(p.case_events(id).await.is_empty());
}

#[tokio::test]
async fn another_organisations_case_is_the_same_not_found_page_as_a_missing_one() {
    let p = Pages::start().await;
    let worker = p.sign_in(NORTH, Role::LinkWorker, "Sam Patel").await;
    let theirs = p.refer(SOUTH, "Dee").await;
    let missing = Uuid::now_v7();
    let mut answers = Vec::new();
    for id in [theirs, missing] {
        for path in [
            format!("/cases/{id}/view"),
            format!("/cases/{id}/view/outcome?instrument=swemwbs"),
            format!("/cases/{id}/view/connect"),
        ] {
            let (status, body, _) = p.get(&worker, &path).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
            answers.push(body);
        }
        let (status, body, _) = p
            .post(
                &worker,
                &format!("/cases/{id}/view"),
                &[("csrf", &worker.csrf), ("action", "accept")],
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        answers.push(body);
    }
    assert!(
        answers.windows(2).all(|w| w[0] == w[1]),
        "one not-found page"
    );
    assert!(p.case_events(theirs).await.is_empty());
}

#[tokio::test]
async fn an_outcome_questionnaire_is_scored_and_its_change_from_baseline_shown() {
    let p = Pages::start().await;
    let worker = p.sign_in(NORTH, Role::LinkWorker, "Sam Patel").await;
    let id = p.refer(NORTH, "Eve").await;
    let view = format!("/cases/{id}/view");
    for step in [
        vec![("action", "accept")],
        vec![("action", "assign")],
        vec![
            ("action", "made"),
            ("made_channel", "phone"),
            ("minutes", "20"),
        ],
    ] {
        let mut form = vec![("csrf", worker.csrf.as_str())];
        form.extend(step);
        let (status, _, location) = p.post(&worker, &view, &form).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        p.get(&worker, &location.unwrap()).await;
    }
    let (status, body, _) = p
        .get(&worker, &format!("{view}/outcome?instrument=swemwbs"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body.contains("I've been feeling optimistic about the future")
            && body.contains("None of the time")
    );
    let answers = |timepoint: &'static str, value: &'static str, skip: usize| {
        let mut form = vec![
            ("instrument", "swemwbs".to_owned()),
            ("timepoint", timepoint.to_owned()),
        ];
        for i in 1..=7 {
            if i != skip {
                form.push((
                    [
                        "item_1", "item_2", "item_3", "item_4", "item_5", "item_6", "item_7",
                    ][i - 1],
                    value.to_owned(),
                ));
            }
        }
        form
    };
    let send = |form: Vec<(&'static str, String)>| {
        let mut all: Vec<(&str, String)> = vec![("csrf", worker.csrf.clone())];
        all.extend(form);
        all
    };
    let form = send(answers("baseline", "3", 4));
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, body, _) = p.post(&worker, &format!("{view}/outcome"), &pairs).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body.contains("href=\"#item_4\"") && body.contains("Answer question 4"),
        "{body}"
    );
    for (timepoint, value) in [("baseline", "3"), ("review", "4")] {
        let form = send(answers(timepoint, value, 0));
        let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (status, body, location) = p.post(&worker, &format!("{view}/outcome"), &pairs).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
        p.get(&worker, &location.unwrap()).await;
    }
    let (_, body, _) = p.get(&worker, &view).await;
    // Raw 21 -> metric 19.25, raw 28 -> 25.03: +5.78, improved.
    assert!(
        body.contains("Raw 21, metric 19.25") && body.contains("Raw 28, metric 25.03"),
        "{body}"
    );
    assert!(body.contains("+5.78 metric points: improved"), "{body}");
}

#[tokio::test]
async fn a_service_manager_allocates_from_the_team_page_and_a_link_worker_may_not_see_it() {
    let p = Pages::start().await;
    let manager = p.sign_in(NORTH, Role::ServiceManager, "Mo Khan").await;
    let worker = p.sign_in(NORTH, Role::LinkWorker, "Sam Patel").await;
    let id = p.refer(NORTH, "Flo").await;
    let view = format!("/cases/{id}/view");
    let (status, location) = {
        let (s, _, l) = p
            .post(
                &manager,
                &view,
                &[("csrf", &manager.csrf), ("action", "accept")],
            )
            .await;
        (s, l.unwrap())
    };
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, body, _) = p
        .get(
            &manager,
            &format!("/team?min_sequence={}", sequence_of(&location)),
        )
        .await;
    assert!(
        body.contains("Flo Testperson") && body.contains("Sam Patel"),
        "{body}"
    );
    let me = worker.user_id.to_string();
    let form = [
        ("csrf", manager.csrf.as_str()),
        ("action", "assign"),
        ("return_to", "team"),
        ("link_worker_id-1", me.as_str()),
    ];
    let (status, _, location) = p.post(&manager, &view, &form).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(location.as_deref().unwrap().starts_with("/team?"));
    let (_, body, _) = p.get(&manager, location.as_deref().unwrap()).await;
    assert!(
        body.contains("Case allocated") && body.contains("Every accepted case is allocated"),
        "{body}"
    );
    let events = p.case_events(id).await;
    assert_eq!(events.last().unwrap().0, "case.assigned");
    // The worker now sees it under "My cases".
    let (_, body, _) = p.get(&worker, "/").await;
    assert!(
        body.contains("My cases") && body.contains("Flo Testperson"),
        "{body}"
    );
    assert_eq!(p.get(&worker, "/team").await.0, StatusCode::FORBIDDEN);
    assert_eq!(
        p.get(&worker, "/directory/upload").await.0,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn not_signed_in_is_sent_to_sign_in() {
    let p = Pages::start().await;
    let r = p.http.get(format!("{}/", p.base)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/sign-in?return_to=%2F");
    let _ = &p.env;
}

#[path = "pages/directory.rs"]
mod directory;

#[path = "pages/directory_feed.rs"]
mod directory_feed;

#[path = "pages/mycaw.rs"]
mod mycaw;

#[path = "pages/connection_timers.rs"]
mod connection_timers;

#[path = "pages/appointments.rs"]
mod appointments;
