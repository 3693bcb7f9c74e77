//! The caseload read model: every referral routed to a link-worker service, one row per
//! case, folded from `referral.*` and `case.*` events with the same [`Case::apply`] the
//! commands use.
//!
//! A batch is applied set-wise: one `SELECT` loads the cases the batch touches, the fold
//! runs in memory, and one `INSERT ... SELECT FROM UNNEST(..) ON CONFLICT DO UPDATE` writes
//! them back. Columns hold what the caseload filters and sorts on; `record` holds the whole
//! folded case (including the person's details, shown only to the routed organisation).

use std::collections::HashMap;

use linkway_events::Event;
use linkway_platform::projection::ProjectionError;
use linkway_platform::{Projected, Projection};
use time::{Date, OffsetDateTime};
use tokio_postgres::Transaction;
use uuid::Uuid;

use crate::case::Case;

/// The caseload projection (schema `caseload`).
pub struct Caseload;

impl Projection for Caseload {
    const NAME: &'static str = "caseload";
    /// 2: contacts and safeguarding concerns kept in the record. 3: `record` is `json`
    /// (stored as written; nothing queries inside it, and `jsonb` costs a parse per write),
    /// compressed with lz4 (pglz was a fifth of PostgreSQL's time in a replay). 4: the
    /// case's timeline (`history`) kept in the record. 5: a correction moves the district
    /// and age band; connections keep their reminder and decline reason (a v1 decline reads
    /// as `not_recorded`), cases their appointments: rebuilt, so no stored record lacks them.
    const VERSION: i32 = 5;
    const TABLES: &'static str = "
        CREATE TABLE IF NOT EXISTS cases (
            referral_id                  uuid PRIMARY KEY,
            organisation_id              text,
            state                        text NOT NULL,
            open                         boolean NOT NULL,
            link_worker_id               text,
            received_at                  timestamptz,
            last_contact_at              timestamptz,
            next_review_date             date,
            safeguarding                 boolean NOT NULL,
            oldest_pending_connection_at timestamptz,
            last_case_sequence           bigint NOT NULL,
            record                       json COMPRESSION lz4 NOT NULL
        );
        CREATE INDEX IF NOT EXISTS cases_by_organisation ON cases (organisation_id, state);";

    fn reads(aggregate_kind: &str) -> bool {
        matches!(aggregate_kind, "referral" | "case" | "person")
    }

    async fn apply(
        &self,
        tx: &Transaction<'_>,
        batch: &[Projected],
    ) -> Result<(), ProjectionError> {
        let Some((ids, cases)) = fold_batch(tx, batch, Caseload::NAME).await? else {
            return Ok(());
        };
        let rows: Vec<&Case> = ids.iter().filter_map(|id| cases.get(id)).collect();
        Ok(write(tx, &rows).await?)
    }
}

/// The cases `batch` touches (in first-seen order), read from the `cases` table of the
/// projection `projection` (in its schema: the transaction's search path) and with the
/// batch folded in by [`Case::apply`]; `None` when it touches none. Shared by every
/// projection that keeps folded cases (the caseload, the inbox).
pub(crate) async fn fold_batch(
    tx: &Transaction<'_>,
    batch: &[Projected],
    projection: &str,
) -> Result<Option<(Vec<Uuid>, HashMap<Uuid, Case>)>, ProjectionError> {
    let mut seen = std::collections::HashSet::new();
    let ids: Vec<Uuid> = batch
        .iter()
        .filter_map(case_id)
        .filter(|id| seen.insert(*id))
        .collect();
    if ids.is_empty() {
        return Ok(None);
    }
    let mut cases: HashMap<Uuid, Case> = HashMap::with_capacity(ids.len());
    for row in tx
        .query(
            "SELECT referral_id, record::text FROM cases WHERE referral_id = ANY($1)",
            &[&ids],
        )
        .await?
    {
        let id: Uuid = row.get(0);
        let record: &str = row.get(1);
        // Records are written by this code only, and a change of their shape bumps VERSION
        // (a full rebuild), so an unreadable one is a bug. Starting the case afresh would
        // lose it: park the event (the runner isolates it from the rest of the batch) and
        // leave the row as it is for a rebuild to mend. The reason names the case and
        // where the record broke, never its content (personal details).
        match serde_json::from_str(record) {
            Ok(case) => {
                cases.insert(id, case);
            }
            Err(e) => {
                let reason = format!(
                    "unreadable {projection} record for case {id} ({:?} error: {}); rebuild the {projection}",
                    e.classify(),
                    if e.is_data() {
                        "a field of the wrong shape"
                    } else {
                        "bad JSON"
                    }
                );
                tracing::error!(%reason, projection, "case record unreadable");
                return Err(ProjectionError::Park(reason));
            }
        }
    }
    for p in batch {
        if let Some(id) = case_id(p) {
            cases.entry(id).or_insert_with(|| Case::new(id)).apply(
                p.sequence,
                p.envelope.occurred_at,
                &p.event,
            );
        }
    }
    Ok(Some((ids, cases)))
}

