//! A synthetic population of referral journeys, the events that tell them, and the figures
//! a commissioner should see, computed here independently of the service's code.

use linkway_events::case::*;
use linkway_events::referral::{ReferralEnteredInError, ReferralEvent, ReferralRouted};
use time::{Date, Duration};
use uuid::Uuid;

use crate::support::{NewReferral, World};

// The figures a commissioner should see, computed independently (`expected.rs`).
pub use crate::expected::*;

/// Deterministic pseudo-random numbers (xorshift), so a failing run can be replayed.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Decision {
    Accept,
    Decline(DeclineReason),
}

/// One referral's journey, as the test means it to happen.
#[derive(Debug, Clone)]
pub struct Plan {
    pub referrer: &'static str,
    pub referrer_kind: &'static str,
    pub needs: Vec<&'static str>,
    pub on: Date,
    pub routed_to: Option<&'static str>,
    pub decision: Option<Decision>,
    pub attempts: u32,
    /// Days after referral of the first contact made, then further contacts.
    pub first_contact_after: Option<i64>,
    pub contacts: u32,
    pub plan_agreed: bool,
    /// Onward connections: (accepted, attended).
    pub connections: Vec<(bool, bool)>,
    /// The service gave up after its attempts (no contact made).
    pub gave_up: bool,
    pub swemwbs: Option<(u32, u32)>,
    pub ons4: Option<([u8; 4], [u8; 4])>,
    pub ucla3: Option<([u8; 3], [u8; 3])>,
    /// MYCaW answers (one or two concerns, then wellbeing; 0-6, 0 best), baseline and later.
    pub mycaw: Option<(Vec<u8>, Vec<u8>)>,
    pub closed: Option<ClosureReason>,
    pub entered_in_error: bool,
    pub withdrawn: bool,
}

/// Real SNOMED CT concepts (intake checks their Verhoeff digit): social isolation,
/// depressive disorder, stress.
pub const NEEDS: [&str; 3] = ["422650009", "35489007", "73595000"];

/// `n` journeys in area A over January and February 2026.
pub fn population(seed: u64, n: usize) -> Vec<Plan> {
    let mut rng = Rng::new(seed);
    (0..n)
        .map(|i| {
            let (referrer, referrer_kind) = if rng.chance(70) {
                ("gp-a", "gp_practice")
            } else {
                ("council-a", "council")
            };
            let mut needs: Vec<&'static str> =
                NEEDS.iter().copied().filter(|_| rng.chance(45)).collect();
            if i % 11 == 0 {
                needs.clear();
            }
            let on = if rng.chance(55) {
                Date::from_calendar_date(2026, time::Month::January, 1 + rng.below(28) as u8)
                    .unwrap()
            } else {
                Date::from_calendar_date(2026, time::Month::February, 1 + rng.below(28) as u8)
                    .unwrap()
            };
            let routed_to = if rng.chance(92) {
                Some(if rng.chance(65) { "lw-a" } else { "lw-a2" })
            } else {
                None
            };
            let decision = routed_to.and_then(|_| {
                if rng.chance(10) {
                    None
                } else if rng.chance(72) {
                    Some(Decision::Accept)
                } else {
                    Some(Decision::Decline(
                        [
                            DeclineReason::OutOfArea,
                            DeclineReason::NotAppropriate,
                            DeclineReason::PersonDeclined,
                            DeclineReason::ReferredElsewhere,
                        ][rng.below(4) as usize],
                    ))
                }
            });
            let accepted = decision == Some(Decision::Accept);
            let attempts = if accepted { rng.below(3) as u32 } else { 0 };
            let contactable = accepted && rng.chance(80);
            let first_contact_after = contactable.then(|| rng.below(30) as i64);
            let contacts = if contactable {
                1 + rng.below(5) as u32
            } else {
                0
            };
            let plan_agreed = contactable && rng.chance(75);
            let gave_up = accepted && !contactable && rng.chance(50);
            let attempts = if gave_up { 3 } else { attempts };
            let connections = if plan_agreed {
                (0..rng.below(4))
                    .map(|_| {
                        let accepted = rng.chance(70);
                        (accepted, accepted && rng.chance(60))
                    })
                    .collect()
            } else {
                Vec::new()
            };
            let swemwbs = (plan_agreed && rng.chance(85))
                .then(|| (7 + rng.below(20) as u32, 7 + rng.below(29) as u32));
            let ons4 = (plan_agreed && rng.chance(80)).then(|| {
                let mut item = || rng.below(11) as u8;
                (
                    [item(), item(), item(), item()],
                    [item(), item(), item(), item()],
                )
            });
            let ucla3 = (plan_agreed && rng.chance(70)).then(|| {
                let mut item = || 1 + rng.below(3) as u8;
                ([item(), item(), item()], [item(), item(), item()])
            });
            // Drawn from a stream of its own, so the other measures stay as they were.
            let mut own = Rng::new(seed.wrapping_mul(1_000_003).wrapping_add(i as u64 + 1));
            own.next();
            own.next();
            let mycaw = (plan_agreed && own.chance(75)).then(|| {
                let n = 2 + own.below(2) as usize;
                let mut answers = || (0..n).map(|_| own.below(7) as u8).collect::<Vec<u8>>();
                (answers(), answers())
            });
            let closed = if accepted && !contactable && rng.chance(80) {
                Some(ClosureReason::CouldNotContact)
            } else if plan_agreed && rng.chance(60) {
                Some(
                    [
                        ClosureReason::GoalsMet,
                        ClosureReason::GoalsMet,
                        ClosureReason::Disengaged,
                        ClosureReason::MovedAway,
                    ][rng.below(4) as usize],
                )
            } else {
                None
            };
            Plan {
                referrer,
                referrer_kind,
                needs,
                on,
                routed_to,
                decision,
                attempts,
                first_contact_after,
                contacts,
                plan_agreed,
                connections,
                gave_up,
                swemwbs,
                ons4,
                ucla3,
                mycaw,
                closed,
                entered_in_error: i % 37 == 5,
                withdrawn: i % 13 == 4,
            }
        })
        .collect()
}

