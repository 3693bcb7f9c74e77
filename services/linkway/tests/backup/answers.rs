//! Every answer the read side gives, gathered by request so that two Linkways can be
//! compared: intake's referral list (every page), each referral and the unroutable list;
//! each link-worker service's caseload (every page) and each of its cases; a community
//! service's inbox (every page) and each of its connections; reporting's
//! summary and outcome feed (JSON and CSV) for each commissioner area. Each request waits
//! for the read model to include `min_sequence` (the documented rule); a 503 (not reached
//! within 5 s) or a 401 (the token's registry event not applied yet) is asked again.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use linkway_testkit::Linkway;
use reqwest::StatusCode;
use serde_json::Value;

/// The GET operations the comparison covers, by service (besides the operational routes).
/// `/directory` is left out on purpose: the community services directory is reference
/// data imported into link-worker's database, not events, so a restore of the log does
/// not bring it back (it is imported again from its source).
pub const COVERED: [(&str, &[&str]); 3] = [
    (
        "intake",
        &[
            "/admin/unroutable",
            "/referrals",
            "/referrals/{referral_id}",
        ],
    ),
    (
        "link-worker",
        &[
            "/caseload",
            "/cases/{id}",
            "/inbox",
            "/inbox/{referral_id}/{connection_id}",
        ],
    ),
    ("reporting", &["/feed", "/summary"]),
];
/// GETs every service serves that are not about its data.
const OPERATIONAL: [&str; 4] = ["/healthz", "/readyz", "/metrics", "/openapi.json"];
/// GETs deliberately not compared: the directory and its feed's last sync (see
/// [`COVERED`]: reference data, not events); intake's empty web form, and self-referral's
/// public form and its token (no data); the audit trail and the subject access export, which hold every
/// read (each read appends to the log, so two Linkways read alike differ by their own
/// reads); the outbox's delivery state (bookkeeping of what a receiver answered, not in
/// the log).
const NOT_FROM_THE_LOG: [&str; 8] = [
    "/directory",
    "/directory/sync",
    "/form",
    "/self-referral",
    "/self-referrals/token",
    "/audit",
    "/referrals/{referral_id}/person",
    "/admin/outbound",
];

/// Who reads: an administrator (intake, reporting by area), a link worker of each
/// link-worker service, and a community service answering for every directory service.
pub struct Readers {
    pub admin: String,
    pub link_workers: Vec<(String, String)>,
    pub community_service: String,
    pub areas: Vec<String>,
}

/// Request (service, path and query, media type) -> answer body.
pub type Answers = BTreeMap<String, String>;

/// Asserts that every GET operation of each service's /openapi.json is one the comparison
/// covers, so a new one cannot slip past it.
pub async fn check_coverage(http: &reqwest::Client, lw: &Linkway) {
    for (service, covered) in COVERED {
        let url = format!("{}/openapi.json", lw.url(service));
        let document: Value = http.get(&url).send().await.unwrap().json().await.unwrap();
        let gets: BTreeSet<&str> = document["paths"]
            .as_object()
            .expect("paths")
            .iter()
            // Pages (HTML for people, tagged `pages`) show what the JSON answers compared
            // here hold; sign-in has no data of its own.
            .filter(|(_, item)| {
                item.get("get").is_some_and(|get| {
                    !get["tags"]
                        .as_array()
                        .is_some_and(|tags| tags.iter().any(|t| t == "pages"))
                })
            })
            .map(|(path, _)| path.as_str())
            .filter(|p| !OPERATIONAL.contains(p) && !NOT_FROM_THE_LOG.contains(p))
            .filter(|p| !p.starts_with("/fhir/CodeSystem"))
            .collect();
        let covered: BTreeSet<&str> = covered.iter().copied().collect();
        assert_eq!(gets, covered, "{service}: GET operations vs the comparison");
    }
}

/// Whether an answer is a referral naming its FHIR sender's endpoint (`reply_to`), so that
/// the comparison is known to cover one.
pub fn carries_reply_endpoint(request: &str, answer: &str) -> bool {
    if !request.starts_with("intake /referrals/") {
        return false;
    }
    let referral: Value = serde_json::from_str(answer).expect("a referral");
    referral.get("reply_to").is_some_and(Value::is_string)
}

