//! `linkway rebuild <projection>`: rebuild a read model from the log, then swap it in.

use indicatif::{ProgressBar, ProgressStyle};
use linkway_platform::Shutdown;

use crate::catalogue::{self, ServiceName};
use crate::config::Settings;
use crate::serve::{Connections, context};

/// Every projection name, with the services that keep one by that name.
pub fn projections(settings: &Settings) -> anyhow::Result<Vec<(&'static str, Vec<ServiceName>)>> {
    let mut all: Vec<(&'static str, Vec<ServiceName>)> = Vec::new();
    for name in ServiceName::ALL {
        for &projection in catalogue::build(name, settings, None)?.projections() {
            match all.iter_mut().find(|(n, _)| *n == projection) {
                Some((_, services)) => services.push(name),
                None => all.push((projection, vec![name])),
            }
        }
    }
    Ok(all)
}

/// Rebuilds `projection` in every service that has it; returns the checkpoints reached.
pub async fn rebuild(
    settings: &Settings,
    projection: &str,
    show_progress: bool,
) -> anyhow::Result<Vec<(ServiceName, u64)>> {
    let all = projections(settings)?;
    let owners = all
        .iter()
        .find(|(n, _)| *n == projection)
        .map(|(_, s)| s.clone())
        .ok_or_else(|| {
            let names: Vec<&str> = all.iter().map(|(n, _)| *n).collect();
            anyhow::anyhow!(
                "no projection named {projection:?}; known: {}",
                names.join(", ")
            )
        })?;
    let mut connections = Connections::default();
    let (_trigger, shutdown) = Shutdown::new();
    let mut done = Vec::new();
    let web = settings.web()?;
    for name in owners {
        let service = catalogue::build(name, settings, settings.pseudonym_key.as_ref())?;
        let log = connections.log(settings, name).await?;
        let ctx = context(
            settings,
            &*service,
            &log,
            &shutdown,
            web.clone(),
            settings.rate_limiter(),
        )
        .await?;
        service.migrate(&ctx.db).await?;
        let bar = if show_progress {
            ProgressBar::new(0)
        } else {
            ProgressBar::hidden()
        };
        bar.set_style(
            ProgressStyle::with_template(
                "{msg} [{bar:40}] {pos}/{len} events ({per_sec}, eta {eta})",
            )
            .expect("valid template")
            .progress_chars("=> "),
        );
        bar.set_message(format!("{} {projection}", name.name()));
        let progress = |applied: u64, total: u64| {
            bar.set_length(total);
            bar.set_position(applied);
        };
        let checkpoint = service
            .rebuild(&ctx, projection, &progress)
            .await?
            .ok_or_else(|| anyhow::anyhow!("{} does not know {projection:?}", name.name()))?;
        bar.finish();
        done.push((name, checkpoint));
    }
    Ok(done)
}
