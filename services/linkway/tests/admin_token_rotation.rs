//! Token expiry and rotation through the real `linkway` binary (`linkway serve` and
//! `linkway admin token ...`) over the harness's real nats-server and PostgreSQL:
//!
//! - an expired token gets the very 401 an unknown one gets (status, headers, body);
//! - `token rotate` issues a successor; the old token works beside it during the grace
//!   and stops after it (a grace of `0s` is over at once), and `token list` says so;
//! - an expiry in the past is refused, and so is expiring a token while `token.issued` is
//!   pinned to v1 for a rolling upgrade.
//!
//! No waiting on the clock: expiries are set in the past, and graces are an hour (not over
//! during the test) or zero (over at once). The platform's `tests/token_expiry.rs` moves the
//! clock itself.

mod token_cli;

use std::time::Duration;

use linkway_events::registry::{RegistryEvent, TokenIssued};
use linkway_events::{Actor, Envelope, Event, Role};
use linkway_eventstore::{Expected, PendingEvent};
use linkway_testkit::{Linkway, TestEnv};
use reqwest::StatusCode;
use time::OffsetDateTime;
use token_cli::{admin, id_and_secret, refused, rfc3339, row, until};
use uuid::Uuid;

const BINARY: &str = env!("CARGO_BIN_EXE_linkway");
const GP: &str = "gp-rotation";

struct Answer {
    status: StatusCode,
    content_type: Option<String>,
    challenge: Option<String>,
    body: String,
}

async fn get(http: &reqwest::Client, url: &str, secret: &str) -> Answer {
    let res = http.get(url).bearer_auth(secret).send().await.unwrap();
    let header = |name| {
        res.headers()
            .get(name)
            .map(|v: &reqwest::header::HeaderValue| v.to_str().unwrap().to_owned())
    };
    Answer {
        status: res.status(),
        content_type: header(reqwest::header::CONTENT_TYPE),
        challenge: header(reqwest::header::WWW_AUTHENTICATE),
        body: res.text().await.unwrap(),
    }
}

