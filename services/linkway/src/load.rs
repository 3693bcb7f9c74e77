//! `linkway load`: drives the public HTTP APIs the way their users will, and measures them.
//!
//! Referrals come from many organisations over JSON and FHIR; each one's journey is worked
//! by its link-worker service as DOMAIN.md's load model has it; referrers and
//! commissioners read. Closed loop (`--clients N`, each running journeys back to back) or
//! open loop (`--rate R` referrals per second, Poisson arrivals, latency counted from each
//! submit's intended start so a slow server cannot hide requests it held back). The run is
//! seeded: the same `--seed` and `--run` send the same requests.
//!
//! - [`plan`]: the seeded schedule; [`journeys`]: one referral's journey over HTTP;
//!   [`client`]: timed, retrying HTTP calls; [`fhir`]: referrals as FHIR messages;
//!   [`setup`]: organisations, tokens and the directory; [`report`]: the figures.

pub mod client;
pub mod fhir;
pub mod journeys;
pub mod plan;
pub mod report;
pub mod setup;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use tokio::task::JoinSet;

use crate::catalogue::ServiceName;
use crate::config::Connection;
use crate::config::Settings;
use crate::serve::{connect_store, connect_store_as};
use client::Client;
use journeys::Context;
use plan::Shape;
use report::{Recorder, Report, Setup};

/// Where the services listen.
#[derive(Debug, Clone)]
pub struct Urls {
    pub intake: String,
    pub link_worker: String,
    pub reporting: String,
}

/// `linkway load`'s flags.
#[derive(Debug, Clone, clap::Args)]
pub struct LoadArgs {
    /// Seed of the schedule: the same seed (and --run) sends the same requests.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Closed loop: this many clients, each running one journey after another (default 16).
    #[arg(long, conflicts_with = "rate")]
    pub clients: Option<usize>,
    /// Open loop: start this many referrals per second whatever the answers.
    #[arg(long)]
    pub rate: Option<f64>,
    /// Start referrals for this long (`30s`, `2m`, `500ms`; default 10s) ...
    #[arg(long, value_parser = parse_duration, conflicts_with = "referrals")]
    pub duration: Option<Duration>,
    /// ... or start this many referrals.
    #[arg(long)]
    pub referrals: Option<u64>,
    /// Referring organisations (GP practices the most, councils, housing associations,
    /// pharmacies, voluntary organisations, hospitals).
    #[arg(long, default_value_t = 24)]
    pub referrers: usize,
    /// Commissioner areas, each with its own commissioner.
    #[arg(long, default_value_t = 2)]
    pub areas: usize,
    /// Link-worker services in each area.
    #[arg(long, default_value_t = 2)]
    pub services_per_area: usize,
    /// Percentage of referrals sent as FHIR messages ($process-message).
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u8).range(0..=100))]
    pub fhir_percent: u8,
    /// Every Nth referral is also followed into reporting (getSummary?min_sequence=).
    #[arg(long, default_value_t = 10)]
    pub reporting_every: u64,
    /// Only submit referrals (no case work, no reads, nothing followed into the read
    /// models): the command path alone, as `deploy/bench/submit.sh` drives it.
    #[arg(long)]
    pub submit_only: bool,
    /// Intake's URL (default: http://127.0.0.1:<LINKWAY_INTAKE_PORT>).
    #[arg(long)]
    pub intake_url: Option<String>,
    /// Link-worker's URL (default: http://127.0.0.1:<LINKWAY_LINK_WORKER_PORT>).
    #[arg(long)]
    pub link_worker_url: Option<String>,
    /// Reporting's URL (default: http://127.0.0.1:<LINKWAY_REPORTING_PORT>).
    #[arg(long)]
    pub reporting_url: Option<String>,
    /// Start all three services in this process (on free ports, in a private stream and
    /// private databases, removed afterwards) instead of driving a running Linkway.
    #[arg(long, conflicts_with_all = ["intake_url", "link_worker_url", "reporting_url"])]
    pub serve: bool,
    /// Tag in the run's organisation ids and keys (default: from the clock), so runs
    /// against one Linkway never share an organisation or an Idempotency-Key.
    #[arg(long)]
    pub run: Option<String>,
    /// Also write the report as JSON to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (number, unit) = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .map_or((s, "s"), |at| s.split_at(at));
    let n: f64 = number
        .parse()
        .map_err(|_| "a duration is a number and a unit: 500ms, 30s, 2m".to_owned())?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        _ => return Err("the unit is ms, s or m".into()),
    };
    Duration::try_from_secs_f64(secs).map_err(|e| e.to_string())
}

