//! `getOutcomeFeed`: the months of one area that changed since a cursor, each in full, as
//! JSON or CSV ([`super::csv`](mod@super::csv)).

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use linkway_platform::ApiError;
use linkway_platform::auth::Principal;
use linkway_platform::http::Query;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::AppState;
use super::csv::csv;
use super::figures::{FirstContact, Outcomes, first_contact, outcomes, reasons};
use super::params::{area_for, parse_cursor, wait_for};
use crate::Settings;
use crate::aggregate::{self, CLOSURE_REASONS, Cell, DECLINE_REASONS, Fact};
use crate::disclosure::{Figure, Rules, Table, protect_table};
use crate::queries;
use time::Date;

/// Query of `getOutcomeFeed`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FeedQuery {
    /// Commissioner area. Commissioners read their own (without it, or naming it; another is
    /// 403); administrators read the area they name, and without one are answered 403.
    pub area: Option<String>,
    /// `next_cursor` of the previous answer; absent to start from the beginning.
    pub cursor: Option<String>,
    /// Wait (at most 5 s) until the read model includes this stream sequence.
    pub min_sequence: Option<u64>,
}

/// One cell of the feed: a month x referring organisation kind x link-worker service x need.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FeedCell {
    pub month: String,
    pub referrer_kind: String,
    pub link_worker_service: String,
    pub need: String,
    /// The same count measures as the summary's, by name.
    pub counts: BTreeMap<String, Figure>,
    /// Adds up to `counts.declined` (protected together).
    pub declined_by_reason: BTreeMap<String, Figure>,
    /// Adds up to `counts.closed` (protected together).
    pub closed_by_reason: BTreeMap<String, Figure>,
    pub first_contact: FirstContact,
    pub outcomes: Outcomes,
}

/// The cells of one month: they replace everything the consumer holds for that month.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FeedMonth {
    pub month: String,
    pub cells: Vec<FeedCell>,
}

/// `getOutcomeFeed`: the months that changed since `cursor`, in full.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Feed {
    pub area: String,
    /// The cursor this answer starts after (`0` from the beginning).
    pub cursor: String,
    /// Pass as `cursor` next time to get only later changes.
    pub next_cursor: String,
    pub disclosure: Rules,
    pub months: Vec<FeedMonth>,
}

/// Builds one feed cell (pure).
fn feed_cell(settings: &Settings, key: (String, String, String, String), cell: &Cell) -> FeedCell {
    let rules = &settings.disclosure;
    let declined = protect_table(
        rules,
        &Table {
            total: cell.declined,
            breakdowns: vec![cell.declined_by_reason.to_vec()],
        },
    );
    let closed = protect_table(
        rules,
        &Table {
            total: cell.closed,
            breakdowns: vec![cell.closed_by_reason.to_vec()],
        },
    );
    let mut counts: BTreeMap<String, Figure> = cell
        .counts()
        .iter()
        .map(|(name, n)| ((*name).to_owned(), rules.count(*n)))
        .collect();
    counts.insert("declined".into(), declined.total);
    counts.insert("closed".into(), closed.total);
    let fc = first_contact(
        rules,
        cell,
        counts["first_contact_within_14_days"],
        counts["accepted"],
    );
    FeedCell {
        month: key.0,
        referrer_kind: key.1,
        link_worker_service: key.2,
        need: key.3,
        counts,
        declined_by_reason: reasons(&DECLINE_REASONS, &declined.breakdowns[0]),
        closed_by_reason: reasons(&CLOSURE_REASONS, &closed.breakdowns[0]),
        first_contact: fc,
        outcomes: outcomes(settings, cell),
    }
}

/// Builds the feed's months from the facts of those months (pure).
pub fn feed_months(settings: &Settings, months: &[Date], facts: &[Fact]) -> Vec<FeedMonth> {
    let cells = aggregate::group_by(facts, settings.first_contact_days, |f| {
        f.needs()
            .into_iter()
            .map(|need| {
                (
                    f.month_label(),
                    f.referrer_kind.clone(),
                    f.service.clone(),
                    need,
                )
            })
            .collect()
    });
    let mut by_month: BTreeMap<String, Vec<FeedCell>> = months
        .iter()
        .map(|m| (aggregate::month_label(*m), Vec::new()))
        .collect();
    for (key, cell) in cells {
        let month = key.0.clone();
        by_month
            .entry(month)
            .or_default()
            .push(feed_cell(settings, key, &cell));
    }
    by_month
        .into_iter()
        .map(|(month, cells)| FeedMonth { month, cells })
        .collect()
}

/// The outcome feed: months of one area that changed since a cursor, in full, as JSON or
/// CSV (`Accept: text/csv`). A consumer replaces everything it holds for each month in the
/// answer (a month may come back with fewer cells, or none, e.g. after a correction or an
/// organisation moving area) and keeps `next_cursor` for next time. The CSV carries the next
/// cursor in `Linkway-Next-Cursor` and the months it replaces in `Linkway-Months`.
#[utoipa::path(
    get,
    path = "/feed",
    operation_id = "getOutcomeFeed",
    tag = "reporting",
    params(FeedQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Months changed since the cursor, each in full, disclosure-controlled",
            headers(
                ("Linkway-Next-Cursor" = String, description = "The cursor to resume from"),
                ("Linkway-Months" = String, description = "Comma-separated months (YYYY-MM) this answer replaces"),
            ),
            content(
                (Feed = "application/json"),
                (String = "text/csv"),
            )
        ),
        (status = 401, description = "Missing or invalid bearer token", body = linkway_platform::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a commissioner or administrator, another commissioner's area, or an administrator naming no area", body = linkway_platform::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Bad cursor or query string, or an administrator named no area", body = linkway_platform::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable, or `min_sequence` not reached within 5 s", body = linkway_platform::Problem, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all)]
pub async fn get_outcome_feed(
    State(state): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    Query(q): Query<FeedQuery>,
) -> Result<Response, ApiError> {
    let area = area_for(&state.db, &principal, q.area.as_deref()).await?;
    let cursor = parse_cursor(q.cursor.as_deref())?;
    wait_for(&state.checkpoint, q.min_sequence).await?;
    let mut client = state.db.client().await?;
    let read = queries::feed_facts(&mut client, &area, cursor).await?;
    let feed = Feed {
        area,
        cursor: cursor.to_string(),
        next_cursor: read.next.max(cursor).to_string(),
        disclosure: state.settings.disclosure,
        months: feed_months(&state.settings, &read.months, &read.facts),
    };
    let wants_csv = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/csv"));
    if wants_csv {
        let months = feed
            .months
            .iter()
            .map(|m| m.month.as_str())
            .collect::<Vec<_>>()
            .join(",");
        let mut response = csv(&feed).into_response();
        let h = response.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/csv; charset=utf-8"),
        );
        h.insert(
            "linkway-next-cursor",
            HeaderValue::from_str(&feed.next_cursor).expect("digits"),
        );
        h.insert(
            "linkway-months",
            HeaderValue::from_str(&months).expect("months are ASCII"),
        );
        h.insert(header::VARY, HeaderValue::from_static("accept"));
        Ok(response)
    } else {
        let mut response = axum::Json(feed).into_response();
        response
            .headers_mut()
            .insert(header::VARY, HeaderValue::from_static("accept"));
        Ok(response)
    }
}
