//! Intake's read model: one row per referral (status, routing, what the referrer may see)
//! and the referrer's timeline, fed by `referral.*` events and the link-worker's `case.*`
//! events.
//!
//! The row is folded in memory by [`ReferralRow::apply`] (pure, unit-tested) and written
//! set-wise: per batch one read of the touched rows, one upsert of all of them, one insert
//! of all timeline entries. Where the person did not agree to share details with the
//! referrer, only codes enter the timeline: the details never land in this database.

use std::collections::HashMap;
use std::sync::Arc;

use linkway_events::case::{CaseEvent, ClosureReason, DeclineReason};
use linkway_events::common::Coding;
use linkway_events::referral::{Person, ReferralEvent, ReferralPersonal, ReferralReceived};
use linkway_events::{Envelope, Event, PersonEvent};
use linkway_platform::projection::ProjectionError;
use linkway_platform::{Projected, Projection};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::OffsetDateTime;
use tokio_postgres::Transaction;
use uuid::Uuid;

use crate::keys::NhsNumberKey;
use crate::validation;

/// The summary of the person shown back to the referrer who sent the referral.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PersonSummary {
    pub given_name: String,
    pub family_name: String,
    /// `YYYY-MM-DD`.
    pub birth_date: String,
}

/// One outcome measure as reported back at closure: numbers and codes only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OutcomeSummary {
    pub instrument: String,
    pub timepoint: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw_score: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub derived_score: Option<f64>,
}

/// Intake's state of one referral (stored as JSON beside a few indexed columns).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReferralRow {
    pub referral_id: Uuid,
    pub referrer_organisation_id: String,
    pub status: Status,
    pub link_worker_organisation_id: Option<String>,
    pub routing_rule_id: Option<Uuid>,
    pub unroutable_reason: Option<String>,
    pub source_channel: String,
    pub urgency: String,
    pub safeguarding_concern: bool,
    pub needs: Vec<Coding>,
    pub postcode_district: String,
    pub age_band: String,
    /// The person agreed that details, not only codes, go back to the referrer.
    pub share_details: bool,
    /// `None` once the person is erased (or when this process could not open their
    /// details: the key is gone).
    pub person: Option<PersonSummary>,
    /// The person was erased (`person.erased`): nothing about them is kept here any more.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub erased: bool,
    /// Keyed hash (HMAC-SHA256) of the NHS number, hex: finds repeat referrals of the same
    /// person without keeping the number itself.
    pub nhs_number_key: Option<String>,
    /// Where replies to a FHIR sender go (`referral.received`'s `reply_to`); absent for the
    /// other channels and for FHIR referrals received before the event carried it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<String>,
    /// Other open referrals of the same person at the same service when this one was routed,
    /// in log order: found by this projection (see `duplicates`), never by a command.
    pub possible_duplicate_of: Vec<Uuid>,
    pub first_contact_at: Option<OffsetDateTime>,
    pub outcomes: Vec<OutcomeSummary>,
    #[serde(with = "time::serde::rfc3339")]
    pub received_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    /// Stream sequence of the `referral.received`: orders possible duplicates as the log does.
    pub received_sequence: u64,
    /// Stream sequence of the last event applied to this row.
    pub last_sequence: u64,
}

/// One entry of the referrer's timeline.
#[derive(Debug, Clone, PartialEq)]
pub struct TimelineEntry {
    pub referral_id: Uuid,
    pub sequence: u64,
    /// `received`, `routed`, `accepted`, `declined`, `first_contact`, `could_not_contact`,
    /// `plan_agreed`, `plan_reviewed`, `connection_made`, `closed` ...
    pub kind: &'static str,
    pub occurred_at: OffsetDateTime,
    /// Codes, and details only where the person agreed to share them.
    pub detail: Value,
}

impl ReferralRow {
    /// The row a `referral.received` starts.
    pub fn received(
        r: &ReferralReceived,
        envelope: &Envelope,
        sequence: u64,
        key: &NhsNumberKey,
    ) -> ReferralRow {
        let mut row = ReferralRow {
            referral_id: r.referral_id,
            referrer_organisation_id: r.referrer_organisation_id.clone(),
            status: Status::Received,
            link_worker_organisation_id: None,
            routing_rule_id: None,
            unroutable_reason: None,
            source_channel: json_str(&r.source_channel),
            urgency: json_str(&r.urgency),
            safeguarding_concern: r.safeguarding_concern,
            needs: r.needs.clone(),
            postcode_district: r.postcode_district.clone(),
            age_band: r.age_band.clone(),
            share_details: r.consent.share_details_with_referrer,
            person: None,
            erased: false,
            nhs_number_key: None,
            reply_to: r.reply_to.clone(),
            possible_duplicate_of: Vec::new(),
            first_contact_at: None,
            outcomes: Vec::new(),
            received_at: envelope.occurred_at,
            updated_at: envelope.recorded_at,
            received_sequence: sequence,
            last_sequence: sequence,
        };
        row.set_person(r.personal.as_ref(), key);
        row
    }

