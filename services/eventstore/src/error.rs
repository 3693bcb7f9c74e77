use crate::Expected;

/// Why an append did not happen.
#[derive(Debug, thiserror::Error)]
pub enum AppendError {
    /// Someone else wrote to the aggregate first: reload and retry the command.
    #[error("the aggregate changed since it was read (expected {expected:?})")]
    Conflict { expected: Expected },
    #[error("`{0}` cannot be part of a subject")]
    InvalidId(String),
    #[error("event type `{event_type}` does not belong to aggregate kind `{aggregate_kind}`")]
    WrongAggregate {
        event_type: String,
        aggregate_kind: String,
    },
    /// NATS did not answer in time; the append may or may not have happened. Retrying with
    /// the same message ids is safe.
    #[error("the event log is unavailable: {0}")]
    Unavailable(String),
    /// The event has a personal part, and its person was erased: nothing personal is
    /// written for them again.
    #[error("the person was erased")]
    Erased,
}

/// Failures reading the log or managing the stream.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("NATS error during {context}: {message}")]
    Nats {
        context: &'static str,
        message: String,
    },
    #[error("event log misconfigured: {0}")]
    Misconfigured(String),
}

impl StoreError {
    pub(crate) fn nats<E: std::fmt::Display>(context: &'static str) -> impl Fn(E) -> StoreError {
        move |err| StoreError::Nats {
            context,
            message: err.to_string(),
        }
    }
}
