//! The row state machine: statuses, first contact only once, disclosure by consent.

use linkway_events::referral::ReferralWithdrawn;
use linkway_events::{Actor, Envelope};
use serde_json::json;
use time::macros::datetime;

use super::*;

/// Built from JSON so that fields other services add to the event (with serde defaults)
/// do not break this test.
fn received(share: bool) -> ReferralReceived {
    serde_json::from_value(json!({
        "referral_id": Uuid::from_u128(1),
        "referrer_organisation_id": "gp",
        "practitioner": {"name": "Dr P"},
        "source_channel": "web",
        "needs": [],
        "urgency": "urgent",
        "safeguarding_concern": true,
        "legal_basis": "public_task_health_care",
        "consent": {"referral_agreed": true, "share_details_with_referrer": share},
        "postcode_district": "LS6",
        "age_band": "25-34",
        "personal": {"person": {
            "nhs_number": "9434765919", "given_name": "A", "family_name": "B",
            "birth_date": "1995-03-09", "address": {"lines": ["1 Road"], "postcode": "LS6 1AA"},
            "preferred_contact_method": "letter"
        }}
    }))
    .unwrap()
}

fn envelope(event: &Event) -> Envelope {
    Envelope::new(
        Uuid::from_u128(1).to_string(),
        event,
        Actor::system(),
        Uuid::from_u128(9),
        datetime!(2026-11-01 10:00 UTC),
    )
}

fn row(share: bool) -> ReferralRow {
    let r = received(share);
    let e = envelope(&ReferralEvent::Received(r.clone()).into());
    ReferralRow::received(&r, &e, 1, &NhsNumberKey::from_bytes([7; 32]))
}

fn case(t: &str, extra: Value) -> Event {
    let mut data = json!({"referral_id": Uuid::from_u128(1)});
    data.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    Event::decode(t, 1, data).unwrap()
}

fn apply(row: &mut ReferralRow, event: Event, seq: u64) -> Option<TimelineEntry> {
    let e = envelope(&event);
    row.apply(&event, &e, seq, &NhsNumberKey::from_bytes([7; 32]))
}

#[test]
fn the_received_row_keeps_no_nhs_number_only_its_keyed_hash() {
    let r = row(true);
    let stored = serde_json::to_string(&r).unwrap();
    assert!(!stored.contains("9434765919"));
    assert_eq!(r.nhs_number_key.as_ref().unwrap().len(), 64);
    assert_eq!(r.person.as_ref().unwrap().birth_date, "1995-03-09");
    assert_eq!(
        (r.source_channel.as_str(), r.urgency.as_str()),
        ("web", "urgent")
    );
}

#[test]
fn a_fhir_senders_reply_endpoint_comes_from_the_event_and_a_row_without_one_still_reads() {
    let mut r = received(true);
    r.source_channel = linkway_events::referral::SourceChannel::Fhir;
    r.reply_to = Some("https://meadowbank.example/fhir/replies".into());
    let e = envelope(&ReferralEvent::Received(r.clone()).into());
    let row = ReferralRow::received(&r, &e, 1, &NhsNumberKey::from_bytes([7; 32]));
    assert_eq!(
        row.reply_to.as_deref(),
        Some("https://meadowbank.example/fhir/replies")
    );
    let stored = serde_json::to_value(&row).unwrap();
    assert_eq!(serde_json::from_value::<ReferralRow>(stored).unwrap(), row);

    // A row stored before the field existed (a v2 referral's) reads as one without it,
    // which is what a rebuild writes for it: no new projection version is needed.
    let web = self::row(true);
    let mut stored = serde_json::to_value(&web).unwrap();
    assert!(stored.get("reply_to").is_none());
    stored.as_object_mut().unwrap().remove("reply_to");
    assert_eq!(serde_json::from_value::<ReferralRow>(stored).unwrap(), web);
}

