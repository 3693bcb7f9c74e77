use super::*;
use linkway_events::case::*;
use linkway_events::common::Coding;
use linkway_events::referral::*;
use time::macros::date;
use uuid::Uuid;

fn keys() -> Pseudonymiser {
    Pseudonymiser::new(linkway_platform::secret::Secret::new("journey-test-key"))
}

fn fold(j: &mut Journey, event: &Event, day: Date, sequence: u64) {
    j.apply(event, day, sequence, &keys());
}

fn received(id: Uuid) -> Event {
    ReferralEvent::Received(ReferralReceived {
        referral_id: id,
        referrer_organisation_id: "gp-1".into(),
        practitioner: Practitioner {
            name: "Dr Practitioner".into(),
            role: None,
            phone: None,
            email: None,
        },
        source_channel: SourceChannel::Api,
        needs: vec![
            Coding::snomed("1000", "loneliness"),
            Coding::snomed("2000", "debt"),
            Coding::snomed("1000", "loneliness"),
        ],
        urgency: Urgency::Routine,
        safeguarding_concern: false,
        legal_basis: LegalBasis::PublicTaskHealthCare,
        consent: Consent {
            referral_agreed: true,
            share_details_with_referrer: false,
        },
        postcode_district: "LS6".into(),
        age_band: "25-34".into(),
        personal: Some(ReferralPersonal {
            person: Person {
                nhs_number: Some("9434765919".into()),
                nhs_number_verification: None,
                given_name: "Ada".into(),
                family_name: "Lovelace".into(),
                birth_date: date!(1990 - 01 - 02),
                address: Address {
                    lines: vec!["1 Street".into()],
                    postcode: "LS6 1AA".into(),
                },
                phone: Some("07700900000".into()),
                email: None,
                preferred_contact_method: ContactMethod::Phone,
                language: None,
                interpreter_needed: false,
                accessibility_needs: None,
                gender: None,
                ethnicity: None,
            },
            needs_text: Some("Feels alone since moving".into()),
            notes: None,
        }),
        reply_to: None,
    })
    .into()
}

fn outcome(
    id: Uuid,
    instrument: &str,
    timepoint: Timepoint,
    answers: Vec<u8>,
    raw: Option<u32>,
    derived: Option<f64>,
) -> Event {
    CaseEvent::OutcomeRecorded(OutcomeRecorded {
        referral_id: id,
        instrument: instrument.into(),
        instrument_version: "1".into(),
        algorithm_version: 1,
        timepoint,
        item_answers: answers,
        raw_score: raw,
        derived_score: derived,
        personal: None,
    })
    .into()
}

