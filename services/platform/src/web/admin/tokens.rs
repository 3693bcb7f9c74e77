//! API tokens for systems: the list (ids, organisation, role, label, created, revoked;
//! never a secret, not even its digest), issuing one (its secret shown once, on the answer
//! to the form, never again: the log keeps only its SHA-256), and revoking one, by the same
//! rules as `linkway admin token`.

use axum::extract::Path;
use axum::response::Response;
use linkway_events::Role;
use maud::{Markup, html};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::users::organisation_choices;
use super::{
    AdminPageError, AsAdmin, FormAnswers, PageAnswers, Saved, Section, action_button, checked,
    field, path_id, refused,
};
use crate::http::params::Query;
use crate::registry::admin::input::{self, TOKEN_TEXT};
use crate::registry::admin::{AdminError, IssuedToken, Refusal, Registry};
use crate::web::PageForm;
use crate::web::page::{FieldError, form, summary_list, table, tag};

const LIST: &str = "/admin/tokens";

/// When, to the second, in UTC.
pub fn when(t: OffsetDateTime) -> String {
    t.replace_nanosecond(0)
        .unwrap_or(t)
        .format(&Rfc3339)
        .unwrap_or_else(|_| t.to_string())
}

#[derive(Debug, Default)]
struct Typed<'a> {
    organisation: &'a str,
    role: &'a str,
    user: &'a str,
    label: &'a str,
}

fn issue_fields(registry: &Registry, typed: &Typed, errors: &[FieldError]) -> Markup {
    let field = |id, label, hint| field(errors, id, label, hint);
    let organisations = organisation_choices(registry);
    let mut roles = vec![("", "Choose a role")];
    roles.extend(super::ROLE_CHOICES);
    html! {
        (field("organisation_id", "Organisation", None).select(&super::options(&organisations), typed.organisation))
        (field("role", "Role", Some("What the system holding it may do, as its organisation")).select(&roles, typed.role))
        (field("user", "User (optional)", Some("Who or what holds it, recorded as the actor of what it does")).input("text", typed.user, Some("off")))
        (field("label", "Label (optional)", Some("For example the system's name")).input("text", typed.label, Some("off")))
    }
}

fn list_page(
    admin: &AsAdmin,
    registry: &Registry,
    saved: &Saved,
    typed: &Typed,
    errors: &[FieldError],
) -> Response {
    let mut tokens: Vec<_> = registry.tokens.values().collect();
    tokens.sort_by_key(|t| (t.created_at, t.issued.token_id));
    let rows: Vec<Vec<Markup>> = tokens
        .iter()
        .map(|t| {
            let i = &t.issued;
            let name = i.label.clone().unwrap_or_else(|| i.token_id.to_string());
            vec![
                html! { code { (i.token_id) } },
                html! { (i.organisation_id) },
                html! { (i.role.as_str()) },
                html! { (i.user_id.as_deref().unwrap_or("")) },
                html! { (i.label.as_deref().unwrap_or("")) },
                html! { (when(t.created_at)) },
                html! {
                    @match t.revoked_at {
                        Some(at) => { (tag("Revoked", "grey")) " " (when(at)) }
                        None => (tag("Live", "green")),
                    }
                },
                html! {
                    @if t.revoked_at.is_none() {
                        (action_button(&format!("{LIST}/{}/revoke", i.token_id), &admin.who.csrf, "Revoke", &format!("token {name}")))
                    }
                },
            ]
        })
        .collect();
    admin.page("API tokens", Section::Tokens, errors).render(html! {
        (saved.banner("Token revoked"))
        p { "Tokens let systems call Linkway's APIs as an organisation in one role. People sign in instead: add them on the users page. A token's secret is shown once, when it is issued; Linkway keeps only its digest." }
        @if rows.is_empty() {
            p { "No token has been issued." }
        } @else {
            (table("Tokens, oldest first", &["Token id", "Organisation", "Role", "User", "Label", "Created", "State", "Action"], &rows))
        }
        h2 class="nhsuk-heading-m" { "Issue a token" }
        (form(LIST, &admin.who.csrf, "Issue token", issue_fields(registry, typed, errors)))
    })
}

/// `GET /admin/tokens`.
#[utoipa::path(get, path = "/admin/tokens", operation_id = "getTokensPage", tag = "pages",
    params(("min_sequence" = Option<u64>, Query, description = "A change just made: wait until this service's registry has it, and say it was saved")),
    responses(
        (status = 200, description = "The tokens (ids, never secrets) and the form to issue one (HTML)", content_type = "text/html", body = String),
        (status = 409, description = "`min_sequence` is beyond the end of the log (HTML)", content_type = "text/html", body = String),
        PageAnswers,
    ))]
