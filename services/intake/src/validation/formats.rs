//! Value formats, pure: dates and ages, UK postcodes, phone numbers, email addresses,
//! language tags.

use time::Date;

/// Parses `YYYY-MM-DD`.
pub fn parse_date(s: &str) -> Option<Date> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    Date::parse(s, &format).ok()
}

// Ages and their bands are the events' own: `referral.received`'s `age_band` is one.
pub use linkway_events::referral::{age_band, age_on};

/// UK postcodes: the platform's one rule, which routing rules' districts are read by too.
pub use linkway_platform::registry::routing::{normalise_postcode, postcode_district};

#[cfg(test)]
pub(super) use linkway_platform::registry::routing::is_outward_code;

/// `+?[0-9][0-9 ()-]{5,24}` with 10 to 15 digits.
pub fn is_phone(s: &str) -> bool {
    let body = s.strip_prefix('+').unwrap_or(s);
    let digits = body.bytes().filter(u8::is_ascii_digit).count();
    body.bytes().next().is_some_and(|b| b.is_ascii_digit())
        && (6..=25).contains(&body.len())
        && body
            .bytes()
            .all(|b| b.is_ascii_digit() || b" ()-".contains(&b))
        && (10..=15).contains(&digits)
}

/// A plain `local@domain.tld` address without spaces.
pub fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    s.len() <= 254
        && !local.is_empty()
        && local.len() <= 64
        && s.is_ascii()
        && !s.bytes().any(|b| {
            b.is_ascii_whitespace() || b.is_ascii_control() || b"<>()[]\\,;:\"".contains(&b)
        })
        && !domain.contains('@')
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && domain.split('.').count() >= 2
        && domain.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// `[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*`
pub fn is_language_tag(s: &str) -> bool {
    let mut parts = s.split('-');
    let primary = parts.next().unwrap_or("");
    (2..=3).contains(&primary.len())
        && primary.bytes().all(|b| b.is_ascii_alphabetic())
        && parts.all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}
