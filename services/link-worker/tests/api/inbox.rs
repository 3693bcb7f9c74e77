//! The community service's inbox over HTTP: a community service sees and answers the
//! onward referrals sent to the directory services it answers for, with only the details
//! the link worker shared; another community service sees none of it (list, item,
//! answers: the same 404 as a missing connection, nothing appended); an erasure empties
//! the shared details.

use linkway_events::PersonEvent;
use linkway_events::person::{ErasureReason, PersonErased};

use super::*;

/// The directory fixture's service (`service_full.json`).
const SERVICE_ID: &str = "ac148810-d857-441c-9679-408f346de14b";
const WALKING: &str = "walking-cs";
const CHOIR: &str = "choir-cs";

struct Inbox {
    s: Service,
    lw: String,
    own: String,
    other: String,
    id: Uuid,
    connection: String,
    seq: u64,
}

/// A case of NORTH's connected to [`SERVICE_ID`] sharing `share`, with a token of the
/// community service answering for it and of one answering for another service.
async fn connected(share: Value) -> Inbox {
    let s = Service::start().await;
    s.env
        .register_community_service(WALKING, &[SERVICE_ID])
        .await;
    s.env
        .register_community_service(CHOIR, &["another-directory-service"])
        .await;
    let lw = s.token(NORTH, Role::LinkWorker).await;
    let manager = s.token(NORTH, Role::ServiceManager).await;
    let own = s.token(WALKING, Role::CommunityService).await;
    let other = s.token(CHOIR, Role::CommunityService).await;
    s.ok(&manager, "/directory/import", fixture("service_full.json"))
        .await;
    let (id, _) = s.refer(NORTH, "Cy").await;
    engage(&s, &lw, id).await;
    s.ok(&lw, &format!("/cases/{id}/plan"), plan_body(42)).await;
    let made = s
        .ok(
            &lw,
            &format!("/cases/{id}/connections"),
            json!({"service_id": SERVICE_ID, "legal_basis": "explicit_consent", "share": share}),
        )
        .await;
    Inbox {
        connection: made["connection_id"].as_str().expect("id").to_owned(),
        seq: seq(&made),
        s,
        lw,
        own,
        other,
        id,
    }
}

impl Inbox {
    fn item(&self) -> String {
        format!("/inbox/{}/{}", self.id, self.connection)
    }
}