/// Every answer, read at `min_sequence`.
pub async fn gather(
    http: &reqwest::Client,
    lw: &Linkway,
    readers: &Readers,
    min_sequence: u64,
) -> Answers {
    let mut answers = Answers::new();
    let wait = format!("min_sequence={min_sequence}");
    let intake = lw.url("intake");
    for id in referral_ids(
        pages(
            http,
            "intake",
            &intake,
            "/referrals?",
            &wait,
            &readers.admin,
            &mut answers,
        )
        .await,
    ) {
        let path = format!("/referrals/{id}?{wait}");
        let body = get(http, &intake, &path, &readers.admin, None).await;
        answers.insert(format!("intake {path}"), body);
    }
    let path = format!("/admin/unroutable?{wait}");
    let body = get(http, &intake, &path, &readers.admin, None).await;
    answers.insert(format!("intake {path}"), body);

    let link_worker = lw.url("link-worker");
    for (service, token) in &readers.link_workers {
        let mut own = Answers::new();
        let list = "/caseload?include_closed=true&";
        for id in referral_ids(
            pages(
                http,
                "link-worker",
                &link_worker,
                list,
                &wait,
                token,
                &mut own,
            )
            .await,
        ) {
            let path = format!("/cases/{id}?{wait}");
            let body = get(http, &link_worker, &path, token, None).await;
            own.insert(format!("link-worker {path}"), body);
        }
        answers.extend(own.into_iter().map(|(k, v)| (format!("{service}: {k}"), v)));
    }
    let token = &readers.community_service;
    for item in pages(
        http,
        "link-worker",
        &link_worker,
        "/inbox?",
        &wait,
        token,
        &mut answers,
    )
    .await
    {
        let id = |field: &str| item[field].as_str().expect(field).to_owned();
        let path = format!(
            "/inbox/{}/{}?{wait}",
            id("referral_id"),
            id("connection_id")
        );
        let body = get(http, &link_worker, &path, token, None).await;
        answers.insert(format!("link-worker {path}"), body);
    }

    let reporting = lw.url("reporting");
    for area in &readers.areas {
        for (path, accept) in [
            (format!("/summary?area={area}&{wait}"), None),
            (format!("/feed?area={area}&{wait}"), None),
            (format!("/feed?area={area}&{wait}"), Some("text/csv")),
        ] {
            let body = get(http, &reporting, &path, &readers.admin, accept).await;
            let media = accept.unwrap_or("application/json");
            // A summary and a feed say how far into the log reporting had read (`sequence`,
            // `next_cursor`: its checkpoint): every read this comparison makes of intake and
            // link-worker appends to the audit trail, events reporting counts nothing of but
            // reads past, so how far it had got when asked depends on timing, not on the log.
            let field = match (path.starts_with("/summary"), accept) {
                (true, _) => Some("sequence"),
                (false, None) => Some("next_cursor"),
                (false, Some(_)) => None,
            };
            let body = match field {
                Some(field) => {
                    let mut answer: Value = serde_json::from_str(&body).expect("a JSON answer");
                    answer.as_object_mut().expect("an object").remove(field);
                    answer.to_string()
                }
                None => body,
            };
            answers.insert(format!("reporting {path} ({media})"), body);
        }
    }
    answers
}

/// Every page of a paged list (`items`, `total`), each kept as an answer; its items.
async fn pages(
    http: &reqwest::Client,
    label: &str,
    base: &str,
    list: &str,
    wait: &str,
    token: &str,
    answers: &mut Answers,
) -> Vec<Value> {
    let mut all = Vec::new();
    let mut offset = 0;
    loop {
        let path = format!("{list}limit=50&offset={offset}&{wait}");
        let body = get(http, base, &path, token, None).await;
        let page: Value = serde_json::from_str(&body).expect("a JSON page");
        let items = page["items"].as_array().expect("items").clone();
        answers.insert(format!("{label} {path}"), body);
        offset += 50;
        let last = items.is_empty() || offset >= page["total"].as_u64().expect("total");
        all.extend(items);
        if last {
            return all;
        }
    }
}

/// The `referral_id` of each item of a list.
fn referral_ids(items: Vec<Value>) -> Vec<String> {
    items
        .iter()
        .map(|item| {
            item["referral_id"]
                .as_str()
                .expect("referral_id")
                .to_owned()
        })
        .collect()
}

/// One GET's body: 200 within 60 s, asked again on 401 and 503.
async fn get(
    http: &reqwest::Client,
    base: &str,
    path: &str,
    token: &str,
    accept: Option<&str>,
) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let mut request = http.get(format!("{base}{path}")).bearer_auth(token);
        if let Some(accept) = accept {
            request = request.header("accept", accept);
        }
        let response = request.send().await.expect("an answer");
        let status = response.status();
        let body = response.text().await.expect("a body");
        if status == StatusCode::OK {
            return body;
        }
        assert!(
            matches!(
                status,
                StatusCode::UNAUTHORIZED | StatusCode::SERVICE_UNAVAILABLE
            ) && Instant::now() < deadline,
            "GET {path}: {status} {body}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
