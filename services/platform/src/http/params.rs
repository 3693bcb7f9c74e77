//! Path and query parameters: the extractors every handler takes instead of axum's own,
//! whose refusals are a 422 problem naming the parameter and the rule, never the value
//! sent (axum's answer a `text/plain` 400 that repeats it).
//!
//! - a path parameter that does not parse (`/cases/not-a-uuid`): field = its name
//!   (`id`), rule `format`, e.g. "must be a UUID";
//! - a query string that does not fit (`?limit=ten`, `?sort=sideways`, a missing required
//!   parameter): field = the parameter (`limit`), rule `schema`, said as the JSON body
//!   reader says it ([`super::json`]).

use axum::extract::FromRequestParts;
use axum::extract::path::{ErrorKind, RawPathParams};
use axum::extract::rejection::PathRejection;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::problem::{ApiError, FieldError};

/// Path parameters, deserialised like `axum::extract::Path`, refused as a 422 problem.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Path<T>(pub T);

/// The query string, deserialised like `axum::extract::Query`, refused as a 422 problem.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Query<T>(pub T);

impl<T, S> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(Path(value)),
            Err(rejection) => {
                let names: Vec<String> = match RawPathParams::from_request_parts(parts, state).await
                {
                    Ok(raw) => raw.iter().map(|(name, _)| name.to_owned()).collect(),
                    Err(_) => Vec::new(),
                };
                Err(path_error(rejection, &names, std::any::type_name::<T>()))
            }
        }
    }
}

/// What a path rejection says, by parameter name; `names` are the route's parameters in
/// order, `target` the type the handler asked for.
fn path_error(rejection: PathRejection, names: &[String], target: &str) -> ApiError {
    let PathRejection::FailedToDeserializePathParams(failed) = rejection else {
        // The route has no parameters but the handler asks for some: a defect here.
        return ApiError::Internal(anyhow::anyhow!("path parameters asked of a route without"));
    };
    let only = || match names {
        [one] => one.clone(),
        _ => "path".to_owned(),
    };
    let (field, rule, expected) = match failed.into_kind() {
        ErrorKind::ParseErrorAtKey {
            key, expected_type, ..
        } => (key, "format", expected_type),
        ErrorKind::ParseErrorAtIndex {
            index,
            expected_type,
            ..
        } => (
            names.get(index).cloned().unwrap_or_else(only),
            "format",
            expected_type,
        ),
        ErrorKind::ParseError { expected_type, .. } => (only(), "format", expected_type),
        ErrorKind::DeserializeError { key, .. } => (key, "format", target),
        ErrorKind::InvalidUtf8InPathParam { key } => (key, "utf8", ""),
        other => {
            return ApiError::Internal(anyhow::anyhow!(
                "path parameters do not fit {target}: {other}"
            ));
        }
    };
    let message = match rule {
        "utf8" => "must be UTF-8 once percent-decoded".to_owned(),
        _ => format!("must be {}", described(expected)),
    };
    ApiError::Validation(vec![FieldError::new(field, rule, message)])
}

/// A Rust type name as a person reads it ("a UUID", "an integer").
fn described(type_name: &str) -> &'static str {
    if type_name.contains("Uuid") {
        "a UUID"
    } else if [
        "i8", "i16", "i32", "i64", "u8", "u16", "u32", "u64", "usize",
    ]
    .iter()
    .any(|t| type_name.ends_with(t))
    {
        "an integer in range"
    } else if type_name.ends_with("bool") {
        "true or false"
    } else if type_name.contains("Date") {
        "a date (YYYY-MM-DD)"
    } else {
        "a valid value for this parameter"
    }
}

impl<T, S> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        parse_query(parts.uri.query().unwrap_or_default()).map(Query)
    }
}

/// Reads a query string into `T`; errors name the parameter and never its value.
pub fn parse_query<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    let deserializer =
        serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
    serde_path_to_error::deserialize(deserializer).map_err(|e| {
        let path = e.path().to_string();
        let (field, message) = super::json::describe(&path, &e.inner().to_string());
        let field = if field == "body" {
            "query".to_owned()
        } else {
            field
        };
        ApiError::Validation(vec![FieldError::new(field, "schema", message)])
    })
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code, reason = "read by serde only")]
    struct List {
        limit: Option<i64>,
        sort: Option<Sort>,
        area: String,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "snake_case")]
    enum Sort {
        DaysWaiting,
        State,
    }

    fn error(query: &str) -> FieldError {
        match parse_query::<List>(query) {
            Err(ApiError::Validation(mut e)) => e.remove(0),
            other => panic!("{query}: {other:?}"),
        }
    }

    #[test]
    fn a_query_parameter_that_does_not_fit_is_named_and_its_value_never_repeated() {
        for (query, field, says) in [
            ("area=QWO&limit=ten", "limit", "has the wrong type"),
            (
                "area=QWO&limit=9223372036854775808",
                "limit",
                "has the wrong type",
            ),
            ("area=QWO&sort=sideways", "sort", "must be"),
            ("limit=5", "area", "is required"),
            ("area=QWO&shoe=9", "shoe", "is not a field"),
        ] {
            let e = error(query);
            assert_eq!(
                (e.field.as_str(), e.rule.as_str()),
                (field, "schema"),
                "{query}"
            );
            assert!(e.message.starts_with(says), "{query}: {}", e.message);
            for sent in ["ten", "9223372036854775808", "sideways", "QWO"] {
                assert!(!e.message.contains(sent), "{query}: {}", e.message);
            }
        }
        assert!(parse_query::<List>("area=QWO&limit=5&sort=days_waiting").is_ok());
    }
}
