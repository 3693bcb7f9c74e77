//! Who may export and erase a person, folded from the referral's events.

use linkway_events::Role;
use linkway_platform::ApiError;
use linkway_platform::auth::Principal;
use uuid::Uuid;

use super::{Parties, authorise};

fn parties() -> Parties {
    Parties {
        referral_id: Some(Uuid::from_u128(7)),
        referrer: Some("gp-a".into()),
        services: vec!["lw-b".into()],
        erased: false,
        version: 3,
    }
}

fn who(org: &str, role: Role) -> Principal {
    Principal {
        token_id: Uuid::nil(),
        organisation_id: org.into(),
        role,
        user_id: None,
    }
}

#[test]
fn ig_leads_of_either_party_and_administrators_may_act() {
    let p = parties();
    assert!(authorise(&who("gp-a", Role::IgLead), &p).is_ok());
    assert!(authorise(&who("lw-b", Role::IgLead), &p).is_ok());
    assert!(authorise(&who("linkway", Role::Admin), &p).is_ok());
}

#[test]
fn another_organisations_ig_lead_finds_nothing_and_other_roles_are_refused() {
    let p = parties();
    assert!(matches!(
        authorise(&who("gp-c", Role::IgLead), &p),
        Err(ApiError::NotFound)
    ));
    for role in [
        Role::Referrer,
        Role::LinkWorker,
        Role::ServiceManager,
        Role::Commissioner,
    ] {
        assert!(matches!(
            authorise(&who("gp-a", role), &p),
            Err(ApiError::Forbidden)
        ));
    }
    assert!(matches!(
        authorise(&who("linkway", Role::Admin), &Parties::default()),
        Err(ApiError::NotFound)
    ));
}
