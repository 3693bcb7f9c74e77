//! `linkway bench`: Linkway's append and replay rates beside the raw limits of the same
//! machine, measured in the same run: JetStream pipelined publish, ordered-consumer
//! replay, and PostgreSQL bulk insert.
//!
//! It works in a private stream and private databases, removed afterwards.
//!
//! Two mixes: `simple` (the same ten-event engaged journey for every referral) and
//! `national` (DOMAIN.md's mix and England's shape, [`year`]: `--events 29000000` is a
//! national year). Replays run one read model at a time, all three at once, or both.

use std::time::{Duration, Instant};

use async_nats::jetstream::{self, consumer, stream};
use bytes::Bytes;
use futures::StreamExt;
use linkway_events::{Actor, Envelope};
use linkway_eventstore::{EventStore, Expected, PendingEvent, StoreConfig};
use linkway_platform::{Database, ServiceContext, Shutdown};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::catalogue::{self, ServiceName as Service};
use crate::config::Settings;
use crate::synthetic;

pub mod pages;
mod report;
pub mod year;

pub use report::{Figure, Report};

/// Events in one synthetic journey (see [`synthetic::journey`]).
const EVENTS_PER_JOURNEY: usize = 10;

/// The raw limits are rates: measured on at most this many events, whatever the run's size.
const RAW_EVENTS: u64 = 2_000_000;

/// Which journeys a run appends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Mix {
    /// One ten-event engaged journey per referral.
    Simple,
    /// DOMAIN.md's mix in England's shape (see [`year`]).
    National,
}

impl Mix {
    pub fn name(self) -> &'static str {
        match self {
            Mix::Simple => "simple",
            Mix::National => "national",
        }
    }
}

/// How the read models are replayed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Replay {
    /// One after another, each alone: each read model's own rate.
    Separately,
    /// All three at once: how long rebuilding everything takes.
    Together,
    /// Separately, then together.
    Both,
}

/// What one run does.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// About how many events to append and replay.
    pub events: u64,
    /// Appends (and raw publishes) in flight at once.
    pub in_flight: usize,
    pub mix: Mix,
    pub replay: Replay,
}

impl Options {
    pub fn new(events: u64, in_flight: usize) -> Options {
        Options {
            events,
            in_flight,
            mix: Mix::Simple,
            replay: Replay::Both,
        }
    }
}

