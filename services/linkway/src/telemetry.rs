//! OpenTelemetry for the process: every span is an OpenTelemetry span (so requests get W3C
//! trace ids that go into log lines and events' headers, see
//! `linkway_platform::telemetry`), exported over OTLP/HTTP with JSON bodies when
//! `LINKWAY_OTLP_ENDPOINT` is set. The exporter posts with the process's own reqwest client
//! on the tokio runtime; spans are batched and flushed when [`Telemetry`] is dropped.

use std::time::Duration;

use bytes::Bytes;
use opentelemetry::KeyValue;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_http::{HttpClient, HttpError, Request, Response};
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};

/// Longest an export may take.
const EXPORT_TIMEOUT: Duration = Duration::from_secs(5);

/// The process's tracer provider; dropping it exports what is left.
pub struct Telemetry {
    provider: SdkTracerProvider,
}

impl Telemetry {
    /// A provider exporting to `endpoint` (the collector's base URL), or exporting nothing.
    pub fn new(endpoint: Option<&str>) -> anyhow::Result<Telemetry> {
        let resource = Resource::builder()
            .with_attributes([
                KeyValue::new("service.name", "linkway"),
                KeyValue::new("service.version", env!("CARGO_PKG_VERSION")),
            ])
            .build();
        let mut builder = SdkTracerProvider::builder().with_resource(resource);
        if let Some(endpoint) = endpoint {
            let client = Client {
                http: reqwest::Client::builder().timeout(EXPORT_TIMEOUT).build()?,
                runtime: tokio::runtime::Handle::try_current()?,
            };
            let exporter = opentelemetry_otlp::SpanExporter::builder()
                .with_http()
                .with_http_client(client)
                .with_protocol(Protocol::HttpJson)
                .with_endpoint(format!("{}/v1/traces", endpoint.trim_end_matches('/')))
                .with_timeout(EXPORT_TIMEOUT)
                .build()?;
            builder = builder.with_batch_exporter(exporter);
        }
        linkway_platform::telemetry::set_exporting(endpoint.is_some());
        Ok(Telemetry {
            provider: builder.build(),
        })
    }

    pub fn tracer(&self) -> SdkTracer {
        self.provider.tracer("linkway")
    }
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        if let Err(err) = self.provider.shutdown() {
            eprintln!("linkway: exporting the last spans failed: {err}");
        }
    }
}

/// The exporter's HTTP client: the batch processor calls it from its own thread, so the
/// request runs as a task on the process's runtime.
#[derive(Debug)]
struct Client {
    http: reqwest::Client,
    runtime: tokio::runtime::Handle,
}

#[async_trait::async_trait]
impl HttpClient for Client {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let http = self.http.clone();
        let (parts, body) = request.into_parts();
        let task = self.runtime.spawn(async move {
            let mut sent = http.request(parts.method, parts.uri.to_string());
            for (name, value) in &parts.headers {
                sent = sent.header(name, value);
            }
            let answer = sent.body(body).send().await?;
            let status = answer.status();
            let body = answer.bytes().await?;
            Ok::<_, reqwest::Error>((status, body))
        });
        let (status, body) = task.await??;
        Ok(Response::builder().status(status).body(body)?)
    }
}
