//! A JSON API client for tests that drive the services over HTTP with bearer tokens.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

/// Calls the services' JSON operations as a bearer of a token.
#[derive(Clone, Default)]
pub struct ApiClient {
    pub http: reqwest::Client,
}

impl ApiClient {
    pub fn new() -> ApiClient {
        ApiClient::default()
    }

    /// `GET url`, or any other method as a `POST` of `body` (`{}` when `None`): the
    /// status and the answer as JSON (a string when it is not JSON).
    pub async fn call(
        &self,
        method: &str,
        url: &str,
        token: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let request = match method {
            "GET" => self.http.get(url),
            _ => self.http.post(url).json(&body.unwrap_or(json!({}))),
        };
        let answer = request.bearer_auth(token).send().await.expect("request");
        let status = answer.status();
        let text = answer.text().await.expect("body");
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// [`ApiClient::call`] that must succeed: its answer.
    pub async fn ok(&self, method: &str, url: &str, token: &str, body: Option<Value>) -> Value {
        let (status, answer) = self.call(method, url, token, body).await;
        assert!(status.is_success(), "{method} {url}: {status} {answer}");
        answer
    }

    /// Waits (at most 30 s) until the service knows `token`: the registry projected it.
    pub async fn until_authorised(&self, url: &str, token: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.call("GET", url, token, None).await.0 == StatusCode::UNAUTHORIZED {
            assert!(Instant::now() < deadline, "token not accepted within 30 s");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
