//! The form's fields: what a browser posts, read into the referral request the JSON API
//! takes, and the control each validation field is shown next to.

use linkway_platform::FieldError;

use crate::validation::{
    AddressInput, CodingInput, ConsentInput, NeedsInput, PersonInput, PractitionerInput,
    ReferralRequest,
};

/// Every field the form posts; anything else is refused, naming it.
pub const FIELDS: [&str; 34] = [
    "access_token",
    "idempotency_key",
    "referrer_organisation_id",
    "nhs_number",
    "nhs_number_verification",
    "given_name",
    "family_name",
    "birth_date",
    "address_line1",
    "address_line2",
    "address_line3",
    "postcode",
    "phone",
    "email",
    "preferred_contact_method",
    "language",
    "interpreter_needed",
    "accessibility_needs",
    "gender",
    "ethnicity",
    "need",
    "other_need_code",
    "needs_text",
    "urgency",
    "safeguarding_concern",
    "legal_basis",
    "consent_status",
    "referral_agreed",
    "share_details",
    "practitioner_name",
    "practitioner_role",
    "practitioner_phone",
    "practitioner_email",
    "notes",
];

/// The yes/no questions, by the request field each answers.
const YES_NO: [(&str, &str); 3] = [
    ("safeguarding_concern", "safeguarding_concern"),
    ("referral_agreed", "consent.referral_agreed"),
    ("share_details", "consent.share_details_with_referrer"),
];

/// Needs offered as tick boxes (SNOMED CT concepts); others can be typed as a code.
pub const COMMON_NEEDS: [(&str, &str); 5] = [
    ("422650009", "Social isolation"),
    ("73595000", "Stress"),
    ("48694002", "Anxiety"),
    ("366979004", "Depressed mood"),
    ("160932005", "Financial problem"),
];

/// The posted fields, as name/value pairs (tick boxes repeat a name).
pub struct Posted(pub(super) Vec<(String, String)>);

impl Posted {
    /// The pairs a browser posted, in order.
    pub fn new(pairs: Vec<(String, String)>) -> Posted {
        Posted(pairs)
    }

    pub(crate) fn get(&self, name: &str) -> Option<String> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .filter(|v| !v.trim().is_empty())
    }

    pub(crate) fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    }

    pub(super) fn yes_no(&self, name: &str) -> Option<bool> {
        match self.get(name).as_deref() {
            Some("yes") => Some(true),
            Some("no") => Some(false),
            _ => None,
        }
    }

    /// The value to show again in a field (never the token).
    pub(crate) fn value(&self, name: &str) -> String {
        if name == "access_token" {
            return String::new();
        }
        self.get(name).unwrap_or_default()
    }

    pub(super) fn empty() -> Posted {
        Posted(Vec::new())
    }
}

/// Reads a post: a field the form does not have, or an answer to a yes/no question that is
/// neither, is refused naming the field (never the value); the rest is [`to_request`].
pub fn read(p: &Posted) -> Result<ReferralRequest, Vec<FieldError>> {
    let mut errors = Vec::new();
    for (name, _) in &p.0 {
        if !FIELDS.contains(&name.as_str()) && !errors.iter().any(|e: &FieldError| &e.field == name)
        {
            // A name that is not one a form could have is not repeated back either.
            let plausible = name.len() <= 64
                && name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
            errors.push(FieldError::new(
                if plausible { name.as_str() } else { "body" },
                "schema",
                "is not a field of this form",
            ));
        }
    }
    for (control, field) in YES_NO {
        if p.get(control).is_some() && p.yes_no(control).is_none() {
            errors.push(FieldError::new(field, "one_of", "must be yes or no"));
        }
    }
    if p.get("idempotency_key").is_some_and(|k| !is_key(&k)) {
        errors.push(FieldError::new(
            "idempotency_key",
            "idempotency_key_format",
            "must be 1-255 visible ASCII characters: send the form again",
        ));
    }
    if p.get("interpreter_needed").is_some_and(|v| v != "yes") {
        errors.push(FieldError::new(
            "person.interpreter_needed",
            "one_of",
            "must be yes when ticked",
        ));
    }
    if errors.is_empty() {
        Ok(to_request(p))
    } else {
        Err(errors)
    }
}

