//! Stored rows read back into memory, and what a row this code cannot read becomes.

use std::collections::HashMap;

use linkway_platform::projection::ProjectionError;
use uuid::Uuid;

use super::ReferralRow;

/// Adds the rows of a query's answer (one `row` column) to those in memory; a row already
/// in memory is newer than the stored one and stays.
pub(super) fn read_rows(
    found: Vec<tokio_postgres::Row>,
    rows: &mut HashMap<Uuid, ReferralRow>,
) -> Result<(), serde_json::Error> {
    for r in found {
        let row = serde_json::from_str::<ReferralRow>(r.get(0))?;
        rows.entry(row.referral_id).or_insert(row);
    }
    Ok(())
}

/// A stored row this code cannot read is a bug (its shape changed without a VERSION bump):
/// the event is parked and the row left as it was. The reason names where the row broke,
/// not the value there (a serde message can quote it, and rows hold personal details).
pub(super) fn unreadable_row(e: serde_json::Error) -> ProjectionError {
    let reason = format!(
        "unreadable intake read-model row ({:?} error at line {} column {})",
        e.classify(),
        e.line(),
        e.column()
    );
    tracing::error!(%reason, "intake read-model row unreadable");
    ProjectionError::Park(reason)
}
