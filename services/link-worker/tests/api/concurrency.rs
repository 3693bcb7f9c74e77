use super::*;
use linkway_events::case::{ContactChannel, ContactOutcome};
use linkway_link_worker::api::load_case;
use linkway_link_worker::case::{self, Command, ContactKind, Policy};

fn contact(minutes: u32) -> Command {
    Command::RecordContact {
        kind: ContactKind::Made,
        channel: ContactChannel::Phone,
        outcome: ContactOutcome::NotRecorded,
        minutes,
        notes: None,
    }
}

async fn append(
    s: &Service,
    id: Uuid,
    command: &Command,
) -> Result<u64, linkway_eventstore::AppendError> {
    let case = load_case(&s.store, id).await.expect("load");
    let events = case::decide(&case, command, &Policy::default()).expect("legal");
    let event: Event = events[0].clone().into();
    let envelope = Envelope::new(
        id.to_string(),
        &event,
        Actor::system(),
        Uuid::now_v7(),
        OffsetDateTime::now_utc(),
    );
    s.store
        .append(
            "case",
            &id.to_string(),
            Expected::LastSequence(case.last_case_sequence),
            vec![PendingEvent::new(envelope)],
        )
        .await
        .map(|a| a.last_sequence())
}

#[tokio::test]
async fn two_writers_who_read_the_same_version_exactly_one_wins_and_the_loser_retries() {
    let s = Service::start().await;
    let lw = s.token(NORTH, Role::LinkWorker).await;
    let (id, _) = s.refer(NORTH, "Ivy").await;
    engage(&s, &lw, id).await;

    // Both read version N and decide; both append expecting N.
    let case = load_case(&s.store, id).await.unwrap();
    let mut results = Vec::new();
    for minutes in [10, 20] {
        let events = case::decide(&case, &contact(minutes), &Policy::default()).unwrap();
        let event: Event = events[0].clone().into();
        let env = Envelope::new(
            id.to_string(),
            &event,
            Actor::system(),
            Uuid::now_v7(),
            OffsetDateTime::now_utc(),
        );
        results.push(
            s.store
                .append(
                    "case",
                    &id.to_string(),
                    Expected::LastSequence(case.last_case_sequence),
                    vec![PendingEvent::new(env)],
                )
                .await,
        );
    }
    let wins = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(wins, 1, "{results:?}");
    assert!(matches!(
        results[1],
        Err(linkway_eventstore::AppendError::Conflict { .. })
    ));
    // The loser reloads and retries: nothing is lost.
    append(&s, id, &contact(20)).await.expect("retry succeeds");
    let case = load_case(&s.store, id).await.unwrap();
    assert_eq!(case.contacts_made, 3);
    assert_eq!(case.contact_minutes, 40 + 10 + 20);
}

#[tokio::test]
async fn two_link_workers_acting_on_the_version_they_read_one_wins_the_other_reloads_and_retries() {
    let s = Service::start().await;
    let ann = s.token(NORTH, Role::LinkWorker).await;
    let bob = s.token(NORTH, Role::LinkWorker).await;
    let (id, _) = s.refer(NORTH, "Nia").await;
    engage(&s, &ann, id).await;
    let agreed = s
        .ok(&ann, &format!("/cases/{id}/plan"), plan_body(14))
        .await;

    // Both open the case at the same version.
    let url = format!("{}/cases/{id}?min_sequence={}", s.base, seq(&agreed));
    let response = s.http.get(&url).bearer_auth(&ann).send().await.unwrap();
    let etag = response.headers()["etag"].to_str().unwrap().to_owned();
    let version: Value = response.json().await.unwrap();
    assert_eq!(etag, format!("\"{}\"", version["version"]));
    assert_eq!(version["version"], seq(&agreed));

    let review = |token: &str, days: i64, etag: String| {
        let request = s
            .http
            .post(format!("{}/cases/{id}/plan/reviews", s.base))
            .bearer_auth(token)
            .header("If-Match", etag)
            .json(&plan_body(days));
        async move {
            let response = request.send().await.unwrap();
            (response.status(), response.json::<Value>().await.unwrap())
        }
    };
    let (ann_status, _) = review(&ann, 20, etag.clone()).await;
    let (bob_status, problem) = review(&bob, 30, etag.clone()).await;
    assert_eq!(ann_status, StatusCode::OK);
    assert_eq!(bob_status, StatusCode::CONFLICT);
    assert_eq!(problem["type"], "https://linkway.example/problems/conflict");
    assert_eq!(
        s.case_events(id)
            .await
            .iter()
            .filter(|t| *t == "case.plan_reviewed")
            .count(),
        1
    );

    // Bob reloads, sees Ann's review, and retries on the new version.
    let case = load_case(&s.store, id).await.unwrap();
    let (bob_status, answer) = review(&bob, 30, format!("\"{}\"", case.last_case_sequence)).await;
    assert_eq!(bob_status, StatusCode::OK, "{answer}");
    let (_, after) = s.case(&ann, id, seq(&answer)).await;
    assert_eq!(after["plan"]["reviews"], 2);
    let bad = s
        .http
        .post(format!("{}/cases/{id}/plan/reviews", s.base))
        .bearer_auth(&bob)
        .header("If-Match", "yesterday")
        .json(&plan_body(30))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn concurrent_http_writers_get_retryable_conflicts_and_no_update_is_lost() {
    let s = Service::start().await;
    let lw = s.token(NORTH, Role::LinkWorker).await;
    let (id, _) = s.refer(NORTH, "Jo").await;
    engage(&s, &lw, id).await;
    let writers = 12;
    let start = std::sync::Arc::new(tokio::sync::Barrier::new(writers as usize));
    let mut tasks = Vec::new();
    for n in 0..writers {
        let start = start.clone();
        let http = s.http.clone();
        let url = format!("{}/cases/{id}/contacts", s.base);
        let token = lw.clone();
        tasks.push(tokio::spawn(async move {
            start.wait().await;
            let mut conflicts = 0;
            loop {
                let response = http
                    .post(&url)
                    .bearer_auth(&token)
                    .json(&json!({"kind": "made", "channel": "video", "minutes": n + 1}))
                    .send()
                    .await
                    .unwrap();
                match response.status() {
                    StatusCode::OK => return conflicts,
                    StatusCode::CONFLICT => {
                        let problem: Value = response.json().await.unwrap();
                        assert_eq!(problem["type"], "https://linkway.example/problems/conflict");
                        conflicts += 1;
                    }
                    other => panic!("unexpected {other}"),
                }
            }
        }));
    }
    let mut conflicts = 0;
    for t in tasks {
        conflicts += t.await.unwrap();
    }
    let case = load_case(&s.store, id).await.unwrap();
    assert_eq!(case.contacts_made, 1 + writers);
    assert_eq!(case.contact_minutes, 40 + (1..=writers).sum::<u32>());
    eprintln!("{conflicts} conflicts retried");
}
