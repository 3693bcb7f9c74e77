//! The command line: sub-commands, and the settings every one of them shares.

use std::ffi::OsString;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::admin::AdminCommand;
use crate::catalogue::ServiceName;
use crate::config::{Settings, file};

#[derive(Debug, Parser)]
#[command(
    name = "linkway",
    version,
    about = "Social prescribing referral exchange",
    after_help = "Every setting is a flag, a LINKWAY_* variable, or a key of the --config file; \
                  a flag beats the environment, which beats the file."
)]
pub struct Cli {
    #[command(flatten)]
    pub settings: Settings,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Runs services (all three unless --services says otherwise) until SIGTERM or Ctrl-C.
    Serve {
        /// Comma-separated subset: intake, link-worker, reporting.
        #[arg(long, value_delimiter = ',', default_values = ["intake", "link-worker", "reporting"])]
        services: Vec<ServiceName>,
    },
    /// Creates the service databases and brings their tables up to date (and each
    /// service's own role, with LINKWAY_DATABASE_PASSWORDS), then exits. Starts no
    /// projection and no server.
    Migrate {
        /// Also create the event log's stream, or bring it to LINKWAY_REPLICAS and the
        /// duplicate window (connects to NATS as a user allowed to: deploy/nats's operator).
        #[arg(long)]
        with_stream: bool,
    },
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
        /// The journeys: `simple` (one ten-event journey each) or `national` (DOMAIN.md's
        /// mix in England's shape; `--events 29000000` is a national year).
        #[arg(long, value_enum, default_value = "simple")]
        mix: crate::bench::Mix,
        /// Replay each read model alone, all three at once, or both.
        #[arg(long, value_enum, default_value = "both")]
        replay: crate::bench::Replay,
    },
    /// Server time of each page (p50, p99) with many open cases in one link-worker
    /// service, in a private scope it removes afterwards.
    BenchPages {
        /// Open cases to create (referrals submitted, routed to one service).
        #[arg(long, default_value_t = 10_000)]
        cases: u64,
        /// Requests per page, one at a time.
        #[arg(long, default_value_t = 500)]
        requests: u64,
    },
    /// Drives the public HTTP APIs as their users will (referrals over JSON and FHIR,
    /// link-worker journeys, commissioner reads) and reports latency per operation.
    Load(Box<crate::load::LoadArgs>),
    /// Prints every setting, where its value came from, and exits (secrets redacted).
    Settings,
    /// Writes the event log, from a sequence to its last sequence when the backup starts,
    /// to a file with a SHA-256 checksum (README: "Backup and restore").
    Backup {
        /// The backup file (written as `<out>.partial`, renamed once whole).
        #[arg(long)]
        out: std::path::PathBuf,
        /// The first sequence to include: the previous backup's last + 1 for an
        /// incremental backup.
        #[arg(long, default_value_t = 1)]
        from_sequence: u64,
    },
    /// Restores a backup into the stream at its original sequences, after verifying the
    /// whole file: into an empty stream, or one ending just before the backup's first
    /// sequence; run again after an interruption, it resumes.
    Restore {
        /// The backup file.
        #[arg(long)]
        from: std::path::PathBuf,
    },
}

/// A parsed command line, with where each setting came from.
pub struct Parsed {
    pub cli: Cli,
    /// One line per setting (for `linkway settings`).
    pub sources: String,
}

/// The command line as clap sees it (for `--help` and the README check).
pub fn command() -> clap::Command {
    Cli::command()
}

/// Parses `args` (the first is the program name) over the environment and the settings
/// file (if `--config` or `LINKWAY_CONFIG` names one). Exits on `--help`/`--version`.
pub fn parse(args: Vec<OsString>) -> anyhow::Result<Parsed> {
    let mut command = command();
    let mut from_file = Default::default();
    if let Some(path) = file::named(&args) {
        (command, from_file) = file::apply(command, &path)?;
    }
    let matches = match command.clone().try_get_matches_from(args) {
        Ok(m) => m,
        Err(e) => e.exit(),
    };
    let cli = Cli::from_arg_matches(&matches)?;
    Ok(Parsed {
        sources: file::describe(&command, &matches, &from_file),
        cli,
    })
}
