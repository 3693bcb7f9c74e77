//! The error collector every rule reports to: bounded and required texts, choices, phone
//! and email checks, each naming field and rule.

use linkway_platform::FieldError;

use super::formats::{is_email, is_phone};
use super::rule;

/// Collects errors while walking the request.
#[derive(Default)]
pub(super) struct Errors(pub(super) Vec<FieldError>);

impl Errors {
    pub(super) fn add(&mut self, field: impl Into<String>, rule: &str, message: impl Into<String>) {
        self.0.push(FieldError::new(field, rule, message));
    }

    /// A required, non-blank text of bounded length.
    pub(super) fn required_text(
        &mut self,
        field: &str,
        value: &Option<String>,
        max: usize,
    ) -> Option<String> {
        match clean(value) {
            None => {
                self.add(field, rule::REQUIRED, "is required");
                None
            }
            Some(v) => self.bounded(field, v, max),
        }
    }

    /// An optional text (blank counts as absent) of bounded length.
    pub(super) fn optional_text(
        &mut self,
        field: &str,
        value: &Option<String>,
        max: usize,
    ) -> Option<String> {
        clean(value).and_then(|v| self.bounded(field, v, max))
    }

    /// An optional text that must pass `valid` (blank counts as absent).
    pub(super) fn optional_checked(
        &mut self,
        field: &str,
        value: &Option<String>,
        valid: fn(&str) -> bool,
        rule: &str,
        message: &str,
    ) -> Option<String> {
        let v = clean(value)?;
        if valid(&v) {
            Some(v)
        } else {
            self.add(field, rule, message);
            None
        }
    }

    pub(super) fn optional_phone(&mut self, field: &str, value: &Option<String>) -> Option<String> {
        self.optional_checked(
            field,
            value,
            is_phone,
            rule::PHONE_FORMAT,
            "must be a phone number of 10 to 15 digits",
        )
    }

    pub(super) fn optional_email(&mut self, field: &str, value: &Option<String>) -> Option<String> {
        self.optional_checked(
            field,
            value,
            is_email,
            rule::EMAIL_FORMAT,
            "must be an email address",
        )
    }

    pub(super) fn bounded(&mut self, field: &str, v: String, max: usize) -> Option<String> {
        if v.chars().count() > max {
            self.add(
                field,
                rule::MAX_LENGTH,
                format!("must be at most {max} characters"),
            );
            None
        } else {
            Some(v)
        }
    }

    pub(super) fn required<'a, T>(&mut self, field: &str, value: &'a Option<T>) -> Option<&'a T> {
        if value.is_none() {
            self.add(field, rule::REQUIRED, "is required");
        }
        value.as_ref()
    }

    pub(super) fn one_of<T: Copy>(
        &mut self,
        field: &str,
        value: &Option<String>,
        options: &[(&str, T)],
    ) -> Option<T> {
        let v = match clean(value) {
            None => {
                self.add(field, rule::REQUIRED, "is required");
                return None;
            }
            Some(v) => v,
        };
        let found = options.iter().find(|(name, _)| *name == v).map(|(_, t)| *t);
        if found.is_none() {
            let names: Vec<&str> = options.iter().map(|(n, _)| *n).collect();
            self.add(
                field,
                rule::ONE_OF,
                format!("must be one of: {}", names.join(", ")),
            );
        }
        found
    }
}

/// Trimmed text, or `None` when absent or blank (web forms send blanks for empty fields).
pub(super) fn clean(value: &Option<String>) -> Option<String> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}
