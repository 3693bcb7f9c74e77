use super::*;

#[tokio::test]
async fn a_case_goes_from_routed_to_closed_through_every_step() {
    let s = Service::start().await;
    let lw = s.token(NORTH, Role::LinkWorker).await;
    let manager = s.token(NORTH, Role::ServiceManager).await;
    s.ok(&manager, "/directory/import", fixture("service_full.json"))
        .await;
    let (id, _) = s.refer(NORTH, "Cy").await;
    let path = |p: &str| format!("/cases/{id}{p}");

    let a = s.ok(&lw, &path("/accept"), json!({})).await;
    assert_eq!(
        (a["state"].as_str(), a["event_type"].as_str()),
        (Some("accepted"), Some("case.accepted"))
    );
    let a = s
        .ok(
            &manager,
            &path("/assignment"),
            json!({"link_worker_id": "link_worker-user"}),
        )
        .await;
    assert_eq!(a["state"], "assigned");
    let a = s
        .ok(
            &lw,
            &path("/contacts"),
            json!({"kind": "attempt", "channel": "phone"}),
        )
        .await;
    assert_eq!(a["event_type"], "case.contact_attempted");
    let a = s
        .ok(
            &lw,
            &path("/contacts"),
            json!({"kind": "made", "channel": "home_visit", "minutes": 45, "notes": "Met at home"}),
        )
        .await;
    assert_eq!(a["state"], "engaged");
    let a = s
        .ok(&lw, &path("/outcomes"), json!({"instrument": "swemwbs", "timepoint": "baseline", "item_answers": [3, 3, 3, 3, 3, 3, 3]}))
        .await;
    assert_eq!(a["event_type"], "case.outcome_recorded");
    let a = s.ok(&lw, &path("/plan"), plan_body(42)).await;
    assert_eq!(a["state"], "plan_agreed");
    let a = s
        .ok(
            &lw,
            &path("/connections"),
            json!({"service_id": "ac148810-d857-441c-9679-408f346de14b", "legal_basis": "explicit_consent", "share": ["name", "phone"]}),
        )
        .await;
    let connection = a["connection_id"]
        .as_str()
        .expect("connection id")
        .to_owned();
    s.ok(
        &lw,
        &path(&format!("/connections/{connection}/responses")),
        json!({"response": "accepted"}),
    )
    .await;
    s.ok(
        &lw,
        &path(&format!("/connections/{connection}/responses")),
        json!({"response": "attended"}),
    )
    .await;
    s.ok(&lw, &path("/plan/reviews"), plan_body(84)).await;
    s.ok(
        &lw,
        &path("/safeguarding"),
        json!({"concern": "Mentioned money going missing"}),
    )
    .await;
    let a = s
        .ok(
            &lw,
            &path("/outcomes"),
            json!({"instrument": "ons4", "timepoint": "exit", "item_answers": [8, 8, 7, 2]}),
        )
        .await;
    let before_close = s.case(&lw, id, seq(&a)).await.1;
    let a = s
        .ok(&lw, &path("/closure"), json!({"reason": "goals_met"}))
        .await;
    assert_eq!(a["state"], "closed");

    assert_eq!(before_close["state"], "plan_agreed");
    assert_eq!(before_close["link_worker_id"], "link_worker-user");
    assert_eq!(before_close["contact_attempts"], 1);
    assert_eq!(before_close["contacts_made"], 1);
    assert_eq!(before_close["contact_minutes"], 45);
    assert_eq!(before_close["contacts"][0]["kind"], "attempt");
    assert_eq!(before_close["contacts"][1]["notes"], "Met at home");
    assert_eq!(before_close["contacts"][1]["channel"], "home_visit");
    assert_eq!(
        before_close["safeguarding_concerns"][0]["concern"],
        "Mentioned money going missing"
    );
    assert_eq!(before_close["days_since_last_contact"], 0);
    assert_eq!(before_close["safeguarding"], true);
    assert_eq!(before_close["plan"]["reviews"], 1);
    let review = (OffsetDateTime::now_utc().date() + time::Duration::days(84)).to_string();
    assert_eq!(before_close["next_review_date"], review);
    assert_eq!(before_close["connections"][0]["status"], "attended");
    assert_eq!(
        before_close["connections"][0]["service_name"],
        "Community Counselling"
    );
    assert_eq!(
        before_close["connections"][0]["legal_basis"],
        "explicit_consent"
    );
    assert_eq!(
        before_close["connections"][0]["shared"],
        json!(["name", "phone"])
    );
    let swemwbs = &before_close["outcomes"][0];
    assert_eq!(
        (
            swemwbs["raw_score"].as_u64(),
            swemwbs["derived_score"].as_f64()
        ),
        (Some(21), Some(19.25))
    );
    assert_eq!(swemwbs["instrument_version"], "swemwbs-7-v1");
    assert_eq!(swemwbs["algorithm_version"], 1);
    assert_eq!(
        before_close["outcomes"][1]["item_answers"],
        json!([8, 8, 7, 2])
    );

    // What the service answers is what its OpenAPI document says.
    assert_eq!(
        before_close["swemwbs_change"],
        Value::Null,
        "no later SWEMWBS yet"
    );
    assert_eq!(before_close["review_overdue"], false);
    let doc: Value = s.get(&lw, "/openapi.json").await.1;
    assert_documented(&doc, "CaseDetail", &before_close);
    assert_documented(&doc, "CommandAccepted", &a);
    let mut wrong = before_close.clone();
    wrong["contacts"][0]["channel"] = json!("pigeon");
    wrong["personal"]["person"]["birth_date"] = json!("1 March");
    assert_eq!(
        schema_errors(&doc, "CaseDetail", &wrong).len(),
        2,
        "the check can fail"
    );
    let (_, closed) = s.case(&lw, id, seq(&a)).await;
    assert_eq!(closed["state"], "closed");
    assert_eq!(closed["closure_reason"], "goals_met");
    let types = s.case_events(id).await;
    assert_eq!(
        types,
        [
            "case.accepted",
            "case.assigned",
            "case.contact_attempted",
            "case.contact_made",
            "case.outcome_recorded",
            "case.plan_agreed",
            "case.connection_made",
            "case.connection_accepted",
            "case.connection_attended",
            "case.plan_reviewed",
            "case.safeguarding_raised",
            "case.outcome_recorded",
            "case.closed",
        ]
    );
    // Closed cases leave the open caseload.
    let page = s.caseload(&lw, "", seq(&a)).await;
    assert_eq!(page["total"], 0);
    let page = s.caseload(&lw, "include_closed=true", seq(&a)).await;
    assert_eq!(page["counts_by_state"]["closed"], 1);
    assert_documented(&doc, "CaseloadPage", &page);
    assert_documented(&doc, "CaseDetail", &closed);
    let (_, directory) = s.get(&lw, "/directory").await;
    assert_documented(&doc, "DirectoryPage", &directory);
    let (_, problem) = s
        .post(&lw, &path("/closure"), json!({"reason": "goals_met"}))
        .await;
    assert_documented(&doc, "Problem", &problem);
}

