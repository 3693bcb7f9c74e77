//! `linkway`: one binary for every Linkway service and operator task.

use linkway::cli::{self, Command};
use linkway::{ServiceName, demo};
use linkway_platform::secret::Secret;

/// Projections and appends allocate many small, short-lived JSON values; glibc's malloc
/// spent a fifth of the benchmark's CPU on them (perf), mimalloc a fraction of that.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // Before any TLS (NATS, the OpenID providers, the collector): rustls is built with two
    // providers and picks neither by itself.
    linkway_platform::nats::install_crypto_provider();
    let parsed = cli::parse(std::env::args_os().collect())?;
    let settings = parsed.cli.settings;
    // Held to the end: dropping it exports the last spans.
    let _telemetry = linkway::logging::init(&settings.log, settings.otlp_endpoint.as_deref())?;
    match parsed.cli.command {
        Command::Serve { services } => {
            let server =
                linkway::serve::start(&settings, &services, settings.pseudonym_key.as_ref())
                    .await?;
            for r in &server.running {
                eprintln!("{} listening on http://{}", r.service.name(), r.addr);
            }
            server.run_until_signal().await?;
            eprintln!("stopped");
        }
        Command::Migrate { with_stream } => {
            for done in linkway::migrate::migrate(&settings).await? {
                let role = done
                    .role
                    .map(|r| format!(", its role {r} set up"))
                    .unwrap_or_default();
                eprintln!(
                    "{}: database {} up to date{role}",
                    done.service.name(),
                    done.database
                );
            }
            if with_stream {
                let name = linkway::migrate::stream(&settings).await?;
                eprintln!("event log: stream {name} up to date");
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
            println!("{}", linkway::admin::run_cli(&settings, command).await?);
        }
        Command::Demo { referrals, exit } => {
            let key = match &settings.pseudonym_key {
                Some(key) => key.clone(),
                None => {
                    tracing::warn!(
                        "LINKWAY_PSEUDONYM_KEY is not set: the demo runs reporting on its \
                         public built-in key (never outside the demo)"
                    );
                    Secret::new(demo::PSEUDONYM_KEY)
                }
            };
            let mut settings = settings.clone();
            if settings.keks.is_none() {
                settings.keks = Some(Secret::new(demo::KEKS));
            }
            let web = demo::web_settings(&settings)?;
            let server =
                linkway::serve::start_with(&settings, &ServiceName::ALL, Some(&key), web).await?;
            let seeded = demo::seed(&settings, &server.running, referrals).await?;
            println!("{}", seeded.guide);
            if exit {
                server.stop().await?;
            } else {
                server.run_until_signal().await?;
            }
        }
        Command::Bench {
            events,
            in_flight,
            mix,
            replay,
        } => {
            let options = linkway::bench::Options {
                mix,
                replay,
                ..linkway::bench::Options::new(events, in_flight)
            };
            let report = linkway::bench::run(&settings, &options).await?;
            println!(
                "linkway bench: {} events, {in_flight} in flight\n{}",
                report.events,
                report.render()
            );
        }
        Command::BenchPages { cases, requests } => {
            let report = linkway::bench::pages::run(&settings, cases, requests).await?;
            println!("linkway bench-pages\n{}", report.render());
        }
        Command::Load(args) => {
            let report = linkway::load::command(&settings, &args).await?;
            println!("{}", report.render());
            if let Some(path) = &args.json {
                std::fs::write(path, serde_json::to_vec_pretty(&report)?)?;
            }
            let problems = report.problems();
            anyhow::ensure!(problems.is_empty(), "linkway load: {}", problems.join("; "));
        }
        Command::Settings => println!("{}", parsed.sources),
        Command::Backup { out, from_sequence } => {
            println!(
                "{}",
                linkway::backup::backup(&settings, &out, from_sequence).await?
            );
        }
        Command::Restore { from } => {
            println!("{}", linkway::backup::restore(&settings, &from).await?);
        }
    }
    Ok(())
}
