//! The admin CLI refuses a registry that cannot work, deciding on the registry as folded
//! from the log (real nats-server from the harness): a rule routing to an organisation
//! that is not a registered link-worker service (every referral it matches would go to
//! nobody), a token for an unregistered organisation or a role its organisation does not
//! have, a rule on an unregistered referrer or a district no postcode has, and a service
//! that stops being one while rules still route to it. A refused command appends nothing.

use linkway::admin::registry::{self, ORGANISATION, ROUTING_RULE, TOKEN};
use linkway::admin::{AdminCommand, OrgCommand, RuleCommand, TokenCommand, run};
use linkway_events::Role;
use linkway_events::registry::OrganisationKind;
use linkway_eventstore::EventStore;
use linkway_testkit::TestEnv;
use uuid::Uuid;

const GP: &str = "gp-admin";
const LW: &str = "lw-admin";
const ICB: &str = "icb-admin";

fn org(id: &str, kind: OrganisationKind, area: Option<&str>, service: bool) -> AdminCommand {
    AdminCommand::Org(OrgCommand::Add {
        id: id.into(),
        name: format!("{id} (admin test)"),
        kind,
        code: None,
        area: area.map(str::to_owned),
        link_worker_service: service,
        directory_services: Vec::new(),
    })
}

trait WithName {
    fn with_name(self, name: &str) -> AdminCommand;
}

impl WithName for AdminCommand {
    fn with_name(self, new: &str) -> AdminCommand {
        match self {
            AdminCommand::Org(OrgCommand::Add {
                id,
                kind,
                code,
                area,
                link_worker_service,
                directory_services,
                ..
            }) => AdminCommand::Org(OrgCommand::Add {
                id,
                name: new.into(),
                kind,
                code,
                area,
                link_worker_service,
                directory_services,
            }),
            other => other,
        }
    }
}

fn rule_from(to: &str, from_org: &str) -> AdminCommand {
    AdminCommand::Rule(RuleCommand::Add {
        to: to.into(),
        from_org: Some(from_org.into()),
        postcode_district: None,
        priority: 1,
    })
}

fn rule_for_district(to: &str, district: &str) -> AdminCommand {
    AdminCommand::Rule(RuleCommand::Add {
        to: to.into(),
        from_org: None,
        postcode_district: Some(district.into()),
        priority: 1,
    })
}

fn token(org: &str, role: Role) -> AdminCommand {
    AdminCommand::Token(TokenCommand::Create {
        org: org.into(),
        role,
        user: None,
        label: None,
        expiry: Default::default(),
    })
}

/// A GP practice, a link-worker service and a commissioner.
async fn registered(env: &TestEnv) -> EventStore {
    let store = env.store().await;
    for command in [
        org(GP, OrganisationKind::GpPractice, Some("QAD"), false),
        org(LW, OrganisationKind::Pcn, Some("QAD"), true),
        org(ICB, OrganisationKind::Commissioner, Some("QAD"), false),
    ] {
        run(&store, command).await.expect("organisation");
    }
    store
}

/// How many registry events the log holds.
async fn registry_events(store: &EventStore) -> usize {
    let mut n = 0;
    for kind in [ORGANISATION, ROUTING_RULE, TOKEN] {
        n += store.load_kind(kind).await.unwrap().len();
    }
    n
}

/// The command is refused with a message containing `says`, and appends nothing.
async fn refused(store: &EventStore, command: AdminCommand, says: &str) {
    let before = registry_events(store).await;
    let err = run(store, command)
        .await
        .expect_err("the command should be refused");
    assert!(err.to_string().contains(says), "{err}");
    assert_eq!(
        registry_events(store).await,
        before,
        "a refused command appended"
    );
}

#[tokio::test]
async fn a_rule_to_an_organisation_that_is_not_a_registered_link_worker_service_is_refused() {
    let env = TestEnv::shared();
    let store = registered(&env).await;
    refused(&store, rule_from("lw-nowhere", GP), "is not registered").await;
    refused(&store, rule_from(GP, GP), "is not a link-worker service").await;
    refused(
        &store,
        rule_for_district(ICB, "LS6"),
        "is not a link-worker service",
    )
    .await;
    // The control: a registered link-worker service takes the rule.
    let id: Uuid = run(&store, rule_from(LW, GP))
        .await
        .unwrap()
        .parse()
        .unwrap();
    let registry = registry::load(&store).await.unwrap();
    assert_eq!(registry.rules[&id].added.link_worker_organisation_id, LW);
}

