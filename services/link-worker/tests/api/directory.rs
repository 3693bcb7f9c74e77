use super::*;

#[tokio::test]
async fn the_open_referral_fixtures_import_and_can_be_searched() {
    let s = Service::start().await;
    let manager = s.token(NORTH, Role::ServiceManager).await;
    let lw = s.token(NORTH, Role::LinkWorker).await;
    let a = s
        .ok(&manager, "/directory/import", fixture("service_list.json"))
        .await;
    assert_eq!(a["ids"], json!(["ac148810-d857-441c-9679-408f346de14b"]));
    // The full service is the same one, published in more detail: an upsert, not a duplicate.
    let a = s
        .ok(&manager, "/directory/import", fixture("service_full.json"))
        .await;
    assert_eq!(a["upserted"], 1);
    let walking = json!({"id": "walk-1", "name": "Headingley walking group", "status": "active",
        "url": "https://walk.example", "description": "Gentle walks",
        "service_areas": [{"id": "a", "name": "Leeds"}],
        "attributes": [{"id": "x", "taxonomy_term": {"id": "t1", "name": "Physical activity", "term": "physical activity"}}]});
    s.ok(
        &manager,
        "/directory/import",
        json!({"contents": [walking]}),
    )
    .await;

    let (status, page) = s.get(&lw, "/directory").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["total"], 2);
    let (_, page) = s.get(&lw, "/directory?q=counselling").await;
    assert_eq!(page["items"][0]["name"], "Community Counselling");
    assert_eq!(page["total"], 1);
    let (_, page) = s.get(&lw, "/directory?category=Physical%20activity").await;
    assert_eq!(page["items"][0]["id"], "walk-1");
    let (_, page) = s.get(&lw, "/directory?area=mycity").await;
    assert_eq!(
        page["items"][0]["id"],
        "ac148810-d857-441c-9679-408f346de14b"
    );
    let (_, page) = s.get(&lw, "/directory?area=leeds&q=walk").await;
    assert_eq!(page["total"], 1);
    let (_, page) = s.get(&lw, "/directory?q=100%25").await;
    assert_eq!(page["total"], 0, "% is matched literally");
    // Link workers read the directory; they do not import it.
    assert_eq!(
        s.post(&lw, "/directory/import", fixture("service_full.json"))
            .await
            .0,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn a_large_directory_imports_in_one_request() {
    let s = Service::start().await;
    let manager = s.token(NORTH, Role::ServiceManager).await;
    let description = "A friendly group that meets weekly. ".repeat(10);
    let services: Vec<Value> = (0..8000)
        .map(|i| {
            json!({"id": format!("svc-{i}"), "name": format!("Service {i}"), "status": "active",
            "url": "https://s.example", "description": description})
        })
        .collect();
    let body = json!({"contents": services});
    assert!(
        body.to_string().len() > 3_000_000,
        "bigger than axum's default limit"
    );
    let a = s.ok(&manager, "/directory/import", body).await;
    assert_eq!(a["upserted"], 8000);
    assert_eq!(
        s.get(&manager, "/directory?q=Service%207999").await.1["total"],
        1
    );
}

#[tokio::test]
async fn an_invalid_service_is_refused_with_each_problem_and_nothing_is_imported() {
    let s = Service::start().await;
    let manager = s.token(NORTH, Role::ServiceManager).await;
    let good = fixture("service_full.json");
    let bad = json!({"id": "bad-1", "name": "No status or url"});
    let (status, problem) = s
        .post(
            &manager,
            "/directory/import",
            json!({"contents": [good, bad]}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let errors: Vec<(String, String)> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["field"].as_str().unwrap().to_owned(),
                e["rule"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        errors,
        [
            ("contents.1.status".to_owned(), "required".to_owned()),
            ("contents.1.url".to_owned(), "required".to_owned())
        ]
    );
    let (status, problem) = s
        .post(
            &manager,
            "/directory/import",
            json!({"id": "x", "name": "y", "status": "closed", "url": "https://x.example"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem["errors"][0]["rule"], "status_enum");
    assert_eq!(s.get(&manager, "/directory").await.1["total"], 0);
}

#[tokio::test]
async fn inactive_and_defunct_services_take_no_new_connections() {
    let s = Service::start().await;
    let manager = s.token(NORTH, Role::ServiceManager).await;
    let lw = s.token(NORTH, Role::LinkWorker).await;
    let services: Vec<Value> = ["active", "inactive", "defunct", "temporarily closed"]
        .iter()
        .map(|st| json!({"id": st.replace(' ', "-"), "name": format!("A {st} service"), "status": st, "url": "https://s.example"}))
        .collect();
    s.ok(&manager, "/directory/import", json!({"contents": services}))
        .await;
    let (_, page) = s.get(&lw, "/directory?q=inactive").await;
    assert_eq!(page["items"][0]["accepts_connections"], false);
    let (_, page) = s.get(&lw, "/directory?accepting=true").await;
    assert_eq!(page["total"], 2, "active and temporarily closed");
    let (_, page) = s.get(&lw, "/directory?accepting=false").await;
    let ids: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["defunct", "inactive"]);
    let (id, _) = s.refer(NORTH, "Max").await;
    engage(&s, &lw, id).await;
    s.ok(&lw, &format!("/cases/{id}/plan"), plan_body(10)).await;
    for (service, ok) in [
        ("inactive", false),
        ("defunct", false),
        ("active", true),
        ("temporarily-closed", true),
    ] {
        let (status, problem) = s
            .post(
                &lw,
                &format!("/cases/{id}/connections"),
                json!({"service_id": service, "legal_basis": "explicit_consent", "share": ["name", "phone"]}),
            )
            .await;
        if ok {
            assert_eq!(status, StatusCode::OK, "{service}: {problem}");
        } else {
            assert_eq!(status, StatusCode::CONFLICT, "{service}");
            assert_eq!(
                problem["errors"][0]["rule"],
                "service_not_accepting_connections"
            );
        }
    }
}
