//! The process's log: `LINKWAY_LOG` (tracing `EnvFilter` syntax; `RUST_LOG` is not read)
//! decides what is written, except that libraries that print the data they carry are held
//! at `info` whatever it says: at `debug`, tokio-postgres logs every statement's parameter
//! values (a read model's row holds a person's name); at `trace` async-nats logs whole
//! protocol operations, message payloads included, and axum logs each rejection's text,
//! which can quote the path, query or body sent. No personal data reaches the log at any
//! level.

use tracing::Level;
use tracing::Metadata;
use tracing_subscriber::filter::{EnvFilter, filter_fn};
use tracing_subscriber::layer::{Layer, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;

use crate::telemetry::Telemetry;

/// Libraries whose debug and trace output carries the data they move.
const DATA_CARRIERS: &[&str] = &[
    "tokio_postgres",
    "async_nats",
    "postgres_protocol",
    "axum::rejection",
];

/// Whether an event or span may be written: anything, except a data carrier's detail.
pub fn may_log(meta: &Metadata<'_>) -> bool {
    let carrier = DATA_CARRIERS.iter().any(|c| {
        meta.target() == *c
            || meta
                .target()
                .strip_prefix(c)
                .is_some_and(|rest| rest.starts_with("::"))
    });
    !carrier || *meta.level() <= Level::INFO
}

/// Installs the process's subscriber: plain lines on stderr (colours at a terminal), and
/// the same spans as OpenTelemetry spans, exported to `otlp_endpoint` when it is set
/// ([`crate::telemetry`]). Keep the answer until the process ends: dropping it flushes.
pub fn init(filter: &str, otlp_endpoint: Option<&str>) -> anyhow::Result<Telemetry> {
    let telemetry = Telemetry::new(otlp_endpoint)?;
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let otel = tracing_opentelemetry::layer()
        .with_tracer(telemetry.tracer())
        .with_tracked_inactivity(false);
    tracing_subscriber::registry()
        .with(
            fmt.with_filter(EnvFilter::try_new(filter)?)
                .with_filter(filter_fn(may_log)),
        )
        .with(
            otel.with_filter(EnvFilter::try_new(filter)?)
                .with_filter(filter_fn(may_log)),
        )
        .try_init()?;
    Ok(telemetry)
}

#[cfg(test)]
mod tests {
    use tracing::callsite::Identifier;
    use tracing::metadata::Kind;
    use tracing::{Level, Metadata};

    use super::may_log;

    struct Site;
    impl tracing::callsite::Callsite for Site {
        fn set_interest(&self, _: tracing::subscriber::Interest) {}
        fn metadata(&self) -> &Metadata<'_> {
            unreachable!()
        }
    }
    static SITE: Site = Site;

    fn meta(target: &'static str, level: Level) -> Metadata<'static> {
        Metadata::new(
            "event",
            target,
            level,
            None,
            None,
            None,
            tracing::field::FieldSet::new(&[], Identifier(&SITE)),
            Kind::EVENT,
        )
    }

    #[test]
    fn data_carriers_are_held_at_info_and_everything_else_follows_the_filter() {
        for target in [
            "tokio_postgres::query",
            "tokio_postgres",
            "async_nats::connection",
            "axum::rejection",
        ] {
            assert!(!may_log(&meta(target, Level::DEBUG)), "{target}");
            assert!(!may_log(&meta(target, Level::TRACE)), "{target}");
            assert!(may_log(&meta(target, Level::INFO)), "{target}");
            assert!(may_log(&meta(target, Level::WARN)), "{target}");
        }
        for target in [
            "linkway_platform::command",
            "tokio_postgresish",
            "axum",
            "axum::routing",
        ] {
            assert!(may_log(&meta(target, Level::TRACE)), "{target}");
        }
    }
}
