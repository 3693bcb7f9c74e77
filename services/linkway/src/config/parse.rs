//! What each setting's value must be: clap's value parsers (a refusal names the rule).

use linkway_events::WriteVersions;
use linkway_platform::secret::Secret;

pub(super) fn secret(value: &str) -> Result<Secret, std::convert::Infallible> {
    Ok(Secret::new(value))
}

pub(super) fn pseudonym_key(value: &str) -> Result<Secret, String> {
    if value.chars().count() < MIN_PSEUDONYM_KEY_CHARS {
        return Err(format!(
            "must be at least {MIN_PSEUDONYM_KEY_CHARS} characters (a random secret)"
        ));
    }
    Ok(Secret::new(value))
}

pub(super) fn write_versions(value: &str) -> Result<WriteVersions, String> {
    WriteVersions::parse(value).map_err(|e| e.to_string())
}

pub(super) fn keks(value: &str) -> Result<Secret, String> {
    linkway_eventstore::vault::Keks::parse(value).map_err(|e| e.to_string())?;
    Ok(Secret::new(value))
}

pub(super) fn session_key(value: &str) -> Result<Secret, String> {
    if value.chars().count() < linkway_platform::web::session::MIN_KEY_CHARS {
        return Err(format!(
            "must be at least {} characters (a random secret)",
            linkway_platform::web::session::MIN_KEY_CHARS
        ));
    }
    Ok(Secret::new(value))
}

/// Shortest pseudonym key accepted: a key that short can be guessed.
pub const MIN_PSEUDONYM_KEY_CHARS: usize = 16;