#[tokio::test]
async fn a_token_for_an_unregistered_organisation_is_refused() {
    let env = TestEnv::shared();
    let store = registered(&env).await;
    refused(
        &store,
        token("gp-nowhere", Role::Referrer),
        "is not registered",
    )
    .await;
    let printed = run(&store, token(GP, Role::Referrer)).await.unwrap();
    assert_eq!(printed.lines().count(), 2, "{printed}");
}

#[tokio::test]
async fn a_token_whose_role_its_organisation_does_not_have_is_refused() {
    let env = TestEnv::shared();
    let store = registered(&env).await;
    refused(
        &store,
        token(GP, Role::LinkWorker),
        "needs a link-worker service",
    )
    .await;
    refused(
        &store,
        token(GP, Role::ServiceManager),
        "needs a link-worker service",
    )
    .await;
    refused(
        &store,
        token(GP, Role::Commissioner),
        "needs a commissioner",
    )
    .await;
    refused(
        &store,
        token(ICB, Role::Referrer),
        "an organisation that refers",
    )
    .await;
    refused(&store, token(GP, Role::Admin), "operator organisation").await;
    refused(
        &store,
        token("linkway", Role::Referrer),
        "operator organisation",
    )
    .await;
    for (org, role) in [
        (LW, Role::LinkWorker),
        (LW, Role::ServiceManager),
        (ICB, Role::Commissioner),
        (LW, Role::Referrer),
        ("linkway", Role::Admin),
    ] {
        run(&store, token(org, role))
            .await
            .unwrap_or_else(|e| panic!("{org} {role:?}: {e}"));
    }
}

#[tokio::test]
async fn a_rule_on_an_unregistered_referrer_or_a_district_no_postcode_has_is_refused() {
    let env = TestEnv::shared();
    let store = registered(&env).await;
    refused(&store, rule_from(LW, "gp-nowhere"), "is not registered").await;
    for district in ["LS6 4QX", "6LS", "LS", "", "LS66A1"] {
        refused(
            &store,
            rule_for_district(LW, district),
            "is not an outward code",
        )
        .await;
    }
    for district in ["LS6", "ls6", "SW1A", "M1", " EC1V "] {
        run(&store, rule_for_district(LW, district))
            .await
            .unwrap_or_else(|e| panic!("{district}: {e}"));
    }
}

#[tokio::test]
async fn a_service_that_rules_still_route_to_cannot_stop_being_a_link_worker_service() {
    let env = TestEnv::shared();
    let store = registered(&env).await;
    let rule: Uuid = run(&store, rule_from(LW, GP))
        .await
        .unwrap()
        .parse()
        .unwrap();
    refused(
        &store,
        org(LW, OrganisationKind::Pcn, Some("QAD"), false),
        &rule.to_string(),
    )
    .await;
    run(
        &store,
        AdminCommand::Rule(RuleCommand::Remove { rule_id: rule }),
    )
    .await
    .unwrap();
    run(&store, org(LW, OrganisationKind::Pcn, Some("QAD"), false))
        .await
        .expect("no rule routes to it any more");
}

#[tokio::test]
async fn removing_a_rule_or_revoking_a_token_that_is_not_in_force_is_refused() {
    let env = TestEnv::shared();
    let store = registered(&env).await;
    let unknown = Uuid::now_v7();
    let remove = |rule_id| AdminCommand::Rule(RuleCommand::Remove { rule_id });
    let revoke = |token_id| AdminCommand::Token(TokenCommand::Revoke { token_id });
    refused(&store, remove(unknown), "no routing rule").await;
    refused(&store, revoke(unknown), "no live token").await;
    let rule: Uuid = run(&store, rule_from(LW, GP))
        .await
        .unwrap()
        .parse()
        .unwrap();
    run(&store, remove(rule)).await.unwrap();
    refused(&store, remove(rule), "no routing rule").await;
    let printed = run(&store, token(GP, Role::Referrer)).await.unwrap();
    let token_id: Uuid = printed.lines().next().unwrap().parse().unwrap();
    run(&store, revoke(token_id)).await.unwrap();
    refused(&store, revoke(token_id), "no live token").await;
}

