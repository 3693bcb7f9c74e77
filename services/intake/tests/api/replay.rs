//! Replay measurement (ignored: a measurement, not a timed test). Run with
//! `cargo test --release -p linkway-intake --test api replay -- --ignored --nocapture`.
//! It appends 2,000 referrals with a realistic case history (17 events each) and rebuilds
//! intake's `referrals` projection, printing events/s beside the registry projection (which
//! ignores these events: the runner's own cost).

use std::time::Instant;

use linkway_events::{Actor, Envelope, Event};
use linkway_eventstore::{Expected, PendingEvent};
use serde_json::{Value, json};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::support::*;

fn ev(t: &str, d: Value) -> Event {
    Event::decode(t, 1, d).unwrap()
}

#[tokio::test]
#[ignore]
async fn replay_speed_of_a_realistic_mix() {
    let intake = Intake::start().await;
    let store = intake.env.store().await;
    let n = 2_000;
    let mut total = 0usize;
    let mut futs = Vec::new();
    for i in 0..n {
        let id = Uuid::now_v7();
        let r = json!({"referral_id": id});
        let with = |extra: Value| {
            let mut d = r.clone();
            d.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            d
        };
        let referral_events = vec![
            ev(
                "referral.received",
                json!({
                "referral_id": id, "referrer_organisation_id": GP, "practitioner": {"name": "Dr P"},
                "source_channel": "api", "needs": [{"code": "422650009"}], "urgency": "routine",
                "safeguarding_concern": false, "legal_basis": "public_task_health_care",
                "consent": {"referral_agreed": true, "share_details_with_referrer": true},
                "postcode_district": "LS6", "age_band": "25-34",
                "personal": {"person": {"nhs_number": "9434765919", "given_name": "A", "family_name": "B", "birth_date": "1990-01-01",
                    "address": {"lines": ["1 Road"], "postcode": "LS6 1AA"}, "preferred_contact_method": "letter"}}}),
            ),
            ev(
                "referral.routed",
                with(json!({"link_worker_organisation_id": SERVICE})),
            ),
        ];
        let conn = Uuid::now_v7();
        let case_events = vec![
            ev(
                "case.accepted",
                with(json!({"link_worker_organisation_id": SERVICE})),
            ),
            ev("case.assigned", with(json!({"link_worker_id": "lw"}))),
            ev(
                "case.contact_attempted",
                with(json!({"channel": "phone", "attempt_number": 1})),
            ),
            ev(
                "case.contact_attempted",
                with(json!({"channel": "phone", "attempt_number": 2})),
            ),
            ev(
                "case.contact_made",
                with(json!({"channel": "phone", "minutes": 45})),
            ),
            ev(
                "case.outcome_recorded",
                with(
                    json!({"instrument": "ons4", "instrument_version": "1", "algorithm_version": 1, "timepoint": "baseline", "item_answers": [5,5,5,5]}),
                ),
            ),
            ev(
                "case.plan_agreed",
                with(
                    json!({"review_date": "2027-01-01", "goal_count": 2, "personal": {"what_matters": "x", "goals": [], "actions": []}}),
                ),
            ),
            ev(
                "case.contact_made",
                with(json!({"channel": "face_to_face", "minutes": 60})),
            ),
            ev(
                "case.connection_made",
                with(json!({"connection_id": conn, "service_id": "s", "service_name": "Walk"})),
            ),
            ev(
                "case.connection_accepted",
                with(json!({"connection_id": conn})),
            ),
            ev(
                "case.contact_made",
                with(json!({"channel": "phone", "minutes": 20})),
            ),
            ev(
                "case.connection_attended",
                with(json!({"connection_id": conn})),
            ),
            ev(
                "case.outcome_recorded",
                with(
                    json!({"instrument": "ons4", "instrument_version": "1", "algorithm_version": 1, "timepoint": "exit", "item_answers": [7,7,7,3]}),
                ),
            ),
            ev(
                "case.contact_made",
                with(json!({"channel": "phone", "minutes": 20})),
            ),
            ev("case.closed", with(json!({"reason": "goals_met"}))),
        ];
        total += referral_events.len() + case_events.len();
        let store = store.clone();
        futs.push(async move {
            let pend = |es: Vec<Event>| {
                es.iter()
                    .map(|e| {
                        PendingEvent::new(Envelope::new(
                            id.to_string(),
                            e,
                            Actor::system(),
                            id,
                            OffsetDateTime::now_utc(),
                        ))
                    })
                    .collect::<Vec<_>>()
            };
            store
                .append(
                    "referral",
                    &id.to_string(),
                    Expected::Any,
                    pend(referral_events),
                )
                .await
                .unwrap();
            store
                .append("case", &id.to_string(), Expected::Any, pend(case_events))
                .await
                .unwrap();
        });
        if futs.len() == 200 || i == n - 1 {
            futures::future::join_all(futs.drain(..)).await;
        }
    }
    eprintln!("appended {total} events");
    let ctx = intake.env.context("intake").await;
    for name in ["registry", "referrals", "referrals"] {
        let t = Instant::now();
        let done = linkway_intake::rebuild(&ctx, name, &|_, _| {})
            .await
            .unwrap()
            .unwrap();
        let el = t.elapsed();
        eprintln!(
            "{name}: {done} in {el:?}: {:.0} events/s",
            done as f64 / el.as_secs_f64()
        );
    }
}
