//! `GET /referrals/{id}/person/view`: the subject access export as a page an information
//! governance lead can read (and print for the person): each event in plain words with
//! its details, then who saw or changed the record. The same export as `exportPerson`,
//! recorded in the audit trail the same way. While the person is not erased, the page
//! ends with the erase form: `POST /referrals/{id}/person/view/erase` runs `erasePerson`'s
//! own erasure ([`super::export::erase`]) and comes back here with a banner.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use linkway_events::Role;
use linkway_events::person::ErasureReason;
use linkway_platform::ApiError;
use linkway_platform::command::Call;
use linkway_platform::web::page::{
    FieldError, checkboxes, error_for, error_summary, form, radios, success_banner, summary_list,
    table,
};
use linkway_platform::web::{Page, PageForm, SignedIn};
use maud::{Markup, html};
use serde_json::Value;
use uuid::Uuid;

use super::export::{ExportedEvent, PersonExport, build, erase};
use crate::AppState;
use crate::api::correlation_id;
use crate::pages::{PageError, SERVICE, html};

/// Who may see the page.
const ROLES: &[Role] = &[Role::IgLead, Role::Admin];

/// The erase form's command.
pub const ERASE: &str = "erasePersonPage";

/// The erase form's grounds, as the radios say them.
const GROUNDS: &[(&str, &str)] = &[
    ("person_asked", "The person asked to be erased"),
    (
        "unlawful_processing",
        "Their data should never have been processed",
    ),
    ("legal_obligation", "The law requires it"),
    (
        "consent_withdrawn",
        "They withdrew the consent the processing relied on",
    ),
];

/// Everything Linkway holds about the person of a referral, readable.
#[utoipa::path(get, path = "/referrals/{referral_id}/person/view", operation_id = "getPersonPage", tag = "pages",
    params(
        ("referral_id" = Uuid, Path, description = "The referral whose person it is"),
        ("done" = Option<String>, Query, description = "`erased`: say so in a banner"),
    ),
    responses(
        (status = 200, description = "Every event of the referral, its case and its person, the audit of who saw it, and the erase form (HTML)", content_type = "text/html", body = String),
        (status = 303, description = "Not signed in: to /sign-in, coming back here after"),
        (status = 403, description = "Signed in without the ig_lead or admin role (HTML)", content_type = "text/html", body = String),
        (status = 404, description = "No such referral, or one the organisation neither sent nor received: the same page (HTML)", content_type = "text/html", body = String),
        (status = 503, description = "The log, the audit trail or the database is unavailable; try again (HTML)", content_type = "text/html", body = String),
    ))]
pub async fn person_page(
    who: SignedIn,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let principal = who.principal(ROLES)?;
    let id = Uuid::parse_str(&id).map_err(|_| ApiError::NotFound)?;
    let export = build(&state, &principal, id, "getPersonPage").await?;
    let erased = export.erased && q.get("done").is_some_and(|d| d == "erased");
    Ok(render(&who, &export, erased, &[], "", StatusCode::OK))
}

/// Erases the person: the ground, and a tick that it cannot be undone.
#[utoipa::path(post, path = "/referrals/{referral_id}/person/view/erase", operation_id = "erasePersonPage", tag = "pages",
    params(("referral_id" = Uuid, Path, description = "The referral whose person it is")),
    request_body(content = String, content_type = "application/x-www-form-urlencoded",
        description = "`reason` (person_asked, unlawful_processing, legal_obligation or consent_withdrawn), `confirm` (`yes`) and `csrf` from the person page"),
    responses(
        (status = 303, description = "Erased (or erased already): to the person page with `?done=erased` (or, not signed in, to /sign-in)"),
        (status = 403, description = "Without the session's CSRF token, or without the ig_lead or admin role: nothing changed (HTML)", content_type = "text/html", body = String),
        (status = 404, description = "No such referral, or one the organisation neither sent nor received: the same page (HTML)", content_type = "text/html", body = String),
        (status = 409, description = "It changed concurrently: the page says so; nothing erased (HTML)", content_type = "text/html", body = String),
        (status = 422, description = "No ground, or not confirmed: the page with the problem beside the field; nothing erased (HTML)", content_type = "text/html", body = String),
        (status = 503, description = "The log, the vault or the audit trail is unavailable; try again (HTML)", content_type = "text/html", body = String),
    ))]
pub async fn erase_page(
    who: SignedIn,
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    posted: PageForm,
) -> Result<Response, PageError> {
    let principal = who.principal(ROLES)?;
    let id = Uuid::parse_str(&id).map_err(|_| ApiError::NotFound)?;
    let chosen = posted.get("reason").to_owned();
    let reason = ErasureReason::parse(&chosen);
    let mut errors = Vec::new();
    if reason.is_none() {
        errors.push(FieldError {
            field: "reason".into(),
            message: "Choose why the person is erased".into(),
        });
    }
    if posted.get("confirm") != "yes" {
        errors.push(FieldError {
            field: "confirm".into(),
            message: "Confirm that you understand erasure cannot be undone".into(),
        });
    }
    let status = match reason.filter(|_| errors.is_empty()) {
        Some(reason) => {
            let call = Call {
                operation: ERASE,
                principal: &principal,
                aggregate_id: id.to_string(),
                key: None,
                body: chosen.as_bytes(),
                if_match: None,
                correlation_id: correlation_id(&headers),
                success: StatusCode::OK,
            };
            match erase(&state, &call, reason).await {
                Ok(_) => {
                    return Ok(
                        Redirect::to(&format!("/referrals/{id}/person/view?done=erased"))
                            .into_response(),
                    );
                }
                Err(ApiError::Conflict(_)) => {
                    errors.push(FieldError {
                        field: "maincontent".into(),
                        message: "The record changed while it was being erased. Check it and erase the person again.".into(),
                    });
                    StatusCode::CONFLICT
                }
                Err(e) => return Err(e.into()),
            }
        }
        None => StatusCode::UNPROCESSABLE_ENTITY,
    };
    let export = build(&state, &principal, id, ERASE).await?;
    Ok(render(&who, &export, false, &errors, &chosen, status))
}

