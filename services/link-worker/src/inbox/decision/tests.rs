//! The inbox's rules, pure: who answers for a connection, which answers are legal in
//! which status, the service's own decline reasons, and the shared details (only those
//! the link worker chose, none once erased).

use linkway_events::case::{PlanPersonal, SharedDetail};
use linkway_events::common::Coding;
use linkway_events::referral::{Address, ContactMethod, LegalBasis, Person, ReferralPersonal};
use time::OffsetDateTime;
use time::macros::{date, datetime};

use super::*;
use crate::case::{Connection, Plan};
use crate::inbox::item::{items_of, shared_details};

const CONNECTION: Uuid = Uuid::from_u128(0x0195a1c2_7e10_7d3a_9f4b_2c1d0e9f8a7b);
const AT: OffsetDateTime = datetime!(2025-03-04 10:00 UTC);

fn person() -> ReferralPersonal {
    ReferralPersonal {
        person: Person {
            nhs_number: Some("9434765919".into()),
            nhs_number_verification: None,
            given_name: "Ada".into(),
            family_name: "Lovelace".into(),
            birth_date: date!(1950 - 12 - 10),
            address: Address {
                lines: vec!["1 Mill Lane".into()],
                postcode: "LS6 1AA".into(),
            },
            phone: Some("07700 900123".into()),
            email: Some("ada@example.org".into()),
            preferred_contact_method: ContactMethod::Phone,
            language: None,
            interpreter_needed: false,
            accessibility_needs: None,
            gender: None,
            ethnicity: None,
        },
        needs_text: Some("Lonely since moving".into()),
        notes: Some("Never share this".into()),
    }
}

/// A case with a plan and one connection to `choir`, `status`, sharing `shared`.
fn case(status: ConnectionStatus, shared: Vec<SharedDetail>) -> Case {
    let mut case = Case::new(Uuid::from_u128(7));
    case.state = CaseState::PlanAgreed;
    case.received_at = Some(AT);
    case.organisation_id = Some("north".into());
    case.personal = Some(person());
    case.needs = vec![Coding::snomed("1", "Social isolation")];
    case.plan = Some(Plan {
        review_date: date!(2025 - 05 - 01),
        goal_count: 1,
        agreed_at: AT,
        reviews: 0,
        personal: Some(PlanPersonal {
            what_matters: "People to talk to".into(),
            goals: vec!["Join the choir".into()],
            actions: vec!["Never shared either".into()],
        }),
    });
    case.connections.push(Connection {
        connection_id: CONNECTION,
        service_id: "choir".into(),
        service_name: "Community choir".into(),
        status,
        legal_basis: Some(LegalBasis::ExplicitConsent),
        shared,
        made_at: AT,
        answered_at: None,
        reminded_at: None,
        decline_reason: None,
    });
    case.last_case_sequence = 12;
    case
}

fn pending() -> Case {
    case(ConnectionStatus::Pending, vec![SharedDetail::Name])
}

#[test]
fn only_an_organisation_answering_for_the_service_sees_the_connection() {
    let c = pending();
    assert!(answers_for(&c, CONNECTION, &["choir".into()]));
    assert!(answers_for(
        &c,
        CONNECTION,
        &["other".into(), "choir".into()]
    ));
    assert!(!answers_for(&c, CONNECTION, &["walking".into()]));
    assert!(!answers_for(&c, CONNECTION, &[]));
    assert!(!answers_for(&c, Uuid::from_u128(1), &["choir".into()]));
    assert!(!answers_for(
        &Case::new(Uuid::from_u128(7)),
        CONNECTION,
        &["choir".into()]
    ));
    let decision = InboxDecision {
        referral_id: c.referral_id,
        connection_id: CONNECTION,
        answer: Answer::Accept,
        services: &["walking".into()],
    };
    let principal = Principal {
        token_id: Uuid::nil(),
        organisation_id: "walk".into(),
        role: linkway_events::Role::CommunityService,
        user_id: None,
    };
    assert!(matches!(
        decision.authorise(&principal, &c),
        Err(ApiError::NotFound)
    ));
}

#[test]
fn each_answer_is_legal_only_in_its_statuses() {
    use ConnectionStatus::*;
    let decline = Answer::Decline(ConnectionDeclineReason::NoCapacity);
    for (status, answer, legal) in [
        (Pending, Answer::Accept, true),
        (Pending, decline, true),
        (Pending, Answer::Attended, true),
        (Accepted, Answer::Accept, false),
        (Accepted, decline, false),
        (Accepted, Answer::Attended, true),
        (Declined, Answer::Accept, false),
        (Declined, decline, false),
        (Declined, Answer::Attended, false),
        (Attended, Answer::Accept, false),
        (Attended, decline, false),
        (Attended, Answer::Attended, false),
    ] {
        let got = decide(&case(status, vec![]), CONNECTION, answer);
        match (legal, got) {
            (true, Ok(_)) => {}
            (false, Err(r)) => assert_eq!(r.rule, "connection_already_answered"),
            (legal, got) => panic!("{status:?} {answer:?}: legal {legal}, got {got:?}"),
        }
    }
}

