//! Users: the people who sign in. The list, adding one (organisation, roles, and the
//! identity provider's issuer and subject they sign in with: no password or secret),
//! changing their roles, and deactivating them (their sessions end on every service), by
//! the same rules as `linkway admin user`.

use axum::extract::Path;
use axum::response::Response;
use linkway_events::Role;
use linkway_events::registry::UserRegistered;
use maud::{Markup, html};
use uuid::Uuid;

use super::{
    AdminPageError, AsAdmin, FormAnswers, PageAnswers, ROLE_CHOICES, Saved, Section, action_button,
    checkboxes, checked, field, path_id, refusal_at, refused, saved,
};
use crate::http::params::Query;
use crate::registry::admin::decide::OPERATOR;
use crate::registry::admin::fold::User;
use crate::registry::admin::input::{self, DISPLAY_NAME, ISSUER, SUBJECT};
use crate::registry::admin::{AdminError, Refusal, Registry};
use crate::web::page::{FieldError, error_for, form, summary_list, table, tag};
use crate::web::{PageForm, Web};

const LIST: &str = "/admin/users";

/// The organisations a user may belong to, as `(value, label)`: the operator first.
pub fn organisation_choices(registry: &Registry) -> Vec<(String, String)> {
    let mut choices = vec![
        (String::new(), "Choose an organisation".to_owned()),
        (OPERATOR.to_owned(), "Linkway operator (linkway)".to_owned()),
    ];
    choices.extend(registry.organisations.values().map(|o| {
        (
            o.registered.organisation_id.clone(),
            format!("{} ({})", o.registered.name, o.registered.organisation_id),
        )
    }));
    choices
}

fn role_names(roles: &[Role]) -> String {
    let names: Vec<&str> = roles
        .iter()
        .filter_map(|r| ROLE_CHOICES.iter().find(|(v, _)| *v == r.as_str()))
        .map(|(_, label)| *label)
        .collect();
    names.join(", ")
}

/// The roles ticked, or the refusal.
fn ticked(form: &PageForm) -> Result<Vec<Role>, FieldError> {
    let roles = input::distinct(form.all("roles").into_iter().filter_map(input::role));
    if roles.is_empty() {
        return Err(refusal_at(&Refusal::NoRoles, "roles"));
    }
    Ok(roles)
}

#[derive(Debug, Default)]
struct Typed<'a> {
    organisation: &'a str,
    name: &'a str,
    roles: Vec<&'a str>,
    issuer: &'a str,
    subject: &'a str,
}

impl<'a> Typed<'a> {
    fn from_form(form: &'a PageForm) -> Typed<'a> {
        Typed {
            organisation: form.get("organisation_id"),
            name: form.get("display_name"),
            roles: form.all("roles"),
            issuer: form.get("issuer"),
            subject: form.get("subject"),
        }
    }
}

fn add_fields(web: &Web, registry: &Registry, typed: &Typed, errors: &[FieldError]) -> Markup {
    let field = |id, label, hint| field(errors, id, label, hint);
    let organisations = organisation_choices(registry);
    let issuers: Vec<&str> = web
        .settings
        .providers
        .iter()
        .map(|p| p.issuer.as_str())
        .collect();
    let issuer_hint = if issuers.is_empty() {
        "Their identity provider's OpenID Connect issuer URL".to_owned()
    } else {
        format!(
            "Their identity provider's OpenID Connect issuer URL. Set up here: {}",
            issuers.join(", ")
        )
    };
    html! {
        (field("organisation_id", "Organisation", None).select(&super::options(&organisations), typed.organisation))
        (field("display_name", "Name", Some("Shown beside their actions")).input("text", typed.name, Some("off")))
        (checkboxes("roles", "Roles", &ROLE_CHOICES, &typed.roles, error_for(errors, "roles")))
        (field("issuer", "Identity provider (issuer URL)", Some(&issuer_hint)).input("text", typed.issuer, Some("off")))
        (field("subject", "Subject", Some("The 'sub' the identity provider gives them: never a password")).input("text", typed.subject, Some("off")))
    }
}

fn list_page(
    admin: &AsAdmin,
    registry: &Registry,
    saved: &Saved,
    typed: &Typed,
    errors: &[FieldError],
) -> Response {
    let rows: Vec<Vec<Markup>> = registry
        .users
        .values()
        .map(|u| {
            let r = &u.registered;
            vec![
                html! { (r.display_name) },
                html! { (r.organisation_id) },
                html! { (role_names(&r.roles)) },
                html! { (r.issuer) },
                html! { @if u.active { (tag("Active", "green")) } @else { (tag("Deactivated", "grey")) } },
                html! { a href=(format!("{LIST}/{}", r.user_id)) { "View" span class="nhsuk-u-visually-hidden" { " " (r.display_name) } } },
            ]
        })
        .collect();
    admin.page("Users", Section::Users, errors).render(html! {
        (saved.banner("User saved"))
        @if rows.is_empty() {
            p { "No one is registered yet." }
        } @else {
            (table("People who sign in", &["Name", "Organisation", "Roles", "Identity provider", "State", "Action"], &rows))
        }
        h2 class="nhsuk-heading-m" { "Add a user" }
        (form(LIST, &admin.who.csrf, "Add user", add_fields(&admin.web, registry, typed, errors)))
    })
}

/// `GET /admin/users`.
#[utoipa::path(get, path = "/admin/users", operation_id = "getUsersPage", tag = "pages",
    params(("min_sequence" = Option<u64>, Query, description = "A change just made: wait until this service's registry has it, and say it was saved")),
    responses(
        (status = 200, description = "The people who sign in and the form to add one (HTML)", content_type = "text/html", body = String),
        (status = 409, description = "`min_sequence` is beyond the end of the log (HTML)", content_type = "text/html", body = String),
        PageAnswers,
    ))]
