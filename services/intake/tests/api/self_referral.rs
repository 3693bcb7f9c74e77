//! Self-referral (`POST /self-referrals`, `/self-referral`): no token, routed by postcode
//! district with `source_channel` `self`; refused without agreement, over its own limit
//! per address (other addresses and other routes unaffected), and when the honeypot is
//! filled or the form token is too new, forged or expired, with nothing appended. Time is
//! the test's clock, never a sleep.

use std::net::{IpAddr, Ipv4Addr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use linkway_events::referral::{ReferralEvent, SELF_REFERRAL_ORGANISATION, SourceChannel};
use linkway_events::{Event, Role};
use linkway_intake::self_referral::SelfReferralSettings;
use linkway_platform::rate_limit::Rate;
use reqwest::StatusCode;
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::support::{GP, Intake, OTHER_SERVICE, SERVICE, district, from_org};

/// A clock the test moves by hand.
#[derive(Clone)]
struct TestClock {
    start: OffsetDateTime,
    offset_secs: Arc<AtomicI64>,
}

impl TestClock {
    fn new() -> TestClock {
        TestClock {
            start: OffsetDateTime::now_utc(),
            offset_secs: Arc::new(AtomicI64::new(0)),
        }
    }

    fn advance(&self, secs: i64) {
        self.offset_secs.fetch_add(secs, Ordering::SeqCst);
    }

    fn settings(&self, limit: Option<u32>) -> SelfReferralSettings {
        let clock = self.clone();
        SelfReferralSettings {
            limit_per_address: limit.map(|n| Rate {
                count: NonZeroU32::new(n).unwrap(),
                period: Duration::from_secs(3600),
            }),
            clock: Arc::new(move || {
                clock.start + time::Duration::seconds(clock.offset_secs.load(Ordering::SeqCst))
            }),
        }
    }
}

/// Intake with a district rule LS6 -> SERVICE (and a rule for GP's referrals elsewhere,
/// which a self-referral never meets), the rules projected.
async fn start(clock: &TestClock, limit: Option<u32>) -> Intake {
    let intake = Intake::start_self_referral(clock.settings(limit)).await;
    intake.add_rule(SERVICE, district("LS6"), 5).await;
    intake.add_rule(OTHER_SERVICE, from_org(GP), 1).await;
    // A token issued after the rules is accepted once the registry has them.
    intake.token(GP, Role::Referrer).await;
    intake
}

fn person() -> Value {
    json!({
        "given_name": "Sam",
        "family_name": "Example",
        "birth_date": "1980-04-01",
        "postcode": "LS6 9ZZ",
        "phone": "07700 900123",
        "preferred_contact_method": "phone",
        "nhs_number": "9434765919",
        "what_matters": "I feel lonely since I moved here.",
        "agreed": true
    })
}

async fn form_token(intake: &Intake, http: &reqwest::Client) -> String {
    let res = http
        .get(intake.url("/self-referrals/token"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    body["form_token"].as_str().unwrap().to_owned()
}

async fn send(
    intake: &Intake,
    http: &reqwest::Client,
    body: &Value,
) -> (StatusCode, Option<String>, Value) {
    send_with_key(intake, http, body, None).await
}

async fn send_with_key(
    intake: &Intake,
    http: &reqwest::Client,
    body: &Value,
    key: Option<&str>,
) -> (StatusCode, Option<String>, Value) {
    let mut req = http.post(intake.url("/self-referrals")).json(body);
    if let Some(key) = key {
        req = req.header("Idempotency-Key", key);
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    let retry = res
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, retry, res.json().await.unwrap_or(Value::Null))
}

fn with(mut body: Value, key: &str, value: Value) -> Value {
    body[key] = value;
    body
}

fn from_address(last: u8) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 0, last)))
        .build()
        .unwrap()
}

