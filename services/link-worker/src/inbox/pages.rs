//! The community service's pages: `/inbox/view` (its onward referrals, those awaiting an
//! answer first, with "Reminder sent" and "Declined automatically" tags) and one
//! connection's page (`/inbox/{referral_id}/{connection_id}/view`: the shared details,
//! the lawful basis, and the forms to accept, decline with a reason, or record that the
//! person attended). Reads and answers go through the API's own functions
//! ([`super::api`]), so the audit trail, the registry's services and the decision are
//! the same; another organisation's connection is the same 404 page as a missing one.

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use linkway_platform::auth::Principal;
use linkway_platform::http::{CorrelationId, Path};
use linkway_platform::web::page::{
    error_summary, pagination, radios, success_banner, summary_list, table, tag,
};
use linkway_platform::web::{FieldError, NavItem, Page, PageForm, SignedIn};
use maud::{Markup, html};
use uuid::Uuid;

use super::api::{self, INBOX_ROLES, InboxQuery, InboxState};
use super::decision::{Answer, SERVICE_REASONS};
use super::item::InboxItem;

/// Onward referrals a page of the inbox shows.
const PER_PAGE: i64 = 50;
use crate::case::ConnectionStatus;
use crate::pages::{
    PageError, TABLE_LINK, command_headers, fresh_key, html, labels, refused, see_other,
};
use linkway_events::case::ConnectionDeclineReason;

/// The pages' name in every header and title.
pub const SERVICE: &str = "Inbox";
/// The list.
pub const PATH: &str = "/inbox/view";

/// The inbox pages' routes.
pub fn routes(state: InboxState) -> Router {
    Router::new()
        .route(PATH, get(list))
        .route(
            "/inbox/{referral_id}/{connection_id}/view",
            get(page).post(post),
        )
        .with_state(state)
}

fn navigation() -> Vec<NavItem> {
    vec![NavItem {
        text: "Inbox",
        href: PATH.to_owned(),
        current: true,
    }]
}

fn status_label(s: ConnectionStatus) -> (&'static str, &'static str) {
    match s {
        ConnectionStatus::Pending => ("Awaiting your answer", "blue"),
        ConnectionStatus::Accepted => ("Accepted", "green"),
        ConnectionStatus::Declined => ("Declined", "grey"),
        ConnectionStatus::Attended => ("Attended", "green"),
    }
}

/// What a decline reason says to people.
pub fn reason_label(r: ConnectionDeclineReason) -> &'static str {
    match r {
        ConnectionDeclineReason::NoCapacity => "No capacity at the moment",
        ConnectionDeclineReason::NotEligible => "The person is not eligible",
        ConnectionDeclineReason::PersonDeclined => "The person decided not to take it up",
        ConnectionDeclineReason::NoAnswerInTime => "Declined automatically: no answer in time",
        ConnectionDeclineReason::Other => "Another reason",
        ConnectionDeclineReason::NotRecorded => "No reason recorded",
    }
}

/// The tags beside a connection's status.
fn flags(i: &InboxItem) -> Markup {
    html! {
        (tag(status_label(i.status).0, status_label(i.status).1))
        @if i.status == ConnectionStatus::Pending && i.reminded_at.is_some() {
            " " (tag("Reminder sent", "orange"))
        }
        @if i.decline_reason == Some(ConnectionDeclineReason::NoAnswerInTime) {
            " " (tag("Declined automatically", "red"))
        }
        @if i.ended { " " (tag("Ended", "grey")) }
    }
}

fn person(i: &InboxItem) -> String {
    i.details
        .name
        .clone()
        .unwrap_or_else(|| "Name not shared".to_owned())
}

fn item_path(i: &InboxItem) -> String {
    format!("/inbox/{}/{}/view", i.referral_id, i.connection_id)
}

