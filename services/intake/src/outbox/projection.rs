//! The `outbox` projection: what the outbox keeps of each referral that came as a FHIR
//! message with a sender's endpoint (its own table, rebuilt from the log like any read
//! model), and one `outbound_messages` row per update the referrer is told of, inserted in
//! the batch's transaction with the checkpoint (`ON CONFLICT (message_id) DO NOTHING`: a
//! rebuild, or a batch seen again, adds nothing and keeps what was delivered).
//!
//! On `person.erased` the referral's own row forgets the person and every message of that
//! referral loses its body; one not yet delivered (pending or dead) becomes `erased` and is
//! never sent. A rebuild after an erasure reads events whose personal part is withheld and
//! finds the rows there already, so nothing personal comes back.

use std::collections::HashMap;

use linkway_events::referral::{ReferralEvent, ReferralPersonal, SourceChannel};
use linkway_events::{Event, PersonEvent};
use linkway_platform::projection::ProjectionError;
use linkway_platform::{Projected, Projection};
use tokio_postgres::Transaction;
use uuid::Uuid;

use super::message::{self, Person, Referral, Update};

/// The outbox projection.
pub struct Outbox;

impl Outbox {
    pub const NAME: &'static str = "outbox";
}

/// A message the batch makes, before it is written.
#[derive(Debug, Clone, PartialEq)]
pub struct NewMessage {
    pub message_id: Uuid,
    pub referral_id: Uuid,
    pub sequence: u64,
    pub kind: &'static str,
    pub endpoint: String,
    pub body: String,
}

/// The referral an event is about, where the outbox may care.
fn referral_of(event: &Event) -> Option<Uuid> {
    match event {
        Event::Referral(ReferralEvent::Received(r)) => Some(r.referral_id),
        Event::Person(PersonEvent::Erased(e)) => Some(e.referral_id),
        Event::Referral(ReferralEvent::Routed(r)) => Some(r.referral_id),
        Event::Referral(ReferralEvent::PersonCorrected(r)) => Some(r.referral_id),
        e if Update::of(e).is_some() => case_referral(e),
        _ => None,
    }
}

fn case_referral(event: &Event) -> Option<Uuid> {
    use linkway_events::case::CaseEvent as C;
    let Event::Case(c) = event else { return None };
    Some(match c {
        C::Accepted(e) => e.referral_id,
        C::Declined(e) => e.referral_id,
        C::ContactAttempted(e) => e.referral_id,
        C::PlanAgreed(e) => e.referral_id,
        C::OutcomeRecorded(e) => e.referral_id,
        C::Closed(e) => e.referral_id,
        _ => return None,
    })
}

/// Folds one event into the referrals kept (pure): the message it makes, if any, and
/// whether it erased the person.
pub fn fold(
    rows: &mut HashMap<Uuid, (Referral, u64)>,
    p: &Projected,
) -> (Option<NewMessage>, Option<Uuid>) {
    let Some(id) = referral_of(&p.event) else {
        return (None, None);
    };
    if let Event::Referral(ReferralEvent::Received(r)) = &p.event {
        let Some(reply_to) = r
            .reply_to
            .clone()
            .filter(|_| r.source_channel == SourceChannel::Fhir)
        else {
            return (None, None);
        };
        rows.entry(id).or_insert_with(|| {
            let person = r.personal.as_ref().map(person);
            (
                Referral {
                    referral_id: id,
                    referrer_organisation_id: r.referrer_organisation_id.clone(),
                    reply_to,
                    share_details: r.consent.share_details_with_referrer,
                    link_worker_organisation_id: None,
                    person,
                    erased: false,
                },
                p.sequence,
            )
        });
        return (None, None);
    }
    let Some((row, last)) = rows.get_mut(&id) else {
        return (None, None); // not a FHIR referral with an endpoint
    };
    if *last >= p.sequence {
        return (None, None); // already applied
    }
    *last = p.sequence;
    match &p.event {
        Event::Referral(ReferralEvent::Routed(r)) => {
            row.link_worker_organisation_id = Some(r.link_worker_organisation_id.clone());
            (None, None)
        }
        // Rectification: later messages carry the corrected details (never after an erasure).
        Event::Referral(ReferralEvent::PersonCorrected(c)) => {
            if !row.erased {
                row.person = c.personal.as_ref().map(person);
            }
            (None, None)
        }
        Event::Person(PersonEvent::Erased(_)) => {
            row.person = None;
            row.share_details = false;
            row.erased = true;
            (None, Some(id))
        }
        event => {
            let Some(update) = Update::of(event) else {
                return (None, None);
            };
            if row.erased {
                return (None, None);
            }
            let message_id = message::message_id(id, p.envelope.event_id);
            let body = message::bundle(row, &update, message_id, p.envelope.recorded_at);
            (
                Some(NewMessage {
                    message_id,
                    referral_id: id,
                    sequence: p.sequence,
                    kind: update.kind(),
                    endpoint: row.reply_to.clone(),
                    body: body.to_string(),
                }),
                None,
            )
        }
    }
}

