//! The notification outbox against a real HTTP receiver shaped like GOV.UK Notify (axum,
//! started here), on real NATS and PostgreSQL, with time moved only by the service's
//! manual clock: booked -> a confirmation; the reminder sent once at its time even with
//! two senders; a move moves it; a cancellation cancels it; a letter preference sends
//! nothing and says why; a receiver failing, then recovering, gets it once. The receiver
//! refuses, as Notify does, a request not signed with the API key (Notify's JWT).

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::routing::post;
use linkway_events::referral::ContactMethod;
use linkway_link_worker::notifications::notify::HttpNotify;
use linkway_link_worker::notifications::{NotifySettings, Templates, sender};
use linkway_platform::clock::Timers;

use super::*;

/// What the receiver was sent: the path and the JSON body, and how many it refused.
#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<(String, Value)>>>,
    /// Answer 500 to this many requests first.
    fail_first: Arc<AtomicU32>,
    refused: Arc<AtomicU32>,
}

impl Receiver {
    async fn start(env: &TestEnv) -> (Receiver, String) {
        let r = Receiver::default();
        let answer = |path: &'static str| {
            move |State(r): State<Receiver>,
                  headers: axum::http::HeaderMap,
                  axum::Json(body): axum::Json<Value>| async move {
                // As Notify does: a request not signed by the key's secret is refused.
                if !signed_by_the_key(&headers) {
                    return (StatusCode::FORBIDDEN, axum::Json(json!({})));
                }
                if r.fail_first
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                    .is_ok()
                {
                    r.refused.fetch_add(1, Ordering::SeqCst);
                    return (StatusCode::INTERNAL_SERVER_ERROR, axum::Json(json!({})));
                }
                let id = Uuid::now_v7();
                r.got.lock().expect("lock").push((path.to_owned(), body));
                (StatusCode::CREATED, axum::Json(json!({ "id": id })))
            }
        };
        let router = axum::Router::new()
            .route("/v2/notifications/email", post(answer("email")))
            .route("/v2/notifications/sms", post(answer("sms")))
            .with_state(r.clone());
        let url = linkway_testkit::serve(router, env.shutdown()).await;
        (r, url)
    }

    fn got(&self) -> Vec<(String, Value)> {
        self.got.lock().expect("lock").clone()
    }

    /// Waits until `n` notifications arrived (the senders run every 200 ms).
    async fn until(&self, n: usize) -> Vec<(String, Value)> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let got = self.got();
            if got.len() >= n {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "only {} of {n} arrived",
                got.len()
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

fn settings(url: Option<String>) -> NotifySettings {
    let all = "confirmation_email=t-confirm-e,moved_email=t-moved-e,cancellation_email=t-cancel-e,\
               reminder_email=t-remind-e,confirmation_sms=t-confirm-s,reminder_sms=t-remind-s";
    NotifySettings {
        url,
        templates: Templates::parse(all).expect("templates"),
        max_attempts: 5,
        backoff: Duration::from_secs(60),
        ..NotifySettings::default()
    }
}

/// A service with no sender of its own (the tests run theirs), a receiver, and an
/// assigned case of a person who prefers `method`.
async fn world(method: ContactMethod) -> (Service, Receiver, String, Uuid, String) {
    let env = TestEnv::shared();
    let (receiver, url) = Receiver::start(&env).await;
    let s = Service::start_notifying(env, settings(None)).await;
    let lw = s.token(NORTH, Role::LinkWorker).await;
    let id = Uuid::now_v7();
    let mut r = received(id, "Tam");
    if let Some(p) = r.personal.as_mut() {
        p.person.preferred_contact_method = method;
        p.person.email = Some("tam@example.org".into());
    }
    s.refer_received(NORTH, r, OffsetDateTime::now_utc()).await;
    s.ok(&lw, &format!("/cases/{id}/accept"), json!({})).await;
    s.ok(&lw, &format!("/cases/{id}/assignment"), json!({}))
        .await;
    (s, receiver, url, id, lw)
}

fn timers(s: &Service) -> Timers {
    s.ctx.timers.clone()
}

/// A GOV.UK Notify API key in its form: name, service id, secret.
const SERVICE_ID: &str = "26785a09-ab16-4eb0-8407-a37497a57506";
const SECRET: &str = "3d844edf-8d35-48ac-975b-e847b4f122b0";

fn client(url: &str) -> HttpNotify {
    let key = linkway_platform::secret::Secret::new(format!("linkway_test-{SERVICE_ID}-{SECRET}"));
    HttpNotify::new(url, Some(key), Duration::from_secs(5)).expect("client")
}

/// Whether the request's bearer token is Notify's JWT: HS256 over header and claims under
/// the secret, issued by the service id, at most 30 s old (checked as Notify checks it).
fn signed_by_the_key(headers: &axum::http::HeaderMap) -> bool {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use hmac::{Hmac, KeyInit, Mac};
    let Some(token) = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    else {
        return false;
    };
    let Some((signed, signature)) = token.rsplit_once('.') else {
        return false;
    };
    let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(signed.as_bytes());
    let Ok(signature) = URL_SAFE_NO_PAD.decode(signature) else {
        return false;
    };
    let Some(claims) = signed
        .split_once('.')
        .and_then(|(_, c)| URL_SAFE_NO_PAD.decode(c).ok())
        .and_then(|c| serde_json::from_slice::<Value>(&c).ok())
    else {
        return false;
    };
    let now = OffsetDateTime::now_utc().unix_timestamp();
    mac.verify_slice(&signature).is_ok()
        && claims["iss"] == SERVICE_ID
        && claims["iat"]
            .as_i64()
            .is_some_and(|iat| (now - iat).abs() <= 30)
}

/// One sending round of a sender of the test's own; how many notifications it decided.
async fn round(s: &Service, direct: &HttpNotify) -> anyhow::Result<u32> {
    sender::send_due(&s.ctx.db, &s.ctx.store, direct, &settings(None), &timers(s)).await
}

fn at(s: &Service, hours: i64) -> String {
    (s.env.clock.now() + time::Duration::hours(hours))
        .format(&time::format_description::well_known::Rfc3339)
        .expect("rfc3339")
}

/// Books (or moves) and waits until the outbox has the rows it makes.
async fn command(s: &Service, lw: &str, path: &str, body: Value) -> Value {
    let answer = s.ok(lw, path, body).await;
    let seq = seq(&answer);
    let checkpoint = s.ctx.db.client().await.expect("db");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let row = checkpoint
            .query_one(
                "SELECT coalesce(max(last_sequence), 0) FROM projection_checkpoints
                  WHERE projection = 'notifications'",
                &[],
            )
            .await;
        if row.is_ok_and(|r| r.get::<_, i64>(0) as u64 >= seq) {
            return answer;
        }
        assert!(
            Instant::now() < deadline,
            "the notifications projection lags"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

async fn states(s: &Service, id: Uuid) -> Vec<(String, String, Option<String>)> {
    let client = s.ctx.db.client().await.expect("db");
    client
        .query(
            "SELECT kind, state, not_sent_rule FROM public.notifications
              WHERE referral_id = $1 ORDER BY created_at, kind",
            &[&id],
        )
        .await
        .expect("query")
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect()
}

#[tokio::test]
async fn confirmations_and_reminders_follow_the_appointment_once_with_two_senders() {
    let (s, receiver, url, id, lw) = world(ContactMethod::Email).await;
    for _ in 0..2 {
        let sender: Arc<dyn linkway_link_worker::notifications::notify::NotificationSender> =
            Arc::new(client(&url));
        let settings = settings(Some(url.clone()));
        sender::spawn(
            s.ctx.db.clone(),
            s.ctx.store.clone(),
            sender,
            settings,
            timers(&s),
            &s.env.shutdown(),
        );
    }
    let book = format!("/cases/{id}/appointments");
    let booked = command(
        &s,
        &lw,
        &book,
        json!({"starts_at": at(&s, 72), "minutes": 45,
        "channel": "face_to_face", "place": "Room 2"}),
    )
    .await;
    let appointment = booked["appointment_id"].as_str().expect("id").to_owned();
    let got = receiver.until(1).await;
    assert_eq!(got[0].0, "email");
    assert_eq!(got[0].1["template_id"], "t-confirm-e");
    assert_eq!(got[0].1["email_address"], "tam@example.org");
    assert_eq!(got[0].1["personalisation"]["first_name"], "Tam");
    assert_eq!(got[0].1["personalisation"]["place"], "Room 2");

    // Moved 24 hours later: a notice, and the reminder follows to the new time.
    command(&s, &lw, &format!("{book}/{appointment}/move"),
        json!({"starts_at": at(&s, 96), "minutes": 45, "channel": "face_to_face", "place": "Room 2"})).await;
    assert_eq!(receiver.until(2).await[1].1["template_id"], "t-moved-e");

    // Past the old reminder's time: nothing due, by this sender or the two running.
    s.env.clock.advance(time::Duration::hours(49));
    let direct = client(&url);
    let none = round(&s, &direct).await;
    assert_eq!(none.expect("round"), 0);
    // Past the new one's: sent once.
    s.env.clock.advance(time::Duration::hours(24));
    let got = receiver.until(3).await;
    assert_eq!(got[2].1["template_id"], "t-remind-e");
    let none = round(&s, &direct).await;
    assert_eq!(none.expect("round"), 0, "nothing left to send");

    // Booked and cancelled: a cancellation notice, and never its reminder.
    let second = command(
        &s,
        &lw,
        &book,
        json!({"starts_at": at(&s, 48), "minutes": 30, "channel": "phone"}),
    )
    .await;
    let second = second["appointment_id"].as_str().expect("id").to_owned();
    receiver.until(4).await;
    command(
        &s,
        &lw,
        &format!("{book}/{second}/cancellation"),
        json!({"reason": "person_cancelled"}),
    )
    .await;
    assert_eq!(receiver.until(5).await[4].1["template_id"], "t-cancel-e");
    s.env.clock.advance(time::Duration::hours(30));
    let none = round(&s, &direct).await;
    assert_eq!(none.expect("round"), 0);

    let kinds: Vec<String> = receiver
        .got()
        .iter()
        .map(|(_, b)| b["template_id"].as_str().unwrap_or("").to_owned())
        .collect();
    assert_eq!(
        kinds,
        [
            "t-confirm-e",
            "t-moved-e",
            "t-remind-e",
            "t-confirm-e",
            "t-cancel-e"
        ]
    );
    let states = states(&s, id).await;
    let cancelled = states
        .iter()
        .filter(|(k, st, _)| k == "reminder" && st == "cancelled")
        .count();
    assert_eq!(cancelled, 2, "{states:?}");
}

#[tokio::test]
async fn a_letter_preferred_sends_nothing_and_says_why() {
    let (s, receiver, url, id, lw) = world(ContactMethod::Letter).await;
    command(
        &s,
        &lw,
        &format!("/cases/{id}/appointments"),
        json!({"starts_at": at(&s, 72), "minutes": 30, "channel": "phone"}),
    )
    .await;
    let direct = client(&url);
    let decided = round(&s, &direct).await;
    assert_eq!(decided.expect("round"), 1);
    s.env.clock.advance(time::Duration::hours(49));
    let decided = round(&s, &direct).await;
    assert_eq!(
        decided.expect("round"),
        1,
        "the reminder, decided at its time"
    );
    assert!(receiver.got().is_empty());
    let rule = Some("letter_preferred".to_owned());
    assert_eq!(
        states(&s, id).await,
        [
            (
                "confirmation".to_owned(),
                "not_sent".to_owned(),
                rule.clone()
            ),
            ("reminder".to_owned(), "not_sent".to_owned(), rule),
        ]
    );
}

#[tokio::test]
async fn a_receiver_failing_then_recovering_gets_the_notification_once() {
    let (s, receiver, url, id, lw) = world(ContactMethod::Text).await;
    receiver.fail_first.store(2, Ordering::SeqCst);
    command(
        &s,
        &lw,
        &format!("/cases/{id}/appointments"),
        json!({"starts_at": at(&s, 12), "minutes": 30, "channel": "phone"}),
    )
    .await;
    let direct = client(&url);
    let round = || round(&s, &direct);
    assert_eq!(
        round().await.expect("round"),
        1,
        "the first attempt, refused"
    );
    assert_eq!(
        round().await.expect("round"),
        0,
        "not again before its backoff"
    );
    s.env.clock.advance(time::Duration::seconds(60));
    assert_eq!(round().await.expect("round"), 1, "the second, refused");
    s.env.clock.advance(time::Duration::seconds(119));
    assert_eq!(round().await.expect("round"), 0, "the backoff doubled");
    s.env.clock.advance(time::Duration::seconds(1));
    assert_eq!(round().await.expect("round"), 1, "the third, delivered");
    assert_eq!(round().await.expect("round"), 0);
    let got = receiver.got();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0, "sms");
    assert_eq!(got[0].1["phone_number"], "07700900123");
    assert_eq!(receiver.refused.load(Ordering::SeqCst), 2);
    let client = s.ctx.db.client().await.expect("db");
    let attempts: Vec<(Option<i32>, String)> = client
        .query(
            "SELECT a.status_code, n.state FROM public.notification_attempts a
               JOIN public.notifications n USING (event_id, kind)
              WHERE n.referral_id = $1 ORDER BY a.id",
            &[&id],
        )
        .await
        .expect("query")
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let sent = "sent".to_owned();
    assert_eq!(
        attempts,
        [
            (Some(500), sent.clone()),
            (Some(500), sent.clone()),
            (Some(201), sent)
        ]
    );
}

#[tokio::test]
async fn a_rebuild_keeps_what_was_sent_and_an_erasure_sends_nothing_more() {
    let (s, receiver, url, id, lw) = world(ContactMethod::Email).await;
    command(
        &s,
        &lw,
        &format!("/cases/{id}/appointments"),
        json!({"starts_at": at(&s, 72), "minutes": 30, "channel": "video"}),
    )
    .await;
    let direct = client(&url);
    assert_eq!(round(&s, &direct).await.expect("round"), 1, "confirmed");
    let before = states(&s, id).await;
    assert_eq!(before[0].1, "sent");
    assert_eq!(before[1], ("reminder".into(), "pending".into(), None));

    // Rebuilt from the log: the same rows, what was sent still sent, nothing sent again.
    let service = linkway_link_worker::LinkWorkerService {
        policy: linkway_link_worker::case::Policy::default(),
        directory_feed: None,
        notify: settings(None),
    };
    let rebuilt = service.rebuild(&s.ctx, "notifications", &|_, _| {}).await;
    assert!(rebuilt.expect("rebuilt").is_some());
    assert_eq!(states(&s, id).await, before);
    assert_eq!(round(&s, &direct).await.expect("round"), 0);

    // Erased: the pending reminder is never sent.
    let erased = Event::from(linkway_events::PersonEvent::Erased(
        linkway_events::person::PersonErased {
            referral_id: id,
            reason: linkway_events::person::ErasureReason::PersonAsked,
        },
    ));
    let envelope = Envelope::new(
        id.to_string(),
        &erased,
        Actor::system(),
        Uuid::now_v7(),
        OffsetDateTime::now_utc(),
    );
    let (pending, person) = (vec![PendingEvent::new(envelope)], id.to_string());
    let appended = s.store.append("person", &person, Expected::Any, pending);
    let seq = appended.await.expect("append").last_sequence();
    let client = s.ctx.db.client().await.expect("db");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let at: i64 = client
            .query_one(
                "SELECT last_sequence FROM projection_checkpoints WHERE projection = 'notifications'",
                &[],
            )
            .await
            .expect("checkpoint")
            .get(0);
        if at as u64 >= seq {
            break;
        }
        assert!(Instant::now() < deadline, "the projection lags");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    s.env.clock.advance(time::Duration::hours(49));
    assert_eq!(round(&s, &direct).await.expect("round"), 0);
    assert_eq!(states(&s, id).await[1].1, "erased");
    assert_eq!(receiver.got().len(), 1, "only the confirmation, before");
}
