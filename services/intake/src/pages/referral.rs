//! `GET /referrals/{id}/view`: one referral of the signed-in person's organisation, its
//! status and its timeline (the read model's, which holds codes only where the person did
//! not agree to share details), and, while it is open, the withdraw form;
//! `POST /referrals/{id}/view/withdraw` runs the JSON API's decision
//! ([`command::Correct`]) through the command path. Another organisation's referral is the
//! same 404 page as one that does not exist.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use linkway_platform::ApiError;
use linkway_platform::auth::Principal;
use linkway_platform::idempotency::IdempotencyKey;
use linkway_platform::web::page::{
    Field, FieldError, error_for, error_summary, form, success_banner, summary_list, table,
};
use linkway_platform::web::{Page, PageForm, SignedIn};
use maud::{Markup, html};
use serde_json::Value;
use uuid::Uuid;

use super::list::{date, label, status_tag};
use super::{PageError, SERVICE, Section, capitalised, html, navigation, principal};
use crate::AppState;
use crate::api::{TimelineItem, visible_row, wait_for};
use crate::command::{self, Correct, Correction};
use crate::queries;
use crate::read_model::ReferralRow;

/// The command's name (and the scope of the withdraw form's idempotency keys).
pub const WITHDRAW: &str = "withdrawReferralPage";

/// The referral's page.
#[utoipa::path(get, path = "/referrals/{referral_id}/view", operation_id = "getReferralPage", tag = "pages",
    params(
        ("referral_id" = Uuid, Path, description = "The referral's id"),
        ("min_sequence" = Option<u64>, Query, description = "Wait until the page includes this change"),
        ("done" = Option<String>, Query, description = "`sent` or `withdrawn`: say so in a banner"),
    ),
    responses(
        (status = 200, description = "The referral, its timeline and the withdraw form (HTML)", content_type = "text/html", body = String),
        (status = 303, description = "Not signed in: to /sign-in, coming back here after"),
        (status = 403, description = "Signed in without the referrer role (HTML)", content_type = "text/html", body = String),
        (status = 404, description = "No such referral, or another organisation's: the same page (HTML)", content_type = "text/html", body = String),
        (status = 409, description = "`min_sequence` is beyond the end of the log (HTML)", content_type = "text/html", body = String),
        (status = 503, description = "The read model or the log is unavailable; try again (HTML)", content_type = "text/html", body = String),
    ))]
pub async fn referral(
    who: SignedIn,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let principal = principal(&who)?;
    let id = Uuid::parse_str(&id).map_err(|_| ApiError::NotFound)?;
    let min_sequence = q.get("min_sequence").and_then(|s| s.parse::<u64>().ok());
    wait_for(&state, min_sequence).await?;
    let banner = match q.get("done").map(String::as_str) {
        Some("sent") => Some("Referral sent"),
        Some("withdrawn") => Some("Referral withdrawn"),
        _ => None,
    };
    let shown = Shown::load(&state, &principal, id, "getReferralPage").await?;
    Ok(shown.render(&who, banner, &[], "", StatusCode::OK))
}

/// Withdraws the referral with the reason given.
#[utoipa::path(post, path = "/referrals/{referral_id}/view/withdraw", operation_id = "withdrawReferralPage", tag = "pages",
    params(("referral_id" = Uuid, Path, description = "The referral's id")),
    request_body(content = String, content_type = "application/x-www-form-urlencoded",
        description = "`reason`, `csrf` and `idempotency_key` from the referral's page"),
    responses(
        (status = 303, description = "Withdrawn: to the referral's page with `?min_sequence=` (or, not signed in, to /sign-in)"),
        (status = 403, description = "Without the session's CSRF token, or without the referrer role: nothing changed (HTML)", content_type = "text/html", body = String),
        (status = 404, description = "No such referral, or another organisation's: the same page (HTML)", content_type = "text/html", body = String),
        (status = 409, description = "It can no longer be withdrawn, or it changed concurrently: the page says which (HTML)", content_type = "text/html", body = String),
        (status = 422, description = "No reason, or one too long: the page with the problem beside the field; nothing recorded (HTML)", content_type = "text/html", body = String),
        (status = 503, description = "The read model or the log is unavailable; try again (HTML)", content_type = "text/html", body = String),
    ))]
