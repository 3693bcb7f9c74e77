//! The administrator's unroutable referrals: `GET /admin/unroutable/view` lists the
//! referrals no routing rule matched, oldest first (the longest waiting are routed first),
//! with codes and ids only (when it came, from which organisation, why no rule matched:
//! never the person's details), each with a "Route to" form;
//! `POST /admin/unroutable/{id}/route` runs the JSON API's decision
//! ([`command::RouteByHand`], `routeReferral`) through the command path as the signed-in
//! administrator, so `referral.routed` names their user id, then answers 303 to the list
//! with `?min_sequence=`. A refusal (no service chosen, the referral no longer waiting) is
//! the list again with the error summary (422), nothing appended.
//!
//! Only a person holding the admin role sees these pages (others: the 403 page). They look
//! like the platform's `/admin` pages ([`AdminPage`]): the same header, navigation and
//! layout.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use linkway_events::Role;
use linkway_platform::ApiError;
use linkway_platform::idempotency::IdempotencyKey;
use linkway_platform::web::admin::{AdminPage, Saved, Section};
use linkway_platform::web::page::{Field, FieldError, error_for, form, table};
use linkway_platform::web::{PageForm, SignedIn};
use maud::{Markup, html};
use uuid::Uuid;

use super::list::date;
use super::{PageError, capitalised};
use crate::AppState;
use crate::api::wait_for;
use crate::command::{self, RouteByHand};
use crate::queries;
use crate::read_model::ReferralRow;

/// The command's name (and the scope of the route forms' idempotency keys).
pub const ROUTE: &str = "routeReferralPage";

/// The list's address.
pub const LIST: &str = "/admin/unroutable/view";

/// The referrals no rule matched, each with its "Route to" form.
#[utoipa::path(get, path = "/admin/unroutable/view", operation_id = "getUnroutablePage", tag = "pages",
    params(
        ("min_sequence" = Option<u64>, Query, description = "Wait until the page includes this change, and say it was recorded"),
    ),
    responses(
        (status = 200, description = "Unroutable referrals, oldest first, each with a form to route it (HTML)", content_type = "text/html", body = String),
        (status = 303, description = "Not signed in: to /sign-in, coming back here after"),
        (status = 403, description = "Signed in without the admin role (HTML)", content_type = "text/html", body = String),
        (status = 409, description = "`min_sequence` is beyond the end of the log (HTML)", content_type = "text/html", body = String),
        (status = 503, description = "The read model or the log is unavailable; try again (HTML)", content_type = "text/html", body = String),
    ))]
pub async fn unroutable(
    who: SignedIn,
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    who.principal(&[Role::Admin])?;
    let min_sequence = q.get("min_sequence").and_then(|s| s.parse::<u64>().ok());
    wait_for(&state, min_sequence).await?;
    let shown = Shown::load(&state).await?;
    Ok(shown.render(&who, Saved { min_sequence }, &[], None))
}

/// Routes one unroutable referral to the link-worker service chosen.
#[utoipa::path(post, path = "/admin/unroutable/{referral_id}/route", operation_id = "routeReferralPage", tag = "pages",
    params(("referral_id" = Uuid, Path, description = "The referral's id")),
    request_body(content = String, content_type = "application/x-www-form-urlencoded",
        description = "`service-<referral id>` (the link-worker service's organisation id), `csrf` and `idempotency_key` from the list"),
    responses(
        (status = 303, description = "Routed: to the list with `?min_sequence=` (or, not signed in, to /sign-in)"),
        (status = 403, description = "Without the session's CSRF token, or without the admin role: nothing changed (HTML)", content_type = "text/html", body = String),
        (status = 404, description = "No such referral (HTML)", content_type = "text/html", body = String),
        (status = 422, description = "No registered link-worker service chosen, or the referral is no longer waiting to be routed: the list with the error summary; nothing recorded (HTML)", content_type = "text/html", body = String),
        (status = 503, description = "The read model or the log is unavailable; try again (HTML)", content_type = "text/html", body = String),
    ))]
