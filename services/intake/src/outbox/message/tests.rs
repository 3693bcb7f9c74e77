use super::*;
use linkway_events::case::{ClosureReason, DeclineReason, Timepoint};
use time::macros::datetime;

const GIVEN: &str = "Perdita";
const FAMILY: &str = "Quillfeather";
const BIRTH: &str = "1961-04-09";
const NHS: &str = "9434765919";
const MATTERS: &str = "Singing with the Thursday choir";
const GOAL: &str = "Walk to the allotment";

fn referral(share: bool) -> Referral {
    Referral {
        referral_id: Uuid::from_u128(7),
        referrer_organisation_id: "gp-1".into(),
        reply_to: "https://gp.example/fhir".into(),
        share_details: share,
        link_worker_organisation_id: Some("lw-1".into()),
        person: Some(Person {
            nhs_number: Some(NHS.into()),
            given_name: GIVEN.into(),
            family_name: FAMILY.into(),
            birth_date: BIRTH.into(),
        }),
        erased: false,
    }
}

fn every_update() -> Vec<Update> {
    vec![
        Update::Accepted,
        Update::Declined {
            reason: DeclineReason::PersonDeclined,
        },
        Update::CouldNotContact { attempts: 3 },
        Update::PlanAgreed {
            review_date: "2030-01-01".into(),
            goal_count: 1,
            what_matters: Some(MATTERS.into()),
            goals: vec![GOAL.into()],
        },
        Update::OutcomeRecorded(Outcome {
            instrument: "SWEMWBS".into(),
            instrument_version: "1".into(),
            timepoint: Timepoint::Baseline,
            item_answers: vec![3, 3, 3, 3, 3, 3, 3],
            raw_score: Some(21),
            derived_score: Some(19.25),
        }),
        Update::Closed {
            reason: ClosureReason::GoalsMet,
        },
    ]
}

fn at() -> OffsetDateTime {
    datetime!(2030-01-02 10:00 UTC)
}

fn resource<'a>(bundle: &'a Value, t: &str) -> &'a Value {
    bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["resource"])
        .find(|r| r["resourceType"] == t)
        .unwrap_or_else(|| panic!("no {t}"))
}

