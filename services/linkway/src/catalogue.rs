//! The one place that names Linkway's services and builds each from the settings.
//! Everything else runs them through [`linkway_platform::Service`].

use linkway_intake::IntakeService;
use linkway_link_worker::LinkWorkerService;
use linkway_platform::Service;
use linkway_platform::secret::Secret;
use linkway_reporting::ReportingService;

use crate::config::Settings;

/// The services one `linkway` process can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ServiceName {
    Intake,
    LinkWorker,
    Reporting,
}

impl ServiceName {
    pub const ALL: [ServiceName; 3] = [
        ServiceName::Intake,
        ServiceName::LinkWorker,
        ServiceName::Reporting,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ServiceName::Intake => "intake",
            ServiceName::LinkWorker => "link-worker",
            ServiceName::Reporting => "reporting",
        }
    }
}

/// Builds service `name` from the settings. Reporting gets `pseudonym_key` (the
/// configured one, or the demo's under `linkway demo`); without one it can migrate but
/// refuses to start.
pub fn build(
    name: ServiceName,
    settings: &Settings,
    pseudonym_key: Option<&Secret>,
) -> anyhow::Result<Box<dyn Service>> {
    Ok(match name {
        ServiceName::Intake => Box::new(IntakeService {
            self_referral: linkway_intake::self_referral::SelfReferralSettings {
                limit_per_address: settings.self_referral_limit_per_address.0,
                ..Default::default()
            },
            outbox: settings.outbox(),
        }),
        ServiceName::LinkWorker => Box::new(LinkWorkerService {
            policy: settings.link_worker_policy(),
            directory_feed: settings.directory_feed()?,
            notify: settings.notify()?,
        }),
        ServiceName::Reporting => Box::new(ReportingService {
            settings: pseudonym_key
                .map(|key| settings.reporting(key.clone()))
                .transpose()?,
        }),
    })
}