pub async fn list(admin: AsAdmin, Query(saved): Query<Saved>) -> Result<Response, AdminPageError> {
    admin.reached(&saved).await?;
    let registry = admin.registry().await?;
    Ok(list_page(&admin, &registry, &saved, &Typed::default(), &[]))
}

/// `POST /admin/users`: registers a person; 303 to the list.
#[utoipa::path(post, path = "/admin/users", operation_id = "addUserPage", tag = "pages",
    request_body(content = String, content_type = "application/x-www-form-urlencoded",
        description = "`csrf`, `organisation_id`, `display_name`, `roles` (one or more), `issuer`, `subject`"),
    responses(
        (status = 303, description = "Added: to the list with `?min_sequence=` (or, not signed in, to /sign-in)"),
        (status = 422, description = "A field breaks its rule, or the registry's rules refuse it (no role, a role the organisation cannot hold, an identity already registered): the form again with the error summary; nothing recorded (HTML)", content_type = "text/html", body = String),
        FormAnswers,
    ))]
pub async fn add(admin: AsAdmin, form: PageForm) -> Result<Response, AdminPageError> {
    let typed = Typed::from_form(&form);
    let mut errors = Vec::new();
    let e = &mut errors;
    let organisation = checked(
        e,
        "organisation_id",
        input::organisation_id("Organisation", typed.organisation),
    );
    let name = checked(
        e,
        "display_name",
        input::required("Name", DISPLAY_NAME, typed.name),
    );
    let issuer = checked(e, "issuer", input::required("Issuer", ISSUER, typed.issuer));
    let subject = checked(
        e,
        "subject",
        input::required("Subject", SUBJECT, typed.subject),
    );
    let roles = ticked(&form).map_err(|e| errors.push(e)).ok();
    if let (Some(organisation_id), Some(display_name), Some(issuer), Some(subject), Some(roles)) =
        (organisation, name, issuer, subject, roles)
    {
        let registered = UserRegistered {
            user_id: Uuid::now_v7(),
            organisation_id,
            roles,
            display_name,
            issuer,
            subject,
        };
        match admin.commands().register_user(&registered).await {
            Ok(sequence) => return Ok(saved(LIST, sequence)),
            Err(err) => {
                let field = match &err {
                    AdminError::Refused(Refusal::IdentityTaken(_)) => "subject",
                    AdminError::Refused(Refusal::RoleDoesNotFit { .. } | Refusal::NoRoles) => {
                        "roles"
                    }
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

fn user_page(admin: &AsAdmin, user: &User, saved: &Saved, errors: &[FieldError]) -> Response {
    let r = &user.registered;
    let roles: Vec<&str> = r.roles.iter().map(|r| r.as_str()).collect();
    let base = format!("{LIST}/{}", r.user_id);
    let who = &admin.who;
    let mut page = admin.page(&r.display_name, Section::Users, errors);
    page.back = Some(("Back to users", LIST.to_owned()));
    page.render(html! {
        (saved.banner("User saved"))
        (summary_list(&[
            ("User id", html! { (r.user_id) }),
            ("Organisation", html! { (r.organisation_id) }),
            ("Roles", html! { (role_names(&r.roles)) }),
            ("Identity provider", html! { (r.issuer) }),
            ("Subject", html! { (r.subject) }),
            ("State", html! { @if user.active { "Active" } @else { "Deactivated" } }),
        ]))
        @if user.active {
            h2 class="nhsuk-heading-m" { "Change roles" }
            (form(&format!("{base}/roles"), &who.csrf, "Save roles",
                checkboxes("roles", "Roles", &ROLE_CHOICES, &roles, error_for(errors, "roles"))))
            h2 class="nhsuk-heading-m" { "Deactivate" }
            p { "They can no longer sign in, and their open sessions end on every service. Their past actions stay in the log under their user id." }
            (action_button(&format!("{base}/deactivate"), &who.csrf, "Deactivate", &r.display_name))
        }
    })
}

/// The user of a path, or the 404 page.
async fn known_user(admin: &AsAdmin, id: &str) -> Result<(Registry, Uuid), AdminPageError> {
    let user_id = path_id(id)?;
    let registry = admin.registry().await?;
    if !registry.users.contains_key(&user_id) {
        return Err(AdminPageError::NotFound);
    }
    Ok((registry, user_id))
}

/// `GET /admin/users/{id}`.
#[utoipa::path(get, path = "/admin/users/{id}", operation_id = "getUserPage", tag = "pages",
    params(
        ("id" = Uuid, Path, description = "The user's id"),
        ("min_sequence" = Option<u64>, Query, description = "A change just made: wait until this service's registry has it, and say it was saved"),
    ),
    responses(
        (status = 200, description = "The user, with the forms to change their roles and to deactivate them (HTML)", content_type = "text/html", body = String),
        (status = 404, description = "No such user (HTML)", content_type = "text/html", body = String),
        (status = 409, description = "`min_sequence` is beyond the end of the log (HTML)", content_type = "text/html", body = String),
        PageAnswers,
    ))]
pub async fn user(
    admin: AsAdmin,
    Path(id): Path<String>,
    Query(saved): Query<Saved>,
) -> Result<Response, AdminPageError> {
    admin.reached(&saved).await?;
    let (registry, user_id) = known_user(&admin, &id).await?;
    Ok(user_page(&admin, &registry.users[&user_id], &saved, &[]))
}

/// `POST /admin/users/{id}/roles`: 303 to the user.
#[utoipa::path(post, path = "/admin/users/{id}/roles", operation_id = "changeUserRolesPage", tag = "pages",
    params(("id" = Uuid, Path, description = "The user's id")),
    request_body(content = String, content_type = "application/x-www-form-urlencoded",
        description = "`csrf` and `roles` (one or more)"),
    responses(
        (status = 303, description = "Changed: to the user with `?min_sequence=` (or, not signed in, to /sign-in)"),
        (status = 404, description = "No such user (HTML)", content_type = "text/html", body = String),
        (status = 422, description = "No role, a role the organisation cannot hold, or the user deactivated: the user's page with the error summary; nothing recorded (HTML)", content_type = "text/html", body = String),
        FormAnswers,
    ))]
pub async fn change_roles(
    admin: AsAdmin,
    Path(id): Path<String>,
    form: PageForm,
) -> Result<Response, AdminPageError> {
    let (registry, user_id) = known_user(&admin, &id).await?;
    let error = match ticked(&form) {
        Ok(roles) => match admin.commands().change_roles(user_id, &roles).await {
            Ok(sequence) => return Ok(saved(&format!("{LIST}/{user_id}"), sequence)),
            Err(err) => refused(err, "roles")?,
        },
        Err(error) => error,
    };
    let user = &registry.users[&user_id];
    Ok(user_page(&admin, user, &Saved::default(), &[error]))
}

/// `POST /admin/users/{id}/deactivate`: 303 to the list.
#[utoipa::path(post, path = "/admin/users/{id}/deactivate", operation_id = "deactivateUserPage", tag = "pages",
    params(("id" = Uuid, Path, description = "The user's id")),
    request_body(content = String, content_type = "application/x-www-form-urlencoded", description = "`csrf`"),
    responses(
        (status = 303, description = "Deactivated: to the list with `?min_sequence=` (or, not signed in, to /sign-in)"),
        (status = 404, description = "No such user (HTML)", content_type = "text/html", body = String),
        (status = 422, description = "Already deactivated, or the registry kept changing: the user's page with the error summary; nothing recorded (HTML)", content_type = "text/html", body = String),
        FormAnswers,
    ))]
pub async fn deactivate(
    admin: AsAdmin,
    Path(id): Path<String>,
    _form: PageForm,
) -> Result<Response, AdminPageError> {
    let user_id = path_id(&id)?;
    let result = admin.commands().deactivate_user(user_id).await;
    admin
        .after_action(
            result,
            LIST,
            |r| r.users.contains_key(&user_id),
            |r, error| user_page(&admin, &r.users[&user_id], &Saved::default(), &[error]),
        )
        .await
}
