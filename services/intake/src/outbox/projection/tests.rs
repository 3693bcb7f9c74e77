use super::*;
use linkway_events::Envelope;
use serde_json::json;

fn projected(sequence: u64, t: &str, version: u32, data: serde_json::Value) -> Projected {
    let event = Event::decode(t, version, data.clone()).unwrap_or_else(|e| panic!("{t}: {e}"));
    let envelope: Envelope = serde_json::from_value(json!({
        "event_id": Uuid::from_u128(u128::from(sequence)),
        "type": t, "version": version, "aggregate_id": "x",
        "occurred_at": "2030-01-01T10:00:00Z", "recorded_at": "2030-01-01T10:00:00Z",
        "actor": {"organisation_id": "lw-1", "role": "link_worker"},
        "correlation_id": Uuid::nil(), "data": data,
    }))
    .expect("an envelope");
    Projected {
        sequence,
        envelope,
        event,
    }
}

fn received(reply_to: Option<&str>, channel: &str) -> serde_json::Value {
    let mut data: serde_json::Value = serde_json::from_str(include_str!(
        "../../../../../schemas/examples/referral.received.v3.json"
    ))
    .map(|e: serde_json::Value| e["data"].clone())
    .expect("the example");
    data["reply_to"] = json!(reply_to);
    data["source_channel"] = json!(channel);
    data
}

#[test]
fn a_fhir_referral_with_an_endpoint_gets_a_message_per_update_and_others_none() {
    let data = received(Some("https://gp.example/fhir"), "fhir");
    let id: Uuid = serde_json::from_value(data["referral_id"].clone()).unwrap();
    let mut rows = HashMap::new();
    assert_eq!(
        fold(&mut rows, &projected(1, "referral.received", 3, data)),
        (None, None)
    );
    let accepted = projected(
        2,
        "case.accepted",
        1,
        json!({"referral_id": id, "link_worker_organisation_id": "lw-1"}),
    );
    let (m, _) = fold(&mut rows, &accepted);
    let m = m.expect("a message");
    assert_eq!(m.kind, "accepted");
    assert_eq!(m.endpoint, "https://gp.example/fhir");
    assert_eq!(m.message_id, message::message_id(id, Uuid::from_u128(2)));
    // Seen again (a batch retried): nothing more.
    assert_eq!(fold(&mut rows, &accepted), (None, None));
    let (_, erased) = fold(
        &mut rows,
        &projected(
            3,
            "person.erased",
            1,
            json!({"referral_id": id, "reason": "person_asked"}),
        ),
    );
    assert_eq!(erased, Some(id));
    assert!(rows[&id].0.person.is_none());
    let closed = projected(
        4,
        "case.closed",
        1,
        json!({"referral_id": id, "reason": "goals_met"}),
    );
    assert_eq!(
        fold(&mut rows, &closed),
        (None, None),
        "nothing goes back after an erasure"
    );

    let mut rows = HashMap::new();
    let web = received(None, "api");
    let id: Uuid = serde_json::from_value(web["referral_id"].clone()).unwrap();
    fold(&mut rows, &projected(1, "referral.received", 3, web));
    let accepted = projected(
        2,
        "case.accepted",
        1,
        json!({"referral_id": id, "link_worker_organisation_id": "lw-1"}),
    );
    assert_eq!(fold(&mut rows, &accepted), (None, None));
    assert!(rows.is_empty());
}