    /// Who the person is, from a personal part (received, or corrected): the summary the
    /// referrer sees and the keyed hash of the NHS number.
    fn set_person(&mut self, personal: Option<&ReferralPersonal>, key: &NhsNumberKey) {
        let p = personal.map(|p| &p.person);
        self.person = p.map(summary);
        self.nhs_number_key = p.and_then(|p| p.nhs_number.as_deref()).map(|n| key.hash(n));
    }

    /// A correction moves the district and the age band (on the day received, as `submit`
    /// worked it out); routing is not decided again.
    fn correct_district_and_age_band(&mut self, person: &Person) {
        let received_on = self.received_at.to_offset(time::UtcOffset::UTC).date();
        self.postcode_district = validation::postcode_district(&person.address.postcode).to_owned();
        self.age_band =
            validation::age_band(validation::age_on(person.birth_date, received_on)).to_owned();
    }

    /// Applies a later event; returns the timeline entry it adds, if any. Withdrawn and
    /// entered-in-error are final: the link-worker's late events still show in the timeline
    /// but no longer change the status. `key` hashes a corrected NHS number.
    pub fn apply(
        &mut self,
        event: &Event,
        envelope: &Envelope,
        sequence: u64,
        key: &NhsNumberKey,
    ) -> Option<TimelineEntry> {
        let final_status = matches!(self.status, Status::Withdrawn | Status::EnteredInError);
        let set = |row: &mut ReferralRow, s: Status| {
            if !final_status {
                row.status = s;
            }
        };
        let (kind, detail) = match event {
            Event::Referral(ReferralEvent::Received(_)) => return None,
            Event::Referral(ReferralEvent::Routed(r)) => {
                set(self, Status::Routed);
                self.link_worker_organisation_id = Some(r.link_worker_organisation_id.clone());
                self.routing_rule_id = r.rule_id;
                self.unroutable_reason = None;
                (
                    "routed",
                    json!({"link_worker_organisation_id": r.link_worker_organisation_id, "by_hand": r.rule_id.is_none()}),
                )
            }
            Event::Referral(ReferralEvent::Unroutable(u)) => {
                set(self, Status::Unroutable);
                self.unroutable_reason = Some(u.reason.clone());
                ("unroutable", json!({"reason": u.reason}))
            }
            Event::Referral(ReferralEvent::Withdrawn(w)) => {
                set(self, Status::Withdrawn);
                ("withdrawn", json!({"reason": w.reason}))
            }
            Event::Referral(ReferralEvent::EnteredInError(e)) => {
                self.status = Status::EnteredInError;
                ("entered_in_error", json!({"reason": e.reason}))
            }
            // Rectification: the corrected details replace the ones before (never after an
            // erasure: nothing of the person is kept again). The timeline says only that.
            Event::Referral(ReferralEvent::PersonCorrected(c)) => {
                if !self.erased {
                    self.set_person(c.personal.as_ref(), key);
                    if let Some(p) = &c.personal {
                        self.correct_district_and_age_band(&p.person);
                    }
                }
                ("person_corrected", json!({}))
            }
            Event::Case(CaseEvent::Accepted(a)) => {
                set(self, Status::Accepted);
                (
                    "accepted",
                    json!({"link_worker_organisation_id": a.link_worker_organisation_id}),
                )
            }
            Event::Case(CaseEvent::Declined(d)) => {
                set(self, Status::Declined);
                (
                    "declined",
                    json!({"reason": json_str(&d.reason), "reason_code": d.reason_code.clone().or_else(|| decline_code(d.reason))}),
                )
            }
            Event::Case(CaseEvent::ContactMade(c)) => {
                if self.first_contact_at.is_some() {
                    return None;
                }
                self.first_contact_at = Some(envelope.occurred_at);
                if self.status == Status::Routed || self.status == Status::Accepted {
                    set(self, Status::InProgress);
                }
                ("first_contact", json!({"channel": json_str(&c.channel)}))
            }
            Event::Case(CaseEvent::PlanAgreed(p)) => {
                if matches!(self.status, Status::Routed | Status::Accepted) {
                    set(self, Status::InProgress);
                }
                let mut detail = json!({
                    "review_date": format!("{:04}-{:02}-{:02}", p.review_date.year(), p.review_date.month() as u8, p.review_date.day()),
                    "goal_count": p.goal_count,
                });
                if self.share_details
                    && let Some(personal) = &p.personal
                {
                    detail["what_matters"] = json!(personal.what_matters);
                    detail["goals"] = json!(personal.goals);
                }
                ("plan_agreed", detail)
            }
            Event::Case(CaseEvent::ContactAttempted(a)) => {
                // Single failed attempts are routine; giving up is news for the referrer.
                if !a.could_not_contact {
                    return None;
                }
                ("could_not_contact", json!({"attempts": a.attempt_number}))
            }
            Event::Case(CaseEvent::PlanReviewed(p)) => {
                let mut detail = json!({
                    "next_review_date": format!("{:04}-{:02}-{:02}", p.next_review_date.year(), p.next_review_date.month() as u8, p.next_review_date.day()),
                    "goal_count": p.goal_count,
                });
                if self.share_details
                    && let Some(personal) = &p.personal
                {
                    detail["what_matters"] = json!(personal.what_matters);
                    detail["goals"] = json!(personal.goals);
                }
                ("plan_reviewed", detail)
            }
            Event::Case(CaseEvent::ConnectionMade(c)) => {
                // Which service someone was connected to says something about them (a debt
                // adviser, a bereavement group): only with consent; otherwise just the fact.
                let detail = if self.share_details {
                    json!({"service_id": c.service_id, "service_name": c.service_name})
                } else {
                    json!({})
                };
                ("connection_made", detail)
            }
            Event::Case(CaseEvent::OutcomeRecorded(o)) => {
                self.outcomes.push(OutcomeSummary {
                    instrument: o.instrument.clone(),
                    timepoint: json_str(&o.timepoint),
                    raw_score: o.raw_score,
                    derived_score: o.derived_score,
                });
                self.touch(envelope, sequence);
                return None;
            }
            Event::Case(CaseEvent::Closed(c)) => {
                set(self, Status::Closed);
                (
                    "closed",
                    json!({"reason": json_str(&c.reason), "reason_code": closure_code(c.reason), "outcomes": self.outcomes}),
                )
            }
            Event::Person(PersonEvent::Erased(e)) => {
                self.erase();
                ("erased", json!({"reason": e.reason.as_str()}))
            }
            // Assignments, answers from community services, safeguarding (escalated by the
            // link-worker service itself, not broadcast) and any case event added later say
            // nothing to the referrer.
            _ => return None,
        };
        self.touch(envelope, sequence);
        Some(TimelineEntry {
            referral_id: self.referral_id,
            sequence,
            kind,
            occurred_at: envelope.occurred_at,
            detail,
        })
    }

