//! Intake's SQL, as typed functions the handlers call: reads of the `referrals` read model
//! and of intake's copy of the registry (routing rules, organisations by code), and the
//! `inbound_messages` log of FHIR messages. Nothing here writes a read-model table: only
//! the projection ([`crate::read_model`]) does.

use linkway_platform::ApiError;
use tokio_postgres::Client;
use uuid::Uuid;

use crate::api::TimelineItem;
use crate::read_model::ReferralRow;
use crate::routing;

/// A read that failed: the database, or a stored row that no longer reads as its type.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error(transparent)]
    Db(#[from] tokio_postgres::Error),
    #[error("unreadable read-model row: {0}")]
    Row(#[from] serde_json::Error),
}

impl From<QueryError> for ApiError {
    fn from(e: QueryError) -> ApiError {
        match e {
            QueryError::Db(e) => e.into(),
            QueryError::Row(e) => ApiError::Internal(e.into()),
        }
    }
}

/// One referral's row of the read model, whoever sent it.
pub async fn referral(client: &Client, id: Uuid) -> Result<Option<ReferralRow>, QueryError> {
    let row = client
        .query_opt(
            "SELECT row FROM referrals.referrals WHERE referral_id = $1",
            &[&id],
        )
        .await?;
    Ok(row.map(|r| serde_json::from_value(r.get(0))).transpose()?)
}

/// A referral's timeline, oldest first.
pub async fn timeline(
    client: &Client,
    id: Uuid,
) -> Result<Vec<TimelineItem>, tokio_postgres::Error> {
    let rows = client
        .query(
            "SELECT sequence, kind, occurred_at, detail FROM referrals.timeline
             WHERE referral_id = $1 ORDER BY sequence",
            &[&id],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| TimelineItem {
            sequence: r.get::<_, i64>(0) as u64,
            kind: r.get(1),
            occurred_at: r.get(2),
            detail: r.get(3),
        })
        .collect())
}

/// A page of `listReferrals`, and how many match in all.
pub struct ReferralPage {
    pub rows: Vec<ReferralRow>,
    pub total: i64,
}

/// Referrals newest first, of one referring organisation (`None`: all) and one status
/// (`None`: any).
pub async fn referral_page(
    client: &Client,
    referrer: Option<&str>,
    status: Option<&str>,
    limit: i64,
    offset: i64,
) -> Result<ReferralPage, QueryError> {
    let rows = client
        .query(
            "SELECT row, count(*) OVER () FROM referrals.referrals
             WHERE ($1::text IS NULL OR referrer_organisation_id = $1)
               AND ($2::text IS NULL OR status = $2)
             ORDER BY received_at DESC, referral_id
             LIMIT $3 OFFSET $4",
            &[&referrer, &status, &limit, &offset],
        )
        .await?;
    let total = rows.first().map_or(0, |r| r.get::<_, i64>(1));
    let rows = rows
        .iter()
        .map(|r| serde_json::from_value(r.get(0)))
        .collect::<Result<Vec<ReferralRow>, _>>()?;
    Ok(ReferralPage { rows, total })
}

/// How many referrals no rule matched are waiting (the `linkway_unroutable_referrals` gauge).
pub async fn unroutable_count(client: &Client) -> Result<i64, QueryError> {
    Ok(client
        .query_one(
            "SELECT count(*) FROM referrals.referrals WHERE status = 'unroutable'",
            &[],
        )
        .await?
        .get(0))
}

/// Referrals no rule matched, oldest first.
pub async fn unroutable_referrals(client: &Client) -> Result<Vec<ReferralRow>, QueryError> {
    let rows = client
        .query(
            "SELECT row FROM referrals.referrals WHERE status = 'unroutable' ORDER BY received_at, referral_id",
            &[],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| serde_json::from_value(r.get(0)))
        .collect::<Result<Vec<ReferralRow>, _>>()?)
}

/// The routing rules that could match a referral from `referrer` in postcode `district`
/// (intake's copy of the registry); rules of a kind this version does not know are left out.
pub async fn routing_rules(
    client: &deadpool_postgres::Client,
    referrer: &str,
    district: &str,
) -> Result<Vec<routing::Rule>, tokio_postgres::Error> {
    // Every submit asks this: prepared once per connection, not parsed each time.
    let statement = client
        .prepare_cached(
            "SELECT rule_id, link_worker_organisation_id, criterion_kind, criterion_value, priority
             FROM registry.routing_rules
             WHERE (criterion_kind = 'referring_organisation' AND criterion_value = $1)
                OR (criterion_kind = 'postcode_district' AND upper(criterion_value) = upper($2))",
        )
        .await?;
    let rows = client.query(&statement, &[&referrer, &district]).await?;
    Ok(rows
        .iter()
        .filter_map(|r| {
            Some(routing::Rule {
                rule_id: r.get(0),
                link_worker_organisation_id: r.get(1),
                criterion: routing::Criterion::parse(r.get(2))?,
                value: r.get(3),
                priority: r.get(4),
            })
        })
        .collect())
}

/// The registered organisation an identifier names: by its ODS/charity code, or Linkway id
/// (a code match wins).
pub async fn organisation_by_identifier(
    client: &Client,
    identifier: &str,
) -> Result<Option<String>, tokio_postgres::Error> {
    let row = client
        .query_opt(
            "SELECT organisation_id FROM registry.organisations
             WHERE code = $1 OR organisation_id = $1
             ORDER BY (code = $1) DESC LIMIT 1",
            &[&identifier],
        )
        .await?;
    Ok(row.map(|r| r.get(0)))
}

/// One FHIR message an authenticated caller sent, as `inbound_messages` keeps it.
pub struct InboundMessage<'a> {
    pub caller_organisation_id: &'a str,
    pub bundle_id: Option<&'a str>,
    pub message_header_id: Option<&'a str>,
    pub event_code: Option<&'a str>,
    pub sender_identifier: Option<&'a str>,
    pub sender_organisation_id: Option<&'a str>,
    pub source_endpoint: Option<&'a str>,
    pub source_software: Option<&'a str>,
    pub http_status: i16,
    /// `accepted`, `repeat` or `refused`.
    pub outcome: &'a str,
    pub referral_id: Option<Uuid>,
}

/// Keeps a FHIR message in `inbound_messages` (bookkeeping, not a read model).
pub async fn record_inbound_message(
    client: &Client,
    m: &InboundMessage<'_>,
) -> Result<(), tokio_postgres::Error> {
    client
        .execute(
            "INSERT INTO inbound_messages (caller_organisation_id, bundle_id, message_header_id, event_code,
                sender_identifier, sender_organisation_id, source_endpoint, source_software,
                http_status, outcome, referral_id)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            &[
                &m.caller_organisation_id,
                &m.bundle_id,
                &m.message_header_id,
                &m.event_code,
                &m.sender_identifier,
                &m.sender_organisation_id,
                &m.source_endpoint,
                &m.source_software,
                &m.http_status,
                &m.outcome,
                &m.referral_id,
            ],
        )
        .await?;
    Ok(())
}