/// Appends a v2 `token.issued` that expired a minute ago, as a token issued earlier would
/// be by now; returns its secret.
async fn expired_token(env: &TestEnv) -> (Uuid, String) {
    let token = linkway_platform::auth::mint_token();
    let event: Event = RegistryEvent::TokenIssued(TokenIssued {
        token_id: token.token_id,
        organisation_id: GP.into(),
        role: Role::Referrer,
        user_id: None,
        secret_sha256: token.secret_sha256,
        label: Some("expired".into()),
        expires_at: Some(OffsetDateTime::now_utc() - time::Duration::minutes(1)),
        replaces: None,
    })
    .into();
    let id = token.token_id.to_string();
    let envelope = Envelope::new(
        &id,
        &event,
        Actor::system(),
        Uuid::now_v7(),
        OffsetDateTime::now_utc(),
    );
    env.store()
        .await
        .append(
            event.aggregate_kind(),
            &id,
            Expected::NoEvents,
            vec![PendingEvent::new(envelope)],
        )
        .await
        .expect("appended");
    (token.token_id, token.secret)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_token_is_refused_as_an_unknown_one_and_a_rotated_one_works_until_its_grace_ends()
 {
    let env = TestEnv::shared();
    let lw = Linkway::new(
        BINARY,
        std::slice::from_ref(&env.nats_url),
        &env.postgres_url,
        &env.scope,
    )
    .expect("linkway process");
    lw.start_ready(Duration::from_secs(90))
        .await
        .expect("ready");
    admin(
        &lw,
        &[
            "org",
            "add",
            "--id",
            GP,
            "--name",
            "Rotation Surgery",
            "--kind",
            "gp_practice",
        ],
    );
    let http = reqwest::Client::new();
    let url = format!("{}/referrals", lw.url("intake"));

    // An expired token, then a live one after it in the log: once the live one works, the
    // read model holds the expired one too, and refuses it as it refuses a token it never
    // heard of.
    let (expired_id, expired) = expired_token(&env).await;
    let (_, live) = id_and_secret(&admin(
        &lw,
        &["token", "create", "--org", GP, "--role", "referrer"],
    ));
    until("the live token works", async || {
        get(&http, &url, &live).await.status == StatusCode::OK
    })
    .await;
    let unknown = linkway_platform::auth::mint_token().secret;
    let (expired_answer, unknown_answer) = (
        get(&http, &url, &expired).await,
        get(&http, &url, &unknown).await,
    );
    assert_eq!(expired_answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        (
            expired_answer.status,
            &expired_answer.content_type,
            &expired_answer.challenge,
            &expired_answer.body
        ),
        (
            unknown_answer.status,
            &unknown_answer.content_type,
            &unknown_answer.challenge,
            &unknown_answer.body
        ),
        "no hint which"
    );
    assert!(
        !expired_answer.body.contains("expire"),
        "{}",
        expired_answer.body
    );
    let list = admin(&lw, &["token", "list", "--org", GP]);
    let cells = row(&list, &expired_id.to_string());
    assert_eq!(cells[8], "expired", "{list}");
    assert!(rfc3339(&cells[6]) < OffsetDateTime::now_utc());

    // An expiry that is not in the future is refused; nothing is issued.
    for flags in [
        ["--expires-at", "2020-01-01T00:00:00Z"],
        ["--expires-in", "0s"],
    ] {
        let mut args = vec!["token", "create", "--org", GP, "--role", "referrer"];
        args.extend(flags);
        let said = refused(&lw, &args);
        assert!(said.contains("expiry must be in the future"), "{said}");
    }

    // Rotation with an hour's grace: both work, the list says which replaced which.
    let (old_id, old) = id_and_secret(&admin(
        &lw,
        &[
            "token",
            "create",
            "--org",
            GP,
            "--role",
            "referrer",
            "--label",
            "EMIS",
            "--expires-in",
            "30d",
        ],
    ));
    let printed = admin(&lw, &["token", "rotate", &old_id, "--grace", "1h"]);
    let (new_id, new) = id_and_secret(&printed);
    let stops = printed.lines().nth(1).expect("the old token's end");
    assert!(stops.starts_with(&format!("{old_id} stops ")), "{printed}");
    let stops_at = rfc3339(stops.rsplit(' ').next().unwrap());
    let hour = time::Duration::hours(1);
    assert!(stops_at > OffsetDateTime::now_utc() + hour - time::Duration::minutes(2));
    until("the successor works", async || {
        get(&http, &url, &new).await.status == StatusCode::OK
    })
    .await;
    assert_eq!(
        get(&http, &url, &old).await.status,
        StatusCode::OK,
        "in its grace"
    );
    let list = admin(&lw, &["token", "list", "--org", GP]);
    let (old_row, new_row) = (row(&list, &old_id), row(&list, &new_id));
    assert_eq!(old_row[8], format!("rotated to {new_id}"), "{list}");
    assert_eq!(rfc3339(&old_row[6]), stops_at);
    assert_eq!((new_row[4].as_str(), new_row[8].as_str()), ("EMIS", "live"));
    assert!(!list.contains(&old[3..]) && !list.contains(&new[3..]));
    let said = refused(&lw, &["token", "rotate", &old_id]);
    assert!(
        said.contains(&format!("its successor is {new_id}")),
        "{said}"
    );

    // Rotation with no grace: the old token's grace is over at once.
    let (newest_id, newest) =
        id_and_secret(&admin(&lw, &["token", "rotate", &new_id, "--grace", "0s"]));
    until("the newest works", async || {
        get(&http, &url, &newest).await.status == StatusCode::OK
    })
    .await;
    assert_eq!(
        get(&http, &url, &new).await.status,
        StatusCode::UNAUTHORIZED,
        "its grace is over"
    );
    assert_eq!(
        get(&http, &url, &old).await.status,
        StatusCode::OK,
        "its own grace runs on"
    );
    let list = admin(&lw, &["token", "list", "--org", GP]);
    assert_eq!(row(&list, &new_id)[8], "expired", "{list}");
    assert_eq!(row(&list, &newest_id)[8], "live", "{list}");

    // While token.issued is pinned to v1 (which has no expiry), no token is issued or
    // rotated: an expiry is never dropped unseen.
    let pinned = Linkway::new(
        BINARY,
        std::slice::from_ref(&env.nats_url),
        &env.postgres_url,
        &env.scope,
    )
    .expect("linkway")
    .env("LINKWAY_WRITE_EVENT_VERSIONS", "token.issued=1");
    for args in [
        &[
            "admin", "token", "create", "--org", GP, "--role", "referrer",
        ][..],
        &["admin", "token", "rotate", &newest_id][..],
    ] {
        let out = pinned.run(args).expect("linkway admin");
        let said = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && said.contains("pinned to version 1"),
            "{said}"
        );
    }
}
