//! `/cases/{id}/view/connect`: search the directory (the `listDirectory` search) and
//! connect the person to a service, saying the lawful basis and the details shared
//! (`connectService`).

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use linkway_platform::http::{CorrelationId, Path};
use linkway_platform::web::page::{Field, error_for, error_summary, form, radios, tag};
use linkway_platform::web::{FieldError, Page, PageForm, SignedIn};
use maud::{Markup, html};
use serde_json::json;
use uuid::Uuid;

use super::caseload::encode;
use super::{
    CASE_ROLES, PageError, command_headers, fresh_key, html, labels, navigation, principal,
    refused, see_other,
};
use crate::api::{self, AppState, Operation, fields};
use crate::directory::{self, DirectoryEntry};

/// Services shown per search.
const RESULTS: i64 = 20;

/// The directory search, and the connection form for the service chosen.
#[utoipa::path(
    get, path = "/cases/{id}/view/connect", operation_id = "getConnectPage", tag = "pages",
    params(
        ("id" = Uuid, Path, description = "The referral id"),
        ("q" = Option<String>, Query, description = "Words in a service's name, description or organisation"),
        ("area" = Option<String>, Query, description = "A place in the service area"),
        ("service" = Option<String>, Query, description = "The service chosen, to connect"),
    ),
    responses(
        (status = 200, description = "Search results or the connection form (HTML)", content_type = "text/html", body = String),
        (status = 303, description = "Not signed in: to /sign-in"),
        (status = 403, description = "Not a link worker or service manager (HTML)", content_type = "text/html", body = String),
        (status = 404, description = "No such case for this organisation (HTML)", content_type = "text/html", body = String),
        (status = 503, description = "Try again shortly (HTML)", content_type = "text/html", body = String),
    ),
    security(("session" = []))
)]
#[tracing::instrument(skip_all)]
pub async fn page(
    who: SignedIn,
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let principal = principal(&who, CASE_ROLES)?;
    api::read_case(&state, &principal, id, None, "getConnectPage").await?;
    let query = PageForm::parse(raw.unwrap_or_default().as_bytes());
    show(&state, &who, id, &query, &[], StatusCode::OK).await
}

/// Connects the chosen service.
#[utoipa::path(
    post, path = "/cases/{id}/view/connect", operation_id = "submitConnectForm", tag = "pages",
    params(("id" = Uuid, Path, description = "The referral id")),
    request_body(content = String, content_type = "application/x-www-form-urlencoded",
        description = "`csrf`, `idempotency_key`, `version`, `service`, `legal_basis` and each `share`."),
    responses(
        (status = 303, description = "Connected: to the case page with `?min_sequence=`; or not signed in: to /sign-in"),
        (status = 403, description = "No or wrong CSRF token, or a role that may not do this: nothing changed (HTML)", content_type = "text/html", body = String),
        (status = 404, description = "No such case for this organisation (HTML)", content_type = "text/html", body = String),
        (status = 409, description = "The case or the service does not allow this now (HTML)", content_type = "text/html", body = String),
        (status = 422, description = "The form again with the problem (HTML)", content_type = "text/html", body = String),
        (status = 503, description = "Try again shortly (HTML)", content_type = "text/html", body = String),
    ),
    security(("session" = []))
)]
#[tracing::instrument(skip_all)]
pub async fn post(
    who: SignedIn,
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    correlation: CorrelationId,
    form: PageForm,
) -> Result<Response, PageError> {
    let principal = principal(&who, CASE_ROLES)?;
    let body = json!({
        "service_id": form.get("service"),
        "legal_basis": form.get("legal_basis"),
        "share": form.all("share"),
    });
    let headers = command_headers(
        correlation.0,
        form.get("idempotency_key"),
        form.get("version"),
    );
    let body = body.to_string().into_bytes();
    match api::run(
        &state,
        &principal,
        &headers,
        id,
        Operation::ConnectService,
        &body,
    )
    .await
    {
        Ok((_, answer)) => Ok(see_other(
            &format!("/cases/{id}/view"),
            answer.sequence,
            "connect",
        )),
        Err(error) => {
            let rename = |field: &str| match field.split('.').next() {
                Some("legal_basis") => Some("legal_basis".into()),
                Some("share") => Some("share".into()),
                _ => None,
            };
            let refusal = refused(error, rename, "legal_basis")?;
            show(&state, &who, id, &form, &refusal.errors, refusal.status).await
        }
    }
}

