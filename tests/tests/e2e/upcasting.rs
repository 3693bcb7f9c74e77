//! A log holding both versions of `referral.received` rebuilds every read model exactly as
//! the same log written all in v2.
//!
//! One history (registry, referrals with repeat referrals of the same people, journeys that
//! close, are declined, withdrawn, stay open or wait unroutable) is written to two streams
//! on a real nats-server: once as a Linkway that upgraded half-way would have left it (the
//! earlier `referral.received` events as v1, raw, carrying the `possible_duplicate_of` list
//! the old command computed), once all as v2. Every projection of intake, link-worker and
//! reporting is rebuilt from each into the same PostgreSQL databases (so intake's NHS number
//! key and reporting's pseudonym key are the same), and every row of every read-model
//! table is compared.

use std::collections::BTreeMap;

use linkway::synthetic;
use linkway_events::case::{CaseDeclined, CaseEvent, DeclineReason};
use linkway_events::referral::{
    ReferralEvent, ReferralPersonCorrected, ReferralRouted, ReferralUnroutable, ReferralWithdrawn,
};
use linkway_events::registry::{
    OrganisationKind, OrganisationRegistered, RegistryEvent, RoutingCriterion, RoutingRuleAdded,
    RoutingRuleRemoved, TokenIssued, UserRegistered, UserSignedIn, UserSignedOut,
};
use linkway_events::{Actor, Envelope, Event, Role};
use linkway_eventstore::{EventStore, Expected, PendingEvent, StoreConfig};
use linkway_platform::secret::Secret;
use linkway_platform::service::Service;
use linkway_platform::{Database, ServiceContext};
use linkway_testkit::TestEnv;
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

const GP: &str = "gp-upcast";
const COUNCIL: &str = "council-upcast";
const SERVICE_A: &str = "lw-upcast-a";
const SERVICE_B: &str = "lw-upcast-b";
const ICB: &str = "icb-upcast";
const REFERRALS: u64 = 48;
const PEOPLE: u64 = 11;
/// The first this many `referral.received` events were written by the old Linkway (v1).
const WRITTEN_AS_V1: usize = 28;

/// One event of the history: its aggregate kind, its envelope as v2 writes it, and, for a
/// `referral.received` the old Linkway wrote, that v1 data.
struct Entry {
    kind: &'static str,
    envelope: Envelope,
    v1_data: Option<Value>,
}

fn entry(
    kind: &'static str,
    aggregate_id: String,
    event: Event,
    actor: Actor,
    at: OffsetDateTime,
) -> Entry {
    Entry {
        kind,
        envelope: Envelope::new(aggregate_id, &event, actor, Uuid::now_v7(), at),
        v1_data: None,
    }
}

fn actor(organisation_id: &str, role: Role) -> Actor {
    Actor {
        organisation_id: organisation_id.into(),
        user_id: None,
        role,
    }
}

fn organisation(id: &str, kind: OrganisationKind, area: &str, link_worker_service: bool) -> Event {
    RegistryEvent::OrganisationRegistered(OrganisationRegistered {
        organisation_id: id.into(),
        name: format!("{id} (test)"),
        kind,
        code: None,
        commissioner_area: Some(area.into()),
        link_worker_service,
        directory_services: Vec::new(),
    })
    .into()
}

