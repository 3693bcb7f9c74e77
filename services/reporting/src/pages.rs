//! Pages: the commissioner's dashboard (`/`) and its figures as CSV (`/dashboard.csv`).
//!
//! The page shows only what `getSummary` answers ([`crate::api::summary_for`], the same
//! function, so disclosure control is the API's own) for the commissioner area of the
//! signed-in person's organisation, as the API scopes it, in the months they choose (GET
//! `from` and `to`). Each chart is server-rendered SVG ([`chart`]) beside a table of the
//! same figures ([`dashboard`]); the CSV holds exactly those tables. No JavaScript.
//!
//! Other roles get the 403 page; nobody signed in is sent to sign in. A month written
//! wrongly is answered 422 before anything else (a page of the error for someone signed
//! in, with the form to correct it).

pub mod chart;
pub mod dashboard;
pub mod names;

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use linkway_events::Role;
use linkway_platform::http::Query;
use linkway_platform::web::page::{Field, error_summary};
use linkway_platform::web::signed_in::problem_page;
use linkway_platform::web::{FieldError, NavItem, Page, PageRejection, SignedIn};
use linkway_platform::{ApiError, registry};
use maud::{Markup, html};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::api::params::parse_month;
use crate::api::{AppState, Summary, SummaryQuery, summary_for};
use dashboard::{Dashboard, FigureTable};

/// The label every reporting page's title ends with, before "Linkway".
pub const SERVICE: &str = "Reports";
/// The dashboard's `<h1>`.
const TITLE: &str = "Social prescribing in your area";

/// The pages' paths (documented as HTML and CSV, not JSON).
pub const PATHS: [&str; 2] = ["/", "/dashboard.csv"];

/// The routes of reporting's pages (state applied by the caller).
pub fn routes() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/", axum::routing::get(get_dashboard))
        .route("/dashboard.csv", axum::routing::get(get_dashboard_csv))
}

/// Query of the dashboard and its CSV: the months of referral (a blank field is no limit).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DashboardQuery {
    /// First month of referral, `YYYY-MM` (inclusive); empty or absent for no limit.
    pub from: Option<String>,
    /// Last month of referral, `YYYY-MM` (inclusive); empty or absent for no limit.
    pub to: Option<String>,
    /// Wait (at most 5 s) until the figures include this stream sequence.
    pub min_sequence: Option<u64>,
}

/// Blank is none.
fn given(value: &Option<String>) -> Option<String> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

impl DashboardQuery {
    /// The months' errors, as the page shows them beside the fields.
    fn errors(&self) -> Vec<FieldError> {
        [("from", &self.from), ("to", &self.to)]
            .into_iter()
            .filter_map(|(field, value)| parse_month(field, given(value).as_deref()).err())
            .map(|e| FieldError {
                message: format!(
                    "Enter the {} month as a year and month, for example 2026-01",
                    if e.field == "from" { "first" } else { "last" }
                ),
                field: e.field,
            })
            .collect()
    }

    fn summary_query(&self) -> SummaryQuery {
        SummaryQuery {
            area: None,
            from: given(&self.from),
            to: given(&self.to),
            min_sequence: self.min_sequence,
        }
    }

    /// `?from=..&to=..` of the chosen months, for the CSV link.
    fn months_query(&self) -> String {
        let pairs: Vec<(&str, String)> = [("from", given(&self.from)), ("to", given(&self.to))]
            .into_iter()
            .filter_map(|(k, v)| Some((k, v?)))
            .collect();
        if pairs.is_empty() {
            return String::new();
        }
        let query: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
        format!("?{}", query.join("&"))
    }
}