    /// Forgets everything about the person: who they are, the key that finds their other
    /// referrals, and the links to those; nothing of theirs is shown again. Codes, dates
    /// and the status stay, as they do in the log.
    fn erase(&mut self) {
        self.person = None;
        self.nhs_number_key = None;
        self.possible_duplicate_of.clear();
        self.share_details = false;
        self.erased = true;
    }

    fn touch(&mut self, envelope: &Envelope, sequence: u64) {
        self.updated_at = envelope.recorded_at;
        self.last_sequence = sequence;
    }
}

/// What the referrer sees of who the person is.
fn summary(p: &Person) -> PersonSummary {
    PersonSummary {
        given_name: p.given_name.clone(),
        family_name: p.family_name.clone(),
        birth_date: format!(
            "{:04}-{:02}-{:02}",
            p.birth_date.year(),
            p.birth_date.month() as u8,
            p.birth_date.day()
        ),
    }
}

/// The wire name of a unit-like enum value.
fn json_str<T: Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(Value::String(s)) => s,
        other => format!("{other:?}"),
    }
}

/// SNOMED CT 871711000000103 "social prescribing declined" when the person declined.
fn decline_code(reason: DeclineReason) -> Option<Coding> {
    (reason == DeclineReason::PersonDeclined).then(|| {
        Coding::snomed(
            linkway_events::common::SNOMED_SOCIAL_PRESCRIBING_DECLINED,
            "Social prescribing declined",
        )
    })
}

/// Closure reasons have no national code set yet; the reason name is the code.
fn closure_code(_reason: ClosureReason) -> Option<Coding> {
    None
}

/// The intake read model.
pub struct Referrals {
    key: Arc<NhsNumberKey>,
}

impl Referrals {
    pub const NAME: &'static str = "referrals";

    pub fn new(key: Arc<NhsNumberKey>) -> Referrals {
        Referrals { key }
    }
}