#[test]
fn the_link_workers_story_moves_the_status_and_first_contact_counts_once() {
    let mut r = row(true);
    let lw = json!({"link_worker_organisation_id": "svc"});
    assert_eq!(
        apply(&mut r, case("case.accepted", lw), 2).unwrap().kind,
        "accepted"
    );
    assert_eq!(r.status, Status::Accepted);
    assert_eq!(
        apply(
            &mut r,
            case(
                "case.contact_made",
                json!({"channel": "phone", "minutes": 5})
            ),
            3
        )
        .unwrap()
        .kind,
        "first_contact"
    );
    assert_eq!(r.status, Status::InProgress);
    assert!(
        apply(
            &mut r,
            case(
                "case.contact_made",
                json!({"channel": "phone", "minutes": 5})
            ),
            4
        )
        .is_none()
    );
    assert!(
        apply(
            &mut r,
            case("case.assigned", json!({"link_worker_id": "lw-1"})),
            5
        )
        .is_none()
    );
    let closed = apply(
        &mut r,
        case("case.closed", json!({"reason": "moved_away"})),
        6,
    )
    .unwrap();
    assert_eq!(closed.detail["reason"], "moved_away");
    assert_eq!(r.status, Status::Closed);
    assert_eq!(r.last_sequence, 6);
    assert!(!r.status.is_open());
}

#[test]
fn withdrawn_is_final_but_later_case_events_still_show() {
    let mut r = row(true);
    let w: Event = ReferralEvent::Withdrawn(ReferralWithdrawn {
        referral_id: Uuid::from_u128(1),
        reason: "x".into(),
    })
    .into();
    apply(&mut r, w, 2);
    assert_eq!(r.status, Status::Withdrawn);
    let late = apply(
        &mut r,
        case(
            "case.accepted",
            json!({"link_worker_organisation_id": "svc"}),
        ),
        3,
    );
    assert_eq!(late.unwrap().kind, "accepted");
    assert_eq!(r.status, Status::Withdrawn);
}

#[test]
fn plan_details_go_back_only_with_consent() {
    let plan = || {
        case(
            "case.plan_agreed",
            json!({"review_date": "2027-01-01", "goal_count": 1,
                   "personal": {"what_matters": "garden", "goals": ["grow beans"], "actions": []}}),
        )
    };
    let mut shared = row(true);
    let entry = apply(&mut shared, plan(), 2).unwrap();
    assert_eq!(entry.detail["what_matters"], "garden");
    let mut private = row(false);
    let entry = apply(&mut private, plan(), 2).unwrap();
    assert_eq!(
        entry.detail,
        json!({"review_date": "2027-01-01", "goal_count": 1})
    );
}

#[test]
fn a_person_declined_refusal_carries_the_national_code() {
    let mut r = row(false);
    let entry = apply(
        &mut r,
        case(
            "case.declined",
            json!({"link_worker_organisation_id": "svc", "reason": "person_declined"}),
        ),
        2,
    )
    .unwrap();
    assert_eq!(entry.detail["reason_code"]["code"], "871711000000103");
    assert_eq!(r.status, Status::Declined);
}

#[test]
fn open_statuses_are_the_live_ones() {
    assert_eq!(
        Status::open_values(),
        [
            "received",
            "routed",
            "unroutable",
            "accepted",
            "in_progress"
        ]
    );
    for s in Status::ALL {
        assert_eq!(Status::parse(s.as_str()), Some(s));
    }
}

#[test]
fn giving_up_on_contact_reviews_and_connections_reach_the_timeline() {
    let mut r = row(true);
    assert!(
        apply(
            &mut r,
            case(
                "case.contact_attempted",
                json!({"channel": "phone", "attempt_number": 1})
            ),
            2
        )
        .is_none()
    );
    let gave_up = apply(
        &mut r,
        case(
            "case.contact_attempted",
            json!({"channel": "phone", "attempt_number": 3, "could_not_contact": true}),
        ),
        3,
    )
    .unwrap();
    assert_eq!(
        (gave_up.kind, gave_up.detail["attempts"].as_u64()),
        ("could_not_contact", Some(3))
    );
    let review = || {
        case(
            "case.plan_reviewed",
            json!({"next_review_date": "2027-03-01", "goal_count": 3,
                   "personal": {"what_matters": "garden", "goals": [], "actions": []}}),
        )
    };
    let connection = || {
        case(
            "case.connection_made",
            json!({"connection_id": Uuid::from_u128(5), "service_id": "svc-1", "service_name": "Debt advice"}),
        )
    };
    assert_eq!(
        apply(&mut r, review(), 4).unwrap().detail["what_matters"],
        "garden"
    );
    assert_eq!(
        apply(&mut r, connection(), 5).unwrap().detail["service_name"],
        "Debt advice"
    );
    let mut private = row(false);
    assert!(
        apply(&mut private, review(), 4)
            .unwrap()
            .detail
            .get("what_matters")
            .is_none()
    );
    assert_eq!(
        apply(&mut private, connection(), 5).unwrap().detail,
        json!({})
    );
    assert!(
        apply(
            &mut private,
            case(
                "case.safeguarding_raised",
                json!({"personal": {"concern": "x"}})
            ),
            6
        )
        .is_none()
    );
}

