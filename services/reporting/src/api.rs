//! HTTP: `getSummary` (dashboards) and `getOutcomeFeed` (commissioners' systems).
//!
//! Every answer is about one commissioner area and is disclosure-controlled
//! ([`crate::disclosure`]); nothing in it is about a person. A commissioner sees only its
//! own organisation's area; an administrator names the area; every other role gets 403.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{FromRef, Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use linkway_events::Role;
use linkway_platform::auth::Principal;
use linkway_platform::{ApiError, Checkpoint, Database, FieldError, registry};
use serde::{Deserialize, Serialize};
use time::Date;
use utoipa::{IntoParams, ToSchema};

use crate::Settings;
use crate::aggregate::{self, CLOSURE_REASONS, Cell, DECLINE_REASONS, Fact};
use crate::disclosure::{Figure, Rules, Statistic, Table, percentage, protect_table};
use crate::projection;

/// Shared by the handlers.
#[derive(Clone)]
pub struct AppState {
    /// This service's database (registry and reporting schemas).
    pub db: Database,
    /// How far the reporting projection has got, for `min_sequence`.
    pub checkpoint: Checkpoint,
    /// Disclosure rules and outcome thresholds.
    pub settings: Arc<Settings>,
}

impl FromRef<AppState> for Database {
    fn from_ref(state: &AppState) -> Database {
        state.db.clone()
    }
}

/// Query of `getSummary`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SummaryQuery {
    /// Commissioner area; administrators must give it, commissioners may only give their own.
    pub area: Option<String>,
    /// First month, `YYYY-MM` (inclusive).
    pub from: Option<String>,
    /// Last month, `YYYY-MM` (inclusive).
    pub to: Option<String>,
    /// Wait (at most 5 s) until the read model includes this stream sequence.
    pub min_sequence: Option<u64>,
}

/// Query of `getOutcomeFeed`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FeedQuery {
    /// Commissioner area; administrators must give it, commissioners may only give their own.
    pub area: Option<String>,
    /// `next_cursor` of the previous answer; absent to start from the beginning.
    pub cursor: Option<String>,
    /// Wait (at most 5 s) until the read model includes this stream sequence.
    pub min_sequence: Option<u64>,
}

/// A count measure with its breakdowns; each breakdown except `by_need` adds up to `total`
/// and is protected together with it (secondary suppression).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Measure {
    pub total: Figure,
    /// By month of referral (`YYYY-MM`).
    pub by_month: BTreeMap<String, Figure>,
    /// By kind of referring organisation.
    pub by_referrer_kind: BTreeMap<String, Figure>,
    /// By link-worker service (organisation id; `unrouted` before routing).
    pub by_link_worker_service: BTreeMap<String, Figure>,
    /// By reason (declined and closed only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub by_reason: Option<BTreeMap<String, Figure>>,
    /// By need code. A referral with several needs counts under each; when every referral
    /// has one need, the needs add up to the total and are protected with it.
    pub by_need: BTreeMap<String, Figure>,
}

/// How fast people were first seen.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FirstContact {
    /// First contact within 14 days as a percentage of accepted referrals (shown figures).
    pub percent_within_14_days: Option<Statistic>,
    /// Median days from referral to first contact.
    pub median_days: Option<Statistic>,
}

/// ONS4 item means.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Ons4Items {
    pub life_satisfaction: Option<Statistic>,
    pub worthwhile: Option<Statistic>,
    pub happy: Option<Statistic>,
    pub anxious: Option<Statistic>,
}

/// SWEMWBS, per person with a baseline and a later score.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SwemwbsOutcome {
    pub people: Figure,
    /// Mean change of the metric score (latest - baseline).
    pub mean_change: Option<Statistic>,
    /// People whose metric score rose by at least `meaningful_change`.
    pub improved: Figure,
    pub percent_improved: Option<Statistic>,
    pub meaningful_change: f64,
}

/// ONS4, per person with a baseline and a later answer.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Ons4Outcome {
    pub people: Figure,
    pub baseline_means: Ons4Items,
    pub latest_means: Ons4Items,
}

