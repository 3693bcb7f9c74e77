//! The three ways a referral enters (JSON, FHIR message, web form), each sent against a
//! running intake and read back as one comparable [`Outcome`]: the status, and the rules
//! refused (with the field or FHIRPath each names).

use linkway_events::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::support::*;

/// The ODS code the FHIR sender (the GP) is registered with.
pub const ODS: &str = "Y99001";

/// What a channel answered.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub status: StatusCode,
    /// `(field or FHIRPath, rule)` of each refusal.
    pub refused: Vec<(String, String)>,
    /// The whole answer, to check nothing sent is echoed.
    pub body: String,
    pub location: Option<String>,
}

impl Outcome {
    pub fn rules(&self) -> Vec<String> {
        let mut r: Vec<String> = self.refused.iter().map(|(_, r)| r.clone()).collect();
        r.sort();
        r.dedup();
        r
    }

    /// The accepted referral's id: from `Location` (JSON, FHIR) or the confirmation page.
    pub fn referral_id(&self) -> Option<String> {
        match &self.location {
            Some(l) => l.rsplit('/').next().map(str::to_owned),
            None => self
                .body
                .split("id=\"referral-id\">")
                .nth(1)
                .and_then(|s| s.split('<').next())
                .map(str::to_owned),
        }
    }

    /// Whether some refusal names `field` (a JSON field, a form control's field, or a
    /// FHIRPath containing it) with `rule`.
    pub fn refuses(&self, field: &str, rule: &str) -> bool {
        self.refused
            .iter()
            .any(|(f, r)| r == rule && (f == field || f.contains(field)))
    }
}

/// Intake with a GP that can send by all three channels and a rule routing LS6.
pub async fn start() -> (Intake, String) {
    let intake = Intake::start().await;
    intake.register_with_code(GP, ODS).await;
    intake.add_rule(SERVICE, district("LS6"), 1).await;
    let gp = intake.token(GP, Role::Referrer).await;
    (intake, gp)
}

pub async fn send_json(intake: &Intake, token: &str, body: &Value) -> Outcome {
    send_raw_json(intake, token, body.to_string()).await
}

pub async fn send_raw_json(intake: &Intake, token: &str, body: String) -> Outcome {
    let (status, location, body) =
        post(intake, "/referrals", "application/json", Some(token), body).await;
    let problem: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    let refused = problem["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| (text(&e["field"]), text(&e["rule"])))
        .collect();
    Outcome {
        status,
        refused,
        body,
        location,
    }
}

/// Posts a body; the status, `Location` and the answer's text.
async fn post(
    intake: &Intake,
    path: &str,
    content_type: &str,
    token: Option<&str>,
    body: String,
) -> (StatusCode, Option<String>, String) {
    let mut request = intake
        .http
        .post(intake.url(path))
        .header("content-type", content_type)
        .body(body);
    if let Some(t) = token {
        request = request.bearer_auth(t);
    }
    let res = request.send().await.expect("request");
    let status = res.status();
    let location = res
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    (status, location, res.text().await.unwrap())
}

/// A FHIR fixture of `tests/fixtures/fhir/`.
pub fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/fhir/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The FHIR message fixture: a valid referral to social prescribing.
pub fn message() -> Value {
    fixture("social-prescribing-referral.json")
}

/// The first resource of type `t` in a bundle.
pub fn resource<'a>(bundle: &'a mut Value, t: &str) -> &'a mut Value {
    bundle["entry"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|e| e["resource"]["resourceType"] == t)
        .map(|e| &mut e["resource"])
        .unwrap()
}

/// Sends a message bundle under a fresh `Bundle.id`, so that each send is a new message.
pub async fn send_fhir(intake: &Intake, token: &str, bundle: &Value) -> Outcome {
    let mut bundle = bundle.clone();
    bundle["id"] = json!(Uuid::new_v4().to_string());
    send_raw_fhir(intake, token, bundle.to_string()).await
}

pub async fn send_raw_fhir(intake: &Intake, token: &str, body: String) -> Outcome {
    let (status, location, body) = post(
        intake,
        "/fhir/$process-message",
        "application/fhir+json",
        Some(token),
        body,
    )
    .await;
    let oo: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    let refused = oo["issue"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|i| i["severity"] == "error")
        .map(|i| {
            let rule = i["details"]["coding"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|c| {
                    c["system"]
                        .as_str()
                        .is_some_and(|s| s.ends_with("validation-rule"))
                })
                .map(|c| text(&c["code"]))
                .unwrap_or_else(|| text(&i["code"]));
            (text(&i["expression"][0]), rule)
        })
        .collect();
    Outcome {
        status,
        refused,
        body,
        location,
    }
}

/// A filled-in form that passes every rule, as name/value pairs.
pub fn form(token: &str) -> Vec<(String, String)> {
    [
        ("access_token", token),
        ("idempotency_key", ""),
        ("nhs_number", "943 476 5919"),
        ("given_name", "Robin"),
        ("family_name", "Example"),
        ("birth_date", "1961-05-17"),
        ("address_line1", "14 Imaginary Row"),
        ("address_line3", "Leeds"),
        ("postcode", "LS6 9ZZ"),
        ("phone", "07700 900123"),
        ("preferred_contact_method", "phone"),
        ("need", "422650009"),
        ("needs_text", "Lonely since moving"),
        ("urgency", "routine"),
        ("safeguarding_concern", "no"),
        ("legal_basis", "public_task_health_care"),
        ("referral_agreed", "yes"),
        ("share_details", "yes"),
        ("practitioner_name", "Dr Placeholder"),
        ("notes", "Prefers mornings"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect()
}

/// Sets a form field (adding it when absent).
pub fn set(form: &mut Vec<(String, String)>, name: &str, value: &str) {
    match form.iter_mut().find(|(k, _)| k == name) {
        Some(pair) => pair.1 = value.to_owned(),
        None => form.push((name.to_owned(), value.to_owned())),
    }
}

/// Posts a form under a fresh idempotency key.
pub async fn send_form(intake: &Intake, form: &[(String, String)]) -> Outcome {
    let key = Uuid::new_v4().to_string();
    let body = form
        .iter()
        .map(|(k, v)| {
            let v = if k == "idempotency_key" {
                key.as_str()
            } else {
                v
            };
            format!("{}={}", pct(k), pct(v))
        })
        .collect::<Vec<_>>()
        .join("&");
    send_raw_form(intake, body).await
}

pub async fn send_raw_form(intake: &Intake, body: String) -> Outcome {
    let (status, location, body) = post(
        intake,
        "/form",
        "application/x-www-form-urlencoded",
        None,
        body,
    )
    .await;
    let refused = body
        .split("data-field=\"")
        .skip(1)
        .filter_map(|s| {
            let (field, rest) = s.split_once('"')?;
            let rule = rest.split("data-rule=\"").nth(1)?.split('"').next()?;
            Some((field.to_owned(), rule.to_owned()))
        })
        .collect();
    Outcome {
        status,
        refused,
        body,
        location,
    }
}

/// Percent-encodes a form value (every byte outside the unreserved set).
pub fn pct(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_owned()
}
