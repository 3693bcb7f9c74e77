//! A test's view of Linkway: private servers (or the shared ones), a private scope, and
//! shortcuts to register organisations, issue tokens and serve a router on a free port.

use linkway_events::registry::{
    OrganisationKind, OrganisationRegistered, RegistryEvent, RoutingCriterion, RoutingRuleAdded,
    TokenIssued,
};
use linkway_events::{Actor, Envelope, Event, Role};
use linkway_eventstore::{EventStore, Expected, PendingEvent, StoreConfig};
use linkway_platform::secret::Secret;
use linkway_platform::{Database, RunnerSettings, ServiceContext, Shutdown, ShutdownTrigger};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{Scope, shared_nats, shared_postgres};

/// One test's environment. Dropping it stops every background task it started.
pub struct TestEnv {
    pub scope: Scope,
    pub nats_url: String,
    pub postgres_url: String,
    trigger: ShutdownTrigger,
    shutdown: Shutdown,
    /// The clock every context of this environment decides its timers by: a manual one,
    /// standing at the real time the environment was made until the test moves it
    /// (`env.clock.advance(..)`).
    pub clock: linkway_platform::clock::Clock,
}

impl TestEnv {
    /// A fresh scope on the process's shared servers.
    pub fn shared() -> TestEnv {
        TestEnv::on(shared_nats().url(), shared_postgres().url())
    }

    /// A fresh scope on given servers (e.g. private ones a test will restart).
    pub fn on(nats_url: String, postgres_url: String) -> TestEnv {
        let (trigger, shutdown) = Shutdown::new();
        TestEnv {
            scope: Scope::new(),
            nats_url,
            postgres_url,
            trigger,
            shutdown,
            clock: linkway_platform::clock::Clock::manual(time::OffsetDateTime::now_utc()),
        }
    }

    pub fn store_config(&self) -> StoreConfig {
        StoreConfig {
            stream: self.scope.stream.clone(),
            subject_prefix: self.scope.subject_prefix.clone(),
            ..StoreConfig::default()
        }
    }

    pub async fn nats(&self) -> async_nats::Client {
        async_nats::ConnectOptions::new()
            .retry_on_initial_connect()
            .connect(&self.nats_url)
            .await
            .expect("connect to NATS")
    }

    /// The vault of this scope's log, under [`crate::TEST_KEKS`].
    pub async fn vault(&self, store: &EventStore) -> linkway_eventstore::Vault {
        let keks = linkway_eventstore::vault::Keks::parse(crate::TEST_KEKS).expect("test KEKs");
        linkway_eventstore::Vault::new(
            linkway_eventstore::vault::KeyStore::open(store, keks)
                .await
                .expect("the data keys' bucket"),
        )
    }

    /// The log as a service holding personal data reads it: personal parts opened.
    pub async fn opened_store(&self) -> EventStore {
        let store = self.store().await;
        let vault = self.vault(&store).await;
        store.with_vault(vault)
    }

    pub async fn store(&self) -> EventStore {
        EventStore::connect(self.nats().await, self.store_config())
            .await
            .expect("event store")
    }

    /// The database name a service gets in this scope, e.g. `t123_4_intake`.
    pub fn database_name(&self, service: &str) -> String {
        format!(
            "{}_{}",
            self.scope.database_prefix,
            service.replace('-', "_")
        )
    }

    pub async fn database(&self, service: &str) -> Database {
        Database::open(
            &Secret::new(self.postgres_url.clone()),
            &self.database_name(service),
        )
        .await
        .expect("service database")
    }

    /// A service context as `linkway serve` would build it, with small batch delays.
    pub async fn context(&self, service: &str) -> ServiceContext {
        let nats = self.nats().await;
        let registry = EventStore::connect(nats.clone(), self.store_config())
            .await
            .expect("event store");
        // The services that hold personal data seal it, as `linkway serve` has them do.
        let store = if matches!(service, "intake" | "link-worker") {
            registry.clone().with_vault(self.vault(&registry).await)
        } else {
            registry.clone()
        };
        ServiceContext {
            registry_store: registry,
            store,
            nats,
            db: self.database(service).await,
            runner: RunnerSettings::default(),
            shutdown: self.shutdown.clone(),
            web: std::sync::Arc::new(linkway_platform::web::WebSettings::for_tests()),
            limits: Default::default(),
            timers: linkway_platform::clock::Timers {
                clock: self.clock.clone(),
                interval: std::time::Duration::from_millis(200),
            },
        }
    }

