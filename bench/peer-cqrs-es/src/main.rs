//! The peer on Linkway's command workload: cqrs-es 0.5 with postgres-es, on the same
//! PostgreSQL, in the same run as Linkway's own figures (see the README's benchmarks).
//!
//! `--aggregates` cases, each taken through six commands of one event each (accept, two
//! contacts, agree a plan, connect a service, close), by `--clients` concurrent clients;
//! run once with no read model and once with one (a `GenericQuery` into a
//! `PostgresViewRepository`, updated in the command's path as cqrs-es does). Prints
//! commands/s and p50/p99 per run.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use clap::Parser;
use cqrs_es::persist::{GenericQuery, ViewRepository};
use cqrs_es::{Aggregate, DomainEvent, EventEnvelope, Query, View};
use hdrhistogram::Histogram;
use postgres_es::{PostgresViewRepository, postgres_cqrs};
use serde::{Deserialize, Serialize};
use sqlx::postgres::PgPoolOptions;

#[derive(Parser)]
struct Args {
    /// A PostgreSQL database the benchmark may drop and create tables in.
    #[arg(long, env = "PEER_DATABASE_URL")]
    database_url: String,
    #[arg(long, default_value_t = 10_000)]
    aggregates: usize,
    #[arg(long, default_value_t = 16)]
    clients: usize,
    #[arg(long, default_value_t = 20)]
    pool: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
enum CaseCommand {
    Accept { worker: String },
    RecordContact { minutes: u32 },
    AgreePlan { goals: Vec<String> },
    Connect { service: String },
    Close { reason: String },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum CaseEvent {
    Accepted { worker: String },
    ContactRecorded { minutes: u32 },
    PlanAgreed { goals: Vec<String> },
    Connected { service: String },
    Closed { reason: String },
}

impl DomainEvent for CaseEvent {
    fn event_type(&self) -> String {
        match self {
            CaseEvent::Accepted { .. } => "case.accepted",
            CaseEvent::ContactRecorded { .. } => "case.contact_recorded",
            CaseEvent::PlanAgreed { .. } => "case.plan_agreed",
            CaseEvent::Connected { .. } => "case.connected",
            CaseEvent::Closed { .. } => "case.closed",
        }
        .to_owned()
    }

    fn event_version(&self) -> String {
        "1".to_owned()
    }
}

/// A refused command says why.
#[derive(Debug)]
struct Refused(&'static str);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for Refused {}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Case {
    accepted: bool,
    contacts: u32,
    planned: bool,
    connections: u32,
    closed: bool,
}

impl Aggregate for Case {
    const TYPE: &'static str = "case";
    type Command = CaseCommand;
    type Event = CaseEvent;
    type Error = Refused;
    type Services = ();

    async fn handle(
        &mut self,
        command: CaseCommand,
        _: &(),
        sink: &cqrs_es::event_sink::EventSink<Self>,
    ) -> Result<(), Refused> {
        if self.closed {
            return Err(Refused("the case is closed"));
        }
        let event = match command {
            CaseCommand::Accept { worker } if !self.accepted => CaseEvent::Accepted { worker },
            CaseCommand::Accept { .. } => return Err(Refused("already accepted")),
            _ if !self.accepted => return Err(Refused("not accepted")),
            CaseCommand::RecordContact { minutes } => CaseEvent::ContactRecorded { minutes },
            CaseCommand::AgreePlan { goals } => CaseEvent::PlanAgreed { goals },
            CaseCommand::Connect { service } if self.planned => CaseEvent::Connected { service },
            CaseCommand::Connect { .. } => return Err(Refused("no plan")),
            CaseCommand::Close { reason } => CaseEvent::Closed { reason },
        };
        sink.write(event, self).await;
        Ok(())
    }

