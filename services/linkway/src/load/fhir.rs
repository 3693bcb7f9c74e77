//! Referrals as FHIR messages (BaRS-style `$process-message` bundles): intake's own test
//! message, with the person, the needs, the sender and the ids of one JSON referral
//! request (see [`crate::demo::referral_body`]) put in, so both channels carry the same
//! synthetic people.

use linkway_intake::fhir::{EXT_SAFEGUARDING, EXT_SHARE_DETAILS, NHS_NUMBER_SYSTEM, ODS_SYSTEM};
use serde_json::{Value, json};
use uuid::Uuid;

/// A social prescribing referral message, as intake's tests send it.
const MESSAGE: &str =
    include_str!("../../../intake/tests/fixtures/fhir/social-prescribing-referral.json");

fn resource<'a>(bundle: &'a mut Value, kind: &str) -> &'a mut Value {
    let entry = bundle["entry"]
        .as_array_mut()
        .and_then(|entries| {
            entries
                .iter_mut()
                .find(|e| e["resource"]["resourceType"] == kind)
        })
        .unwrap_or_else(|| panic!("intake's test message has a {kind}"));
    &mut entry["resource"]
}

/// The FHIR message for JSON referral request `request`, sent by the organisation whose
/// ODS (or charity) code is `sender_code`; `bundle_id` makes a resend recognisable.
pub fn message(request: &Value, sender_code: &str, bundle_id: Uuid, header_id: Uuid) -> Value {
    let mut bundle: Value = serde_json::from_str(MESSAGE).expect("intake's test message is JSON");
    bundle["id"] = json!(bundle_id.to_string());
    let header = resource(&mut bundle, "MessageHeader");
    header["id"] = json!(header_id.to_string());
    bundle["entry"][0]["fullUrl"] = json!(format!("urn:uuid:{header_id}"));

    let person = &request["person"];
    let lines: Vec<&str> = person["address"]["lines"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let patient = resource(&mut bundle, "Patient");
    patient["identifier"][0]["system"] = json!(NHS_NUMBER_SYSTEM);
    patient["identifier"][0]["value"] = person["nhs_number"].clone();
    patient["name"] = json!([{
        "use": "official",
        "family": person["family_name"],
        "given": [person["given_name"]],
    }]);
    patient["birthDate"] = person["birth_date"].clone();
    patient["telecom"] =
        json!([{"system": "phone", "value": person["phone"], "use": "mobile", "rank": 1}]);
    patient["address"] = json!([{
        "use": "home",
        "line": lines.first().map_or(vec![], |l| vec![*l]),
        "city": lines.get(1).copied().unwrap_or("Leeds"),
        "postalCode": person["address"]["postcode"],
    }]);

    let needs = &request["needs_and_concerns"];
    let service_request = resource(&mut bundle, "ServiceRequest");
    service_request["reasonCode"] = json!(
        needs["codes"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| json!({"coding": [{"system": "http://snomed.info/sct", "code": c["code"], "display": c["display"]}]}))
            .collect::<Vec<_>>()
    );
    service_request["note"] = json!([{"text": needs["text"]}]);
    service_request["priority"] = request["urgency"].clone();
    service_request["extension"] =
        json!([{"url": EXT_SAFEGUARDING, "valueBoolean": request["safeguarding_concern"]}]);

    let consent = resource(&mut bundle, "Consent");
    consent["extension"] = json!([{
        "url": EXT_SHARE_DETAILS,
        "valueBoolean": request["consent"]["share_details_with_referrer"],
    }]);

    // The sender is the first Organization (the second is the receiver).
    let sender = resource(&mut bundle, "Organization");
    sender["identifier"] = json!([{"system": ODS_SYSTEM, "value": sender_code}]);
    bundle
}

/// The referral id and sequence from an accepting `OperationOutcome`.
pub fn accepted(outcome: &Value) -> Option<(Uuid, u64)> {
    let codings = outcome["issue"][0]["details"]["coding"].as_array()?;
    let code = |suffix: &str| {
        codings
            .iter()
            .find(|c| c["system"].as_str().is_some_and(|s| s.ends_with(suffix)))
            .and_then(|c| c["code"].as_str())
    };
    Some((
        code("/referral-id")?.parse().ok()?,
        code("/event-sequence")?.parse().ok()?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_carries_the_json_requests_person_and_sender() {
        let request = crate::demo::referral_body(3);
        let m = message(&request, "Y12003", Uuid::from_u128(1), Uuid::from_u128(2));
        let text = m.to_string();
        assert!(text.contains(request["person"]["nhs_number"].as_str().unwrap()));
        assert!(text.contains("Y12003"));
        assert!(
            !text.contains("9434765919"),
            "the test message's person is gone"
        );
        assert_eq!(m["id"], Uuid::from_u128(1).to_string());
        let read = linkway_intake::fhir::read_message(&m).expect("intake reads it");
        assert_eq!(read.sender.value, "Y12003");
    }
}
