//! The notification sender, shaped like GOV.UK Notify's client: an email or a text message
//! from a template, with its personalisation and a reference (ours: the notification's
//! id, so Notify's records and ours join). [`HttpNotify`] posts Notify's JSON to
//! `LINKWAY_NOTIFY_URL` (`/v2/notifications/email`, `/v2/notifications/sms`).
//!
//! Authentication: Notify's own scheme is a JWT (HS256) signed with the API key's secret.
//! No JWT crate is in the dependency tree, so the key is sent as a bearer token
//! (`Authorization: Bearer <LINKWAY_NOTIFY_API_KEY>`); a Notify-compatible gateway (or a
//! relay that signs) takes it from there. Switching to a JWT is a change here only.

use std::time::{Duration, Instant};

use linkway_platform::secret::Secret;
use linkway_platform::service::BoxFuture;
use serde_json::{Value, json};

use super::store::Attempt;

/// What came back from a send: Notify's id for it, or what went wrong (never the message).
pub type Sent = Result<Option<String>, Attempt>;

/// Sends notifications; each call is one attempt, and says what came back.
pub trait NotificationSender: Send + Sync {
    fn send_email<'a>(
        &'a self,
        template_id: &'a str,
        email_address: &'a str,
        personalisation: &'a Value,
        reference: &'a str,
    ) -> BoxFuture<'a, (Sent, u32)>;

    fn send_sms<'a>(
        &'a self,
        template_id: &'a str,
        phone_number: &'a str,
        personalisation: &'a Value,
        reference: &'a str,
    ) -> BoxFuture<'a, (Sent, u32)>;
}

/// Notify over HTTP.
pub struct HttpNotify {
    base: String,
    api_key: Option<Secret>,
    http: reqwest::Client,
}

impl HttpNotify {
    pub fn new(base: &str, api_key: Option<Secret>, timeout: Duration) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(HttpNotify {
            base: base.trim_end_matches('/').to_owned(),
            api_key,
            http,
        })
    }

    async fn post(&self, path: &str, body: Value) -> (Sent, u32) {
        let started = Instant::now();
        let ms = || started.elapsed().as_millis().min(i32::MAX as u128) as u32;
        let mut request = self.http.post(format!("{}{path}", self.base)).json(&body);
        if let Some(key) = &self.api_key {
            request = request.bearer_auth(key.expose());
        }
        match request.send().await {
            Ok(answer) if answer.status().is_success() => {
                let id = answer
                    .json::<Value>()
                    .await
                    .ok()
                    .and_then(|v| v["id"].as_str().map(str::to_owned));
                (Ok(id), ms())
            }
            Ok(answer) => {
                let failed = Attempt {
                    status_code: Some(answer.status().as_u16()),
                    error_kind: None,
                    duration_ms: ms(),
                };
                (Err(failed), ms())
            }
            Err(e) => {
                let kind = if e.is_timeout() {
                    "timeout"
                } else if e.is_connect() {
                    "connect"
                } else {
                    "request"
                };
                let failed = Attempt {
                    status_code: None,
                    error_kind: Some(kind),
                    duration_ms: ms(),
                };
                (Err(failed), ms())
            }
        }
    }
}

impl NotificationSender for HttpNotify {
    fn send_email<'a>(
        &'a self,
        template_id: &'a str,
        email_address: &'a str,
        personalisation: &'a Value,
        reference: &'a str,
    ) -> BoxFuture<'a, (Sent, u32)> {
        let body = notification(
            template_id,
            ("email_address", email_address),
            personalisation,
            reference,
        );
        Box::pin(self.post("/v2/notifications/email", body))
    }

    fn send_sms<'a>(
        &'a self,
        template_id: &'a str,
        phone_number: &'a str,
        personalisation: &'a Value,
        reference: &'a str,
    ) -> BoxFuture<'a, (Sent, u32)> {
        let body = notification(
            template_id,
            ("phone_number", phone_number),
            personalisation,
            reference,
        );
        Box::pin(self.post("/v2/notifications/sms", body))
    }
}

/// Notify's request body: the template, the recipient under its own name, the
/// personalisation and our reference.
fn notification(
    template_id: &str,
    to: (&str, &str),
    personalisation: &Value,
    reference: &str,
) -> Value {
    let mut body = json!({
        "template_id": template_id,
        "personalisation": personalisation,
        "reference": reference,
    });
    body[to.0] = json!(to.1);
    body
}
