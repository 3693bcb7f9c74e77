//! The audit trail (issue 12): every read of a person's record is an `audit.recorded`
//! event before the record is sent, commands are in the same trail, `listAudit` shows it
//! to IG leads (their organisation's) and administrators (all), and a read that cannot be
//! recorded is refused.

use linkway_testkit::{Nats, Server, shared_postgres};

use super::*;

const OPS: &str = "linkway-ops";

/// `listAudit` once the trail has every event now in the log.
async fn trail(s: &Service, token: &str, query: &str) -> (StatusCode, Value) {
    let end = s.store.last_sequence().await.expect("log end");
    s.get(token, &format!("/audit?min_sequence={end}&{query}"))
        .await
}

/// The entries of a trail answer that are reads (`audit.recorded`).
fn reads(page: &Value) -> Vec<&Value> {
    items(page)
        .into_iter()
        .filter(|e| e["event_type"] == "audit.recorded")
        .collect()
}

fn items(page: &Value) -> Vec<&Value> {
    page["items"].as_array().expect("items").iter().collect()
}

#[tokio::test]
async fn a_case_read_is_one_entry_naming_who_in_which_role_read_whose_record_how() {
    let s = Service::start().await;
    let north = s.token(NORTH, Role::LinkWorker).await;
    let admin = s.token(OPS, Role::Admin).await;
    let (id, seq) = s.refer(NORTH, "Kit").await;
    let (other, _) = s.refer(NORTH, "Lou").await;
    assert_eq!(s.case(&north, id, seq).await.0, StatusCode::OK);

    let (status, page) = trail(&s, &admin, &format!("referral_id={id}")).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_documented(&linkway_link_worker_doc(), "AuditPage", &page);
    let read = reads(&page);
    assert_eq!(read.len(), 1, "one read, one entry: {page:#}");
    let entry = read[0];
    assert_eq!(entry["organisation_id"], NORTH);
    assert_eq!(entry["user_id"], "link_worker-user");
    assert_eq!(entry["role"], "link_worker");
    assert_eq!(entry["operation"], "getCase");
    assert_eq!(entry["referral_id"], id.to_string());
    assert!(entry["reason"].is_null());
    // Nothing of the person in the trail.
    assert!(!page.to_string().contains("Kit"));
    // The other referral was not read.
    let (_, page) = trail(&s, &admin, &format!("referral_id={other}")).await;
    assert!(reads(&page).is_empty(), "{page:#}");

    // A caseload read names each case it showed, in one event.
    let caseload = s.caseload(&north, "", seq).await;
    assert_eq!(caseload["total"], 2);
    let (_, page) = trail(&s, &admin, "user_id=link_worker-user").await;
    let caseload_reads: Vec<&Value> = reads(&page)
        .into_iter()
        .filter(|e| e["operation"] == "getCaseload")
        .collect();
    let mut shown: Vec<&str> = caseload_reads
        .iter()
        .map(|e| e["referral_id"].as_str().unwrap())
        .collect();
    shown.sort_unstable();
    let mut expected = [id.to_string(), other.to_string()];
    expected.sort_unstable();
    assert_eq!(shown, expected);
    assert_eq!(
        caseload_reads[0]["sequence"], caseload_reads[1]["sequence"],
        "one event for the page"
    );
}

#[tokio::test]
async fn commands_on_a_case_are_in_the_same_trail_as_reads() {
    let s = Service::start().await;
    let north = s.token(NORTH, Role::LinkWorker).await;
    let admin = s.token(OPS, Role::Admin).await;
    let (id, _) = s.refer(NORTH, "Kit").await;
    s.ok(&north, &format!("/cases/{id}/accept"), json!({}))
        .await;
    let (status, page) = trail(&s, &admin, &format!("referral_id={id}")).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let seen: Vec<(&str, &str, &str, &str)> = items(&page)
        .iter()
        .map(|e| {
            (
                e["operation"].as_str().unwrap(),
                e["event_type"].as_str().unwrap(),
                e["organisation_id"].as_str().unwrap(),
                e["role"].as_str().unwrap(),
            )
        })
        .collect();
    // Newest first: the link worker's accept, then the referrer's referral.
    assert_eq!(
        seen,
        [
            ("case.accepted", "case.accepted", NORTH, "link_worker"),
            ("referral.routed", "referral.routed", GP, "referrer"),
            ("referral.received", "referral.received", GP, "referrer"),
        ]
    );
    assert_eq!(items(&page)[0]["user_id"], "link_worker-user");
}

