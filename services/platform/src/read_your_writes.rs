//! The one read-your-writes rule: a query given `?min_sequence=N` (a command's `sequence`)
//! waits at most [`WAIT`] for its read model to include event N, and otherwise answers
//! 503 with `Retry-After`: never stale data presented as current.

use std::time::Duration;

use crate::problem::ApiError;
use crate::projection::Checkpoint;

/// Longest a query waits for its read model.
pub const WAIT: Duration = Duration::from_secs(5);

/// Waits until `checkpoint` has reached `min_sequence`, if one was asked for.
pub async fn reach(checkpoint: &Checkpoint, min_sequence: Option<u64>) -> Result<(), ApiError> {
    let Some(wanted) = min_sequence else {
        return Ok(());
    };
    if checkpoint.wait_for(wanted, WAIT).await {
        Ok(())
    } else {
        Err(ApiError::Unavailable(format!(
            "the {} read model has not reached sequence {wanted} yet (it is at {}); retry shortly",
            checkpoint.name(),
            checkpoint.current()
        )))
    }
}
