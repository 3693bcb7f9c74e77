//! Replay speed of the reporting projection (a measurement, not a pass/fail timing:
//! run with `--ignored --nocapture`, ideally `--release`).

use futures::StreamExt;
use linkway_events::case::*;
use linkway_events::referral::{ReferralEvent, ReferralRouted};
use linkway_events::{Actor, Envelope, Event};
use linkway_eventstore::{Expected, PendingEvent};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::support::World;

#[tokio::test]
#[ignore = "measurement; run explicitly"]
async fn replay_speed_of_the_reporting_projection() {
    let w = World::new().await;
    let n: usize = std::env::var("REPLAY_REFERRALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5000);
    // A referral's received event through receive(), then its journey in one append.
    let ids: Vec<Uuid> = futures::stream::iter(0..n)
        .map(|i| {
            let w = &w;
            async move {
                w.receive(&crate::support::NewReferral {
                    referrer: if i % 3 == 0 { "council-a" } else { "gp-a" },
                    needs: vec!["422650009"],
                    on: time::macros::date!(2026 - 01 - 05),
                })
                .await
            }
        })
        .buffer_unordered(256)
        .collect()
        .await;
    futures::stream::iter(ids.iter().copied())
        .map(|id| {
            let w = &w;
            async move {
                let events: Vec<Event> = vec![
                    ReferralEvent::Routed(ReferralRouted {
                        referral_id: id,
                        link_worker_organisation_id: "lw-a".into(),
                        rule_id: None,
                    })
                    .into(),
                ];
                let case: Vec<Event> = vec![
                    CaseEvent::Accepted(CaseAccepted {
                        referral_id: id,
                        link_worker_organisation_id: "lw-a".into(),
                    })
                    .into(),
                    CaseEvent::ContactAttempted(ContactAttempted {
                        referral_id: id,
                        channel: ContactChannel::Phone,
                        outcome: ContactOutcome::NoAnswer,
                        attempt_number: 1,
                        could_not_contact: false,
                    })
                    .into(),
                    CaseEvent::ContactMade(ContactMade {
                        referral_id: id,
                        channel: ContactChannel::Phone,
                        minutes: 30,
                        personal: None,
                    })
                    .into(),
                    CaseEvent::ContactMade(ContactMade {
                        referral_id: id,
                        channel: ContactChannel::Phone,
                        minutes: 30,
                        personal: None,
                    })
                    .into(),
                    CaseEvent::Closed(CaseClosed {
                        referral_id: id,
                        reason: ClosureReason::GoalsMet,
                    })
                    .into(),
                ];
                for (kind, batch) in [("referral", events), ("case", case)] {
                    let pending = batch
                        .iter()
                        .map(|e| {
                            PendingEvent::new(Envelope::new(
                                id.to_string(),
                                e,
                                Actor::system(),
                                Uuid::now_v7(),
                                OffsetDateTime::now_utc(),
                            ))
                        })
                        .collect();
                    w.store
                        .append(kind, &id.to_string(), Expected::Any, pending)
                        .await
                        .expect("append");
                }
            }
        })
        .buffer_unordered(256)
        .collect::<Vec<_>>()
        .await;
    let total = w.last_sequence().await;
    let ctx = w.env.context("reporting").await;
    let started = std::time::Instant::now();
    linkway_reporting::rebuild_with(&ctx, &w.settings, "reporting", &|_, _| {})
        .await
        .unwrap();
    let elapsed = started.elapsed();
    eprintln!(
        "replayed {total} events in {elapsed:?}: {:.0} events/s",
        total as f64 / elapsed.as_secs_f64()
    );
    let summary = w.json("/summary", &w.commissioner_a).await;
    assert_eq!(
        summary["measures"]["closed"]["total"],
        serde_json::json!((n as u64 + 2) / 5 * 5)
    );
}