#[tokio::test]
async fn list_audit_filters_by_referral_user_and_date() {
    let s = Service::start().await;
    let worker = s.token(NORTH, Role::LinkWorker).await;
    let manager = s.token(NORTH, Role::ServiceManager).await;
    let admin = s.token(OPS, Role::Admin).await;
    let (a, seq) = s.refer(NORTH, "Ada").await;
    let (b, seq_b) = s.refer(NORTH, "Bea").await;
    s.case(&worker, a, seq).await;
    s.case(&manager, b, seq_b).await;
    s.case(&manager, a, seq_b).await;

    let read_pairs = |page: &Value| -> Vec<(String, String)> {
        let mut pairs: Vec<(String, String)> = reads(page)
            .iter()
            .map(|e| {
                (
                    e["referral_id"].as_str().unwrap().to_owned(),
                    e["user_id"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        pairs.sort();
        pairs
    };
    let (worker_id, manager_id) = ("link_worker-user", "service_manager-user");
    let (_, page) = trail(&s, &admin, &format!("referral_id={a}")).await;
    let mut both = vec![
        (a.to_string(), worker_id.to_owned()),
        (a.to_string(), manager_id.to_owned()),
    ];
    both.sort();
    assert_eq!(read_pairs(&page), both);
    let (_, page) = trail(&s, &admin, &format!("user_id={manager_id}")).await;
    let mut managers = vec![
        (a.to_string(), manager_id.to_owned()),
        (b.to_string(), manager_id.to_owned()),
    ];
    managers.sort();
    assert_eq!(read_pairs(&page), managers);
    assert!(
        items(&page).iter().all(|e| e["user_id"] == manager_id),
        "the user filter holds for every entry"
    );
    let (_, page) = trail(&s, &admin, &format!("referral_id={b}&user_id={worker_id}")).await;
    assert_eq!(page["total"], 0, "{page:#}");

    let today = OffsetDateTime::now_utc().date();
    let day = |d: time::Date| d.to_string();
    let (_, page) = trail(
        &s,
        &admin,
        &format!("referral_id={a}&from={}&to={}", day(today), day(today)),
    )
    .await;
    assert_eq!(read_pairs(&page), both, "today's entries, the day included");
    let (yesterday, tomorrow) = (today.previous_day().unwrap(), today.next_day().unwrap());
    for (query, why) in [
        (format!("to={}", day(yesterday)), "nothing before today"),
        (format!("from={}", day(tomorrow)), "nothing from tomorrow"),
    ] {
        let (_, page) = trail(&s, &admin, &format!("referral_id={a}&{query}")).await;
        assert_eq!(page["total"], 0, "{why}: {page:#}");
    }

    // Paging: the platform's rule, one entry a page.
    let (_, page) = trail(&s, &admin, &format!("user_id={manager_id}&limit=1")).await;
    assert_eq!(page["limit"], 1);
    assert_eq!(items(&page).len(), 1);
    // Bad filters are 422 problems naming each parameter and rule.
    let (status, problem) = trail(&s, &admin, "referral_id=x&from=soon&limit=0").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let named: Vec<(&str, &str)> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["field"].as_str().unwrap(), e["rule"].as_str().unwrap()))
        .collect();
    assert_eq!(
        named,
        [
            ("referral_id", "uuid"),
            ("from", "date_time"),
            ("limit", "range")
        ]
    );
}

#[tokio::test]
async fn an_ig_lead_sees_its_own_organisations_trail_and_its_referrals_but_not_anothers() {
    let s = Service::start().await;
    let north = s.token(NORTH, Role::LinkWorker).await;
    let (id, seq) = s.refer(NORTH, "Kit").await;
    s.case(&north, id, seq).await;
    let query = format!("referral_id={id}");

    let south_lead = s.token(SOUTH, Role::IgLead).await;
    let (status, page) = trail(&s, &south_lead, &query).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["total"], 0, "another organisation's: {page:#}");
    let (_, page) = trail(&s, &south_lead, "").await;
    assert_eq!(page["total"], 0, "{page:#}");

    let north_lead = s.token(NORTH, Role::IgLead).await;
    let (_, page) = trail(&s, &north_lead, &query).await;
    assert_eq!(reads(&page).len(), 1, "its own people's reads: {page:#}");
    // The referrer that sent it sees what was done with its referral.
    let gp_lead = s.token(GP, Role::IgLead).await;
    let (_, page) = trail(&s, &gp_lead, &query).await;
    assert_eq!(reads(&page).len(), 1, "{page:#}");
    assert_eq!(reads(&page)[0]["organisation_id"], NORTH);
}

#[tokio::test]
async fn only_ig_leads_and_administrators_may_list_the_audit_trail() {
    let s = Service::start().await;
    for role in [Role::LinkWorker, Role::ServiceManager, Role::Referrer] {
        let token = s.token(NORTH, role).await;
        let response = s
            .http
            .get(format!("{}/audit", s.base))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{role:?}");
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
    }
    // Nothing changes the trail: there is no route that writes it.
    let admin = s.token(OPS, Role::Admin).await;
    for method in [
        reqwest::Method::POST,
        reqwest::Method::PUT,
        reqwest::Method::DELETE,
    ] {
        let status = s
            .http
            .request(method.clone(), format!("{}/audit", s.base))
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{method}");
    }
}

#[tokio::test]
async fn the_trails_table_refuses_updates_deletes_and_truncation() {
    let s = Service::start().await;
    let north = s.token(NORTH, Role::LinkWorker).await;
    let admin = s.token(OPS, Role::Admin).await;
    let (id, seq) = s.refer(NORTH, "Kit").await;
    s.case(&north, id, seq).await;
    let (_, page) = trail(&s, &admin, &format!("referral_id={id}")).await;
    assert_eq!(page["total"], 3);
    let client = s.ctx.db.client().await.unwrap();
    for statement in [
        "UPDATE audit.entries SET operation = 'nothing'",
        "DELETE FROM audit.entries",
        "TRUNCATE audit.entries",
    ] {
        let err = client.batch_execute(statement).await.expect_err(statement);
        assert!(
            format!("{err:?}").contains("append-only"),
            "{statement}: {err:?}"
        );
    }
    let (_, page) = trail(&s, &admin, &format!("referral_id={id}")).await;
    assert_eq!(page["total"], 3, "unchanged");
}

/// With the log unreachable no read can be recorded, so none is answered: 503 with
/// `Retry-After` and nothing of the person; once the log is back, reads are answered.
#[tokio::test]
async fn a_read_that_cannot_be_recorded_is_refused_and_shows_nothing() {
    let nats = Nats::start().expect("private nats-server");
    let s = Service::start_in(TestEnv::on(nats.url(), shared_postgres().url())).await;
    let north = s.token(NORTH, Role::LinkWorker).await;
    let (id, seq) = s.refer(NORTH, "Kit").await;
    assert_eq!(s.case(&north, id, seq).await.0, StatusCode::OK);

    let nats = tokio::task::spawn_blocking(move || {
        nats.stop();
        nats
    })
    .await
    .unwrap();
    for path in [format!("/cases/{id}"), "/caseload".to_owned()] {
        let response = s
            .http
            .get(format!("{}{path}", s.base))
            .bearer_auth(&north)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE, "{path}");
        assert!(response.headers().contains_key("retry-after"), "{path}");
        let body = response.text().await.unwrap();
        assert!(
            !body.contains("Kit") && !body.contains("Testperson"),
            "{path}: {body}"
        );
    }

    let nats = tokio::task::spawn_blocking(move || {
        nats.start_again().expect("nats-server again");
        nats
    })
    .await
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if s.case(&north, id, seq).await.0 == StatusCode::OK {
            break;
        }
        assert!(Instant::now() < deadline, "reads never came back");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    drop(nats);
}

fn linkway_link_worker_doc() -> Value {
    serde_json::to_value(linkway_link_worker::openapi()).expect("document")
}