/// Runs the benchmark with about `events` events.
pub async fn run(settings: &Settings, options: &Options) -> anyhow::Result<Report> {
    let in_flight = options.in_flight;
    let tag = format!("bench{}", std::process::id());
    let client = linkway_platform::nats::connect(&settings.nats_url, "linkway-bench").await?;
    let orgs = year::organisations();
    let journeys = match options.mix {
        Mix::Simple => (options.events as usize)
            .div_ceil(EVENTS_PER_JOURNEY)
            .max(1) as u64,
        Mix::National => year::referrals_for(&orgs, options.events),
    };
    let raw_events = options.events.clamp(1, RAW_EVENTS);

    // Raw JetStream: pipelined publish of payloads the size of our events, then replay.
    let raw_stream = format!("{}_RAW", tag.to_uppercase());
    let js = jetstream::ContextBuilder::new()
        .max_ack_inflight(in_flight.max(1))
        .backpressure_on_inflight(true)
        .build(client.clone());
    js.create_stream(stream::Config {
        name: raw_stream.clone(),
        subjects: vec![format!("{tag}raw.>")],
        storage: stream::StorageType::File,
        // As many copies as the event log keeps, so the ratio compares like with like.
        num_replicas: settings.replicas,
        ..Default::default()
    })
    .await?;
    let sample = Envelope::new(
        "x",
        &synthetic::journey(0, Uuid::nil(), "gp", "lw")[0].1,
        Actor::system(),
        Uuid::nil(),
        OffsetDateTime::now_utc(),
    )
    .to_vec();
    let payload = Bytes::from(sample);
    let raw_publish = pipelined(
        "raw JetStream publish (pipelined)",
        raw_events,
        in_flight,
        |i| {
            let publish = jetstream::message::PublishMessage::build().payload(payload.clone());
            js.send_publish(format!("{tag}raw.{}", i % 1000), publish)
        },
    )
    .await?;
    // The same, each message carrying what the server checks for every Linkway append: a
    // message id (deduplication) and an expected last subject sequence (each to a subject
    // of its own, expecting none). The share of append's cost that is the server's checks.
    let raw_checked = pipelined(
        "raw publish + msg id + expected seq",
        raw_events,
        in_flight,
        |i| {
            let mut headers = async_nats::HeaderMap::new();
            headers.insert(async_nats::header::NATS_EXPECTED_LAST_SUBJECT_SEQUENCE, "0");
            let publish = jetstream::message::PublishMessage::build()
                .payload(payload.clone())
                .headers(headers)
                .message_id(format!("chk-{i}"));
            js.send_publish(format!("{tag}raw.chk.{i}"), publish)
        },
    )
    .await?;
    let raw_replay = {
        let stream = js.get_stream(&raw_stream).await?;
        let start = Instant::now();
        let consumer = stream
            .create_consumer(consumer::pull::OrderedConfig {
                ..Default::default()
            })
            .await?;
        let mut messages = consumer.messages().await?;
        let mut n = 0;
        while n < raw_events {
            match tokio::time::timeout(Duration::from_secs(30), messages.next()).await? {
                Some(m) => {
                    m?;
                    n += 1;
                }
                None => break,
            }
        }
        Figure {
            name: "raw ordered-consumer replay",
            count: n,
            seconds: start.elapsed().as_secs_f64(),
        }
    };
    js.delete_stream(&raw_stream).await?;

    // Linkway: journeys appended with optimistic concurrency, many aggregates in flight.
    let store = EventStore::connect(
        client.clone(),
        StoreConfig {
            stream: tag.to_uppercase(),
            subject_prefix: tag.clone(),
            max_in_flight: in_flight.max(1),
            ..settings.store_config()
        },
    )
    .await?;
    let append = {
        let start = Instant::now();
        let done = std::sync::atomic::AtomicU64::new(0);
        let mut appended = futures::stream::iter(0..journeys)
            .map(|i| {
                let (store, orgs, done) = (&store, &orgs, &done);
                async move {
                    let events = match options.mix {
                        Mix::Simple => simple_journey(i),
                        Mix::National => year::journey(orgs, i, journeys, Uuid::now_v7()),
                    };
                    let n = append_journey(store, events).await?;
                    let total = done.fetch_add(n, std::sync::atomic::Ordering::Relaxed) + n;
                    if total / 1_000_000 != (total - n) / 1_000_000 {
                        eprintln!("appended {total} events");
                    }
                    anyhow::Ok(n)
                }
            })
            .buffer_unordered(in_flight.max(1));
        let mut count = 0;
        while let Some(n) = appended.next().await {
            count += n?;
        }
        Figure {
            name: "linkway append (expected-sequence, pipelined)",
            count,
            seconds: start.elapsed().as_secs_f64(),
        }
    };

    // PostgreSQL bulk insert of narrow rows, the raw limit for projections.
    let db_name = format!("{}_{tag}", settings.database_prefix);
    let db = Database::open(&settings.database_url(), &db_name).await?;
    let pg_bulk_insert = {
        let client = db.client().await?;
        client.batch_execute("CREATE TABLE bench_rows (id bigint PRIMARY KEY, kind text NOT NULL, at bigint NOT NULL)").await?;
        let start = Instant::now();
        let mut done = 0u64;
        while done < raw_events {
            let n = (raw_events - done).min(10_000);
            let ids: Vec<i64> = (done..done + n).map(|i| i as i64).collect();
            let kinds: Vec<&str> = ids.iter().map(|_| "case.contact_made").collect();
            client
                .execute("INSERT INTO bench_rows SELECT * FROM UNNEST($1::bigint[], $2::text[], $1::bigint[])", &[&ids, &kinds])
                .await?;
            done += n;
        }
        Figure {
            name: "postgres bulk insert (UNNEST, 10k/stmt)",
            count: raw_events,
            seconds: start.elapsed().as_secs_f64(),
        }
    };

    // Replay the log into each service's main read model: a rebuild from sequence 1, in
    // the service's own (fresh) database, prepared by the service's own start-up.
    let (trigger, shutdown) = Shutdown::new();
    trigger.fire(); // prepare the projections, but run no live runners during the measurement
    let mut databases = vec![db_name];
    let mut services = Vec::new();
    for (service, projection, figure_name) in [
        (
            Service::LinkWorker,
            "caseload",
            "replay into link-worker caseload",
        ),
        (
            Service::Reporting,
            "reporting",
            "replay into reporting aggregates",
        ),
        (Service::Intake, "referrals", "replay into intake referrals"),
    ] {
        let name = format!(
            "{}_{tag}_{}",
            settings.database_prefix,
            service.name().replace('-', "_")
        );
        let db = Database::open(&settings.database_url(), &name).await?;
        databases.push(name);
        let ctx = ServiceContext {
            nats: client.clone(),
            store: store.clone(),
            registry_store: store.clone(),
            db,
            runner: settings.runner(),
            shutdown: shutdown.clone(),
            web: std::sync::Arc::new(linkway_platform::web::WebSettings::for_tests()),
            limits: Default::default(),
            timers: settings.timers(),
        };
        // Private data, thrown away afterwards: a random key will do.
        let key =
            linkway_platform::secret::Secret::new(linkway_platform::auth::mint_token().secret);
        let service = catalogue::build(service, settings, Some(&key))?;
        let started = service.start(&ctx).await?;
        services.push((service, ctx, started, projection, figure_name));
    }
    let mut replay = Vec::new();
    if options.replay != Replay::Together {
        for (service, ctx, _, projection, figure_name) in &services {
            let start = Instant::now();
            if let Some(reached) = service.rebuild(ctx, projection, &|_, _| {}).await? {
                replay.push(Figure {
                    name: figure_name,
                    count: reached,
                    seconds: start.elapsed().as_secs_f64(),
                });
            }
        }
    }
    let replay_together = if options.replay != Replay::Separately {
        let start = Instant::now();
        let reached =
            futures::future::try_join_all(services.iter().map(
                |(service, ctx, _, projection, _)| service.rebuild(ctx, projection, &|_, _| {}),
            ))
            .await?;
        Some(Figure {
            name: "replay into all three at once",
            count: reached.into_iter().flatten().sum(),
            seconds: start.elapsed().as_secs_f64(),
        })
    } else {
        None
    };
    drop(services);

    // Clean up: the (already stopped) projection tasks, the private stream and databases.
    let _ = trigger.stop(std::time::Duration::from_secs(5)).await;
    store.jetstream().delete_stream(tag.to_uppercase()).await?;
    drop(db);
    for name in databases {
        drop_database(settings, &name).await?;
    }

    Ok(Report {
        events: append.count,
        mix: options.mix,
        referrals: journeys,
        raw_publish,
        raw_checked,
        raw_replay,
        pg_bulk_insert,
        append,
        replay,
        replay_together,
        peak_rss_mib: peak_rss_mib(),
    })
}

