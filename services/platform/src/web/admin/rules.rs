//! Routing rules: which link-worker service takes which referrals. The rules in force,
//! adding one and removing one (the same rules as `linkway admin rule`), and a preview of
//! where a referral from an organisation for a postcode would go, chosen by the very
//! function intake routes with ([`crate::registry::routing::choose`]) over the rules in
//! force. The preview is posted, so the postcode stays out of addresses and logs.

use axum::extract::Path;
use axum::response::Response;
use linkway_events::registry::RoutingCriterion;
use maud::{Markup, html};

use super::{
    AdminPageError, AsAdmin, FormAnswers, PageAnswers, Saved, Section, action_button, checked,
    field, options, path_id, refused, saved,
};
use crate::http::params::Query;
use crate::registry::admin::fold::Rule as RuleInForce;
use crate::registry::admin::input;
use crate::registry::admin::{AdminError, Refusal, Registry};
use crate::registry::routing::{self, Criterion, Route};
use crate::web::PageForm;
use crate::web::page::{FieldError, form, summary_list, table};

const LIST: &str = "/admin/routing-rules";

/// Priority a rule gets unless one is typed (the CLI's default too).
const DEFAULT_PRIORITY: &str = "100";

/// The rules in force as intake's routing reads them.
pub fn in_force(registry: &Registry) -> Vec<routing::Rule> {
    registry
        .rules
        .values()
        .filter(|r| !r.removed)
        .map(|r| {
            let (criterion, value) = match &r.added.criterion {
                RoutingCriterion::ReferringOrganisation { organisation_id } => {
                    (Criterion::ReferringOrganisation, organisation_id.clone())
                }
                RoutingCriterion::PostcodeDistrict { district } => {
                    (Criterion::PostcodeDistrict, district.clone())
                }
            };
            routing::Rule {
                rule_id: r.added.rule_id,
                link_worker_organisation_id: r.added.link_worker_organisation_id.clone(),
                criterion,
                value,
                priority: r.added.priority,
            }
        })
        .collect()
}

/// What a preview asked and what routing answered.
struct Preview {
    from: String,
    district: String,
    route: Route,
}

#[derive(Debug, Default)]
struct Typed<'a> {
    to: &'a str,
    from_org: &'a str,
    district: &'a str,
    priority: &'a str,
    preview_from: &'a str,
    preview_postcode: &'a str,
}

fn organisation_name(registry: &Registry, id: &str) -> String {
    registry.organisations.get(id).map_or_else(
        || id.to_owned(),
        |o| format!("{} ({id})", o.registered.name),
    )
}

/// `(id, "name (id)")` of each organisation, after a first empty choice.
fn choices<'a>(
    first: &str,
    ids: impl Iterator<Item = &'a str>,
    registry: &Registry,
) -> Vec<(String, String)> {
    let mut out = vec![(String::new(), first.to_owned())];
    out.extend(ids.map(|id| (id.to_owned(), organisation_name(registry, id))));
    out
}

fn matches(registry: &Registry, rule: &RuleInForce) -> String {
    match &rule.added.criterion {
        RoutingCriterion::ReferringOrganisation { organisation_id } => format!(
            "Referrals from {}",
            organisation_name(registry, organisation_id)
        ),
        RoutingCriterion::PostcodeDistrict { district } => {
            format!("People in postcode district {district}")
        }
    }
}

fn add_fields(registry: &Registry, typed: &Typed, errors: &[FieldError]) -> Markup {
    let field = |id, label, hint| field(errors, id, label, hint);
    let services = choices(
        "Choose a link-worker service",
        registry
            .organisations
            .values()
            .filter(|o| o.registered.link_worker_service)
            .map(|o| o.registered.organisation_id.as_str()),
        registry,
    );
    let from = choices(
        "None: match on the postcode district",
        registry.organisations.keys().map(String::as_str),
        registry,
    );
    let priority = if typed.priority.is_empty() {
        DEFAULT_PRIORITY
    } else {
        typed.priority
    };
    html! {
        (field("to", "Link-worker service that takes the referrals", None).select(&options(&services), typed.to))
        (field("from_org", "Referring organisation", Some("Match every referral from this organisation. A rule on the referring organisation beats a rule on the postcode district.")).select(&options(&from), typed.from_org))
        (field("postcode_district", "Or postcode district", Some("Match every referral for a person in this district, for example LS6. Leave blank when a referring organisation is chosen.")).input("text", typed.district, Some("off")))
        (field("priority", "Priority", Some("When several rules of the same kind match, the lowest number wins")).input("number", priority, Some("off")))
    }
}

fn preview_fields(registry: &Registry, typed: &Typed, errors: &[FieldError]) -> Markup {
    let field = |id, label, hint| field(errors, id, label, hint);
    let organisations = choices(
        "Choose an organisation",
        registry.organisations.keys().map(String::as_str),
        registry,
    );
    html! {
        (field("preview_from", "Referring organisation", None).select(&options(&organisations), typed.preview_from))
        (field("preview_postcode", "Postcode", Some("A whole postcode, for example LS6 4QX, or a district alone")).input("text", typed.preview_postcode, Some("off")))
    }
}

