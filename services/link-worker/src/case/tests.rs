use super::*;
use crate::outcomes::{self, Instrument};
use linkway_events::case::{ConnectionDeclineReason, ContactOutcome, SharedDetail};
use linkway_events::referral::{LegalBasis, ReferralRouted, ReferralWithdrawn};
use time::macros::{date, datetime};

const CONNECTION: Uuid = Uuid::from_u128(0x0195a1c2_7e10_7d3a_9f4b_2c1d0e9f8a7b);
const AT: OffsetDateTime = datetime!(2025-03-04 10:00 UTC);

/// A case standing in `state`, with what that state normally brings (a link worker, a
/// contact, a plan, a pending connection), so the state is the only thing that varies.
fn case_in(state: CaseState) -> Case {
    let mut case = Case::new(Uuid::from_u128(7));
    case.state = state;
    case.received_at = Some(AT);
    case.organisation_id = Some("north".into());
    case.link_worker_id = Some("lw-1".into());
    case.contacts_made = 1;
    case.plan = Some(Plan {
        review_date: date!(2025 - 05 - 01),
        goal_count: 1,
        agreed_at: AT,
        reviews: 0,
        personal: Some(PlanPersonal {
            what_matters: "People to talk to".into(),
            goals: vec!["Join the choir".into()],
            actions: vec![],
        }),
    });
    case.connections.push(Connection {
        connection_id: CONNECTION,
        service_id: "choir".into(),
        service_name: "Community choir".into(),
        status: ConnectionStatus::Pending,
        legal_basis: Some(LegalBasis::PublicTaskHealthCare),
        shared: vec![SharedDetail::Name],
        made_at: AT,
        answered_at: None,
        reminded_at: None,
        decline_reason: None,
    });
    if matches!(
        state,
        CaseState::Received | CaseState::Routed | CaseState::Accepted
    ) {
        case.link_worker_id = None;
        case.contacts_made = 0;
        case.plan = None;
        case.connections.clear();
    }
    if matches!(state, CaseState::Assigned | CaseState::CouldNotContact) {
        case.contacts_made = 0;
        case.plan = None;
        case.connections.clear();
    }
    case
}

fn plan_input() -> PlanInput {
    PlanInput {
        review_date: date!(2025 - 06 - 01),
        what_matters: "Getting out of the house".into(),
        goals: vec!["Walk weekly".into()],
        actions: vec!["Try the walking group".into()],
    }
}

fn service(status: &str) -> ServiceRef {
    ServiceRef {
        id: "walking-group".into(),
        name: "Walking group".into(),
        status: status.into(),
        kind: Some("physical activity".into()),
        withdrawn: false,
    }
}

/// One instance of every command.
fn commands() -> Vec<Command> {
    vec![
        Command::Accept,
        Command::Decline {
            reason: DeclineReason::PersonDeclined,
        },
        Command::Assign {
            link_worker_id: "lw-2".into(),
        },
        Command::RecordContact {
            kind: ContactKind::Attempt,
            channel: ContactChannel::Phone,
            outcome: ContactOutcome::NotRecorded,
            minutes: 0,
            notes: None,
        },
        Command::RecordContact {
            kind: ContactKind::Made,
            channel: ContactChannel::FaceToFace,
            outcome: ContactOutcome::NotRecorded,
            minutes: 45,
            notes: Some("Talked about the garden".into()),
        },
        Command::AgreePlan(plan_input()),
        Command::ReviewPlan(plan_input()),
        Command::ConnectService {
            connection_id: Uuid::from_u128(99),
            service: service("active"),
            legal_basis: LegalBasis::ExplicitConsent,
            shared: vec![SharedDetail::Name, SharedDetail::Phone],
        },
        Command::RecordConnectionResponse {
            connection_id: CONNECTION,
            response: ConnectionResponse::Accepted,
            decline_reason: ConnectionDeclineReason::NotRecorded,
        },
        Command::RecordOutcome(
            outcomes::score(Instrument::Ucla3, Timepoint::Baseline, &[2, 2, 3]).unwrap(),
        ),
        Command::RaiseSafeguarding {
            concern: "Bruising".into(),
        },
        Command::Close {
            reason: ClosureReason::GoalsMet,
        },
    ]
}

use CaseState::*;

