//! Possible duplicates, found by the projection from the log, never by a command.
//!
//! **The rule.** When a referral is routed to a link-worker service (`referral.routed`, by
//! a rule or by hand), its possible duplicates are the other referrals of the same person
//! (same keyed hash of the NHS number, `nhs_number_key`) that, at that point in the log,
//! are routed to the same service and still open ([`Status::is_open`]), in the order their
//! `referral.received` events stand in the log. It is a finding at routing time, as an
//! administrator would have seen it then: an earlier referral closing later does not
//! remove it, and routing the referral again finds the list afresh. A referral without an
//! NHS number, or never routed, has none. A referral's NHS number is the one its person
//! last had at that point (`referral.received`, or a later `referral.person_corrected`).
//!
//! **Why it rebuilds identically.** The list depends only on the events before the
//! `referral.routed` in the log, never on batch boundaries or timing: within a batch the
//! rows are folded in log order in memory, and a row the batch does not hold is, in the
//! database, exactly as the events before the batch left it. So live and rebuilt models
//! agree whatever the batch sizes, and whatever versions of `referral.received` the log
//! holds (v1 carried the command's own list, which upcasting drops).

use std::collections::{HashMap, HashSet};

use linkway_events::Event;
use linkway_events::referral::ReferralEvent;
use linkway_platform::Projected;
use tokio_postgres::Transaction;
use uuid::Uuid;

use super::{ReferralRow, Status};
use crate::keys::NhsNumberKey;

/// The stored referrals that may be possible duplicates of a referral `batch` routes:
/// those of the same people, routed and open. `rows` holds the referrals the batch touches
/// that began in an earlier batch; rows in memory stay as they are (they are newer).
pub(super) async fn load_candidates(
    tx: &Transaction<'_>,
    batch: &[Projected],
    rows: &HashMap<Uuid, ReferralRow>,
    key: &NhsNumberKey,
) -> Result<Vec<tokio_postgres::Row>, tokio_postgres::Error> {
    let people = people_routed_in(batch, rows, key);
    if people.is_empty() {
        return Ok(Vec::new());
    }
    tx.query(
        "SELECT row::text FROM referrals
         WHERE nhs_number_key = ANY($1) AND link_worker_organisation_id IS NOT NULL
           AND status = ANY($2)",
        &[&people, &Status::open_values()],
    )
    .await
}

