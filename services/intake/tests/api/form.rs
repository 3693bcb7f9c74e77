//! The web form: server-rendered, no JavaScript, the same rules as the API.

use linkway_events::referral::{ReferralEvent, SourceChannel};
use linkway_events::{Event, Role};
use reqwest::StatusCode;

use crate::channels::pct;
use crate::support::*;

pub(crate) fn encode(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", pct(k), pct(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn filled<'a>(token: &'a str, key: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("access_token", token),
        ("idempotency_key", key),
        ("nhs_number", "943 476 5919"),
        ("nhs_number_verification", "number-present-and-verified"),
        ("given_name", "Robin"),
        ("family_name", "Example"),
        ("birth_date", "1961-05-17"),
        ("address_line1", "14 Imaginary Row"),
        ("address_line2", ""),
        ("address_line3", "Leeds"),
        ("postcode", "LS6 9ZZ"),
        ("phone", "07700 900123"),
        ("email", ""),
        ("preferred_contact_method", "phone"),
        ("need", "422650009"),
        ("need", "73595000"),
        ("needs_text", "Lonely since moving"),
        ("urgency", "routine"),
        ("safeguarding_concern", "no"),
        ("legal_basis", "public_task_health_care"),
        ("referral_agreed", "yes"),
        ("share_details", "yes"),
        ("practitioner_name", "Dr Placeholder"),
    ]
}

async fn post_form(intake: &Intake, body: String, bearer: Option<&str>) -> (StatusCode, String) {
    let mut req = intake
        .http
        .post(intake.url("/form"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body);
    if let Some(t) = bearer {
        req = req.bearer_auth(t);
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    (status, res.text().await.unwrap())
}

/// The text of the element with `id`.
fn by_id(html: &str, id: &str) -> String {
    let start = html
        .find(&format!("id=\"{id}\">"))
        .unwrap_or_else(|| panic!("no #{id} in {html}"))
        + id.len()
        + 6;
    html[start..start + html[start..].find('<').unwrap()].to_owned()
}

#[tokio::test]
async fn the_empty_form_is_plain_accessible_html_asking_for_the_token() {
    let intake = Intake::start().await;
    let res = intake.http.get(intake.url("/form")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert_eq!(res.headers()["cache-control"], "no-store");
    let html = res.text().await.unwrap();
    assert!(html.starts_with("<!DOCTYPE html><html lang=\"en-GB\">"));
    assert!(html.contains(r#"<form method="post" action="/form""#));
    assert!(html.contains(r#"<label for="access_token">"#) && html.contains(r#"type="password""#));
    assert!(html.contains(r#"<label for="nhs_number">NHS number</label>"#));
    assert!(html.contains("<fieldset") && html.contains("<legend>Urgency</legend>"));
    assert!(!html.contains("<script"));

    let res = intake
        .http
        .get(intake.url("/form"))
        .bearer_auth("lw_nonsense")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_filled_form_sends_a_web_referral_that_the_referrer_can_follow() {
    let intake = Intake::start().await;
    intake.add_rule(SERVICE, district("LS6"), 1).await;
    let gp = intake.token(GP, Role::Referrer).await;
    let (status, html) = post_form(&intake, encode(&filled(&gp, "form-1")), None).await;
    assert_eq!(status, StatusCode::CREATED, "{html}");
    assert!(html.contains("Referral sent"));
    assert!(!html.contains(&gp), "the token is never echoed");
    let id = by_id(&html, "referral-id");
    assert_eq!(by_id(&html, "referral-status"), "routed");
    let events = intake.events(&id).await;
    let Event::Referral(ReferralEvent::Received(r)) = &events[0].1 else {
        panic!()
    };
    assert_eq!(r.source_channel, SourceChannel::Web);
    assert_eq!(r.referrer_organisation_id, GP);
    assert_eq!(r.needs.len(), 2);
    let (status, view) = intake
        .get(
            &gp,
            &format!("/referrals/{id}?min_sequence={}", intake.log_end().await),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(view["source_channel"], "web");

    // A double click (same rendered form) lands on the same referral.
    let end = intake.log_end().await;
    let (status, html) = post_form(&intake, encode(&filled(&gp, "form-1")), None).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(by_id(&html, "referral-id"), id);
    assert_eq!(intake.log_end().await, end);
}

#[tokio::test]
async fn a_bearer_header_authenticates_the_form_too() {
    let intake = Intake::start().await;
    let gp = intake.token(GP, Role::Referrer).await;
    let res = intake
        .http
        .get(intake.url("/form"))
        .bearer_auth(&gp)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(!res.text().await.unwrap().contains("access_token"));
    let fields: Vec<_> = filled("", "form-2")
        .into_iter()
        .filter(|(k, _)| *k != "access_token")
        .collect();
    let (status, html) = post_form(&intake, encode(&fields), Some(&gp)).await;
    assert_eq!(status, StatusCode::CREATED, "{html}");
    assert_eq!(by_id(&html, "referral-status"), "unroutable");
}

#[tokio::test]
async fn validation_messages_appear_next_to_their_fields_and_nothing_is_sent() {
    let intake = Intake::start().await;
    let gp = intake.token(GP, Role::Referrer).await;
    let before = intake.log_end().await;
    let mut fields = filled(&gp, "form-3");
    for (k, v) in fields.iter_mut() {
        match *k {
            "nhs_number" => *v = "943 476 5918",
            "postcode" => *v = "nowhere",
            _ => {}
        }
    }
    fields.retain(|(k, _)| *k != "urgency");
    let (status, html) = post_form(&intake, encode(&fields), None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("There is a problem"));
    for control in ["nhs_number", "postcode"] {
        let error = format!(r#"<p class="error-message" id="{control}-error">"#);
        let input = format!(r#"<input type="text" id="{control}""#);
        let (e, i) = (
            html.find(&error).expect(control),
            html.find(&input).expect(control),
        );
        assert!(
            e < i && i - e < 400,
            "{control}: the message sits just before its input"
        );
    }
    assert!(html.contains(r#"<fieldset class="field field-error" id="urgency""#));
    assert!(html.contains(r#"value="Robin""#), "what was typed is kept");
    assert!(!html.contains(&gp), "the token is not");
    assert_eq!(intake.log_end().await, before);
}

#[tokio::test]
async fn a_bad_token_or_a_role_that_may_not_refer_sends_nothing() {
    let intake = Intake::start().await;
    let icb = intake.token(ICB, Role::Commissioner).await;
    let before = intake.log_end().await;
    let (status, html) = post_form(&intake, encode(&filled("lw_wrong", "form-4")), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(html.contains(r#"id="access_token-error""#));
    let (status, _) = post_form(&intake, encode(&filled("", "form-4")), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, html) = post_form(&intake, encode(&filled(&icb, "form-4")), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(html.contains("may not send referrals"));
    assert_eq!(intake.log_end().await, before);
}
