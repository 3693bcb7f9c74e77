//! Intake's events: a referral is received, routed, and sometimes withdrawn or corrected
//! (entered in error, or its person's details rectified).
//! Aggregate: `referral`, id = the referral's UUID.

use serde::{Deserialize, Serialize};
use time::Date;
use uuid::Uuid;

use crate::common::Coding;
use crate::family::event_family;

event_family! {
    /// Events of the `referral` aggregate.
    #[allow(
        clippy::large_enum_variant,
        reason = "events are short-lived values; boxing `Received` would burden every match for no gain"
    )]
    ReferralEvent {
        Received(ReferralReceived) = "referral.received" version 3,
        Routed(ReferralRouted) = "referral.routed" version 1,
        Unroutable(ReferralUnroutable) = "referral.unroutable" version 1,
        Withdrawn(ReferralWithdrawn) = "referral.withdrawn" version 1,
        EnteredInError(ReferralEnteredInError) = "referral.entered_in_error" version 1,
        PersonCorrected(ReferralPersonCorrected) = "referral.person_corrected" version 1,
    }
}

impl From<ReferralEvent> for crate::Event {
    fn from(e: ReferralEvent) -> Self {
        crate::Event::Referral(e)
    }
}

/// How the referral reached Linkway.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SourceChannel {
    Api,
    Fhir,
    Web,
    /// The person referred themselves, on intake's public page or API (no token, no
    /// referring organisation: `referrer_organisation_id` is [`SELF_REFERRAL_ORGANISATION`]).
    #[serde(rename = "self")]
    SelfReferral,
}

/// The `referrer_organisation_id` of a self-referral: a fixed pseudo-organisation, never
/// registered, so reporting counts self-referrals as their own kind of referrer.
pub const SELF_REFERRAL_ORGANISATION: &str = "self-referral";

/// Whole years between a birth date and `today`.
pub fn age_on(birth: Date, today: Date) -> i32 {
    let mut years = today.year() - birth.year();
    if (today.month() as u8, today.day()) < (birth.month() as u8, birth.day()) {
        years -= 1;
    }
    years.max(0)
}

/// The age band reported instead of the date of birth (`ReferralReceived::age_band`).
pub fn age_band(age: i32) -> &'static str {
    match age {
        i32::MIN..=15 => "0-15",
        16..=17 => "16-17",
        18..=24 => "18-24",
        25..=34 => "25-34",
        35..=44 => "35-44",
        45..=54 => "45-54",
        55..=64 => "55-64",
        65..=74 => "65-74",
        75..=84 => "75-84",
        _ => "85+",
    }
}

/// How soon the referral needs attention.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Urgency {
    Routine,
    Urgent,
}

/// The lawful basis for sharing the person's data with the link-worker service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum LegalBasis {
    /// UK GDPR 6(1)(e) + 9(2)(h): public task, health and social care (direct care).
    PublicTaskHealthCare,
    /// Explicit consent (services beyond health and care).
    ExplicitConsent,
    /// Vital interests (safeguarding emergencies).
    VitalInterests,
}

/// What the person agreed to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Consent {
    /// The person agreed to be referred.
    pub referral_agreed: bool,
    /// The person agreed that details (not just codes) go back to the referrer.
    pub share_details_with_referrer: bool,
}

/// The referring practitioner (staff, not the person referred).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Practitioner {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

/// A referral arrived and passed validation.
///
/// Version 3 adds `reply_to`. Version 2 had no place for it: intake kept a FHIR sender's
/// endpoint in its own `inbound_messages` table, so a read model rebuilt from the log (or a
/// log restored into a fresh deployment) lost it. A v2 event reads as v3 without it, and a
/// process pinned to v2 for a rolling upgrade writes v3 down by dropping it (see
/// [`crate::upcast`], [`crate::write_versions`]).
///
/// Version 1 also carried `possible_duplicate_of` (the referrals still open for the same
/// person at the same service), which intake's command computed from its own read model;
/// that is a finding, not a fact of the arrival, so intake's read model now makes it from
/// the log. A v1 event reads as v2 with the field dropped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReferralReceived {
    pub referral_id: Uuid,
    pub referrer_organisation_id: String,
    pub practitioner: Practitioner,
    pub source_channel: SourceChannel,
    /// Needs and concerns as codes (SNOMED CT); their free text is personal.
    pub needs: Vec<Coding>,
    pub urgency: Urgency,
    pub safeguarding_concern: bool,
    pub legal_basis: LegalBasis,
    pub consent: Consent,
    /// Outward code of the postcode (e.g. `LS6`): enough to route and report, not to identify.
    pub postcode_district: String,
    /// Age band at referral (e.g. `25-34`), so reporting never needs the date of birth.
    pub age_band: String,
    /// Everything that identifies or describes the person. Encryptable, erasable.
    /// `None` where withheld: the person was erased, or this process holds no key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub personal: Option<ReferralPersonal>,
    /// Where replies to the sender go: a FHIR message's `MessageHeader.source.endpoint`, an
    /// organisation's system address (not personal data, so not under `personal`). Only
    /// for `source_channel` `fhir`; absent for the other channels and for every referral
    /// written before version 3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<String>,
}

/// The person-identifying part of a referral.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReferralPersonal {
    pub person: Person,
    /// The referrer's description of needs and concerns, in their words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub needs_text: Option<String>,
    /// What the person wants the link worker to know ("what matters to me" so far).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

/// PRSB minimum dataset part 1: person demographics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Person {
    /// NHS number, 10 digits, Modulus 11 valid. Absent for some self-referrals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nhs_number: Option<String>,
    /// FHIR NHS number verification status code, e.g. `number-present-and-verified`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nhs_number_verification: Option<String>,
    pub given_name: String,
    pub family_name: String,
    #[serde(with = "crate::common::calendar_date")]
    pub birth_date: Date,
    pub address: Address,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    pub preferred_contact_method: ContactMethod,
    /// BCP 47 language tag, e.g. `en`, `pl`, `bn`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    #[serde(default)]
    pub interpreter_needed: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accessibility_needs: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gender: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ethnicity: Option<String>,
}

/// The person's postal address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Address {
    pub lines: Vec<String>,
    pub postcode: String,
}

/// How the person prefers to be contacted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ContactMethod {
    Phone,
    Email,
    Letter,
    Text,
}

/// The referral was sent to one link-worker service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReferralRouted {
    pub referral_id: Uuid,
    /// The organisation running the link-worker service.
    pub link_worker_organisation_id: String,
    /// The routing rule that matched; absent when an administrator routed by hand.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule_id: Option<Uuid>,
}

/// No routing rule matched: the referral waits for an administrator, never dropped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReferralUnroutable {
    pub referral_id: Uuid,
    pub reason: String,
}

/// The referrer withdrew the referral.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReferralWithdrawn {
    pub referral_id: Uuid,
    pub reason: String,
}

/// The referral should never have existed (wrong person, test data ...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReferralEnteredInError {
    pub referral_id: Uuid,
    pub reason: String,
}

/// The person's details were recorded wrongly and are corrected (rectification, UK GDPR
/// article 16). `personal` is the whole corrected personal part: it replaces the one the
/// referral was received with (or the last correction) wherever it is held. Nothing else
/// of the referral changes; sealed in the log like every `personal`, and refused once the
/// person is erased.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReferralPersonCorrected {
    pub referral_id: Uuid,
    /// `None` where withheld: the person was erased, or this process holds no key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub personal: Option<ReferralPersonal>,
}
