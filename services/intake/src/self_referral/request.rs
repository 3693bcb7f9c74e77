//! What a person referring themselves sends, and its rules: the bot checks (the honeypot
//! and the form token, [`super::token`]) and then intake's own validation of a referral
//! ([`crate::validation::validate`]: the same person rules, the platform's text rule on
//! every typed field, and [`crate::consent`], the one consent decision), the lawful basis
//! being the person's explicit consent. Pure: "now" is a parameter.

use linkway_platform::FieldError;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::token::FormTokens;
use crate::validation::{
    self, AddressInput, ConsentInput, NeedsInput, PersonInput, PractitionerInput, ReferralRequest,
    ValidReferral,
};

/// The practitioner of a self-referral: nobody referred the person but themselves.
pub const PRACTITIONER: &str = "Self-referral";

/// The contact methods a person referring themselves may choose.
pub const CONTACT_METHODS: [&str; 3] = ["phone", "text", "email"];

/// A person referring themselves to social prescribing.
///
/// Fields are optional in the type so that a missing one is reported as a `required` rule
/// naming the field, together with every other problem, rather than as a parse error.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SelfReferralRequest {
    #[schema(required = true)]
    pub given_name: Option<String>,
    #[schema(required = true)]
    pub family_name: Option<String>,
    /// `YYYY-MM-DD`.
    #[schema(required = true, format = Date, value_type = Option<String>)]
    pub birth_date: Option<String>,
    /// A UK postcode, e.g. `LS6 9ZZ`: its district chooses the link-worker service.
    #[schema(required = true)]
    pub postcode: Option<String>,
    /// Address lines without the postcode (up to 6), if the person gives them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address_lines: Option<Vec<String>>,
    /// Needed when the preferred contact method is `phone` or `text`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// Needed when the preferred contact method is `email`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// `phone`, `text` or `email`.
    #[schema(required = true)]
    pub preferred_contact_method: Option<String>,
    /// 10 digits, Modulus 11 valid, if the person knows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "9434765919")]
    pub nhs_number: Option<String>,
    /// What matters to the person and why they would like support, in their words.
    #[schema(required = true)]
    pub what_matters: Option<String>,
    /// The person agrees that these details are sent to the link-worker service (their
    /// explicit consent, the lawful basis of a self-referral): must be `true`.
    #[schema(required = true)]
    pub agreed: Option<bool>,
    /// From `GET /self-referrals/token`, at least 3 seconds and at most an hour old.
    #[schema(required = true)]
    pub form_token: Option<String>,
    /// Must be absent or empty (a field people never see: a machine filling every field
    /// fills it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub website: Option<String>,
}

impl SelfReferralRequest {
    /// The referral request intake's validation takes: the person's own details, their
    /// words as the needs, routine, no safeguarding concern stated, explicit consent, and
    /// no details shared back (there is no referrer to share them with).
    pub fn to_referral(&self) -> ReferralRequest {
        let lines: Vec<String> = self.address_lines.clone().unwrap_or_default();
        let given = lines.iter().any(|l| !l.trim().is_empty());
        ReferralRequest {
            referrer_organisation_id: None,
            person: Some(PersonInput {
                nhs_number: self.nhs_number.clone().filter(|n| !n.trim().is_empty()),
                nhs_number_verification: None,
                given_name: self.given_name.clone(),
                family_name: self.family_name.clone(),
                birth_date: self.birth_date.clone(),
                address: Some(AddressInput {
                    // The address is optional here: a placeholder stands for "not given"
                    // while the person rules run, and is taken out after.
                    lines: Some(if given {
                        lines
                    } else {
                        vec![NO_LINES.to_owned()]
                    }),
                    postcode: self.postcode.clone(),
                }),
                phone: self.phone.clone().filter(|p| !p.trim().is_empty()),
                email: self.email.clone().filter(|e| !e.trim().is_empty()),
                preferred_contact_method: self.preferred_contact_method.clone(),
                language: None,
                interpreter_needed: None,
                accessibility_needs: None,
                gender: None,
                ethnicity: None,
            }),
            needs_and_concerns: Some(NeedsInput {
                codes: Vec::new(),
                text: self.what_matters.clone(),
            }),
            urgency: Some("routine".into()),
            safeguarding_concern: Some(false),
            legal_basis: Some("explicit_consent".into()),
            consent: Some(ConsentInput {
                status: None,
                referral_agreed: self.agreed,
                share_details_with_referrer: Some(false),
            }),
            practitioner: Some(PractitionerInput {
                name: Some(PRACTITIONER.into()),
                role: None,
                phone: None,
                email: None,
            }),
            notes: None,
        }
    }
}

/// The placeholder address line of [`SelfReferralRequest::to_referral`].
const NO_LINES: &str = "(not given)";