    pub fn shutdown(&self) -> Shutdown {
        self.shutdown.clone()
    }

    /// Stops every background task started with this environment's contexts.
    pub fn stop(&self) {
        self.trigger.fire();
    }

    /// Registers an organisation in the registry (as an admin would).
    pub async fn register_organisation(
        &self,
        organisation_id: &str,
        kind: OrganisationKind,
        commissioner_area: Option<&str>,
        link_worker_service: bool,
    ) -> u64 {
        let event: Event = RegistryEvent::OrganisationRegistered(OrganisationRegistered {
            organisation_id: organisation_id.into(),
            name: format!("{organisation_id} (test)"),
            kind,
            code: None,
            commissioner_area: commissioner_area.map(str::to_owned),
            link_worker_service,
            directory_services: Vec::new(),
        })
        .into();
        self.append_registry(organisation_id, event).await
    }

    /// A community service answering in link-worker's inbox for the directory services
    /// `directory_services` (Open Referral UK ids).
    pub async fn register_community_service(
        &self,
        organisation_id: &str,
        directory_services: &[&str],
    ) -> u64 {
        let event: Event = RegistryEvent::OrganisationRegistered(OrganisationRegistered {
            organisation_id: organisation_id.into(),
            name: format!("{organisation_id} (test)"),
            kind: OrganisationKind::CommunityService,
            code: None,
            commissioner_area: None,
            link_worker_service: false,
            directory_services: directory_services.iter().map(|s| (*s).to_owned()).collect(),
        })
        .into();
        self.append_registry(organisation_id, event).await
    }

    /// A GP practice `referrer` and a link-worker service `link_worker` in commissioner
    /// area `area`, with a rule routing every referral from the one to the other: the
    /// smallest registry a referral's journey needs.
    pub async fn referrer_and_link_worker(&self, referrer: &str, link_worker: &str, area: &str) {
        self.register_organisation(referrer, OrganisationKind::GpPractice, Some(area), false)
            .await;
        self.register_organisation(link_worker, OrganisationKind::Pcn, Some(area), true)
            .await;
        let rule_id = Uuid::now_v7();
        let event: Event = RegistryEvent::RoutingRuleAdded(RoutingRuleAdded {
            rule_id,
            link_worker_organisation_id: link_worker.into(),
            criterion: RoutingCriterion::ReferringOrganisation {
                organisation_id: referrer.into(),
            },
            priority: 1,
        })
        .into();
        self.append_registry(&rule_id.to_string(), event).await;
    }

    /// Issues a bearer token for an organisation and role; returns the secret and the
    /// sequence of the `token.issued` event (wait for it before using the token).
    pub async fn issue_token(&self, organisation_id: &str, role: Role) -> (String, u64) {
        let token = linkway_platform::auth::mint_token();
        let event: Event = RegistryEvent::TokenIssued(TokenIssued {
            token_id: token.token_id,
            organisation_id: organisation_id.into(),
            role,
            user_id: Some(format!("{}-user", role.as_str())),
            secret_sha256: token.secret_sha256,
            label: Some("test".into()),
            expires_at: None,
            replaces: None,
        })
        .into();
        let seq = self
            .append_registry(&token.token_id.to_string(), event)
            .await;
        (token.secret, seq)
    }

    pub(crate) async fn append_registry(&self, aggregate_id: &str, event: Event) -> u64 {
        let kind = event.aggregate_kind();
        let envelope = Envelope::new(
            aggregate_id,
            &event,
            Actor::system(),
            Uuid::now_v7(),
            OffsetDateTime::now_utc(),
        );
        self.store()
            .await
            .append(
                kind,
                aggregate_id,
                Expected::Any,
                vec![PendingEvent::new(envelope)],
            )
            .await
            .expect("append registry event")
            .last_sequence()
    }
}

impl Drop for TestEnv {
    fn drop(&mut self) {
        self.trigger.fire();
    }
}

/// Serves a router on a free port of 127.0.0.1 until the shutdown fires; returns its base URL.
pub async fn serve(router: axum::Router, shutdown: Shutdown) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(shutdown.wait())
            .await
            .expect("serve");
    });
    format!("http://{addr}")
}