/// The case an event belongs to: referral and case aggregates share the referral's id.
fn case_id(p: &Projected) -> Option<Uuid> {
    match &p.event {
        Event::Referral(_) | Event::Case(_) | Event::Person(_) => {
            p.envelope.aggregate_id.parse().ok()
        }
        Event::Registry(_) | Event::Audit(_) => None,
    }
}

async fn write(tx: &Transaction<'_>, cases: &[&Case]) -> Result<(), tokio_postgres::Error> {
    let ids: Vec<Uuid> = cases.iter().map(|c| c.referral_id).collect();
    let orgs: Vec<Option<&str>> = cases.iter().map(|c| c.organisation_id.as_deref()).collect();
    let states: Vec<&str> = cases.iter().map(|c| c.state.as_str()).collect();
    let open: Vec<bool> = cases.iter().map(|c| c.state.is_open()).collect();
    let workers: Vec<Option<&str>> = cases.iter().map(|c| c.link_worker_id.as_deref()).collect();
    let received: Vec<Option<OffsetDateTime>> = cases.iter().map(|c| c.received_at).collect();
    let contact: Vec<Option<OffsetDateTime>> = cases.iter().map(|c| c.last_contact_at).collect();
    let review: Vec<Option<Date>> = cases
        .iter()
        .map(|c| c.plan.as_ref().map(|p| p.review_date))
        .collect();
    let safeguarding: Vec<bool> = cases.iter().map(|c| c.safeguarding()).collect();
    let pending: Vec<Option<OffsetDateTime>> = cases
        .iter()
        .map(|c| c.oldest_pending_connection())
        .collect();
    let sequences: Vec<i64> = cases.iter().map(|c| c.last_case_sequence as i64).collect();
    // Serialised straight to text: no `serde_json::Value` tree on the way.
    let records: Vec<String> = cases
        .iter()
        .map(|c| serde_json::to_string(c).expect("a case always serialises"))
        .collect();
    tx.execute(
        "INSERT INTO cases SELECT * FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::bool[], $5::text[],
             $6::timestamptz[], $7::timestamptz[], $8::date[], $9::bool[], $10::timestamptz[], $11::bigint[],
             $12::text[]::json[])
         ON CONFLICT (referral_id) DO UPDATE SET organisation_id = EXCLUDED.organisation_id,
             state = EXCLUDED.state, open = EXCLUDED.open, link_worker_id = EXCLUDED.link_worker_id,
             received_at = EXCLUDED.received_at, last_contact_at = EXCLUDED.last_contact_at,
             next_review_date = EXCLUDED.next_review_date, safeguarding = EXCLUDED.safeguarding,
             oldest_pending_connection_at = EXCLUDED.oldest_pending_connection_at,
             last_case_sequence = EXCLUDED.last_case_sequence, record = EXCLUDED.record",
        &[
            &ids,
            &orgs,
            &states,
            &open,
            &workers,
            &received,
            &contact,
            &review,
            &safeguarding,
            &pending,
            &sequences,
            &records,
        ],
    )
    .await?;
    Ok(())
}

/// Loads one case from the read model, if it is routed to `organisation_id`.
pub async fn case_for(
    client: &tokio_postgres::Client,
    referral_id: Uuid,
    organisation_id: &str,
) -> Result<Option<Case>, tokio_postgres::Error> {
    let row = client
        .query_opt(
            "SELECT record FROM caseload.cases WHERE referral_id = $1 AND organisation_id = $2",
            &[&referral_id, &organisation_id],
        )
        .await?;
    Ok(row.and_then(|r| serde_json::from_value(r.get(0)).ok()))
}
