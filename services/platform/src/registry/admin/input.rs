//! What an administrator types, read the same way from the CLI's flags and the pages'
//! fields: organisation ids by the id rule, text through the platform's one text rule.
//! A refusal names the field (a flag like `--name`, or a page's label) and the rule,
//! never the text typed.

use linkway_events::Role;
use linkway_events::registry::RoutingCriterion;

use crate::text::Text;

/// A value that breaks its rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Invalid {
    /// What it was typed in, as the refusal names it (a flag or a label).
    pub field: String,
    pub message: String,
}

impl Invalid {
    fn new(field: &str, message: String) -> Invalid {
        Invalid {
            field: field.to_owned(),
            message,
        }
    }
}

/// An organisation's name.
pub const ORGANISATION_NAME: Text = Text::name(200);
/// An ODS code, charity or company number; a commissioner area.
pub const CODE: Text = Text::line(64);
/// A token's user or label.
pub const TOKEN_TEXT: Text = Text::line(100);
/// A person's name as shown beside their actions.
pub const DISPLAY_NAME: Text = Text::name(200);
/// An OpenID Connect issuer URL.
pub const ISSUER: Text = Text::line(500);
/// An identity provider's `sub`.
pub const SUBJECT: Text = Text::line(255);

/// A Linkway organisation id: 1-64 letters, digits, '-' or '_'.
pub fn organisation_id(field: &str, id: &str) -> Result<String, Invalid> {
    let id = id.trim();
    let ok = !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(id.to_owned())
    } else {
        Err(Invalid::new(
            field,
            format!("organisation id {id:?}: use 1-64 letters, digits, '-' or '_'"),
        ))
    }
}

/// Optional text under `rule` (blank is absent).
pub fn text(field: &str, rule: Text, raw: Option<&str>) -> Result<Option<String>, Invalid> {
    match raw {
        None => Ok(None),
        Some(raw) => rule
            .clean(raw)
            .map_err(|e| Invalid::new(field, format!("{field} {e} ({})", e.rule()))),
    }
}

/// Text under `rule` that must be there.
pub fn required(field: &str, rule: Text, raw: &str) -> Result<String, Invalid> {
    text(field, rule, Some(raw))?
        .ok_or_else(|| Invalid::new(field, format!("{field} must not be empty")))
}

/// An Open Referral UK service id an organisation answers for (as the directory's).
pub const DIRECTORY_SERVICE: Text = Text::line(128);

/// Directory service ids, each under [`DIRECTORY_SERVICE`], each once, in the order given.
pub fn directory_services<'a>(
    field: &str,
    ids: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<String>, Invalid> {
    let mut out: Vec<String> = Vec::new();
    for raw in ids {
        let id = required(field, DIRECTORY_SERVICE, raw)?;
        if !out.contains(&id) {
            out.push(id);
        }
    }
    Ok(out)
}

/// What a rule matches: exactly one of a referring organisation or a postcode district
/// (upper-cased, as referrals' districts are).
pub fn criterion(
    from_org: Option<&str>,
    district: Option<&str>,
    field: &str,
) -> Result<RoutingCriterion, Invalid> {
    match (from_org, district) {
        (Some(org), None) => Ok(RoutingCriterion::ReferringOrganisation {
            organisation_id: organisation_id(field, org)?,
        }),
        (None, Some(district)) => Ok(RoutingCriterion::PostcodeDistrict {
            district: district.trim().to_ascii_uppercase(),
        }),
        _ => Err(Invalid::new(
            field,
            "give exactly one of --from-org or --postcode-district".into(),
        )),
    }
}

/// A role an administrator may give (every role but `system`).
pub fn role(raw: &str) -> Option<Role> {
    Role::parse(raw).filter(|r| *r != Role::System)
}

/// Roles in the order given, each once.
pub fn distinct(roles: impl IntoIterator<Item = Role>) -> Vec<Role> {
    let mut out = Vec::new();
    for role in roles {
        if !out.contains(&role) {
            out.push(role);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_organisation_id_is_letters_digits_dashes_and_underscores() {
        assert_eq!(organisation_id("id", " gp-1_a ").unwrap(), "gp-1_a");
        for bad in ["", "gp 1", "gp.1", &"a".repeat(65)] {
            assert!(organisation_id("id", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn text_refusals_name_the_field_and_rule_never_the_value() {
        let err = text("--name", ORGANISATION_NAME, Some("Park\0Surgery")).unwrap_err();
        assert!(
            err.message
                .starts_with("--name must not contain control characters")
        );
        assert!(!err.message.contains("Park"));
        assert_eq!(text("Label", TOKEN_TEXT, Some("  ")).unwrap(), None);
        assert!(required("Name", DISPLAY_NAME, " ").is_err());
    }

    #[test]
    fn roles_are_kept_once_in_the_order_given_and_system_is_not_one() {
        assert_eq!(
            distinct([Role::Referrer, Role::Admin, Role::Referrer]),
            vec![Role::Referrer, Role::Admin]
        );
        assert_eq!(role("system"), None);
        assert_eq!(role("link_worker"), Some(Role::LinkWorker));
    }
}
