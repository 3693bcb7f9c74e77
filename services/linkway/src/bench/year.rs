//! A national year of events, in DOMAIN.md's mix, for `linkway bench --mix national`.
//!
//! The journeys are the load generator's (`load::plan`: 18% declined, 20% not contactable,
//! the rest engaged with 6-12 contacts, a plan, 1-3 onward connections with their answers
//! and 2-3 outcome measures), written straight to the log as the commands would have
//! written them, with payloads of realistic size (contact notes, a plan in the person's
//! words) and times spread over one year, so reporting's months fill as they would.
//! England's shape: about 1,250 primary care networks referring, 42 integrated care
//! boards, three link-worker services each.
//!
//! Pure: referral `i`'s events are a function of the seed and `i` alone.

use linkway_events::Event;
use linkway_events::case::{
    CaseAccepted, CaseAssigned, CaseClosed, CaseDeclined, CaseEvent, ClosureReason,
    ConnectionAccepted, ConnectionAttended, ConnectionDeclined, ConnectionMade, ContactAttempted,
    ContactChannel, ContactMade, ContactOutcome, ContactPersonal, DeclineReason, OutcomeRecorded,
    PlanAgreed, PlanPersonal, PlanReviewed, SharedDetail, Timepoint,
};
use linkway_events::referral::{LegalBasis, ReferralEvent, ReferralRouted};
use linkway_link_worker::outcomes::{Instrument, score};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::load::plan::{self, Answer, Engaged, Journey, Rng, Shape};
use crate::synthetic;

/// England's shape (DOMAIN.md, "Scale").
pub const SHAPE: Shape = Shape {
    referrers: 1250,
    areas: 42,
    services_per_area: 3,
    directory: 600,
    fhir_percent: 30,
};

/// The seed of every national-year run: the same year each time.
pub const SEED: u64 = 2023;