/// The whole transition table: for each command (by its position in [`commands`]), the
/// state it leads to from each state where it is legal. Every other state refuses it.
fn table() -> Vec<(&'static str, Vec<(CaseState, CaseState)>)> {
    let same = |states: &[CaseState]| states.iter().map(|s| (*s, *s)).collect::<Vec<_>>();
    vec![
        ("accept", vec![(Routed, Accepted)]),
        ("decline", vec![(Routed, Declined)]),
        (
            "assign",
            vec![
                (Accepted, Assigned),
                (Assigned, Assigned),
                (CouldNotContact, CouldNotContact),
                (Engaged, Engaged),
                (PlanAgreed, PlanAgreed),
            ],
        ),
        (
            "contact attempt",
            same(&[Assigned, CouldNotContact, Engaged, PlanAgreed]),
        ),
        (
            "contact made",
            vec![
                (Assigned, Engaged),
                (CouldNotContact, Engaged),
                (Engaged, Engaged),
                (PlanAgreed, PlanAgreed),
            ],
        ),
        ("agree plan", vec![(Engaged, PlanAgreed)]),
        ("review plan", same(&[PlanAgreed])),
        ("connect service", same(&[PlanAgreed])),
        ("connection answer", same(&[Engaged, PlanAgreed])),
        ("record outcome", same(&[Engaged, PlanAgreed])),
        (
            "raise safeguarding",
            same(&[
                Routed,
                Accepted,
                Assigned,
                CouldNotContact,
                Engaged,
                PlanAgreed,
                Declined,
                Closed,
                Withdrawn,
            ]),
        ),
        (
            "close",
            vec![
                (Accepted, Closed),
                (Assigned, Closed),
                (CouldNotContact, Closed),
                (Engaged, Closed),
                (PlanAgreed, Closed),
            ],
        ),
    ]
}

