//! What people type into the link-worker service, each field under the platform's one text
//! rule ([`linkway_platform::text::Text`]: NFC, trimmed, no control, bidi or noncharacters,
//! bounded), and the other bounds of its requests. Handlers check with these; the OpenAPI
//! document states them from the same constants ([`super::contract`]), so the two cannot
//! drift apart.
//!
//! A refusal names the field and the rule, never the value (it may be a person's details).
//! What is kept is the cleaned text, so every accepted event can be stored and projected.

use std::ops::RangeInclusive;

use linkway_platform::FieldError;
use linkway_platform::text::{Text, TextError};

/// A link worker's user id, as a token or a request names it.
pub const LINK_WORKER_ID: Text = Text::line(128);
/// What was said at a contact (personal).
pub const CONTACT_NOTES: Text = Text::multi_line(10_000);
/// "What matters to me", in the person's words.
pub const WHAT_MATTERS: Text = Text::multi_line(4000);
/// One goal of a plan.
pub const GOAL: Text = Text::line(1000);
/// One action of a plan.
pub const ACTION: Text = Text::line(1000);
/// A safeguarding concern (personal).
pub const CONCERN: Text = Text::multi_line(10_000);
/// A concern an outcome measure scores (MYCaW), in the person's words.
pub const MEASURED_CONCERN: Text = Text::line(crate::outcomes::mycaw::CONCERN_CHARS);
/// A directory service id (Open Referral UK).
pub const SERVICE_ID: Text = Text::line(128);
/// Words searched for in the directory (or a category, or an area).
pub const SEARCH: Text = Text::line(200);

/// Minutes of a contact made.
pub const MINUTES: RangeInclusive<u32> = 1..=600;
/// Goals of a plan.
pub const GOALS: RangeInclusive<usize> = 1..=20;
/// Actions of a plan, at most.
pub const MAX_ACTIONS: usize = 50;

/// The text fields of request bodies as the document names them: schema, property (an
/// array's rule is its items') and rule.
pub const DOCUMENTED: &[(&str, &str, Text)] = &[
    ("AssignRequest", "link_worker_id", LINK_WORKER_ID),
    ("PlanRequest", "what_matters", WHAT_MATTERS),
    ("PlanRequest", "goals", GOAL),
    ("PlanRequest", "actions", ACTION),
    ("SafeguardingRequest", "concern", CONCERN),
    ("ConnectRequest", "service_id", SERVICE_ID),
    ("AppointmentRequest", "place", super::appointments::PLACE),
];

/// A whole number as JSON Schema's `integer` has it: `3` and `3.0` alike (never `3.5` or
/// a negative), so a request the document allows is read as the document means it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Whole(pub u64);

impl<'de> serde::Deserialize<'de> for Whole {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Whole, D::Error> {
        let n = serde_json::Number::deserialize(d)?;
        n.as_u64()
            .or_else(|| {
                n.as_f64()
                    .filter(|f| f.fract() == 0.0 && (0.0..1e19).contains(f))
                    .map(|f| f as u64)
            })
            .map(Whole)
            .ok_or_else(|| {
                serde::de::Error::invalid_type(
                    serde::de::Unexpected::Other("number"),
                    &"a whole number, 0 or more",
                )
            })
    }
}

impl Whole {
    /// As a `u32`, or `u32::MAX` when it does not fit (to be refused as out of range).
    pub fn to_u32(self) -> u32 {
        u32::try_from(self.0).unwrap_or(u32::MAX)
    }

    /// As a `u8`, or `u8::MAX` when it does not fit (to be refused as out of range).
    pub fn to_u8(self) -> u8 {
        u8::try_from(self.0).unwrap_or(u8::MAX)
    }
}

/// Text that must hold something: the kept text, or why not added to `errors` (blank is
/// `non_empty`).
pub fn required(errors: &mut Vec<FieldError>, field: &str, raw: &str, text: Text) -> String {
    match text.clean(raw) {
        Ok(Some(kept)) => kept,
        Ok(None) => {
            errors.push(FieldError::new(
                field,
                "non_empty",
                format!("{field} must not be empty"),
            ));
            String::new()
        }
        Err(e) => {
            errors.push(refusal(field, e));
            String::new()
        }
    }
}

/// Text that may be absent (blank counts as absent).
pub fn optional(
    errors: &mut Vec<FieldError>,
    field: &str,
    raw: Option<&str>,
    text: Text,
) -> Option<String> {
    text.clean(raw?).unwrap_or_else(|e| {
        errors.push(refusal(field, e));
        None
    })
}

/// The refusal of one text: the field, the rule and what the rule says, never the value.
pub fn refusal(field: &str, e: TextError) -> FieldError {
    FieldError::new(field, e.rule(), format!("{field} {e}"))
}

/// Every problem found, or nothing.
pub fn check(errors: Vec<FieldError>) -> Result<(), linkway_platform::ApiError> {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(linkway_platform::ApiError::Validation(errors))
    }
}
