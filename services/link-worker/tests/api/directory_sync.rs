//! The directory synced from an Open Referral UK API feed: a real HTTP server of the test's
//! own serves the fixtures' services in pages of two (`GET /api/services?page=N&per_page=2`,
//! the page fields of the fixtures' paginated list). A link-worker process with the feed
//! runs beside one without (the same databases, as a deployment of several processes).
//! A sync writes every page's services; a page answering 500 fails the sync and changes
//! nothing; a service that went defunct or left the feed then takes no new connection,
//! while connections already made go on; one sync runs at a time, and the schedule of two
//! processes syncs once per interval.

use std::sync::{Arc, Mutex};

use axum::extract::{RawQuery, State};
use axum::http::StatusCode as Http;
use linkway_link_worker::directory::feed::Feed;
use tokio::sync::Semaphore;

use super::*;

/// What the test's feed serves, and what it was asked.
#[derive(Default)]
struct Published {
    services: Vec<Value>,
    /// This page answers 500.
    failing: Option<u64>,
    /// Every (page, per_page) asked for, in order.
    asked: Vec<(u64, u64)>,
}

/// The test's Open Referral UK API.
#[derive(Clone)]
struct TestFeed {
    published: Arc<Mutex<Published>>,
    /// When set, each page waits for a permit (so a sync can be held mid-way).
    gate: Arc<Mutex<Option<Arc<Semaphore>>>>,
    base: String,
}

async fn services_page(State(feed): State<TestFeed>, RawQuery(query): RawQuery) -> (Http, String) {
    let param = |name: &str| {
        query
            .as_deref()
            .unwrap_or_default()
            .split('&')
            .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
            .and_then(|v| v.parse::<u64>().ok())
    };
    let (page, per_page) = (param("page").unwrap_or(1), param("per_page").unwrap_or(20));
    feed.published.lock().unwrap().asked.push((page, per_page));
    let gate = feed.gate.lock().unwrap().clone();
    if let Some(gate) = gate {
        gate.acquire().await.unwrap().forget();
    }
    let published = feed.published.lock().unwrap();
    if published.failing == Some(page) {
        return (Http::INTERNAL_SERVER_ERROR, "upstream broke".into());
    }
    let total = published.services.len() as u64;
    let pages = total.div_ceil(per_page).max(1);
    let contents: Vec<&Value> = published
        .services
        .iter()
        .skip(((page - 1) * per_page) as usize)
        .take(per_page as usize)
        .collect();
    let body = json!({
        "total_items": total, "total_pages": pages, "page_number": page,
        "size": contents.len(), "first_page": page == 1, "last_page": page >= pages,
        "empty": total == 0, "contents": contents,
    });
    (Http::OK, body.to_string())
}

impl TestFeed {
    async fn start(env: &TestEnv, services: Vec<Value>) -> TestFeed {
        let mut feed = TestFeed {
            published: Arc::new(Mutex::new(Published {
                services,
                ..Published::default()
            })),
            gate: Arc::default(),
            base: String::new(),
        };
        let router = axum::Router::new()
            .route("/api/services", axum::routing::get(services_page))
            .with_state(feed.clone());
        feed.base = format!(
            "{}/api",
            linkway_testkit::serve(router, env.shutdown()).await
        );
        feed
    }

    fn feed(&self, interval: Option<Duration>) -> Feed {
        Feed::new(&self.base, 2, interval).unwrap()
    }

    fn change(&self, f: impl FnOnce(&mut Published)) {
        f(&mut self.published.lock().unwrap());
    }
}

/// Five services: the fixture's own full service, and four more made from the fixture
/// list's item.
fn published() -> Vec<Value> {
    let item = fixture("service_list.json")["contents"][0].clone();
    let mut services = vec![fixture("service_full.json")];
    for i in 2..=5 {
        let mut s = item.clone();
        s["id"] = json!(format!("feed-service-{i}"));
        s["name"] = json!(format!("Feed service {i}"));
        services.push(s);
    }
    services
}

/// A link-worker process with `feed`, beside the one `Service::start` runs: `s` now
/// talks to it.
async fn with_feed(feed: Feed) -> Service {
    let mut s = Service::start().await;
    s.base = feed_process(&s, feed).await;
    s
}

async fn feed_process(s: &Service, feed: Feed) -> String {
    let service = linkway_link_worker::LinkWorkerService {
        policy: linkway_link_worker::case::Policy::default(),
        directory_feed: Some(feed),
        notify: Default::default(),
    };
    let router = linkway_platform::service::router(&service, &s.ctx)
        .await
        .expect("a second link-worker process");
    linkway_testkit::serve(router, s.env.shutdown()).await
}