/// The figures of the signed-in commissioner's area, or the page saying why not.
async fn figures(
    state: &AppState,
    who: Result<SignedIn, PageRejection>,
    q: &DashboardQuery,
) -> Result<(SignedIn, Summary, BTreeMap<String, String>), Response> {
    let errors = q.errors();
    let who = match who {
        Ok(who) => who,
        // A wrong month is refused whoever asks; it reveals nothing.
        Err(PageRejection::SignIn { .. }) if !errors.is_empty() => {
            return Err(problem_page(
                StatusCode::UNPROCESSABLE_ENTITY,
                "There is a problem",
                "Write months as a year and month, for example 2026-01.",
            ));
        }
        Err(rejection) => return Err(rejection.into_response()),
    };
    if !errors.is_empty() {
        return Err((
            StatusCode::UNPROCESSABLE_ENTITY,
            render(&who, q, &errors, None),
        )
            .into_response());
    }
    let principal = who
        .principal(&[Role::Commissioner])
        .map_err(IntoResponse::into_response)?;
    let summary = match summary_for(state, &principal, &q.summary_query()).await {
        Ok(summary) => summary,
        Err(ApiError::Forbidden) => {
            return Err(problem_page(
                StatusCode::FORBIDDEN,
                "Your organisation has no commissioner area",
                "The dashboard shows the figures of your organisation's commissioner area, and Linkway has none for it. Ask your Linkway administrator.",
            ));
        }
        Err(ApiError::Conflict(_)) => {
            return Err(problem_page(
                StatusCode::CONFLICT,
                "These figures cannot be shown yet",
                "The link asked for figures that include a change Linkway has not recorded. Open the dashboard again without it.",
            ));
        }
        Err(_) => return Err(PageRejection::Unavailable.into_response()),
    };
    let services = service_names(state, &summary).await;
    Ok((who, summary, services))
}

/// The names of the link-worker services the summary breaks down by (from the registry).
async fn service_names(state: &AppState, summary: &Summary) -> BTreeMap<String, String> {
    let mut names = BTreeMap::new();
    let Ok(client) = state.db.client().await else {
        return names;
    };
    for id in summary.measures["referrals"].by_link_worker_service.keys() {
        if let Ok(Some(org)) = registry::organisation(&client, id).await {
            names.insert(id.clone(), org.name);
        }
    }
    names
}

/// Signed-in pages hold figures for one organisation: no shared cache keeps them.
fn private(mut response: Response) -> Response {
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    response
}

/// What both pages answer besides their figures: sent to sign in (303), not for this
/// person (403), `min_sequence` beyond the log (409), a month written wrongly (422: the
/// page's HTML, or the edge's problem for a query that does not parse), unavailable (503).
struct PageProblems;

impl utoipa::IntoResponses for PageProblems {
    fn responses() -> BTreeMap<String, utoipa::openapi::RefOr<utoipa::openapi::response::Response>>
    {
        use utoipa::openapi::header::HeaderBuilder;
        use utoipa::openapi::schema::{Object, Type};
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
        let html = || {
            ContentBuilder::new()
                .schema(Some(Object::with_type(Type::String)))
                .build()
        };
        let problem = ContentBuilder::new()
            .schema(Some(Ref::from_schema_name("Problem")))
            .build();
        let location = HeaderBuilder::new()
            .schema(Some(Object::with_type(Type::String)))
            .description(Some("The sign-in page"))
            .build();
        [
            ("303", ResponseBuilder::new()
                .description("Not signed in: to `/sign-in` with `return_to`")
                .header("Location", location)),
            ("403", ResponseBuilder::new()
                .description("Signed in without the commissioner role, or the organisation has no commissioner area (HTML)")
                .content("text/html", html())),
            ("409", ResponseBuilder::new()
                .description("`min_sequence` is beyond the end of the log (HTML)")
                .content("text/html", html())),
            ("422", ResponseBuilder::new()
                .description("A month not written YYYY-MM (HTML), or a query string that does not parse (problem)")
                .content("text/html", html())
                .content("application/problem+json", problem)),
            ("503", ResponseBuilder::new()
                .description("The database is unavailable or the figures did not reach `min_sequence` within 5 s (HTML)")
                .content("text/html", html())),
        ]
        .into_iter()
        .map(|(status, response)| (status.to_owned(), response.build().into()))
        .collect()
    }
}