/// UCLA 3-item loneliness, per person with a baseline and a later score (lower is better).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Ucla3Outcome {
    pub people: Figure,
    pub mean_change: Option<Statistic>,
}

/// Outcome measures, baseline against latest.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Outcomes {
    pub swemwbs: SwemwbsOutcome,
    pub ons4: Ons4Outcome,
    pub ucla3: Ucla3Outcome,
}

/// `getSummary`: one area's figures for a dashboard.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Summary {
    pub area: String,
    pub from: Option<String>,
    pub to: Option<String>,
    /// The figures include every event up to this stream sequence.
    pub sequence: u64,
    pub disclosure: Rules,
    /// Count measures by name: referrals, routed, accepted, declined, not_contactable,
    /// first_contact_made, first_contact_within_14_days, plans_agreed, connections_made,
    /// connections_accepted, connections_attended, closed, withdrawn.
    pub measures: BTreeMap<String, Measure>,
    pub first_contact: FirstContact,
    pub outcomes: Outcomes,
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

/// The query string, or a 422 problem naming what is wrong with it.
fn query<T>(q: Result<Query<T>, QueryRejection>) -> Result<T, ApiError> {
    q.map(|Query(q)| q).map_err(|rejection| {
        ApiError::Validation(vec![FieldError::new(
            "query",
            "schema",
            rejection.body_text(),
        )])
    })
}

/// The commissioner area the caller may read.
async fn area_for(
    db: &Database,
    principal: &Principal,
    requested: Option<&str>,
) -> Result<String, ApiError> {
    principal.require(&[Role::Commissioner, Role::Admin])?;
    if principal.role == Role::Admin {
        return requested
            .filter(|a| !a.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| {
                ApiError::field(
                    "area",
                    "required",
                    "an administrator must name the commissioner area",
                )
            });
    }
    let client = db.client().await?;
    let own = registry::organisation(&client, &principal.organisation_id)
        .await?
        .and_then(|o| o.commissioner_area)
        .ok_or(ApiError::Forbidden)?;
    match requested {
        Some(a) if a != own => Err(ApiError::Forbidden),
        _ => Ok(own),
    }
}

async fn wait_for(checkpoint: &Checkpoint, min_sequence: Option<u64>) -> Result<(), ApiError> {
    linkway_platform::read_your_writes::reach(checkpoint, min_sequence).await
}

fn parse_month(field: &str, value: Option<&str>) -> Result<Option<Date>, FieldError> {
    let Some(value) = value else { return Ok(None) };
    let bad = || FieldError::new(field, "month_format", "a month is written YYYY-MM");
    let (y, m) = value.split_once('-').ok_or_else(bad)?;
    let year: i32 = y.parse().map_err(|_| bad())?;
    let month: u8 = m.parse().map_err(|_| bad())?;
    if y.len() != 4 || m.len() != 2 {
        return Err(bad());
    }
    let month = time::Month::try_from(month).map_err(|_| bad())?;
    Date::from_calendar_date(year, month, 1)
        .map(Some)
        .map_err(|_| bad())
}

/// The journeys of area `$1` with their dimensions; `{columns}` is the journey's select list.
const FACTS_SQL: &str = "
    SELECT date_trunc('month', f.referred_on)::date,
           COALESCE(ro.kind, 'unknown'), COALESCE(f.link_worker_org, 'unrouted'), {columns}
    FROM reporting.referrals f
    LEFT JOIN reporting.organisations ro ON ro.organisation_id = f.referrer_org
    LEFT JOIN reporting.organisations lo ON lo.organisation_id = f.link_worker_org
    WHERE f.referred_on IS NOT NULL AND NOT f.entered_in_error
      AND COALESCE(ro.commissioner_area, lo.commissioner_area) = $1";

fn facts_sql(extra: &str) -> String {
    format!(
        "{} {extra}",
        FACTS_SQL.replace("{columns}", &projection::select_list("f"))
    )
}

