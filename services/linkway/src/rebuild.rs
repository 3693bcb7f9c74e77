//! `linkway rebuild <projection>`: rebuild a read model from the log, then swap it in.

use indicatif::{ProgressBar, ProgressStyle};
use linkway_platform::{Projection, Shutdown};

use crate::config::{Service, Settings};
use crate::serve::{connect_store, context};

/// Every projection name, with the services that keep one by that name.
pub fn projections() -> Vec<(&'static str, Vec<Service>)> {
    // Every service keeps its own copy of the registry.
    let mut all: Vec<(&'static str, Vec<Service>)> = vec![(
        linkway_platform::registry::Registry::NAME,
        Service::ALL.to_vec(),
    )];
    for service in Service::ALL {
        for &name in projections_of(service) {
            match all.iter_mut().find(|(n, _)| *n == name) {
                Some((_, services)) if services.contains(&service) => {}
                Some((_, services)) => services.push(service),
                None => all.push((name, vec![service])),
            }
        }
    }
    all
}

fn projections_of(service: Service) -> &'static [&'static str] {
    match service {
        Service::Intake => linkway_intake::PROJECTIONS,
        Service::LinkWorker => linkway_link_worker::PROJECTIONS,
        Service::Reporting => linkway_reporting::PROJECTIONS,
    }
}

/// Rebuilds `projection` in every service that has it; returns the checkpoints reached.
pub async fn rebuild(
    settings: &Settings,
    projection: &str,
    show_progress: bool,
) -> anyhow::Result<Vec<(Service, u64)>> {
    let owners = projections()
        .into_iter()
        .find(|(n, _)| *n == projection)
        .map(|(_, s)| s)
        .ok_or_else(|| {
            let names: Vec<&str> = projections().iter().map(|(n, _)| *n).collect();
            anyhow::anyhow!(
                "no projection named {projection:?}; known: {}",
                names.join(", ")
            )
        })?;
    let (nats, store) = connect_store(settings).await?;
    let (_trigger, shutdown) = Shutdown::new();
    let mut done = Vec::new();
    for service in owners {
        let ctx = context(settings, service, &nats, &store, &shutdown).await?;
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
        bar.set_message(format!("{} {projection}", service.name()));
        let progress = |applied: u64, total: u64| {
            bar.set_length(total);
            bar.set_position(applied);
        };
        let checkpoint = match service {
            _ if projection == linkway_platform::registry::Registry::NAME => Some(
                ctx.rebuild(linkway_platform::registry::Registry, &progress)
                    .await?,
            ),
            Service::Intake => linkway_intake::rebuild(&ctx, projection, &progress).await?,
            Service::LinkWorker => {
                linkway_link_worker::rebuild(&ctx, projection, &progress).await?
            }
            Service::Reporting => linkway_reporting::rebuild(&ctx, projection, &progress).await?,
        }
        .ok_or_else(|| anyhow::anyhow!("{} does not know {projection:?}", service.name()))?;
        bar.finish();
        done.push((service, checkpoint));
    }
    Ok(done)
}