#[tokio::test]
async fn text_an_admin_types_goes_through_the_text_rule() {
    let env = TestEnv::shared();
    let store = registered(&env).await;
    refused(
        &store,
        org("gp-nul", OrganisationKind::GpPractice, None, false).with_name("Park\0Surgery"),
        "--name must not contain control characters",
    )
    .await;
    refused(
        &store,
        org("gp-blank", OrganisationKind::GpPractice, None, false).with_name("\u{200b}"),
        "--name must contain a letter",
    )
    .await;
    let label = AdminCommand::Token(TokenCommand::Create {
        org: GP.into(),
        role: Role::Referrer,
        user: None,
        label: Some("EMIS\u{202e}".into()),
        expiry: Default::default(),
    });
    refused(&store, label, "--label must not contain control characters").await;
}

#[tokio::test]
async fn a_commissioner_without_an_area_and_the_operator_organisation_cannot_be_registered() {
    let env = TestEnv::shared();
    let store = registered(&env).await;
    refused(
        &store,
        org("icb-no-area", OrganisationKind::Commissioner, None, false),
        "needs --area",
    )
    .await;
    refused(
        &store,
        org("linkway", OrganisationKind::Other, None, false),
        "operator organisation",
    )
    .await;
}

/// Two admins at once, one adding a rule to a service and one withdrawing the service:
/// whichever way their reads and appends interleave, no rule is left in force that
/// routes to an organisation that is not a link-worker service. (Every interleaving must
/// pass; the rounds only make the close ones likely to be among them.)
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_rule_adds_and_service_withdrawals_never_leave_a_rule_routing_to_nobody() {
    let env = TestEnv::shared();
    let store = registered(&env).await;
    for round in 0..20 {
        let service = format!("lw-race-{round}");
        run(
            &store,
            org(&service, OrganisationKind::Pcn, Some("QAD"), true),
        )
        .await
        .unwrap();
        let (add, withdraw) = tokio::join!(
            run(&store, rule_from(&service, GP)),
            run(
                &store,
                org(&service, OrganisationKind::Pcn, Some("QAD"), false)
            ),
        );
        let registry = registry::load(&store).await.unwrap();
        let is_service = registry.organisations[&service]
            .registered
            .link_worker_service;
        let routed = registry.live_rules_to(&service).count();
        assert!(
            is_service || routed == 0,
            "round {round}: {routed} rule(s) route to {service}, no longer a service \
             (add: {add:?}, withdraw: {withdraw:?})"
        );
        assert!(
            add.is_ok() || withdraw.is_ok() || routed == 0,
            "round {round}"
        );
    }
}

#[tokio::test]
async fn a_community_service_answers_for_the_directory_services_its_flags_name() {
    use clap::Parser as _;
    let env = TestEnv::shared();
    let store = registered(&env).await;
    let argv = [
        "linkway",
        "admin",
        "org",
        "add",
        "--id",
        "cs-admin",
        "--name",
        "Walking for Health (admin test)",
        "--kind",
        "community-service",
        "--directory-service",
        "svc-walk",
        "--directory-service",
        "svc-tai-chi",
        "--directory-service",
        "svc-walk",
    ];
    let parsed = linkway::cli::Cli::try_parse_from(argv).expect("the flags parse");
    let linkway::cli::Command::Admin(command) = parsed.command else {
        panic!("not an admin command");
    };
    run(&store, command).await.expect("registered");
    let registry = registry::load(&store).await.unwrap();
    let registered = &registry.organisations["cs-admin"].registered;
    assert_eq!(registered.kind, OrganisationKind::CommunityService);
    assert_eq!(registered.directory_services, ["svc-walk", "svc-tai-chi"]);
    // The role fits only a community service, and a community service only that role (and
    // an IG lead, as every organisation).
    run(&store, token("cs-admin", Role::CommunityService))
        .await
        .expect("a community service's token");
    refused(
        &store,
        token(GP, Role::CommunityService),
        "needs a community service organisation",
    )
    .await;
    refused(
        &store,
        token("cs-admin", Role::LinkWorker),
        "needs a link-worker service",
    )
    .await;
    // Another kind answering for a directory service would be shown people's referrals.
    let AdminCommand::Org(OrgCommand::Add {
        id,
        name,
        kind,
        code,
        area,
        link_worker_service,
        ..
    }) = org(GP, OrganisationKind::GpPractice, Some("QAD"), false)
    else {
        unreachable!()
    };
    let gp = AdminCommand::Org(OrgCommand::Add {
        id,
        name,
        kind,
        code,
        area,
        link_worker_service,
        directory_services: vec!["svc-walk".into()],
    });
    refused(
        &store,
        gp,
        "only a community service answers for directory services",
    )
    .await;
}
