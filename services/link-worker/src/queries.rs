//! The link-worker's SQL for its HTTP queries, as typed functions: a page of the caseload
//! read model with its counts. Nothing here writes a read-model table: only the projection
//! ([`crate::caseload`]) does (it also reads one case, [`crate::caseload::case_for`], with
//! the same fold).

use std::collections::BTreeMap;

use serde_json::Value;
use time::OffsetDateTime;
use tokio_postgres::Client;

use crate::api::CaseloadSort;

/// The caseload's filters, as `getCaseload` parsed them.
pub struct CaseloadFilter<'a> {
    /// The caller's organisation: only cases routed to it.
    pub organisation_id: &'a str,
    pub link_worker: Option<&'a str>,
    pub safeguarding: Option<bool>,
    pub include_closed: bool,
    pub connection_overdue: Option<bool>,
    /// An onward connection unanswered since before this is overdue.
    pub overdue_before: OffsetDateTime,
    /// Case states (`None`: any).
    pub states: Option<Vec<String>>,
}

/// A page of the caseload, with the counts shown beside it.
pub struct CaseloadRows {
    /// Cases matching the filters (all pages).
    pub total: i64,
    /// The page's cases as the read model stores them (`Case` as JSON).
    pub records: Vec<Value>,
    /// Cases per state, with every filter but the states applied.
    pub counts_by_state: BTreeMap<String, i64>,
    /// Cases per link worker (`""` for unassigned), with every filter applied.
    pub counts_by_link_worker: BTreeMap<String, i64>,
}

/// The `ORDER BY` of a sort key (the referral id breaks ties).
fn order_by(sort: CaseloadSort, descending: bool) -> String {
    let order = match sort {
        CaseloadSort::DaysWaiting => "received_at ASC NULLS LAST",
        CaseloadSort::LastContact => "last_contact_at ASC NULLS FIRST",
        CaseloadSort::NextReview => "next_review_date ASC NULLS LAST",
        CaseloadSort::State => "state ASC",
    };
    if descending {
        order
            .replace("ASC", "DESC")
            .replace("NULLS LAST", "NULLS X")
            .replace("NULLS FIRST", "NULLS LAST")
            .replace("NULLS X", "NULLS FIRST")
    } else {
        order.to_owned()
    }
}

/// Open cases, of every organisation, with an onward connection unanswered since before
/// `before` (the `linkway_connections_overdue` gauge).
pub async fn overdue_connection_cases(
    client: &Client,
    before: OffsetDateTime,
) -> Result<i64, tokio_postgres::Error> {
    Ok(client
        .query_one(
            "SELECT count(*) FROM caseload.cases WHERE open AND oldest_pending_connection_at < $1",
            &[&before],
        )
        .await?
        .get(0))
}

/// One page of an organisation's caseload, filtered and sorted, and its counts.
pub async fn caseload_page(
    client: &Client,
    filter: &CaseloadFilter<'_>,
    sort: CaseloadSort,
    descending: bool,
    limit: i64,
    offset: i64,
) -> Result<CaseloadRows, tokio_postgres::Error> {
    let order = order_by(sort, descending);
    let common = "organisation_id = $1 AND ($2::text IS NULL OR link_worker_id = $2)
        AND ($3::bool IS NULL OR safeguarding = $3) AND (open OR $4)
        AND ($5::bool IS NULL OR COALESCE(oldest_pending_connection_at < $6, false) = $5)";
    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 7] = [
        &filter.organisation_id,
        &filter.link_worker,
        &filter.safeguarding,
        &filter.include_closed,
        &filter.connection_overdue,
        &filter.overdue_before,
        &filter.states,
    ];
    let filtered = format!("{common} AND ($7::text[] IS NULL OR state = ANY($7))");
    let total: i64 = client
        .query_one(
            &format!("SELECT count(*) FROM caseload.cases WHERE {filtered}"),
            &params,
        )
        .await?
        .get(0);
    let mut page_params = params.to_vec();
    page_params.push(&limit);
    page_params.push(&offset);
    let rows = client
        .query(
            &format!(
                "SELECT record FROM caseload.cases WHERE {filtered} ORDER BY {order}, referral_id LIMIT $8 OFFSET $9"
            ),
            &page_params,
        )
        .await?;
    let counts = client
        .query(
            &format!("SELECT state, count(*) FROM caseload.cases WHERE {common} GROUP BY state"),
            &params[..6],
        )
        .await?;
    let per_worker = client
        .query(
            &format!(
                "SELECT COALESCE(link_worker_id, ''), count(*) FROM caseload.cases WHERE {filtered}
                 GROUP BY link_worker_id"
            ),
            &params,
        )
        .await?;
    Ok(CaseloadRows {
        total,
        records: rows.iter().map(|r| r.get(0)).collect(),
        counts_by_state: counts.iter().map(|r| (r.get(0), r.get(1))).collect(),
        counts_by_link_worker: per_worker.iter().map(|r| (r.get(0), r.get(1))).collect(),
    })
}

