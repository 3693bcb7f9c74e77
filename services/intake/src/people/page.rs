//! `GET /referrals/{id}/person/view`: the subject access export as a page an information
//! governance lead can read (and print for the person): each event in plain words with
//! its details, then who saw or changed the record. The same export as `exportPerson`,
//! recorded in the audit trail the same way.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use linkway_events::Role;
use linkway_platform::ApiError;
use linkway_platform::web::page::{summary_list, table};
use linkway_platform::web::{Page, SignedIn};
use maud::{Markup, html};
use serde_json::Value;
use uuid::Uuid;

use super::export::{ExportedEvent, PersonExport, build};
use crate::AppState;
use crate::pages::{PageError, SERVICE, Section, html, navigation};

/// Who may see the page.
const ROLES: &[Role] = &[Role::IgLead, Role::Admin];

/// Everything Linkway holds about the person of a referral, readable.
#[utoipa::path(get, path = "/referrals/{referral_id}/person/view", operation_id = "getPersonPage", tag = "pages",
    params(("referral_id" = Uuid, Path, description = "The referral whose person it is")),
    responses(
        (status = 200, description = "Every event of the referral, its case and its person, and the audit of who saw it (HTML)", content_type = "text/html", body = String),
        (status = 303, description = "Not signed in: to /sign-in, coming back here after"),
        (status = 403, description = "Signed in without the ig_lead or admin role (HTML)", content_type = "text/html", body = String),
        (status = 404, description = "No such referral, or one the organisation neither sent nor received: the same page (HTML)", content_type = "text/html", body = String),
        (status = 503, description = "The log, the audit trail or the database is unavailable; try again (HTML)", content_type = "text/html", body = String),
    ))]
pub async fn person_page(
    who: SignedIn,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let principal = who.principal(ROLES)?;
    let id = Uuid::parse_str(&id).map_err(|_| ApiError::NotFound)?;
    let export = build(&state, &principal, id, "getPersonPage").await?;
    let page = Page {
        title: "What Linkway holds about this person",
        service: SERVICE,
        signed_in: Some(&who),
        navigation: navigation(Section::Referrals),
        has_errors: false,
        back: None,
    };
    Ok(html(StatusCode::OK, page.render(body(&export))))
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
