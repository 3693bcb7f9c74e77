//! The timers' rules: due and not due, once only, never a reminder once the decline is
//! due, an answer in time leaves nothing to do, through [`decide`] as the timer runs them.

use super::*;
use crate::case::{CaseState, Command, ConnectionResponse, decide};
use linkway_events::Event;
use linkway_events::case::{ConnectionMade, SharedDetail};
use linkway_events::referral::LegalBasis;
use time::macros::datetime;

const MADE: OffsetDateTime = datetime!(2026-03-02 09:00 UTC);
const CONNECTION: Uuid = Uuid::from_u128(0x0195a1c2_7e10_7d3a_9f4b_2c1d0e9f8a7b);

/// A case with a plan agreed and one connection made at [`MADE`], pending.
fn case() -> Case {
    let mut case = Case::new(Uuid::from_u128(7));
    case.received_at = Some(MADE);
    case.organisation_id = Some("north".into());
    case.state = CaseState::PlanAgreed;
    case.apply(
        1,
        MADE,
        &Event::Case(CaseEvent::ConnectionMade(ConnectionMade {
            referral_id: case.referral_id,
            connection_id: CONNECTION,
            service_id: "choir".into(),
            service_name: "Community choir".into(),
            service_kind: None,
            legal_basis: Some(LegalBasis::ExplicitConsent),
            shared: vec![SharedDetail::Name],
        })),
    );
    case
}

fn remind(at: OffsetDateTime) -> Command {
    Command::RemindService {
        connection_id: CONNECTION,
        now: at,
    }
}

fn decline(at: OffsetDateTime) -> Command {
    Command::DeclineUnanswered {
        connection_id: CONNECTION,
        now: at,
    }
}

/// Decides `command` and folds its event in (as the command path would), or the rule.
fn run(case: &mut Case, command: &Command, at: OffsetDateTime) -> Result<CaseEvent, &'static str> {
    let events = decide(case, command, &Policy::default()).map_err(|r| {
        assert!(
            is_not_due(&r),
            "a timer's refusal means not due: {}",
            r.rule
        );
        r.rule
    })?;
    assert_eq!(events.len(), 1);
    let seq = case.last_sequence + 1;
    case.apply(seq, at, &Event::Case(events[0].clone()));
    Ok(events[0].clone())
}

/// What is due for the case's connection at `at` under the default policy.
fn due_at(case: &Case, at: OffsetDateTime) -> Option<Due> {
    due(&case.connections[0], at, &Policy::default())
}

fn days(n: i64) -> Duration {
    Duration::days(n)
}

#[test]
fn nothing_is_due_before_seven_days() {
    let mut case = case();
    let at = MADE + days(7) - Duration::seconds(1);
    assert_eq!(due_at(&case, at), None);
    assert_eq!(run(&mut case, &remind(at), at), Err("reminder_not_due"));
    assert_eq!(run(&mut case, &decline(at), at), Err("decline_not_due"));
}

#[test]
fn the_reminder_is_due_at_seven_days_and_sent_once() {
    let mut case = case();
    let at = MADE + days(7);
    assert_eq!(due_at(&case, at), Some(Due::Remind));
    let event = run(&mut case, &remind(at), at).unwrap();
    assert!(matches!(event, CaseEvent::ConnectionReminded(r) if r.connection_id == CONNECTION));
    assert_eq!(case.connections[0].reminded_at, Some(at));
    assert_eq!(case.connections[0].status, ConnectionStatus::Pending);
    // Once only: a second look, a day later, finds nothing to do.
    let later = at + days(1);
    nothing_due(
        &mut case,
        later,
        ["connection_already_reminded", "decline_not_due"],
    );
}

/// Nothing is due at `now`: the pure check says so, and both commands are refused with
/// `rules` (remind's, decline's).
fn nothing_due(case: &mut Case, now: OffsetDateTime, rules: [&str; 2]) {
    assert_eq!(due_at(case, now), None);
    let refused = [remind(now), decline(now)].map(|c| run(case, &c, now).unwrap_err());
    assert_eq!(refused, rules, "at {now}");
}

