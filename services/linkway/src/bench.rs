//! `linkway bench`: Linkway's append and replay rates beside the raw limits of the same
//! machine, measured in the same run: JetStream pipelined publish, ordered-consumer
//! replay, and PostgreSQL bulk insert.
//!
//! It works in a private stream and private databases, removed afterwards.

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

/// Events in one synthetic journey (see [`synthetic::journey`]).
const EVENTS_PER_JOURNEY: usize = 10;

/// One measured figure.
#[derive(Debug, Clone)]
pub struct Figure {
    pub name: &'static str,
    pub count: u64,
    pub seconds: f64,
}

impl Figure {
    pub fn rate(&self) -> f64 {
        self.count as f64 / self.seconds.max(1e-9)
    }
}

/// Everything one run measured.
#[derive(Debug, Clone)]
pub struct Report {
    pub events: u64,
    pub raw_publish: Figure,
    pub raw_replay: Figure,
    pub pg_bulk_insert: Figure,
    pub append: Figure,
    pub replay: Vec<Figure>,
    pub peak_rss_mib: f64,
}

impl Report {
    pub fn render(&self) -> String {
        let mut out = String::new();
        let line = |f: &Figure| {
            format!(
                "{:<44} {:>10} in {:>7.3} s = {:>10.0} /s\n",
                f.name,
                f.count,
                f.seconds,
                f.rate()
            )
        };
        out.push_str("raw limits (same machine, same run)\n");
        out.push_str(&line(&self.raw_publish));
        out.push_str(&line(&self.raw_replay));
        out.push_str(&line(&self.pg_bulk_insert));
        out.push_str("linkway\n");
        out.push_str(&line(&self.append));
        for r in &self.replay {
            out.push_str(&line(r));
        }
        out.push_str("ratios\n");
        out.push_str(&format!(
            "{:<44} {:>10.2}x  (target >= 0.50x)\n",
            "append (optimistic) / raw pipelined publish",
            self.append.rate() / self.raw_publish.rate()
        ));
        for r in &self.replay {
            out.push_str(&format!(
                "{:<44} {:>10.2}x  ({:.0} events/s; target >= 30000)\n",
                format!("{} / raw ordered replay", r.name),
                r.rate() / self.raw_replay.rate(),
                r.rate()
            ));
            out.push_str(&format!(
                "{:<44} {:>10.2}x\n",
                format!("{} / postgres bulk insert", r.name),
                r.rate() / self.pg_bulk_insert.rate()
            ));
        }
        out.push_str(&format!(
            "peak resident memory: {:.0} MiB\n",
            self.peak_rss_mib
        ));
        out
    }
}

/// Runs the benchmark with about `events` events.
pub async fn run(settings: &Settings, events: u64, in_flight: usize) -> anyhow::Result<Report> {
    let tag = format!("bench{}", std::process::id());
    let client = linkway_platform::nats::connect(&settings.nats_url, "linkway-bench").await?;
    let journeys = (events as usize).div_ceil(EVENTS_PER_JOURNEY).max(1);
    let events = (journeys * EVENTS_PER_JOURNEY) as u64;

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
    let raw_publish = {
        let start = Instant::now();
        let mut pending = Vec::with_capacity(in_flight);
        for i in 0..events {
            pending.push(
                js.publish(format!("{tag}raw.{}", i % 1000), payload.clone())
                    .await?,
            );
            if pending.len() >= in_flight {
                for ack in pending.drain(..) {
                    ack.await?;
                }
            }
        }
        for ack in pending.drain(..) {
            ack.await?;
        }
        Figure {
            name: "raw JetStream publish (pipelined)",
            count: events,
            seconds: start.elapsed().as_secs_f64(),
        }
    };
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
        while n < events {
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
        let appended: Vec<anyhow::Result<u64>> = futures::stream::iter(0..journeys as u64)
            .map(|i| append_journey(&store, i))
            .buffer_unordered(in_flight.max(1))
            .collect()
            .await;
        let mut count = 0;
        for a in appended {
            count += a?;
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
        while done < events {
            let n = (events - done).min(10_000);
            let ids: Vec<i64> = (done..done + n).map(|i| i as i64).collect();
            let kinds: Vec<&str> = ids.iter().map(|_| "case.contact_made").collect();
            client
                .execute("INSERT INTO bench_rows SELECT * FROM UNNEST($1::bigint[], $2::text[], $1::bigint[])", &[&ids, &kinds])
                .await?;
            done += n;
        }
        Figure {
            name: "postgres bulk insert (UNNEST, 10k/stmt)",
            count: events,
            seconds: start.elapsed().as_secs_f64(),
        }
    };

    // Replay the log into each service's main read model: a rebuild from sequence 1, in
    // the service's own (fresh) database, prepared by the service's own start-up.
    let (trigger, shutdown) = Shutdown::new();
    trigger.fire(); // prepare the projections, but run no live runners during the measurement
    let mut replay = Vec::new();
    let mut databases = vec![db_name];
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
            db,
            runner: settings.runner(),
            shutdown: shutdown.clone(),
        };
        // Private data, thrown away afterwards: a random key will do.
        let key =
            linkway_platform::secret::Secret::new(linkway_platform::auth::mint_token().secret);
        let service = catalogue::build(service, settings, Some(&key))?;
        let _started = service.start(&ctx).await?;
        let start = Instant::now();
        let reached = service.rebuild(&ctx, projection, &|_, _| {}).await?;
        if let Some(reached) = reached {
            replay.push(Figure {
                name: figure_name,
                count: reached,
                seconds: start.elapsed().as_secs_f64(),
            });
        }
    }

    // Clean up: the (already stopped) projection tasks, the private stream and databases.
    let _ = trigger.stop(std::time::Duration::from_secs(5)).await;
    store.jetstream().delete_stream(tag.to_uppercase()).await?;
    drop(db);
    for name in databases {
        drop_database(settings, &name).await?;
    }

    Ok(Report {
        events,
        raw_publish,
        raw_replay,
        pg_bulk_insert,
        append,
        replay,
        peak_rss_mib: peak_rss_mib(),
    })
}

/// Appends one journey: each event expects the aggregate's previous sequence.
async fn append_journey(store: &EventStore, i: u64) -> anyhow::Result<u64> {
    let referral_id = Uuid::now_v7();
    let id = referral_id.to_string();
    let mut last: std::collections::HashMap<&str, u64> = Default::default();
    let mut n = 0;
    for (kind, event) in synthetic::journey(i, referral_id, "gp-bench", "lw-bench") {
        let expected = match last.get(kind) {
            Some(seq) => Expected::LastSequence(*seq),
            None => Expected::NoEvents,
        };
        let envelope = Envelope::new(
            &id,
            &event,
            Actor::system(),
            referral_id,
            OffsetDateTime::now_utc(),
        );
        let appended = store
            .append(kind, &id, expected, vec![PendingEvent::new(envelope)])
            .await?;
        last.insert(kind, appended.last_sequence());
        n += 1;
    }
    Ok(n)
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
