//! The platform's one command path as link-worker commands use it: a change to the
//! referral between a decision's load and its append is detected, and a retry whose
//! answer was lost gets the original answer. Real nats-server and PostgreSQL.

use std::sync::Mutex;

use linkway_events::case::{ClosureReason, ContactChannel, ContactOutcome, DeclineReason};
use linkway_link_worker::case::{CaseState, Command, ContactKind, PlanInput, Policy};
use linkway_link_worker::commands::CaseDecision;
use linkway_platform::ApiError;
use linkway_platform::auth::Principal;
use linkway_platform::command::{self, Call, Decision, Executed, Recorded};
use linkway_platform::idempotency::IdempotencyKey;
use proptest::prelude::*;

use super::*;

fn link_worker() -> Principal {
    Principal {
        token_id: Uuid::now_v7(),
        organisation_id: NORTH.into(),
        role: Role::LinkWorker,
        user_id: Some("lw-1".into()),
    }
}

fn policy() -> Policy {
    Policy::from_lookup(|_| None).expect("default policy")
}

/// A step of a case's journey, at the platform level (inputs already validated).
fn step(n: usize) -> Command {
    match n {
        0 => Command::Accept,
        1 => Command::Assign {
            link_worker_id: "lw-1".into(),
        },
        2 => Command::RecordContact {
            kind: ContactKind::Made,
            channel: ContactChannel::Phone,
            outcome: ContactOutcome::NotRecorded,
            minutes: 20,
            notes: None,
        },
        3 => Command::AgreePlan(PlanInput {
            review_date: OffsetDateTime::now_utc().date() + time::Duration::days(28),
            what_matters: "getting out more".into(),
            goals: vec!["join a walking group".into()],
            actions: vec!["call the group leader".into()],
        }),
        4 => Command::RaiseSafeguarding {
            concern: "lives alone, recent fall".into(),
        },
        5 => Command::Close {
            reason: ClosureReason::GoalsMet,
        },
        _ => Command::Decline {
            reason: DeclineReason::NotAppropriate,
        },
    }
}

/// A decision that lets another writer act between its load and its append, once: the
/// hook runs inside `decide`, which the command path calls after loading and folding.
struct Interleaved<'a, D> {
    inner: D,
    hook: Mutex<Option<Hook<'a>>>,
}

/// What another writer does between a decision's load and its append.
type Hook<'a> = std::pin::Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

impl<D: Decision> Decision for Interleaved<'_, D> {
    type State = D::State;
    type Answer = D::Answer;

    fn fold(&self, history: &[Recorded]) -> D::State {
        self.inner.fold(history)
    }
    fn authorise(&self, p: &Principal, s: &D::State) -> Result<(), ApiError> {
        self.inner.authorise(p, s)
    }
    fn version(&self, s: &D::State) -> u64 {
        self.inner.version(s)
    }
    fn decide(&self, s: &D::State) -> Result<Vec<Event>, ApiError> {
        if let Some(hook) = self.hook.lock().unwrap().take() {
            tokio::task::block_in_place(|| tokio::runtime::Handle::current().block_on(hook));
        }
        self.inner.decide(s)
    }
    fn answer(&self, after: &D::State, events: &[Recorded]) -> D::Answer {
        self.inner.answer(after, events)
    }
}

async fn run<D: Decision>(
    s: &Service,
    id: Uuid,
    operation: &'static str,
    key: Option<&str>,
    decision: &D,
) -> Result<Executed<D::Answer>, ApiError> {
    let principal = link_worker();
    let call = Call {
        operation,
        principal: &principal,
        aggregate_id: id.to_string(),
        key: key.map(|k| IdempotencyKey {
            organisation_id: NORTH.into(),
            key: k.into(),
        }),
        body: operation.as_bytes(),
        if_match: None,
        correlation_id: Uuid::now_v7(),
        success: reqwest::StatusCode::OK,
    };
    command::execute(&s.store, &call, decision).await
}