/// An idempotency key as the `Idempotency-Key` header takes it: 1-255 visible ASCII.
pub(crate) fn is_key(k: &str) -> bool {
    let k = k.trim();
    !k.is_empty() && k.len() <= 255 && k.bytes().all(|b| b.is_ascii_graphic())
}

/// The form's fields as the referral request the JSON API takes.
pub fn to_request(p: &Posted) -> ReferralRequest {
    let mut codes: Vec<CodingInput> = p
        .all("need")
        .into_iter()
        .map(|code| CodingInput {
            display: COMMON_NEEDS
                .iter()
                .find(|(c, _)| *c == code)
                .map(|(_, d)| (*d).to_owned()),
            system: None,
            code: Some(code),
        })
        .collect();
    if let Some(other) = p.get("other_need_code") {
        codes.push(CodingInput {
            system: None,
            code: Some(other.trim().to_owned()),
            display: None,
        });
    }
    let lines: Vec<String> = ["address_line1", "address_line2", "address_line3"]
        .iter()
        .filter_map(|n| p.get(n))
        .collect();
    ReferralRequest {
        referrer_organisation_id: p.get("referrer_organisation_id"),
        person: Some(PersonInput {
            nhs_number: p.get("nhs_number"),
            nhs_number_verification: p.get("nhs_number_verification"),
            given_name: p.get("given_name"),
            family_name: p.get("family_name"),
            birth_date: p.get("birth_date"),
            address: Some(AddressInput {
                lines: Some(lines),
                postcode: p.get("postcode"),
            }),
            phone: p.get("phone"),
            email: p.get("email"),
            preferred_contact_method: p.get("preferred_contact_method"),
            language: p.get("language"),
            interpreter_needed: Some(p.get("interpreter_needed").is_some()),
            accessibility_needs: p.get("accessibility_needs"),
            gender: p.get("gender"),
            ethnicity: p.get("ethnicity"),
        }),
        needs_and_concerns: Some(NeedsInput {
            codes,
            text: p.get("needs_text"),
        }),
        urgency: p.get("urgency"),
        safeguarding_concern: p.yes_no("safeguarding_concern"),
        legal_basis: p.get("legal_basis"),
        consent: Some(ConsentInput {
            status: p.get("consent_status"),
            referral_agreed: p.yes_no("referral_agreed"),
            share_details_with_referrer: p.yes_no("share_details"),
        }),
        practitioner: Some(PractitionerInput {
            name: p.get("practitioner_name"),
            role: p.get("practitioner_role"),
            phone: p.get("practitioner_phone"),
            email: p.get("practitioner_email"),
        }),
        notes: p.get("notes"),
    }
}

/// The form control a validation field is shown next to.
pub fn control_for(field: &str) -> &'static str {
    let f = field.split('[').next().unwrap_or(field);
    match f {
        "access_token" => "access_token",
        "referrer_organisation_id" => "referrer_organisation_id",
        "person" | "person.given_name" => "given_name",
        "person.nhs_number" => "nhs_number",
        "person.nhs_number_verification" => "nhs_number_verification",
        "person.family_name" => "family_name",
        "person.birth_date" => "birth_date",
        "person.address" | "person.address.lines" => "address_line1",
        "person.address.postcode" => "postcode",
        "person.phone" => "phone",
        "person.email" => "email",
        "person.preferred_contact_method" => "preferred_contact_method",
        "person.language" => "language",
        "person.accessibility_needs" => "accessibility_needs",
        "person.gender" => "gender",
        "person.ethnicity" => "ethnicity",
        "needs_and_concerns.text" => "needs_text",
        "needs_and_concerns" | "needs_and_concerns.codes" => "need",
        "urgency" => "urgency",
        "safeguarding_concern" => "safeguarding_concern",
        "legal_basis" => "legal_basis",
        "consent" | "consent.referral_agreed" => "referral_agreed",
        "consent.status" => "consent_status",
        "person.interpreter_needed" => "interpreter_needed",
        "idempotency_key" => "",
        "consent.share_details_with_referrer" => "share_details",
        "practitioner" | "practitioner.name" => "practitioner_name",
        "practitioner.role" => "practitioner_role",
        "practitioner.phone" => "practitioner_phone",
        "practitioner.email" => "practitioner_email",
        "notes" => "notes",
        _ => "",
    }
}