#[test]
fn a_whole_journey_keeps_facts_and_no_personal_data() {
    let id = Uuid::now_v7();
    let mut j = Journey::new("p".into());
    fold(&mut j, &received(id), date!(2026 - 01 - 10), 1);
    fold(
        &mut j,
        &ReferralEvent::Routed(ReferralRouted {
            referral_id: id,
            link_worker_organisation_id: "lw-1".into(),
            rule_id: None,
        })
        .into(),
        date!(2026 - 01 - 10),
        2,
    );
    fold(
        &mut j,
        &CaseEvent::Accepted(CaseAccepted {
            referral_id: id,
            link_worker_organisation_id: "lw-1".into(),
        })
        .into(),
        date!(2026 - 01 - 11),
        3,
    );
    for (day, seq) in [(date!(2026 - 01 - 20), 5), (date!(2026 - 01 - 15), 4)] {
        fold(
            &mut j,
            &CaseEvent::ContactMade(ContactMade {
                referral_id: id,
                channel: ContactChannel::Phone,
                minutes: 45,
                personal: Some(ContactPersonal {
                    notes: "Ada said".into(),
                }),
            })
            .into(),
            day,
            seq,
        );
    }
    fold(
        &mut j,
        &outcome(
            id,
            "swemwbs",
            Timepoint::Baseline,
            vec![2; 7],
            Some(14),
            Some(15.32),
        ),
        date!(2026 - 01 - 15),
        6,
    );
    fold(
        &mut j,
        &outcome(id, "swemwbs", Timepoint::Review, vec![3; 7], Some(21), None),
        date!(2026 - 03 - 15),
        7,
    );
    fold(
        &mut j,
        &outcome(
            id,
            "ons4",
            Timepoint::Baseline,
            vec![4, 5, 6, 7],
            None,
            None,
        ),
        date!(2026 - 01 - 15),
        8,
    );
    fold(
        &mut j,
        &outcome(id, "ucla3", Timepoint::Exit, vec![1, 2, 1], None, None),
        date!(2026 - 04 - 15),
        9,
    );
    fold(
        &mut j,
        &outcome(id, "eq5d", Timepoint::Exit, vec![1], None, None),
        date!(2026 - 04 - 15),
        10,
    );
    fold(
        &mut j,
        &CaseEvent::Closed(CaseClosed {
            referral_id: id,
            reason: ClosureReason::GoalsMet,
        })
        .into(),
        date!(2026 - 04 - 16),
        11,
    );
    assert_eq!(j.referred_on, Some(date!(2026 - 01 - 10)));
    assert_eq!(j.needs, vec!["1000".to_owned(), "2000".to_owned()]);
    assert_eq!(j.age_band.as_deref(), Some("25-34"));
    assert!(j.routed && j.accepted);
    assert_eq!(j.link_worker_org.as_deref(), Some("lw-1"));
    assert_eq!(j.contacts, 2);
    assert_eq!(j.first_contact_on, Some(date!(2026 - 01 - 15)));
    assert_eq!(j.swemwbs_baseline, Some(15.32));
    assert_eq!(j.swemwbs_latest, Some(19.25));
    assert_eq!(j.ons4_baseline, Some(vec![4, 5, 6, 7]));
    assert_eq!(j.ucla3_latest, Some(4));
    assert_eq!(j.closed_reason.as_deref(), Some("goals_met"));
    // The unknown instrument changed nothing, so the closure is the last change.
    assert_eq!(j.updated_seq, 11);
    let row = serde_json::to_string(&j).unwrap();
    for personal in [
        "Ada",
        "Lovelace",
        "9434765919",
        "LS6 1AA",
        "1990",
        "07700900000",
        "alone",
        "Dr Practitioner",
    ] {
        assert!(!row.contains(personal), "{personal} leaked into {row}");
    }
}

#[test]
fn decline_then_round_trip_through_json() {
    let id = Uuid::now_v7();
    let mut j = Journey::new("p".into());
    fold(
        &mut j,
        &CaseEvent::Declined(CaseDeclined {
            referral_id: id,
            link_worker_organisation_id: "lw-2".into(),
            reason: DeclineReason::PersonDeclined,
            reason_code: None,
        })
        .into(),
        date!(2026 - 02 - 01),
        7,
    );
    assert_eq!(j.declined_reason.as_deref(), Some("person_declined"));
    assert_eq!(j.link_worker_org.as_deref(), Some("lw-2"));
    assert_eq!(
        j.referred_on, None,
        "a case event alone does not make a referral"
    );
    let back: Journey = serde_json::from_value(serde_json::to_value(&j).unwrap()).unwrap();
    assert_eq!(back, j);
}

