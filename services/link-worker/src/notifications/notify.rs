//! The notification sender, shaped like GOV.UK Notify's client: an email or a text message
//! from a template, with its personalisation and a reference (ours: the notification's
//! id, so Notify's records and ours join). [`HttpNotify`] posts Notify's JSON to
//! `LINKWAY_NOTIFY_URL` (`/v2/notifications/email`, `/v2/notifications/sms`).
//!
//! Authentication is Notify's own: each request carries a JWT (HS256) whose issuer is
//! the service id in the API key and whose `iat` is now, signed with the key's secret
//! ([`NotifyKey`]; the key itself never leaves the process).

use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use linkway_platform::secret::Secret;
use linkway_platform::service::BoxFuture;
use serde_json::{Value, json};
use sha2::Sha256;
use uuid::Uuid;

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

/// A GOV.UK Notify API key, `<key name>-<service id>-<secret key>` (both ids UUIDs), as
/// Notify's own clients read it: the secret is the last 36 characters, the service id the
/// 36 before the `-` that precedes it.
pub struct NotifyKey {
    service_id: String,
    secret: Secret,
}

/// An API key that is not in Notify's form (never shows the key).
#[derive(Debug, thiserror::Error)]
#[error(
    "LINKWAY_NOTIFY_API_KEY must be a GOV.UK Notify API key: \
     <key name>-<service id>-<secret key>, both ids UUIDs"
)]
pub struct BadNotifyKey;

impl NotifyKey {
    pub fn parse(key: &Secret) -> Result<NotifyKey, BadNotifyKey> {
        let key = key.expose();
        let n = key.len();
        if n < 74
            || !key.is_ascii()
            || key.as_bytes()[n - 37] != b'-'
            || key.as_bytes()[n - 74] != b'-'
        {
            return Err(BadNotifyKey);
        }
        let (service_id, secret) = (&key[n - 73..n - 37], &key[n - 36..]);
        if Uuid::try_parse(service_id).is_err() || Uuid::try_parse(secret).is_err() {
            return Err(BadNotifyKey);
        }
        Ok(NotifyKey {
            service_id: service_id.to_owned(),
            secret: Secret::new(secret.to_owned()),
        })
    }

    /// The bearer token of a request made at `iat` (Unix seconds): a JWT, HS256, issuer
    /// the service id, signed with the secret. Notify refuses one more than 30 s old.
    pub fn token(&self, iat: i64) -> String {
        let part = |json: &str| URL_SAFE_NO_PAD.encode(json);
        let header = part(r#"{"alg":"HS256","typ":"JWT"}"#);
        let claims = part(&format!(r#"{{"iss":"{}","iat":{iat}}}"#, self.service_id));
        let signed = format!("{header}.{claims}");
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(self.secret.expose().as_bytes())
            .expect("HMAC takes any key length");
        mac.update(signed.as_bytes());
        let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        format!("{signed}.{signature}")
    }
}

/// Notify over HTTP.
pub struct HttpNotify {
    base: String,
    api_key: Option<NotifyKey>,
    http: reqwest::Client,
}

impl HttpNotify {
    /// A key not in Notify's form is refused here, so a process does not start with it.
    pub fn new(base: &str, api_key: Option<Secret>, timeout: Duration) -> anyhow::Result<Self> {
        let api_key = api_key.as_ref().map(NotifyKey::parse).transpose()?;
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
            // The real time, whatever the timers' clock says: Notify checks it against its own.
            let now = time::OffsetDateTime::now_utc().unix_timestamp();
            request = request.bearer_auth(key.token(now));
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

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str =
        "linkway_test-26785a09-ab16-4eb0-8407-a37497a57506-3d844edf-8d35-48ac-975b-e847b4f122b0";

    #[test]
    fn a_request_is_signed_as_notifys_clients_sign_it() {
        let key = NotifyKey::parse(&Secret::new(KEY.to_owned())).unwrap();
        // Worked out apart from this code, with Python's hmac and base64 modules.
        assert_eq!(
            key.token(1_700_000_000),
            "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.\
             eyJpc3MiOiIyNjc4NWEwOS1hYjE2LTRlYjAtODQwNy1hMzc0OTdhNTc1MDYiLCJpYXQiOjE3MDAwMDAwMDB9.\
             Kn-G9XSJxdSMk5GxZAwIpUFB7KL-ZpWDLUGVQeIZ4Ec"
        );
    }

    #[test]
    fn a_key_not_in_notifys_form_is_refused_without_showing_it() {
        for bad in [
            "",
            "not-a-key",
            &KEY[13..],                             // no key name before the service id
            &KEY.replace("-3d844edf", "_3d844edf"), // no separator before the secret
            &KEY.replace("26785a09", "26785a0z"),   // the service id not a UUID
        ] {
            let refused = NotifyKey::parse(&Secret::new(bad.to_owned())).err();
            let said = refused.map(|e| e.to_string()).unwrap_or_default();
            assert!(said.contains("LINKWAY_NOTIFY_API_KEY"), "{bad:?} refused");
            assert!(bad.len() < 10 || !said.contains(&bad[bad.len() - 10..]));
        }
        assert!(
            HttpNotify::new(
                "http://127.0.0.1:1",
                Some(Secret::new("x".to_owned())),
                Duration::from_secs(1)
            )
            .is_err()
        );
    }
}
