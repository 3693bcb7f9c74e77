//! FHIR R4 messaging (BaRS-style): a message `Bundle` becomes the same referral request the
//! JSON API takes, or an `OperationOutcome` saying why not. Pure: no I/O. The handler
//! resolves the sender against the registry and runs the same validation and command.
//!
//! What is read, and where from:
//! - `MessageHeader` (first entry): `eventCoding` must be BaRS `servicerequest-request`,
//!   `reason` `new`; `focus` -> the `ServiceRequest`; `sender` -> an `Organization` whose
//!   identifier (ODS code, or Linkway id) names a registered organisation; `source.endpoint`
//!   is kept for replies and audit.
//! - `ServiceRequest`: `code` must hold SNOMED CT 871731000000106 (referral to social
//!   prescribing service); `reasonCode` SNOMED codings -> needs; `note` -> needs text;
//!   `priority` -> urgency; `patientInstruction` -> notes; `requester` -> practitioner;
//!   `subject` -> the `Patient`; a `safeguarding-concern` extension (boolean).
//! - `Patient`: NHS number (and verification status extension), name, birth date, address,
//!   telecom (lowest `rank` is the preferred method), gender, language, interpreter need.
//! - `Consent`: read whole (`status`, `provision.type`, `provision.period`, `policyRule` in
//!   [`LEGAL_BASIS_SYSTEM`], a `share-details-with-referrer` extension) and decided by
//!   [`crate::consent::decide`], the same table as the JSON API and the form; see
//!   [`resources::consent_read`].
//! - Every element read must have its FHIR JSON type ([`types`]), or the message is refused
//!   naming the element.
//!
//! Statuses: 400 when the bundle is not a message bundle with a `MessageHeader` first;
//! 422 `not-supported` when it is not a referral to social prescribing; 422 for a dangling
//! reference, an invalid NHS number or any other rule (issues name the FHIRPath and rule).
//!
//! [`outcome`] holds the answers (`OperationOutcome`), [`message`] reads the bundle and its
//! header, [`resources`] reads each resource into the request's parts; all re-exported here.

pub mod message;
pub mod outcome;
pub mod resources;
pub mod types;

pub use message::*;
pub use outcome::*;

pub const NHS_NUMBER_SYSTEM: &str = "https://fhir.nhs.uk/Id/nhs-number";
pub const ODS_SYSTEM: &str = "https://fhir.nhs.uk/Id/ods-organization-code";
/// The BaRS message event for a referral.
pub const EVENT_SERVICE_REQUEST: &str = "servicerequest-request";
/// Linkway's extensions where FHIR has no element.
pub const EXT_SAFEGUARDING: &str =
    "https://linkway.example/fhir/StructureDefinition/safeguarding-concern";
/// Linkway's lawful-basis CodeSystem (`Consent.policyRule`), published as
/// `schemas/fhir/CodeSystem-linkway-lawful-basis.json` and served at
/// `/fhir/CodeSystem/legal-basis`: no UK Core or NHS England coding of the UK GDPR lawful
/// basis for a referral exists.
pub const LEGAL_BASIS_SYSTEM: &str = "https://linkway.example/fhir/CodeSystem/legal-basis";
pub const EXT_SHARE_DETAILS: &str =
    "https://linkway.example/fhir/StructureDefinition/share-details-with-referrer";
const EXT_INTERPRETER: &str = "http://hl7.org/fhir/StructureDefinition/patient-interpreterRequired";
const HTTP_ERROR_CODES: &str = "https://fhir.nhs.uk/CodeSystem/http-error-codes";
/// Code system of Linkway's validation rule names, in `issue.details`.
pub const RULE_SYSTEM: &str = "https://linkway.example/fhir/CodeSystem/validation-rule";

#[cfg(test)]
mod tests;