/// The commissioner's dashboard.
#[utoipa::path(
    get,
    path = "/",
    operation_id = "getDashboard",
    tag = "pages",
    params(DashboardQuery),
    security(()),
    responses(
        (status = 200, description = "The commissioner's dashboard (HTML): the area's disclosure-controlled figures as charts and tables", content_type = "text/html", body = String),
        PageProblems,
    )
)]
#[tracing::instrument(skip_all)]
pub async fn get_dashboard(
    State(state): State<AppState>,
    Query(q): Query<DashboardQuery>,
    who: Result<SignedIn, PageRejection>,
) -> Response {
    match figures(&state, who, &q).await {
        Ok((who, summary, services)) => {
            let dashboard = Dashboard::new(&summary, &services);
            private(render(&who, &q, &[], Some((&summary, &dashboard))).into_response())
        }
        Err(response) => private(response),
    }
}

/// The dashboard's tables as CSV.
#[utoipa::path(
    get,
    path = "/dashboard.csv",
    operation_id = "getDashboardCsv",
    tag = "pages",
    params(DashboardQuery),
    security(()),
    responses(
        (status = 200, description = "Exactly the dashboard's figures, one line each: table, key, label, column, value (`*` suppressed, empty none)", content_type = "text/csv", body = String),
        PageProblems,
    )
)]
#[tracing::instrument(skip_all)]
pub async fn get_dashboard_csv(
    State(state): State<AppState>,
    Query(q): Query<DashboardQuery>,
    who: Result<SignedIn, PageRejection>,
) -> Response {
    match figures(&state, who, &q).await {
        Ok((_, summary, services)) => {
            let csv = Dashboard::new(&summary, &services).csv();
            let mut response = csv.into_response();
            let h = response.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/csv; charset=utf-8"),
            );
            // The area is an organisation's code: the only name the file needs.
            let file = format!(
                "attachment; filename=\"linkway-{}.csv\"",
                summary
                    .area
                    .chars()
                    .filter(char::is_ascii_alphanumeric)
                    .collect::<String>()
            );
            if let Ok(value) = HeaderValue::from_str(&file) {
                h.insert(header::CONTENT_DISPOSITION, value);
            }
            private(response)
        }
        Err(response) => private(response),
    }
}

/// The page: the months form, and the figures when there are some to show.
fn render(
    who: &SignedIn,
    q: &DashboardQuery,
    errors: &[FieldError],
    figures: Option<(&Summary, &Dashboard)>,
) -> Markup {
    let page = Page {
        title: TITLE,
        service: SERVICE,
        signed_in: Some(who),
        navigation: vec![NavItem {
            text: "Dashboard",
            href: "/".into(),
            current: true,
        }],
        has_errors: !errors.is_empty(),
        back: None,
    };
    page.render(html! {
        (error_summary(errors))
        h1 class="nhsuk-heading-xl" { (TITLE) }
        @if let Some((summary, _)) = figures {
            p class="nhsuk-lede-text" {
                "Figures for commissioner area " strong { (summary.area) } ", "
                (period(summary)) "."
            }
        }
        (months_form(q, errors))
        @if let Some((summary, dashboard)) = figures {
            (disclosure_note(summary))
            p {
                a class="nhsuk-link" href=(format!("/dashboard.csv{}", q.months_query())) download {
                    "Download these figures as a spreadsheet (CSV)"
                }
            }
            (sections(dashboard))
        }
    })
}

fn period(summary: &Summary) -> String {
    match (&summary.from, &summary.to) {
        (None, None) => "all months of referral".to_owned(),
        (Some(f), None) => format!("referrals from {} onwards", names::month(f)),
        (None, Some(t)) => format!("referrals up to {}", names::month(t)),
        (Some(f), Some(t)) => format!("referrals from {} to {}", names::month(f), names::month(t)),
    }
}