pub async fn list(admin: AsAdmin, Query(saved): Query<Saved>) -> Result<Response, AdminPageError> {
    admin.reached(&saved).await?;
    let registry = admin.registry().await?;
    Ok(list_page(&admin, &registry, &saved, &Typed::default(), &[]))
}

/// The answer to an issued token: its secret, this once.
fn issued_page(admin: &AsAdmin, issued: &IssuedToken, organisation: &str, role: Role) -> Response {
    admin.page("Token issued", Section::Tokens, &[]).render(html! {
        div class="nhsuk-warning-callout" {
            h2 class="nhsuk-warning-callout__label" { "Copy the secret now" }
            p { "This is the only time it is shown. Linkway keeps only its digest, so a lost secret cannot be shown again: revoke the token and issue another." }
        }
        (summary_list(&[
            ("Token id", html! { code { (issued.token_id) } }),
            ("Organisation", html! { (organisation) }),
            ("Role", html! { (role.as_str()) }),
            ("Secret", html! { code id="token-secret" { (issued.secret) } }),
        ]))
        p { "Recorded as event " (issued.sequence) " of the log." }
        p { a href=(LIST) { "Back to tokens" } }
    })
}

/// `POST /admin/tokens`: issues a token and answers with its secret, once (200, never
/// cached: the secret cannot go in a redirect's address).
#[utoipa::path(post, path = "/admin/tokens", operation_id = "issueTokenPage", tag = "pages",
    request_body(content = String, content_type = "application/x-www-form-urlencoded",
        description = "`csrf`, `organisation_id`, `role`, `user` and `label` (optional)"),
    responses(
        (status = 200, description = "Issued: the token's secret, shown this once, never cached (HTML)", content_type = "text/html", body = String),
        (status = 303, description = "Not signed in: to /sign-in"),
        (status = 422, description = "A field breaks its rule, or the role is not one the organisation can hold: the form again with the error summary; nothing recorded (HTML)", content_type = "text/html", body = String),
        FormAnswers,
    ))]
pub async fn issue(admin: AsAdmin, form: PageForm) -> Result<Response, AdminPageError> {
    let typed = Typed {
        organisation: form.get("organisation_id"),
        role: form.get("role"),
        user: form.get("user"),
        label: form.get("label"),
    };
    let mut errors = Vec::new();
    let e = &mut errors;
    let organisation = checked(
        e,
        "organisation_id",
        input::organisation_id("Organisation", typed.organisation),
    );
    let user = checked(e, "user", input::text("User", TOKEN_TEXT, Some(typed.user)));
    let label = checked(
        e,
        "label",
        input::text("Label", TOKEN_TEXT, Some(typed.label)),
    );
    let role: Option<Role> = input::role(typed.role);
    if role.is_none() {
        errors.push(FieldError {
            field: "role".into(),
            message: "Select the token's role".into(),
        });
    }
    if let (Some(organisation), Some(role), Some(user), Some(label)) =
        (organisation, role, user, label)
    {
        match admin
            .commands()
            .issue_token(&organisation, role, user, label)
            .await
        {
            Ok(issued) => return Ok(issued_page(&admin, &issued, &organisation, role)),
            Err(err) => {
                let field = match &err {
                    AdminError::Refused(Refusal::RoleDoesNotFit { .. }) => "role",
                    _ => "organisation_id",
                };
                errors.push(refused(err, field)?);
            }
        }
    }
    let registry = admin.registry().await?;
    Ok(list_page(
        &admin,
        &registry,
        &Saved::default(),
        &typed,
        &errors,
    ))
}

/// `POST /admin/tokens/{id}/revoke`: 303 to the list.
#[utoipa::path(post, path = "/admin/tokens/{id}/revoke", operation_id = "revokeTokenPage", tag = "pages",
    params(("id" = uuid::Uuid, Path, description = "The token's id")),
    request_body(content = String, content_type = "application/x-www-form-urlencoded", description = "`csrf`"),
    responses(
        (status = 303, description = "Revoked: to the list with `?min_sequence=` (or, not signed in, to /sign-in)"),
        (status = 404, description = "No such token (HTML)", content_type = "text/html", body = String),
        (status = 422, description = "Already revoked, or the registry kept changing: the list with the error summary; nothing recorded (HTML)", content_type = "text/html", body = String),
        FormAnswers,
    ))]
pub async fn revoke(
    admin: AsAdmin,
    Path(id): Path<String>,
    _form: PageForm,
) -> Result<Response, AdminPageError> {
    let token_id = path_id(&id)?;
    let result = admin.commands().revoke_token(token_id).await;
    admin
        .after_action(
            result,
            LIST,
            |r| r.tokens.contains_key(&token_id),
            |r, error| list_page(&admin, r, &Saved::default(), &Typed::default(), &[error]),
        )
        .await
}