#[tokio::test]
async fn swemwbs_change_from_baseline_to_exit_is_shown_on_the_case() {
    let s = Service::start().await;
    let lw = s.token(NORTH, Role::LinkWorker).await;
    let (id, _) = s.refer(NORTH, "Quin").await;
    engage(&s, &lw, id).await;
    let outcome = |timepoint: &str, answer: u8| json!({"instrument": "swemwbs", "timepoint": timepoint, "item_answers": vec![answer; 7]});
    s.ok(
        &lw,
        &format!("/cases/{id}/outcomes"),
        outcome("baseline", 3),
    )
    .await;
    let a = s
        .ok(&lw, &format!("/cases/{id}/outcomes"), outcome("review", 3))
        .await;
    assert_eq!(
        s.case(&lw, id, seq(&a)).await.1["swemwbs_change"],
        "no_meaningful_change"
    );
    let a = s
        .ok(&lw, &format!("/cases/{id}/outcomes"), outcome("exit", 4))
        .await;
    let (_, case) = s.case(&lw, id, seq(&a)).await;
    // Raw 21 (19.25) at baseline, raw 28 (25.03) at exit.
    assert_eq!(case["outcomes"][2]["derived_score"], 25.03);
    assert_eq!(case["swemwbs_change"], "improved");
}

