//! The contract holds to the document it modifies: every field it names exists, and what it
//! says is what validation does.

use serde_json::Value;

use super::*;

fn document() -> Value {
    serde_json::to_value(crate::openapi()).unwrap()
}

#[test]
fn every_text_field_and_choice_named_is_in_the_document_with_its_rule() {
    let doc = document();
    let schemas = &doc["components"]["schemas"];
    for (schema, property, rule) in TEXTS {
        let p = &schemas[*schema]["properties"][*property];
        assert_eq!(p["maxLength"], rule.max_chars, "{schema}.{property}");
        let pattern = p["pattern"].as_str().unwrap();
        assert!(
            pattern.ends_with(&rule.pattern()[1..]) || format_of(property).is_some(),
            "{schema}.{property}"
        );
    }
    for (schema, property, options) in choices() {
        let values = schemas[schema]["properties"][property]["enum"]
            .as_array()
            .unwrap();
        assert!(options.iter().all(|o| values.contains(&Value::from(*o))));
    }
    assert_eq!(
        schemas["AddressInput"]["properties"]["postcode"]["pattern"],
        Value::from(format("postcode").unwrap())
    );
    assert_eq!(
        schemas["AddressInput"]["properties"]["lines"]["items"]["maxLength"],
        ADDRESS_LINE.max_chars
    );
}

#[test]
fn a_required_field_is_not_nullable_and_an_optional_one_is() {
    let doc = document();
    let schemas = &doc["components"]["schemas"];
    let request = &schemas["ReferralRequest"]["properties"];
    assert_eq!(
        request["person"]["$ref"],
        "#/components/schemas/PersonInput"
    );
    assert!(
        !request["urgency"]["enum"]
            .as_array()
            .unwrap()
            .contains(&Value::Null)
    );
    let reason = &schemas["ReasonRequest"]["properties"]["reason"];
    assert_eq!(reason["type"], "string", "{reason}");
    assert_eq!(reason["minLength"], 1);
    let given = &schemas["PersonInput"]["properties"]["given_name"];
    assert_eq!(given["type"], "string", "{given}");
    let email = &schemas["PersonInput"]["properties"]["email"];
    assert!(
        email["type"]
            .as_array()
            .unwrap()
            .contains(&Value::from("null"))
    );
}

#[test]
fn query_and_header_parameters_carry_the_bounds_the_handlers_check() {
    let doc = document();
    let params = doc["paths"]["/referrals"]["get"]["parameters"]
        .as_array()
        .unwrap();
    let find = |n: &str| params.iter().find(|p| p["name"] == n).unwrap()["schema"].clone();
    assert_eq!(
        (
            find("limit")["minimum"].clone(),
            find("limit")["maximum"].clone()
        ),
        (1.into(), 200.into())
    );
    assert_eq!(find("offset")["minimum"], 0);
    assert!(
        find("status")["enum"]
            .as_array()
            .unwrap()
            .contains(&Value::from("routed"))
    );
    let submit = doc["paths"]["/referrals"]["post"]["parameters"]
        .as_array()
        .unwrap();
    let key = submit
        .iter()
        .find(|p| p["name"] == "Idempotency-Key")
        .unwrap();
    assert_eq!(key["schema"]["maxLength"], 255);
}

#[test]
fn the_fhir_message_is_documented_with_its_header_first() {
    let doc = document();
    let schema = &doc["paths"]["/fhir/$process-message"]["post"]["requestBody"]["content"]["application/fhir+json"]
        ["schema"];
    assert_eq!(schema["properties"]["type"]["enum"][0], "message");
    let entry = &schema["properties"]["entry"];
    assert_eq!(entry["minItems"], 1);
    assert_eq!(
        entry["prefixItems"][0]["properties"]["resource"]["properties"]["resourceType"]["enum"][0],
        "MessageHeader",
        "{entry}"
    );
}
