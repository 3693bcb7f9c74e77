//! What the dashboard calls the codes the figures are keyed by: needs (SNOMED CT concepts,
//! always shown beside their code), kinds of referring organisation and months.
//!
//! The need names are display text only (reference data, not logic): the concepts
//! intake's form offers, those the demo and load generator use, and DOMAIN.md's. A code not
//! listed is shown as its code alone.

use crate::aggregate::NO_NEED;

/// SNOMED CT need codes and their preferred terms.
pub const NEEDS: [(&str, &str); 16] = [
    ("422650009", "Social isolation"),
    ("1144779008", "Loneliness"),
    ("160903007", "Lives alone"),
    ("73595000", "Stress"),
    ("48694002", "Anxiety"),
    ("366979004", "Depressed mood"),
    ("35489007", "Depressive disorder"),
    ("160932005", "Financial problem"),
    ("713458007", "Lack of access to transportation"),
    ("105480006", "Refusal of treatment by patient"),
    ("871731000000106", "Referral to social prescribing service"),
    ("871711000000103", "Social prescribing declined"),
    (
        "718466001",
        "Short Warwick-Edinburgh Mental Well-being Scale score",
    ),
    (
        "718426000",
        "Warwick-Edinburgh Mental Well-being Scale score",
    ),
    ("108161000000109", "Referred by general practitioner"),
    ("408443003", "General medical practice"),
];

/// The name of a need code; `None` for a code this table does not know.
pub fn need(code: &str) -> Option<&'static str> {
    if code == NO_NEED {
        return Some("No need recorded");
    }
    NEEDS.iter().find(|(c, _)| *c == code).map(|(_, n)| *n)
}

/// The name of a need with its code, e.g. "Social isolation (SNOMED CT 422650009)".
pub fn need_with_code(code: &str) -> String {
    match need(code) {
        Some(name) if code == NO_NEED => name.to_owned(),
        Some(name) => format!("{name} (SNOMED CT {code})"),
        None => format!("SNOMED CT {code}"),
    }
}

/// A kind of referring organisation (`OrganisationKind` in snake case, `self_referral`, or
/// `unknown`).
pub fn referrer_kind(kind: &str) -> String {
    match kind {
        "gp_practice" => "GP practice",
        "pcn" => "Primary care network",
        "council" => "Council",
        "housing_association" => "Housing association",
        "pharmacy" => "Pharmacy",
        "vcse" => "Voluntary or community organisation",
        "commissioner" => "Commissioner",
        "other" => "Other organisation",
        "unknown" => "Organisation not registered",
        "self_referral" => "Self-referral",
        other => return other.replace('_', " "),
    }
    .to_owned()
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// `2026-01` as "January 2026" (anything else as it is).
/// A kind of community service: the directory's term, with a capital; `not_recorded`
/// said in words.
pub fn service_kind(kind: &str) -> String {
    if kind == crate::journey::NO_KIND {
        return "Kind not recorded".to_owned();
    }
    let mut chars = kind.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

pub fn month(label: &str) -> String {
    label
        .split_once('-')
        .and_then(|(y, m)| {
            let m: usize = m.parse().ok()?;
            Some(format!("{} {y}", MONTHS.get(m.checked_sub(1)?)?))
        })
        .unwrap_or_else(|| label.to_owned())
}

/// A measure's name as the dashboard says it.
pub fn measure(name: &str) -> String {
    match name {
        "referrals" => "Referrals received",
        "routed" => "Routed to a link-worker service",
        "accepted" => "Accepted by the service",
        "declined" => "Declined by the service",
        "not_contactable" => "Could not be contacted",
        "first_contact_made" => "First contact made",
        "first_contact_within_14_days" => "First contact within 14 days",
        "plans_agreed" => "Personalised plan agreed",
        "connections_made" => "Connections made",
        "connections_accepted" => "Connections accepted",
        "connections_attended" => "Connections attended",
        "closed" => "Cases closed",
        "withdrawn" => "Withdrawn by the referrer",
        other => return other.replace('_', " "),
    }
    .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn needs_are_named_with_their_code_and_unknown_codes_keep_the_code() {
        assert_eq!(need("422650009"), Some("Social isolation"));
        assert_eq!(
            need_with_code("422650009"),
            "Social isolation (SNOMED CT 422650009)"
        );
        assert_eq!(need_with_code("999999"), "SNOMED CT 999999");
        assert_eq!(need_with_code(NO_NEED), "No need recorded");
        let mut codes: Vec<&str> = NEEDS.iter().map(|(c, _)| *c).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), NEEDS.len(), "each code once");
    }

    #[test]
    fn months_and_kinds_read_as_words() {
        assert_eq!(month("2026-01"), "January 2026");
        assert_eq!(month("2026-12"), "December 2026");
        assert_eq!(month("2026-13"), "2026-13");
        assert_eq!(referrer_kind("gp_practice"), "GP practice");
        assert_eq!(referrer_kind("new_kind"), "new kind");
        assert_eq!(referrer_kind("self_referral"), "Self-referral");
        assert_eq!(measure("plans_agreed"), "Personalised plan agreed");
    }
}
