//! Samples and generators of the `user` registry events (people who sign in), shared
//! with the catalogue-wide tests in `tests.rs`.

use proptest::prelude::*;
use uuid::Uuid;

use crate::registry::{
    UserDeactivated, UserRegistered, UserRolesChanged, UserSignedIn, UserSignedOut,
};
use crate::{Event, Role};

const USER: &str = "01948c20-6a10-7c55-9e66-2f3a4b5c6d7e";
const SESSION: &str = "01948c21-7b20-7d66-8f77-3a4b5c6d7e8f";

/// One Rust-built sample of each user event.
pub(super) fn samples() -> Vec<Event> {
    let user_id = Uuid::parse_str(USER).expect("a UUID");
    let session_id = Uuid::parse_str(SESSION).expect("a UUID");
    vec![
        UserRegistered {
            user_id,
            organisation_id: "pcn-leeds-north".into(),
            roles: vec![Role::LinkWorker, Role::ServiceManager],
            display_name: "Sam Patel".into(),
            issuer: "https://am.nhsidentity.spineservices.nhs.uk/openam/oauth2/realms/root/realms/NHSIdentity/realms/Healthcare".into(),
            subject: "910000000001".into(),
        }
        .into(),
        UserRolesChanged {
            user_id,
            roles: vec![Role::LinkWorker],
        }
        .into(),
        UserDeactivated { user_id }.into(),
        UserSignedIn {
            user_id,
            session_id,
        }
        .into(),
        UserSignedOut {
            user_id,
            session_id,
        }
        .into(),
    ]
}

fn arb_roles() -> impl Strategy<Value = Vec<Role>> {
    proptest::sample::subsequence(Role::ALL.to_vec(), 1..=Role::ALL.len())
}

/// Any user event.
pub(super) fn arb_user_event() -> impl Strategy<Value = Event> {
    let id = any::<u128>().prop_map(Uuid::from_u128);
    prop_oneof![
        (
            id.clone(),
            "[a-z0-9_-]{1,40}",
            arb_roles(),
            "\\PC{1,80}",
            "https://[a-z.]{1,30}/[a-z/]{0,20}",
            "[A-Za-z0-9_-]{1,64}",
        )
            .prop_map(
                |(user_id, organisation_id, roles, display_name, issuer, subject)| {
                    Event::from(UserRegistered {
                        user_id,
                        organisation_id,
                        roles,
                        display_name,
                        issuer,
                        subject,
                    })
                }
            ),
        (id.clone(), arb_roles())
            .prop_map(|(user_id, roles)| Event::from(UserRolesChanged { user_id, roles })),
        id.clone()
            .prop_map(|user_id| Event::from(UserDeactivated { user_id })),
        (id.clone(), id.clone()).prop_map(|(user_id, session_id)| Event::from(UserSignedIn {
            user_id,
            session_id
        })),
        (id.clone(), id).prop_map(|(user_id, session_id)| Event::from(UserSignedOut {
            user_id,
            session_id
        })),
    ]
}