fn outcome(
    id: Uuid,
    instrument: &str,
    timepoint: Timepoint,
    answers: Vec<u8>,
    raw: Option<u32>,
) -> CaseEvent {
    CaseEvent::OutcomeRecorded(OutcomeRecorded {
        referral_id: id,
        instrument: instrument.into(),
        instrument_version: "1".into(),
        algorithm_version: 1,
        timepoint,
        item_answers: answers,
        raw_score: raw,
        derived_score: None,
        personal: None,
    })
}

/// SWEMWBS item answers (1-5 each) adding up to `raw`.
pub fn swemwbs_items(raw: u32) -> Vec<u8> {
    let mut left = raw - 7;
    (0..7)
        .map(|_| {
            let extra = left.min(4);
            left -= extra;
            1 + extra as u8
        })
        .collect()
}

/// Appends the events of every journey straight to the log; returns the referral ids.
pub async fn drive_by_events(w: &World, plans: &[Plan]) -> Vec<Uuid> {
    let mut ids = Vec::new();
    for p in plans {
        let id = w
            .receive(&NewReferral {
                referrer: p.referrer,
                needs: p.needs.clone(),
                on: p.on,
            })
            .await;
        ids.push(id);
        if let Some(lw) = p.routed_to {
            w.referral_event(
                id,
                ReferralEvent::Routed(ReferralRouted {
                    referral_id: id,
                    link_worker_organisation_id: lw.into(),
                    rule_id: None,
                }),
                p.on,
            )
            .await;
        }
        let lw = p.routed_to.unwrap_or("lw-a");
        match p.decision {
            Some(Decision::Accept) => {
                w.case_event(
                    id,
                    CaseEvent::Accepted(CaseAccepted {
                        referral_id: id,
                        link_worker_organisation_id: lw.into(),
                    }),
                    p.on + Duration::days(1),
                )
                .await;
            }
            Some(Decision::Decline(reason)) => {
                w.case_event(
                    id,
                    CaseEvent::Declined(CaseDeclined {
                        referral_id: id,
                        link_worker_organisation_id: lw.into(),
                        reason,
                        reason_code: None,
                    }),
                    p.on + Duration::days(1),
                )
                .await;
            }
            None => {}
        }
        for attempt in 1..=p.attempts {
            w.case_event(
                id,
                // Built from JSON: the payload gains optional fields over time.
                CaseEvent::ContactAttempted(ContactAttempted {
                    referral_id: id,
                    channel: ContactChannel::Phone,
                    outcome: ContactOutcome::NoAnswer,
                    attempt_number: attempt,
                    could_not_contact: p.gave_up && attempt == p.attempts,
                }),
                p.on + Duration::days(1),
            )
            .await;
        }
        if let Some(after) = p.first_contact_after {
            for k in 0..p.contacts {
                w.case_event(
                    id,
                    CaseEvent::ContactMade(ContactMade {
                        referral_id: id,
                        channel: ContactChannel::FaceToFace,
                        minutes: 45,
                        personal: Some(ContactPersonal {
                            notes: "Talked about the allotment".into(),
                        }),
                    }),
                    p.on + Duration::days(after + 7 * i64::from(k)),
                )
                .await;
            }
        }
        if p.plan_agreed {
            w.case_event(
                id,
                CaseEvent::PlanAgreed(PlanAgreed {
                    referral_id: id,
                    review_date: p.on + Duration::days(90),
                    goal_count: 2,
                    personal: Some(PlanPersonal {
                        what_matters: "Getting out of the house".into(),
                        goals: vec!["Join a walking group".into()],
                        actions: vec!["Visit the library".into()],
                    }),
                }),
                p.on + Duration::days(20),
            )
            .await;
        }
        for &(accepted, attended) in &p.connections {
            let connection_id = Uuid::now_v7();
            let day = p.on + Duration::days(25);
            w.case_event(
                id,
                // From JSON: the payload gains optional fields over time.
                CaseEvent::ConnectionMade(
                    serde_json::from_value(serde_json::json!({
                        "referral_id": id, "connection_id": connection_id,
                        "service_id": "walk-1", "service_name": "Headingley walking group"
                    }))
                    .unwrap(),
                ),
                day,
            )
            .await;
            if accepted {
                w.case_event(
                    id,
                    CaseEvent::ConnectionAccepted(ConnectionAccepted {
                        referral_id: id,
                        connection_id,
                    }),
                    day,
                )
                .await;
            } else {
                w.case_event(
                    id,
                    CaseEvent::ConnectionDeclined(ConnectionDeclined {
                        referral_id: id,
                        connection_id,
                        reason: linkway_events::case::ConnectionDeclineReason::NoCapacity,
                    }),
                    day,
                )
                .await;
            }
            if attended {
                w.case_event(
                    id,
                    CaseEvent::ConnectionAttended(ConnectionAttended {
                        referral_id: id,
                        connection_id,
                    }),
                    day,
                )
                .await;
            }
        }
        let later = p.on + Duration::days(60);
        if let Some((b, l)) = p.swemwbs {
            w.case_event(
                id,
                outcome(
                    id,
                    "swemwbs",
                    Timepoint::Baseline,
                    swemwbs_items(b),
                    Some(b),
                ),
                p.on + Duration::days(20),
            )
            .await;
            w.case_event(
                id,
                outcome(id, "swemwbs", Timepoint::Review, swemwbs_items(l), Some(l)),
                later,
            )
            .await;
        }
        if let Some((b, l)) = p.ons4 {
            w.case_event(
                id,
                outcome(id, "ons4", Timepoint::Baseline, b.to_vec(), None),
                p.on + Duration::days(20),
            )
            .await;
            w.case_event(
                id,
                outcome(id, "ons4", Timepoint::Exit, l.to_vec(), None),
                later,
            )
            .await;
        }
        if let Some((b, l)) = p.ucla3 {
            let raw = |a: [u8; 3]| Some(a.iter().map(|&x| u32::from(x)).sum());
            w.case_event(
                id,
                outcome(id, "ucla3", Timepoint::Baseline, b.to_vec(), raw(b)),
                p.on + Duration::days(20),
            )
            .await;
            w.case_event(
                id,
                outcome(id, "ucla3", Timepoint::Review, l.to_vec(), raw(l)),
                later,
            )
            .await;
        }
        if let Some((b, l)) = &p.mycaw {
            w.case_event(
                id,
                outcome(id, "mycaw", Timepoint::Baseline, b.clone(), None),
                p.on + Duration::days(20),
            )
            .await;
            w.case_event(
                id,
                outcome(id, "mycaw", Timepoint::Review, l.clone(), None),
                later,
            )
            .await;
        }
        if let Some(reason) = p.closed {
            w.case_event(
                id,
                CaseEvent::Closed(CaseClosed {
                    referral_id: id,
                    reason,
                }),
                later + Duration::days(1),
            )
            .await;
        }
        if p.withdrawn {
            w.referral_event(
                id,
                ReferralEvent::Withdrawn(linkway_events::referral::ReferralWithdrawn {
                    referral_id: id,
                    reason: "no longer needed".into(),
                }),
                p.on,
            )
            .await;
        }
        if p.entered_in_error {
            w.referral_event(
                id,
                ReferralEvent::EnteredInError(ReferralEnteredInError {
                    referral_id: id,
                    reason: "test data".into(),
                }),
                p.on,
            )
            .await;
        }
    }
    ids
}
