//! The process's Prometheus metrics. Labels carry projection and operation names only,
//! never identifiers of people or referrals.

use std::sync::OnceLock;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ProjectionLabel {
    projection: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EventTypeLabel {
    event_type: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabel {
    service: String,
    operation: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabel {
    service: String,
    operation: String,
}

/// Latency buckets from 1 ms to about 16 s.
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

struct Metrics {
    registry: Registry,
    applied: Family<ProjectionLabel, Counter>,
    dead_lettered: Family<ProjectionLabel, Counter>,
    checkpoint: Family<ProjectionLabel, Gauge>,
    lag: Family<ProjectionLabel, Gauge>,
    lag_seconds: Family<ProjectionLabel, Gauge<f64, AtomicU64>>,
    appended: Family<EventTypeLabel, Counter>,
    requests: Family<RequestLabel, Counter>,
    latency: Family<OperationLabel, Histogram, fn() -> Histogram>,
}

fn metrics() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(|| {
        let mut registry = Registry::with_prefix("linkway");
        let m = Metrics {
            applied: Family::default(),
            dead_lettered: Family::default(),
            checkpoint: Family::default(),
            lag: Family::default(),
            lag_seconds: Family::default(),
            appended: Family::default(),
            requests: Family::default(),
            latency: Family::new_with_constructor(latency_histogram as fn() -> Histogram),
            registry: Registry::default(),
        };
        registry.register(
            "projection_events_applied",
            "Events applied to a read model",
            m.applied.clone(),
        );
        registry.register(
            "projection_dead_letters",
            "Events a projection could not read or apply, parked in dead_letters",
            m.dead_lettered.clone(),
        );
        registry.register(
            "projection_checkpoint",
            "Last stream sequence a read model includes",
            m.checkpoint.clone(),
        );
        registry.register(
            "projection_lag_events",
            "Events in the log the read model has not applied yet, as last seen",
            m.lag.clone(),
        );
        registry.register(
            "projection_lag_seconds",
            "Age of the oldest event in the log the read model has not applied, as last seen",
            m.lag_seconds.clone(),
        );
        registry.register(
            "events_appended",
            "Events appended to the log by this process",
            m.appended.clone(),
        );
        registry.register(
            "http_requests",
            "HTTP requests answered, by operation and status",
            m.requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "Time to answer an HTTP request, by operation",
            m.latency.clone(),
        );
        Metrics { registry, ..m }
    })
}

pub fn projection_applied(projection: &str, n: u64) {
    metrics()
        .applied
        .get_or_create(&ProjectionLabel {
            projection: projection.to_owned(),
        })
        .inc_by(n);
}

pub fn dead_lettered(projection: &str) {
    metrics()
        .dead_lettered
        .get_or_create(&ProjectionLabel {
            projection: projection.to_owned(),
        })
        .inc();
}

pub fn projection_checkpoint(projection: &str, checkpoint: u64, pending: u64) {
    let label = ProjectionLabel {
        projection: projection.to_owned(),
    };
    metrics()
        .checkpoint
        .get_or_create(&label)
        .set(checkpoint as i64);
    metrics().lag.get_or_create(&label).set(pending as i64);
}

/// How far behind the log a projection is: events it has not applied, and the age of the
/// oldest of them.
pub fn projection_behind(projection: &str, events: u64, lag: std::time::Duration) {
    let label = ProjectionLabel {
        projection: projection.to_owned(),
    };
    metrics().lag.get_or_create(&label).set(events as i64);
    metrics()
        .lag_seconds
        .get_or_create(&label)
        .set(lag.as_secs_f64());
}

/// The lag last reported for a projection, if it has reported.
pub fn projection_lag(projection: &str) -> Option<i64> {
    let label = ProjectionLabel {
        projection: projection.to_owned(),
    };
    metrics()
        .checkpoint
        .get(&label)
        .map(|_| metrics().lag.get_or_create(&label).get())
}

pub fn event_appended(event_type: &str) {
    metrics()
        .appended
        .get_or_create(&EventTypeLabel {
            event_type: event_type.to_owned(),
        })
        .inc();
}

/// One answered request: `operation` is its operationId (never a path with ids in it).
pub fn request(service: &str, operation: &str, status: u16, latency: Duration) {
    metrics()
        .requests
        .get_or_create(&RequestLabel {
            service: service.to_owned(),
            operation: operation.to_owned(),
            status,
        })
        .inc();
    metrics()
        .latency
        .get_or_create(&OperationLabel {
            service: service.to_owned(),
            operation: operation.to_owned(),
        })
        .observe(latency.as_secs_f64());
}

/// Prometheus text exposition of every metric.
pub fn render() -> String {
    let mut out = String::new();
    prometheus_client::encoding::text::encode(&mut out, &metrics().registry)
        .expect("writing to a String cannot fail");
    out
}
