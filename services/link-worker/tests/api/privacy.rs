use super::*;

#[tokio::test]
async fn another_service_sees_nothing_of_a_case_and_cannot_act_on_it() {
    let s = Service::start().await;
    let north = s.token(NORTH, Role::LinkWorker).await;
    let south = s.token(SOUTH, Role::ServiceManager).await;
    let referrer = s.token(GP, Role::Referrer).await;
    let (id, seq) = s.refer(NORTH, "Kit").await;
    assert_eq!(s.case(&north, id, seq).await.0, StatusCode::OK);

    let (status, body) = s.case(&south, id, seq).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(!body.to_string().contains("Kit"));
    let (status, _) = s
        .post(&south, &format!("/cases/{id}/accept"), json!({}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(s.case_events(id).await.is_empty());
    assert_eq!(s.caseload(&south, "", seq).await["total"], 0);

    // The referrer learns the status from intake, not from the caseload.
    assert_eq!(s.case(&referrer, id, seq).await.0, StatusCode::FORBIDDEN);
    assert_eq!(s.get(&referrer, "/caseload").await.0, StatusCode::FORBIDDEN);
    assert_eq!(
        s.get("lw_not-a-token", "/caseload").await.0,
        StatusCode::UNAUTHORIZED
    );
    // An unknown case is the same 404.
    assert_eq!(
        s.case(&north, Uuid::now_v7(), seq).await.0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_rerouted_referral_moves_to_the_new_service() {
    let s = Service::start().await;
    let north = s.token(NORTH, Role::LinkWorker).await;
    let south = s.token(SOUTH, Role::LinkWorker).await;
    let (id, _) = s.refer(NORTH, "Lou").await;
    let routed: Event = ReferralEvent::Routed(ReferralRouted {
        referral_id: id,
        link_worker_organisation_id: SOUTH.into(),
        rule_id: None,
    })
    .into();
    let env = Envelope::new(
        id.to_string(),
        &routed,
        Actor::system(),
        Uuid::now_v7(),
        OffsetDateTime::now_utc(),
    );
    let seq = s
        .store
        .append(
            "referral",
            &id.to_string(),
            Expected::Any,
            vec![PendingEvent::new(env)],
        )
        .await
        .unwrap()
        .last_sequence();
    assert_eq!(s.case(&north, id, seq).await.0, StatusCode::NOT_FOUND);
    assert_eq!(
        s.case(&south, id, seq).await.1["person_name"],
        "Lou Testperson"
    );
}