#[test]
fn a_correction_replaces_who_the_person_is_and_their_nhs_number_key_but_not_after_erasure() {
    use linkway_events::person::{ErasureReason, PersonErased};
    use linkway_events::referral::ReferralPersonCorrected;

    let mut r = row(true);
    let before_key = r.nhs_number_key.clone();
    let mut personal = received(true).personal.unwrap();
    personal.person.given_name = "Corrected".into();
    personal.person.nhs_number = Some("9990012342".into());
    personal.person.birth_date = time::macros::date!(1994 - 12 - 01);
    let corrected: Event = ReferralPersonCorrected {
        referral_id: Uuid::from_u128(1),
        personal: Some(personal.clone()),
    }
    .into();
    let entry = apply(&mut r, corrected.clone(), 2).expect("a timeline entry");
    assert_eq!(
        (entry.kind, entry.detail.clone()),
        ("person_corrected", json!({}))
    );
    let person = r.person.clone().unwrap();
    assert_eq!(person.given_name, "Corrected");
    assert_eq!(person.birth_date, "1994-12-01");
    assert_eq!(
        r.nhs_number_key,
        Some(NhsNumberKey::from_bytes([7; 32]).hash("9990012342"))
    );
    assert_ne!(r.nhs_number_key, before_key);
    assert_eq!(r.status, Status::Received, "the status stays");
    assert_eq!(r.last_sequence, 2);
    let stored = serde_json::to_string(&r).unwrap();
    assert!(
        !stored.contains("9990012342"),
        "only the keyed hash is kept"
    );

    let erased: Event = PersonErased {
        referral_id: Uuid::from_u128(1),
        reason: ErasureReason::PersonAsked,
    }
    .into();
    apply(&mut r, erased, 3);
    apply(&mut r, corrected, 4);
    assert_eq!((r.person.clone(), r.nhs_number_key.clone()), (None, None));
}

#[test]
fn a_correction_of_postcode_or_birth_date_moves_the_district_and_age_band() {
    use linkway_events::referral::ReferralPersonCorrected;

    let mut r = row(true);
    assert_eq!(
        (r.postcode_district.as_str(), r.age_band.as_str()),
        ("LS6", "25-34")
    );
    let correct = |birth_date, postcode: &str| -> Event {
        let mut personal = received(true).personal.unwrap();
        personal.person.birth_date = birth_date;
        personal.person.address.postcode = postcode.into();
        ReferralPersonCorrected {
            referral_id: Uuid::from_u128(1),
            personal: Some(personal),
        }
        .into()
    };
    // Received on 2026-11-01: 36 that day (the age at referral, not at correction).
    apply(
        &mut r,
        correct(time::macros::date!(1990 - 11 - 01), "M1 1AE"),
        2,
    );
    assert_eq!(
        (r.postcode_district.as_str(), r.age_band.as_str()),
        ("M1", "35-44")
    );
    // A day younger: still 35 on the day received.
    apply(
        &mut r,
        correct(time::macros::date!(1991 - 11 - 02), "LS6 1AA"),
        3,
    );
    assert_eq!(
        (r.postcode_district.as_str(), r.age_band.as_str()),
        ("LS6", "25-34")
    );
    // Withheld (no key, or erased): nothing to work them out from, they stay.
    let withheld: Event = ReferralPersonCorrected {
        referral_id: Uuid::from_u128(1),
        personal: None,
    }
    .into();
    apply(&mut r, withheld, 4);
    assert_eq!(
        (r.postcode_district.as_str(), r.age_band.as_str()),
        ("LS6", "25-34")
    );
}
