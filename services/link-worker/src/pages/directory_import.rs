//! `/directory/upload`: a service manager imports Open Referral UK services from a JSON
//! file (a `multipart/form-data` upload, up to [`UPLOAD_LIMIT`]) or pasted as the JSON
//! `importDirectory` takes, and imported by the same function, all or nothing. A file
//! that is missing, too large or not JSON is named in the error summary and nothing is
//! imported.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use linkway_platform::ApiError;
use linkway_platform::web::form::{PageUpload, UPLOAD_LIMIT, Upload};
use linkway_platform::web::page::{Field, error_for, error_summary, success_banner};
use linkway_platform::web::{FieldError, Page, SignedIn};
use maud::html;

use super::{PageError, html, navigation, principal, refused};
use crate::api::{self, AppState, IMPORT_ROLES, ImportResult};

/// The file input.
const FILE: &str = "directory_file";
/// The box to paste JSON into.
const PASTE: &str = "directory_json";

/// The import form's fields, the CSRF token first.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct ImportForm {
    /// The session's CSRF token: the first part of the form.
    csrf: String,
    /// An Open Referral UK JSON file, up to 1 MiB; imported when one is chosen.
    #[schema(value_type = Option<String>, format = Binary, content_media_type = "application/json")]
    directory_file: Option<String>,
    /// Open Referral UK JSON, pasted (up to 64 kB); imported when no file is chosen.
    directory_json: Option<String>,
}

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

/// Imports the file chosen, or else the pasted JSON.
#[utoipa::path(
    post, path = "/directory/upload", operation_id = "submitDirectoryImportForm", tag = "pages",
    request_body(
        content(
            (inline(ImportForm) = "multipart/form-data"),
            (inline(ImportForm) = "application/x-www-form-urlencoded"),
        ),
        description = "An Open Referral UK file or pasted JSON: one service, a page of them, or an organisation with its services. A chosen file is imported instead of anything pasted."
    ),
    responses(
        (status = 200, description = "Imported: how many services (HTML)", content_type = "text/html", body = String),
        (status = 303, description = "Not signed in: to /sign-in"),
        (status = 403, description = "No or wrong CSRF token (or not the form's first part), or not a service manager: nothing imported (HTML)", content_type = "text/html", body = String),
        (status = 422, description = "The form again, naming each problem (no file or JSON, a file too large or not JSON, a service that breaks a rule): nothing imported (HTML)", content_type = "text/html", body = String),
        (status = 503, description = "Try again shortly (HTML)", content_type = "text/html", body = String),
    ),
    security(("session" = []))
)]
#[tracing::instrument(skip_all)]
pub async fn post(
    who: SignedIn,
    State(state): State<AppState>,
    upload: PageUpload,
) -> Result<Response, PageError> {
    principal(&who, IMPORT_ROLES)?;
    let pasted = upload.form.get(PASTE);
    let refuse = |field: &str, message: String| {
        let errors = [FieldError {
            field: field.to_owned(),
            message,
        }];
        render(
            &who,
            pasted,
            &errors,
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
    };
    let (field, body, what) = match upload.file(FILE) {
        Some(Upload::TooLarge) => {
            let limit = UPLOAD_LIMIT / (1024 * 1024);
            return Ok(refuse(
                FILE,
                format!(
                    "The selected file must be smaller than {limit} MB; import a larger directory through the API"
                ),
            ));
        }
        Some(Upload::File { bytes, .. }) => (FILE, bytes.as_ref(), "selected file"),
        None if pasted.is_empty() => {
            return Ok(refuse(
                FILE,
                "Select an Open Referral UK JSON file, or paste its JSON".into(),
            ));
        }
        None => (PASTE, pasted.as_bytes(), "pasted text"),
    };
    if let Some(why) = not_json(body, what) {
        return Ok(refuse(field, why));
    }
    match api::import(&state, body).await {
        Ok(result) => Ok(render(&who, "", &[], Some(&result), StatusCode::OK)),
        // Each problem against the input used, saying where in the JSON it is.
        Err(ApiError::Validation(problems)) => {
            let errors: Vec<FieldError> = problems
                .iter()
                .map(|p| FieldError {
                    field: field.to_owned(),
                    message: located(p),
                })
                .collect();
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(render(&who, pasted, &errors, None, status))
        }
        Err(error) => {
            let refusal = refused(error, |_| None, field)?;
            Ok(render(&who, pasted, &refusal.errors, None, refusal.status))
        }
    }
}

/// Why `bytes` (the `what`) are not JSON, and where they stop being JSON (never what they
/// hold).
fn not_json(bytes: &[u8], what: &str) -> Option<String> {
    if bytes.is_empty() {
        return Some(format!("The {what} is empty"));
    }
    serde_json::from_slice::<serde::de::IgnoredAny>(bytes)
        .err()
        .map(|e| {
            format!(
                "The {what} must be JSON: it is not (line {}, column {})",
                e.line(),
                e.column()
            )
        })
}

/// A problem the import found, as a sentence saying where it is (`contents.3.name`).
fn located(problem: &linkway_platform::FieldError) -> String {
    let mut chars = problem.message.chars();
    let message: String = chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default();
    if problem.field.is_empty() {
        message
    } else {
        format!("{message} (at {})", problem.field)
    }
}

/// "1 service imported", "3 services imported".
fn imported(n: u64) -> String {
    let noun = if n == 1 { "service" } else { "services" };
    format!("{n} {noun} imported")
}

fn render(
    who: &SignedIn,
    pasted: &str,
    errors: &[FieldError],
    done: Option<&ImportResult>,
    status: StatusCode,
) -> Response {
    let title = "Import directory services";
    let file_hint = format!(
        "An Open Referral UK JSON file, up to {} MB. Larger directories go through the API.",
        UPLOAD_LIMIT / (1024 * 1024)
    );
    let content = html! {
        (error_summary(errors))
        @if let Some(r) = done {
            (success_banner(&imported(r.upserted), html! {
                ul { @for id in &r.ids { li { (id) } } }
            }))
        }
        h1 { (title) }
        p { "Import Open Referral UK JSON: one service, a page of services (" code { "contents" } "), or an organisation with its services. One invalid service refuses the whole import." }
        form method="post" action="/directory/upload" enctype="multipart/form-data" novalidate {
            input type="hidden" name="csrf" value=(who.csrf);
            (Field { id: FILE, label: "Upload a file", hint: Some(&file_hint), error: error_for(errors, FILE) }
                .file("application/json,.json"))
            (Field { id: PASTE, label: "Or paste Open Referral UK JSON", hint: Some("Used when no file is chosen. Up to 64 kB."), error: error_for(errors, PASTE) }
                .textarea(pasted, 12))
            button class="nhsuk-button" data-module="nhsuk-button" type="submit" { "Import services" }
        }
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
