//! What a load run measured: latency per operationId (HDR histograms), statuses, journeys,
//! and how long a submitted referral took to become visible in the caseload and in
//! reporting. [`Recorder`] collects while the run goes; [`Report`] is the result, printed
//! as a table or written as JSON.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde::Serialize;

/// Latencies are recorded in microseconds, from 1 µs to an hour, three significant figures.
fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid bounds and precision")
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX).max(1)
}

#[derive(Default)]
struct Operation {
    latency: Option<Histogram<u64>>,
    /// Answers by status; 0 = no answer (connection refused, reset, timed out).
    statuses: BTreeMap<u16, u64>,
}

#[derive(Default)]
struct State {
    operations: BTreeMap<&'static str, Operation>,
    visible: BTreeMap<&'static str, Histogram<u64>>,
    referrals_started: u64,
    accepted: BTreeMap<&'static str, u64>,
    routed_to: BTreeMap<String, u64>,
    last_accepted: Option<Instant>,
    journeys: BTreeMap<&'static str, u64>,
    failed: BTreeMap<String, u64>,
}

/// Collects measurements from every client task.
#[derive(Default)]
pub struct Recorder(Mutex<State>);

impl Recorder {
    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        f(&mut self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// One answer (or none: status 0) to one attempt of `operation`.
    pub fn status(&self, operation: &'static str, status: u16) {
        self.with(|s| {
            *s.operations
                .entry(operation)
                .or_default()
                .statuses
                .entry(status)
                .or_default() += 1
        });
    }

    /// How long one `operation` took, retries included.
    pub fn latency(&self, operation: &'static str, took: Duration) {
        self.with(|s| {
            s.operations
                .entry(operation)
                .or_default()
                .latency
                .get_or_insert_with(histogram)
                .saturating_record(micros(took))
        });
    }

    /// How long after its submit started a referral was visible in `read_model`.
    pub fn visible(&self, read_model: &'static str, took: Duration) {
        self.with(|s| {
            s.visible
                .entry(read_model)
                .or_insert_with(histogram)
                .saturating_record(micros(took))
        });
    }

    pub fn started(&self) {
        self.with(|s| s.referrals_started += 1);
    }

    /// Intake accepted a referral over `channel` and routed it to `service`.
    pub fn accepted(&self, channel: &'static str, service: &str) {
        self.with(|s| {
            *s.accepted.entry(channel).or_default() += 1;
            *s.routed_to.entry(service.to_owned()).or_default() += 1;
            s.last_accepted = Some(Instant::now());
        });
    }

    /// A journey ran to its end.
    pub fn journey(&self, kind: &'static str) {
        self.with(|s| *s.journeys.entry(kind).or_default() += 1);
    }

    /// A journey could not go on: `why` names the operation and what it answered.
    pub fn failed(&self, why: String) {
        self.with(|s| *s.failed.entry(why).or_default() += 1);
    }

    /// Referrals started so far, and journeys finished (completed or failed).
    pub fn progress(&self) -> (u64, u64) {
        self.with(|s| {
            (
                s.referrals_started,
                s.journeys.values().sum::<u64>() + s.failed.values().sum::<u64>(),
            )
        })
    }

    /// The figures of a run that started at `start` and ends now.
    pub fn report(&self, setup: Setup, start: Instant) -> Report {
        let secs = start.elapsed().as_secs_f64().max(1e-9);
        self.with(|s| Report {
            submit_window_secs: s.last_accepted.map_or(0.0, |at| (at - start).as_secs_f64()),
            operations: s
                .operations
                .iter()
                .map(|(name, op)| Row::new(name, op, secs))
                .collect(),
            errors: s
                .operations
                .iter()
                .flat_map(|(name, op)| {
                    op.statuses
                        .iter()
                        .filter(|(status, _)| !(200..300).contains(*status))
                        .map(|(&status, &count)| ErrorRow {
                            operation: name,
                            status,
                            count,
                        })
                })
                .collect(),
            visibility: s
                .visible
                .iter()
                .map(|(name, h)| Visibility {
                    read_model: name,
                    measured: VISIBILITY_HOW
                        .iter()
                        .find(|(n, _)| n == name)
                        .map_or("", |(_, how)| how),
                    count: h.len(),
                    p50_ms: ms(h, 0.5),
                    p99_ms: ms(h, 0.99),
                    p999_ms: ms(h, 0.999),
                    max_ms: h.max() as f64 / 1000.0,
                })
                .collect(),
            referrals_started: s.referrals_started,
            referrals_accepted: s
                .accepted
                .iter()
                .map(|(k, v)| (k.to_string(), *v))
                .collect(),
            routed_to: s.routed_to.clone(),
            journeys: s
                .journeys
                .iter()
                .map(|(k, v)| (k.to_string(), *v))
                .collect(),
            journeys_failed: s.failed.clone(),
            elapsed_secs: secs,
            setup,
        })
    }
}

const VISIBILITY_HOW: [(&str, &str); 2] = [
    (
        "caseload",
        "every referral: from its submit's (intended) start to the answer of getCase?min_sequence=<submit's sequence>",
    ),
    (
        "reporting",
        "sampled referrals: from the submit's (intended) start to the answer of getSummary?min_sequence=<submit's sequence>",
    ),
];

fn ms(h: &Histogram<u64>, q: f64) -> f64 {
    h.value_at_quantile(q) as f64 / 1000.0
}

/// How the run was set up (printed with the figures).
#[derive(Debug, Clone, Serialize)]
pub struct Setup {
    pub seed: u64,
    pub run: String,
    /// `closed loop, 16 clients` or `open loop, 200 referrals/s`.
    pub mode: String,
    pub referrers: usize,
    pub link_worker_services: usize,
    pub commissioners: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub operation: String,
    /// Operations completed (with or without success), each once whatever its retries.
    pub count: u64,
    pub per_sec: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
    /// Attempts answered 2xx / otherwise.
    pub ok: u64,
    pub not_ok: u64,
}

impl Row {
    fn new(name: &str, op: &Operation, secs: f64) -> Row {
        let empty = histogram();
        let h = op.latency.as_ref().unwrap_or(&empty);
        let ok = op
            .statuses
            .iter()
            .filter(|(s, _)| (200..300).contains(*s))
            .map(|(_, n)| n)
            .sum();
        let all: u64 = op.statuses.values().sum();
        Row {
            operation: name.to_owned(),
            count: h.len(),
            per_sec: h.len() as f64 / secs,
            p50_ms: ms(h, 0.5),
            p99_ms: ms(h, 0.99),
            p999_ms: ms(h, 0.999),
            max_ms: h.max() as f64 / 1000.0,
            ok,
            not_ok: all - ok,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ErrorRow {
    pub operation: &'static str,
    /// 0: no answer (connection refused or reset, timed out).
    pub status: u16,
    pub count: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Visibility {
    pub read_model: &'static str,
    pub measured: &'static str,
    pub count: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
}

/// Everything one load run measured.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub setup: Setup,
    /// From the start to the end of the last journey (operations' `per_sec` divide by it).
    pub elapsed_secs: f64,
    /// From the start to the last accepted submit (the referral rate divides by it).
    pub submit_window_secs: f64,
    pub referrals_started: u64,
    /// Referrals intake accepted, by channel (`json`, `fhir`).
    pub referrals_accepted: BTreeMap<String, u64>,
    /// Accepted referrals by the link-worker service they were routed to.
    pub routed_to: BTreeMap<String, u64>,
    /// Journeys run to their end, by outcome (`engaged`, `declined`, `not_contactable`).
    pub journeys: BTreeMap<String, u64>,
    /// Journeys that could not go on, by the operation and answer that stopped them.
    pub journeys_failed: BTreeMap<String, u64>,
    pub operations: Vec<Row>,
    pub errors: Vec<ErrorRow>,
    pub visibility: Vec<Visibility>,
}

impl Report {
    pub fn accepted(&self) -> u64 {
        self.referrals_accepted.values().sum()
    }

    /// Answers with a 5xx status.
    pub fn server_errors(&self) -> u64 {
        self.errors
            .iter()
            .filter(|e| e.status >= 500)
            .map(|e| e.count)
            .sum()
    }

    /// What makes the run a failure: any 5xx answer, or any journey that could not finish.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.server_errors() > 0 {
            problems.push(format!("{} answers were 5xx", self.server_errors()));
        }
        let failed: u64 = self.journeys_failed.values().sum();
        if failed > 0 {
            problems.push(format!("{failed} journeys could not complete"));
        }
        let finished = self.journeys.values().sum::<u64>() + failed;
        if finished < self.referrals_started {
            problems.push(format!(
                "{} journeys were still running at the end",
                self.referrals_started - finished
            ));
        }
        problems
    }

    pub fn render(&self) -> String {
        let s = &self.setup;
        let mut out = format!(
            "linkway load: seed {}, run {}, {}; {} referrers, {} link-worker services, {} commissioners\n",
            s.seed, s.run, s.mode, s.referrers, s.link_worker_services, s.commissioners
        );
        let finished: u64 = self.journeys.values().sum();
        out.push_str(&format!(
            "{} referrals started, {} accepted ({}) in {:.1} s = {:.1} referrals/s; {} journeys completed ({}) in {:.1} s\n",
            self.referrals_started,
            self.accepted(),
            pairs(&self.referrals_accepted),
            self.submit_window_secs,
            self.accepted() as f64 / self.submit_window_secs.max(1e-9),
            finished,
            pairs(&self.journeys),
            self.elapsed_secs,
        ));
        out.push_str(&format!(
            "\n{:<26} {:>8} {:>9} {:>9} {:>9} {:>9} {:>9} {:>7}\n",
            "operation", "count", "per s", "p50 ms", "p99 ms", "p99.9 ms", "max ms", "not 2xx"
        ));
        for r in &self.operations {
            out.push_str(&format!(
                "{:<26} {:>8} {:>9.1} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>7}\n",
                r.operation, r.count, r.per_sec, r.p50_ms, r.p99_ms, r.p999_ms, r.max_ms, r.not_ok
            ));
        }
        let total: u64 = self.operations.iter().map(|r| r.count).sum();
        out.push_str(&format!(
            "{:<26} {:>8} {:>9.1}\n",
            "all",
            total,
            total as f64 / self.elapsed_secs
        ));
        out.push_str("\nsubmit to visible\n");
        for v in &self.visibility {
            out.push_str(&format!(
                "{:<10} {:>6} p50 {:>8.2} ms  p99 {:>8.2} ms  p99.9 {:>8.2} ms  max {:>8.2} ms\n           ({})\n",
                v.read_model, v.count, v.p50_ms, v.p99_ms, v.p999_ms, v.max_ms, v.measured
            ));
        }
        out.push_str("\nerrors (operation, status, count; 0 = no answer)\n");
        if self.errors.is_empty() {
            out.push_str("  none\n");
        }
        for e in &self.errors {
            out.push_str(&format!(
                "  {:<26} {:>3} {:>8}\n",
                e.operation, e.status, e.count
            ));
        }
        for (why, n) in &self.journeys_failed {
            out.push_str(&format!("  journey stopped: {why} ({n})\n"));
        }
        out
    }
}

fn pairs(map: &BTreeMap<String, u64>) -> String {
    map.iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup() -> Setup {
        Setup {
            seed: 1,
            run: "t".into(),
            mode: "closed loop, 1 client".into(),
            referrers: 1,
            link_worker_services: 1,
            commissioners: 1,
        }
    }

    #[test]
    fn percentiles_statuses_and_problems_come_from_what_was_recorded() {
        let r = Recorder::default();
        for ms in 1..=1000u64 {
            r.status("submitReferral", 201);
            r.latency("submitReferral", Duration::from_millis(ms));
        }
        r.status("getCase", 503);
        r.status("getCase", 200);
        r.latency("getCase", Duration::from_millis(3));
        r.started();
        r.accepted("json", "lw-1");
        r.journey("declined");
        let report = r.report(setup(), Instant::now() - Duration::from_secs(2));
        let submit = &report.operations[1];
        assert_eq!(submit.operation, "submitReferral");
        assert_eq!(submit.count, 1000);
        assert!(
            (499.0..=501.0).contains(&submit.p50_ms),
            "{}",
            submit.p50_ms
        );
        assert!(
            (989.0..=991.0).contains(&submit.p99_ms),
            "{}",
            submit.p99_ms
        );
        assert!(
            (499.0..=500.0).contains(&submit.per_sec),
            "{}",
            submit.per_sec
        );
        assert_eq!(report.server_errors(), 1);
        assert_eq!(report.problems(), vec!["1 answers were 5xx".to_owned()]);
        assert!(report.render().contains("getCase"));
    }
}
