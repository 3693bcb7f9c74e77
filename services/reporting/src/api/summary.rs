//! `getSummary`: one commissioner area's figures for a dashboard, each measure protected
//! together with its breakdowns.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::State;
use linkway_platform::ApiError;
use linkway_platform::auth::Principal;
use linkway_platform::http::Query;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::AppState;
use super::figures::{FirstContact, Outcomes, first_contact, labelled, outcomes, reasons};
use super::params::{area_for, parse_month, wait_for};
use crate::Settings;
use crate::aggregate::{self, CLOSURE_REASONS, Cell, DECLINE_REASONS, Fact};
use crate::disclosure::{CrossTable, Figure, Rules, Table, protect_cross, protect_table};
use crate::queries;

/// Query of `getSummary`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SummaryQuery {
    /// Commissioner area. Commissioners read their own (without it, or naming it; another is
    /// 403); administrators read the area they name, and without one are answered 403.
    pub area: Option<String>,
    /// First month, `YYYY-MM` (inclusive).
    pub from: Option<String>,
    /// Last month, `YYYY-MM` (inclusive).
    pub to: Option<String>,
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
    /// By kind of service (connections only): the directory's taxonomy term for the
    /// service at the time, `not_recorded` where it named none. Adds up to `total` and is
    /// protected with it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub by_service_kind: Option<BTreeMap<String, Figure>>,
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
    /// Referrals by month of referral (`YYYY-MM`), then by kind of referring organisation:
    /// the cross-tabulation of the referrals measure's `by_month` and `by_referrer_kind`,
    /// protected together with them (each row and column as a table of its own).
    pub referrals_by_month_and_referrer_kind: BTreeMap<String, BTreeMap<String, Figure>>,
    pub first_contact: FirstContact,
    pub outcomes: Outcomes,
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
    let mut cross_cells = BTreeMap::new();
    for (index, (name, _)) in all.counts().iter().enumerate() {
        let mut table = measure_table(name, index, &all, &[&by_month, &by_kind, &by_service]);
        let reasons_at = (table.breakdowns.len() > 3).then_some(3);
        let kinds = all.by_kind(name);
        let kinds_at = kinds.as_ref().map(|k| {
            table.breakdowns.push(k.iter().map(|(_, n)| *n).collect());
            table.breakdowns.len() - 1
        });
        let need_counts: Vec<u64> = by_need.values().map(|c| c.counts()[index].1).collect();
        // Needs add up to the total when every referral has exactly one (or none, counted
        // as `unspecified`): then they are one more breakdown to protect together.
        let needs_add_up = need_counts.iter().sum::<u64>() == table.total;
        if needs_add_up {
            table.breakdowns.push(need_counts.clone());
        }
        let shown = if *name == "referrals" {
            let cross = CrossTable {
                cells: referrals_by_month_and_kind(facts, &by_month, &by_kind),
                table,
                rows: 0,
                columns: 1,
            };
            let shown = protect_cross(rules, &cross);
            for ((month, row), figures) in by_month.keys().zip(&cross.cells).zip(&shown.cells) {
                debug_assert_eq!(row.len(), figures.len());
                cross_cells.insert(month.clone(), labelled(by_kind.keys().cloned(), figures));
            }
            shown.table
        } else {
            protect_table(rules, &table)
        };
        let need_figures = if needs_add_up {
            shown.breakdowns.last().cloned().unwrap_or_default()
        } else {
            rules.cells(&need_counts)
        };
        let by_reason = match (*name, reasons_at) {
            ("declined", Some(at)) => Some(reasons(&DECLINE_REASONS, &shown.breakdowns[at])),
            ("closed", Some(at)) => Some(reasons(&CLOSURE_REASONS, &shown.breakdowns[at])),
            _ => None,
        };
        let by_service_kind = match (kinds, kinds_at) {
            (Some(kinds), Some(at)) => Some(labelled(
                kinds.into_iter().map(|(k, _)| k),
                &shown.breakdowns[at],
            )),
            // Kinds that do not add up (see `Cell::by_kind`) are protected cell by cell.
            _ if name.starts_with("connections_") => {
                let counts = all.kind_counts(name);
                let figures = rules.cells(&counts.iter().map(|(_, n)| *n).collect::<Vec<_>>());
                Some(labelled(counts.into_iter().map(|(k, _)| k), &figures))
            }
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
                by_service_kind,
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
        referrals_by_month_and_referrer_kind: cross_cells,
    }
}

/// Referrals per month (rows, in `by_month`'s order) and referrer kind (columns).
fn referrals_by_month_and_kind(
    facts: &[Fact],
    by_month: &BTreeMap<String, Cell>,
    by_kind: &BTreeMap<String, Cell>,
) -> Vec<Vec<u64>> {
    let month_at: BTreeMap<&str, usize> = by_month
        .keys()
        .enumerate()
        .map(|(i, m)| (m.as_str(), i))
        .collect();
    let kind_at: BTreeMap<&str, usize> = by_kind
        .keys()
        .enumerate()
        .map(|(i, k)| (k.as_str(), i))
        .collect();
    let mut cells = vec![vec![0; by_kind.len()]; by_month.len()];
    for fact in facts {
        let month = fact.month_label();
        cells[month_at[month.as_str()]][kind_at[fact.referrer_kind.as_str()]] += 1;
    }
    cells
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
        (status = 403, description = "Not a commissioner or administrator, another commissioner's area, or an administrator naming no area", body = linkway_platform::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Bad month or query string, or an administrator named no area", body = linkway_platform::Problem, content_type = "application/problem+json"),
        linkway_platform::problem::CommonProblems,
    )
)]
#[tracing::instrument(skip_all)]
pub async fn get_summary(
    State(state): State<AppState>,
    principal: Principal,
    Query(q): Query<SummaryQuery>,
) -> Result<axum::Json<Summary>, ApiError> {
    summary_for(&state, &principal, &q).await.map(axum::Json)
}

/// The figures of the area `principal` may read: what `getSummary` answers, and what the
/// commissioner's dashboard shows (one function, so the page can show nothing else).
pub async fn summary_for(
    state: &AppState,
    principal: &Principal,
    q: &SummaryQuery,
) -> Result<Summary, ApiError> {
    let area = area_for(&state.db, principal, q.area.as_deref()).await?;
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
    // The kept summary, brought up to date in the background, when it goes far enough.
    let key = (area.clone(), q.from.clone(), q.to.clone());
    if let Some(summary) = state.summaries.get(&key, q.min_sequence.unwrap_or(0)) {
        return Ok(Summary::clone(&summary));
    }
    let mut client = state.db.client().await?;
    let unchanged_at = state.summaries.sequence(&key);
    match queries::summary_facts(&mut client, &area, from, to, unchanged_at).await? {
        queries::SummaryRead::Unchanged => match state.summaries.summary(&key) {
            Some(summary) => Ok(Summary::clone(&summary)),
            // Dropped since (the cache started over): compute it after all.
            None => Box::pin(summary_for(state, principal, q)).await,
        },
        queries::SummaryRead::Facts(read) => {
            let summary = summarise(
                &state.settings,
                area,
                q.from.clone(),
                q.to.clone(),
                read.sequence,
                &read.facts,
            );
            state
                .summaries
                .put(key, read.sequence, Arc::new(summary.clone()), true);
            Ok(summary)
        }
    }
}
