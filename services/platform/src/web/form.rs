//! The one way a page reads a form: the posted fields, after the CSRF check. A form
//! without the session's `csrf` value (missing, another session's, or no session) is
//! refused before its handler runs, so nothing it asked for happens.

use axum::extract::{FromRequest, Request};
use axum::http::header;

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
        let body = axum::body::Bytes::from_request(request, state)
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
