//! `GET /audit/view`: the audit trail as a page, for the same people and with the same
//! filters as `listAudit` (a GET form, so it works without JavaScript and its address can
//! be kept), newest first, 50 to a page.

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};

use super::AuditState;
use super::queries::{self, Asked, AuditEntry, Filter};
use crate::problem::ApiError;
use crate::web::admin::no_store;
use crate::web::page::{Field, FieldError, error_for, error_summary, table};
use crate::web::signed_in::problem_page;
use crate::web::{NavItem, Page, PageForm, PageRejection, SignedIn};

/// Entries on one page.
pub const PER_PAGE: i64 = 50;

const PATH: &str = "/audit/view";

/// The trail, filtered and paged.
#[utoipa::path(get, path = "/audit/view", operation_id = "getAuditPage", tag = "pages",
    params(
        ("referral_id" = Option<String>, Query, description = "Only entries about this referral"),
        ("user_id" = Option<String>, Query, description = "Only entries of this user"),
        ("from" = Option<String>, Query, description = "Recorded on or after this date (YYYY-MM-DD) or date-time"),
        ("to" = Option<String>, Query, description = "Recorded on or before this date (YYYY-MM-DD), or before this date-time"),
        ("page" = Option<i64>, Query, description = "Which page of 50, from 1"),
        ("min_sequence" = Option<u64>, Query, description = "Wait until the trail has this event"),
    ),
    responses(
        (status = 200, description = "The audit trail (HTML)", content_type = "text/html", body = String),
        (status = 303, description = "Not signed in: to /sign-in, coming back here after"),
        (status = 403, description = "Signed in as neither an IG lead nor an administrator (HTML)", content_type = "text/html", body = String),
        (status = 409, description = "`min_sequence` beyond the end of the log (HTML)", content_type = "text/html", body = String),
        (status = 422, description = "The filters again with what is wrong (HTML)", content_type = "text/html", body = String),
        (status = 503, description = "The trail is unavailable; try again (HTML)", content_type = "text/html", body = String),
    ))]
#[tracing::instrument(skip_all)]
pub async fn page(
    who: SignedIn,
    State(state): State<AuditState>,
    RawQuery(raw): RawQuery,
) -> Result<Response, Response> {
    let principal = who
        .principal(queries::ROLES)
        .map_err(IntoResponse::into_response)?;
    let form = PageForm::parse(raw.unwrap_or_default().as_bytes());
    let asked = Asked {
        referral_id: Some(form.get("referral_id")),
        user_id: Some(form.get("user_id")),
        from: Some(form.get("from")),
        to: Some(form.get("to")),
    };
    let mut errors = Vec::new();
    let filter = Filter::read(&asked, &mut errors);
    let number = form
        .get("page")
        .parse::<i64>()
        .ok()
        .filter(|p| (1..=100_000).contains(p))
        .unwrap_or(1);
    crate::read_your_writes::reach(&state.trail, form.get("min_sequence").parse().ok())
        .await
        .map_err(refused)?;
    let found = if errors.is_empty() {
        let mut client = state.db.client().await.map_err(|e| refused(e.into()))?;
        let scope = queries::scope(&principal);
        let offset = (number - 1) * PER_PAGE;
        Some(
            queries::page(&mut client, scope, &filter, PER_PAGE, offset)
                .await
                .map_err(|e| refused(e.into()))?,
        )
    } else {
        None
    };
    let errors: Vec<FieldError> = errors
        .into_iter()
        .map(|e| FieldError {
            message: format!("{} {}", label(&e.field), e.message),
            field: e.field,
        })
        .collect();
    let page = Page {
        title: "Audit trail",
        service: "Audit",
        signed_in: Some(&who),
        navigation: vec![NavItem {
            text: "Audit trail",
            href: PATH.to_owned(),
            current: true,
        }],
        has_errors: !errors.is_empty(),
        back: None,
    };
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok(no_store(
        status,
        page.render(html! {
            (error_summary(&errors))
            h1 { "Audit trail" }
            p { "Who saw or changed which person's record, and when: every read of a person's details and every step recorded on a referral or case. The trail cannot be changed." }
            (filters(&asked, &errors))
            @if let Some(found) = &found {
                @if found.items.is_empty() {
                    p { "No entries match." }
                } @else {
                    p { (found.total) " entr" @if found.total == 1 { "y" } @else { "ies" } ", newest first." }
                    (table("Audit trail entries", &["When", "Organisation", "User", "Role", "What", "Referral", "Reason"],
                        &found.items.iter().map(row).collect::<Vec<_>>()))
                    (pagination(&asked, number, found.total))
                }
            }
        }),
    ))
}