pub async fn withdraw(
    who: SignedIn,
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    posted: PageForm,
) -> Result<Response, PageError> {
    let principal = principal(&who)?;
    let id = Uuid::parse_str(&id).map_err(|_| ApiError::NotFound)?;
    let typed = posted.get("reason").to_owned();
    let key = Some(posted.get("idempotency_key"))
        .filter(|k| crate::form::fields::is_key(k))
        .map(|k| IdempotencyKey {
            organisation_id: principal.organisation_id.clone(),
            key: format!("{WITHDRAW}:{k}"),
        });
    let decided = match command::reason(Some(&typed)) {
        Ok(reason) => {
            let decision = Correct {
                correction: Correction::Withdraw,
                reason,
            };
            command::run(
                &state,
                &principal,
                WITHDRAW,
                id,
                key,
                &headers,
                typed.as_bytes(),
                StatusCode::OK,
                &decision,
            )
            .await
        }
        Err(e) => Err(e),
    };
    let errors = match decided {
        Ok(done) => {
            return Ok(Redirect::to(&format!(
                "/referrals/{id}/view?min_sequence={}&done=withdrawn",
                done.answer.sequence
            ))
            .into_response());
        }
        Err(ApiError::Validation(refusals)) => refusals
            .iter()
            .map(|r| FieldError {
                field: "reason".into(),
                message: format!("Reason {}", r.message),
            })
            .collect::<Vec<_>>(),
        Err(ApiError::Refused(r)) => vec![FieldError {
            field: "maincontent".into(),
            message: capitalised(&r.message),
        }],
        Err(ApiError::Conflict(_)) => vec![FieldError {
            field: "maincontent".into(),
            message:
                "The referral changed while it was being withdrawn. Check it and withdraw it again."
                    .into(),
        }],
        Err(e) => return Err(e.into()),
    };
    let status = if errors.iter().any(|e| e.field == "reason") {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::CONFLICT
    };
    let shown = Shown::load(&state, &principal, id, "withdrawReferralPage").await?;
    Ok(shown.render(&who, None, &errors, &typed, status))
}

/// A referral as its page shows it.
struct Shown {
    row: ReferralRow,
    timeline: Vec<TimelineItem>,
}

impl Shown {
    /// The referral, recorded in the audit trail as seen through `operation`.
    async fn load(
        state: &AppState,
        principal: &Principal,
        id: Uuid,
        operation: &str,
    ) -> Result<Shown, PageError> {
        let row = visible_row(state, principal, id).await?;
        state.audit.shown(principal, operation, &[id]).await?;
        let client = state.db.client().await?;
        let timeline = queries::timeline(&client, id).await?;
        Ok(Shown { row, timeline })
    }

