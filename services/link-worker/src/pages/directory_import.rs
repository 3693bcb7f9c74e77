//! `/directory/upload`: a service manager imports Open Referral UK services, pasted (or
//! read from a file by the page's small script) as the JSON `importDirectory` takes, and
//! imported by the same function, all or nothing.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use linkway_platform::web::page::{Field, error_for, error_summary, form, success_banner};
use linkway_platform::web::{FieldError, Page, PageForm, SignedIn};
use maud::{PreEscaped, html};

use super::{PageError, html, navigation, principal, refused};
use crate::api::{self, AppState, IMPORT_ROLES, ImportResult};

/// The import page.
#[utoipa::path(
    get, path = "/directory/upload", operation_id = "getDirectoryImportPage", tag = "pages",
    responses(
        (status = 200, description = "The import form (HTML)", content_type = "text/html", body = String),
        (status = 303, description = "Not signed in: to /sign-in"),
        (status = 403, description = "Not a service manager or administrator (HTML)", content_type = "text/html", body = String),
    ),
    security(("session" = []))
)]
#[tracing::instrument(skip_all)]
pub async fn page(who: SignedIn) -> Result<Response, PageError> {
    principal(&who, IMPORT_ROLES)?;
    Ok(render(&who, "", &[], None, StatusCode::OK))
}

/// Imports the pasted JSON.
#[utoipa::path(
    post, path = "/directory/upload", operation_id = "submitDirectoryImportForm", tag = "pages",
    request_body(content = String, content_type = "application/x-www-form-urlencoded",
        description = "`csrf` and `directory_json`: an Open Referral UK service, a page of them, or an organisation with its services."),
    responses(
        (status = 200, description = "Imported: how many services (HTML)", content_type = "text/html", body = String),
        (status = 303, description = "Not signed in: to /sign-in"),
        (status = 403, description = "No or wrong CSRF token, or not a service manager: nothing imported (HTML)", content_type = "text/html", body = String),
        (status = 422, description = "The form again, naming each problem (HTML)", content_type = "text/html", body = String),
        (status = 503, description = "Try again shortly (HTML)", content_type = "text/html", body = String),
    ),
    security(("session" = []))
)]
#[tracing::instrument(skip_all)]
pub async fn post(
    who: SignedIn,
    State(state): State<AppState>,
    form: PageForm,
) -> Result<Response, PageError> {
    principal(&who, IMPORT_ROLES)?;
    let pasted = form.get("directory_json");
    match api::import(&state, pasted.as_bytes()).await {
        Ok(result) => Ok(render(&who, "", &[], Some(&result), StatusCode::OK)),
        Err(error) => {
            let refusal = refused(error, |_| None, "directory_json")?;
            // The API names each service's field; say it as one list.
            let errors: Vec<FieldError> = refusal.errors;
            Ok(render(&who, pasted, &errors, None, refusal.status))
        }
    }
}

fn render(
    who: &SignedIn,
    pasted: &str,
    errors: &[FieldError],
    done: Option<&ImportResult>,
    status: StatusCode,
) -> Response {
    let title = "Import directory services";
    let content = html! {
        (error_summary(errors))
        @if let Some(r) = done {
            (success_banner(&format!("{} services imported", r.upserted), html! {
                ul { @for id in &r.ids { li { (id) } } }
            }))
        }
        h1 { (title) }
        p { "Paste Open Referral UK JSON: one service, a page of services (" code { "contents" } "), or an organisation with its services. One invalid service refuses the whole import." }
        (form("/directory/upload", &who.csrf, "Import services", html! {
            div class="nhsuk-form-group" data-file-reader {
                label class="nhsuk-label" for="directory_file" { "Or choose a file (fills the box below)" }
                input class="nhsuk-file-upload" id="directory_file" type="file" accept="application/json,.json";
            }
            (Field { id: "directory_json", label: "Open Referral UK JSON", hint: Some("Up to 64 kB here; larger directories go through the API."), error: error_for(errors, "directory_json") }
                .textarea(pasted, 12))
        }))
        script { (PreEscaped(FILE_READER)) }
    };
    let page = Page {
        title,
        service: super::SERVICE,
        signed_in: Some(who),
        navigation: navigation(who, "/directory/upload"),
        has_errors: !errors.is_empty(),
        back: None,
    };
    html(status, &page, content)
}

/// Reads a chosen file into the box (without JavaScript, paste it).
const FILE_READER: &str = r#"document.getElementById('directory_file')?.addEventListener('change', async (e) => {
  const file = e.target.files && e.target.files[0];
  if (file) { document.getElementById('directory_json').value = await file.text(); }
});"#;
