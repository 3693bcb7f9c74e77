use super::*;
use linkway_events::case::{CaseEvent, ConnectionMade};

#[tokio::test]
async fn filters_sorting_paging_counts_and_flags() {
    let s = Service::start().await;
    // The timers' clock stands before the 15-day-old connection below, so they leave it
    // pending (no automatic decline) and the read-time overdue flag is what is tested.
    s.env
        .clock
        .set(OffsetDateTime::now_utc() - time::Duration::days(30));
    let lw = s.token(NORTH, Role::LinkWorker).await;
    let now = OffsetDateTime::now_utc();
    let day = time::Duration::days(1);
    let (old, _) = s.refer_at(NORTH, "Old", now - day * 20).await;
    let (mid, _) = s.refer_at(NORTH, "Mid", now - day * 10).await;
    let (new, _) = s.refer_at(NORTH, "New", now - day * 2).await;
    let (gone, _) = s.refer_at(NORTH, "Gone", now - day * 30).await;
    engage(&s, &lw, old).await;
    s.ok(&lw, &format!("/cases/{mid}/accept"), json!({})).await;
    let a = s
        .ok(
            &lw,
            &format!("/cases/{mid}/assignment"),
            json!({"link_worker_id": "someone-else"}),
        )
        .await;
    let last = s.withdraw(gone).await.max(seq(&a));

    // An onward connection nobody answered for 15 days.
    s.ok(&lw, &format!("/cases/{old}/plan"), plan_body(7)).await;
    let case = linkway_link_worker::api::load_case(&s.store, old)
        .await
        .unwrap();
    let made: Event = CaseEvent::ConnectionMade(ConnectionMade {
        referral_id: old,
        connection_id: Uuid::now_v7(),
        service_id: "choir".into(),
        service_name: "Choir".into(),
        service_kind: Some("arts and creativity".into()),
        legal_basis: None,
        shared: vec![],
    })
    .into();
    let env = Envelope::new(
        old.to_string(),
        &made,
        Actor::system(),
        Uuid::now_v7(),
        now - day * 15,
    );
    let last = s
        .store
        .append(
            "case",
            &old.to_string(),
            Expected::LastSequence(case.last_case_sequence),
            vec![PendingEvent::new(env)],
        )
        .await
        .unwrap()
        .last_sequence()
        .max(last);

    let page = s.caseload(&lw, "", last).await;
    assert_eq!(
        page["total"], 3,
        "the withdrawn referral is not open: {page}"
    );
    let names: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["person_name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["Old Testperson", "Mid Testperson", "New Testperson"],
        "longest waiting first"
    );
    let waits: Vec<i64> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["days_waiting"].as_i64().unwrap())
        .collect();
    assert_eq!(waits, [20, 10, 2]);
    assert_eq!(
        page["counts_by_state"],
        json!({"plan_agreed": 1, "assigned": 1, "routed": 1})
    );
    let first = &page["items"][0];
    assert_eq!(first["connection_overdue"], true);
    assert_eq!(first["days_since_last_contact"], 0);
    assert_eq!(
        first["next_review_date"],
        (now.date() + time::Duration::days(7)).to_string()
    );
    assert_eq!(page["items"][1]["connection_overdue"], false);
    assert_eq!(page["items"][1]["days_since_last_contact"], Value::Null);

    let page = s.caseload(&lw, "descending=true", last).await;
    assert_eq!(page["items"][0]["person_name"], "New Testperson");
    let page = s.caseload(&lw, "limit=1&offset=1", last).await;
    assert_eq!(
        (
            page["total"].as_i64(),
            page["items"].as_array().unwrap().len()
        ),
        (Some(3), 1)
    );
    assert_eq!(page["items"][0]["person_name"], "Mid Testperson");
    let page = s.caseload(&lw, "connection_overdue=true", last).await;
    assert_eq!(page["total"], 1);
    assert_eq!(page["items"][0]["referral_id"], old.to_string());
    let page = s.caseload(&lw, "connection_overdue=false", last).await;
    assert_eq!(page["total"], 2);
    let page = s.caseload(&lw, "", last).await;
    assert_eq!(
        page["counts_by_link_worker"],
        json!({"": 1, "someone-else": 1, "link_worker-user": 1})
    );
    let page = s.caseload(&lw, "state=routed,assigned", last).await;
    assert_eq!(page["total"], 2);
    let page = s.caseload(&lw, "link_worker=someone-else", last).await;
    assert_eq!(page["total"], 1);
    assert_eq!(page["counts_by_state"], json!({"assigned": 1}));
    let page = s.caseload(&lw, "link_worker=me", last).await;
    assert_eq!(page["items"][0]["referral_id"], old.to_string());
    let page = s.caseload(&lw, "sort=last_contact", last).await;
    assert_eq!(
        page["items"][2]["referral_id"],
        old.to_string(),
        "never contacted first"
    );
    let page = s.caseload(&lw, "include_closed=true", last).await;
    assert_eq!(page["counts_by_state"]["withdrawn"], 1);
    // A withdrawn referral takes no more steps (a safeguarding concern still goes through).
    let (status, problem) = s
        .post(&lw, &format!("/cases/{gone}/accept"), json!({}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(problem["errors"][0]["rule"], "accept_requires_routed");
    assert!(
        problem["detail"].as_str().unwrap().contains("withdrawn"),
        "{problem}"
    );
    s.ok(
        &lw,
        &format!("/cases/{gone}/safeguarding"),
        json!({"concern": "Seen at A&E"}),
    )
    .await;
    assert_eq!(
        s.get(&lw, "/caseload?state=lost").await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        s.get(&lw, "/caseload?limit=0").await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let _ = new;
}

#[tokio::test]
async fn caseload_figures_are_identical_after_a_rebuild() {
    let s = Service::start().await;
    let lw = s.token(NORTH, Role::LinkWorker).await;
    let south = s.token(SOUTH, Role::LinkWorker).await;
    let mut last = 0;
    for i in 0..6 {
        let (id, referred) = s
            .refer(if i % 3 == 0 { SOUTH } else { NORTH }, &format!("P{i}"))
            .await;
        last = last.max(referred);
        if i % 3 == 0 {
            continue;
        }
        let made = engage(&s, &lw, id).await;
        last = last.max(made);
        if i % 2 == 0 {
            let a = s.ok(&lw, &format!("/cases/{id}/plan"), plan_body(i)).await;
            last = last.max(seq(&a));
        }
        if i == 5 {
            let a = s
                .ok(
                    &lw,
                    &format!("/cases/{id}/closure"),
                    json!({"reason": "disengaged"}),
                )
                .await;
            last = last.max(seq(&a));
        }
    }
    let query = "include_closed=true&limit=200";
    let before = (
        s.caseload(&lw, query, last).await,
        s.caseload(&south, query, last).await,
    );
    let mut details = Vec::new();
    for item in before.0["items"].as_array().unwrap() {
        details.push(
            s.get(
                &lw,
                &format!("/cases/{}", item["referral_id"].as_str().unwrap()),
            )
            .await
            .1,
        );
    }
    let rebuilt = linkway_link_worker::LinkWorkerService {
        policy: linkway_link_worker::case::Policy::default(),
        directory_feed: None,
        notify: Default::default(),
    }
    .rebuild(&s.ctx, "caseload", &|_, _| {})
    .await
    .unwrap();
    assert!(rebuilt.unwrap() >= last);
    assert_eq!(
        linkway_link_worker::LinkWorkerService {
            policy: linkway_link_worker::case::Policy::default(),
            directory_feed: None,
            notify: Default::default(),
        }
        .rebuild(&s.ctx, "nonsense", &|_, _| {})
        .await
        .unwrap(),
        None
    );
    let after = (
        s.caseload(&lw, query, last).await,
        s.caseload(&south, query, last).await,
    );
    assert_eq!(before, after);
    assert_eq!(before.0["total"], 4);
    for (item, detail) in before.0["items"].as_array().unwrap().iter().zip(details) {
        let again = s
            .get(
                &lw,
                &format!("/cases/{}", item["referral_id"].as_str().unwrap()),
            )
            .await
            .1;
        assert_eq!(detail, again);
    }
}