/// The inbox.
#[utoipa::path(
    get, path = "/inbox/view", operation_id = "getInboxPage", tag = "pages",
    params(
        ("status" = Option<ConnectionStatus>, Query, description = "Only connections in this status"),
        ("page" = Option<i64>, Query, description = "Which page of the list, from 1 (50 a page)"),
    ),
    responses(
        (status = 200, description = "The inbox (HTML)", content_type = "text/html", body = String),
        (status = 303, description = "Not signed in: to /sign-in"),
        (status = 403, description = "Not a community service (HTML)", content_type = "text/html", body = String),
        (status = 503, description = "Try again shortly (HTML)", content_type = "text/html", body = String),
    ),
    security(("session" = []))
)]
#[tracing::instrument(skip_all)]
pub async fn list(
    who: SignedIn,
    State(state): State<InboxState>,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let principal = who.principal(INBOX_ROLES)?;
    let query = PageForm::parse(raw.unwrap_or_default().as_bytes());
    let status = match query.get("status") {
        "" => None,
        s => serde_json::from_value(serde_json::Value::String(s.to_owned())).ok(),
    };
    let number = query.get("page").parse().unwrap_or(1).clamp(1, 10_000);
    let q = InboxQuery {
        status,
        limit: Some(PER_PAGE),
        offset: Some((number - 1) * PER_PAGE),
        min_sequence: None,
    };
    let inbox = api::inbox(&state, &principal, &q, "getInboxPage").await?;
    let pages = (inbox.total + PER_PAGE - 1) / PER_PAGE;
    // The filter as it was read (a status code, or none), so a link never repeats what
    // was typed.
    let filter = status
        .and_then(|s| serde_json::to_value(s).ok())
        .and_then(|v| v.as_str().map(|s| format!("status={s}&")))
        .unwrap_or_default();
    let href = |n: i64| format!("/inbox/view?{filter}page={n}");
    let rows: Vec<Vec<Markup>> = inbox
        .items
        .iter()
        .map(|i| {
            vec![
                html! { a class=(TABLE_LINK) href=(item_path(i)) { (person(i)) } },
                html! { (i.service_name) },
                html! { (i.made_at.date().to_string()) },
                flags(i),
            ]
        })
        .collect();
    let content = html! {
        h1 { "Onward referrals" }
        p { "People link workers have referred to your services. Those waiting for your answer come first." }
        @if rows.is_empty() {
            p { "There is nothing in your inbox." }
        } @else {
            (table(&format!("Onward referrals to your services, page {number} of {}", pages.max(1)), &["Person", "Service", "Sent", "Status"], &rows))
        }
        (pagination(number, pages, href))
    };
    let page = Page {
        title: "Inbox",
        service: SERVICE,
        signed_in: Some(&who),
        navigation: navigation(),
        has_errors: false,
        back: None,
    };
    Ok(html(StatusCode::OK, &page, content))
}

/// One onward referral.
#[utoipa::path(
    get, path = "/inbox/{referral_id}/{connection_id}/view", operation_id = "getInboxItemPage", tag = "pages",
    params(
        ("referral_id" = Uuid, Path, description = "The referral id"),
        ("connection_id" = Uuid, Path, description = "The connection id"),
        ("min_sequence" = Option<u64>, Query, description = "Wait until the inbox has this event"),
        ("done" = Option<String>, Query, description = "What was just done, for the confirmation"),
    ),
    responses(
        (status = 200, description = "The onward referral (HTML)", content_type = "text/html", body = String),
        (status = 303, description = "Not signed in: to /sign-in"),
        (status = 403, description = "Not a community service (HTML)", content_type = "text/html", body = String),
        (status = 404, description = "No such connection for this organisation (HTML)", content_type = "text/html", body = String),
        (status = 503, description = "Try again shortly (HTML)", content_type = "text/html", body = String),
    ),
    security(("session" = []))
)]
#[tracing::instrument(skip_all)]
pub async fn page(
    who: SignedIn,
    State(state): State<InboxState>,
    Path(ids): Path<(Uuid, Uuid)>,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let principal = who.principal(INBOX_ROLES)?;
    let query = PageForm::parse(raw.unwrap_or_default().as_bytes());
    let min_sequence = query.get("min_sequence").parse().ok();
    show(
        &state,
        &who,
        &principal,
        ids,
        min_sequence,
        None,
        query.get("done"),
    )
    .await
}

/// A refused form: which, what was chosen, why, and the answer's status.
struct Failed<'a> {
    action: &'a str,
    posted: &'a PageForm,
    errors: Vec<FieldError>,
    status: StatusCode,
}