/// Who the person is, from a referral's personal part.
fn person(p: &ReferralPersonal) -> Person {
    let d = p.person.birth_date;
    Person {
        nhs_number: p.person.nhs_number.clone(),
        given_name: p.person.given_name.clone(),
        family_name: p.person.family_name.clone(),
        birth_date: format!("{:04}-{:02}-{:02}", d.year(), d.month() as u8, d.day()),
    }
}

impl Projection for Outbox {
    const NAME: &'static str = "outbox";
    const VERSION: i32 = 1;
    const TABLES: &'static str = "
        CREATE TABLE IF NOT EXISTS referrals (
            referral_id   uuid PRIMARY KEY,
            last_sequence bigint NOT NULL,
            row           json NOT NULL
        );";

    fn reads(aggregate_kind: &str) -> bool {
        matches!(aggregate_kind, "referral" | "case" | "person")
    }

    async fn apply(
        &self,
        tx: &Transaction<'_>,
        batch: &[Projected],
    ) -> Result<(), ProjectionError> {
        let mut earlier: Vec<Uuid> = batch
            .iter()
            .filter(|p| !matches!(p.event, Event::Referral(ReferralEvent::Received(_))))
            .filter_map(|p| referral_of(&p.event))
            .collect();
        earlier.sort();
        earlier.dedup();
        let mut rows: HashMap<Uuid, (Referral, u64)> = HashMap::new();
        if !earlier.is_empty() {
            for r in tx
                .query(
                    "SELECT row::text, last_sequence FROM referrals WHERE referral_id = ANY($1)",
                    &[&earlier],
                )
                .await?
            {
                let row: Referral = serde_json::from_str(r.get(0)).map_err(|e| {
                    ProjectionError::Park(format!(
                        "unreadable outbox row ({:?} error at line {} column {})",
                        e.classify(),
                        e.line(),
                        e.column()
                    ))
                })?;
                let last: i64 = r.get(1);
                rows.insert(row.referral_id, (row, last as u64));
            }
        }
        let before: HashMap<Uuid, u64> = rows.iter().map(|(id, (_, s))| (*id, *s)).collect();
        let mut messages = Vec::new();
        let mut erased = Vec::new();
        for p in batch {
            let (m, e) = fold(&mut rows, p);
            messages.extend(m);
            erased.extend(e);
        }
        let changed: Vec<(&Referral, u64)> = rows
            .values()
            .filter(|(row, s)| before.get(&row.referral_id) != Some(s))
            .map(|(row, s)| (row, *s))
            .collect();
        if !changed.is_empty() {
            let ids: Vec<Uuid> = changed.iter().map(|(r, _)| r.referral_id).collect();
            let seqs: Vec<i64> = changed.iter().map(|(_, s)| *s as i64).collect();
            let json: Vec<String> = changed
                .iter()
                .map(|(r, _)| serde_json::to_string(r).expect("an outbox row serialises"))
                .collect();
            tx.execute(
                "INSERT INTO referrals (referral_id, last_sequence, row)
                 SELECT * FROM UNNEST($1::uuid[], $2::bigint[], $3::text[]::json[])
                 ON CONFLICT (referral_id) DO UPDATE SET
                    last_sequence = EXCLUDED.last_sequence, row = EXCLUDED.row
                 WHERE referrals.last_sequence < EXCLUDED.last_sequence",
                &[&ids, &seqs, &json],
            )
            .await?;
        }
        super::store::insert_messages(tx, &messages).await?;
        if !erased.is_empty() {
            super::store::erase(tx, &erased).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
