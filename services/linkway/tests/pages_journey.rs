//! One referral across every role's pages (`tests/browser/journey.mjs`), against
//! `linkway serve` on real NATS and PostgreSQL, each person signed in through the real
//! OpenID provider: a referral made on intake's page appears on the link worker's caseload
//! page; closed there, it changes the commissioner's dashboard after disclosure control
//! (12 cases closed beforehand show as 10; the 13th makes it 15). Then the referrer signs
//! out on intake and the old session cookie is refused by all three services.

use linkway_events::registry::{
    OrganisationKind, RegistryEvent, RoutingCriterion, RoutingRuleAdded,
};
use linkway_events::{Actor, Envelope, Event, Role};
use linkway_eventstore::{Expected, PendingEvent};
use linkway_testkit::{Pages, Person};
use time::OffsetDateTime;
use uuid::Uuid;

const BINARY: &str = env!("CARGO_BIN_EXE_linkway");
const GP: &str = "gp-journey";
const SERVICE: &str = "lw-journey";
const ICB: &str = "icb-journey";
const AREA: &str = "QJN";

/// Closed cases in the log before the page journey.
const CLOSED_BEFORE: u64 = 12;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_referral_made_on_a_page_is_worked_and_closed_on_pages_and_counted_on_the_dashboard() {
    let person = |username, name, organisation_id, role| Person {
        username,
        name,
        organisation_id,
        roles: vec![role],
    };
    let pages = Pages::start(
        BINARY,
        vec![
            person("gp", "Gale Practitioner", GP, Role::Referrer),
            person("worker", "Lin Worker", SERVICE, Role::LinkWorker),
            person("icb", "Cam Commissioner", ICB, Role::Commissioner),
        ],
    )
    .await;
    let env = &pages.env;
    env.register_organisation(GP, OrganisationKind::GpPractice, Some(AREA), false)
        .await;
    env.register_organisation(SERVICE, OrganisationKind::Pcn, Some(AREA), true)
        .await;
    env.register_organisation(ICB, OrganisationKind::Commissioner, Some(AREA), false)
        .await;
    let store = env.store().await;
    let rule_id = Uuid::now_v7();
    let rule: Event = RegistryEvent::RoutingRuleAdded(RoutingRuleAdded {
        rule_id,
        link_worker_organisation_id: SERVICE.into(),
        criterion: RoutingCriterion::ReferringOrganisation {
            organisation_id: GP.into(),
        },
        priority: 1,
    })
    .into();
    append(&store, &rule_id.to_string(), &rule).await;
    // Twelve whole journeys, each closed, straight into the log.
    for i in 0..CLOSED_BEFORE {
        let id = Uuid::now_v7();
        for (_, event) in linkway::synthetic::journey(i, id, GP, SERVICE) {
            append(&store, &id.to_string(), &event).await;
        }
    }
    pages.register_people().await;
    pages
        .run_script(
            "journey.mjs",
            &[
                ("REFERRER", "gp"),
                ("LINK_WORKER", "worker"),
                ("COMMISSIONER", "icb"),
                ("CLOSED_BEFORE", "10"),
                ("CLOSED_AFTER", "15"),
            ],
        )
        .await;
}

async fn append(store: &linkway_eventstore::EventStore, id: &str, event: &Event) {
    let envelope = Envelope::new(
        id,
        event,
        Actor::system(),
        Uuid::now_v7(),
        OffsetDateTime::now_utc(),
    );
    store
        .append(
            event.aggregate_kind(),
            id,
            Expected::Any,
            vec![PendingEvent::new(envelope)],
        )
        .await
        .expect("append");
}