/// The keys of the people a batch routes a referral for; `rows` holds the referrals the
/// batch touches that began in an earlier batch.
fn people_routed_in(
    batch: &[Projected],
    rows: &HashMap<Uuid, ReferralRow>,
    key: &NhsNumberKey,
) -> Vec<String> {
    let routed: HashSet<Uuid> = batch
        .iter()
        .filter_map(|p| match &p.event {
            Event::Referral(ReferralEvent::Routed(r)) => Some(r.referral_id),
            _ => None,
        })
        .collect();
    if routed.is_empty() {
        return Vec::new();
    }
    let mut keys: Vec<String> = batch
        .iter()
        .filter_map(|p| {
            let (id, personal) = match &p.event {
                Event::Referral(ReferralEvent::Received(r)) => (r.referral_id, &r.personal),
                Event::Referral(ReferralEvent::PersonCorrected(c)) => (c.referral_id, &c.personal),
                _ => return None,
            };
            let number = personal.as_ref()?.person.nhs_number.as_deref();
            number.filter(|_| routed.contains(&id)).map(|n| key.hash(n))
        })
        .chain(
            routed
                .iter()
                .filter_map(|id| rows.get(id)?.nhs_number_key.clone()),
        )
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

/// Referrals by person, over the rows a batch holds in memory.
#[derive(Debug, Default)]
pub(super) struct People {
    by_key: HashMap<String, Vec<Uuid>>,
}

impl People {
    pub(super) fn index(rows: &HashMap<Uuid, ReferralRow>) -> People {
        let mut people = People::default();
        for row in rows.values() {
            people.add(row);
        }
        people
    }

    /// A referral now in memory (received in this batch, or loaded).
    pub(super) fn add(&mut self, row: &ReferralRow) {
        if let Some(key) = &row.nhs_number_key {
            let referrals = self.by_key.entry(key.clone()).or_default();
            if !referrals.contains(&row.referral_id) {
                referrals.push(row.referral_id);
            }
        }
    }

    /// The possible duplicates of `this` as it is routed to `service` (see the module docs).
    pub(super) fn possible_duplicates(
        &self,
        rows: &HashMap<Uuid, ReferralRow>,
        this: Uuid,
        service: &str,
    ) -> Vec<Uuid> {
        let Some(key) = rows.get(&this).and_then(|r| r.nhs_number_key.as_ref()) else {
            return Vec::new();
        };
        let mut open: Vec<&ReferralRow> = self
            .by_key
            .get(key)
            .into_iter()
            .flatten()
            .filter(|&&id| id != this)
            .filter_map(|id| rows.get(id))
            // Listed under a number its person has since been corrected from: not theirs.
            .filter(|r| r.nhs_number_key.as_ref() == Some(key))
            .filter(|r| r.status.is_open())
            .filter(|r| r.link_worker_organisation_id.as_deref() == Some(service))
            .collect();
        open.sort_by_key(|r| (r.received_sequence, r.referral_id));
        open.into_iter().map(|r| r.referral_id).collect()
    }
}

#[cfg(test)]
mod tests {
    use time::OffsetDateTime;

    use super::*;
    use crate::read_model::PersonSummary;

    fn row(n: u128, key: Option<&str>, service: Option<&str>, status: Status) -> ReferralRow {
        ReferralRow {
            referral_id: Uuid::from_u128(n),
            referrer_organisation_id: "gp".into(),
            status,
            link_worker_organisation_id: service.map(str::to_owned),
            routing_rule_id: None,
            unroutable_reason: None,
            source_channel: "api".into(),
            urgency: "routine".into(),
            safeguarding_concern: false,
            needs: vec![],
            postcode_district: "LS6".into(),
            age_band: "25-34".into(),
            share_details: false,
            person: Some(PersonSummary {
                given_name: "A".into(),
                family_name: "B".into(),
                birth_date: "1990-01-01".into(),
            }),
            erased: false,
            nhs_number_key: key.map(str::to_owned),
            reply_to: None,
            possible_duplicate_of: vec![],
            first_contact_at: None,
            outcomes: vec![],
            received_at: OffsetDateTime::UNIX_EPOCH,
            updated_at: OffsetDateTime::UNIX_EPOCH,
            // Received in the reverse order of their ids, so log order is not id order.
            received_sequence: 100 - n as u64,
            last_sequence: 100 - n as u64,
        }
    }

    fn rows(list: Vec<ReferralRow>) -> HashMap<Uuid, ReferralRow> {
        list.into_iter().map(|r| (r.referral_id, r)).collect()
    }

    #[test]
    fn open_referrals_of_the_same_person_at_the_same_service_in_log_order() {
        let rows = rows(vec![
            row(1, Some("p"), Some("svc"), Status::Received), // being routed
            row(2, Some("p"), Some("svc"), Status::Routed),
            row(3, Some("p"), Some("svc"), Status::InProgress),
            row(4, Some("p"), Some("svc"), Status::Closed),
            row(5, Some("p"), Some("other"), Status::Accepted),
            row(6, Some("q"), Some("svc"), Status::Routed),
            row(7, Some("p"), None, Status::Unroutable),
            row(8, Some("p"), Some("svc"), Status::Withdrawn),
            row(9, Some("p"), Some("svc"), Status::Declined),
            row(10, None, Some("svc"), Status::Routed),
        ]);
        let people = People::index(&rows);
        let found = people.possible_duplicates(&rows, Uuid::from_u128(1), "svc");
        // 3 was received before 2.
        assert_eq!(found, vec![Uuid::from_u128(3), Uuid::from_u128(2)]);
        assert_eq!(
            people.possible_duplicates(&rows, Uuid::from_u128(1), "other"),
            vec![Uuid::from_u128(5)]
        );
        assert!(
            people
                .possible_duplicates(&rows, Uuid::from_u128(1), "nowhere")
                .is_empty()
        );
    }

    #[test]
    fn no_nhs_number_no_duplicates_and_never_itself() {
        let rows = rows(vec![
            row(1, None, Some("svc"), Status::Routed),
            row(2, None, Some("svc"), Status::Routed),
            row(3, Some("p"), Some("svc"), Status::Routed),
        ]);
        let people = People::index(&rows);
        assert!(
            people
                .possible_duplicates(&rows, Uuid::from_u128(1), "svc")
                .is_empty()
        );
        assert!(
            people
                .possible_duplicates(&rows, Uuid::from_u128(3), "svc")
                .is_empty()
        );
        assert!(
            people
                .possible_duplicates(&rows, Uuid::from_u128(99), "svc")
                .is_empty(),
            "a referral not in memory"
        );
    }

    #[test]
    fn a_referral_whose_person_was_corrected_to_another_number_is_no_longer_theirs() {
        let mut all = rows(vec![
            row(1, Some("p"), Some("svc"), Status::Received),
            row(2, Some("p"), Some("svc"), Status::Routed),
        ]);
        let mut people = People::index(&all);
        let two = all.get_mut(&Uuid::from_u128(2)).unwrap();
        two.nhs_number_key = Some("q".into());
        people.add(two);
        assert!(
            people
                .possible_duplicates(&all, Uuid::from_u128(1), "svc")
                .is_empty()
        );
        let three = row(3, Some("q"), Some("svc"), Status::Received);
        all.insert(three.referral_id, three);
        assert_eq!(
            people.possible_duplicates(&all, Uuid::from_u128(3), "svc"),
            vec![Uuid::from_u128(2)]
        );
    }

    #[test]
    fn adding_a_row_twice_lists_it_once() {
        let mut all = rows(vec![
            row(1, Some("p"), Some("svc"), Status::Received),
            row(2, Some("p"), Some("svc"), Status::Routed),
        ]);
        let mut people = People::index(&all);
        people.add(&all[&Uuid::from_u128(2)]);
        let late = row(3, Some("p"), Some("svc"), Status::Routed);
        people.add(&late);
        all.insert(late.referral_id, late);
        assert_eq!(
            people.possible_duplicates(&all, Uuid::from_u128(1), "svc"),
            vec![Uuid::from_u128(3), Uuid::from_u128(2)]
        );
    }
}