/// How clients arrive.
#[derive(Debug, Clone, Copy)]
pub enum Mode {
    Closed { clients: usize },
    Open { rate: f64 },
}

/// When to stop starting referrals.
#[derive(Debug, Clone, Copy)]
pub enum Stop {
    Referrals(u64),
    After(Duration),
}

/// One run's options (the command line's, or a test's).
#[derive(Debug, Clone)]
pub struct Options {
    pub seed: u64,
    pub run: String,
    pub mode: Mode,
    pub stop: Stop,
    pub shape: Shape,
    pub reporting_every: u64,
    pub submit_only: bool,
    pub progress: bool,
}

impl Options {
    pub fn from_args(args: &LoadArgs) -> Options {
        let run = args.run.clone().unwrap_or_else(|| {
            let now = time::OffsetDateTime::now_utc().unix_timestamp();
            format!("r{}", now % 100_000_000)
        });
        Options {
            seed: args.seed,
            run,
            mode: match args.rate {
                Some(rate) => Mode::Open { rate },
                None => Mode::Closed {
                    clients: args.clients.unwrap_or(16).max(1),
                },
            },
            stop: match (args.referrals, args.duration) {
                (Some(n), _) => Stop::Referrals(n),
                (None, d) => Stop::After(d.unwrap_or(Duration::from_secs(10))),
            },
            shape: Shape {
                referrers: args.referrers.max(1),
                areas: args.areas.max(1),
                services_per_area: args.services_per_area.max(1),
                directory: 12,
                fhir_percent: args.fhir_percent,
            },
            reporting_every: args.reporting_every.max(1),
            submit_only: args.submit_only,
            progress: !args.quiet,
        }
    }
}

/// How long the journeys still running when the last one started may take to finish.
const DRAIN: Duration = Duration::from_secs(120);

/// `linkway load` from the command line: against the URLs given (or the local ports), or
/// with `--serve` against services it starts itself in a private scope.
pub async fn command(settings: &Settings, args: &LoadArgs) -> anyhow::Result<Report> {
    let options = Options::from_args(args);
    if !args.serve {
        let local = |port: u16| format!("http://127.0.0.1:{port}");
        let urls = Urls {
            intake: args
                .intake_url
                .clone()
                .unwrap_or(local(settings.intake_port)),
            link_worker: args
                .link_worker_url
                .clone()
                .unwrap_or(local(settings.link_worker_port)),
            reporting: args
                .reporting_url
                .clone()
                .unwrap_or(local(settings.reporting_port)),
        };
        return run(settings, &options, urls).await;
    }
    let tag = format!("load{}", std::process::id());
    let private = Settings {
        stream: tag.to_uppercase(),
        subject_prefix: tag.clone(),
        database_prefix: format!("{}_{tag}", settings.database_prefix),
        intake_port: 0,
        link_worker_port: 0,
        reporting_port: 0,
        ..settings.clone()
    };
    // Private data, removed afterwards: a random pseudonym key will do.
    let key = linkway_platform::secret::Secret::new(linkway_platform::auth::mint_token().secret);
    let server = crate::serve::start(&private, &ServiceName::ALL, Some(&key)).await?;
    let url = |name: ServiceName| {
        server
            .running
            .iter()
            .find(|r| r.service == name)
            .map(|r| format!("http://{}", r.addr))
            .unwrap_or_default()
    };
    let urls = Urls {
        intake: url(ServiceName::Intake),
        link_worker: url(ServiceName::LinkWorker),
        reporting: url(ServiceName::Reporting),
    };
    let report = run(&private, &options, urls).await;
    let stopped = server.stop().await;
    let (_, store) = connect_store(&private).await?;
    store.jetstream().delete_stream(&private.stream).await?;
    for service in ServiceName::ALL {
        crate::bench::drop_database(&private, &private.database_name(service.name())).await?;
    }
    stopped?;
    report
}