    fn apply(&mut self, event: CaseEvent) {
        match event {
            CaseEvent::Accepted { .. } => self.accepted = true,
            CaseEvent::ContactRecorded { .. } => self.contacts += 1,
            CaseEvent::PlanAgreed { .. } => self.planned = true,
            CaseEvent::Connected { .. } => self.connections += 1,
            CaseEvent::Closed { .. } => self.closed = true,
        }
    }
}

/// The read model: a caseload row per case.
#[derive(Debug, Default, Serialize, Deserialize)]
struct CaseRow {
    status: String,
    contacts: u32,
    connections: u32,
}

impl View<Case> for CaseRow {
    fn update(&mut self, event: &EventEnvelope<Case>) {
        match &event.payload {
            CaseEvent::Accepted { .. } => self.status = "accepted".into(),
            CaseEvent::ContactRecorded { .. } => self.contacts += 1,
            CaseEvent::PlanAgreed { .. } => self.status = "planned".into(),
            CaseEvent::Connected { .. } => self.connections += 1,
            CaseEvent::Closed { .. } => self.status = "closed".into(),
        }
    }
}

fn journey() -> [CaseCommand; 6] {
    [
        CaseCommand::Accept {
            worker: "lw-leeds".into(),
        },
        CaseCommand::RecordContact { minutes: 30 },
        CaseCommand::RecordContact { minutes: 45 },
        CaseCommand::AgreePlan {
            goals: vec!["join a walking group".into()],
        },
        CaseCommand::Connect {
            service: "walking-group-leeds".into(),
        },
        CaseCommand::Close {
            reason: "goals_met".into(),
        },
    ]
}

const SCHEMA: [&str; 4] = [
    "DROP TABLE IF EXISTS events, snapshots, case_view",
    "CREATE TABLE events (aggregate_type text NOT NULL, aggregate_id text NOT NULL, \
     sequence bigint CHECK (sequence >= 0) NOT NULL, event_type text NOT NULL, \
     event_version text NOT NULL, payload json NOT NULL, metadata json NOT NULL, \
     PRIMARY KEY (aggregate_type, aggregate_id, sequence))",
    "CREATE TABLE snapshots (aggregate_type text NOT NULL, aggregate_id text NOT NULL, \
     last_sequence bigint CHECK (last_sequence >= 0) NOT NULL, current_snapshot bigint \
     CHECK (current_snapshot >= 0) NOT NULL, payload json NOT NULL, \
     PRIMARY KEY (aggregate_type, aggregate_id, last_sequence))",
    "CREATE TABLE case_view (view_id text NOT NULL, version bigint CHECK (version >= 0) \
     NOT NULL, payload json NOT NULL, PRIMARY KEY (view_id))",
];

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let pool = PgPoolOptions::new()
        .max_connections(args.pool)
        .connect(&args.database_url)
        .await
        .expect("connect to PostgreSQL");
    for read_model in [false, true] {
        for statement in SCHEMA {
            sqlx::query(statement)
                .execute(&pool)
                .await
                .expect("schema");
        }
        let queries: Vec<Box<dyn Query<Case>>> = if read_model {
            let views = Arc::new(PostgresViewRepository::<CaseRow, Case>::new(
                "case_view",
                pool.clone(),
            ));
            vec![Box::new(GenericQuery::new(views))]
        } else {
            Vec::new()
        };
        let cqrs = Arc::new(postgres_cqrs(pool.clone(), queries, ()));
        let next = Arc::new(AtomicUsize::new(0));
        let started = Instant::now();
        let clients: Vec<_> = (0..args.clients)
            .map(|_| {
                let (cqrs, next) = (cqrs.clone(), next.clone());
                let total = args.aggregates;
                tokio::spawn(async move {
                    let mut latency = Histogram::<u64>::new(3).expect("histogram");
                    loop {
                        let n = next.fetch_add(1, Ordering::Relaxed);
                        if n >= total {
                            return latency;
                        }
                        let id = format!("case-{n}");
                        for command in journey() {
                            let t = Instant::now();
                            cqrs.execute(&id, command).await.expect("command");
                            latency
                                .record(t.elapsed().as_micros() as u64)
                                .expect("record");
                        }
                    }
                })
            })
            .collect();
        let mut all = Histogram::<u64>::new(3).expect("histogram");
        for client in clients {
            all.add(client.await.expect("client")).expect("merge");
        }
        let secs = started.elapsed().as_secs_f64();
        if read_model {
            let views = PostgresViewRepository::<CaseRow, Case>::new("case_view", pool.clone());
            let row = views.load("case-0").await.expect("load view").expect("a row");
            assert_eq!(row.status, "closed", "the read model saw every event");
        }
        println!(
            "cqrs-es + postgres-es, {} read model: {} commands in {secs:.1} s = {:.0} commands/s, p50 {:.1} ms, p99 {:.1} ms ({} clients, pool {})",
            if read_model { "one" } else { "no" },
            all.len(),
            all.len() as f64 / secs,
            all.value_at_quantile(0.5) as f64 / 1000.0,
            all.value_at_quantile(0.99) as f64 / 1000.0,
            args.clients,
            args.pool,
        );
    }
}
