//! Organisations: the list, and one form that registers a new organisation or changes
//! one's registration (the latest wins), by the same rules as `linkway admin org add`.

use axum::extract::Path;
use axum::response::Response;
use linkway_events::registry::{OrganisationKind, OrganisationRegistered};
use maud::{Markup, html};

use super::{
    AdminPageError, AsAdmin, FormAnswers, PageAnswers, Saved, Section, checked, field, refused,
    saved,
};
use crate::http::params::Query;
use crate::registry::admin::input::{self, CODE, ORGANISATION_NAME};
use crate::registry::admin::{AdminError, Refusal};
use crate::web::PageForm;
use crate::web::page::{FieldError, error_for, form, radios, table, tag};

const LIST: &str = "/admin/organisations";

/// Kinds as `(value, label)`.
const KINDS: [(&str, &str); 9] = [
    ("gp_practice", "GP practice"),
    ("pcn", "Primary care network"),
    ("council", "Council"),
    ("housing_association", "Housing association"),
    ("pharmacy", "Pharmacy"),
    ("vcse", "Voluntary, community or social enterprise"),
    ("commissioner", "Commissioner"),
    (
        "community_service",
        "Community service (answers onward referrals)",
    ),
    ("other", "Other"),
];

fn kind_label(kind: OrganisationKind) -> &'static str {
    KINDS
        .iter()
        .find(|(v, _)| *v == kind.as_str())
        .map_or("Other", |(_, l)| l)
}

/// What the form holds: as typed, or an organisation's registration to change.
#[derive(Debug, Default, Clone)]
struct Typed {
    id: String,
    name: String,
    kind: String,
    code: String,
    area: String,
    service: String,
    /// Directory service ids, one a line.
    directory_services: String,
}

impl Typed {
    fn from_form(form: &PageForm) -> Typed {
        Typed {
            id: form.get("organisation_id").to_owned(),
            name: form.get("name").to_owned(),
            kind: form.get("kind").to_owned(),
            code: form.get("code").to_owned(),
            area: form.get("area").to_owned(),
            service: form.get("link_worker_service").to_owned(),
            directory_services: form.get("directory_services").to_owned(),
        }
    }

    fn from_registration(o: &OrganisationRegistered) -> Typed {
        Typed {
            id: o.organisation_id.clone(),
            name: o.name.clone(),
            kind: o.kind.as_str().to_owned(),
            code: o.code.clone().unwrap_or_default(),
            area: o.commissioner_area.clone().unwrap_or_default(),
            service: if o.link_worker_service { "yes" } else { "no" }.to_owned(),
            directory_services: o.directory_services.join("\n"),
        }
    }

    /// The registration it asks for, or every field's refusal.
    fn registration(&self) -> Result<OrganisationRegistered, Vec<FieldError>> {
        let mut errors = Vec::new();
        let e = &mut errors;
        let organisation_id = checked(
            e,
            "organisation_id",
            input::organisation_id("Organisation id", &self.id),
        );
        let name = checked(
            e,
            "name",
            input::required("Name", ORGANISATION_NAME, &self.name),
        );
        let code = checked(e, "code", input::text("Code", CODE, Some(&self.code)));
        let area = checked(
            e,
            "area",
            input::text("Commissioner area", CODE, Some(&self.area)),
        );
        let directory_services = checked(
            e,
            "directory_services",
            input::directory_services(
                "Directory services",
                self.directory_services
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty()),
            ),
        );
        let kind = OrganisationKind::parse(&self.kind);
        if kind.is_none() {
            errors.push(FieldError {
                field: "kind".into(),
                message: "Select the kind of organisation".into(),
            });
        }
        if !matches!(self.service.as_str(), "yes" | "no") {
            errors.push(FieldError {
                field: "link_worker_service".into(),
                message: "Select whether it runs a link-worker service".into(),
            });
        }
        match (organisation_id, name, code, area, kind, directory_services) {
            (
                Some(organisation_id),
                Some(name),
                Some(code),
                Some(area),
                Some(kind),
                Some(directory_services),
            ) if errors.is_empty() => Ok(OrganisationRegistered {
                organisation_id,
                name,
                kind,
                code,
                commissioner_area: area,
                link_worker_service: self.service == "yes",
                directory_services,
            }),
            _ => Err(errors),
        }
    }
}

fn fields(typed: &Typed, errors: &[FieldError]) -> Markup {
    let field = |id, label, hint| field(errors, id, label, hint);
    let mut kinds = vec![("", "Choose a kind")];
    kinds.extend(KINDS);
    html! {
        (field("organisation_id", "Organisation id", Some("Letters, digits, '-' and '_'. Registering an id that exists changes that organisation.")).input("text", &typed.id, Some("off")))
        (field("name", "Name", None).input("text", &typed.name, Some("organization")))
        (field("kind", "Kind", None).select(&kinds, &typed.kind))
        (field("code", "Code (optional)", Some("ODS code, charity or company number")).input("text", &typed.code, Some("off")))
        (field("area", "Commissioner area (optional)", Some("The commissioner area its activity is reported under, for example an ICB code. A commissioner needs one.")).input("text", &typed.area, Some("off")))
        (radios("link_worker_service", "Does it run a link-worker service that referrals can be routed to?",
            &[("yes", "Yes"), ("no", "No")], &typed.service, error_for(errors, "link_worker_service")))
        (field("directory_services", "Directory services it answers for (community services only)", Some("The Open Referral UK service ids from the directory, one a line. Their onward referrals appear in this organisation's inbox.")).textarea(&typed.directory_services, 3))
    }
}