/// Organisations, a routing rule added and one removed, a token: every registry table.
fn registry() -> Vec<Entry> {
    let start = OffsetDateTime::now_utc() - Duration::days(200);
    let mut log: Vec<Entry> = [
        (GP, OrganisationKind::GpPractice, false),
        (COUNCIL, OrganisationKind::Council, false),
        (SERVICE_A, OrganisationKind::Vcse, true),
        (SERVICE_B, OrganisationKind::Pcn, true),
        (ICB, OrganisationKind::Commissioner, false),
    ]
    .into_iter()
    .map(|(id, kind, lw)| {
        let event = organisation(id, kind, "QUP", lw);
        entry("organisation", id.into(), event, Actor::system(), start)
    })
    .collect();
    let rules = [Uuid::now_v7(), Uuid::now_v7()];
    for (rule_id, district) in rules.iter().zip(["LS6", "BD1"]) {
        let event = RegistryEvent::RoutingRuleAdded(RoutingRuleAdded {
            rule_id: *rule_id,
            link_worker_organisation_id: SERVICE_A.into(),
            criterion: RoutingCriterion::PostcodeDistrict {
                district: district.into(),
            },
            priority: 1,
        });
        log.push(entry(
            "routing_rule",
            rule_id.to_string(),
            event.into(),
            Actor::system(),
            start,
        ));
    }
    let removed = RegistryEvent::RoutingRuleRemoved(RoutingRuleRemoved { rule_id: rules[1] });
    log.push(entry(
        "routing_rule",
        rules[1].to_string(),
        removed.into(),
        Actor::system(),
        start,
    ));
    let token = Uuid::now_v7();
    let issued = RegistryEvent::TokenIssued(TokenIssued {
        token_id: token,
        organisation_id: GP.into(),
        role: Role::Referrer,
        user_id: None,
        secret_sha256: "ab".repeat(32),
        label: Some("upcasting test".into()),
        expires_at: None,
        replaces: None,
    });
    log.push(entry(
        "token",
        token.to_string(),
        issued.into(),
        Actor::system(),
        start,
    ));
    // A person who signs in, and one session begun and ended: the users and sessions tables.
    let (user_id, session_id) = (Uuid::now_v7(), Uuid::now_v7());
    let person = [
        RegistryEvent::UserRegistered(UserRegistered {
            user_id,
            organisation_id: SERVICE_A.into(),
            roles: vec![Role::LinkWorker],
            display_name: "Upcasting test".into(),
            issuer: "https://idp.example".into(),
            subject: "upcasting-1".into(),
        }),
        RegistryEvent::UserSignedIn(UserSignedIn {
            user_id,
            session_id,
        }),
        RegistryEvent::UserSignedOut(UserSignedOut {
            user_id,
            session_id,
        }),
    ];
    for event in person {
        log.push(entry(
            "user",
            user_id.to_string(),
            event.into(),
            Actor::system(),
            start,
        ));
    }
    log
}

/// The events of referral `r` of person `r % PEOPLE`, in order. Its fate depends on `r`:
/// closed after a whole journey, declined, withdrawn, still open, or unroutable and then
/// routed by hand. Some have their person corrected just after they arrive, into the next
/// person (another NHS number, so their possible duplicates move with it).
fn referral_story(r: u64) -> Vec<(&'static str, Event)> {
    let mut story = referral_fate(r);
    if r % 3 == 1 {
        let Event::Referral(ReferralEvent::Received(received)) = &story[0].1 else {
            unreachable!("a story starts with its referral")
        };
        let referral_id = received.referral_id;
        let next = (r % PEOPLE + 1) % PEOPLE;
        let personal = synthetic::referral_received(next, referral_id, GP).personal;
        let corrected = ReferralPersonCorrected {
            referral_id,
            personal,
        };
        story.insert(1, ("referral", corrected.into()));
    }
    story
}

