//! Updates back to FHIR referrers on the real binary: `linkway serve` (every service) over
//! the harness's nats-server and PostgreSQL, and a real HTTP receiver started here that
//! can fail (500), time out (answers after the sender gave up) and answer slowly.
//!
//! - A FHIR referral's journey (accept, plan, outcome, close, driven through
//!   link-worker's API) reaches the referrer's endpoint as those four messages, in that
//!   order, each exactly once after deduplication by message id, though the receiver
//!   failed and timed out for part of it; the person did not agree to share details, so no
//!   body holds their name, contact details, date of birth or words.
//! - A message the receiver never takes is dead after the last attempt, listed with its
//!   delivery log for administrators, and delivered once retried; a dead message whose
//!   person is then erased is `erased`, never sent, and no body of theirs stays.
//! - A person the service could not reach (its limit of attempts, no contact made) goes
//!   back as a `failed` Task coded `could_not_contact` with the number of attempts, the
//!   ServiceRequest `revoked`, and nothing of the person.

#[path = "outbox/support.rs"]
mod support;

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;
use uuid::Uuid;

use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fhir_referrals_journey_goes_back_in_order_once_each_in_codes_only_despite_a_failing_receiver()
 {
    let (_env, lw, [gp, worker, admin]) = start(50).await;
    // At first nothing listens at the endpoint (connections refused).
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let endpoint = format!("http://{addr}/fhir/replies");
    let c = Client(reqwest::Client::new());
    let id = send_fhir(&lw, &gp, &endpoint, false).await;
    let case = c.case_arrived(&lw, &worker, &id).await;
    // The receiver is down (500s) while the referral is accepted and the plan agreed.
    for (path, body) in [
        ("accept", json!({})),
        ("assignment", json!({"link_worker_id": "lw-1"})),
        (
            "contacts",
            json!({"kind": "made", "channel": "phone", "minutes": 20, "notes": SECRETS[6]}),
        ),
        (
            "plan",
            json!({"what_matters": SECRETS[6], "goals": ["Join a choir"], "actions": [], "review_date": "2099-01-01"}),
        ),
    ] {
        c.ok("POST", &format!("{case}/{path}"), &worker, Some(body))
            .await;
    }
    // Refused until the receiver starts: then it answers 500 for a while.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let (receiver, _) = Receiver::start_on(&addr.to_string()).await;
    wait_until("three failed attempts", 20, || receiver.received() >= 3).await;
    // Then it answers only after the sender gave up (1 s): the sender tries again, and the
    // receiver has the message twice.
    receiver.set(Mode::Sleep(Duration::from_millis(1500)));
    let before = receiver.received();
    wait_until("an attempt that times out", 20, || {
        receiver.received() >= before + 2
    })
    .await;
    // Then slowly, but in time.
    receiver.set(Mode::Sleep(Duration::from_millis(300)));
    for (path, body) in [
        (
            "outcomes",
            json!({"instrument": "swemwbs", "timepoint": "baseline", "item_answers": [3, 3, 3, 3, 3, 3, 3]}),
        ),
        ("closure", json!({"reason": "goals_met"})),
    ] {
        c.ok("POST", &format!("{case}/{path}"), &worker, Some(body))
            .await;
    }
    wait_until("four messages", 60, || receiver.deduplicated().len() >= 4).await;
    let outbound = format!("{}/admin/outbound", lw.url("intake"));
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let delivered = c
            .ok("GET", &format!("{outbound}?state=delivered"), &admin, None)
            .await;
        if delivered["total"] == 4 {
            let log = &delivered["items"][3]["delivery_log"];
            assert!(
                log.as_array().unwrap().len() >= 3,
                "the first one failed first: {log}"
            );
            assert!(
                log.as_array()
                    .unwrap()
                    .iter()
                    .any(|a| a["error_kind"] == "timeout"),
                "{log}"
            );
            assert!(
                log.as_array()
                    .unwrap()
                    .iter()
                    .any(|a| a["status_code"] == 500),
                "{log}"
            );
            assert!(
                log.as_array()
                    .unwrap()
                    .iter()
                    .any(|a| a["error_kind"] == "connect"),
                "{log}"
            );
            break;
        }
        assert!(Instant::now() < deadline, "not all delivered: {delivered}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await; // nothing more arrives
    let kinds = receiver.kinds();
    assert_eq!(
        kinds,
        ["accepted", "plan_agreed", "outcome_recorded", "closed"]
    );
    let seen = receiver.seen.lock().unwrap();
    assert!(
        seen.bodies.len() > 4,
        "the receiver failed some: {}",
        seen.bodies.len()
    );
    for body in &seen.bodies {
        for s in SECRETS {
            assert!(!body.contains(s), "codes only, yet a body holds {s:?}");
        }
        assert!(
            body.contains("9434765919"),
            "the NHS number files the codes"
        );
    }
    let outcome = seen
        .bodies
        .iter()
        .find(|b| b.contains("\"Observation\""))
        .expect("the outcome measure");
    assert!(outcome.contains("718466001"), "SWEMWBS's SNOMED CT code");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_never_taken_is_dead_listed_for_administrators_and_delivered_once_retried() {
    let (env, lw, [gp, worker, admin]) = start(2).await;
    let (receiver, endpoint) = Receiver::start().await;
    let c = Client(reqwest::Client::new());
    let id = send_fhir(&lw, &gp, &endpoint, true).await;
    let case = c.case_arrived(&lw, &worker, &id).await;
    c.ok(
        "POST",
        &format!("{case}/decline"),
        &worker,
        Some(json!({"reason": "person_declined"})),
    )
    .await;
    let outbound = format!("{}/admin/outbound", lw.url("intake"));
    let deadline = Instant::now() + Duration::from_secs(30);
    let dead = loop {
        let dead = c
            .ok("GET", &format!("{outbound}?state=dead"), &admin, None)
            .await;
        if dead["total"] == 1 {
            break dead["items"][0].clone();
        }
        assert!(Instant::now() < deadline, "not dead: {dead}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(dead["kind"], "declined");
    assert_eq!(dead["referral_id"], id.as_str());
    assert_eq!(dead["attempts"], 2);
    assert_eq!(dead["last_error"], "http_500");
    let log = dead["delivery_log"].as_array().unwrap();
    assert_eq!(log.len(), 2);
    assert!(
        log.iter()
            .all(|a| a["status_code"] == 500 && a["duration_ms"].is_number())
    );
    assert!(
        !dead.to_string().contains(SECRETS[1]),
        "no body in the list"
    );
    assert_eq!(receiver.received(), 2);

    // Only administrators; a state that is not one is 422 naming it.
    let (status, _) = c.call("GET", &outbound, &gp, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, problem) = c
        .call("GET", &format!("{outbound}?state=lost"), &admin, None)
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem["errors"][0]["field"], "state", "{problem}");

    receiver.set(Mode::Sleep(Duration::ZERO));
    let message = dead["message_id"].as_str().unwrap();
    let retry = format!("{outbound}/{message}/retry");
    let (status, _) = c.call("POST", &retry, &gp, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    c.ok("POST", &retry, &admin, None).await;
    wait_until("delivered after the retry", 20, || {
        receiver.seen.lock().unwrap().answered == 1
    })
    .await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let delivered = c
            .ok("GET", &format!("{outbound}?state=delivered"), &admin, None)
            .await;
        if delivered["total"] == 1 {
            assert_eq!(delivered["items"][0]["message_id"], message);
            break;
        }
        assert!(Instant::now() < deadline, "not delivered: {delivered}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (status, problem) = c.call("POST", &retry, &admin, None).await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "only a dead message: {problem}"
    );
    let (status, _) = c
        .call(
            "POST",
            &format!("{outbound}/{}/retry", Uuid::new_v4()),
            &admin,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // The person agreed to share details: their name goes back, and the decline's code.
    let body = receiver
        .seen
        .lock()
        .unwrap()
        .bodies
        .last()
        .cloned()
        .unwrap();
    assert!(
        body.contains(SECRETS[1]) && body.contains("871711000000103"),
        "{body}"
    );

    // A dead message of a person who is then erased is never sent, and no body is kept.
    receiver.set(Mode::Fail);
    let second = send_fhir(&lw, &gp, &endpoint, true).await;
    let case = c.case_arrived(&lw, &worker, &second).await;
    c.ok("POST", &format!("{case}/accept"), &worker, Some(json!({})))
        .await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while c
        .ok("GET", &format!("{outbound}?state=dead"), &admin, None)
        .await["total"]
        != 1
    {
        assert!(Instant::now() < deadline, "the second message is not dead");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let erase = format!("{}/referrals/{second}/person/erasure", lw.url("intake"));
    c.ok(
        "POST",
        &erase,
        &admin,
        Some(json!({"reason": "person_asked"})),
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(30);
    let erased = loop {
        let erased = c
            .ok("GET", &format!("{outbound}?state=erased"), &admin, None)
            .await;
        if erased["total"] == 1 {
            break erased["items"][0].clone();
        }
        assert!(Instant::now() < deadline, "not erased: {erased}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(erased["referral_id"], second.as_str());
    let retry = format!(
        "{outbound}/{}/retry",
        erased["message_id"].as_str().unwrap()
    );
    let (status, _) = c.call("POST", &retry, &admin, None).await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "an erased message is never sent"
    );
    let db = env.database("intake").await;
    let client = db.client().await.unwrap();
    let kept: i64 = client
        .query_one(
            "SELECT count(*) FROM outbound_messages WHERE referral_id = $1 AND body IS NOT NULL",
            &[&Uuid::parse_str(&second).unwrap()],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        kept, 0,
        "no body of the erased person's stays in the outbox"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_the_service_could_not_reach_is_reported_back_as_a_failed_task_in_codes_only() {
    let (_env, lw, [gp, worker, _admin]) = start(50).await;
    let (receiver, endpoint) = Receiver::start().await;
    receiver.set(Mode::Sleep(Duration::ZERO));
    let c = Client(reqwest::Client::new());
    let id = send_fhir(&lw, &gp, &endpoint, false).await;
    let case = c.case_arrived(&lw, &worker, &id).await;
    c.ok("POST", &format!("{case}/accept"), &worker, Some(json!({})))
        .await;
    let assignment = json!({"link_worker_id": "lw-1"});
    c.ok(
        "POST",
        &format!("{case}/assignment"),
        &worker,
        Some(assignment),
    )
    .await;
    // The service's limit is 3 attempts (the default): the third gives up.
    for _ in 0..3 {
        let attempt = json!({"kind": "attempt", "channel": "phone"});
        c.ok("POST", &format!("{case}/contacts"), &worker, Some(attempt))
            .await;
    }
    wait_until("two messages", 30, || receiver.deduplicated().len() >= 2).await;
    tokio::time::sleep(Duration::from_millis(500)).await; // nothing more arrives
    let kinds = receiver.kinds();
    assert_eq!(
        kinds,
        ["accepted", "could_not_contact"],
        "the attempts before say nothing"
    );
    let seen = receiver.seen.lock().unwrap();
    let body = seen
        .bodies
        .iter()
        .find(|b| b.contains("\"could_not_contact\""))
        .expect("the could-not-contact message");
    let bundle: serde_json::Value = serde_json::from_str(body).unwrap();
    let resource = |kind: &str| {
        bundle["entry"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| &e["resource"])
            .find(|r| r["resourceType"] == kind)
            .unwrap_or_else(|| panic!("no {kind} in {bundle}"))
            .clone()
    };
    let task = resource("Task");
    assert_eq!(task["status"], "failed", "{task}");
    assert_eq!(
        task["businessStatus"]["coding"][0]["code"], "could_not_contact",
        "{task}"
    );
    let output = &task["output"][0];
    assert_eq!(
        output["type"]["coding"][0]["code"], "contact-attempts",
        "{task}"
    );
    assert_eq!(output["valueInteger"], 3, "{task}");
    assert_eq!(resource("ServiceRequest")["status"], "revoked");
    for s in SECRETS {
        assert!(!body.contains(s), "codes only, yet the body holds {s:?}");
    }
}
