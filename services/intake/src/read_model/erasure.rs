//! What erasing a person does to the timeline: the details the person agreed to share with
//! the referrer (their plan in their words, the services they were connected to) are taken
//! out of every entry of that referral, in the batch's transaction. The entries stay, with
//! their codes and dates. A rebuild reaches the same rows: the person's key is gone, so the
//! plan's words never enter, and the `person.erased` it meets purges the rest.

use linkway_events::{Event, PersonEvent};
use linkway_platform::Projected;
use linkway_platform::projection::ProjectionError;
use tokio_postgres::Transaction;
use uuid::Uuid;

/// The timeline detail keys that say something about the person.
const PERSONAL_DETAIL: [&str; 4] = ["what_matters", "goals", "service_id", "service_name"];

pub(super) async fn purge_timeline(
    tx: &Transaction<'_>,
    batch: &[Projected],
) -> Result<(), ProjectionError> {
    let erased: Vec<Uuid> = batch
        .iter()
        .filter_map(|p| match &p.event {
            Event::Person(PersonEvent::Erased(e)) => Some(e.referral_id),
            _ => None,
        })
        .collect();
    if erased.is_empty() {
        return Ok(());
    }
    let keys: Vec<&str> = PERSONAL_DETAIL.to_vec();
    tx.execute(
        "UPDATE timeline SET detail = (detail::jsonb - $2::text[])::json
          WHERE referral_id = ANY($1) AND detail::jsonb ?| $2::text[]",
        &[&erased, &keys],
    )
    .await?;
    Ok(())
}