impl Projection for Referrals {
    const NAME: &'static str = "referrals";
    // 4: possible duplicates found here at routing time, not copied from `referral.received`.
    // 5: a `referral.person_corrected` moves the district and age band too.
    // `reply_to` (from `referral.received` v3) needs no new version: a stored row without
    // it is what a rebuild writes for a v2 referral, which carried none.
    const VERSION: i32 = 5;
    const TABLES: &'static str = "
        CREATE TABLE IF NOT EXISTS referrals (
            referral_id                 uuid PRIMARY KEY,
            referrer_organisation_id    text NOT NULL,
            status                      text NOT NULL,
            link_worker_organisation_id text,
            nhs_number_key              text,
            received_at                 timestamptz NOT NULL,
            last_sequence               bigint NOT NULL,
            row                         json NOT NULL
        );
        CREATE INDEX IF NOT EXISTS referrals_by_referrer
            ON referrals (referrer_organisation_id, received_at DESC, referral_id);
        CREATE INDEX IF NOT EXISTS referrals_by_person_and_service
            ON referrals (nhs_number_key, link_worker_organisation_id) WHERE nhs_number_key IS NOT NULL;
        CREATE INDEX IF NOT EXISTS referrals_unroutable
            ON referrals (received_at) WHERE status = 'unroutable';
        CREATE TABLE IF NOT EXISTS timeline (
            referral_id uuid NOT NULL,
            sequence    bigint NOT NULL,
            kind        text NOT NULL,
            occurred_at timestamptz NOT NULL,
            detail      json NOT NULL,
            PRIMARY KEY (referral_id, sequence)
        );";

    fn reads(aggregate_kind: &str) -> bool {
        matches!(aggregate_kind, "referral" | "case" | "person")
    }

    async fn apply(
        &self,
        tx: &Transaction<'_>,
        batch: &[Projected],
    ) -> Result<(), ProjectionError> {
        // Referrals this batch touches that began in an earlier batch.
        let mut earlier: Vec<Uuid> = Vec::new();
        for p in batch {
            if let Some(id) = referral_of(&p.event)
                && !matches!(p.event, Event::Referral(ReferralEvent::Received(_)))
            {
                earlier.push(id);
            }
        }
        let mut rows: HashMap<Uuid, ReferralRow> = HashMap::new();
        if !earlier.is_empty() {
            earlier.sort();
            earlier.dedup();
            let found = tx
                .query(
                    "SELECT row::text FROM referrals WHERE referral_id = ANY($1)",
                    &[&earlier],
                )
                .await?;
            if let Err(e) = read_rows(found, &mut rows) {
                return Err(unreadable_row(e));
            }
        }
        // Open referrals of the people this batch routes someone for: possible duplicates.
        let found = duplicates::load_candidates(tx, batch, &rows, &self.key).await?;
        if let Err(e) = read_rows(found, &mut rows) {
            return Err(unreadable_row(e));
        }
        let mut people = duplicates::People::index(&rows);
        let mut touched: Vec<Uuid> = Vec::new();
        let mut timeline: Vec<TimelineEntry> = Vec::new();
        for p in batch {
            let Some(id) = referral_of(&p.event) else {
                continue;
            };
            if let Event::Referral(ReferralEvent::Received(r)) = &p.event {
                let row = rows.entry(id).or_insert_with(|| {
                    ReferralRow::received(r, &p.envelope, p.sequence, &self.key)
                });
                people.add(row);
                timeline.push(TimelineEntry {
                    referral_id: id,
                    sequence: p.sequence,
                    kind: "received",
                    occurred_at: p.envelope.occurred_at,
                    detail: json!({"source_channel": json_str(&r.source_channel)}),
                });
            } else if rows
                .get(&id)
                .is_some_and(|row| row.last_sequence < p.sequence)
            {
                // Found before the row moves on, so that it sees the others as they stand.
                let duplicates = match &p.event {
                    Event::Referral(ReferralEvent::Routed(r)) => {
                        Some(people.possible_duplicates(&rows, id, &r.link_worker_organisation_id))
                    }
                    _ => None,
                };
                let row = rows.get_mut(&id).expect("the row was just found");
                if let Some(entry) = row.apply(&p.event, &p.envelope, p.sequence, &self.key) {
                    timeline.push(entry);
                }
                if matches!(p.event, Event::Referral(ReferralEvent::PersonCorrected(_))) {
                    people.add(row); // under the corrected NHS number, if it changed
                }
                if let Some(duplicates) = duplicates {
                    row.possible_duplicate_of = duplicates;
                }
                if row.last_sequence != p.sequence {
                    continue; // nothing changed (e.g. a second contact)
                }
            } else {
                // Already applied, or a referral intake never received (another deployment's).
                continue;
            }
            touched.push(id);
        }
        touched.sort();
        touched.dedup();
        if !touched.is_empty() {
            let mut ids = Vec::new();
            let mut referrers = Vec::new();
            let mut statuses = Vec::new();
            let mut services: Vec<Option<String>> = Vec::new();
            let mut keys: Vec<Option<String>> = Vec::new();
            let mut received = Vec::new();
            let mut sequences = Vec::new();
            let mut json_rows: Vec<String> = Vec::new();
            for id in &touched {
                let row = &rows[id];
                ids.push(row.referral_id);
                referrers.push(row.referrer_organisation_id.clone());
                statuses.push(row.status.as_str());
                services.push(row.link_worker_organisation_id.clone());
                keys.push(row.nhs_number_key.clone());
                received.push(row.received_at);
                sequences.push(row.last_sequence as i64);
                json_rows
                    .push(serde_json::to_string(row).expect("a referral row always serialises"));
            }
            tx.execute(
                "INSERT INTO referrals (referral_id, referrer_organisation_id, status, link_worker_organisation_id,
                                        nhs_number_key, received_at, last_sequence, row)
                 SELECT * FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[],
                                      $6::timestamptz[], $7::bigint[], $8::text[]::json[])
                 ON CONFLICT (referral_id) DO UPDATE SET
                    status = EXCLUDED.status,
                    link_worker_organisation_id = EXCLUDED.link_worker_organisation_id,
                    nhs_number_key = EXCLUDED.nhs_number_key,
                    last_sequence = EXCLUDED.last_sequence,
                    row = EXCLUDED.row
                 WHERE referrals.last_sequence < EXCLUDED.last_sequence",
                &[&ids, &referrers, &statuses, &services, &keys, &received, &sequences, &json_rows],
            )
            .await?;
        }
        if !timeline.is_empty() {
            let ids: Vec<Uuid> = timeline.iter().map(|t| t.referral_id).collect();
            let seqs: Vec<i64> = timeline.iter().map(|t| t.sequence as i64).collect();
            let kinds: Vec<&str> = timeline.iter().map(|t| t.kind).collect();
            let at: Vec<OffsetDateTime> = timeline.iter().map(|t| t.occurred_at).collect();
            let details: Vec<&Value> = timeline.iter().map(|t| &t.detail).collect();
            tx.execute(
                "INSERT INTO timeline (referral_id, sequence, kind, occurred_at, detail)
                 SELECT * FROM UNNEST($1::uuid[], $2::bigint[], $3::text[], $4::timestamptz[], $5::json[])
                 ON CONFLICT DO NOTHING",
                &[&ids, &seqs, &kinds, &at, &details],
            )
            .await?;
        }
        erasure::purge_timeline(tx, batch).await?;
        Ok(())
    }
}

