//! The one way a page reads a form: the posted fields, after the CSRF check. A form
//! without the session's `csrf` value (missing, another session's, or no session) is
//! refused before its handler runs, so nothing it asked for happens. [`PageUpload`] is the
//! same for a form that sends a file (`multipart/form-data`).

use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Request};
use axum::http::{StatusCode, header};

use super::session::same_token;
use super::signed_in::{Opened, PageRejection};

/// Largest form accepted (a referral with long notes is a few kB).
const FORM_LIMIT: usize = 64 * 1024;

/// A posted `application/x-www-form-urlencoded` form whose CSRF token was checked.
#[derive(Debug, Clone, Default)]
pub struct PageForm {
    fields: Vec<(String, String)>,
}

impl PageForm {
    /// Parses a form body (for tests and handlers that read one themselves).
    pub fn parse(body: &[u8]) -> PageForm {
        PageForm {
            fields: form_urlencoded::parse(body)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        }
    }

    /// The first value of `name`, trimmed ("" when absent).
    pub fn get(&self, name: &str) -> &str {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.trim())
    }

    /// Every value of `name` (checkboxes).
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.fields
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .collect()
    }

    /// Every field but the CSRF token, as a JSON object of strings (for a JSON API body).
    pub fn fields(&self) -> impl Iterator<Item = (&str, &str)> {
        self.fields
            .iter()
            .filter(|(k, _)| k != "csrf")
            .map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

impl<S: Send + Sync> FromRequest<S> for PageForm {
    type Rejection = PageRejection;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let session = request
            .extensions()
            .get::<Opened>()
            .and_then(|o| o.0.clone());
        let is_form = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        let body = Bytes::from_request(request, state)
            .await
            .map_err(|_| PageRejection::BadCsrf)?;
        if !is_form || body.len() > FORM_LIMIT {
            return Err(PageRejection::BadCsrf);
        }
        let form = PageForm::parse(&body);
        match session {
            Some(session) if same_token(form.get("csrf"), &session.csrf) => Ok(form),
            _ => Err(PageRejection::BadCsrf),
        }
    }
}

/// Largest file a page takes ([`PageUpload`]); larger ones go through the JSON APIs. Below
/// axum's default body limit (2 MB), so a file somewhat over it is read to its end and
/// answered with the page, not a dropped connection.
pub const UPLOAD_LIMIT: usize = 1024 * 1024;

/// A posted form that may send files: `multipart/form-data`, or a form without files
/// (`application/x-www-form-urlencoded`, read as [`PageForm`] reads it). Its CSRF token is
/// checked as [`PageForm`] checks it, before anything else of the body is read: it must
/// be the first part, as the platform's forms put it.
#[derive(Debug, Clone, Default)]
pub struct PageUpload {
    /// The form's text fields.
    pub form: PageForm,
    /// The files sent, by input name (a file input left empty sends none).
    files: Vec<(String, Upload)>,
}

/// A file sent with a form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Upload {
    /// The file as sent: the name the browser gave it, and its bytes.
    File { name: String, bytes: Bytes },
    /// Larger than [`UPLOAD_LIMIT`]: not kept.
    TooLarge,
}

impl PageUpload {
    /// The file sent for input `name`; `None` when no file was chosen.
    pub fn file(&self, name: &str) -> Option<&Upload> {
        self.files.iter().find(|(n, _)| n == name).map(|(_, f)| f)
    }

    async fn read(mut multipart: Multipart, csrf: Option<&str>) -> Result<Self, PageRejection> {
        let unreadable = |_| PageRejection::BadCsrf;
        let mut checked = false;
        let mut upload = PageUpload::default();
        let mut text = 0;
        while let Some(mut field) = multipart.next_field().await.map_err(unreadable)? {
            let name = field.name().unwrap_or_default().to_owned();
            let file_name = field.file_name().map(str::to_owned);
            if !checked {
                // Nothing is read before the token: a file never reaches a handler without it.
                let token = match (name.as_str(), &file_name) {
                    ("csrf", None) => field.text().await.map_err(unreadable)?,
                    _ => return Err(PageRejection::BadCsrf),
                };
                match csrf {
                    Some(csrf) if same_token(token.trim(), csrf) => checked = true,
                    _ => return Err(PageRejection::BadCsrf),
                }
                continue;
            }
            match file_name {
                Some(file_name) => {
                    if let Some(file) = read_file(&mut field, file_name).await? {
                        upload.files.push((name, file));
                    }
                }
                None => {
                    let value = field.text().await.map_err(unreadable)?;
                    text += value.len();
                    if text > FORM_LIMIT {
                        return Err(PageRejection::BadCsrf);
                    }
                    upload.form.fields.push((name, value));
                }
            }
        }
        if checked {
            Ok(upload)
        } else {
            Err(PageRejection::BadCsrf)
        }
    }
}

/// One file part, up to [`UPLOAD_LIMIT`]: `None` when no file was chosen (an empty part
/// with no name). Beyond the limit the rest is read and dropped, so the answer reaches the
/// browser while it still sends, until the body limit ends the body.
async fn read_file(
    field: &mut axum::extract::multipart::Field<'_>,
    name: String,
) -> Result<Option<Upload>, PageRejection> {
    let mut bytes = Vec::new();
    let mut too_large = false;
    loop {
        match field.chunk().await {
            Ok(Some(chunk)) if !too_large => {
                too_large = bytes.len() + chunk.len() > UPLOAD_LIMIT;
                if too_large {
                    bytes = Vec::new();
                } else {
                    bytes.extend_from_slice(&chunk);
                }
            }
            Ok(Some(_)) => {}
            Ok(None) => break,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                too_large = true;
                break;
            }
            Err(_) => return Err(PageRejection::BadCsrf),
        }
    }
    Ok(if too_large {
        Some(Upload::TooLarge)
    } else if name.is_empty() && bytes.is_empty() {
        None
    } else {
        Some(Upload::File {
            name,
            bytes: Bytes::from(bytes),
        })
    })
}

impl<S: Send + Sync> FromRequest<S> for PageUpload {
    type Rejection = PageRejection;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_multipart = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("multipart/form-data"));
        if !is_multipart {
            let form = PageForm::from_request(request, state).await?;
            return Ok(PageUpload {
                form,
                files: Vec::new(),
            });
        }
        let csrf = request
            .extensions()
            .get::<Opened>()
            .and_then(|o| o.0.as_ref().map(|s| s.csrf.clone()));
        let multipart = Multipart::from_request(request, state)
            .await
            .map_err(|_| PageRejection::BadCsrf)?;
        PageUpload::read(multipart, csrf.as_deref()).await
    }
}