fn fields(problem: &Value) -> Vec<(String, String)> {
    problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["field"].as_str().unwrap().to_owned(),
                e["rule"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_self_referral_is_routed_by_district_as_source_channel_self() {
    let clock = TestClock::new();
    let intake = start(&clock, Some(5)).await;
    let http = reqwest::Client::new();
    let token = form_token(&intake, &http).await;
    clock.advance(5);
    let body = with(person(), "form_token", json!(token));
    let (status, _, answer) = send_with_key(&intake, &http, &body, Some("self-1")).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(answer["status"], "routed", "{answer}");
    let id = answer["referral_id"].as_str().unwrap().to_owned();
    let events = intake.events(&id).await;
    let Event::Referral(ReferralEvent::Received(r)) = &events[0].1 else {
        panic!("{events:?}")
    };
    assert_eq!(r.source_channel, SourceChannel::SelfReferral);
    assert_eq!(r.referrer_organisation_id, SELF_REFERRAL_ORGANISATION);
    assert_eq!(
        r.legal_basis,
        linkway_events::referral::LegalBasis::ExplicitConsent
    );
    assert!(r.consent.referral_agreed);
    assert_eq!(r.postcode_district, "LS6");
    assert_eq!(
        events[0].0.actor.organisation_id,
        SELF_REFERRAL_ORGANISATION
    );
    let personal = r.personal.as_ref().expect("personal");
    assert_eq!(personal.person.given_name, "Sam");
    assert!(personal.person.address.lines.is_empty());
    let Event::Referral(ReferralEvent::Routed(routed)) = &events[1].1 else {
        panic!("{events:?}")
    };
    assert_eq!(routed.link_worker_organisation_id, SERVICE, "by district");

    // The same key and details: the same referral, nothing appended.
    let end = intake.log_end().await;
    let (status, _, again) = send_with_key(&intake, &http, &body, Some("self-1")).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(again["referral_id"], answer["referral_id"]);
    assert_eq!(intake.log_end().await, end);
}

#[tokio::test]
async fn without_agreement_a_self_referral_is_refused_naming_agreed() {
    let clock = TestClock::new();
    let intake = start(&clock, None).await;
    let http = reqwest::Client::new();
    let token = form_token(&intake, &http).await;
    clock.advance(5);
    let end = intake.log_end().await;
    for agreed in [json!(false), Value::Null] {
        let mut body = with(person(), "form_token", json!(token));
        if agreed.is_null() {
            body.as_object_mut().unwrap().remove("agreed");
        } else {
            body["agreed"] = agreed;
        }
        let (status, _, problem) = send(&intake, &http, &body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
        assert!(
            fields(&problem).iter().any(|(f, _)| f == "agreed"),
            "{problem}"
        );
    }
    assert_eq!(intake.log_end().await, end, "nothing appended");
}

#[tokio::test]
async fn the_honeypot_and_a_token_too_new_forged_or_expired_are_refused_appending_nothing() {
    let clock = TestClock::new();
    let intake = start(&clock, None).await;
    let http = reqwest::Client::new();
    let end = intake.log_end().await;
    let token = form_token(&intake, &http).await;

    // Too fast: posted within a second of fetching the token.
    clock.advance(1);
    let (status, _, problem) =
        send(&intake, &http, &with(person(), "form_token", json!(token))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        fields(&problem),
        [("form_token".to_owned(), "form_token_too_new".to_owned())]
    );

    // No token, a forged one.
    clock.advance(10);
    let (status, _, problem) = send(&intake, &http, &person()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(fields(&problem), [("form_token".into(), "required".into())]);
    let forged = format!("{}.{}", clock.start.unix_timestamp(), "0".repeat(64));
    let (_, _, problem) = send(&intake, &http, &with(person(), "form_token", json!(forged))).await;
    assert_eq!(
        fields(&problem),
        [("form_token".into(), "form_token_invalid".into())]
    );

    // The honeypot filled, with a good token: refused naming only `website`.
    let bot = with(
        with(person(), "form_token", json!(token)),
        "website",
        json!("http://spam.example"),
    );
    let (status, _, problem) = send(&intake, &http, &bot).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(fields(&problem), [("website".into(), "honeypot".into())]);

    // Over an hour old.
    clock.advance(3600);
    let (_, _, problem) = send(&intake, &http, &with(person(), "form_token", json!(token))).await;
    assert_eq!(
        fields(&problem),
        [("form_token".into(), "form_token_expired".into())]
    );
    assert_eq!(intake.log_end().await, end, "nothing appended");

    // The page: a filled honeypot shows the form again, nothing appended.
    let page = http
        .get(intake.url("/self-referral"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let page_token = hidden(&page, "form_token");
    clock.advance(5);
    let res = http
        .post(intake.url("/self-referral"))
        .header("content-type", FORM)
        .body(encode_form(&page_form(&page_token, "http://spam.example")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    assert!(html.contains("There is a problem"), "{html}");
    assert_eq!(intake.log_end().await, end, "nothing appended");
}

#[tokio::test]
async fn over_its_limit_an_address_is_refused_while_another_address_and_other_routes_are_not() {
    let clock = TestClock::new();
    let intake = start(&clock, Some(2)).await;
    let one = from_address(1);
    let two = from_address(2);
    let token = form_token(&intake, &one).await;
    clock.advance(5);
    let body = with(person(), "form_token", json!(token));
    for _ in 0..2 {
        let (status, _, answer) = send(&intake, &one, &body).await;
        assert_eq!(status, StatusCode::CREATED, "{answer}");
    }
    let end = intake.log_end().await;
    let (status, retry, problem) = send(&intake, &one, &body).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{problem}");
    assert!(retry.unwrap().parse::<u64>().unwrap() >= 1);
    assert_eq!(
        fields(&problem),
        [("request".into(), "self_referral_limit_per_address".into())]
    );
    assert_eq!(intake.log_end().await, end, "nothing appended");

    // The page says it in HTML, with Retry-After.
    let res = one
        .post(intake.url("/self-referral"))
        .header("content-type", FORM)
        .body(encode_form(&page_form(&token, "")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(res.headers().contains_key("retry-after"));
    assert!(res.text().await.unwrap().contains("Too many referrals"));

    // The same address's other requests are under the platform's limit only.
    assert!(!form_token(&intake, &one).await.is_empty());
    // Another address has its own count.
    let (status, _, answer) = send(&intake, &two, &body).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
}

#[tokio::test]
async fn the_page_sends_a_self_referral_and_shows_refusals_beside_their_fields() {
    let clock = TestClock::new();
    let intake = start(&clock, None).await;
    let http = reqwest::Client::new();
    let page = http
        .get(intake.url("/self-referral"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Refer yourself to social prescribing"));
    assert!(page.contains(r#"autocomplete="given-name""#));
    let token = hidden(&page, "form_token");
    clock.advance(5);

    // Not agreed: the form again, the problem beside the box and in the summary.
    let mut form = page_form(&token, "");
    form.retain(|(k, _)| *k != "agreed");
    let res = http
        .post(intake.url("/self-referral"))
        .header("content-type", FORM)
        .body(encode_form(&form))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    assert!(html.contains(r##"href="#agreed""##), "{html}");
    assert!(html.contains(r#"id="agreed-error""#), "{html}");
    assert!(html.contains(r#"value="Sam""#), "what was typed is kept");

    let res = http
        .post(intake.url("/self-referral"))
        .header("content-type", FORM)
        .body(encode_form(&page_form(&token, "")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("Your referral has been sent")
    );
}

const FORM: &str = "application/x-www-form-urlencoded";

fn encode_form(pairs: &[(&'static str, String)]) -> String {
    let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    crate::form::encode(&pairs)
}

fn page_form(token: &str, website: &str) -> Vec<(&'static str, String)> {
    vec![
        ("idempotency_key", "page-1".into()),
        ("form_token", token.into()),
        ("website", website.into()),
        ("given_name", "Sam".into()),
        ("family_name", "Example".into()),
        ("birth_date", "1980-04-01".into()),
        ("postcode", "LS6 9ZZ".into()),
        ("phone", "07700 900123".into()),
        ("preferred_contact_method", "phone".into()),
        ("what_matters", "I feel lonely.".into()),
        ("agreed", "yes".into()),
    ]
}

/// The value of the hidden input `name` in a page.
fn hidden(html: &str, name: &str) -> String {
    let at = html
        .find(&format!(r#"name="{name}" value=""#))
        .expect("the hidden field");
    let rest = &html[at + name.len() + 15..];
    rest[..rest.find('"').unwrap()].to_owned()
}