fn preview_answer(registry: &Registry, preview: &Preview) -> Markup {
    html! {
        div class="nhsuk-inset-text" id="preview-answer" {
            span class="nhsuk-u-visually-hidden" { "Information: " }
            @match &preview.route {
                Route::To { link_worker_organisation_id, rule_id } => {
                    p { "A referral from " (organisation_name(registry, &preview.from)) " for a person in " (preview.district)
                        " would go to " strong { (organisation_name(registry, link_worker_organisation_id)) } "." }
                    p { "Chosen by rule " code { (rule_id) } "." }
                }
                Route::Unroutable { reason } => {
                    p { strong { "No service would take it" } ": " (reason) "." }
                    p { "Intake would record it as unroutable, to be routed by hand." }
                }
            }
        }
    }
}

fn list_page(
    admin: &AsAdmin,
    registry: &Registry,
    saved: &Saved,
    typed: &Typed,
    errors: &[FieldError],
    preview: Option<&Preview>,
) -> Response {
    let mut rules: Vec<&RuleInForce> = registry.rules.values().filter(|r| !r.removed).collect();
    rules.sort_by_key(|r| {
        (
            r.added.link_worker_organisation_id.clone(),
            r.added.priority,
        )
    });
    let rows: Vec<Vec<Markup>> = rules
        .iter()
        .map(|r| {
            let a = &r.added;
            vec![
                html! { (organisation_name(registry, &a.link_worker_organisation_id)) },
                html! { (matches(registry, r)) },
                html! { (a.priority) },
                html! { code { (a.rule_id) } },
                html! { (action_button(&format!("{LIST}/{}/remove", a.rule_id), &admin.who.csrf, "Remove", &format!("rule {}", a.rule_id))) },
            ]
        })
        .collect();
    let who = &admin.who;
    admin.page("Routing rules", Section::Rules, errors).render(html! {
        (saved.banner("Routing rules saved"))
        @if rows.is_empty() {
            p { "No rule is in force: every referral is unroutable until one is added." }
        } @else {
            (table("Rules in force", &["Link-worker service", "Matches", "Priority", "Rule id", "Action"], &rows))
        }
        h2 class="nhsuk-heading-m" id="preview" { "Where would a referral go?" }
        @if let Some(preview) = preview { (preview_answer(registry, preview)) }
        (form(&format!("{LIST}/preview"), &who.csrf, "Preview", preview_fields(registry, typed, errors)))
        h2 class="nhsuk-heading-m" { "Add a rule" }
        (form(LIST, &who.csrf, "Add rule", add_fields(registry, typed, errors)))
        (summary_list(&[
            ("How a referral is routed", html! { "A rule on the referring organisation beats a rule on the person's postcode district; among rules of one kind the lowest priority wins." }),
        ]))
    })
}

/// `GET /admin/routing-rules`.
#[utoipa::path(get, path = "/admin/routing-rules", operation_id = "getRoutingRulesPage", tag = "pages",
    params(("min_sequence" = Option<u64>, Query, description = "A change just made: wait until this service's registry has it, and say it was saved")),
    responses(
        (status = 200, description = "The rules in force, the routing preview and the form to add a rule (HTML)", content_type = "text/html", body = String),
        (status = 409, description = "`min_sequence` is beyond the end of the log (HTML)", content_type = "text/html", body = String),
        PageAnswers,
    ))]
pub async fn list(admin: AsAdmin, Query(saved): Query<Saved>) -> Result<Response, AdminPageError> {
    admin.reached(&saved).await?;
    let registry = admin.registry().await?;
    let typed = Typed::default();
    Ok(list_page(&admin, &registry, &saved, &typed, &[], None))
}

fn typed(form: &PageForm) -> Typed<'_> {
    Typed {
        to: form.get("to"),
        from_org: form.get("from_org"),
        district: form.get("postcode_district"),
        priority: form.get("priority"),
        preview_from: form.get("preview_from"),
        preview_postcode: form.get("preview_postcode"),
    }
}

/// `POST /admin/routing-rules/preview`: where routing would send such a referral (200).
#[utoipa::path(post, path = "/admin/routing-rules/preview", operation_id = "previewRoutingPage", tag = "pages",
    request_body(content = String, content_type = "application/x-www-form-urlencoded",
        description = "`csrf`, `preview_from` (the referring organisation) and `preview_postcode` (posted, so the postcode stays out of addresses and logs)"),
    responses(
        (status = 200, description = "The rules with where such a referral would go, chosen as intake routes (HTML)", content_type = "text/html", body = String),
        (status = 303, description = "Not signed in: to /sign-in"),
        (status = 422, description = "No organisation chosen, or not a postcode: the form again with the error summary; nothing recorded (HTML)", content_type = "text/html", body = String),
        FormAnswers,
    ))]
