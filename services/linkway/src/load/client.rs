//! The load's HTTP client: each call is one operation (named by its operationId), timed
//! into the [`Recorder`] from its intended start, retried after a 503 or a lost connection
//! with the same `Idempotency-Key` (as the API contract says a client may), its answer
//! read as JSON.

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header::{self, HeaderMap};
use reqwest::{Method, StatusCode};
use serde_json::Value;

use super::report::Recorder;

/// Attempts of one operation before the journey gives up.
const ATTEMPTS: u32 = 5;
/// Longest a client waits for one answer.
const TIMEOUT: Duration = Duration::from_secs(30);

/// What is sent.
pub enum Body {
    Empty,
    Json(Value),
    /// A FHIR message (`application/fhir+json`).
    Fhir(Value),
}

/// One operation.
pub struct Call<'a> {
    pub operation: &'static str,
    pub method: Method,
    pub url: String,
    pub token: &'a str,
    pub key: Option<String>,
    /// The case version the caller decided on.
    pub if_match: Option<u64>,
    pub accept: Option<&'static str>,
    pub body: Body,
    /// When the operation should have started (open loop): latency counts from here, so a
    /// slow server cannot hide the requests it held back (coordinated omission).
    pub intended: Option<Instant>,
}

impl<'a> Call<'a> {
    pub fn get(operation: &'static str, url: String, token: &'a str) -> Call<'a> {
        Call {
            operation,
            method: Method::GET,
            url,
            token,
            key: None,
            if_match: None,
            accept: None,
            body: Body::Empty,
            intended: None,
        }
    }

    pub fn post(operation: &'static str, url: String, token: &'a str, body: Body) -> Call<'a> {
        Call {
            method: Method::POST,
            body,
            ..Call::get(operation, url, token)
        }
    }

    pub fn key(mut self, key: String) -> Self {
        self.key = Some(key);
        self
    }

    pub fn if_match(mut self, version: u64) -> Self {
        self.if_match = Some(version);
        self
    }
}

/// An answer (2xx, or one the caller asked to see).
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
    /// When the answer arrived.
    pub at: Instant,
}

/// Why an operation failed: its name and what it answered (never a body: it may hold a
/// person's details).
#[derive(Debug, Clone)]
pub struct Failure {
    pub operation: &'static str,
    pub answer: String,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} answered {}", self.operation, self.answer)
    }
}

#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    pub recorder: Arc<Recorder>,
}

impl Client {
    pub fn new(recorder: Arc<Recorder>) -> anyhow::Result<Client> {
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .pool_max_idle_per_host(1024)
            .build()?;
        Ok(Client { http, recorder })
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// Sends `call` until it is answered with something other than 503 (or no answer),
    /// at most [`ATTEMPTS`] times; a 2xx is the answer, anything else a [`Failure`].
    pub async fn send(&self, call: Call<'_>) -> Result<Answer, Failure> {
        self.send_expecting(call, &[]).await
    }

    /// Like [`Client::send`], but statuses in `also` are answers too.
    pub async fn send_expecting(
        &self,
        call: Call<'_>,
        also: &[StatusCode],
    ) -> Result<Answer, Failure> {
        let start = call.intended.unwrap_or_else(Instant::now);
        let op = call.operation;
        let fail = |answer: String| Failure {
            operation: op,
            answer,
        };
        let mut last = String::new();
        for attempt in 0..ATTEMPTS {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(100 * u64::from(attempt))).await;
            }
            match self.attempt(&call).await {
                Err(e) => {
                    self.recorder.status(op, 0);
                    last = format!("no answer ({})", kind(&e));
                }
                Ok((status, headers, bytes)) => {
                    self.recorder.status(op, status.as_u16());
                    if status == StatusCode::SERVICE_UNAVAILABLE {
                        let wait = retry_after(&headers).min(Duration::from_secs(2));
                        tokio::time::sleep(wait).await;
                        last = "503".into();
                        continue;
                    }
                    let at = Instant::now();
                    self.recorder.latency(op, at - start);
                    if !status.is_success() && !also.contains(&status) {
                        return Err(fail(problem_summary(status, &bytes)));
                    }
                    let body = serde_json::from_slice(&bytes)
                        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
                    return Ok(Answer {
                        status,
                        headers,
                        body,
                        at,
                    });
                }
            }
        }
        self.recorder.latency(op, start.elapsed());
        Err(fail(format!("{last} {ATTEMPTS} times")))
    }

    async fn attempt(
        &self,
        call: &Call<'_>,
    ) -> Result<(StatusCode, HeaderMap, bytes::Bytes), reqwest::Error> {
        let mut request = self
            .http
            .request(call.method.clone(), &call.url)
            .bearer_auth(call.token);
        if let Some(key) = &call.key {
            request = request.header("Idempotency-Key", key);
        }
        if let Some(version) = call.if_match {
            request = request.header(header::IF_MATCH, format!("\"{version}\""));
        }
        if let Some(accept) = call.accept {
            request = request.header(header::ACCEPT, accept);
        }
        request = match &call.body {
            Body::Empty => request,
            Body::Json(v) => request.json(v),
            Body::Fhir(v) => request
                .header(header::CONTENT_TYPE, "application/fhir+json")
                .body(v.to_string()),
        };
        let response = request.send().await?;
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.bytes().await?;
        Ok((status, headers, bytes))
    }
}

fn kind(e: &reqwest::Error) -> &'static str {
    if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection refused"
    } else {
        "connection lost"
    }
}

fn retry_after(headers: &HeaderMap) -> Duration {
    headers
        .get(header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .map_or(Duration::from_millis(200), Duration::from_secs)
}

/// `409 illegal-transition (accept_requires_routed)`: the status and the problem's rule,
/// which name what went wrong without any submitted value.
fn problem_summary(status: StatusCode, body: &[u8]) -> String {
    let rule = serde_json::from_slice::<Value>(body).ok().and_then(|v| {
        v["errors"][0]["rule"]
            .as_str()
            .or(v["issue"][0]["code"].as_str())
            .map(str::to_owned)
    });
    match rule {
        Some(rule) => format!("{} ({rule})", status.as_u16()),
        None => status.as_u16().to_string(),
    }
}