fn codes(v: &Value) -> Vec<String> {
    v["coding"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["code"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn the_message_id_is_the_bundle_and_header_id_and_the_same_for_the_same_event() {
    let a = message_id(Uuid::from_u128(7), Uuid::from_u128(1));
    assert_eq!(a, message_id(Uuid::from_u128(7), Uuid::from_u128(1)));
    assert_ne!(a, message_id(Uuid::from_u128(7), Uuid::from_u128(2)));
    assert_ne!(a, message_id(Uuid::from_u128(8), Uuid::from_u128(1)));
    assert_eq!(a.get_version_num(), 8);
    let b = bundle(&referral(true), &Update::Accepted, a, at());
    assert_eq!(b, bundle(&referral(true), &Update::Accepted, a, at()));
    assert_eq!(b["resourceType"], "Bundle");
    assert_eq!(b["type"], "message");
    assert_eq!(b["id"], a.to_string());
    let header = &b["entry"][0]["resource"];
    assert_eq!(header["resourceType"], "MessageHeader");
    assert_eq!(header["id"], a.to_string());
    assert_eq!(header["reason"]["coding"][0]["code"], "update");
    assert_eq!(header["eventCoding"]["code"], "servicerequest-response");
    assert_eq!(
        header["destination"][0]["endpoint"],
        "https://gp.example/fhir"
    );
    assert_eq!(header["source"]["name"], "Linkway intake");
    let task = resource(&b, "Task");
    assert_eq!(
        header["focus"][0]["reference"],
        format!("urn:uuid:{}", task["id"].as_str().unwrap())
    );
    assert_eq!(
        task["focus"]["reference"],
        format!("urn:uuid:{}", Uuid::from_u128(7))
    );
    // Every reference resolves inside the bundle.
    let urls: Vec<&str> = b["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["fullUrl"].as_str().unwrap())
        .collect();
    for r in [
        &task["for"]["reference"],
        &resource(&b, "ServiceRequest")["subject"]["reference"],
    ] {
        assert!(urls.contains(&r.as_str().unwrap()), "{r}");
    }
}

#[test]
fn each_update_carries_its_status_and_codes() {
    let r = referral(true);
    let id = Uuid::from_u128(99);
    let task = |u: &Update| resource(&bundle(&r, u, id, at()), "Task").clone();
    let accepted = task(&Update::Accepted);
    assert_eq!(accepted["status"], "accepted");
    assert_eq!(codes(&accepted["businessStatus"]), ["871731000000106"]);
    let declined = task(&Update::Declined {
        reason: DeclineReason::PersonDeclined,
    });
    assert_eq!(declined["status"], "rejected");
    assert_eq!(
        codes(&declined["businessStatus"]),
        ["871711000000103", "person_declined"]
    );
    let out_of_area = task(&Update::Declined {
        reason: DeclineReason::OutOfArea,
    });
    assert_eq!(codes(&out_of_area["businessStatus"]), ["out_of_area"]);
    let gave_up = task(&Update::CouldNotContact { attempts: 3 });
    assert_eq!(gave_up["status"], "failed");
    assert_eq!(gave_up["output"][0]["valueInteger"], 3);
    let closed = task(&Update::Closed {
        reason: ClosureReason::GoalsMet,
    });
    assert_eq!(closed["status"], "completed");
    assert_eq!(codes(&closed["businessStatus"]), ["goals_met"]);
}

#[test]
fn an_outcome_measure_is_an_observation_with_its_snomed_score_code() {
    let r = referral(false);
    let outcome = |instrument: &str, raw, derived| {
        Update::OutcomeRecorded(Outcome {
            instrument: instrument.into(),
            instrument_version: "1".into(),
            timepoint: Timepoint::Exit,
            item_answers: vec![4, 4],
            raw_score: raw,
            derived_score: derived,
        })
    };
    let b = bundle(
        &r,
        &outcome("SWEMWBS", Some(21), Some(19.25)),
        Uuid::from_u128(1),
        at(),
    );
    let obs = resource(&b, "Observation");
    assert_eq!(obs["code"]["coding"][0]["system"], SNOMED);
    assert_eq!(obs["code"]["coding"][0]["code"], "718466001");
    assert_eq!(obs["valueQuantity"]["value"], 19.25);
    let components = obs["component"].as_array().unwrap();
    assert_eq!(
        components[0]["valueCodeableConcept"]["coding"][0]["code"],
        "exit"
    );
    assert_eq!(components[1]["valueInteger"], 21);
    assert_eq!(
        resource(&b, "Task")["output"][0]["valueReference"]["reference"],
        format!("urn:uuid:{}", obs["id"].as_str().unwrap())
    );
    let b = bundle(
        &r,
        &outcome("WEMWBS", Some(50), None),
        Uuid::from_u128(2),
        at(),
    );
    let obs = resource(&b, "Observation");
    assert_eq!(obs["code"]["coding"][0]["code"], "718426000");
    assert_eq!(obs["valueQuantity"]["value"], 50);
    // An instrument without a SNOMED CT code: Linkway's own code system.
    let b = bundle(&r, &outcome("ONS4", None, None), Uuid::from_u128(3), at());
    let obs = resource(&b, "Observation");
    assert_eq!(
        obs["code"]["coding"][0]["system"],
        format!("{LINKWAY_SYSTEMS}/outcome-instrument")
    );
    assert_eq!(obs["code"]["coding"][0]["code"], "ons4");
    assert!(obs.get("valueQuantity").is_none());
}

#[test]
fn codes_only_sends_no_personal_string_but_the_nhs_number() {
    for update in every_update() {
        let b = bundle(&referral(false), &update, Uuid::from_u128(5), at()).to_string();
        for s in [GIVEN, FAMILY, BIRTH, MATTERS, GOAL] {
            assert!(!b.contains(s), "{} carries {s}", update.kind());
        }
        assert!(
            b.contains(NHS),
            "the NHS number files the codes in the right record"
        );
    }
}

#[test]
fn with_consent_the_person_and_the_plan_in_their_words_go_back() {
    let plan = &every_update()[3];
    let b = bundle(&referral(true), plan, Uuid::from_u128(5), at());
    let patient = resource(&b, "Patient");
    assert_eq!(patient["name"][0]["family"], FAMILY);
    assert_eq!(patient["birthDate"], BIRTH);
    let text = b.to_string();
    assert!(text.contains(MATTERS) && text.contains(GOAL));
}

#[test]
fn an_erased_person_is_not_in_any_message() {
    let mut r = referral(true);
    r.erased = true;
    for update in every_update() {
        let b = bundle(&r, &update, Uuid::from_u128(5), at()).to_string();
        for s in [GIVEN, FAMILY, BIRTH, MATTERS, GOAL, NHS] {
            assert!(!b.contains(s), "{} carries {s}", update.kind());
        }
    }
}

#[test]
fn only_the_updates_a_referrer_is_told_of_are_messages() {
    let event =
        |t: &str, data: Value| Event::decode(t, 1, data).unwrap_or_else(|e| panic!("{t}: {e}"));
    let rid = Uuid::from_u128(7).to_string();
    let attempt = |gave_up: bool| {
        event(
            "case.contact_attempted",
            json!({"referral_id": rid, "channel": "phone", "attempt_number": 3, "could_not_contact": gave_up}),
        )
    };
    assert_eq!(
        Update::of(&attempt(true)),
        Some(Update::CouldNotContact { attempts: 3 })
    );
    assert_eq!(Update::of(&attempt(false)), None);
    let assigned = event(
        "case.assigned",
        json!({"referral_id": rid, "link_worker_id": "lw-7"}),
    );
    assert_eq!(Update::of(&assigned), None);
}
