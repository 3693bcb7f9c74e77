//! Small value types shared by several event families.

use serde::{Deserialize, Serialize};

/// The SNOMED CT code system URI.
pub const SNOMED: &str = "http://snomed.info/sct";

/// SNOMED CT 871731000000106: referral to social prescribing service.
pub const SNOMED_REFERRAL_TO_SOCIAL_PRESCRIBING: &str = "871731000000106";
/// SNOMED CT 871711000000103: social prescribing declined.
pub const SNOMED_SOCIAL_PRESCRIBING_DECLINED: &str = "871711000000103";

/// A coded concept, e.g. a need from SNOMED CT.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Coding {
    /// Code system URI; SNOMED CT unless said otherwise.
    #[serde(default = "snomed")]
    pub system: String,
    pub code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display: Option<String>,
}

fn snomed() -> String {
    SNOMED.to_owned()
}

impl Coding {
    pub fn snomed(code: impl Into<String>, display: impl Into<String>) -> Coding {
        Coding {
            system: SNOMED.to_owned(),
            code: code.into(),
            display: Some(display.into()),
        }
    }
}

// A calendar date on the wire is `YYYY-MM-DD` (JSON Schema `format: date`). `time::Date`'s
// own serde form depends on a cargo feature (`serde-human-readable`) that feature
// unification may or may not switch on, and without it a date is `[year, ordinal]`; date
// fields name this module instead so the wire format never depends on the build.
time::serde::format_description!(pub calendar_date, Date, "[year]-[month]-[day]");
