//! The error collector every rule reports to: texts under the one text rule
//! ([`linkway_platform::text::Text`]), choices, phone and email checks, each naming field and
//! rule and never the value.

use linkway_platform::FieldError;

use linkway_platform::text::Text;

use super::formats::{is_email, is_phone};
use super::{CODE, rule};

/// Collects errors while walking the request.
#[derive(Default)]
pub(super) struct Errors(pub(super) Vec<FieldError>);

impl Errors {
    pub(super) fn add(&mut self, field: impl Into<String>, rule: &str, message: impl Into<String>) {
        self.0.push(FieldError::new(field, rule, message));
    }

    /// A text field under its [`Text`] rule; blank counts as absent (`None`, no error).
    pub(super) fn text(
        &mut self,
        field: &str,
        value: &Option<String>,
        rule: Text,
    ) -> Option<String> {
        match rule.clean(value.as_deref()?) {
            Ok(kept) => kept,
            Err(e) => {
                self.add(field, e.rule(), e.to_string());
                None
            }
        }
    }

    /// A required text field under its [`Text`] rule.
    pub(super) fn required_text(
        &mut self,
        field: &str,
        value: &Option<String>,
        rule: Text,
    ) -> Option<String> {
        if !present(value) {
            self.add(field, rule::REQUIRED, "is required");
            return None;
        }
        self.text(field, value, rule)
    }

    /// An optional one-line value that must also pass `valid` (blank counts as absent).
    pub(super) fn optional_checked(
        &mut self,
        field: &str,
        value: &Option<String>,
        valid: fn(&str) -> bool,
        rule: &str,
        message: &str,
    ) -> Option<String> {
        let v = self.text(field, value, CODE)?;
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
        if !present(value) {
            self.add(field, rule::REQUIRED, "is required");
            return None;
        }
        let v = self.text(field, value, CODE)?;
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

/// Whether a field was given: sent and not blank (web forms send blanks for empty fields).
pub(super) fn present(value: &Option<String>) -> bool {
    value.as_deref().is_some_and(|v| !v.trim().is_empty())
}