/// The months of referral, as a GET form (it changes nothing).
fn months_form(q: &DashboardQuery, errors: &[FieldError]) -> Markup {
    let field = |id: &'static str, label: &'static str, value: &Option<String>| {
        Field {
            id,
            label,
            hint: Some("For example, 2026-01"),
            error: linkway_platform::web::page::error_for(errors, id),
        }
        .input("text", value.as_deref().unwrap_or_default(), None)
    };
    html! {
        form method="get" action="/" novalidate {
            fieldset class="nhsuk-fieldset" {
                legend class="nhsuk-fieldset__legend nhsuk-fieldset__legend--m" {
                    h2 class="nhsuk-fieldset__heading" { "Months of referral" }
                }
                div class="nhsuk-grid-row" {
                    div class="nhsuk-grid-column-one-quarter" { (field("from", "First month", &q.from)) }
                    div class="nhsuk-grid-column-one-quarter" { (field("to", "Last month", &q.to)) }
                }
            }
            button class="nhsuk-button nhsuk-button--secondary" type="submit" { "Show figures" }
        }
    }
}

fn disclosure_note(summary: &Summary) -> Markup {
    let rules = summary.disclosure;
    html! {
        div class="nhsuk-inset-text" {
            span class="nhsuk-u-visually-hidden" { "Information: " }
            p {
                "To protect people's privacy, counts from 1 to " (rules.threshold)
                " are shown as * (suppressed), as are some other figures that would let them be worked out. "
                "Other counts are rounded to the nearest " (rules.rounding)
                ", averages of " (rules.threshold) " people or fewer are not shown, and percentages are worked out from the rounded counts. "
                "In charts, a suppressed figure is a gap marked “suppressed”, never a bar."
            }
        }
    }
}

/// A section: its heading, the chart (if any) and the table of the same figures.
fn section(
    heading: &str,
    intro: Option<&str>,
    chart: Option<Markup>,
    table: &FigureTable,
) -> Markup {
    html! {
        section class="linkway-dashboard__section" aria-labelledby=(format!("{}-heading", table.id)) {
            h2 id=(format!("{}-heading", table.id)) { (heading) }
            @if let Some(intro) = intro { p { (intro) } }
            @if let Some(chart) = chart {
                figure class="linkway-dashboard__chart" {
                    (chart)
                }
            }
            (table.render())
        }
    }
}

fn sections(d: &Dashboard) -> Markup {
    html! {
        (section("Referrals", None, Some(d.journey.chart(0, "Referrals and what happened to them, by step").render()), &d.journey))
        (section("Referrals by month", None,
            Some(d.by_month.chart(0, "Referrals by month of referral").render()), &d.by_month))
        (section("Referrals by source", None,
            Some(d.by_source.chart(0, "Referrals by kind of referring organisation").render()), &d.by_source))
        (section("Referrals by month and source", Some("Each month's referrals by kind of referring organisation. Disclosure control protects each month and each kind together with the totals above, so more figures may show as * here."),
            Some(d.by_month_and_source_chart().render()), &d.by_month_and_source))
        (section("Waiting times", None, None, &d.waiting))
        (section("Outcome change", Some("People measured at baseline and again later (review or exit)."),
            Some(d.swemwbs.chart(0, "People with two SWEMWBS scores, and people whose score rose by a meaningful amount").render()), &d.swemwbs))
        (d.outcomes.render())
        (section("Personal wellbeing (ONS4)", None, Some(d.ons4_chart().render()), &d.ons4))
        (section("Connections to community services", None,
            Some(d.connections.chart(0, "Connections made, accepted and attended").render()), &d.connections))
        (section("Connections by kind of service", Some("The kind is the community directory's category for the service when the connection was made."),
            Some(d.by_service_kind.chart(0, "Connections made, by kind of community service").render()), &d.by_service_kind))
        (section("By link-worker service", None, None, &d.by_service))
        (section("Needs", Some("Needs as the referrer coded them (SNOMED CT). A referral with several needs counts under each."),
            Some(d.needs.chart(0, "Referrals by need").render()), &d.needs))
    }
}