async fn show(
    state: &InboxState,
    who: &SignedIn,
    principal: &Principal,
    ids: (Uuid, Uuid),
    min_sequence: Option<u64>,
    failed: Option<Failed<'_>>,
    done: &str,
) -> Result<Response, PageError> {
    let item = api::item(state, principal, ids, min_sequence, "getInboxItemPage").await?;
    let errors = failed.as_ref().map_or(&[][..], |f| &f.errors[..]);
    let confirmation = match done {
        "accept" => Some("You accepted the referral"),
        "decline" => Some("You declined the referral"),
        "attended" => Some("Attendance recorded"),
        _ => None,
    };
    let d = &item.details;
    let not_shared = || html! { span class="nhsuk-body-s" { "Not shared" } };
    let content = html! {
        (error_summary(errors))
        @if let Some(text) = confirmation { (success_banner(text, html! {})) }
        span class="nhsuk-caption-l" { (item.service_name) }
        h1 { (person(&item)) }
        (summary_list(&[
            ("Status", flags(&item)),
            ("Sent", html! { (item.made_at.date().to_string()) }),
            ("Reason declined", html! { @if let Some(r) = item.decline_reason { (reason_label(r)) } @else { "Not declined" } }),
            ("Lawful basis for sharing", html! { @if let Some(b) = item.legal_basis { (labels::text(labels::LEGAL_BASES, &labels::code(&b))) } @else { "Not recorded" } }),
            ("Phone", html! { @if let Some(p) = &d.phone { (p) } @else { (not_shared()) } }),
            ("Email", html! { @if let Some(e) = &d.email { (e) } @else { (not_shared()) } }),
            ("Address", html! { @if d.address.is_empty() { (not_shared()) } @else { @for l in &d.address { (l) br; } } }),
            ("Needs", html! {
                @if d.needs.is_empty() && d.needs_text.is_none() { (not_shared()) }
                @for n in &d.needs { (n) br; }
                @if let Some(t) = &d.needs_text { (t) }
            }),
            ("What matters to them", html! { @if let Some(w) = &d.what_matters { (w) } @else { (not_shared()) } }),
            ("Goals", html! { @if d.goals.is_empty() { (not_shared()) } @else { ul class="nhsuk-list nhsuk-list--bullet" { @for g in &d.goals { li { (g) } } } } }),
        ]))
        (forms(&item, who, failed.as_ref()))
    };
    let page = Page {
        title: "Onward referral",
        service: SERVICE,
        signed_in: Some(who),
        navigation: navigation(),
        has_errors: !errors.is_empty(),
        back: Some(("Back to the inbox", PATH.to_owned())),
    };
    let status = failed.as_ref().map_or(StatusCode::OK, |f| f.status);
    Ok(html(status, &page, content))
}

/// The answers the connection takes now, each its own form.
fn forms(item: &InboxItem, who: &SignedIn, failed: Option<&Failed<'_>>) -> Markup {
    if item.ended {
        return html! { p { "The referral has ended: it takes no answer." } };
    }
    let action = item_path(item);
    let hidden = |name: &str| {
        html! {
            input type="hidden" name="csrf" value=(who.csrf);
            input type="hidden" name="action" value=(name);
            input type="hidden" name="version" value=(item.version);
            input type="hidden" name="idempotency_key" value=(fresh_key());
        }
    };
    let errors = failed.map_or(&[][..], |f| &f.errors[..]);
    let chosen = failed
        .filter(|f| f.action == "decline")
        .map_or("", |f| f.posted.get("reason"));
    let reasons: Vec<(&str, &str)> = SERVICE_REASONS
        .iter()
        .map(|r| (r.as_str(), reason_label(*r)))
        .collect();
    let pending = item.status == ConnectionStatus::Pending;
    let attendable = pending || item.status == ConnectionStatus::Accepted;
    html! {
        @if pending {
            h2 class="nhsuk-heading-m" { "Accept" }
            form method="post" action=(action) novalidate {
                (hidden("accept"))
                button class="nhsuk-button" data-module="nhsuk-button" type="submit" id="accept" { "Accept the referral" }
            }
            h2 class="nhsuk-heading-m" { "Decline" }
            form method="post" action=(action) novalidate {
                (hidden("decline"))
                (radios("reason", "Why are you declining?", &reasons, chosen, linkway_platform::web::page::error_for(errors, "reason")))
                button class="nhsuk-button nhsuk-button--secondary" data-module="nhsuk-button" type="submit" { "Decline the referral" }
            }
        }
        @if attendable {
            h2 class="nhsuk-heading-m" { "Attendance" }
            form method="post" action=(action) novalidate {
                (hidden("attended"))
                button class="nhsuk-button nhsuk-button--secondary" data-module="nhsuk-button" type="submit" id="attended" { "The person attended" }
            }
        }
    }
}

