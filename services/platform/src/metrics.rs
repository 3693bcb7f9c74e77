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

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LimitedLabel {
    service: String,
    /// `token` or `address`: which limit refused it (never the token or the address).
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ServiceLabel {
    service: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolLabel {
    service: String,
    state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabel {
    /// `pending`, `delivered`, `dead` or `erased`.
    state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TimerLabel {
    /// The timer, e.g. `connections`.
    timer: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VersionLabel {
    version: &'static str,
}

/// Latency buckets from 1 ms to about 16 s.
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

/// Batch size buckets from 1 to 65,536 events.
fn batch_histogram() -> Histogram {
    Histogram::new(exponential_buckets(1.0, 2.0, 17))
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

struct Metrics {
    registry: Registry,
    applied: Family<ProjectionLabel, Counter>,
    dead_lettered: Family<ProjectionLabel, Counter>,
    checkpoint: Family<ProjectionLabel, Gauge>,
    lag: Family<ProjectionLabel, Gauge>,
    lag_seconds: Family<ProjectionLabel, Gauge<f64, AtomicU64>>,
    batch_size: Histograms<ProjectionLabel>,
    retries: Family<ProjectionLabel, Counter>,
    redeliveries: Family<ProjectionLabel, Counter>,
    appended: Family<EventTypeLabel, Counter>,
    commands: Histograms<OperationLabel>,
    conflicts: Family<OperationLabel, Counter>,
    requests: Family<RequestLabel, Counter>,
    limited: Family<LimitedLabel, Counter>,
    latency: Histograms<OperationLabel>,
    pool: Family<PoolLabel, Gauge>,
    pool_max: Family<ServiceLabel, Gauge>,
    ready: Family<ServiceLabel, Gauge>,
    unroutable: Gauge,
    overdue: Gauge,
    outbound: Family<StateLabel, Gauge>,
    timer_looks: Family<TimerLabel, Counter>,
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
            batch_size: Family::new_with_constructor(batch_histogram as fn() -> Histogram),
            retries: Family::default(),
            redeliveries: Family::default(),
            appended: Family::default(),
            commands: Family::new_with_constructor(latency_histogram as fn() -> Histogram),
            conflicts: Family::default(),
            requests: Family::default(),
            limited: Family::default(),
            latency: Family::new_with_constructor(latency_histogram as fn() -> Histogram),
            pool: Family::default(),
            pool_max: Family::default(),
            ready: Family::default(),
            unroutable: Gauge::default(),
            overdue: Gauge::default(),
            outbound: Family::default(),
            timer_looks: Family::default(),
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
            "projection_batch_size",
            "Events per batch handed to a projection",
            m.batch_size.clone(),
        );
        registry.register(
            "projection_retries",
            "Batches retried after a transient failure (the database or the log away)",
            m.retries.clone(),
        );
        registry.register(
            "log_redeliveries",
            "Events the log handed a projection again (at or below its checkpoint), skipped",
            m.redeliveries.clone(),
        );
        registry.register(
            "command_duration_seconds",
            "Time in the command path (load, decide, append), by operation",
            m.commands.clone(),
        );
        registry.register(
            "command_conflicts",
            "Decisions taken again because the log moved since the aggregate was read",
            m.conflicts.clone(),
        );
        registry.register(
            "db_pool_connections",
            "Connections of the service's database pool, by state",
            m.pool.clone(),
        );
        registry.register(
            "db_pool_max_connections",
            "The size limit of the service's database pool",
            m.pool_max.clone(),
        );
        registry.register(
            "ready",
            "1 while the service's /readyz answers 200, else 0 (as of the last scrape or probe)",
            m.ready.clone(),
        );
        registry.register(
            "unroutable_referrals",
            "Unroutable referrals waiting for routing by hand (intake)",
            m.unroutable.clone(),
        );
        registry.register(
            "connections_overdue",
            "Onward connections past their answer window with no answer (link-worker)",
            m.overdue.clone(),
        );
        registry.register(
            "outbound_messages",
            "Messages back to FHIR referrers in intake's outbox, by state (intake)",
            m.outbound.clone(),
        );
        registry.register(
            "timer_looks",
            "Looks a timer finished for what had fallen due by its clock, by timer",
            m.timer_looks.clone(),
        );
        let build: Family<VersionLabel, Gauge> = Family::default();
        build
            .get_or_create(&VersionLabel {
                version: env!("CARGO_PKG_VERSION"),
            })
            .set(1);
        registry.register("build_info", "The running build (always 1)", build);
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
            "http_requests_limited",
            "HTTP requests refused with 429 by a rate limit, per token or per client address",
            m.limited.clone(),
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
/// A request refused by the rate limit `reason` (`token` or `address`).
pub fn request_limited(service: &str, reason: &'static str) {
    metrics()
        .limited
        .get_or_create(&LimitedLabel {
            service: service.to_owned(),
            reason,
        })
        .inc();
}

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

/// The events of one batch handed to a projection.
pub fn projection_batch(projection: &str, events: usize) {
    metrics()
        .batch_size
        .get_or_create(&projection_label(projection))
        .observe(events as f64);
}

/// A batch that failed transiently and will be tried again.
pub fn projection_retry(projection: &str) {
    metrics()
        .retries
        .get_or_create(&projection_label(projection))
        .inc();
}

/// Events the log handed again that the projection had applied already.
pub fn redelivered(projection: &str, events: u64) {
    if events > 0 {
        metrics()
            .redeliveries
            .get_or_create(&projection_label(projection))
            .inc_by(events);
    }
}

/// One command run through the command path, however it ended.
pub fn command(service: &str, operation: &str, latency: Duration) {
    metrics()
        .commands
        .get_or_create(&operation_label(service, operation))
        .observe(latency.as_secs_f64());
}

/// A decision taken again because the log moved.
pub fn command_conflict(service: &str, operation: &str) {
    metrics()
        .conflicts
        .get_or_create(&operation_label(service, operation))
        .inc();
}

/// The database pool's connections now: in use, idle, and its limit.
pub fn pool(service: &str, in_use: usize, idle: usize, max: usize) {
    let m = metrics();
    for (state, n) in [("in_use", in_use), ("idle", idle)] {
        m.pool
            .get_or_create(&PoolLabel {
                service: service.to_owned(),
                state,
            })
            .set(n as i64);
    }
    m.pool_max
        .get_or_create(&ServiceLabel {
            service: service.to_owned(),
        })
        .set(max as i64);
}

/// Whether the service would answer `/readyz` with 200.
pub fn ready(service: &str, ready: bool) {
    metrics()
        .ready
        .get_or_create(&ServiceLabel {
            service: service.to_owned(),
        })
        .set(i64::from(ready));
}

/// Unroutable referrals waiting (intake's read model, at a scrape).
pub fn unroutable_referrals(n: u64) {
    metrics().unroutable.set(n as i64);
}

/// Onward connections past their answer window (link-worker's read model, at a scrape).
pub fn connections_overdue(n: u64) {
    metrics().overdue.set(n as i64);
}

/// A timer finished one look for what had fallen due (whether or not anything had).
pub fn timer_looked(timer: &'static str) {
    metrics()
        .timer_looks
        .get_or_create(&TimerLabel { timer })
        .inc();
}

/// Messages back to FHIR referrers in intake's outbox in `state` (at a scrape).
pub fn outbound_messages(state: &'static str, n: u64) {
    metrics()
        .outbound
        .get_or_create(&StateLabel { state })
        .set(n as i64);
}

fn projection_label(projection: &str) -> ProjectionLabel {
    ProjectionLabel {
        projection: projection.to_owned(),
    }
}

fn operation_label(service: &str, operation: &str) -> OperationLabel {
    OperationLabel {
        service: service.to_owned(),
        operation: operation.to_owned(),
    }
}

/// Prometheus text exposition of every metric.
pub fn render() -> String {
    let mut out = String::new();
    prometheus_client::encoding::text::encode(&mut out, &metrics().registry)
        .expect("writing to a String cannot fail");
    out
}