fn to_fact(row: &tokio_postgres::Row) -> Fact {
    Fact {
        month: row.get(0),
        referrer_kind: row.get(1),
        service: row.get(2),
        journey: projection::read_journey(row, 3),
    }
}

async fn checkpoint_in(tx: &tokio_postgres::Transaction<'_>) -> Result<u64, ApiError> {
    let row = tx
        .query_opt(
            "SELECT last_sequence FROM projection_checkpoints WHERE projection = 'reporting'",
            &[],
        )
        .await?;
    Ok(row.map_or(0, |r| r.get::<_, i64>(0) as u64))
}

/// Measures, with the declined and closed reasons as a breakdown.
fn measure_table(
    name: &str,
    index: usize,
    all: &Cell,
    breakdowns: &[&BTreeMap<String, Cell>],
) -> Table {
    let mut groups: Vec<Vec<u64>> = breakdowns
        .iter()
        .map(|b| b.values().map(|c| c.counts()[index].1).collect())
        .collect();
    match name {
        "declined" => groups.push(all.declined_by_reason.to_vec()),
        "closed" => groups.push(all.closed_by_reason.to_vec()),
        _ => {}
    }
    Table {
        total: all.counts()[index].1,
        breakdowns: groups,
    }
}

fn labelled(keys: impl Iterator<Item = String>, figures: &[Figure]) -> BTreeMap<String, Figure> {
    keys.zip(figures.iter().copied()).collect()
}

fn reasons(names: &[&str], figures: &[Figure]) -> BTreeMap<String, Figure> {
    labelled(names.iter().map(|s| (*s).to_owned()), figures)
}

fn ons4_means(rules: &Rules, pairs: &[([i16; 4], [i16; 4])], latest: bool) -> Ons4Items {
    let item = |i: usize| {
        let value = aggregate::mean(
            pairs
                .iter()
                .map(|(b, l)| f64::from(if latest { l[i] } else { b[i] })),
        );
        rules.statistic(value, pairs.len() as u64)
    };
    Ons4Items {
        life_satisfaction: item(0),
        worthwhile: item(1),
        happy: item(2),
        anxious: item(3),
    }
}

fn outcomes(settings: &Settings, cell: &Cell) -> Outcomes {
    let rules = &settings.disclosure;
    let swemwbs_people = rules.count(cell.swemwbs_change.len() as u64);
    let improved = rules.count(cell.swemwbs_improved(settings.meaningful_swemwbs_change));
    Outcomes {
        swemwbs: SwemwbsOutcome {
            people: swemwbs_people,
            mean_change: rules.statistic(
                aggregate::mean(cell.swemwbs_change.iter().copied()),
                cell.swemwbs_change.len() as u64,
            ),
            improved,
            percent_improved: percentage(improved, swemwbs_people),
            meaningful_change: settings.meaningful_swemwbs_change,
        },
        ons4: Ons4Outcome {
            people: rules.count(cell.ons4_pairs.len() as u64),
            baseline_means: ons4_means(rules, &cell.ons4_pairs, false),
            latest_means: ons4_means(rules, &cell.ons4_pairs, true),
        },
        ucla3: Ucla3Outcome {
            people: rules.count(cell.ucla3_change.len() as u64),
            mean_change: rules.statistic(
                aggregate::mean(cell.ucla3_change.iter().map(|&c| f64::from(c))),
                cell.ucla3_change.len() as u64,
            ),
        },
    }
}

fn first_contact(rules: &Rules, cell: &Cell, within: Figure, accepted: Figure) -> FirstContact {
    FirstContact {
        percent_within_14_days: percentage(within, accepted),
        median_days: rules.statistic(
            aggregate::median(&cell.days_to_first_contact),
            cell.days_to_first_contact.len() as u64,
        ),
    }
}

