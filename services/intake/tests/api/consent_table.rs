//! The consent decision table, once for all three channels: each row (permit/deny x
//! active/rejected/inactive/draft x lawful basis known/unknown/missing) sent as JSON, as a
//! FHIR message and as a form to a running intake, with the same outcome in each, and that
//! outcome the one `consent::decide` gives (its own table test is in `src/consent/tests.rs`).

use linkway_events::Event;
use linkway_events::referral::{LegalBasis, ReferralEvent};
use linkway_intake::consent::{self, ConsentRead, ConsentStatus, Provision, Reading, Record};
use linkway_intake::fhir::LEGAL_BASIS_SYSTEM;
use reqwest::StatusCode;
use serde_json::json;

use crate::channels::*;
use crate::support::*;

const STATUSES: [&str; 4] = ["active", "rejected", "inactive", "draft"];
/// `Some(code)` a basis (known or not), `None` none sent.
const BASES: [Option<&str>; 4] = [
    Some("public_task_health_care"),
    Some("vital_interests"),
    Some("legitimate_interests"),
    None,
];

/// What the pure decision says of a row: accepted with `referral_agreed`, or its rules.
fn decided(status: &str, permit: bool, basis: Option<&str>) -> Result<bool, Vec<String>> {
    let read = ConsentRead {
        basis: match basis {
            None => Reading::Absent,
            Some(code) => consent::legal_basis(code).map_or(Reading::Unknown, Reading::Known),
        },
        record: Some(Record {
            status: Reading::Known(ConsentStatus::parse(status).unwrap()),
            provision: Reading::Known(if permit {
                Provision::Permit
            } else {
                Provision::Deny
            }),
            period: Reading::Absent,
            share_details: Reading::Known(true),
        }),
    };
    match consent::decide(&read, today()) {
        Ok((c, _)) => Ok(c.referral_agreed),
        Err(refused) => {
            let mut rules: Vec<String> = refused.iter().map(|r| r.rule.to_owned()).collect();
            rules.sort();
            rules.dedup();
            Err(rules)
        }
    }
}

fn today() -> time::Date {
    time::OffsetDateTime::now_utc().date()
}

/// A channel's outcome in the decision's terms, checking the event when accepted.
async fn seen(intake: &Intake, outcome: &Outcome) -> Result<bool, Vec<String>> {
    if outcome.status != StatusCode::CREATED {
        assert_eq!(
            outcome.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            outcome.body
        );
        return Err(outcome.rules());
    }
    let id = outcome.referral_id().expect("the referral's id");
    let events = intake.events(&id).await;
    let Event::Referral(ReferralEvent::Received(r)) = &events[0].1 else {
        panic!("{events:?}")
    };
    if !r.consent.referral_agreed {
        assert_eq!(r.legal_basis, LegalBasis::VitalInterests);
    }
    Ok(r.consent.referral_agreed)
}

#[tokio::test]
async fn every_row_of_the_consent_table_has_the_same_outcome_through_json_fhir_and_the_form() {
    let (intake, gp) = start().await;
    let mut rows = 0;
    for status in STATUSES {
        for permit in [true, false] {
            for basis in BASES {
                let row = format!(
                    "{status} {} {basis:?}",
                    if permit { "permit" } else { "deny" }
                );
                let expected = decided(status, permit, basis);

                let mut body = referral();
                body["consent"]["status"] = json!(status);
                body["consent"]["referral_agreed"] = json!(permit);
                match basis {
                    Some(code) => body["legal_basis"] = json!(code),
                    None => {
                        body.as_object_mut().unwrap().remove("legal_basis");
                    }
                }
                let json = seen(&intake, &send_json(&intake, &gp, &body).await).await;

                let mut bundle = message();
                let c = resource(&mut bundle, "Consent");
                c["status"] = json!(status);
                c["provision"] = json!({"type": if permit { "permit" } else { "deny" }});
                match basis {
                    Some(code) => {
                        c["policyRule"] =
                            json!({"coding": [{"system": LEGAL_BASIS_SYSTEM, "code": code}]})
                    }
                    None => {
                        c.as_object_mut().unwrap().remove("policyRule");
                    }
                }
                let fhir = seen(&intake, &send_fhir(&intake, &gp, &bundle).await).await;

                let mut posted = form(&gp);
                set(&mut posted, "consent_status", status);
                set(
                    &mut posted,
                    "referral_agreed",
                    if permit { "yes" } else { "no" },
                );
                set(&mut posted, "legal_basis", basis.unwrap_or(""));
                let web = seen(&intake, &send_form(&intake, &posted).await).await;

                assert_eq!(json, expected, "JSON {row}");
                assert_eq!(fhir, expected, "FHIR {row}");
                assert_eq!(web, expected, "form {row}");
                rows += 1;
            }
        }
    }
    assert_eq!(rows, 32);
}
