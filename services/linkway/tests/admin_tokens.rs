//! Tokens an operator can manage, through the real `linkway` binary over the harness's
//! real nats-server and PostgreSQL: `token create` prints the id and the secret (the log
//! keeps only the secret's SHA-256), `token list` shows id, organisation, role, created,
//! expiry and last-used times and never a secret, and `token revoke` takes the ids it
//! shows. `token_expiry.rs` holds expiry and rotation.

mod token_cli;

use std::time::Duration;

use linkway_events::Event;
use linkway_events::registry::RegistryEvent;
use linkway_platform::secret::sha256_hex;
use linkway_testkit::{Linkway, TestEnv};
use reqwest::StatusCode;
use token_cli::{admin, rfc3339, until};
use uuid::Uuid;

/// The row of `token list` for one token.
fn row(list: &str, token_id: Uuid) -> Vec<String> {
    token_cli::row(list, &token_id.to_string())
}

const BINARY: &str = env!("CARGO_BIN_EXE_linkway");
const GP: &str = "gp-tokens";

async fn status(http: &reqwest::Client, url: &str, secret: &str) -> StatusCode {
    http.get(url)
        .bearer_auth(secret)
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_create_prints_the_id_and_secret_list_shows_when_it_was_last_used_and_revoke_takes_the_listed_id()
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
            "Token Surgery",
            "--kind",
            "gp_practice",
        ],
    );
    let printed = admin(
        &lw,
        &[
            "token", "create", "--org", GP, "--role", "referrer", "--label", "EMIS",
        ],
    );
    let lines: Vec<&str> = printed.lines().collect();
    assert_eq!(lines.len(), 2, "{printed}");
    let token_id: Uuid = lines[0].parse().expect("the first line is the token id");
    let secret = lines[1];
    assert!(
        secret.starts_with("lw_"),
        "the last line is the secret alone"
    );

    // The log keeps the secret's digest under the printed id, never the secret.
    let events = env
        .store()
        .await
        .load("token", &token_id.to_string())
        .await
        .unwrap();
    assert_eq!(events.len(), 1);
    assert!(!String::from_utf8_lossy(&events[0].payload).contains(&secret[3..]));
    let (_, Event::Registry(RegistryEvent::TokenIssued(issued))) = events[0].decode().unwrap()
    else {
        panic!("not a token.issued event");
    };
    assert_eq!(issued.secret_sha256, sha256_hex(secret.as_bytes()));

    // Listed, never used yet, and without the secret or its digest.
    let list = admin(&lw, &["token", "list", "--org", GP]);
    assert!(list.starts_with("token_id"), "{list}");
    assert_eq!(
        row(&list, token_id),
        [
            token_id.to_string(),
            GP.to_owned(),
            "referrer".to_owned(),
            "-".to_owned(),
            "EMIS".to_owned(),
            row(&list, token_id)[5].clone(),
            row(&list, token_id)[6].clone(),
            "never".to_owned(),
            "live".to_owned()
        ]
    );
    // It expires after the default lifetime (LINKWAY_TOKEN_LIFETIME_DAYS, 90 days).
    let expires = rfc3339(&row(&list, token_id)[6]);
    let created = rfc3339(&row(&list, token_id)[5]);
    let lifetime = expires - created;
    assert!(
        lifetime > time::Duration::days(89) && lifetime <= time::Duration::days(90),
        "{list}"
    );
    assert!(!list.contains(&secret[3..]) && !list.contains(&issued.secret_sha256));

    // Used once: within a few seconds the list says when (written off the request path).
    let http = reqwest::Client::new();
    let url = format!("{}/referrals", lw.url("intake"));
    until("token accepted", async || {
        status(&http, &url, secret).await == StatusCode::OK
    })
    .await;
    until("last use listed", async || {
        row(&admin(&lw, &["token", "list"]), token_id)[7] != "never"
    })
    .await;
    let list = admin(&lw, &["token", "list"]);
    let cells = row(&list, token_id);
    let created = rfc3339(&cells[5]);
    let used = rfc3339(&cells[7]);
    assert!(used >= created.replace_nanosecond(0).unwrap(), "{list}");
    assert!(!list.contains(&secret[3..]) && !list.contains(&issued.secret_sha256));

    // Revoked by the listed id: listed as revoked, and refused.
    assert_eq!(admin(&lw, &["token", "revoke", &cells[0]]).trim(), cells[0]);
    assert!(row(&admin(&lw, &["token", "list"]), token_id)[8].starts_with("revoked"));
    until("revoked token refused", async || {
        status(&http, &url, secret).await == StatusCode::UNAUTHORIZED
    })
    .await;
}