#[test]
fn connections_reviews_safeguarding_and_giving_up_on_contact_are_counted() {
    let id = Uuid::now_v7();
    let connection_id = Uuid::now_v7();
    let day = date!(2026 - 03 - 01);
    let mut j = Journey::new("p".into());
    let events: Vec<Event> = vec![
        CaseEvent::ContactAttempted(ContactAttempted {
            referral_id: id,
            channel: ContactChannel::Phone,
            outcome: ContactOutcome::NoAnswer,
            attempt_number: 1,
            could_not_contact: false,
        })
        .into(),
        CaseEvent::ContactAttempted(ContactAttempted {
            referral_id: id,
            channel: ContactChannel::Phone,
            outcome: ContactOutcome::NoAnswer,
            attempt_number: 2,
            could_not_contact: true,
        })
        .into(),
        CaseEvent::PlanReviewed(PlanReviewed {
            referral_id: id,
            next_review_date: day,
            goal_count: 1,
            personal: Some(PlanPersonal {
                what_matters: "x".into(),
                goals: vec![],
                actions: vec![],
            }),
        })
        .into(),
        // From JSON: the payload gains optional fields over time.
        CaseEvent::ConnectionMade(
            serde_json::from_value(serde_json::json!({
                "referral_id": id, "connection_id": connection_id,
                "service_id": "walking-group", "service_name": "Walking group"
            }))
            .unwrap(),
        )
        .into(),
        CaseEvent::ConnectionAccepted(ConnectionAccepted {
            referral_id: id,
            connection_id,
        })
        .into(),
        CaseEvent::ConnectionAttended(ConnectionAttended {
            referral_id: id,
            connection_id,
        })
        .into(),
        CaseEvent::ConnectionDeclined(ConnectionDeclined {
            referral_id: id,
            connection_id,
            reason: linkway_events::case::ConnectionDeclineReason::NoCapacity,
        })
        .into(),
        CaseEvent::SafeguardingRaised(SafeguardingRaised {
            referral_id: id,
            personal: Some(SafeguardingPersonal {
                concern: "Ada's neighbour".into(),
            }),
        })
        .into(),
    ];
    for (seq, e) in events.iter().enumerate() {
        fold(&mut j, e, day, seq as u64 + 1);
    }
    assert_eq!((j.contact_attempts, j.could_not_contact), (2, true));
    assert_eq!(j.plan_reviews, 1);
    assert_eq!(
        (
            j.connections_made,
            j.connections_accepted,
            j.connections_attended,
            j.connections_declined
        ),
        (1, 1, 1, 1)
    );
    assert_eq!(j.safeguarding_raised, 1);
    assert_eq!(j.updated_seq, 8);
    assert!(!serde_json::to_string(&j).unwrap().contains("Ada"));
    assert_eq!(j.connections.len(), 1);
    let c = &j.connections[0];
    assert_eq!(c.kind, NO_KIND, "a v1 connection names no kind");
    assert!(c.accepted && c.attended && c.declined);
    assert_eq!(c.key, keys().connection(connection_id));
    assert!(
        !serde_json::to_string(&j)
            .unwrap()
            .contains(&connection_id.to_string())
    );
}

#[test]
fn connections_keep_their_kind_and_answers_and_survive_the_stored_text() {
    let id = Uuid::now_v7();
    let (walk, choir) = (Uuid::now_v7(), Uuid::now_v7());
    let day = date!(2026 - 03 - 01);
    let made = |connection_id, kind: &str| -> Event {
        CaseEvent::ConnectionMade(ConnectionMade {
            referral_id: id,
            connection_id,
            service_id: kind.replace(' ', "-"),
            service_name: kind.into(),
            service_kind: Some(kind.into()),
            legal_basis: None,
            shared: vec![],
        })
        .into()
    };
    let mut j = Journey::new("p".into());
    fold(&mut j, &made(walk, "physical activity"), day, 1);
    fold(&mut j, &made(choir, "arts and creativity"), day, 2);
    let attended: Event = CaseEvent::ConnectionAttended(ConnectionAttended {
        referral_id: id,
        connection_id: choir,
    })
    .into();
    fold(&mut j, &attended, day, 3);
    // An answer to a connection whose making this journey never saw still counts.
    let stray: Event = CaseEvent::ConnectionAccepted(ConnectionAccepted {
        referral_id: id,
        connection_id: Uuid::now_v7(),
    })
    .into();
    fold(&mut j, &stray, day, 4);
    let kinds: Vec<(&str, bool, bool)> = j
        .connections
        .iter()
        .map(|c| (c.kind.as_str(), c.accepted, c.attended))
        .collect();
    assert_eq!(
        kinds,
        [
            ("physical activity", false, false),
            ("arts and creativity", false, true),
            (NO_KIND, true, false)
        ]
    );
    assert_eq!(
        parse_connections(&connections_text(&j.connections)),
        j.connections
    );
    assert_eq!(parse_connections(""), vec![]);
}