pub async fn route(
    who: SignedIn,
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    posted: PageForm,
) -> Result<Response, PageError> {
    let principal = who.principal(&[Role::Admin])?;
    let id = Uuid::parse_str(&id).map_err(|_| ApiError::NotFound)?;
    let field = select_id(id);
    let chosen = posted.get(&field).to_owned();
    let key = Some(posted.get("idempotency_key"))
        .filter(|k| crate::form::fields::is_key(k))
        .map(|k| IdempotencyKey {
            organisation_id: principal.organisation_id.clone(),
            key: format!("{ROUTE}:{k}"),
        });
    let shown = Shown::load(&state).await?;
    let decided = if shown.services.iter().any(|(s, _)| *s == chosen) {
        let decision = RouteByHand {
            link_worker_organisation_id: chosen.clone(),
        };
        command::run(
            &state,
            &principal,
            ROUTE,
            id,
            key,
            &headers,
            chosen.as_bytes(),
            StatusCode::OK,
            &decision,
        )
        .await
    } else {
        Err(ApiError::field(
            "link_worker_organisation_id",
            "link_worker_service",
            "choose the link worker service to route this referral to",
        ))
    };
    let error = match decided {
        Ok(done) => {
            return Ok(
                Redirect::to(&format!("{LIST}?min_sequence={}", done.answer.sequence))
                    .into_response(),
            );
        }
        Err(ApiError::Validation(refusals)) => FieldError {
            field: field.clone(),
            message: refusals
                .first()
                .map_or_else(String::new, |r| capitalised(&r.message)),
        },
        Err(ApiError::Refused(r)) => FieldError {
            field: "maincontent".into(),
            message: capitalised(&r.message),
        },
        Err(ApiError::Conflict(_)) => FieldError {
            field: field.clone(),
            message: "The referral changed while it was being routed. Check it and route it again."
                .into(),
        },
        Err(e) => return Err(e.into()),
    };
    Ok(shown.render(&who, Saved::default(), &[error], Some((id, &chosen))))
}

/// The id (and name) of a referral's "Route to" select: one per row, so each label and
/// error message belongs to its own control.
fn select_id(referral_id: Uuid) -> String {
    format!("service-{referral_id}")
}

/// The registered link-worker services, `(organisation id, name)`, from intake's copy of
/// the registry.
pub async fn link_worker_services(
    client: &tokio_postgres::Client,
) -> Result<Vec<(String, String)>, tokio_postgres::Error> {
    let rows = client
        .query(
            "SELECT organisation_id, name FROM registry.organisations
             WHERE link_worker_service ORDER BY name, organisation_id",
            &[],
        )
        .await?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

/// The list as the page shows it.
struct Shown {
    referrals: Vec<ReferralRow>,
    services: Vec<(String, String)>,
}

impl Shown {
    async fn load(state: &AppState) -> Result<Shown, PageError> {
        let client = state.db.client().await?;
        let referrals = queries::unroutable_referrals(&client).await?;
        let services = link_worker_services(&client).await?;
        Ok(Shown {
            referrals,
            services,
        })
    }

    /// The page; `typed` is the row whose form was sent and what it chose.
    fn render(
        &self,
        who: &SignedIn,
        saved: Saved,
        errors: &[FieldError],
        typed: Option<(Uuid, &str)>,
    ) -> Response {
        let mut options = vec![("", "Choose a service")];
        options.extend(
            self.services
                .iter()
                .map(|(id, name)| (id.as_str(), name.as_str())),
        );
        let rows: Vec<Vec<Markup>> = self
            .referrals
            .iter()
            .map(|r| {
                let chosen = typed
                    .filter(|(id, _)| *id == r.referral_id)
                    .map_or("", |(_, c)| c);
                vec![
                    html! { (date(r.received_at)) },
                    html! { code { (r.referrer_organisation_id) } },
                    html! { (r.unroutable_reason.as_deref().unwrap_or("No routing rule matched")) },
                    html! { code { (r.referral_id) } },
                    route_form(who, r.referral_id, &options, chosen, errors),
                ]
            })
            .collect();
        let page = AdminPage {
            title: "Unroutable referrals",
            section: Section::Home,
            who,
            errors,
            back: Some(("Back to administration", "/admin".into())),
        };
        page.render(html! {
            (saved.banner("Referral routed"))
            p { "Referrals no routing rule matched wait here until an administrator routes each to a link worker service. The longest waiting are first." }
            div class="nhsuk-inset-text" {
                span class="nhsuk-u-visually-hidden" { "Information: " }
                p { "Routing a referral by hand is recorded in the log as yours. To route future referrals like it, add a routing rule." }
            }
            @if rows.is_empty() {
                p { "There are no unroutable referrals." }
            } @else {
                (table(
                    "Unroutable referrals, oldest first",
                    &["Received", "Referring organisation", "Why no rule matched", "Reference", "Route to"],
                    &rows,
                ))
            }
        })
    }
}

/// A referral's "Route to" form.
fn route_form(
    who: &SignedIn,
    referral_id: Uuid,
    options: &[(&str, &str)],
    chosen: &str,
    errors: &[FieldError],
) -> Markup {
    let id = select_id(referral_id);
    let key = Uuid::new_v4().to_string();
    form(
        &format!("/admin/unroutable/{referral_id}/route"),
        &who.csrf,
        "Route referral",
        html! {
            input type="hidden" name="idempotency_key" value=(key);
            (Field {
                id: &id,
                label: "Route to",
                hint: None,
                error: error_for(errors, &id),
            }.select(options, chosen))
        },
    )
}
