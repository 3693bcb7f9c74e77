//! The `openapi` feature: the services' OpenAPI documents describe the events' own types,
//! so each `ToSchema` must say what the event schemas in `schemas/` say: the same name the
//! services' documents always used, the same enum values, the same fields, the same
//! required fields.

use std::collections::BTreeSet;

use utoipa::ToSchema;

use super::*;
use crate::case::SharedDetail;

/// The OpenAPI schema of `T` as JSON, and its name.
fn openapi<T: ToSchema>() -> (String, Value) {
    let schema = serde_json::to_value(T::schema()).expect("schema serialises");
    (T::name().into_owned(), schema)
}

fn strings(value: &Value) -> BTreeSet<String> {
    value
        .as_array()
        .into_iter()
        .flatten()
        .map(|v| v.as_str().expect("a string").to_owned())
        .collect()
}

/// Compares `T`'s OpenAPI schema with the node at `pointer` in an event's JSON Schema.
#[track_caller]
fn same_contract<T: ToSchema>(name: &str, event: (&str, u32), pointer: &str) {
    let (actual_name, schema) = openapi::<T>();
    assert_eq!(actual_name, name, "the name the OpenAPI documents use");
    let file = read_json(&event_schema_path(event.0, event.1));
    let node = resolved(
        &file,
        file.pointer(pointer).expect("pointer into the schema"),
    );
    if let Some(values) = node.get("enum") {
        assert_eq!(
            strings(&schema["enum"]),
            strings(values),
            "{name}: enum values"
        );
        return;
    }
    let properties = |s: &Value| -> BTreeSet<String> {
        s["properties"]
            .as_object()
            .expect("properties")
            .keys()
            .cloned()
            .collect()
    };
    assert_eq!(properties(&schema), properties(node), "{name}: fields");
    assert_eq!(
        strings(&schema["required"]),
        strings(&node["required"]),
        "{name}: required fields"
    );
}

#[test]
fn payload_types_have_schemas_that_match_the_event_schemas() {
    let received = ("referral.received", 3);
    same_contract::<SourceChannel>("SourceChannel", received, "/properties/source_channel");
    same_contract::<Urgency>("Urgency", received, "/properties/urgency");
    same_contract::<LegalBasis>("LegalBasis", received, "/properties/legal_basis");
    same_contract::<Consent>("Consent", received, "/properties/consent");
    same_contract::<Practitioner>("Practitioner", received, "/properties/practitioner");
    same_contract::<Coding>("Coding", received, "/$defs/coding");
    same_contract::<ReferralPersonal>("ReferralPersonal", received, "/properties/personal");
    same_contract::<Person>("Person", received, "/$defs/person");
    same_contract::<Address>("Address", received, "/$defs/person/properties/address");
    same_contract::<ContactMethod>(
        "ContactMethod",
        received,
        "/$defs/person/properties/preferred_contact_method",
    );
    same_contract::<DeclineReason>("DeclineReason", ("case.declined", 1), "/properties/reason");
    same_contract::<ContactChannel>(
        "ContactChannel",
        ("case.contact_made", 1),
        "/properties/channel",
    );
    same_contract::<ContactPersonal>(
        "ContactPersonal",
        ("case.contact_made", 1),
        "/properties/personal",
    );
    same_contract::<PlanPersonal>(
        "PlanPersonal",
        ("case.plan_agreed", 1),
        "/properties/personal",
    );
    same_contract::<Timepoint>(
        "Timepoint",
        ("case.outcome_recorded", 2),
        "/properties/timepoint",
    );
    same_contract::<ClosureReason>("ClosureReason", ("case.closed", 1), "/properties/reason");
    same_contract::<SharedDetail>(
        "SharedDetail",
        ("case.connection_made", 2),
        "/properties/shared/items",
    );
}

#[test]
fn dates_are_dates_and_nested_types_are_references() {
    let (_, person) = openapi::<Person>();
    assert_eq!(person["properties"]["birth_date"]["type"], "string");
    assert_eq!(person["properties"]["birth_date"]["format"], "date");
    let address = person["properties"]["address"].to_string();
    assert!(
        address.contains("#/components/schemas/Address"),
        "{address}"
    );
    let (_, personal) = openapi::<ReferralPersonal>();
    assert!(
        personal["properties"]["person"]
            .to_string()
            .contains("#/components/schemas/Person")
    );
    // The description comes from the type's doc comment.
    let (_, decline) = openapi::<DeclineReason>();
    assert!(
        decline["description"]
            .as_str()
            .is_some_and(|d| d.contains("871711000000103")),
        "{decline}"
    );
}
