//! The one read-your-writes rule: a query given `?min_sequence=N` (a command's `sequence`)
//! waits at most [`WAIT`] for its read model to include event N, and otherwise answers
//! 503 with `Retry-After`: never stale data presented as current. A sequence beyond the
//! end of the log is no command's answer and no wait will reach it: 409 (the request
//! conflicts with the log as it stands; no schema can state the log's end, so it is not a
//! 422 of a request the document allows), field `min_sequence`, rule `beyond_log_end`.

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
    if checkpoint.current() >= wanted {
        return Ok(());
    }
    // Every sequence a command answered is in the log before its caller knows it, so one
    // beyond the log's end was never answered. When the log does not say, wait as usual.
    if let Some(end) = checkpoint.status().await.log_end
        && wanted > end
    {
        return Err(beyond_log_end());
    }
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

fn beyond_log_end() -> ApiError {
    ApiError::conflict(
        "min_sequence",
        "beyond_log_end",
        "no event has this sequence yet: use the `sequence` a command answered",
    )
}