/// Sends one of the connection page's forms.
#[utoipa::path(
    post, path = "/inbox/{referral_id}/{connection_id}/view", operation_id = "submitInboxForm", tag = "pages",
    params(("referral_id" = Uuid, Path, description = "The referral id"), ("connection_id" = Uuid, Path, description = "The connection id")),
    request_body(content = String, content_type = "application/x-www-form-urlencoded",
        description = "`csrf`, `action` (accept | decline | attended), `version`, `idempotency_key`, and for a decline `reason`."),
    responses(
        (status = 303, description = "Done: to the page with `?min_sequence=`; or not signed in: to /sign-in"),
        (status = 403, description = "No or wrong CSRF token, or not a community service: nothing was changed (HTML)", content_type = "text/html", body = String),
        (status = 404, description = "No such connection for this organisation (HTML)", content_type = "text/html", body = String),
        (status = 409, description = "Already answered, or changed meanwhile: the page with the problem (HTML)", content_type = "text/html", body = String),
        (status = 422, description = "The page again with the problem beside its field (HTML)", content_type = "text/html", body = String),
        (status = 503, description = "Try again shortly (HTML)", content_type = "text/html", body = String),
    ),
    security(("session" = []))
)]
#[tracing::instrument(skip_all)]
pub async fn post(
    who: SignedIn,
    State(state): State<InboxState>,
    Path(ids): Path<(Uuid, Uuid)>,
    correlation: CorrelationId,
    form: PageForm,
) -> Result<Response, PageError> {
    let principal = who.principal(INBOX_ROLES)?;
    let action = form.get("action").to_owned();
    let headers = command_headers(
        correlation.0,
        form.get("idempotency_key"),
        form.get("version"),
    );
    let (answer, body) = match action.as_str() {
        "accept" => (Ok(Answer::Accept), Vec::new()),
        "attended" => (Ok(Answer::Attended), Vec::new()),
        "decline" => {
            let body = serde_json::json!({ "reason": form.get("reason") })
                .to_string()
                .into_bytes();
            (api::decline_reason(&body).map(Answer::Decline), body)
        }
        _ => {
            return Err(PageError::Api(linkway_platform::ApiError::field(
                "action",
                "known_action",
                "unknown form",
            )));
        }
    };
    let done = match answer {
        Ok(answer) => api::answer(&state, &principal, &headers, ids, answer, &body).await,
        Err(e) => Err(e),
    };
    match done {
        Ok((_, recorded)) => Ok(see_other(
            &format!("/inbox/{}/{}/view", ids.0, ids.1),
            recorded.0.sequence,
            &action,
        )),
        Err(error) => {
            let rename = |field: &str| (field == "reason").then(|| "reason".to_owned());
            let fallback = match action.as_str() {
                "decline" => "reason",
                "attended" => "attended",
                _ => "accept",
            };
            let refusal = refused(error, rename, fallback)?;
            let errors = refusal
                .errors
                .into_iter()
                .map(|e| FieldError {
                    message: if e.field == "reason"
                        && action == "decline"
                        && form.get("reason").is_empty()
                    {
                        "Select why you are declining".to_owned()
                    } else {
                        e.message
                    },
                    field: e.field,
                })
                .collect();
            let failed = Failed {
                action: &action,
                posted: &form,
                errors,
                status: refusal.status,
            };
            show(&state, &who, &principal, ids, None, Some(failed), "").await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn item(status: ConnectionStatus) -> InboxItem {
        InboxItem {
            referral_id: Uuid::from_u128(1),
            connection_id: Uuid::from_u128(2),
            service_id: "walk".into(),
            service_name: "Walking group".into(),
            made_at: datetime!(2025-03-04 10:00 UTC),
            status,
            answered_at: None,
            reminded_at: None,
            decline_reason: None,
            legal_basis: None,
            shared: vec![],
            details: Default::default(),
            ended: false,
            version: 3,
        }
    }

    #[test]
    fn the_tags_say_reminded_while_waiting_and_declined_automatically() {
        let mut waiting = item(ConnectionStatus::Pending);
        waiting.reminded_at = Some(datetime!(2025-03-11 10:00 UTC));
        let text = flags(&waiting).into_string();
        assert!(text.contains("Awaiting your answer") && text.contains("Reminder sent"));
        // Once answered the reminder is history, not a tag.
        let mut accepted = waiting.clone();
        accepted.status = ConnectionStatus::Accepted;
        assert!(!flags(&accepted).into_string().contains("Reminder sent"));
        let mut automatic = item(ConnectionStatus::Declined);
        automatic.decline_reason = Some(ConnectionDeclineReason::NoAnswerInTime);
        assert!(
            flags(&automatic)
                .into_string()
                .contains("Declined automatically")
        );
        let mut by_service = item(ConnectionStatus::Declined);
        by_service.decline_reason = Some(ConnectionDeclineReason::NoCapacity);
        assert!(!flags(&by_service).into_string().contains("automatically"));
        assert_eq!(person(&item(ConnectionStatus::Pending)), "Name not shared");
    }
}