/// Sets the run's organisations up, drives the services at `urls`, and reports.
pub async fn run(settings: &Settings, options: &Options, urls: Urls) -> anyhow::Result<Report> {
    let orgs = plan::organisations(options.seed, &options.run, &options.shape);
    // The run's registry, as the registry's writer.
    let (_, store) = connect_store_as(settings, Some(Connection::Registry)).await?;
    let tokens = setup::register(&store, &orgs).await?;
    // Setting up is not part of the load: its calls are not in the report.
    let setup_client = Client::new(Arc::new(Recorder::default()))?;
    setup::wait_for_registry(&setup_client, &urls, &tokens).await?;
    setup::import_directory(&setup_client, &urls, &tokens, &orgs).await?;
    let recorder = Arc::new(Recorder::default());
    let client = Client::new(recorder.clone())?;
    let report_setup = Setup {
        seed: options.seed,
        run: options.run.clone(),
        mode: match options.mode {
            Mode::Closed { clients } => format!("closed loop, {clients} clients"),
            Mode::Open { rate } => format!("open loop, {rate} referrals/s"),
        } + if options.submit_only {
            ", submit only"
        } else {
            ""
        },
        referrers: orgs.referrers.len(),
        link_worker_services: orgs.services.len(),
        commissioners: orgs.commissioners.len(),
    };
    let ctx = Arc::new(Context {
        client,
        urls,
        tokens,
        orgs,
        shape: options.shape,
        seed: options.seed,
        run: options.run.clone(),
        reporting_every: options.reporting_every,
        submit_only: options.submit_only,
    });

    let bar = progress_bar(options);
    let start = Instant::now();
    let stop = options.stop;
    let ticker = {
        let (bar, recorder) = (bar.clone(), recorder.clone());
        tokio::spawn(async move {
            loop {
                let (started, finished) = recorder.progress();
                bar.set_position(match stop {
                    Stop::Referrals(_) => started,
                    Stop::After(_) => start.elapsed().as_secs(),
                });
                bar.set_message(format!(
                    "{started} referrals started, {finished} journeys done"
                ));
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        })
    };
    let mut tasks = JoinSet::new();
    let more = move |i: u64| match stop {
        Stop::Referrals(n) => i < n,
        Stop::After(d) => start.elapsed() < d,
    };
    match options.mode {
        Mode::Closed { clients } => {
            let next = Arc::new(AtomicU64::new(0));
            for _ in 0..clients {
                let (ctx, next) = (ctx.clone(), next.clone());
                tasks.spawn(async move {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if !more(i) {
                            break;
                        }
                        journeys::run(&ctx, i, None).await;
                    }
                });
            }
        }
        Mode::Open { rate } => {
            for (i, offset) in plan::arrivals(options.seed, rate).enumerate() {
                let intended = start + offset;
                let i = i as u64;
                let within = match options.stop {
                    Stop::Referrals(n) => i < n,
                    Stop::After(d) => offset < d,
                };
                if !within {
                    break;
                }
                tokio::time::sleep_until(intended.into()).await;
                let ctx = ctx.clone();
                tasks.spawn(async move { journeys::run(&ctx, i, Some(intended)).await });
                while tasks.try_join_next().is_some() {}
            }
        }
    }
    let drained =
        tokio::time::timeout(DRAIN, async { while tasks.join_next().await.is_some() {} }).await;
    if drained.is_err() {
        tasks.abort_all();
    }
    let report = recorder.report(report_setup, start);
    ticker.abort();
    bar.finish_and_clear();
    Ok(report)
}

/// For a counted run the bar counts referrals started; for a timed one, seconds.
fn progress_bar(options: &Options) -> ProgressBar {
    if !options.progress {
        return ProgressBar::hidden();
    }
    let (bar, template) = match options.stop {
        Stop::Referrals(n) => (
            ProgressBar::new(n),
            "{elapsed_precise} [{bar:30}] {pos}/{len} {msg}",
        ),
        Stop::After(d) => (
            ProgressBar::new(d.as_secs().max(1)),
            "{elapsed_precise} [{bar:30}] {pos}/{len} s {msg}",
        ),
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}