#[test]
fn every_command_in_every_state_is_legal_exactly_where_the_table_says() {
    let commands = commands();
    let table = table();
    assert_eq!(commands.len(), table.len());
    let policy = Policy::default();
    let mut checked = 0;
    for (command, (label, legal)) in commands.iter().zip(&table) {
        for state in CaseState::ALL {
            let case = case_in(state);
            let outcome = decide(&case, command, &policy);
            match legal.iter().find(|(from, _)| *from == state) {
                Some((_, to)) => {
                    let events =
                        outcome.unwrap_or_else(|r| panic!("{label} from {state:?} refused: {r}"));
                    assert_eq!(events.len(), 1, "{label} from {state:?}");
                    let mut after = case.clone();
                    after.apply(100, AT, &Event::Case(events[0].clone()));
                    assert_eq!(after.state, *to, "{label} from {state:?}");
                    assert_eq!(after.last_case_sequence, 100);
                }
                None => {
                    let refusal =
                        outcome.expect_err(&format!("{label} from {state:?} must be refused"));
                    assert!(!refusal.rule.is_empty() && !refusal.message.is_empty());
                    assert!(
                        refusal.message.contains(command.name())
                            || refusal.rule == "safeguarding_requires_routed"
                    );
                }
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 12 * CaseState::ALL.len());
}

#[test]
fn refusals_name_the_rule_broken() {
    let policy = Policy::default();
    let rule =
        |state, command: Command| decide(&case_in(state), &command, &policy).unwrap_err().rule;
    assert_eq!(
        rule(Accepted, Command::AgreePlan(plan_input())),
        "plan_requires_contact_made"
    );
    assert_eq!(
        rule(
            Closed,
            Command::Close {
                reason: ClosureReason::GoalsMet
            }
        ),
        "close_requires_active_case"
    );
    let outcome = outcomes::score(Instrument::Wemwbs, Timepoint::Exit, &[3; 14]).unwrap();
    assert_eq!(
        rule(Declined, Command::RecordOutcome(outcome)),
        "outcome_requires_engaged_case"
    );
    assert_eq!(rule(Accepted, Command::Accept), "accept_requires_routed");
}

#[test]
fn a_person_declining_is_coded_with_snomed_871711000000103_and_other_reasons_are_not_coded() {
    let policy = Policy::default();
    let reasons = [
        DeclineReason::PersonDeclined,
        DeclineReason::OutOfArea,
        DeclineReason::NotAppropriate,
        DeclineReason::ReferredElsewhere,
    ];
    for reason in reasons {
        let events = decide(&case_in(Routed), &Command::Decline { reason }, &policy).unwrap();
        let CaseEvent::Declined(d) = &events[0] else {
            panic!("not a decline")
        };
        assert_eq!(d.reason, reason);
        assert_eq!(d.link_worker_organisation_id, "north");
        match reason {
            DeclineReason::PersonDeclined => {
                let code = d.reason_code.as_ref().expect("coded");
                assert_eq!(code.code, "871711000000103");
                assert_eq!(code.system, "http://snomed.info/sct");
            }
            _ => assert_eq!(d.reason_code, None),
        }
    }
}

fn attempt() -> Command {
    Command::RecordContact {
        kind: ContactKind::Attempt,
        channel: ContactChannel::Phone,
        outcome: ContactOutcome::NotRecorded,
        minutes: 0,
        notes: None,
    }
}

fn run(case: &mut Case, command: &Command, policy: &Policy) -> Result<CaseEvent, Refusal> {
    let events = decide(case, command, policy)?;
    let seq = case.last_case_sequence + 1;
    case.apply(seq, AT, &Event::Case(events[0].clone()));
    Ok(events[0].clone())
}

#[test]
fn the_configured_number_of_failed_attempts_marks_the_case_could_not_contact() {
    for max in [1, 2, 3, 5] {
        let policy = Policy {
            max_contact_attempts: max,
            ..Policy::default()
        };
        let mut case = case_in(Assigned);
        for n in 1..=max {
            let event = run(&mut case, &attempt(), &policy).unwrap();
            let CaseEvent::ContactAttempted(a) = event else {
                panic!()
            };
            assert_eq!(a.attempt_number, n);
            assert_eq!(a.could_not_contact, n == max, "attempt {n} of {max}");
            let expected = if n == max { CouldNotContact } else { Assigned };
            assert_eq!(case.state, expected, "after attempt {n} of {max}");
        }
        assert_eq!(case.contact_attempts, max);
        // Further attempts keep counting but do not flag again.
        let CaseEvent::ContactAttempted(a) = run(&mut case, &attempt(), &policy).unwrap() else {
            panic!()
        };
        assert!(!a.could_not_contact);
        assert_eq!(case.state, CouldNotContact);
    }
}

#[test]
fn closing_as_could_not_contact_needs_the_attempts_first() {
    let policy = Policy::default();
    let close = Command::Close {
        reason: ClosureReason::CouldNotContact,
    };
    let refusal = decide(&case_in(Assigned), &close, &policy).unwrap_err();
    assert_eq!(refusal.rule, "could_not_contact_requires_attempts");
    let mut case = case_in(Assigned);
    for _ in 0..3 {
        run(&mut case, &attempt(), &policy).unwrap();
    }
    run(&mut case, &close, &policy).unwrap();
    assert_eq!(case.state, Closed);
    assert_eq!(case.closure_reason, Some(ClosureReason::CouldNotContact));
    // Closing twice is refused.
    assert_eq!(
        decide(&case, &close, &policy).unwrap_err().rule,
        "close_requires_active_case"
    );
}

#[test]
fn a_late_contact_after_could_not_contact_engages_the_person() {
    let policy = Policy::default();
    let mut case = case_in(Assigned);
    for _ in 0..3 {
        run(&mut case, &attempt(), &policy).unwrap();
    }
    let made = Command::RecordContact {
        kind: ContactKind::Made,
        channel: ContactChannel::Phone,
        outcome: ContactOutcome::NotRecorded,
        minutes: 30,
        notes: None,
    };
    run(&mut case, &made, &policy).unwrap();
    assert_eq!(case.state, Engaged);
    assert_eq!(case.contact_minutes, 30);
    assert_eq!(case.last_contact_at, Some(AT));
}

#[test]
fn inactive_and_defunct_services_take_no_new_connections() {
    let policy = Policy::default();
    for (status, ok) in [
        ("active", true),
        ("temporarily closed", true),
        ("inactive", false),
        ("defunct", false),
    ] {
        let command = Command::ConnectService {
            connection_id: Uuid::from_u128(5),
            service: service(status),
            legal_basis: LegalBasis::ExplicitConsent,
            shared: vec![SharedDetail::Name, SharedDetail::Phone],
        };
        let outcome = decide(&case_in(PlanAgreed), &command, &policy);
        match ok {
            true => assert!(outcome.is_ok(), "{status}"),
            false => {
                let refusal = outcome.unwrap_err();
                assert_eq!(refusal.rule, "service_not_accepting_connections");
                assert_eq!(refusal.field, "service_id", "{status}");
                assert!(refusal.message.contains(status), "{}", refusal.message);
            }
        }
    }
}

#[test]
fn a_service_the_directory_feed_no_longer_lists_takes_no_new_connections() {
    let command = Command::ConnectService {
        connection_id: Uuid::from_u128(6),
        service: ServiceRef {
            withdrawn: true,
            ..service("active")
        },
        legal_basis: LegalBasis::ExplicitConsent,
        shared: vec![SharedDetail::Name],
    };
    let refusal = decide(&case_in(PlanAgreed), &command, &Policy::default()).unwrap_err();
    assert_eq!(
        (refusal.field, refusal.rule),
        ("service_id", "service_not_accepting_connections")
    );
    assert!(
        refusal
            .message
            .contains("no longer listed by the directory feed"),
        "{}",
        refusal.message
    );
}

#[test]
fn a_second_open_connection_to_the_same_service_or_a_reused_id_is_refused() {
    let policy = Policy::default();
    let mut case = case_in(PlanAgreed);
    let connect = |id: u128| Command::ConnectService {
        connection_id: Uuid::from_u128(id),
        service: service("active"),
        legal_basis: LegalBasis::ExplicitConsent,
        shared: vec![SharedDetail::Name, SharedDetail::Phone],
    };
    run(&mut case, &connect(5), &policy).unwrap();
    assert_eq!(
        decide(&case, &connect(6), &policy).unwrap_err().rule,
        "connection_already_open"
    );
    assert_eq!(
        decide(
            &case,
            &Command::ConnectService {
                connection_id: CONNECTION,
                service: service("active"),
                legal_basis: LegalBasis::ExplicitConsent,
                shared: vec![],
            },
            &policy
        )
        .unwrap_err()
        .rule,
        "connection_exists"
    );
    // Once the service declined, a fresh connection to it is fine.
    let decline = Command::RecordConnectionResponse {
        connection_id: Uuid::from_u128(5),
        response: ConnectionResponse::Declined,
        decline_reason: ConnectionDeclineReason::NoCapacity,
    };
    run(&mut case, &decline, &policy).unwrap();
    run(&mut case, &connect(6), &policy).unwrap();
}

#[test]
fn connection_answers_follow_pending_then_accepted_or_declined_then_attended() {
    use ConnectionResponse as R;
    use ConnectionStatus as S;
    let policy = Policy::default();
    // (status before, answer, status after or None when refused)
    let table = [
        (S::Pending, R::Accepted, Some(S::Accepted)),
        (S::Pending, R::Declined, Some(S::Declined)),
        (S::Pending, R::Attended, Some(S::Attended)),
        (S::Accepted, R::Accepted, None),
        (S::Accepted, R::Declined, None),
        (S::Accepted, R::Attended, Some(S::Attended)),
        (S::Declined, R::Accepted, None),
        (S::Declined, R::Declined, None),
        (S::Declined, R::Attended, None),
        (S::Attended, R::Accepted, None),
        (S::Attended, R::Declined, None),
        (S::Attended, R::Attended, None),
    ];
    for (before, response, after) in table {
        let mut case = case_in(PlanAgreed);
        case.connections[0].status = before;
        let command = Command::RecordConnectionResponse {
            connection_id: CONNECTION,
            response,
            decline_reason: ConnectionDeclineReason::NotEligible,
        };
        match after {
            Some(after) => {
                run(&mut case, &command, &policy).unwrap();
                assert_eq!(
                    case.connections[0].status, after,
                    "{before:?} + {response:?}"
                );
                assert_eq!(case.connections[0].answered_at, Some(AT));
                let reason = (after == S::Declined).then_some(ConnectionDeclineReason::NotEligible);
                assert_eq!(
                    case.connections[0].decline_reason, reason,
                    "the decline's reason"
                );
            }
            None => assert_eq!(
                decide(&case, &command, &policy).unwrap_err().rule,
                "connection_already_answered",
                "{before:?} + {response:?}"
            ),
        }
    }
    let unknown = Command::RecordConnectionResponse {
        connection_id: Uuid::from_u128(1234),
        response: R::Accepted,
        decline_reason: ConnectionDeclineReason::NotRecorded,
    };
    assert_eq!(
        decide(&case_in(PlanAgreed), &unknown, &policy)
            .unwrap_err()
            .rule,
        "connection_unknown"
    );
}

#[test]
fn reassigning_to_the_same_link_worker_is_refused() {
    let command = Command::Assign {
        link_worker_id: "lw-1".into(),
    };
    assert_eq!(
        decide(&case_in(Engaged), &command, &Policy::default())
            .unwrap_err()
            .rule,
        "already_assigned"
    );
}

#[test]
fn plan_reviews_replace_the_plan_and_count() {
    let policy = Policy::default();
    let mut case = case_in(PlanAgreed);
    let mut review = plan_input();
    review.goals.push("Cook with friends".into());
    run(&mut case, &Command::ReviewPlan(review), &policy).unwrap();
    let plan = case.plan.as_ref().unwrap();
    assert_eq!((plan.reviews, plan.goal_count), (1, 2));
    assert_eq!(plan.review_date, date!(2025 - 06 - 01));
}

#[test]
fn the_fold_follows_the_referral_withdrawal_and_then_only_safeguarding_is_accepted() {
    let id = Uuid::from_u128(7);
    let mut case = case_in(Engaged);
    let withdrawn = Event::Referral(linkway_events::ReferralEvent::Withdrawn(
        ReferralWithdrawn {
            referral_id: id,
            reason: "moved".into(),
        },
    ));
    case.apply(200, AT, &withdrawn);
    assert_eq!(case.state, Withdrawn);
    assert!(!case.state.is_open());
    assert_eq!(case.last_sequence, 200);
    assert_eq!(
        case.last_case_sequence, 0,
        "a referral event is not a case event"
    );
    for command in commands() {
        let allowed = matches!(command, Command::RaiseSafeguarding { .. });
        assert_eq!(
            decide(&case, &command, &Policy::default()).is_ok(),
            allowed,
            "{}",
            command.name()
        );
    }
}

#[test]
fn routing_moves_a_received_referral_to_the_services_caseload() {
    let id = Uuid::from_u128(8);
    let mut case = Case::new(id);
    assert_eq!(case.state, Received);
    let routed = Event::Referral(linkway_events::ReferralEvent::Routed(ReferralRouted {
        referral_id: id,
        link_worker_organisation_id: "south".into(),
        rule_id: None,
    }));
    case.apply(3, AT, &routed);
    assert_eq!(case.state, Routed);
    assert_eq!(case.organisation_id.as_deref(), Some("south"));
}

#[test]
fn a_correction_replaces_the_persons_details_and_moves_district_and_age_band() {
    use linkway_events::referral::{
        Address, ContactMethod, Person, ReferralPersonCorrected, ReferralPersonal,
    };
    let id = Uuid::from_u128(7);
    let mut case = case_in(Engaged);
    let personal = ReferralPersonal {
        person: Person {
            nhs_number: None,
            nhs_number_verification: None,
            given_name: "Robyn".into(),
            family_name: "Corrected".into(),
            // 64 on the day received (2025-03-04), 65 only from its birthday that May.
            birth_date: date!(1960 - 05 - 17),
            address: Address {
                lines: vec!["16 Imaginary Row".into()],
                postcode: "M1 1AE".into(),
            },
            phone: None,
            email: None,
            preferred_contact_method: ContactMethod::Letter,
            language: None,
            interpreter_needed: false,
            accessibility_needs: None,
            gender: None,
            ethnicity: None,
        },
        needs_text: None,
        notes: Some("Mornings".into()),
    };
    let corrected = Event::from(ReferralPersonCorrected {
        referral_id: id,
        personal: Some(personal.clone()),
    });
    case.postcode_district = Some("LS6".into());
    case.age_band = Some("25-34".into());
    let before = case.clone();
    // Corrected a year after it was received: the band is still the age on that day.
    case.apply(300, AT + time::Duration::days(365), &corrected);
    assert_eq!(case.personal, Some(personal));
    assert_eq!(
        (case.postcode_district.as_deref(), case.age_band.as_deref()),
        (Some("M1"), Some("55-64"))
    );
    assert_eq!(case.state, Engaged);
    assert_eq!((case.last_sequence, case.last_case_sequence), (300, 0));
    assert_eq!(case.plan, before.plan, "the plan is the case's own");
    assert_eq!(
        case.history.last().map(|h| h.event_type.as_str()),
        Some("referral.person_corrected")
    );
    // Withheld (erased, or no key): nothing to work them out from, so they stay.
    let withheld = Event::from(ReferralPersonCorrected {
        referral_id: id,
        personal: None,
    });
    case.apply(301, AT, &withheld);
    assert_eq!(
        (case.postcode_district.as_deref(), case.age_band.as_deref()),
        (Some("M1"), Some("55-64"))
    );
}

#[test]
fn safeguarding_concerns_flag_the_case() {
    let mut case = case_in(Assigned);
    assert!(!case.safeguarding());
    run(
        &mut case,
        &Command::RaiseSafeguarding {
            concern: "Disclosed a risk".into(),
        },
        &Policy::default(),
    )
    .unwrap();
    assert!(case.safeguarding());
    assert_eq!(case.state, Assigned);
}

#[test]
fn a_case_survives_its_json_round_trip_unchanged() {
    let case = case_in(PlanAgreed);
    let json = serde_json::to_value(&case).unwrap();
    let back: Case = serde_json::from_value(json).unwrap();
    assert_eq!(back, case);
}

#[test]
fn states_parse_from_their_names() {
    for state in CaseState::ALL {
        assert_eq!(CaseState::parse(state.as_str()), Some(state));
        assert_eq!(serde_json::to_value(state).unwrap(), state.as_str());
    }
    assert_eq!(CaseState::parse("nope"), None);
}

mod journeys {
    use super::*;
    use proptest::prelude::*;

    fn arb_command() -> impl Strategy<Value = Command> {
        let connection = (0u128..3).prop_map(|n| Uuid::from_u128(1000 + n));
        let channel = proptest::sample::select(vec![ContactChannel::Phone, ContactChannel::Video]);
        prop_oneof![
            Just(Command::Accept),
            Just(Command::Decline {
                reason: DeclineReason::OutOfArea
            }),
            proptest::sample::select(vec!["lw-1", "lw-2"]).prop_map(|w| Command::Assign {
                link_worker_id: w.into()
            }),
            (channel, any::<bool>(), 1u32..90).prop_map(|(channel, made, minutes)| {
                Command::RecordContact {
                    kind: if made {
                        ContactKind::Made
                    } else {
                        ContactKind::Attempt
                    },
                    channel,
                    outcome: ContactOutcome::NotRecorded,
                    minutes: if made { minutes } else { 0 },
                    notes: None,
                }
            }),
            Just(Command::AgreePlan(plan_input())),
            Just(Command::ReviewPlan(plan_input())),
            (
                connection.clone(),
                proptest::sample::select(vec!["active", "inactive"])
            )
                .prop_map(|(id, status)| {
                    Command::ConnectService {
                        connection_id: id,
                        service: ServiceRef {
                            id: format!("{status}-{id}"),
                            name: "A service".into(),
                            status: status.into(),
                            kind: None,
                            withdrawn: false,
                        },
                        legal_basis: LegalBasis::PublicTaskHealthCare,
                        shared: vec![SharedDetail::Name],
                    }
                }),
            (
                connection,
                proptest::sample::select(vec![
                    ConnectionResponse::Accepted,
                    ConnectionResponse::Declined,
                    ConnectionResponse::Attended
                ])
            )
                .prop_map(|(connection_id, response)| {
                    Command::RecordConnectionResponse {
                        connection_id,
                        response,
                        decline_reason: ConnectionDeclineReason::Other,
                    }
                }),
            Just(Command::RecordOutcome(
                outcomes::score(Instrument::Swemwbs, Timepoint::Review, &[3; 7]).unwrap()
            )),
            Just(Command::RaiseSafeguarding {
                concern: "x".into()
            }),
            proptest::sample::select(vec![
                ClosureReason::GoalsMet,
                ClosureReason::CouldNotContact
            ])
            .prop_map(|reason| Command::Close { reason }),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        /// Whatever link workers try, in whatever order, the events the case accepts tell a
        /// coherent story, and folding them again from scratch gives the same case.
        #[test]
        fn any_sequence_of_commands_keeps_the_journey_coherent(commands in proptest::collection::vec(arb_command(), 1..60)) {
            let policy = Policy::default();
            let mut case = case_in(Routed);
            let start = case.clone();
            let mut log: Vec<CaseEvent> = Vec::new();
            for command in &commands {
                let before = case.clone();
                match decide(&case, command, &policy) {
                    Ok(events) => {
                        for e in events {
                            let seq = case.last_case_sequence + 1;
                            case.apply(seq, AT, &Event::Case(e.clone()));
                            log.push(e);
                        }
                    }
                    Err(_) => prop_assert_eq!(&case, &before),
                }
            }
            let names: Vec<&str> = log.iter().map(CaseEvent::type_name).collect();
            let count = |t: &str| names.iter().filter(|n| **n == t).count();
            prop_assert!(count("case.accepted") + count("case.declined") <= 1);
            prop_assert!(count("case.closed") <= 1);
            prop_assert!(count("case.plan_agreed") <= 1);
            if let Some(first) = names.iter().find(|n| **n != "case.safeguarding_raised") {
                prop_assert!(*first == "case.accepted" || *first == "case.declined", "{names:?}");
            }
            // Nothing but safeguarding after the end.
            if let Some(end) = names.iter().position(|n| *n == "case.closed" || *n == "case.declined") {
                prop_assert!(names[end + 1..].iter().all(|n| *n == "case.safeguarding_raised"), "{names:?}");
            }
            // Plans, outcomes and connections only once the person was reached.
            let first_contact = names.iter().position(|n| *n == "case.contact_made").unwrap_or(usize::MAX);
            for (i, n) in names.iter().enumerate() {
                if matches!(*n, "case.plan_agreed" | "case.outcome_recorded" | "case.connection_made") {
                    prop_assert!(i > first_contact, "{n} before contact: {names:?}");
                }
            }
            // Every answer names a connection made earlier; nothing goes to an inactive service.
            let mut made = Vec::new();
            for e in &log {
                match e {
                    CaseEvent::ConnectionMade(c) => {
                        prop_assert!(c.service_id.starts_with("active-"), "{}", c.service_id);
                        made.push(c.connection_id);
                    }
                    CaseEvent::ConnectionAccepted(c) => prop_assert!(made.contains(&c.connection_id)),
                    CaseEvent::ConnectionDeclined(c) => prop_assert!(made.contains(&c.connection_id)),
                    CaseEvent::ConnectionAttended(c) => prop_assert!(made.contains(&c.connection_id)),
                    _ => {}
                }
            }
            // Replaying the log from the start gives the same case.
            let mut replayed = start;
            for (i, e) in log.iter().enumerate() {
                replayed.apply(i as u64 + 1, AT, &Event::Case(e.clone()));
            }
            prop_assert_eq!(replayed, case);
        }
    }
}

#[test]
fn policy_settings_have_defaults_and_refuse_nonsense() {
    let none = |_: &str| None;
    assert_eq!(Policy::from_lookup(none), Ok(Policy::default()));
    assert_eq!(Policy::default().max_contact_attempts, 3);
    assert_eq!(Policy::default().connection_answer_days, 14);
    let set = |attempts: &'static str, days: &'static str| {
        move |name: &str| match name {
            "LINKWAY_MAX_CONTACT_ATTEMPTS" => Some(attempts.to_owned()),
            "LINKWAY_CONNECTION_ANSWER_DAYS" => Some(days.to_owned()),
            _ => None,
        }
    };
    assert_eq!(
        Policy::from_lookup(set("5", " 21 ")),
        Ok(Policy {
            max_contact_attempts: 5,
            connection_answer_days: 21,
            connection_reminder_days: 7,
        })
    );
    for (attempts, days, bad) in [
        ("0", "14", "LINKWAY_MAX_CONTACT_ATTEMPTS"),
        ("three", "14", "LINKWAY_MAX_CONTACT_ATTEMPTS"),
        ("3", "-1", "LINKWAY_CONNECTION_ANSWER_DAYS"),
        ("3", "366", "LINKWAY_CONNECTION_ANSWER_DAYS"),
    ] {
        assert_eq!(
            Policy::from_lookup(set(attempts, days)).unwrap_err().name,
            bad
        );
    }
}
