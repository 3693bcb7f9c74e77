//! The person of a referral as a data subject: `erasePerson`, `exportPerson` and
//! `correctPerson` (rectification, [`correction`]).
//!
//! Both decide from the log alone: who may act is read from the referral's own events
//! (the organisation that sent it and the service it was routed to), never from a read
//! model. `exportPerson` is the log itself, opened: every event of the referral, its case
//! and its person, with what intake's audit trail holds of who saw them. `erasePerson`
//! appends `person.erased` through the command path, then destroys the person's data key
//! in the vault; a retry of either step finishes what a failure left.

pub mod correction;
mod decision;
pub mod export;
pub mod page;

use linkway_events::Role;
use linkway_platform::ApiError;
use linkway_platform::auth::Principal;

pub use correction::correct_person;
pub use decision::{Erase, ErasedAnswer, ErasureRequest, Parties};
pub use export::{ExportedEvent, PersonExport, erase_person, export_person};

/// Who may export or erase a person: an administrator, or the information governance
/// lead of an organisation that sent or received the referral (anyone else's referral is
/// "not found", as a missing one is).
pub fn authorise(principal: &Principal, parties: &Parties) -> Result<(), ApiError> {
    match principal.role {
        Role::Admin if parties.exists() => Ok(()),
        Role::IgLead if parties.includes(&principal.organisation_id) => Ok(()),
        Role::Admin | Role::IgLead => Err(ApiError::NotFound),
        _ => Err(ApiError::Forbidden),
    }
}

#[cfg(test)]
mod tests;