/// The referral an event is about, for the events that can change intake's read model.
/// Events intake never shows (assignments, single contact attempts, community services'
/// answers, safeguarding) are not even looked up: replay speed matters.
fn referral_of(event: &Event) -> Option<Uuid> {
    match event {
        Event::Referral(e) => Some(match e {
            ReferralEvent::Received(r) => r.referral_id,
            ReferralEvent::Routed(r) => r.referral_id,
            ReferralEvent::Unroutable(r) => r.referral_id,
            ReferralEvent::Withdrawn(r) => r.referral_id,
            ReferralEvent::EnteredInError(r) => r.referral_id,
            ReferralEvent::PersonCorrected(r) => r.referral_id,
        }),
        Event::Case(c) => match c {
            CaseEvent::Accepted(e) => Some(e.referral_id),
            CaseEvent::Declined(e) => Some(e.referral_id),
            CaseEvent::ContactAttempted(e) if e.could_not_contact => Some(e.referral_id),
            CaseEvent::ContactMade(e) => Some(e.referral_id),
            CaseEvent::PlanAgreed(e) => Some(e.referral_id),
            CaseEvent::PlanReviewed(e) => Some(e.referral_id),
            CaseEvent::ConnectionMade(e) => Some(e.referral_id),
            CaseEvent::OutcomeRecorded(e) => Some(e.referral_id),
            CaseEvent::Closed(e) => Some(e.referral_id),
            _ => None,
        },
        Event::Person(linkway_events::PersonEvent::Erased(e)) => Some(e.referral_id),
        _ => None,
    }
}

mod duplicates;
mod erasure;
mod rows;

use rows::{read_rows, unreadable_row};
mod status;

pub use status::Status;

#[cfg(test)]
mod tests;