    fn render(
        &self,
        who: &SignedIn,
        banner: Option<&str>,
        errors: &[FieldError],
        typed: &str,
        status: StatusCode,
    ) -> Response {
        let r = &self.row;
        let page = Page {
            title: "Referral",
            service: SERVICE,
            signed_in: Some(who),
            navigation: navigation(Section::Referrals),
            has_errors: !errors.is_empty(),
            back: Some((
                "Back to your organisation's referrals",
                "/referrals/view".into(),
            )),
        };
        let needs = r
            .needs
            .iter()
            .map(|c| c.display.clone().unwrap_or_else(|| c.code.clone()))
            .collect::<Vec<_>>()
            .join(", ");
        let details = [
            ("Status", status_tag(r.status)),
            ("Person", html! { (super::person_name(r.person.as_ref())) }),
            (
                "Date of birth",
                html! { (r.person.as_ref().map_or("Erased", |p| p.birth_date.as_str())) },
            ),
            ("Received", html! { (date(r.received_at)) }),
            ("Urgency", html! { (r.urgency) }),
            ("Needs", html! { (needs) }),
            (
                "Link worker service",
                html! { (r.link_worker_organisation_id.as_deref().unwrap_or("Not yet routed")) },
            ),
            ("Reference", html! { code { (r.referral_id) } }),
        ];
        let rows: Vec<Vec<Markup>> = self
            .timeline
            .iter()
            .map(|t| {
                vec![
                    html! { (date(t.occurred_at)) },
                    html! { (event_label(&t.kind)) },
                    html! { (detail(&t.detail)) },
                ]
            })
            .collect();
        let key = Uuid::new_v4().to_string();
        html(
            status,
            page.render(html! {
                (error_summary(errors))
                @if let Some(banner) = banner {
                    (success_banner(banner, html! { p { "Status: " (label(r.status)) "." } }))
                }
                h1 { "Referral" }
                (summary_list(&details))
                h2 class="nhsuk-heading-m" { "What happened" }
                (table("Timeline, oldest first", &["Date", "What happened", "Details"], &rows))
                @if r.status.is_open() {
                    h2 class="nhsuk-heading-m" { "Withdraw this referral" }
                    (form(&format!("/referrals/{}/view/withdraw", r.referral_id), &who.csrf, "Withdraw referral", html! {
                        input type="hidden" name="idempotency_key" value=(key);
                        (Field {
                            id: "reason",
                            label: "Why are you withdrawing it?",
                            hint: Some("Say why without describing the person, for example: referred in error, the person moved away."),
                            error: error_for(errors, "reason"),
                        }.textarea(typed, 3))
                    }))
                }
            }),
        )
    }
}

/// A timeline entry's kind as the referrer reads it.
fn event_label(kind: &str) -> &str {
    match kind {
        "received" => "Referral received",
        "routed" => "Sent to a link worker service",
        "unroutable" => "No link worker service matched: waiting to be routed",
        "accepted" => "Accepted by the link worker service",
        "declined" => "Declined by the link worker service",
        "first_contact" => "First contact with the person",
        "could_not_contact" => "The person could not be contacted",
        "plan_agreed" => "Plan agreed",
        "plan_reviewed" => "Plan reviewed",
        "connection_made" => "Connected to a community service",
        "closed" => "Closed",
        "withdrawn" => "Withdrawn",
        "entered_in_error" => "Entered in error",
        "person_corrected" => "The person's details were corrected",
        other => other,
    }
}

/// What a timeline entry's detail says, in words: only what the read model holds for the
/// referrer (codes, and details only where the person agreed to share them).
fn detail(detail: &Value) -> String {
    let text = |key: &str| detail.get(key).and_then(Value::as_str);
    let mut parts = Vec::new();
    if let Some(v) = text("link_worker_organisation_id") {
        parts.push(format!("Service: {v}"));
    }
    if let Some(v) = text("reason") {
        parts.push(format!("Reason: {}", v.replace('_', " ")));
    }
    if let Some(v) = text("channel") {
        parts.push(format!("By {}", v.replace('_', " ")));
    }
    if let Some(v) = text("review_date").or_else(|| text("next_review_date")) {
        parts.push(format!("Review on {v}"));
    }
    if let Some(v) = detail.get("goal_count").and_then(Value::as_u64) {
        parts.push(format!("{v} goal(s)"));
    }
    if let Some(v) = text("what_matters") {
        parts.push(format!("What matters: {v}"));
    }
    if let Some(v) = text("service_name") {
        parts.push(format!("Service: {v}"));
    }
    if let Some(v) = detail.get("attempts").and_then(Value::as_u64) {
        parts.push(format!("After {v} attempt(s)"));
    }
    parts.join(". ")
}