fn render(
    who: &SignedIn,
    export: &PersonExport,
    erased_now: bool,
    errors: &[FieldError],
    chosen: &str,
    status: StatusCode,
) -> Response {
    let page = Page {
        title: "What Linkway holds about this person",
        service: SERVICE,
        signed_in: Some(who),
        // The IG lead's and the administrator's way round: not the referrer's pages.
        navigation: vec![linkway_platform::web::NavItem {
            text: "Audit trail",
            href: "/audit/view".into(),
            current: false,
        }],
        has_errors: !errors.is_empty(),
        back: None,
    };
    html(
        status,
        page.render(html! {
            (error_summary(errors))
            @if erased_now {
                (success_banner("Person erased", html! {
                    p { "Their details are gone from every record, and the key that opened them is destroyed." }
                }))
            }
            (body(export))
            @if !export.erased {
                (erase_form(who, export.referral_id, errors, chosen))
            }
        }),
    )
}

fn erase_form(who: &SignedIn, id: Uuid, errors: &[FieldError], chosen: &str) -> Markup {
    html! {
        h2 class="nhsuk-heading-m" { "Erase this person" }
        div class="nhsuk-warning-callout" {
            h3 class="nhsuk-warning-callout__label" {
                span role="text" { span class="nhsuk-u-visually-hidden" { "Important: " } "Erasure cannot be undone" }
            }
            p { "Their details are removed from every record of this referral and its case, and the key that opens them is destroyed. What happened stays in the record, without them." }
        }
        (form(&format!("/referrals/{id}/person/view/erase"), &who.csrf, "Erase this person", html! {
            (radios("reason", "Why is the person erased?", GROUNDS, chosen, error_for(errors, "reason")))
            (checkboxes("confirm", "Confirm", &[("yes", "I understand that erasure cannot be undone")], &[], error_for(errors, "confirm")))
        }))
    }
}

fn body(export: &PersonExport) -> Markup {
    html! {
        h1 class="nhsuk-heading-l" { "What Linkway holds about this person" }
        (summary_list(&[
            ("Referral", html! { code { (export.referral_id) } }),
            ("Erased", html! { @if export.erased { "Yes: their details are gone from every record" } @else { "No" } }),
            ("Events", html! { (export.events.len()) }),
        ]))
        h2 class="nhsuk-heading-m" { "What was recorded" }
        @for e in &export.events { (event(e)) }
        h2 class="nhsuk-heading-m" { "Who saw or changed the record" }
        (table(
            "Newest first",
            &["When", "Organisation", "Person", "Role", "What"],
            &export
                .audit
                .iter()
                .map(|a| vec![
                    html! { (a.recorded_at.date().to_string()) " " (a.recorded_at.time().to_string()) },
                    html! { (a.organisation_id) },
                    html! { (a.user_id.as_deref().unwrap_or("")) },
                    html! { (a.role) },
                    html! { (a.operation) },
                ])
                .collect::<Vec<_>>(),
        ))
    }
}

fn event(e: &ExportedEvent) -> Markup {
    let mut rows = Vec::new();
    flatten("", &e.data, &mut rows);
    let rows: Vec<(&str, Markup)> = rows
        .iter()
        .map(|(k, v)| (k.as_str(), html! { (v) }))
        .collect();
    html! {
        div class="nhsuk-card" {
            div class="nhsuk-card__content" {
                h3 class="nhsuk-card__heading" { (e.event_type) }
                p class="nhsuk-body-s" {
                    (e.occurred_at.date().to_string()) ", by " (e.actor_organisation_id) " (" (e.actor_role) ")"
                }
                (summary_list(&rows))
            }
        }
    }
}

/// Every leaf of the event's data as `path: value` lines, in order.
fn flatten(prefix: &str, value: &Value, out: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let key = if prefix.is_empty() {
                    k.replace('_', " ")
                } else {
                    format!("{prefix}, {}", k.replace('_', " "))
                };
                flatten(&key, v, out);
            }
        }
        Value::Array(items) if items.iter().all(|i| !i.is_object()) => {
            let joined: Vec<String> = items.iter().map(scalar).collect();
            out.push((prefix.to_owned(), joined.join("; ")));
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                flatten(&format!("{prefix} {}", i + 1), v, out);
            }
        }
        other => out.push((prefix.to_owned(), scalar(other))),
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::flatten;

    #[test]
    fn every_leaf_is_a_line_in_order() {
        let mut out = Vec::new();
        flatten(
            "",
            &json!({"person": {"given_name": "Ada", "address": {"lines": ["1 Row", "Leeds"]}},
                    "needs": [{"code": "1"}, {"code": "2"}], "urgent": false}),
            &mut out,
        );
        let keys: Vec<&str> = out.iter().map(|(k, _)| k.as_str()).collect();
        // In the data's key order (serde_json keeps an object's keys sorted).
        assert_eq!(
            keys,
            [
                "needs 1, code",
                "needs 2, code",
                "person, address, lines",
                "person, given name",
                "urgent"
            ]
        );
        assert_eq!(out[2].1, "1 Row; Leeds");
        assert_eq!(out[4].1, "false");
    }
}