#[test]
fn swemwbs_conversion_covers_the_raw_range_only() {
    assert_eq!(swemwbs_metric(7), Some(7.00));
    assert_eq!(swemwbs_metric(21), Some(19.25));
    assert_eq!(swemwbs_metric(22), Some(19.98));
    assert_eq!(swemwbs_metric(35), Some(35.00));
    assert_eq!(swemwbs_metric(6), None);
    assert_eq!(swemwbs_metric(36), None);
    let all: Vec<f64> = (7..=35).map(|r| swemwbs_metric(r).unwrap()).collect();
    assert!(all.windows(2).all(|w| w[0] < w[1]), "monotone");
}

#[test]
fn mycaw_keeps_the_profile_scores_and_never_the_concerns() {
    let id = Uuid::from_u128(42);
    let mut j = Journey::new("p".into());
    let concerns = |score: f64, answers: Vec<u8>| -> Event {
        CaseEvent::OutcomeRecorded(OutcomeRecorded {
            referral_id: id,
            instrument: "mycaw".into(),
            instrument_version: "mycaw-v1".into(),
            algorithm_version: 1,
            timepoint: Timepoint::Baseline,
            item_answers: answers,
            raw_score: None,
            derived_score: Some(score),
            personal: Some(OutcomePersonal {
                concerns: vec!["Worried about my mother Edith".into()],
            }),
        })
        .into()
    };
    let day = date!(2026 - 02 - 01);
    fold(&mut j, &concerns(4.67, vec![5, 4, 5]), day, 1);
    // Link-worker's derived score wins; without one, the mean of the answers.
    fold(
        &mut j,
        &outcome(id, "mycaw", Timepoint::Review, vec![3, 2, 2], None, None),
        day,
        2,
    );
    assert_eq!((j.mycaw_baseline, j.mycaw_latest), (Some(4.67), Some(2.33)));
    fold(
        &mut j,
        &outcome(id, "mycaw", Timepoint::Exit, vec![1, 2], None, None),
        day,
        3,
    );
    assert_eq!(j.mycaw_latest, Some(1.5));
    // Answers MYCaW cannot have, with no score, change nothing.
    fold(
        &mut j,
        &outcome(id, "mycaw", Timepoint::Exit, vec![1, 1, 1, 1], None, None),
        day,
        4,
    );
    assert_eq!((j.mycaw_latest, j.updated_seq), (Some(1.5), 3));
    let stored = serde_json::to_string(&j).unwrap();
    assert!(!stored.contains("Edith"), "{stored}");
    assert_eq!(mycaw_profile(&[5, 4, 5]), 4.67);
}

#[test]
fn a_correction_changes_no_journey_for_it_carries_only_personal() {
    let id = Uuid::from_u128(7);
    let mut j = Journey::new("p".into());
    fold(&mut j, &received(id), date!(2026 - 01 - 05), 1);
    let Event::Referral(ReferralEvent::Received(r)) = received(id) else {
        unreachable!()
    };
    let mut personal = r.personal.expect("the fixture's person");
    personal.person.birth_date = date!(1950 - 01 - 02);
    let corrected: Event = ReferralEvent::PersonCorrected(ReferralPersonCorrected {
        referral_id: id,
        personal: Some(personal),
    })
    .into();
    let before = j.clone();
    fold(&mut j, &corrected, date!(2026 - 02 - 01), 2);
    // The age band stays as received: the corrected birth date is personal, never read.
    assert_eq!(j, before);
    assert_eq!(j.age_band.as_deref(), Some("25-34"));
}