/// Every event type of the aggregate (referral and case subjects), in log order.
async fn history(s: &Service, id: Uuid) -> Vec<String> {
    s.store
        .load_aggregate(&id.to_string())
        .await
        .expect("load")
        .iter()
        .map(|e| e.event.decode().expect("decode").0.event_type)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_withdrawal_landing_between_an_accepts_load_and_its_append_is_seen_and_the_accept_refused()
 {
    let s = Service::start().await;
    let (id, _) = s.refer(NORTH, "Ada").await;
    let policy = policy();
    let decision = Interleaved {
        inner: CaseDecision {
            id,
            command: Command::Accept,
            policy: &policy,
            refused: Vec::new(),
        },
        hook: Mutex::new(Some(Box::pin(async {
            s.withdraw(id).await;
        }))),
    };
    let result = run(&s, id, "acceptReferral", Some("accept-1"), &decision).await;
    match result {
        Err(ApiError::Refused(e)) => assert_eq!(e.field, "state", "{e:?}"),
        other => panic!("the accept must be re-decided on the withdrawn referral: {other:?}"),
    }
    assert_eq!(
        history(&s, id).await,
        ["referral.received", "referral.routed", "referral.withdrawn"]
    );
}

/// Random journeys, with a withdrawal injected between the load and the append of a
/// random one of their commands (or after all of them): a case is never left active on a
/// withdrawn referral, and every command either happened before the withdrawal or was
/// refused (a safeguarding concern aside, which may be raised at any time). Seeded, so
/// every run tries the same cases.
#[test]
fn random_interleavings_of_a_withdrawal_with_case_commands_never_leave_an_active_case() {
    let (runtime, mut runner) = seeded(24);
    let s = runtime.block_on(Service::start());
    let journey = (prop::collection::vec(0usize..7, 1..7), 0usize..8);
    runner
        .run(&journey, |(steps, at)| {
            runtime.block_on(async {
                let (id, _) = s.refer(NORTH, "Bea").await;
                let policy = policy();
                let at = at.min(steps.len());
                for (i, n) in steps.iter().enumerate() {
                    let command = step(*n);
                    let operation = command.name();
                    let hook: Option<Hook<'_>> = (i == at).then(|| {
                        Box::pin(async {
                            s.withdraw(id).await;
                        }) as _
                    });
                    let decision = Interleaved {
                        inner: CaseDecision {
                            id,
                            command,
                            policy: &policy,
                            refused: Vec::new(),
                        },
                        hook: Mutex::new(hook),
                    };
                    let key = format!("{id}-{i}");
                    match run(&s, id, operation, Some(&key), &decision).await {
                        Ok(_) | Err(ApiError::Refused(_)) => {}
                        Err(other) => panic!("{operation}: {other:?}"),
                    }
                }
                if at == steps.len() {
                    s.withdraw(id).await;
                }
                let types = history(&s, id).await;
                let withdrawn = types
                    .iter()
                    .position(|t| t == "referral.withdrawn")
                    .expect("withdrawn");
                let after: Vec<&String> = types[withdrawn + 1..].iter().collect();
                // A safeguarding concern may still be raised on a withdrawn referral.
                prop_assert!(
                    after
                        .iter()
                        .all(|t| !t.starts_with("case.") || *t == "case.safeguarding_raised"),
                    "case work appended after the withdrawal: {types:?}"
                );
                let case = linkway_link_worker::api::load_case(&s.store, id)
                    .await
                    .unwrap();
                prop_assert!(
                    !matches!(
                        case.state,
                        CaseState::Accepted
                            | CaseState::Assigned
                            | CaseState::Engaged
                            | CaseState::PlanAgreed
                            | CaseState::CouldNotContact
                    ),
                    "active case on a withdrawn referral: {:?} after {types:?}",
                    case.state
                );
                Ok(())
            })
        })
        .unwrap();
}

/// The answer of each command family is lost after its append: the retry with the same
/// key gets the original answer, from the log alone, and appends nothing.
#[tokio::test]
async fn a_retry_whose_answer_was_lost_gets_the_original_answer_and_appends_nothing() {
    let s = Service::start().await;
    let (id, _) = s.refer(NORTH, "Cy").await;
    let policy = policy();
    for n in 0..6 {
        let command = step(n);
        let operation = command.name();
        let key = format!("lost-{id}-{n}");
        let decision = CaseDecision {
            id,
            command,
            policy: &policy,
            refused: Vec::new(),
        };
        let first = run(&s, id, operation, Some(&key), &decision)
            .await
            .unwrap_or_else(|e| panic!("{operation}: {e:?}"));
        let before = history(&s, id).await;
        let retry = run(&s, id, operation, Some(&key), &decision)
            .await
            .unwrap_or_else(|e| panic!("{operation} retried: {e:?}"));
        assert!(retry.replayed, "{operation}");
        assert_eq!(
            serde_json::to_value(&retry.answer).unwrap(),
            serde_json::to_value(&first.answer).unwrap(),
            "{operation}"
        );
        assert_eq!(history(&s, id).await, before, "{operation} appended again");
    }
}