#[tokio::test]
async fn a_community_service_sees_only_what_was_shared_and_another_sees_nothing() {
    let i = connected(json!(["name", "phone"])).await;
    let s = &i.s;
    let (status, page) = s
        .get(&i.own, &format!("/inbox?min_sequence={}", i.seq))
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["total"], 1, "{page}");
    let item = &page["items"][0];
    assert_eq!(item["referral_id"], i.id.to_string());
    assert_eq!(item["status"], "pending");
    assert_eq!(item["legal_basis"], "explicit_consent");
    assert_eq!(item["details"]["name"], "Cy Testperson");
    assert_eq!(item["details"]["phone"], "07700900123");
    let text = page.to_string();
    for unshared in [
        "9434765919",
        "Lonely since moving",
        "Getting out and meeting people",
    ] {
        assert!(!text.contains(unshared), "{unshared} was not shared");
    }
    let doc = serde_json::to_value(linkway_link_worker::openapi()).expect("document");
    assert_documented(&doc, "InboxPage", &page);
    let (status, one) = s
        .get(&i.own, &format!("{}?min_sequence={}", i.item(), i.seq))
        .await;
    assert_eq!(status, StatusCode::OK, "{one}");
    assert_eq!(one["details"]["name"], "Cy Testperson");
    assert_documented(&doc, "InboxItem", &one);
    // Each read is in the audit trail: listInbox and getInboxItem, as the caller.
    let audits: Vec<String> = s
        .store
        .load("audit", WALKING)
        .await
        .expect("load")
        .iter()
        .map(|e| e.decode().expect("decode").1.type_name().to_owned())
        .collect();
    assert_eq!(audits, ["audit.recorded", "audit.recorded"]);

    // Another community service: an empty inbox, and the same 404 as a missing connection.
    let (status, page) = s
        .get(&i.other, &format!("/inbox?min_sequence={}", i.seq))
        .await;
    assert_eq!((status, page["total"].as_i64()), (StatusCode::OK, Some(0)));
    assert!(!page.to_string().contains("Cy"));
    let (status, body) = s.get(&i.other, &i.item()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(!body.to_string().contains("Cy"));
    let missing = format!("/inbox/{}/{}", i.id, Uuid::now_v7());
    assert_eq!(s.get(&i.own, &missing).await.0, StatusCode::NOT_FOUND);
    for (path, body) in [
        ("acceptance", json!({})),
        ("decline", json!({"reason": "no_capacity"})),
        ("attendance", json!({})),
    ] {
        let (status, _) = s
            .post(&i.other, &format!("{}/{path}", i.item()), body)
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
    }
    assert!(
        !s.case_events(i.id)
            .await
            .iter()
            .any(|e| e.starts_with("case.connection_") && e != "case.connection_made"),
        "nothing appended by the other service"
    );
    // A link worker is not a community service.
    assert_eq!(s.get(&i.lw, "/inbox").await.0, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_community_service_answers_through_the_command_path() {
    let i = connected(json!(["name"])).await;
    let s = &i.s;
    // Linkway's own reasons are not a service's.
    let (status, problem) = s
        .post(
            &i.own,
            &format!("{}/decline", i.item()),
            json!({"reason": "no_answer_in_time"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert!(problem.to_string().contains("\"reason\""), "{problem}");
    let path = format!("{}/acceptance", i.item());
    let (status, first) = s
        .post_with(&i.own, &path, json!({}), Some("accept-1"))
        .await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(first["event_type"], "case.connection_accepted");
    assert_eq!(first["status"], "accepted");
    let (_, again) = s
        .post_with(&i.own, &path, json!({}), Some("accept-1"))
        .await;
    assert_eq!(
        again["sequence"], first["sequence"],
        "a retry appends nothing"
    );
    // Filtered by status and paged by the one paging rule.
    let at = seq(&first);
    for (status, total) in [("pending", 0), ("accepted", 1)] {
        let (code, page) = s
            .get(&i.own, &format!("/inbox?status={status}&min_sequence={at}"))
            .await;
        assert_eq!(
            (code, page["total"].as_i64()),
            (StatusCode::OK, Some(total)),
            "{status}"
        );
    }
    for (query, field) in [
        ("limit=0", "limit"),
        ("offset=-1", "offset"),
        ("status=lost", "status"),
    ] {
        let (code, problem) = s.get(&i.own, &format!("/inbox?{query}")).await;
        assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY, "{query}");
        assert!(problem.to_string().contains(field), "{query}: {problem}");
    }
    let (status, refused) = s
        .post(
            &i.own,
            &format!("{}/decline", i.item()),
            json!({"reason": "no_capacity"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(refused.to_string().contains("connection_already_answered"));
    let attended = s
        .ok(&i.own, &format!("{}/attendance", i.item()), json!({}))
        .await;
    assert_eq!(attended["event_type"], "case.connection_attended");
    let events = s.case_events(i.id).await;
    assert_eq!(
        events
            .iter()
            .filter(|e| *e == "case.connection_accepted")
            .count(),
        1
    );
    // The link worker's case and the inbox both say so.
    let (_, case) = s.case(&i.lw, i.id, seq(&attended)).await;
    assert_eq!(case["connections"][0]["status"], "attended");
    let (_, item) = s
        .get(
            &i.own,
            &format!("{}?min_sequence={}", i.item(), seq(&attended)),
        )
        .await;
    assert_eq!(item["status"], "attended");
}

#[tokio::test]
async fn a_decline_carries_its_reason_and_an_erasure_empties_the_shared_details() {
    let i = connected(json!(["name", "phone", "needs", "plan"])).await;
    let s = &i.s;
    let declined = s
        .ok(
            &i.own,
            &format!("{}/decline", i.item()),
            json!({"reason": "not_eligible"}),
        )
        .await;
    let (_, item) = s
        .get(
            &i.own,
            &format!("{}?min_sequence={}", i.item(), seq(&declined)),
        )
        .await;
    assert_eq!(
        (item["status"].as_str(), item["decline_reason"].as_str()),
        (Some("declined"), Some("not_eligible"))
    );
    assert_eq!(
        item["details"]["what_matters"],
        "Getting out and meeting people"
    );
    let erased = Event::from(PersonEvent::Erased(PersonErased {
        referral_id: i.id,
        reason: ErasureReason::PersonAsked,
    }));
    let envelope = Envelope::new(
        i.id.to_string(),
        &erased,
        Actor::system(),
        Uuid::now_v7(),
        OffsetDateTime::now_utc(),
    );
    let at = s
        .store
        .append(
            "person",
            &i.id.to_string(),
            Expected::Any,
            vec![PendingEvent::new(envelope)],
        )
        .await
        .expect("append")
        .last_sequence();
    let (status, item) = s
        .get(&i.own, &format!("{}?min_sequence={at}", i.item()))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(item["details"], json!({}), "{item}");
    assert_eq!(item["ended"], true);
    let (status, _) = s
        .post(&i.own, &format!("{}/attendance", i.item()), json!({}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
}