/// A person of the organisation who holds cases, as the registry knows them.
pub struct LinkWorker {
    pub user_id: String,
    pub display_name: String,
}

/// The organisation's active link workers, by name (the registry projected here).
pub async fn link_workers(
    client: &Client,
    organisation_id: &str,
) -> Result<Vec<LinkWorker>, tokio_postgres::Error> {
    let rows = client
        .query(
            "SELECT user_id::text, display_name FROM registry.users
             WHERE organisation_id = $1 AND active AND 'link_worker' = ANY(roles)
             ORDER BY display_name, user_id",
            &[&organisation_id],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| LinkWorker {
            user_id: r.get(0),
            display_name: r.get(1),
        })
        .collect())
}

/// One link worker's open cases, as the team page counts them (no person's details).
pub struct Workload {
    /// `""` for cases no one holds.
    pub link_worker_id: String,
    pub open: i64,
    /// Days since the referral of the longest-waiting open case.
    pub longest_wait_days: i64,
    /// Mean days waiting of the open cases.
    pub mean_wait_days: f64,
    /// Open cases with an onward connection unanswered past the answer window.
    pub overdue_connections: i64,
    pub safeguarding: i64,
}

/// The organisation's open cases per link worker.
pub async fn workload(
    client: &Client,
    organisation_id: &str,
    overdue_before: OffsetDateTime,
) -> Result<Vec<Workload>, tokio_postgres::Error> {
    let rows = client
        .query(
            "SELECT COALESCE(link_worker_id, ''), count(*),
                    COALESCE(max(EXTRACT(EPOCH FROM now() - received_at)) / 86400, 0)::bigint,
                    COALESCE(avg(EXTRACT(EPOCH FROM now() - received_at)) / 86400, 0)::float8,
                    count(*) FILTER (WHERE oldest_pending_connection_at < $2),
                    count(*) FILTER (WHERE safeguarding)
             FROM caseload.cases WHERE organisation_id = $1 AND open
             GROUP BY link_worker_id ORDER BY 1",
            &[&organisation_id, &overdue_before],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| Workload {
            link_worker_id: r.get(0),
            open: r.get(1),
            longest_wait_days: r.get(2),
            mean_wait_days: r.get(3),
            overdue_connections: r.get(4),
            safeguarding: r.get(5),
        })
        .collect())
}

/// The organisation's open cases with an onward connection waiting for an answer, the
/// longest waiting first (at most `limit`), as the read model stores them.
pub async fn waiting_connections(
    client: &Client,
    organisation_id: &str,
    limit: i64,
) -> Result<Vec<Value>, tokio_postgres::Error> {
    let rows = client
        .query(
            "SELECT record FROM caseload.cases
             WHERE organisation_id = $1 AND open AND oldest_pending_connection_at IS NOT NULL
             ORDER BY oldest_pending_connection_at, referral_id LIMIT $2",
            &[&organisation_id, &limit],
        )
        .await?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}