fn referral_fate(r: u64) -> Vec<(&'static str, Event)> {
    let person = r % PEOPLE;
    let id = Uuid::now_v7();
    let referrer = if r % 4 == 3 { COUNCIL } else { GP };
    // Most people only ever go to service A; some are referred to both.
    let service = if person.is_multiple_of(3) && r % 2 == 1 {
        SERVICE_B
    } else {
        SERVICE_A
    };
    let mut journey = synthetic::journey(person, id, referrer, service);
    if r % 7 == 6 {
        // A self-referral without an NHS number: never anyone's duplicate.
        if let (_, Event::Referral(ReferralEvent::Received(received))) = &mut journey[0] {
            received.personal.as_mut().unwrap().person.nhs_number = None;
            received
                .personal
                .as_mut()
                .unwrap()
                .person
                .nhs_number_verification = None;
        }
    }
    let routed = |by_hand: bool| -> (&'static str, Event) {
        let rule_id = (!by_hand).then(|| Uuid::from_u128(u128::from(r) + 1));
        (
            "referral",
            ReferralEvent::Routed(ReferralRouted {
                referral_id: id,
                link_worker_organisation_id: service.into(),
                rule_id,
            })
            .into(),
        )
    };
    match r % 5 {
        0 => {
            // Onward connections before the closure, answered by the service, or reminded
            // and declined for want of an answer, so the inbox and the timers' events are
            // in the comparison.
            let closed = journey.pop().expect("a closure");
            journey.extend(connections(id, r));
            journey.push(closed);
            journey
        }
        1 => {
            journey.truncate(2);
            journey.push((
                "case",
                CaseEvent::Declined(CaseDeclined {
                    referral_id: id,
                    link_worker_organisation_id: service.into(),
                    reason: DeclineReason::PersonDeclined,
                    reason_code: None,
                })
                .into(),
            ));
            journey
        }
        2 => {
            journey.truncate(4);
            journey.push((
                "referral",
                ReferralEvent::Withdrawn(ReferralWithdrawn {
                    referral_id: id,
                    reason: "Moved to another practice".into(),
                })
                .into(),
            ));
            journey
        }
        3 => {
            journey.truncate(6);
            journey[1] = routed(false);
            journey
        }
        _ => {
            let received = journey.remove(0);
            let unroutable = (
                "referral",
                ReferralEvent::Unroutable(ReferralUnroutable {
                    referral_id: id,
                    reason: "no rule for the postcode district".into(),
                })
                .into(),
            );
            vec![received, unroutable, routed(true), journey.remove(1)]
        }
    }
}

/// Two onward connections of referral `r` (`id`) and what became of them.
fn connections(id: Uuid, r: u64) -> Vec<(&'static str, Event)> {
    use linkway_events::case::{
        ConnectionAccepted, ConnectionDeclineReason, ConnectionDeclined, ConnectionMade,
        ConnectionReminded, SharedDetail,
    };
    use linkway_events::referral::LegalBasis;
    let (walking, debt) = (
        Uuid::from_u128(u128::from(r) << 8),
        Uuid::from_u128(u128::from(r) << 8 | 1),
    );
    let made = |connection_id, service_id: &str, shared| {
        (
            "case",
            Event::from(CaseEvent::ConnectionMade(ConnectionMade {
                referral_id: id,
                connection_id,
                service_id: service_id.into(),
                service_name: format!("{service_id} (test)"),
                service_kind: Some("physical activity".into()),
                legal_basis: Some(LegalBasis::ExplicitConsent),
                shared,
            })),
        )
    };
    vec![
        made(
            walking,
            "svc-walking",
            vec![SharedDetail::Name, SharedDetail::Plan],
        ),
        made(debt, "svc-debt", vec![SharedDetail::Phone]),
        (
            "case",
            CaseEvent::ConnectionAccepted(ConnectionAccepted {
                referral_id: id,
                connection_id: walking,
            })
            .into(),
        ),
        (
            "case",
            CaseEvent::ConnectionReminded(ConnectionReminded {
                referral_id: id,
                connection_id: debt,
            })
            .into(),
        ),
        (
            "case",
            CaseEvent::ConnectionDeclined(ConnectionDeclined {
                referral_id: id,
                connection_id: debt,
                reason: ConnectionDeclineReason::NoAnswerInTime,
            })
            .into(),
        ),
    ]
}