#[test]
fn the_decline_is_due_at_fourteen_days_as_no_answer_in_time_and_happens_once() {
    let mut case = case();
    run(&mut case, &remind(MADE + days(8)), MADE + days(8)).unwrap();
    let at = MADE + days(14);
    assert_eq!(due_at(&case, at), Some(Due::Decline));
    let event = run(&mut case, &decline(at), at).unwrap();
    let CaseEvent::ConnectionDeclined(d) = event else {
        panic!("not a decline: {event:?}")
    };
    assert_eq!(d.reason, ConnectionDeclineReason::NoAnswerInTime);
    assert_eq!(case.connections[0].status, ConnectionStatus::Declined);
    assert!(declined_automatically(&case.connections[0]));
    assert_eq!(due_at(&case, at), None);
    assert_eq!(
        run(&mut case, &decline(at + days(1)), at + days(1)),
        Err("connection_already_answered")
    );
}

#[test]
fn no_reminder_once_the_decline_is_due() {
    // Every process was stopped from day 6 to day 15: the first look declines, and no
    // reminder follows (or precedes) it.
    let mut case = case();
    let at = MADE + days(15);
    assert_eq!(due_at(&case, at), Some(Due::Decline));
    assert_eq!(
        run(&mut case, &remind(at), at),
        Err("reminder_overtaken_by_decline")
    );
    run(&mut case, &decline(at), at).unwrap();
    assert_eq!(
        run(&mut case, &remind(at), at),
        Err("connection_already_answered")
    );
    assert_eq!(case.connections[0].reminded_at, None);
}

#[test]
fn a_connection_answered_in_time_is_neither_reminded_nor_declined() {
    for response in [
        ConnectionResponse::Accepted,
        ConnectionResponse::Declined,
        ConnectionResponse::Attended,
    ] {
        let mut case = case();
        let answer = Command::RecordConnectionResponse {
            connection_id: CONNECTION,
            response,
            decline_reason: ConnectionDeclineReason::NoCapacity,
        };
        let at = MADE + days(3);
        // The fold's state for a response needs an engaged case: PlanAgreed is.
        run_answer(&mut case, &answer, at);
        for later in [days(7), days(14), days(30)] {
            let answered = "connection_already_answered";
            nothing_due(&mut case, MADE + later, [answered, answered]);
        }
        assert!(!declined_automatically(&case.connections[0]));
    }
}

fn run_answer(case: &mut Case, command: &Command, at: OffsetDateTime) {
    let events = decide(case, command, &Policy::default()).expect("answered");
    let seq = case.last_sequence + 1;
    case.apply(seq, at, &Event::Case(events[0].clone()));
}

#[test]
fn the_days_follow_the_policy() {
    let policy = Policy {
        connection_reminder_days: 2,
        connection_answer_days: 5,
        ..Policy::default()
    };
    let c = &case().connections[0];
    assert_eq!(due(c, MADE + days(1), &policy), None);
    assert_eq!(due(c, MADE + days(2), &policy), Some(Due::Remind));
    assert_eq!(due(c, MADE + days(5), &policy), Some(Due::Decline));
    // A reminder at or after the answer window is never sent.
    let late = Policy {
        connection_reminder_days: 14,
        connection_answer_days: 14,
        ..Policy::default()
    };
    assert_eq!(due(c, MADE + days(14), &late), Some(Due::Decline));
    assert_eq!(due(c, MADE + days(13), &late), None);
}

#[test]
fn an_ended_or_erased_case_leaves_its_connections_alone() {
    let at = MADE + days(20);
    for state in [CaseState::Closed, CaseState::Withdrawn] {
        let mut case = case();
        case.state = state;
        assert_eq!(run(&mut case, &decline(at), at), Err("case_ended"));
        assert_eq!(run(&mut case, &remind(at), at), Err("case_ended"));
    }
    let mut case = case();
    case.erased = true;
    assert_eq!(run(&mut case, &decline(at), at), Err("person_erased"));
    assert_eq!(
        run(
            &mut case,
            &Command::DeclineUnanswered {
                connection_id: Uuid::from_u128(1),
                now: at
            },
            at
        ),
        Err("person_erased")
    );
    let mut case = self::case();
    assert_eq!(
        run(
            &mut case,
            &Command::DeclineUnanswered {
                connection_id: Uuid::from_u128(1),
                now: at
            },
            at
        ),
        Err("connection_unknown")
    );
}