pub async fn preview(admin: AsAdmin, form: PageForm) -> Result<Response, AdminPageError> {
    let typed = typed(&form);
    let registry = admin.registry().await?;
    let mut errors = Vec::new();
    if typed.preview_from.is_empty() {
        errors.push(FieldError {
            field: "preview_from".into(),
            message: "Choose the referring organisation".into(),
        });
    }
    let district = routing::district_of(typed.preview_postcode);
    if district.is_none() {
        errors.push(FieldError {
            field: "preview_postcode".into(),
            message: "Enter a UK postcode or postcode district, like LS6 4QX or LS6".into(),
        });
    }
    let preview = match district {
        Some(district) if errors.is_empty() => Some(Preview {
            route: routing::choose(&in_force(&registry), typed.preview_from, &district),
            from: typed.preview_from.to_owned(),
            district,
        }),
        _ => None,
    };
    let saved = Saved::default();
    Ok(list_page(
        &admin,
        &registry,
        &saved,
        &typed,
        &errors,
        preview.as_ref(),
    ))
}

/// `POST /admin/routing-rules`: adds a rule; 303 to the list.
#[utoipa::path(post, path = "/admin/routing-rules", operation_id = "addRoutingRulePage", tag = "pages",
    request_body(content = String, content_type = "application/x-www-form-urlencoded",
        description = "`csrf`, `to` (the link-worker service), `from_org` or `postcode_district`, `priority`"),
    responses(
        (status = 303, description = "Added: to the list with `?min_sequence=` (or, not signed in, to /sign-in)"),
        (status = 422, description = "A field breaks its rule, or the registry's rules refuse it (not a link-worker service, an unregistered organisation, not a postcode district): the form again with the error summary; nothing recorded (HTML)", content_type = "text/html", body = String),
        FormAnswers,
    ))]
pub async fn add(admin: AsAdmin, form: PageForm) -> Result<Response, AdminPageError> {
    let typed = typed(&form);
    let mut errors = Vec::new();
    let to = checked(
        &mut errors,
        "to",
        input::organisation_id("Link-worker service", typed.to),
    );
    let criterion = input::criterion(
        Some(typed.from_org).filter(|s| !s.is_empty()),
        Some(typed.district).filter(|s| !s.is_empty()),
        "from_org",
    )
    .ok();
    if criterion.is_none() {
        errors.push(FieldError {
            field: "from_org".into(),
            message: "Choose a referring organisation or enter a postcode district, not both"
                .into(),
        });
    }
    let priority: Option<i32> = typed.priority.parse().ok();
    if priority.is_none() {
        errors.push(FieldError {
            field: "priority".into(),
            message: "Priority must be a whole number, like 100".into(),
        });
    }
    if let (Some(to), Some(criterion), Some(priority)) = (to, criterion, priority) {
        match admin.commands().add_rule(&to, &criterion, priority).await {
            Ok((_, sequence)) => return Ok(saved(LIST, sequence)),
            Err(err) => {
                let field = match (&err, &criterion) {
                    (AdminError::Refused(Refusal::NotAPostcodeDistrict(_)), _) => {
                        "postcode_district"
                    }
                    (
                        AdminError::Refused(Refusal::UnregisteredOrganisation(id)),
                        RoutingCriterion::ReferringOrganisation { organisation_id },
                    ) if id == organisation_id => "from_org",
                    _ => "to",
                };
                errors.push(refused(err, field)?);
            }
        }
    }
    let registry = admin.registry().await?;
    let saved = Saved::default();
    Ok(list_page(&admin, &registry, &saved, &typed, &errors, None))
}

/// `POST /admin/routing-rules/{id}/remove`: 303 to the list.
#[utoipa::path(post, path = "/admin/routing-rules/{id}/remove", operation_id = "removeRoutingRulePage", tag = "pages",
    params(("id" = uuid::Uuid, Path, description = "The rule's id")),
    request_body(content = String, content_type = "application/x-www-form-urlencoded", description = "`csrf`"),
    responses(
        (status = 303, description = "Removed: to the list with `?min_sequence=` (or, not signed in, to /sign-in)"),
        (status = 404, description = "No such rule (HTML)", content_type = "text/html", body = String),
        (status = 422, description = "Already removed, or the registry kept changing: the list with the error summary; nothing recorded (HTML)", content_type = "text/html", body = String),
        FormAnswers,
    ))]
pub async fn remove(
    admin: AsAdmin,
    Path(id): Path<String>,
    _form: PageForm,
) -> Result<Response, AdminPageError> {
    let rule_id = path_id(&id)?;
    let result = admin.commands().remove_rule(rule_id).await;
    let (saved, typed) = (Saved::default(), Typed::default());
    admin
        .after_action(
            result,
            LIST,
            |r| r.rules.contains_key(&rule_id),
            |r, error| list_page(&admin, r, &saved, &typed, &[error], None),
        )
        .await
}