/// Builds the summary of a set of facts (pure; the handler loads the facts).
pub fn summarise(
    settings: &Settings,
    area: String,
    from: Option<String>,
    to: Option<String>,
    sequence: u64,
    facts: &[Fact],
) -> Summary {
    let rules = &settings.disclosure;
    let within = settings.first_contact_days;
    let all = aggregate::group_by(facts, within, |_| vec![()])
        .remove(&())
        .unwrap_or_default();
    let by_month = aggregate::group_by(facts, within, |f| vec![f.month_label()]);
    let by_kind = aggregate::group_by(facts, within, |f| vec![f.referrer_kind.clone()]);
    let by_service = aggregate::group_by(facts, within, |f| vec![f.service.clone()]);
    let by_need = aggregate::group_by(facts, within, Fact::needs);
    let mut measures = BTreeMap::new();
    for (index, (name, _)) in all.counts().iter().enumerate() {
        let mut table = measure_table(name, index, &all, &[&by_month, &by_kind, &by_service]);
        let need_counts: Vec<u64> = by_need.values().map(|c| c.counts()[index].1).collect();
        // Needs add up to the total when every referral has exactly one (or none, counted
        // as `unspecified`): then they are one more breakdown to protect together.
        let needs_add_up = need_counts.iter().sum::<u64>() == table.total;
        if needs_add_up {
            table.breakdowns.push(need_counts.clone());
        }
        let shown = protect_table(rules, &table);
        let need_figures = if needs_add_up {
            shown.breakdowns.last().cloned().unwrap_or_default()
        } else {
            rules.cells(&need_counts)
        };
        let by_reason = match *name {
            "declined" => Some(reasons(&DECLINE_REASONS, &shown.breakdowns[3])),
            "closed" => Some(reasons(&CLOSURE_REASONS, &shown.breakdowns[3])),
            _ => None,
        };
        measures.insert(
            (*name).to_owned(),
            Measure {
                total: shown.total,
                by_month: labelled(by_month.keys().cloned(), &shown.breakdowns[0]),
                by_referrer_kind: labelled(by_kind.keys().cloned(), &shown.breakdowns[1]),
                by_link_worker_service: labelled(by_service.keys().cloned(), &shown.breakdowns[2]),
                by_reason,
                by_need: labelled(by_need.keys().cloned(), &need_figures),
            },
        );
    }
    let fc = first_contact(
        rules,
        &all,
        measures["first_contact_within_14_days"].total,
        measures["accepted"].total,
    );
    Summary {
        area,
        from,
        to,
        sequence,
        disclosure: *rules,
        outcomes: outcomes(settings, &all),
        first_contact: fc,
        measures,
    }
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

/// Dashboard figures for one commissioner area.
#[utoipa::path(
    get,
    path = "/summary",
    operation_id = "getSummary",
    tag = "reporting",
    params(SummaryQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Disclosure-controlled figures of the area", body = Summary),
        (status = 401, description = "Missing or invalid bearer token", body = linkway_platform::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a commissioner or administrator, or another commissioner's area", body = linkway_platform::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Bad month or query string, or an administrator named no area", body = linkway_platform::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable, or `min_sequence` not reached within 5 s", body = linkway_platform::Problem, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all)]
pub async fn get_summary(
    State(state): State<AppState>,
    principal: Principal,
    q: Result<Query<SummaryQuery>, QueryRejection>,
) -> Result<axum::Json<Summary>, ApiError> {
    let q = query(q)?;
    let area = area_for(&state.db, &principal, q.area.as_deref()).await?;
    let mut errors = Vec::new();
    let from = parse_month("from", q.from.as_deref()).unwrap_or_else(|e| {
        errors.push(e);
        None
    });
    let to = parse_month("to", q.to.as_deref()).unwrap_or_else(|e| {
        errors.push(e);
        None
    });
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    wait_for(&state.checkpoint, q.min_sequence).await?;
    let mut client = state.db.client().await?;
    let tx = client
        .build_transaction()
        .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await?;
    let sequence = checkpoint_in(&tx).await?;
    let sql = facts_sql(
        "AND ($2::date IS NULL OR f.referred_on >= $2)
         AND ($3::date IS NULL OR date_trunc('month', f.referred_on)::date <= $3)",
    );
    let rows = tx.query(&sql, &[&area, &from, &to]).await?;
    tx.commit().await?;
    let facts: Vec<Fact> = rows.iter().map(to_fact).collect();
    Ok(axum::Json(summarise(
        &state.settings,
        area,
        q.from,
        q.to,
        sequence,
        &facts,
    )))
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
        (status = 403, description = "Not a commissioner or administrator, or another commissioner's area", body = linkway_platform::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Bad cursor or query string, or an administrator named no area", body = linkway_platform::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable, or `min_sequence` not reached within 5 s", body = linkway_platform::Problem, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all)]
pub async fn get_outcome_feed(
    State(state): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    q: Result<Query<FeedQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let q = query(q)?;
    let area = area_for(&state.db, &principal, q.area.as_deref()).await?;
    let cursor: u64 = match q.cursor.as_deref() {
        None | Some("") => 0,
        Some(c) => c.parse().map_err(|_| {
            ApiError::field(
                "cursor",
                "cursor_format",
                "pass back a next_cursor this feed gave",
            )
        })?,
    };
    wait_for(&state.checkpoint, q.min_sequence).await?;
    let mut client = state.db.client().await?;
    let tx = client
        .build_transaction()
        .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await?;
    let next = checkpoint_in(&tx).await?;
    // Months touched since the cursor, including by referrals now entered in error (their
    // month must be replaced without them).
    let months: Vec<Date> = tx
        .query(
            "SELECT c.month
             FROM reporting.changes c
             LEFT JOIN reporting.organisations ro ON ro.organisation_id = c.referrer_org
             LEFT JOIN reporting.organisations lo ON lo.organisation_id = c.link_worker_org
             WHERE c.updated_seq > $2
               AND COALESCE(ro.commissioner_area, lo.commissioner_area) = $1
             UNION
             SELECT month FROM reporting.area_marks WHERE area = $1 AND updated_seq > $2
             ORDER BY 1",
            &[&area, &(cursor as i64)],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let rows = if months.is_empty() {
        Vec::new()
    } else {
        let sql = facts_sql("AND date_trunc('month', f.referred_on)::date = ANY($2)");
        tx.query(&sql, &[&area, &months]).await?
    };
    tx.commit().await?;
    let facts: Vec<Fact> = rows.iter().map(to_fact).collect();
    let feed = Feed {
        area,
        cursor: cursor.to_string(),
        next_cursor: next.max(cursor).to_string(),
        disclosure: state.settings.disclosure,
        months: feed_months(&state.settings, &months, &facts),
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

const ONS4_ITEMS: [&str; 4] = ["life_satisfaction", "worthwhile", "happy", "anxious"];

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

fn ons4_cells(items: &Ons4Items) -> [String; 4] {
    [
        Statistic::to_cell(&items.life_satisfaction),
        Statistic::to_cell(&items.worthwhile),
        Statistic::to_cell(&items.happy),
        Statistic::to_cell(&items.anxious),
    ]
}

/// The feed as CSV: one row per cell, a header row naming every column.
pub fn csv(feed: &Feed) -> String {
    let count_names: Vec<&str> = Cell::default().counts().iter().map(|(n, _)| *n).collect();
    let mut header: Vec<String> = ["month", "referrer_kind", "link_worker_service", "need"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    header.extend(count_names.iter().map(|s| (*s).to_owned()));
    header.extend(DECLINE_REASONS.iter().map(|r| format!("declined_{r}")));
    header.extend(CLOSURE_REASONS.iter().map(|r| format!("closed_{r}")));
    header.extend(
        [
            "percent_first_contact_within_14_days",
            "median_days_to_first_contact",
            "swemwbs_people",
            "swemwbs_mean_change",
            "swemwbs_improved",
            "swemwbs_percent_improved",
            "ons4_people",
        ]
        .iter()
        .map(|s| (*s).to_owned()),
    );
    header.extend(ONS4_ITEMS.iter().map(|i| format!("ons4_baseline_{i}")));
    header.extend(ONS4_ITEMS.iter().map(|i| format!("ons4_latest_{i}")));
    header.extend(["ucla3_people".to_owned(), "ucla3_mean_change".to_owned()]);
    let mut out = header.join(",");
    out.push('\n');
    for cell in feed.months.iter().flat_map(|m| &m.cells) {
        let mut row: Vec<String> = [
            &cell.month,
            &cell.referrer_kind,
            &cell.link_worker_service,
            &cell.need,
        ]
        .iter()
        .map(|s| csv_field(s))
        .collect();
        row.extend(count_names.iter().map(|n| cell.counts[*n].to_cell()));
        row.extend(
            DECLINE_REASONS
                .iter()
                .map(|r| cell.declined_by_reason[*r].to_cell()),
        );
        row.extend(
            CLOSURE_REASONS
                .iter()
                .map(|r| cell.closed_by_reason[*r].to_cell()),
        );
        let o = &cell.outcomes;
        row.extend([
            Statistic::to_cell(&cell.first_contact.percent_within_14_days),
            Statistic::to_cell(&cell.first_contact.median_days),
            o.swemwbs.people.to_cell(),
            Statistic::to_cell(&o.swemwbs.mean_change),
            o.swemwbs.improved.to_cell(),
            Statistic::to_cell(&o.swemwbs.percent_improved),
            o.ons4.people.to_cell(),
        ]);
        row.extend(ons4_cells(&o.ons4.baseline_means));
        row.extend(ons4_cells(&o.ons4.latest_means));
        row.extend([
            o.ucla3.people.to_cell(),
            Statistic::to_cell(&o.ucla3.mean_change),
        ]);
        out.push_str(&row.join(","));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journey::Journey;
    use time::macros::date;

    fn test_settings() -> Settings {
        Settings::new(linkway_platform::secret::Secret::new("test-pseudonym-key"))
    }

    fn fact(need: &str) -> Fact {
        Fact {
            journey: Journey {
                pseudonym: need.into(),
                referred_on: Some(date!(2026 - 01 - 05)),
                needs: vec![need.into()],
                ..Journey::default()
            },
            month: date!(2026 - 01 - 01),
            referrer_kind: "gp_practice".into(),
            service: "lw-a".into(),
        }
    }

    #[test]
    fn needs_that_add_up_to_the_total_are_protected_against_subtraction() {
        // 1 + 13 + 8 = 22: shown naively as * + 15 + 10 under a total of 20, the 1 is
        // recoverable. Every referral has one need, so the needs are a breakdown.
        let mut facts: Vec<Fact> = Vec::new();
        for (need, n) in [("a", 1), ("b", 13), ("c", 8)] {
            facts.extend((0..n).map(|_| fact(need)));
        }
        let s = summarise(&test_settings(), "QWO".into(), None, None, 9, &facts);
        let needs = &s.measures["referrals"].by_need;
        assert_eq!(s.measures["referrals"].total, Figure::Count(20));
        let suppressed = needs.values().filter(|f| f.is_suppressed()).count();
        assert!(suppressed >= 2, "{needs:?}");
        // With a second need on one referral they no longer add up: cell by cell.
        facts[0].journey.needs.push("b".into());
        let s = summarise(&test_settings(), "QWO".into(), None, None, 9, &facts);
        assert_eq!(s.measures["referrals"].by_need["c"], Figure::Count(10));
    }

    #[test]
    fn an_area_with_nothing_has_zeros_and_no_statistics() {
        let s = summarise(&test_settings(), "QWO".into(), None, None, 0, &[]);
        assert_eq!(s.measures["referrals"].total, Figure::Count(0));
        assert!(s.measures["referrals"].by_month.is_empty());
        assert_eq!(s.first_contact.percent_within_14_days, None);
        assert_eq!(s.outcomes.swemwbs.mean_change, None);
    }

    #[test]
    fn csv_fields_with_commas_or_quotes_are_quoted() {
        assert_eq!(csv_field("lw-a"), "lw-a");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }
}
