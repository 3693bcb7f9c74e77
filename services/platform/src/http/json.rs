//! JSON request bodies: one reader for every service, whose errors name the failing field
//! and the rule, and never repeat a value the caller sent (it may be an NHS number).
//!
//! - not JSON at all: field `body`, rule `json`;
//! - JSON of the wrong shape (a missing or unknown field, a wrong type, a value outside an
//!   enumeration): the field's path (`person.birth_date`, `goals.2`), rule `schema`.

use serde::de::DeserializeOwned;

use crate::problem::{ApiError, FieldError};

/// Reads a JSON body into `T`; an empty body reads as `{}` (commands without fields).
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let body = if body.is_empty() {
        b"{}".as_slice()
    } else {
        body
    };
    let deserializer = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(deserializer).map_err(|e| {
        let inner = e.inner();
        // serde_json reports some shape errors (a number where an enum belongs) as syntax:
        // whether the body is JSON at all is asked of the body itself, on this error path.
        if let Err(syntax) = serde_json::from_slice::<serde::de::IgnoredAny>(body) {
            return ApiError::Validation(vec![FieldError::new(
                "body",
                "json",
                format!(
                    "the body is not valid JSON (line {}, column {})",
                    syntax.line(),
                    syntax.column()
                ),
            )]);
        }
        let path = e.path().to_string().replace('[', ".").replace(']', "");
        let (field, message) = describe(&path, &inner.to_string());
        ApiError::Validation(vec![FieldError::new(field, "schema", message)])
    })
}

/// The field a serde data error is about and what to say of it, without the value sent.
pub(super) fn describe(path: &str, serde_message: &str) -> (String, String) {
    // serde's own wording: "missing field `x`", "unknown field `x`, expected ...",
    // "invalid type: string \"...\", expected a date", "unknown variant `x`, expected one of".
    let message = serde_message
        .split(" at line ")
        .next()
        .unwrap_or(serde_message);
    let named = message.split('`').nth(1);
    let join = |name: &str| match path {
        "." | "" => name.to_owned(),
        p => format!("{p}.{name}"),
    };
    if let (true, Some(name)) = (message.starts_with("missing field"), named) {
        return (join(name), "is required".into());
    }
    let field = match path {
        "." | "" => "body".to_owned(),
        p => p.to_owned(),
    };
    if let (true, Some(name)) = (message.starts_with("unknown field"), named) {
        // The path may or may not already end with the unknown field's own name.
        let field = if path.rsplit('.').next() == Some(name) {
            field
        } else {
            join(name)
        };
        return (field, "is not a field of this request".into());
    }
    let expected = message
        .split_once(", expected ")
        .map(|(_, e)| e.to_owned())
        .filter(|e| !e.contains('"'));
    let said = match expected {
        Some(e) => format!("must be {e}"),
        None => "has the wrong type or an invalid value".into(),
    };
    (field, said)
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;
    use serde_json::json;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code, reason = "read by serde only")]
    struct Request {
        urgency: Urgency,
        person: Person,
        #[serde(default)]
        goals: Vec<String>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "snake_case")]
    enum Urgency {
        Routine,
        Urgent,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code, reason = "read by serde only")]
    struct Person {
        nhs_number: String,
        given_name: String,
    }

    fn error(body: serde_json::Value) -> FieldError {
        match parse_json::<Request>(&serde_json::to_vec(&body).unwrap()) {
            Err(ApiError::Validation(mut e)) => e.remove(0),
            other => panic!("{other:?}"),
        }
    }

    fn person() -> serde_json::Value {
        json!({"nhs_number": "9434765919", "given_name": "Robin"})
    }

    #[test]
    fn each_shape_error_names_its_field_and_never_the_value_sent() {
        let cases = [
            (
                json!({"urgency": 5, "person": person()}),
                "urgency",
                "has the wrong type",
            ),
            (
                json!({"urgency": "whenever", "person": person()}),
                "urgency",
                "must be `routine` or `urgent`",
            ),
            (json!({"person": person()}), "urgency", "is required"),
            (
                json!({"urgency": "routine", "person": {"nhs_number": 9434765919u64, "given_name": "R"}}),
                "person.nhs_number",
                "must be",
            ),
            (
                json!({"urgency": "routine", "person": {"given_name": "R"}}),
                "person.nhs_number",
                "is required",
            ),
            (
                json!({"urgency": "routine", "person": {"nhs_number": "9434765919", "given_name": "R", "shoe": 9}}),
                "person.shoe",
                "is not a field",
            ),
            (
                json!({"urgency": "routine", "person": person(), "goals": ["a", 7]}),
                "goals.1",
                "must be",
            ),
        ];
        for (body, field, says) in cases {
            let e = error(body.clone());
            assert_eq!(
                (e.field.as_str(), e.rule.as_str()),
                (field, "schema"),
                "{body}"
            );
            assert!(e.message.starts_with(says), "{body}: {}", e.message);
            for sent in ["9434765919", "whenever", "5", "7", "Robin"] {
                assert!(
                    !e.message.contains(sent),
                    "{body}: echoes {sent}: {}",
                    e.message
                );
            }
        }
    }

    #[test]
    fn a_body_that_is_not_json_is_named_as_such() {
        for body in [&b"{not json"[..], b"{\"urgency\": \"routine\"", b"\xff"] {
            match parse_json::<Request>(body) {
                Err(ApiError::Validation(e)) => {
                    assert_eq!((e[0].field.as_str(), e[0].rule.as_str()), ("body", "json"))
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn an_empty_body_reads_as_an_empty_object() {
        #[derive(Deserialize)]
        struct Nothing {}
        assert!(parse_json::<Nothing>(b"").is_ok());
    }
}