fn refused(err: ApiError) -> Response {
    match err {
        ApiError::Conflict(_) => problem_page(
            StatusCode::CONFLICT,
            "This page is not available yet",
            "The link asks for an entry Linkway has not recorded. Open the audit trail again.",
        ),
        other => {
            tracing::warn!(error = %other, "audit page could not be served");
            PageRejection::Unavailable.into_response()
        }
    }
}

fn label(field: &str) -> &'static str {
    match field {
        "referral_id" => "Referral",
        "user_id" => "User",
        "from" => "From",
        _ => "To",
    }
}

fn filters(asked: &Asked<'_>, errors: &[FieldError]) -> Markup {
    let field = |id, text, hint| Field {
        id,
        label: text,
        hint,
        error: error_for(errors, id),
    };
    let value = |v: Option<&str>| v.unwrap_or_default().to_owned();
    html! {
        form method="get" action=(PATH) novalidate {
            (field("referral_id", "Referral", Some("The referral's id, as on its page")).input("text", &value(asked.referral_id), None))
            (field("user_id", "User", None).input("text", &value(asked.user_id), None))
            (field("from", "From", Some("For example, 2026-11-30")).input("date", &value(asked.from), None))
            (field("to", "To", Some("This day included")).input("date", &value(asked.to), None))
            button class="nhsuk-button nhsuk-button--secondary" data-module="nhsuk-button" type="submit" { "Show entries" }
        }
    }
}

fn row(e: &AuditEntry) -> Vec<Markup> {
    let read = e.event_type == "audit.recorded";
    vec![
        html! { (crate::web::admin::tokens::when(e.recorded_at)) },
        html! { (e.organisation_id) },
        html! { (e.user_id.as_deref().unwrap_or("-")) },
        html! { (e.role) },
        html! { @if read { "Saw: " } @else { "Recorded: " } code { (e.operation) } },
        html! { code { (e.referral_id) } },
        html! { (e.reason.as_deref().unwrap_or("-")) },
    ]
}

/// Previous and next links, keeping the filters.
fn pagination(asked: &Asked<'_>, page: i64, total: i64) -> Markup {
    let last = ((total + PER_PAGE - 1) / PER_PAGE).max(1);
    let href = |n: i64| {
        let mut query = form_urlencoded::Serializer::new(String::new());
        for (name, value) in [
            ("referral_id", asked.referral_id),
            ("user_id", asked.user_id),
            ("from", asked.from),
            ("to", asked.to),
        ] {
            if let Some(v) = value.filter(|v| !v.is_empty()) {
                query.append_pair(name, v);
            }
        }
        query.append_pair("page", &n.to_string());
        format!("{PATH}?{}", query.finish())
    };
    let links: Vec<(&str, &str, i64)> =
        [("prev", "Previous", page - 1), ("next", "Next", page + 1)]
            .into_iter()
            .filter(|(_, _, n)| (1..=last).contains(n))
            .collect();
    html! {
        @if !links.is_empty() {
            nav class="nhsuk-pagination" role="navigation" aria-label="Pagination" {
                ul class="nhsuk-list nhsuk-pagination__list" {
                    @for (rel, text, n) in links {
                        li class=(format!("nhsuk-pagination-item--{}", if rel == "prev" { "previous" } else { "next" })) {
                            a class=(format!("nhsuk-pagination__link nhsuk-pagination__link--{rel}")) href=(href(n)) rel=(rel) {
                                span class="nhsuk-pagination__title" { (text) span class="nhsuk-u-visually-hidden" { " page" } }
                                span class="nhsuk-u-visually-hidden" { ":" }
                                span class="nhsuk-pagination__page" { "Page " (n) " of " (last) }
                            }
                        }
                    }
                }
            }
        }
    }
}