async fn show(
    state: &AppState,
    who: &SignedIn,
    id: Uuid,
    query: &PageForm,
    errors: &[FieldError],
    status: StatusCode,
) -> Result<Response, PageError> {
    let client = state
        .db
        .client()
        .await
        .map_err(linkway_platform::ApiError::from)?;
    let mut problems = Vec::new();
    let text = fields::optional(&mut problems, "q", Some(query.get("q")), fields::SEARCH);
    let area = fields::optional(
        &mut problems,
        "area",
        Some(query.get("area")),
        fields::SEARCH,
    );
    let chosen = match query.get("service") {
        "" => None,
        service => directory::get(&client, service)
            .await
            .map_err(linkway_platform::ApiError::from)?,
    };
    let (total, found) =
        if problems.is_empty() && chosen.is_none() && (text.is_some() || area.is_some()) {
            directory::search(
                &client,
                text.as_deref(),
                None,
                area.as_deref(),
                Some(true),
                RESULTS,
                0,
            )
            .await
            .map_err(linkway_platform::ApiError::from)?
        } else {
            (0, Vec::new())
        };
    let version = crate::caseload::case_for(&client, id, &who.organisation_id)
        .await
        .map_err(linkway_platform::ApiError::from)?
        .map_or(0, |c| c.last_case_sequence);
    let title = "Connect a community service";
    let content = html! {
        (error_summary(errors))
        h1 { (title) }
        @if let Some(service) = &chosen {
            (connect_form(who, id, version, service, query, errors))
            p { a href=(format!("/cases/{id}/view/connect")) { "Search again" } }
        } @else {
            (search_form(id, query))
            @if text.is_some() || area.is_some() {
                h2 { (total) " services take new connections" }
                @for s in &found { (result(id, s)) }
            }
        }
    };
    let page = Page {
        title,
        service: super::SERVICE,
        signed_in: Some(who),
        navigation: navigation(who, ""),
        has_errors: !errors.is_empty(),
        back: Some(("Back to the case", format!("/cases/{id}/view"))),
    };
    Ok(html(status, &page, content))
}

fn search_form(id: Uuid, query: &PageForm) -> Markup {
    html! {
        form method="get" action=(format!("/cases/{id}/view/connect")) {
            (Field { id: "q", label: "What kind of service?", hint: Some("For example, walking, choir, debt advice"), error: None }.input("search", query.get("q"), None))
            (Field { id: "area", label: "Where? (optional)", hint: Some("A town or postcode district"), error: None }.input("text", query.get("area"), None))
            button class="nhsuk-button nhsuk-button--secondary" type="submit" { "Search the directory" }
        }
    }
}

fn result(id: Uuid, s: &DirectoryEntry) -> Markup {
    html! {
        div class="nhsuk-card" {
            div class="nhsuk-card__content" {
                h3 class="nhsuk-card__heading" { (s.name) }
                @if let Some(org) = &s.organisation_name { p class="nhsuk-body-s" { (org) } }
                @if let Some(d) = &s.description { p { (d) } }
                p { @for c in &s.categories { (tag(c, "grey")) " " } }
                p { a href=(format!("/cases/{id}/view/connect?service={}", encode(&s.id))) { "Connect to " (s.name) } }
            }
        }
    }
}

fn connect_form(
    who: &SignedIn,
    id: Uuid,
    version: u64,
    s: &DirectoryEntry,
    posted: &PageForm,
    errors: &[FieldError],
) -> Markup {
    let shared = posted.all("share");
    let share_error = error_for(errors, "share");
    html! {
        h2 { (s.name) }
        @if !s.accepts_connections { p { (tag("Not taking new connections", "grey")) } }
        (form(&format!("/cases/{id}/view/connect"), &who.csrf, "Connect", html! {
            input type="hidden" name="service" value=(s.id);
            input type="hidden" name="version" value=(version);
            input type="hidden" name="idempotency_key" value=(fresh_key());
            (radios("legal_basis", "On what basis are their details shared?", labels::LEGAL_BASES, posted.get("legal_basis"), error_for(errors, "legal_basis")))
            div class={ "nhsuk-form-group" @if share_error.is_some() { " nhsuk-form-group--error" } } {
                fieldset class="nhsuk-fieldset" aria-describedby="share-hint" {
                    legend class="nhsuk-fieldset__legend nhsuk-fieldset__legend--s" { "What does the service need?" }
                    div class="nhsuk-hint" id="share-hint" { "Share the least the service needs: a debt service needs a name and phone number, not the medical history." }
                    @if let Some(e) = share_error { span class="nhsuk-error-message" id="share-error" { span class="nhsuk-u-visually-hidden" { "Error: " } (e) } }
                    div class="nhsuk-checkboxes" data-module="nhsuk-checkboxes" {
                        @for (i, (value, text)) in labels::SHARED_DETAILS.iter().enumerate() {
                            @let cid = if i == 0 { "share".to_owned() } else { format!("share-{}", i + 1) };
                            div class="nhsuk-checkboxes__item" {
                                input class="nhsuk-checkboxes__input" id=(cid) name="share" type="checkbox" value=(value) checked[shared.contains(value)];
                                label class="nhsuk-label nhsuk-checkboxes__label" for=(cid) { (text) }
                            }
                        }
                    }
                }
            }
        }))
    }
}