/// The service's own OpenAPI document, which every answer here must meet.
fn doc() -> Value {
    serde_json::to_value(linkway_link_worker::openapi()).unwrap()
}

async fn sync(s: &Service, token: &str) -> Value {
    let (status, done) = s.post(token, "/directory/sync", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_documented(&doc(), "DirectorySync", &done);
    done
}

fn counts(done: &Value) -> (&str, i64, i64, i64, i64) {
    let n = |k: &str| done[k].as_i64().unwrap();
    let outcome = done["outcome"].as_str().unwrap();
    (outcome, n("pages"), n("added"), n("updated"), n("removed"))
}

async fn accepting(s: &Service, token: &str, id: &str) -> bool {
    let (_, page) = s.get(token, "/directory?limit=200").await;
    let items = page["items"].as_array().unwrap();
    let item = items.iter().find(|i| i["id"] == id).expect("listed");
    item["accepts_connections"].as_bool().unwrap()
}

#[tokio::test]
async fn a_feed_syncs_page_by_page_all_or_nothing_and_gone_services_take_no_new_connections() {
    let env = TestEnv::shared();
    let feed = TestFeed::start(&env, published()).await;
    let s = with_feed(feed.feed(None)).await;
    let manager = s.token(NORTH, Role::ServiceManager).await;
    let lw = s.token(NORTH, Role::LinkWorker).await;

    let (status, before) = s.get(&lw, "/directory/sync").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(before["feed"], json!(feed.base));
    assert_eq!(before["last"], Value::Null);
    assert_eq!(before["interval_secs"], Value::Null);
    // Link workers read the feed's state; they do not sync it.
    let (status, _) = s.post(&lw, "/directory/sync", json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let done = sync(&s, &manager).await;
    assert_eq!(counts(&done), ("succeeded", 3, 5, 0, 0), "{done}");
    assert_eq!(done["trigger"], "on_demand");
    assert!(done["finished_at"].is_string());
    let asked = feed.published.lock().unwrap().asked.clone();
    assert_eq!(asked, [(1, 2), (2, 2), (3, 2)]);
    let (_, page) = s.get(&lw, "/directory").await;
    assert_eq!(page["total"], 5);
    let (_, page) = s.get(&lw, "/directory?area=mycity").await;
    assert_eq!(
        page["items"][0]["id"],
        "ac148810-d857-441c-9679-408f346de14b"
    );
    // Nothing changed at the feed: nothing is updated.
    assert_eq!(counts(&sync(&s, &manager).await), ("succeeded", 3, 0, 0, 0));

    // A case connected to service 5 while the feed still lists it.
    let (id, _) = s.refer(NORTH, "Max").await;
    engage(&s, &lw, id).await;
    s.ok(&lw, &format!("/cases/{id}/plan"), plan_body(10)).await;
    let connect = |service: &str| json!({"service_id": service, "legal_basis": "explicit_consent", "share": ["name"]});
    let made = s
        .ok(
            &lw,
            &format!("/cases/{id}/connections"),
            connect("feed-service-5"),
        )
        .await;
    let connection = made["connection_id"].as_str().unwrap().to_owned();

    // Service 2 goes defunct, 3 is renamed, 5 leaves the feed; and page 2 breaks.
    feed.change(|p| {
        p.services[1]["status"] = json!("defunct");
        p.services[2]["name"] = json!("Feed service 3, renamed");
        p.services.pop();
        p.failing = Some(2);
    });
    let failed = sync(&s, &manager).await;
    assert_eq!(counts(&failed), ("failed", 2, 0, 0, 0), "{failed}");
    let error = failed["error"].as_str().unwrap();
    assert!(error.contains("page 2") && error.contains("500"), "{error}");
    let (_, status) = s.get(&lw, "/directory/sync").await;
    assert_documented(&doc(), "DirectoryFeedStatus", &status);
    assert_eq!(status["last"]["outcome"], "failed");
    assert_eq!(status["last"]["sync_id"], failed["sync_id"]);
    // All or nothing: page 1's change (service 2 defunct) was not written either.
    assert!(accepting(&s, &lw, "feed-service-2").await);
    assert!(accepting(&s, &lw, "feed-service-5").await);
    let (_, page) = s.get(&lw, "/directory?q=renamed").await;
    assert_eq!(page["total"], 0);

    feed.change(|p| p.failing = None);
    let done = sync(&s, &manager).await;
    assert_eq!(counts(&done), ("succeeded", 2, 0, 2, 1), "{done}");
    assert!(!accepting(&s, &lw, "feed-service-2").await);
    assert!(!accepting(&s, &lw, "feed-service-5").await);
    let (_, gone) = s.get(&lw, "/directory?accepting=false").await;
    let ids: Vec<&str> = gone["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["feed-service-2", "feed-service-5"]);
    assert_documented(&doc(), "DirectoryPage", &gone);
    assert!(gone["items"][1]["withdrawn_at"].is_string(), "{gone}");
    assert_eq!(gone["items"][0]["withdrawn_at"], Value::Null);

    // No new connection to either, each refused naming the field and the rule.
    for (service, why) in [
        ("feed-service-2", "is defunct"),
        ("feed-service-5", "no longer listed by the directory feed"),
    ] {
        let (status, problem) = s
            .post(&lw, &format!("/cases/{id}/connections"), connect(service))
            .await;
        assert_eq!(status, StatusCode::CONFLICT, "{service}: {problem}");
        let refusal = &problem["errors"][0];
        assert_eq!(refusal["field"], "service_id");
        assert_eq!(refusal["rule"], "service_not_accepting_connections");
        assert!(
            refusal["message"].as_str().unwrap().contains(why),
            "{problem}"
        );
    }
    // The connection made before goes on: it is answered, and a listed service connects.
    s.ok(
        &lw,
        &format!("/cases/{id}/connections/{connection}/responses"),
        json!({"response": "accepted"}),
    )
    .await;
    s.ok(
        &lw,
        &format!("/cases/{id}/connections"),
        connect("feed-service-4"),
    )
    .await;

    // Listed again, service 5 takes connections again.
    feed.change(|p| p.services.push(published().pop().unwrap()));
    assert_eq!(counts(&sync(&s, &manager).await), ("succeeded", 3, 0, 1, 0));
    assert!(accepting(&s, &lw, "feed-service-5").await);
}

#[tokio::test]
async fn one_sync_runs_at_a_time_and_without_a_feed_there_is_none() {
    let env = TestEnv::shared();
    let feed = TestFeed::start(&env, published()).await;
    let s = with_feed(feed.feed(None)).await;
    let manager = s.token(NORTH, Role::ServiceManager).await;
    let gate = Arc::new(Semaphore::new(0));
    *feed.gate.lock().unwrap() = Some(gate.clone());
    let first = {
        let (http, url, token) = (
            s.http.clone(),
            format!("{}/directory/sync", s.base),
            manager.clone(),
        );
        tokio::spawn(async move {
            let r = http.post(url).bearer_auth(token).send().await.unwrap();
            (r.status(), r.json::<Value>().await.unwrap())
        })
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while feed.published.lock().unwrap().asked.is_empty() {
        assert!(
            Instant::now() < deadline,
            "the first sync never asked the feed"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // While it waits on page 1, a second sync (here or in another process) is refused.
    let (status, problem) = s.post(&manager, "/directory/sync", json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    assert_eq!(problem["errors"][0]["rule"], "directory_sync_running");
    let (_, running) = s.get(&manager, "/directory/sync").await;
    assert_documented(&doc(), "DirectoryFeedStatus", &running);
    assert_eq!(running["last"]["outcome"], "running");
    assert_eq!(running["last"]["finished_at"], Value::Null);
    gate.add_permits(3);
    let (status, done) = first.await.unwrap();
    assert_eq!(status, StatusCode::OK);
    assert_eq!(counts(&done), ("succeeded", 3, 5, 0, 0));

    // A process without a feed syncs nothing.
    let plain = Service::start().await;
    let manager = plain.token(NORTH, Role::ServiceManager).await;
    let (status, problem) = plain.post(&manager, "/directory/sync", json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(problem["errors"][0]["rule"], "directory_feed_not_set");
    let (_, state) = plain.get(&manager, "/directory/sync").await;
    assert_eq!(
        state,
        json!({"feed": null, "interval_secs": null, "last": null})
    );
}

#[tokio::test]
async fn two_processes_on_a_schedule_sync_once_per_interval() {
    let env = TestEnv::shared();
    let feed = TestFeed::start(&env, published()).await;
    let hourly = feed.feed(Some(Duration::from_secs(3600)));
    let s = with_feed(hourly.clone()).await;
    let _second = feed_process(&s, hourly).await;
    let manager = s.token(NORTH, Role::ServiceManager).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (_, state) = s.get(&manager, "/directory/sync").await;
        if state["last"]["outcome"] == "succeeded" {
            assert_eq!(state["last"]["trigger"], "schedule");
            assert_eq!(state["interval_secs"], 3600);
            break;
        }
        assert!(Instant::now() < deadline, "no scheduled sync: {state}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let db = s.ctx.db.client().await.unwrap();
    let syncs: i64 = db
        .query_one("SELECT count(*) FROM directory_syncs", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        syncs, 1,
        "each process's schedule ran, one sync between them"
    );
    assert_eq!(feed.published.lock().unwrap().asked.len(), 3);
}