/// One event of a journey: its aggregate kind, the event, and when it happened.
pub type Timed = (&'static str, Event, OffsetDateTime);

/// The organisations of the national year (run tag `year`).
pub fn organisations() -> plan::Organisations {
    plan::organisations(SEED, "year", &SHAPE)
}

/// How many referrals give about `events` events: the mean journey of a sample of
/// 10,000 (the mix is the same whatever the size).
pub fn referrals_for(orgs: &plan::Organisations, events: u64) -> u64 {
    const SAMPLE: u64 = 10_000;
    let sampled: usize = (0..SAMPLE)
        .map(|i| journey(orgs, i, SAMPLE, Uuid::nil()).len())
        .sum();
    let mean = sampled as f64 / SAMPLE as f64;
    ((events as f64 / mean).round() as u64).max(1)
}

/// Referral `i` of `of` and everything that happened to it, in order.
pub fn journey(orgs: &plan::Organisations, i: u64, of: u64, referral_id: Uuid) -> Vec<Timed> {
    let p = plan::referral(SEED, orgs, &SHAPE, i);
    let referrer = &orgs.referrers[p.referrer];
    let service = orgs.services[referrer.service].id.clone();
    let year_start = time::macros::datetime!(2026-01-01 08:00 UTC);
    let mut at = year_start + Duration::seconds((i as i64 * 365 * 86_400) / of.max(1) as i64);
    let mut rng = Rng::for_item(SEED, 0x7EA2, i);
    let mut later = |days: u64| {
        at += Duration::hours(rng.range(2, days.max(1) * 24) as i64);
        at
    };
    let mut events: Vec<Timed> = Vec::with_capacity(32);
    let mut received = synthetic::referral_received(p.person, referral_id, &referrer.id);
    received.source_channel = match p.channel {
        plan::Channel::Json => linkway_events::referral::SourceChannel::Api,
        plan::Channel::Fhir => linkway_events::referral::SourceChannel::Fhir,
    };
    events.push((
        "referral",
        ReferralEvent::Received(received).into(),
        later(0),
    ));
    events.push((
        "referral",
        ReferralEvent::Routed(ReferralRouted {
            referral_id,
            link_worker_organisation_id: service.clone(),
            rule_id: None,
        })
        .into(),
        later(0),
    ));
    let case = |e: CaseEvent| -> Event { e.into() };
    match &p.journey {
        Journey::Declined { reason } => {
            let reason = match *reason {
                "out_of_area" => DeclineReason::OutOfArea,
                "not_appropriate" => DeclineReason::NotAppropriate,
                _ => DeclineReason::PersonDeclined,
            };
            events.push((
                "case",
                case(CaseEvent::Declined(CaseDeclined {
                    referral_id,
                    link_worker_organisation_id: service,
                    reason,
                    reason_code: None,
                })),
                later(3),
            ));
        }
        Journey::NotContactable => {
            events.push(("case", accepted(referral_id, &service), later(2)));
            for attempt in 1..=3 {
                events.push((
                    "case",
                    attempted(referral_id, attempt, attempt == 3),
                    later(4),
                ));
            }
            events.push((
                "case",
                closed(referral_id, ClosureReason::CouldNotContact),
                later(1),
            ));
        }
        Journey::Engaged(e) => {
            events.push(("case", accepted(referral_id, &service), later(2)));
            events.push((
                "case",
                case(CaseEvent::Assigned(CaseAssigned {
                    referral_id,
                    link_worker_id: format!("worker-{}", i % 7),
                })),
                later(1),
            ));
            engaged(&mut events, &mut later, orgs, referral_id, i, e);
        }
    }
    events
}

fn engaged(
    events: &mut Vec<Timed>,
    later: &mut impl FnMut(u64) -> OffsetDateTime,
    orgs: &plan::Organisations,
    referral_id: Uuid,
    i: u64,
    e: &Engaged,
) {
    for attempt in 1..=u32::from(e.failed_attempts) {
        events.push(("case", attempted(referral_id, attempt, false), later(3)));
    }
    let instrument = if e.instrument == "ons4" {
        Instrument::Ons4
    } else {
        Instrument::Swemwbs
    };
    for contact in 0..e.contacts {
        events.push(("case", contact_made(referral_id, i, contact), later(10)));
        if contact == 0 {
            events.push((
                "case",
                outcome(i, referral_id, instrument, Timepoint::Baseline, 0),
                later(0),
            ));
        }
        if contact == 1 {
            events.push(("case", plan_agreed(referral_id), later(0)));
            for (k, (service, answer)) in e.connections.iter().enumerate() {
                events.push((
                    "case",
                    connection(referral_id, i, k, &orgs.directory[*service], *service),
                    later(1),
                ));
                let connection_id = connection_id(i, k);
                for answer in answer_events(referral_id, connection_id, *answer) {
                    events.push(("case", answer, later(7)));
                }
            }
        }
        if contact == e.contacts / 2 && e.outcomes == 3 {
            events.push(("case", plan_reviewed(referral_id), later(0)));
            events.push((
                "case",
                outcome(i, referral_id, instrument, Timepoint::Review, 1),
                later(0),
            ));
        }
    }
    events.push((
        "case",
        outcome(i, referral_id, instrument, Timepoint::Exit, 2),
        later(1),
    ));
    let reason = match e.closure {
        "disengaged" => ClosureReason::Disengaged,
        "moved_away" => ClosureReason::MovedAway,
        "referred_elsewhere" => ClosureReason::ReferredElsewhere,
        _ => ClosureReason::GoalsMet,
    };
    events.push(("case", closed(referral_id, reason), later(2)));
}

fn accepted(referral_id: Uuid, service: &str) -> Event {
    CaseEvent::Accepted(CaseAccepted {
        referral_id,
        link_worker_organisation_id: service.to_owned(),
    })
    .into()
}

fn attempted(referral_id: Uuid, attempt_number: u32, could_not_contact: bool) -> Event {
    CaseEvent::ContactAttempted(ContactAttempted {
        referral_id,
        channel: ContactChannel::Phone,
        outcome: ContactOutcome::NoAnswer,
        attempt_number,
        could_not_contact,
    })
    .into()
}

fn closed(referral_id: Uuid, reason: ClosureReason) -> Event {
    CaseEvent::Closed(CaseClosed {
        referral_id,
        reason,
    })
    .into()
}

/// Notes of the length link workers write after a conversation (100-300 characters).
const NOTES: [&str; 4] = [
    "Spoke about how the week has gone. Still finding evenings hard since the move; keen to try the walking group on Thursday and asked about help with the gas bill.",
    "Met at the library. Went to the choir once and enjoyed it, though the bus there is unreliable. Agreed to look at community transport together next time and to ring the debt advice line before then.",
    "Short call: feeling brighter, has been out twice this week. Wants to keep going with the allotment group and would like to hear about volunteering at the food bank.",
    "Home visit. Mobility worse this month, so the walking group is on hold; talked through the chair-based exercise class instead and the befriending service. Daughter visiting more often, which helps.",
];

fn contact_made(referral_id: Uuid, i: u64, n: u8) -> Event {
    CaseEvent::ContactMade(ContactMade {
        referral_id,
        channel: [
            ContactChannel::Phone,
            ContactChannel::FaceToFace,
            ContactChannel::Phone,
            ContactChannel::HomeVisit,
        ][((i + u64::from(n)) % 4) as usize],
        minutes: 20 + ((i + u64::from(n) * 7) % 40) as u32,
        personal: Some(ContactPersonal {
            notes: NOTES[((i + u64::from(n)) % NOTES.len() as u64) as usize].to_owned(),
        }),
    })
    .into()
}

fn plan_personal() -> PlanPersonal {
    PlanPersonal {
        what_matters:
            "Getting out of the house, meeting people again and not worrying about money every day"
                .into(),
        goals: vec![
            "Go to the walking group most weeks".into(),
            "Sort out the energy debt with an adviser".into(),
        ],
        actions: vec![
            "Call the walking group organiser before Thursday".into(),
            "Book a debt advice appointment and take the letters".into(),
        ],
    }
}

fn plan_agreed(referral_id: Uuid) -> Event {
    CaseEvent::PlanAgreed(PlanAgreed {
        referral_id,
        review_date: time::macros::date!(2026 - 12 - 01),
        goal_count: 2,
        personal: Some(plan_personal()),
    })
    .into()
}

fn plan_reviewed(referral_id: Uuid) -> Event {
    CaseEvent::PlanReviewed(PlanReviewed {
        referral_id,
        next_review_date: time::macros::date!(2026 - 12 - 15),
        goal_count: 2,
        personal: Some(plan_personal()),
    })
    .into()
}

fn connection_id(i: u64, k: usize) -> Uuid {
    Uuid::from_u64_pair(0x7EA2_0000_0000_0000 | i, k as u64)
}

fn connection(referral_id: Uuid, i: u64, k: usize, service_id: &str, index: usize) -> Event {
    let (kind, _) = crate::synthetic::SERVICE_KINDS[index % crate::synthetic::SERVICE_KINDS.len()];
    CaseEvent::ConnectionMade(ConnectionMade {
        referral_id,
        connection_id: connection_id(i, k),
        service_id: service_id.to_owned(),
        service_name: format!("Community service {service_id}"),
        service_kind: Some(kind.to_owned()),
        legal_basis: Some(LegalBasis::PublicTaskHealthCare),
        shared: vec![SharedDetail::Name, SharedDetail::Phone, SharedDetail::Needs],
    })
    .into()
}

fn answer_events(referral_id: Uuid, connection_id: Uuid, answer: Answer) -> Vec<Event> {
    let accepted = CaseEvent::ConnectionAccepted(ConnectionAccepted {
        referral_id,
        connection_id,
    });
    match answer {
        Answer::AcceptedAndAttended => vec![
            accepted.into(),
            CaseEvent::ConnectionAttended(ConnectionAttended {
                referral_id,
                connection_id,
            })
            .into(),
        ],
        Answer::Accepted => vec![accepted.into()],
        Answer::Declined => vec![
            CaseEvent::ConnectionDeclined(ConnectionDeclined {
                referral_id,
                connection_id,
                reason: linkway_events::case::ConnectionDeclineReason::NoCapacity,
            })
            .into(),
        ],
    }
}

fn outcome(
    i: u64,
    referral_id: Uuid,
    instrument: Instrument,
    timepoint: Timepoint,
    n: u8,
) -> Event {
    let answers = plan::item_answers(SEED, i, n, instrument.as_str());
    let scored = score(instrument, timepoint, &answers).expect("answers in the instrument's range");
    CaseEvent::OutcomeRecorded(OutcomeRecorded {
        referral_id,
        instrument: scored.instrument.to_owned(),
        instrument_version: scored.instrument_version.to_owned(),
        algorithm_version: scored.algorithm_version,
        timepoint,
        item_answers: scored.item_answers,
        raw_score: scored.raw_score,
        derived_score: scored.derived_score,
        personal: None,
    })
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_year_follows_the_domain_mix_and_each_journey_is_in_time_order() {
        let orgs = organisations();
        let n = 2000u64;
        let (mut events, mut short) = (0usize, 0usize);
        for i in 0..n {
            let j = journey(&orgs, i, n, Uuid::from_u64_pair(1, i));
            assert!(
                j.windows(2).all(|w| w[0].2 <= w[1].2),
                "referral {i} out of order"
            );
            assert!(matches!(
                j[0].1,
                Event::Referral(ReferralEvent::Received(_))
            ));
            assert!(matches!(
                j.last().unwrap().1,
                Event::Case(CaseEvent::Closed(_) | CaseEvent::Declined(_))
            ));
            if j.len() <= 7 {
                short += 1;
            } else {
                assert!(
                    (15..=40).contains(&j.len()),
                    "an engaged journey of {}",
                    j.len()
                );
            }
            events += j.len();
        }
        // DOMAIN.md: 30-45% never engage; an engaged referral gives about 20-35 events.
        let never = short as f64 / n as f64;
        assert!((0.30..=0.45).contains(&never), "{never}");
        let per_referral = events as f64 / n as f64;
        assert!((14.0..=24.0).contains(&per_referral), "{per_referral}");
    }

    #[test]
    fn a_referral_journey_is_the_same_every_time() {
        let orgs = organisations();
        let a = journey(&orgs, 77, 1000, Uuid::nil());
        let b = journey(&orgs, 77, 1000, Uuid::nil());
        assert_eq!(a.len(), b.len());
        assert!(a.iter().zip(&b).all(|(x, y)| x.1 == y.1 && x.2 == y.2));
    }
}
