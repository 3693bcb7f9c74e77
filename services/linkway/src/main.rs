//! `linkway`: one binary for every Linkway service and operator task.

use clap::{Parser, Subcommand};
use linkway::admin::AdminCommand;
use linkway::{Listen, Service, Settings};
use linkway_platform::Shutdown;

/// Projections and appends allocate many small, short-lived JSON values; glibc's malloc
/// spent a fifth of the benchmark's CPU on them (perf), mimalloc a fraction of that.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(
    name = "linkway",
    version,
    about = "Social prescribing referral exchange"
)]
struct Cli {
    #[command(flatten)]
    settings: Settings,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Runs services (all three unless --services says otherwise) until Ctrl-C.
    Serve {
        /// Comma-separated subset: intake, link-worker, reporting.
        #[arg(long, value_delimiter = ',', default_values = ["intake", "link-worker", "reporting"])]
        services: Vec<Service>,
        #[command(flatten)]
        listen: Listen,
    },
    /// Creates the service databases and brings their schemas up to date, then exits.
    Migrate,
    /// Rebuilds a projection from the start of the log and swaps it in.
    Rebuild {
        /// registry, referrals, caseload, reporting ...
        projection: String,
        /// No progress bar (for scripts).
        #[arg(long)]
        quiet: bool,
    },
    /// Organisations, routing rules and tokens.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Runs all services with realistic synthetic data and prints where to look.
    Demo {
        /// How many synthetic referrals to send.
        #[arg(long, default_value_t = 40)]
        referrals: u64,
        #[command(flatten)]
        listen: Listen,
        /// Seed the data, print where to look, and exit instead of serving.
        #[arg(long)]
        exit: bool,
    },
    /// Measures append and replay rates against raw JetStream and PostgreSQL.
    Bench {
        /// About how many events to append and replay.
        #[arg(long, default_value_t = 200_000)]
        events: u64,
        /// Appends (and raw publishes) in flight at once.
        #[arg(long, default_value_t = 1000)]
        in_flight: usize,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("LINKWAY_LOG")
                .unwrap_or_else(|_| "info,async_nats=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let settings = cli.settings;
    match cli.command {
        Command::Serve { services, listen } => {
            let (trigger, shutdown) = Shutdown::new();
            let running = linkway::serve::serve(&settings, &listen, &services, shutdown).await?;
            for r in &running {
                eprintln!("{} listening on http://{}", r.service.name(), r.addr);
            }
            tokio::signal::ctrl_c().await?;
            eprintln!("shutting down");
            trigger.fire();
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        Command::Migrate => {
            let (trigger, shutdown) = Shutdown::new();
            trigger.fire(); // prepare everything, run nothing
            let (nats, store) = linkway::serve::connect_store(&settings).await?;
            for service in Service::ALL {
                let ctx =
                    linkway::serve::context(&settings, service, &nats, &store, &shutdown).await?;
                let _router = linkway::serve::start(service, ctx).await?;
                eprintln!(
                    "{}: database {} up to date",
                    service.name(),
                    settings.database_name(service)
                );
            }
        }
        Command::Rebuild { projection, quiet } => {
            for (service, checkpoint) in
                linkway::rebuild::rebuild(&settings, &projection, !quiet).await?
            {
                eprintln!(
                    "{}: {projection} rebuilt up to sequence {checkpoint}",
                    service.name()
                );
            }
        }
        Command::Admin(command) => {
            let (_, store) = linkway::serve::connect_store(&settings).await?;
            println!("{}", linkway::admin::run(&store, command).await?);
        }
        Command::Demo {
            referrals,
            listen,
            exit,
        } => {
            let (trigger, shutdown) = Shutdown::new();
            let running =
                linkway::serve::serve(&settings, &listen, &Service::ALL, shutdown).await?;
            let seeded = linkway::demo::seed(&settings, &running, referrals).await?;
            println!("{}", seeded.guide);
            if !exit {
                tokio::signal::ctrl_c().await?;
            }
            trigger.fire();
        }
        Command::Bench { events, in_flight } => {
            let report = linkway::bench::run(&settings, events, in_flight).await?;
            println!(
                "linkway bench: {} events, {in_flight} in flight\n{}",
                report.events,
                report.render()
            );
        }
    }
    Ok(())
}