/// Publishes `count` messages, `in_flight` acknowledgements outstanding at most, and
/// times it.
async fn pipelined<F, Fut>(
    name: &'static str,
    count: u64,
    in_flight: usize,
    publish: F,
) -> anyhow::Result<Figure>
where
    F: Fn(u64) -> Fut,
    Fut: std::future::Future<
            Output = Result<jetstream::context::PublishAckFuture, jetstream::context::PublishError>,
        >,
{
    let start = Instant::now();
    let mut pending = Vec::with_capacity(in_flight);
    for i in 0..count {
        pending.push(publish(i).await?);
        if pending.len() >= in_flight.max(1) {
            for ack in pending.drain(..) {
                ack.await?;
            }
        }
    }
    for ack in pending.drain(..) {
        ack.await?;
    }
    Ok(Figure {
        name,
        count,
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// Referral `i`'s journey in the simple mix, all of it happening now.
fn simple_journey(i: u64) -> Vec<year::Timed> {
    let now = OffsetDateTime::now_utc();
    synthetic::journey(i, Uuid::now_v7(), "gp-bench", "lw-bench")
        .into_iter()
        .map(|(kind, event)| (kind, event, now))
        .collect()
}

/// Appends one journey: each event expects the aggregate's previous sequence.
async fn append_journey(store: &EventStore, events: Vec<year::Timed>) -> anyhow::Result<u64> {
    let Some(referral_id) = events.first().map(|(_, e, _)| referral_of(e)) else {
        return Ok(0);
    };
    let id = referral_id.to_string();
    let mut last: std::collections::HashMap<&str, u64> = Default::default();
    let mut n = 0;
    for (kind, event, occurred_at) in events {
        let expected = match last.get(kind) {
            Some(seq) => Expected::LastSequence(*seq),
            None => Expected::NoEvents,
        };
        let envelope = Envelope::new(&id, &event, Actor::system(), referral_id, occurred_at);
        let appended = store
            .append(kind, &id, expected, vec![PendingEvent::new(envelope)])
            .await?;
        last.insert(kind, appended.last_sequence());
        n += 1;
    }
    Ok(n)
}

/// The referral a journey's first event (`referral.received`) is about.
fn referral_of(event: &linkway_events::Event) -> Uuid {
    match event {
        linkway_events::Event::Referral(linkway_events::ReferralEvent::Received(r)) => {
            r.referral_id
        }
        _ => unreachable!("a journey starts with referral.received"),
    }
}

pub(crate) async fn drop_database(settings: &Settings, name: &str) -> anyhow::Result<()> {
    use std::str::FromStr;
    let mut config = tokio_postgres::Config::from_str(settings.database_url().expose())?;
    config.dbname("postgres");
    let (client, connection) = config.connect(tokio_postgres::NoTls).await?;
    let task = tokio::spawn(connection);
    client
        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .await?;
    drop(client);
    let _ = task.await;
    Ok(())
}

/// Peak resident set size of this process (VmHWM), in MiB.
fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map(|kib| kib / 1024.0)
        .unwrap_or(0.0)
}