#[test]
fn answers_are_the_existing_connection_events_and_a_decline_carries_its_reason() {
    let c = pending();
    let referral_id = c.referral_id;
    assert_eq!(
        decide(&c, CONNECTION, Answer::Accept),
        Ok(CaseEvent::ConnectionAccepted(ConnectionAccepted {
            referral_id,
            connection_id: CONNECTION
        }))
    );
    assert_eq!(
        decide(&c, CONNECTION, Answer::Attended),
        Ok(CaseEvent::ConnectionAttended(ConnectionAttended {
            referral_id,
            connection_id: CONNECTION
        }))
    );
    for reason in SERVICE_REASONS {
        assert_eq!(
            decide(&c, CONNECTION, Answer::Decline(reason)),
            Ok(CaseEvent::ConnectionDeclined(ConnectionDeclined {
                referral_id,
                connection_id: CONNECTION,
                reason
            }))
        );
    }
}

#[test]
fn linkways_own_decline_reasons_are_not_a_services() {
    for reason in [
        ConnectionDeclineReason::NoAnswerInTime,
        ConnectionDeclineReason::NotRecorded,
    ] {
        let refused = decide(&pending(), CONNECTION, Answer::Decline(reason)).unwrap_err();
        assert_eq!(
            (refused.field, refused.rule),
            ("reason", "service_decline_reason")
        );
    }
    let decision = InboxDecision {
        referral_id: Uuid::from_u128(7),
        connection_id: CONNECTION,
        answer: Answer::Decline(ConnectionDeclineReason::NoAnswerInTime),
        services: &["choir".into()],
    };
    assert!(matches!(
        decision.decide(&pending()),
        Err(ApiError::Validation(e)) if e[0].field == "reason"
    ));
}

#[test]
fn a_withdrawn_referral_or_an_erased_person_takes_no_answer() {
    let mut withdrawn = pending();
    withdrawn.state = CaseState::Withdrawn;
    assert_eq!(
        decide(&withdrawn, CONNECTION, Answer::Accept)
            .unwrap_err()
            .rule,
        "referral_withdrawn"
    );
    let mut erased = pending();
    erased.erased = true;
    assert_eq!(
        decide(&erased, CONNECTION, Answer::Attended)
            .unwrap_err()
            .rule,
        "person_erased"
    );
    // A closed case's connection may still be answered: the service took the person on.
    let mut closed = pending();
    closed.state = CaseState::Closed;
    assert!(decide(&closed, CONNECTION, Answer::Accept).is_ok());
}

#[test]
fn only_the_details_shared_are_shown_and_none_once_erased() {
    let nothing = shared_details(
        &pending(),
        &case(ConnectionStatus::Pending, vec![]).connections[0],
    );
    assert!(nothing.is_empty());
    let name_only = items_of(&pending()).remove(0);
    assert_eq!(name_only.details.name.as_deref(), Some("Ada Lovelace"));
    assert_eq!(
        (
            name_only.details.phone.as_ref(),
            name_only.details.email.as_ref()
        ),
        (None, None)
    );
    assert!(name_only.details.address.is_empty() && name_only.details.needs.is_empty());
    let all = case(
        ConnectionStatus::Pending,
        vec![
            SharedDetail::Name,
            SharedDetail::Phone,
            SharedDetail::Email,
            SharedDetail::Address,
            SharedDetail::Needs,
            SharedDetail::Plan,
        ],
    );
    let item = items_of(&all).remove(0);
    let d = &item.details;
    assert_eq!(d.phone.as_deref(), Some("07700 900123"));
    assert_eq!(d.email.as_deref(), Some("ada@example.org"));
    assert_eq!(d.address, vec!["1 Mill Lane", "LS6 1AA"]);
    assert_eq!(d.needs, vec!["Social isolation"]);
    assert_eq!(d.needs_text.as_deref(), Some("Lonely since moving"));
    assert_eq!(d.what_matters.as_deref(), Some("People to talk to"));
    assert_eq!(d.goals, vec!["Join the choir"]);
    let text = serde_json::to_string(&item).unwrap();
    for never in [
        "9434765919",
        "1950",
        "Never share this",
        "Never shared either",
    ] {
        assert!(!text.contains(never), "{never} is not shared");
    }
    assert_eq!((item.version, item.ended), (12, false));
    let mut erased = all.clone();
    erased.erased = true;
    let item = items_of(&erased).remove(0);
    assert!(item.details.is_empty() && item.ended);
}