/// The bot checks: the honeypot must be empty and the form token valid at `now`. What a
/// refusal names is only `website` or `form_token`, so a machine learns nothing of the
/// other rules.
pub fn check_human(
    request: &SelfReferralRequest,
    tokens: &FormTokens,
    now: OffsetDateTime,
) -> Result<(), Vec<FieldError>> {
    let mut errors = Vec::new();
    if request.website.as_deref().is_some_and(|w| !w.is_empty()) {
        errors.push(FieldError::new("website", "honeypot", "must be left empty"));
    }
    if let Err(refused) = tokens.check(request.form_token.as_deref(), now) {
        errors.push(FieldError::new(
            "form_token",
            refused.rule(),
            refused.message(),
        ));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// The request's own field for a field intake's validation names.
fn own_field(field: &str) -> String {
    let (head, index) = match field.split_once('[') {
        Some((h, rest)) => (h, Some(rest)),
        None => (field, None),
    };
    let own = match head {
        "person.given_name" => "given_name",
        "person.family_name" => "family_name",
        "person.birth_date" => "birth_date",
        "person.nhs_number" => "nhs_number",
        "person.address.postcode" => "postcode",
        "person.address" | "person.address.lines" => "address_lines",
        "person.phone" => "phone",
        "person.email" => "email",
        "person.preferred_contact_method" => "preferred_contact_method",
        "needs_and_concerns" | "needs_and_concerns.text" => "what_matters",
        "consent" | "consent.referral_agreed" | "legal_basis" => "agreed",
        other => other,
    };
    match index {
        Some(rest) => format!("{own}[{rest}"),
        None => own.to_owned(),
    }
}

/// Validates a self-referral (after [`check_human`]): every problem at once, each naming
/// the request's own field. `today` is the date in England.
pub fn validate(
    request: &SelfReferralRequest,
    today: time::Date,
) -> Result<ValidReferral, Vec<FieldError>> {
    let mut errors = Vec::new();
    let method = request.preferred_contact_method.as_deref().map(str::trim);
    if method.is_some_and(|m| !m.is_empty() && !CONTACT_METHODS.contains(&m)) {
        errors.push(FieldError::new(
            "preferred_contact_method",
            validation::rule::ONE_OF,
            "must be one of phone, text, email",
        ));
    }
    if request.agreed == Some(false) {
        errors.push(FieldError::new(
            "agreed",
            validation::rule::CONSENT_REQUIRED,
            "must be true: a self-referral is sent only with your agreement",
        ));
    }
    let checked = validation::validate(&request.to_referral(), today);
    let valid = match checked {
        Ok(v) => Some(v),
        Err(found) => {
            for e in found {
                let field = own_field(&e.field);
                if !errors.iter().any(|x: &FieldError| x.field == field) {
                    errors.push(FieldError { field, ..e });
                }
            }
            None
        }
    };
    match valid {
        Some(mut v) if errors.is_empty() => {
            v.personal
                .person
                .address
                .lines
                .retain(|l| l.as_str() != NO_LINES);
            Ok(v)
        }
        _ => Err(errors),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    pub fn valid_request() -> SelfReferralRequest {
        SelfReferralRequest {
            given_name: Some("Sam".into()),
            family_name: Some("Example".into()),
            birth_date: Some("1980-04-01".into()),
            postcode: Some("LS6 9ZZ".into()),
            phone: Some("07700 900123".into()),
            preferred_contact_method: Some("phone".into()),
            what_matters: Some("I feel lonely since I moved.".into()),
            agreed: Some(true),
            ..Default::default()
        }
    }

    const TODAY: time::Date = date!(2026 - 12 - 01);

    #[test]
    fn a_valid_self_referral_is_routine_explicit_consent_without_address() {
        let v = validate(&valid_request(), TODAY).expect("valid");
        assert_eq!(v.postcode_district, "LS6");
        assert_eq!(
            v.legal_basis,
            linkway_events::referral::LegalBasis::ExplicitConsent
        );
        assert!(v.consent.referral_agreed);
        assert!(!v.consent.share_details_with_referrer);
        assert!(v.personal.person.address.lines.is_empty());
        assert_eq!(
            v.personal.needs_text.as_deref(),
            Some("I feel lonely since I moved.")
        );
        assert_eq!(v.practitioner.name, PRACTITIONER);
    }

    #[test]
    fn without_agreement_it_is_refused_naming_agreed() {
        for agreed in [None, Some(false)] {
            let r = SelfReferralRequest {
                agreed,
                ..valid_request()
            };
            let errors = validate(&r, TODAY).expect_err("refused");
            assert!(
                errors.iter().any(|e| e.field == "agreed"),
                "{agreed:?}: {errors:?}"
            );
            assert!(errors.iter().all(|e| e.field == "agreed"), "{errors:?}");
        }
    }

    #[test]
    fn problems_name_the_requests_own_fields() {
        let r = SelfReferralRequest {
            given_name: None,
            postcode: Some("nowhere".into()),
            what_matters: None,
            preferred_contact_method: Some("letter".into()),
            address_lines: Some(vec!["ok".into(), "bad\u{7}".into()]),
            ..valid_request()
        };
        let errors = validate(&r, TODAY).expect_err("refused");
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        for f in [
            "given_name",
            "postcode",
            "what_matters",
            "preferred_contact_method",
            "address_lines[1]",
        ] {
            assert!(fields.contains(&f), "{f} in {fields:?}");
        }
        assert!(
            fields.iter().all(|f| !f.starts_with("person")),
            "{fields:?}"
        );
    }

    #[test]
    fn the_honeypot_and_the_token_are_checked_first() {
        let tokens = FormTokens::new(&linkway_platform::secret::Secret::new(
            "a session key of at least thirty-two bytes",
        ));
        let t0 = time::macros::datetime!(2026-12-01 10:00 UTC);
        let r = SelfReferralRequest {
            form_token: Some(tokens.issue(t0)),
            ..valid_request()
        };
        assert!(check_human(&r, &tokens, t0 + time::Duration::seconds(5)).is_ok());
        let fast = check_human(&r, &tokens, t0 + time::Duration::seconds(1)).unwrap_err();
        assert_eq!(fast[0].field, "form_token");
        assert_eq!(fast[0].rule, "form_token_too_new");
        let filled = SelfReferralRequest {
            website: Some("http://spam.example".into()),
            ..r
        };
        let bot = check_human(&filled, &tokens, t0 + time::Duration::seconds(5)).unwrap_err();
        assert_eq!(bot.len(), 1);
        assert_eq!(
            (bot[0].field.as_str(), bot[0].rule.as_str()),
            ("website", "honeypot")
        );
    }
}