#[tokio::test]
async fn illegal_steps_are_refused_with_the_rule_and_append_nothing() {
    let s = Service::start().await;
    let lw = s.token(NORTH, Role::LinkWorker).await;
    let (id, _) = s.refer(NORTH, "Di").await;

    // A plan before acceptance.
    let (status, problem) = s
        .post(&lw, &format!("/cases/{id}/plan"), plan_body(30))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    assert_eq!(
        problem["type"],
        "https://linkway.example/problems/illegal-transition"
    );
    assert_eq!(problem["errors"][0]["rule"], "plan_requires_contact_made");
    assert!(s.case_events(id).await.is_empty());

    // An outcome on a declined case.
    s.ok(
        &lw,
        &format!("/cases/{id}/decline"),
        json!({"reason": "person_declined"}),
    )
    .await;
    let (status, problem) = s
        .post(
            &lw,
            &format!("/cases/{id}/outcomes"),
            json!({"instrument": "ucla3", "timepoint": "baseline", "item_answers": [1, 2, 3]}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(
        problem["errors"][0]["rule"],
        "outcome_requires_engaged_case"
    );
    let decline = s.store.load("case", &id.to_string()).await.unwrap();
    assert_eq!(decline.len(), 1);
    let data = &decline[0].decode().unwrap().0.data_value();
    assert_eq!(data["reason_code"]["code"], "871711000000103");

    // Closing twice.
    let (other, _) = s.refer(NORTH, "Ed").await;
    s.ok(&lw, &format!("/cases/{other}/accept"), json!({}))
        .await;
    s.ok(
        &lw,
        &format!("/cases/{other}/closure"),
        json!({"reason": "moved_away"}),
    )
    .await;
    let (status, problem) = s
        .post(
            &lw,
            &format!("/cases/{other}/closure"),
            json!({"reason": "moved_away"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(problem["errors"][0]["rule"], "close_requires_active_case");
    assert_eq!(s.case_events(other).await.len(), 2);
}

#[tokio::test]
async fn invalid_requests_get_422_naming_the_field_and_append_nothing() {
    let s = Service::start().await;
    let lw = s.token(NORTH, Role::LinkWorker).await;
    let (id, _) = s.refer(NORTH, "Flo").await;
    engage(&s, &lw, id).await;
    let before = s.case_events(id).await.len();
    let cases = [
        (
            "/outcomes",
            json!({"instrument": "swemwbs", "timepoint": "baseline", "item_answers": [3, 3, 3]}),
            "item_answers",
            "item_count",
        ),
        (
            "/outcomes",
            json!({"instrument": "ons4", "timepoint": "review", "item_answers": [3, 11, 3, 3]}),
            "item_answers.1",
            "item_range",
        ),
        (
            "/outcomes",
            json!({"instrument": "ons4", "timepoint": "later", "item_answers": [3, 1, 3, 3]}),
            "timepoint",
            "schema",
        ),
        (
            "/contacts",
            json!({"kind": "made", "channel": "phone", "minutes": 0}),
            "minutes",
            "range",
        ),
        (
            "/contacts",
            json!({"kind": "made", "channel": "pigeon", "minutes": 5}),
            "channel",
            "schema",
        ),
        (
            "/outcomes",
            json!({"instrument": "ucla3", "timepoint": "exit", "item_answers": [1, 300, 2]}),
            "item_answers.1",
            "item_range",
        ),
        (
            "/plan",
            json!({"what_matters": "x", "goals": ["a", 5], "actions": [], "review_date": "2099-01-01"}),
            "goals.1",
            "schema",
        ),
        (
            "/contacts",
            json!({"kind": "made", "channel": "phone", "minutes": 5, "mood": "good"}),
            "mood",
            "schema",
        ),
        (
            "/plan",
            json!({"what_matters": "x", "goals": [], "actions": [], "review_date": "2099-01-01"}),
            "goals",
            "count",
        ),
        (
            "/plan",
            json!({"what_matters": "x", "goals": ["g"], "actions": [], "review_date": "2001-01-01"}),
            "review_date",
            "not_in_past",
        ),
        ("/decline", json!({}), "reason", "schema"),
        (
            "/connections",
            json!({"service_id": "no-such-service", "legal_basis": "explicit_consent", "share": ["name", "phone"]}),
            "service_id",
            "known_service",
        ),
        (
            "/connections",
            json!({"service_id": "no-such-service"}),
            "legal_basis",
            "schema",
        ),
        (
            "/connections",
            json!({"service_id": "x", "legal_basis": "public_task_health_care", "share": ["name", "phone", "name"]}),
            "share.2",
            "unique",
        ),
        (
            "/safeguarding",
            json!({"concern": "  "}),
            "concern",
            "non_empty",
        ),
    ];
    for (path, body, field, rule) in cases {
        let (status, problem) = s
            .post(&lw, &format!("/cases/{id}{path}"), body.clone())
            .await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{path} {body}: {problem}"
        );
        assert_eq!(
            problem["errors"][0]["field"], field,
            "{path} {body}: {problem}"
        );
        assert_eq!(
            problem["errors"][0]["rule"], rule,
            "{path} {body}: {problem}"
        );
    }
    assert_eq!(s.case_events(id).await.len(), before);
}

#[tokio::test]
async fn could_not_contact_after_the_configured_attempts() {
    let env = TestEnv::shared();
    env.register_organisation(NORTH, OrganisationKind::Pcn, None, true)
        .await;
    let ctx = env.context("link-worker").await;
    let policy = linkway_link_worker::case::Policy {
        max_contact_attempts: 2,
        ..Default::default()
    };
    let router = linkway_link_worker::start_with(ctx.clone(), policy)
        .await
        .unwrap();
    let base = linkway_testkit::serve(router, env.shutdown()).await;
    let s = Service {
        store: env.store().await,
        env,
        ctx,
        base,
        http: reqwest::Client::new(),
    };
    let lw = s.token(NORTH, Role::LinkWorker).await;
    let (id, _) = s.refer(NORTH, "Gil").await;
    s.ok(&lw, &format!("/cases/{id}/accept"), json!({})).await;
    s.ok(&lw, &format!("/cases/{id}/assignment"), json!({}))
        .await;
    let attempt = json!({"kind": "attempt", "channel": "phone"});
    let first = s
        .ok(&lw, &format!("/cases/{id}/contacts"), attempt.clone())
        .await;
    assert_eq!(first["state"], "assigned");
    let second = s.ok(&lw, &format!("/cases/{id}/contacts"), attempt).await;
    assert_eq!(second["state"], "could_not_contact");
    let page = s
        .caseload(&lw, "state=could_not_contact", seq(&second))
        .await;
    assert_eq!(page["total"], 1);
    assert_eq!(page["items"][0]["contact_attempts"], 2);
    s.ok(
        &lw,
        &format!("/cases/{id}/closure"),
        json!({"reason": "could_not_contact"}),
    )
    .await;
}

#[tokio::test]
async fn a_retried_command_with_the_same_idempotency_key_appends_once() {
    let s = Service::start().await;
    let lw = s.token(NORTH, Role::LinkWorker).await;
    let (id, _) = s.refer(NORTH, "Hal").await;
    let path = format!("/cases/{id}/accept");
    let (s1, a1) = s.post_with(&lw, &path, json!({}), Some("accept-1")).await;
    let (s2, a2) = s.post_with(&lw, &path, json!({}), Some("accept-1")).await;
    assert_eq!((s1, s2), (StatusCode::OK, StatusCode::OK));
    assert_eq!(a1, a2);
    assert_eq!(s.case_events(id).await, ["case.accepted"]);
    // A key is scoped to the organisation, the operation and the case (as AWS scopes
    // a client token to one API call): the same key sent with another request for the
    // same operation and case is refused, and nothing is appended.
    let close = format!("/cases/{id}/closure");
    let (first, _) = s
        .post_with(&lw, &close, json!({"reason": "goals_met"}), Some("close-1"))
        .await;
    assert_eq!(first, StatusCode::OK);
    let before = s.case_events(id).await;
    let (status, problem) = s
        .post_with(
            &lw,
            &close,
            json!({"reason": "moved_away"}),
            Some("close-1"),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(
        problem["type"], "https://linkway.example/problems/idempotency-key-reused",
        "{problem}"
    );
    assert_eq!(s.case_events(id).await, before);
    // On another case the same key is another command.
    let (other, _) = s.refer(NORTH, "Hew").await;
    let (status, _) = s
        .post_with(
            &lw,
            &format!("/cases/{other}/accept"),
            json!({}),
            Some("accept-1"),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(s.case_events(other).await, ["case.accepted"]);
}

#[tokio::test]
async fn a_retry_whose_first_answer_was_lost_gets_the_original_answer() {
    let s = Service::start().await;
    let lw = s.token(NORTH, Role::LinkWorker).await;
    let (id, _) = s.refer(NORTH, "Ike").await;
    engage(&s, &lw, id).await;
    let path = format!("/cases/{id}/plan");
    let (status, first) = s.post_with(&lw, &path, plan_body(9), Some("plan-1")).await;
    assert_eq!(status, StatusCode::OK);
    // Answers are not stored anywhere: the retry is answered from the log alone.
    // Deciding again would refuse (the plan exists); the retry is recognised instead.
    let (status, again) = s.post_with(&lw, &path, plan_body(9), Some("plan-1")).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again, first);
    let plans = s
        .case_events(id)
        .await
        .iter()
        .filter(|t| *t == "case.plan_agreed")
        .count();
    assert_eq!(plans, 1);
    // Without the key, the same request is a new (here illegal) command.
    let (status, _) = s.post(&lw, &path, plan_body(9)).await;
    assert_eq!(status, StatusCode::CONFLICT);
}