/// The whole history in log order. Referral `r` starts at step `2 r` and then moves one
/// event a step, so journeys overlap: a person's next referral arrives while an earlier
/// one is open in some cases and after it ended in others.
fn history() -> Vec<Entry> {
    let start = OffsetDateTime::now_utc() - Duration::days(180);
    let mut stories: Vec<std::collections::VecDeque<(&'static str, Event)>> =
        (0..REFERRALS).map(|r| referral_story(r).into()).collect();
    let mut log = registry();
    let mut step = 0usize;
    while stories.iter().any(|s| !s.is_empty()) {
        for (r, story) in stories.iter_mut().enumerate().take(step / 2 + 1) {
            let Some((kind, event)) = story.pop_front() else {
                continue;
            };
            let aggregate_id = match &event {
                Event::Referral(ReferralEvent::Received(e)) => e.referral_id,
                Event::Referral(ReferralEvent::Routed(e)) => e.referral_id,
                Event::Referral(ReferralEvent::Unroutable(e)) => e.referral_id,
                Event::Referral(ReferralEvent::Withdrawn(e)) => e.referral_id,
                other => Uuid::parse_str(
                    other.to_data()["referral_id"]
                        .as_str()
                        .expect("a referral id"),
                )
                .expect("a UUID"),
            };
            let by = match kind {
                "referral" => actor(if r % 4 == 3 { COUNCIL } else { GP }, Role::Referrer),
                _ => actor(SERVICE_A, Role::LinkWorker),
            };
            let at = start + Duration::hours(step as i64) + Duration::minutes(r as i64);
            log.push(entry(kind, aggregate_id.to_string(), event, by, at));
        }
        step += 1;
        if step == 40 {
            // Half-way, the council moves to another commissioner area.
            let at = start + Duration::hours(step as i64);
            let event = organisation(COUNCIL, OrganisationKind::Council, "QUP2", false);
            log.push(entry(
                "organisation",
                COUNCIL.into(),
                event,
                Actor::system(),
                at,
            ));
        }
    }
    // The older Linkway wrote the first referrals as v1, with the list its command made:
    // every earlier referral of the same NHS number, whatever had become of them.
    let mut earlier: BTreeMap<String, Vec<Uuid>> = BTreeMap::new();
    let mut v1 = 0;
    for e in log
        .iter_mut()
        .filter(|e| e.envelope.event_type == "referral.received")
    {
        let data = &e.envelope.data_value();
        let id = Uuid::parse_str(data["referral_id"].as_str().expect("id")).expect("UUID");
        let Some(nhs) = data["personal"]["person"]["nhs_number"].as_str() else {
            continue;
        };
        let seen = earlier.entry(nhs.to_owned()).or_default();
        if v1 < WRITTEN_AS_V1 {
            let mut old = data.clone();
            if !seen.is_empty() {
                old["possible_duplicate_of"] = json!(seen);
            }
            e.v1_data = Some(old);
            v1 += 1;
        }
        seen.push(id);
    }
    // A third of the later ones came as FHIR messages naming the sender's endpoint (v3's
    // `reply_to`): intake's outbox keeps them and makes messages of their updates.
    for (n, e) in log
        .iter_mut()
        .filter(|e| e.envelope.event_type == "referral.received" && e.v1_data.is_none())
        .enumerate()
    {
        if n % 3 == 0 {
            let mut data = e.envelope.data_value();
            data["source_channel"] = json!("fhir");
            data["reply_to"] = json!("https://gp.example/fhir/replies");
            e.envelope.set_data(&data);
        }
    }
    log
}

/// Writes the history to `store`: v1 where the old Linkway wrote it (raw, as it did,
/// headers included), v2 elsewhere. Returns the sequence of the last event.
async fn write(store: &EventStore, log: &[Entry], mixed: bool) -> u64 {
    let mut last = 0;
    for e in log {
        let mut envelope = e.envelope.clone();
        if let (true, Some(v1)) = (mixed, &e.v1_data) {
            envelope.version = 1;
            envelope.set_data(v1);
        }
        last = store
            .append(
                e.kind,
                &envelope.aggregate_id.clone(),
                Expected::Any,
                vec![PendingEvent::new(envelope)],
            )
            .await
            .expect("append")
            .last_sequence();
    }
    last
}

fn services() -> Vec<Box<dyn Service>> {
    vec![
        Box::new(linkway_intake::IntakeService::default()),
        Box::new(linkway_link_worker::LinkWorkerService {
            policy: linkway_link_worker::case::Policy::default(),
            directory_feed: None,
            notify: Default::default(),
        }),
        Box::new(linkway_reporting::ReportingService {
            settings: Some(linkway_reporting::Settings::new(Secret::new(
                "upcasting-test-pseudonym-key",
            ))),
        }),
    ]
}

/// Every row of every table of the service's projections, as canonical JSON (jsonb orders
/// keys), sorted; plus each projection's checkpoint and the dead letters.
async fn dump(db: &Database, projections: &[&str]) -> BTreeMap<String, Vec<String>> {
    let client = db.client().await.expect("database");
    let mut all = BTreeMap::new();
    for &schema in projections {
        let tables = client
            .query(
                "SELECT table_name::text FROM information_schema.tables
                 WHERE table_schema = $1 ORDER BY 1",
                &[&schema],
            )
            .await
            .expect("tables");
        // Link-worker's notifications projection keeps no tables of its own: it only
        // inserts bookkeeping rows (what was sent), which a rebuild keeps rather than
        // rewrites (`ON CONFLICT DO NOTHING`), so there is nothing here to compare; its
        // rebuild is tested in link-worker's tests/api/notifications.rs.
        if tables.is_empty() && schema == "notifications" {
            continue;
        }
        assert!(!tables.is_empty(), "projection {schema} has no tables");
        for t in tables {
            let table: String = t.get(0);
            let rows = client
                .query(
                    &format!("SELECT to_jsonb(t)::text FROM {schema}.{table} t ORDER BY 1"),
                    &[],
                )
                .await
                .expect("rows");
            all.insert(
                format!("{schema}.{table}"),
                rows.iter().map(|r| r.get::<_, String>(0)).collect(),
            );
        }
    }
    let checkpoints = client
        .query(
            "SELECT projection || ' at ' || last_sequence || ' v' || version
             FROM projection_checkpoints ORDER BY 1",
            &[],
        )
        .await
        .expect("checkpoints");
    all.insert(
        "projection_checkpoints".into(),
        checkpoints.iter().map(|r| r.get::<_, String>(0)).collect(),
    );
    let parked = client
        .query(
            "SELECT projection || ' ' || sequence || ': ' || reason FROM dead_letters ORDER BY 1",
            &[],
        )
        .await
        .expect("dead letters");
    all.insert(
        "dead_letters".into(),
        parked.iter().map(|r| r.get::<_, String>(0)).collect(),
    );
    all
}

/// Rebuilds every projection of every service from `store` and returns the read models.
async fn rebuild_all(
    env: &TestEnv,
    store: &EventStore,
    batch_size: usize,
    end: u64,
) -> BTreeMap<String, BTreeMap<String, Vec<String>>> {
    let mut models = BTreeMap::new();
    for service in services() {
        let mut ctx: ServiceContext = env.context(service.name()).await;
        ctx.store = store.clone();
        ctx.runner.batch_size = batch_size;
        for &projection in service.projections() {
            let reached = service
                .rebuild(&ctx, projection, &|_, _| {})
                .await
                .unwrap_or_else(|e| panic!("{} {projection}: {e:#}", service.name()));
            assert_eq!(reached, Some(end), "{} {projection}", service.name());
        }
        models.insert(
            service.name().to_owned(),
            dump(&ctx.db, service.projections()).await,
        );
    }
    models
}

#[tokio::test]
async fn a_log_with_v1_and_v2_referrals_rebuilds_every_read_model_as_all_v2_does() {
    let env = TestEnv::shared();
    let mixed = env.store().await;
    let all_v2 = EventStore::connect(
        env.nats().await,
        StoreConfig {
            stream: format!("{}_V2", env.scope.stream),
            subject_prefix: format!("{}_v2", env.scope.subject_prefix),
            ..env.store_config()
        },
    )
    .await
    .expect("second stream");

    let log = history();
    let end = write(&mixed, &log, true).await;
    assert_eq!(write(&all_v2, &log, false).await, end, "the logs align");

    // The mixed log really holds both versions, as written.
    let mut versions: BTreeMap<u32, usize> = BTreeMap::new();
    let mut v1_with_list = 0;
    let mut reader = mixed.read_from(1).await.expect("reader");
    for _ in 0..end {
        let stored = reader.next().await;
        let envelope = Envelope::from_slice(&stored.payload).expect("envelope");
        if envelope.event_type == "referral.received" {
            *versions.entry(envelope.version).or_default() += 1;
            if envelope.data_value().get("possible_duplicate_of").is_some() {
                assert_eq!(envelope.version, 1);
                v1_with_list += 1;
            }
        }
    }
    // The rest as this release writes them: v3 (v2 plus the optional `reply_to`, which only
    // FHIR referrals carry: a third of them here).
    assert_eq!(
        versions,
        BTreeMap::from([(1, WRITTEN_AS_V1), (3, REFERRALS as usize - WRITTEN_AS_V1)])
    );
    assert!(v1_with_list > 5, "v1 events carry the old lists");

    // Small batches over the mixed log, so that duplicates are found across batches; the
    // default over the all-v2 log.
    let from_mixed = rebuild_all(&env, &mixed, 7, end).await;
    let from_v2 = rebuild_all(&env, &all_v2, 5000, end).await;
    // Reporting's own rebuild never goes below 10,000-event batches; the live runner
    // applies whatever has arrived. Applied 7 at a time it must come out the same.
    let mut small = env.context("reporting").await;
    small.store = all_v2.clone();
    small.runner.batch_size = 7;
    let reporting = linkway_reporting::Settings::new(Secret::new("upcasting-test-pseudonym-key"));
    let reached = small
        .rebuild(reporting.projection(), &|_, _| {})
        .await
        .expect("reporting in small batches");
    assert_eq!(reached, end);
    let small_batches = dump(&small.db, &["reporting"]).await;
    for (table, rows) in &small_batches {
        assert_eq!(
            rows, &from_v2["reporting"][table],
            "reporting {table}: 7-event batches differ from one batch"
        );
    }

    for (service, tables) in &from_v2 {
        for (table, rows) in tables {
            let mixed_rows = &from_mixed[service][table];
            // Empty by design: dead letters.
            if table != "dead_letters" {
                assert!(
                    !rows.is_empty(),
                    "{service} {table} is empty: a test that cannot fail"
                );
            }
            assert_eq!(
                mixed_rows.len(),
                rows.len(),
                "{service} {table}: row counts differ"
            );
            for (m, v) in mixed_rows.iter().zip(rows) {
                assert_eq!(m, v, "{service} {table}: rows differ");
            }
        }
        assert_eq!(
            from_mixed[service].keys().collect::<Vec<_>>(),
            tables.keys().collect::<Vec<_>>()
        );
    }
    for service in ["intake", "link-worker", "reporting"] {
        assert!(
            from_v2[service]["dead_letters"].is_empty(),
            "{service} parked events"
        );
    }

    // The possible duplicates come from the read model, not from the v1 lists: found for
    // v1 and v2 referrals alike, and different from what the old command wrote.
    let intake_rows: Vec<Value> = from_mixed["intake"]["referrals.referrals"]
        .iter()
        .map(|r| serde_json::from_str::<Value>(r).expect("JSON")["row"].clone())
        .collect();
    let duplicates_of = |id: &str| -> Vec<Value> {
        intake_rows
            .iter()
            .find(|r| r["referral_id"] == id)
            .and_then(|r| r["possible_duplicate_of"].as_array().cloned())
            .unwrap_or_default()
    };
    let mut flagged = [0, 0];
    let mut differs_from_v1 = 0;
    for e in log
        .iter()
        .filter(|e| e.envelope.event_type == "referral.received")
    {
        let found = duplicates_of(&e.envelope.aggregate_id);
        if !found.is_empty() {
            flagged[usize::from(e.v1_data.is_none())] += 1;
        }
        if let Some(v1) = &e.v1_data {
            let old = v1["possible_duplicate_of"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            differs_from_v1 += usize::from(old != found);
        }
    }
    assert!(
        flagged[0] > 0 && flagged[1] > 0,
        "possible duplicates among v1 and v2 referrals: {flagged:?}"
    );
    assert!(
        differs_from_v1 > 0,
        "the v1 lists are not what the read model shows"
    );
}