fn list_page(
    admin: &AsAdmin,
    registry: &crate::registry::admin::Registry,
    saved: &Saved,
    typed: &Typed,
    errors: &[FieldError],
) -> Response {
    let rows: Vec<Vec<Markup>> = registry
        .organisations
        .values()
        .map(|o| {
            let r = &o.registered;
            vec![
                html! { (r.organisation_id) },
                html! { (r.name) },
                html! { (kind_label(r.kind)) },
                html! { (r.code.as_deref().unwrap_or("")) },
                html! { (r.commissioner_area.as_deref().unwrap_or("")) },
                html! { @if r.link_worker_service { (tag("Yes", "green")) } @else { "No" } },
                html! { a href=(format!("{LIST}/{}", r.organisation_id)) { "Change" span class="nhsuk-u-visually-hidden" { " " (r.name) } } },
            ]
        })
        .collect();
    admin.page("Organisations", Section::Organisations, errors).render(html! {
        (saved.banner("Organisation saved"))
        @if rows.is_empty() {
            p { "No organisation is registered yet." }
        } @else {
            (table("Registered organisations", &["Id", "Name", "Kind", "Code", "Commissioner area", "Link-worker service", "Action"], &rows))
        }
        h2 class="nhsuk-heading-m" id="register" { "Register an organisation" }
        (form(LIST, &admin.who.csrf, "Register organisation", fields(typed, errors)))
    })
}

/// `GET /admin/organisations`: the registered organisations and the form to register one.
#[utoipa::path(get, path = "/admin/organisations", operation_id = "getOrganisationsPage", tag = "pages",
    params(("min_sequence" = Option<u64>, Query, description = "A change just made: wait until this service's registry has it, and say it was saved")),
    responses(
        (status = 200, description = "The registered organisations and the form to register one (HTML)", content_type = "text/html", body = String),
        (status = 409, description = "`min_sequence` is beyond the end of the log (HTML)", content_type = "text/html", body = String),
        PageAnswers,
    ))]
pub async fn list(admin: AsAdmin, Query(saved): Query<Saved>) -> Result<Response, AdminPageError> {
    admin.reached(&saved).await?;
    let registry = admin.registry().await?;
    Ok(list_page(&admin, &registry, &saved, &Typed::default(), &[]))
}

/// `GET /admin/organisations/{id}`: the form filled with its registration.
#[utoipa::path(get, path = "/admin/organisations/{id}", operation_id = "getOrganisationPage", tag = "pages",
    params(("id" = String, Path, description = "The organisation's id")),
    responses(
        (status = 200, description = "The form filled with the organisation's registration (HTML)", content_type = "text/html", body = String),
        (status = 404, description = "No such organisation (HTML)", content_type = "text/html", body = String),
        PageAnswers,
    ))]
pub async fn edit(admin: AsAdmin, Path(id): Path<String>) -> Result<Response, AdminPageError> {
    let registry = admin.registry().await?;
    let organisation = registry
        .organisations
        .get(&id)
        .ok_or(AdminPageError::NotFound)?;
    let typed = Typed::from_registration(&organisation.registered);
    let mut page = admin.page("Change an organisation", Section::Organisations, &[]);
    page.back = Some(("Back to organisations", LIST.to_owned()));
    Ok(page.render(html! {
        p { "Changes are a new registration: the latest wins everywhere." }
        (form(LIST, &admin.who.csrf, "Save organisation", fields(&typed, &[])))
    }))
}

/// `POST /admin/organisations`: register or update; 303 to the list.
#[utoipa::path(post, path = "/admin/organisations", operation_id = "registerOrganisationPage", tag = "pages",
    request_body(content = String, content_type = "application/x-www-form-urlencoded",
        description = "`csrf`, `organisation_id`, `name`, `kind`, `code`, `area`, `link_worker_service` (`yes` or `no`), `directory_services` (one id a line)"),
    responses(
        (status = 303, description = "Saved: to the list with `?min_sequence=` (or, not signed in, to /sign-in)"),
        (status = 422, description = "A field breaks its rule, or the registry's rules refuse it (a commissioner without an area, a service still routed to): the form again with the error summary; nothing recorded (HTML)", content_type = "text/html", body = String),
        FormAnswers,
    ))]
pub async fn register(admin: AsAdmin, form: PageForm) -> Result<Response, AdminPageError> {
    let typed = Typed::from_form(&form);
    let errors = match typed.registration() {
        Ok(registration) => match admin.commands().register_organisation(&registration).await {
            Ok(sequence) => return Ok(saved(LIST, sequence)),
            Err(err) => {
                let field = match &err {
                    AdminError::Refused(Refusal::CommissionerWithoutArea) => "area",
                    AdminError::Refused(Refusal::StillRoutedTo { .. }) => "link_worker_service",
                    AdminError::Refused(
                        Refusal::DirectoryServicesNeedCommunityService
                        | Refusal::CommunityServiceNotWritable { .. },
                    ) => "directory_services",
                    _ => "organisation_id",
                };
                vec![refused(err, field)?]
            }
        },
        Err(errors) => errors,
    };
    let registry = admin.registry().await?;
    Ok(list_page(
        &admin,
        &registry,
        &Saved::default(),
        &typed,
        &errors,
    ))
}
