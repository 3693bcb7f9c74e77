//! The inbox read model (schema `inbox`): one row per onward connection, with ONLY the
//! details its service was sent, for the community services that answer for it.
//!
//! Each referral's case is folded here with the same [`Case::apply`] the commands use
//! (its own copy in `inbox.cases`, so this projection never reads another's tables), and
//! every connection of a case a batch touches is written again from it: an answer, a
//! reminder, a correction of the person's details or an erasure (which empties the
//! shared details) all reach the rows in the batch's transaction.

use linkway_platform::projection::ProjectionError;
use linkway_platform::{Projected, Projection};
use time::OffsetDateTime;
use tokio_postgres::Transaction;
use uuid::Uuid;

use super::item::{InboxItem, items_of};
use crate::case::Case;

/// The inbox projection.
pub struct Inbox;

impl Projection for Inbox {
    const NAME: &'static str = "inbox";
    const VERSION: i32 = 1;
    const TABLES: &'static str = "
        CREATE TABLE IF NOT EXISTS cases (
            referral_id uuid PRIMARY KEY,
            record      json COMPRESSION lz4 NOT NULL
        );
        CREATE TABLE IF NOT EXISTS connections (
            connection_id  uuid PRIMARY KEY,
            referral_id    uuid NOT NULL,
            service_id     text NOT NULL,
            status         text NOT NULL,
            made_at        timestamptz NOT NULL,
            item           json COMPRESSION lz4 NOT NULL
        );
        CREATE INDEX IF NOT EXISTS connections_by_service
            ON connections (service_id, status, made_at);";

    fn reads(aggregate_kind: &str) -> bool {
        matches!(aggregate_kind, "referral" | "case" | "person")
    }

    async fn apply(
        &self,
        tx: &Transaction<'_>,
        batch: &[Projected],
    ) -> Result<(), ProjectionError> {
        let Some((ids, cases)) = crate::caseload::fold_batch(tx, batch, Inbox::NAME).await? else {
            return Ok(());
        };
        let rows: Vec<&Case> = ids.iter().filter_map(|id| cases.get(id)).collect();
        write(tx, &rows).await?;
        Ok(())
    }
}

async fn write(tx: &Transaction<'_>, cases: &[&Case]) -> Result<(), tokio_postgres::Error> {
    let ids: Vec<Uuid> = cases.iter().map(|c| c.referral_id).collect();
    let records: Vec<String> = cases
        .iter()
        .map(|c| serde_json::to_string(c).expect("a case always serialises"))
        .collect();
    tx.execute(
        "INSERT INTO cases SELECT * FROM UNNEST($1::uuid[], $2::text[]::json[])
         ON CONFLICT (referral_id) DO UPDATE SET record = EXCLUDED.record",
        &[&ids, &records],
    )
    .await?;
    let items: Vec<InboxItem> = cases.iter().flat_map(|c| items_of(c)).collect();
    if items.is_empty() {
        return Ok(());
    }
    let connection_ids: Vec<Uuid> = items.iter().map(|i| i.connection_id).collect();
    let referral_ids: Vec<Uuid> = items.iter().map(|i| i.referral_id).collect();
    let services: Vec<&str> = items.iter().map(|i| i.service_id.as_str()).collect();
    let statuses: Vec<&str> = items.iter().map(|i| status(i.status)).collect();
    let made: Vec<OffsetDateTime> = items.iter().map(|i| i.made_at).collect();
    let texts: Vec<String> = items
        .iter()
        .map(|i| serde_json::to_string(i).expect("an item always serialises"))
        .collect();
    tx.execute(
        "INSERT INTO connections SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::text[],
             $4::text[], $5::timestamptz[], $6::text[]::json[])
         ON CONFLICT (connection_id) DO UPDATE SET status = EXCLUDED.status,
             item = EXCLUDED.item",
        &[
            &connection_ids,
            &referral_ids,
            &services,
            &statuses,
            &made,
            &texts,
        ],
    )
    .await?;
    Ok(())
}

/// A status's code, as the API spells it.
pub fn status(s: crate::case::ConnectionStatus) -> &'static str {
    use crate::case::ConnectionStatus::*;
    match s {
        Pending => "pending",
        Accepted => "accepted",
        Declined => "declined",
        Attended => "attended",
    }
}
