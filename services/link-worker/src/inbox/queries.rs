//! The inbox's SQL: a page of the connections sent to some directory services, and one.

use linkway_platform::ApiError;
use tokio_postgres::Client;
use uuid::Uuid;

use super::item::InboxItem;

/// One page of the inbox and how many rows match in all.
pub struct InboxRows {
    pub total: i64,
    pub items: Vec<InboxItem>,
}

/// The connections sent to `services` (only `status`, when given): those awaiting an
/// answer first, then the oldest first.
pub async fn page(
    client: &Client,
    services: &[String],
    status: Option<&str>,
    limit: i64,
    offset: i64,
) -> Result<InboxRows, ApiError> {
    let total: i64 = client
        .query_one(
            "SELECT count(*) FROM inbox.connections
             WHERE service_id = ANY($1) AND ($2::text IS NULL OR status = $2)",
            &[&services, &status],
        )
        .await?
        .get(0);
    let rows = client
        .query(
            "SELECT item::text FROM inbox.connections
             WHERE service_id = ANY($1) AND ($2::text IS NULL OR status = $2)
             ORDER BY (status = 'pending') DESC, made_at, connection_id
             LIMIT $3 OFFSET $4",
            &[&services, &status, &limit, &offset],
        )
        .await?;
    let items = rows
        .iter()
        .map(|r| serde_json::from_str(r.get::<_, &str>(0)))
        .collect::<Result<_, _>>()
        .map_err(unreadable)?;
    Ok(InboxRows { total, items })
}

/// One connection of `referral_id`, if it was sent to one of `services`.
pub async fn item(
    client: &Client,
    services: &[String],
    referral_id: Uuid,
    connection_id: Uuid,
) -> Result<Option<InboxItem>, ApiError> {
    let row = client
        .query_opt(
            "SELECT item::text FROM inbox.connections
             WHERE connection_id = $1 AND referral_id = $2 AND service_id = ANY($3)",
            &[&connection_id, &referral_id, &services],
        )
        .await?;
    Ok(match row {
        Some(r) => Some(serde_json::from_str(r.get::<_, &str>(0)).map_err(unreadable)?),
        None => None,
    })
}

/// A row this code wrote and cannot read back: a bug, said without the row's content.
fn unreadable(e: serde_json::Error) -> ApiError {
    ApiError::Internal(anyhow::anyhow!(
        "unreadable inbox row ({:?}); rebuild the inbox",
        e.classify()
    ))
}
