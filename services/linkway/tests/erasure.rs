//! Crypto-shredding on the real binary: `linkway serve` (every service, sealing with the
//! testkit's KEK) over the harness's real nats-server and PostgreSQL.
//!
//! - The raw log, read with a plain NATS client, holds none of a person's details.
//! - After `erasePerson`, no read model, API answer, export or opened event yields the
//!   person's details; every read model rebuilds from the log and still yields none;
//!   reporting's figures are what they were; another person's referral is untouched; the
//!   erased case takes no more commands.
//! - Rotating the KEK re-wraps every data key, and after the old KEK is taken out of the
//!   configuration everything is still readable.

use std::time::{Duration, Instant};

use linkway_events::Role;
use linkway_events::registry::OrganisationKind;
use linkway_testkit::{ApiClient, Linkway, TEST_KEKS, TestEnv};
use reqwest::StatusCode;
use serde_json::{Value, json};

const BINARY: &str = env!("CARGO_BIN_EXE_linkway");
const GP: &str = "gp-erasure";
const LW: &str = "lw-erasure";
const OTHER: &str = "gp-erasure-other";
const ICB: &str = "icb-erasure";
const AREA: &str = "QER";

/// What identifies or describes person `n`: strings that appear nowhere else.
fn secrets(n: u32) -> [String; 6] {
    [
        format!("Ottoline{n}"),
        format!("Brackenbury{n}"),
        format!("{n} Wistful Lane"),
        format!("Misses her choir friend Perpetua{n}"),
        format!("Spoke about the allotment with Perpetua{n}"),
        format!("Singing again with Perpetua{n}"),
    ]
}

fn referral(n: u32) -> Value {
    let [given, family, street, needs, ..] = secrets(n);
    let mut body = linkway::demo::referral_body(u64::from(n));
    body["person"]["given_name"] = json!(given);
    body["person"]["family_name"] = json!(family);
    body["person"]["address"]["lines"] = json!([street, "Leeds"]);
    body["needs_and_concerns"]["text"] = json!(needs);
    body
}

/// Whether any of person `n`'s details appear in `text`.
fn leaks(text: &str, n: u32) -> Option<String> {
    secrets(n).into_iter().find(|s| text.contains(s.as_str()))
}

/// The summary without what says when it was computed.
fn figures(mut summary: Value) -> Value {
    fn strip(v: &mut Value) {
        if let Some(map) = v.as_object_mut() {
            map.remove("sequence");
            map.remove("computed_at");
            map.remove("generated_at");
            map.values_mut().for_each(strip);
        } else if let Some(items) = v.as_array_mut() {
            items.iter_mut().for_each(strip);
        }
    }
    strip(&mut summary);
    summary
}

/// Every message of the scope's stream as stored, read with a plain client (no vault).
async fn raw_log(env: &TestEnv) -> Vec<String> {
    let store = env.store().await;
    let end = store.last_sequence().await.expect("log end");
    let mut reader = store.read_from(1).await.expect("reader");
    let mut all = Vec::new();
    while reader.position() <= end {
        let e = reader.next().await;
        all.push(String::from_utf8_lossy(&e.payload).into_owned());
    }
    all
}

/// `linkway serve` on the shared servers, with a referrer routed to a link-worker service.
async fn start() -> (TestEnv, Linkway) {
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
    env.referrer_and_link_worker(GP, LW, AREA).await;
    (env, lw)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_erased_person_is_gone_from_everything_but_the_counts_and_the_log_never_held_them_in_clear()
 {
    let (env, lw) = start().await;
    env.register_organisation(OTHER, OrganisationKind::GpPractice, Some(AREA), false)
        .await;
    env.register_organisation(ICB, OrganisationKind::Commissioner, Some(AREA), false)
        .await;
    let (gp, _) = env.issue_token(GP, Role::Referrer).await;
    let (worker, _) = env.issue_token(LW, Role::LinkWorker).await;
    let (ig, _) = env.issue_token(GP, Role::IgLead).await;
    let (ig_other, _) = env.issue_token(OTHER, Role::IgLead).await;
    let (icb, _) = env.issue_token(ICB, Role::Commissioner).await;
    let c = ApiClient::new();
    let (intake, link_worker, reporting) =
        (lw.url("intake"), lw.url("link-worker"), lw.url("reporting"));
    for (url, token) in [
        (format!("{intake}/referrals"), &gp),
        (format!("{link_worker}/caseload"), &worker),
        (format!("{reporting}/summary"), &icb),
        (format!("{intake}/audit"), &ig),
        (format!("{intake}/audit"), &ig_other),
    ] {
        c.until_authorised(&url, token).await;
    }

    // Two people, each referred and worked: notes, a plan in their words.
    let mut ids = Vec::new();
    for n in [1, 2] {
        let sent = c
            .ok(
                "POST",
                &format!("{intake}/referrals"),
                &gp,
                Some(referral(n)),
            )
            .await;
        let id = sent["referral_id"].as_str().unwrap().to_owned();
        let seq = sent["sequence"].as_u64().unwrap();
        c.ok(
            "GET",
            &format!("{link_worker}/cases/{id}?min_sequence={seq}"),
            &worker,
            None,
        )
        .await;
        let [.., notes, matters] = secrets(n);
        for (path, body) in [
            ("accept", json!({})),
            ("assignment", json!({"link_worker_id": "lw-1"})),
            (
                "contacts",
                json!({"kind": "made", "channel": "phone", "minutes": 20, "notes": notes}),
            ),
            (
                "plan",
                json!({"what_matters": matters, "goals": ["Join a choir"], "actions": [],
                            "review_date": "2099-01-01"}),
            ),
        ] {
            c.ok(
                "POST",
                &format!("{link_worker}/cases/{id}/{path}"),
                &worker,
                Some(body),
            )
            .await;
        }
        ids.push(id);
    }
    let (a, b) = (&ids[0], &ids[1]);

    // The log as stored holds neither person's details: every personal part is sealed.
    let log = raw_log(&env).await;
    let sealed = log
        .iter()
        .filter(|m| m.contains("\"personal_sealed\""))
        .count();
    assert!(
        sealed >= 6,
        "2 referrals, 2 contacts, 2 plans sealed: {sealed}"
    );
    for message in &log {
        assert!(
            !message.contains("\"personal\""),
            "a personal part in clear: {message}"
        );
        for n in [1, 2] {
            assert_eq!(leaks(message, n), None, "in the raw log: {message}");
        }
    }
    // ... while the services, which hold the key, show them.
    let case = c
        .ok("GET", &format!("{link_worker}/cases/{a}"), &worker, None)
        .await;
    assert_eq!(leaks(&case.to_string(), 1).as_deref(), Some("Ottoline1"));

    let end = env.store().await.last_sequence().await.unwrap();
    let before = figures(
        c.ok(
            "GET",
            &format!("{reporting}/summary?min_sequence={end}"),
            &icb,
            None,
        )
        .await,
    );

    // Only administrators and the IG leads of the referral's organisations may erase.
    let erase = format!("{intake}/referrals/{a}/person/erasure");
    let reason = json!({"reason": "person_asked"});
    assert_eq!(
        c.call("POST", &erase, &worker, Some(reason.clone()))
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        c.call("POST", &erase, &ig_other, Some(reason.clone()))
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    let (status, refused) = c
        .call("POST", &erase, &ig, Some(json!({"reason": "because"})))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    let erased = c.ok("POST", &erase, &ig, Some(reason.clone())).await;
    assert_eq!(erased["erased"], true);
    let seq = erased["sequence"].as_u64().unwrap();
    // Erasing again changes nothing.
    let again = c.ok("POST", &erase, &ig, Some(reason)).await;
    assert_eq!(again["sequence"].as_u64(), Some(seq));

    // Nothing of person 1 anywhere the services answer; person 2 untouched.
    let shown = [
        c.ok(
            "GET",
            &format!("{intake}/referrals/{a}?min_sequence={seq}"),
            &gp,
            None,
        )
        .await,
        c.ok(
            "GET",
            &format!("{intake}/referrals?min_sequence={seq}"),
            &gp,
            None,
        )
        .await,
        c.ok(
            "GET",
            &format!("{link_worker}/cases/{a}?min_sequence={seq}"),
            &worker,
            None,
        )
        .await,
        c.ok(
            "GET",
            &format!("{link_worker}/caseload?min_sequence={seq}"),
            &worker,
            None,
        )
        .await,
        c.ok("GET", &format!("{intake}/referrals/{a}/person"), &ig, None)
            .await,
    ];
    for answer in &shown {
        assert_eq!(leaks(&answer.to_string(), 1), None, "{answer}");
    }
    assert_eq!(shown[0]["erased"], true);
    assert!(shown[0].get("person").is_none(), "{}", shown[0]);
    assert_eq!(shown[4]["erased"], true);
    let other = c
        .ok("GET", &format!("{link_worker}/cases/{b}"), &worker, None)
        .await;
    assert_eq!(leaks(&other.to_string(), 2).as_deref(), Some("Ottoline2"));
    let export = c
        .ok("GET", &format!("{intake}/referrals/{b}/person"), &ig, None)
        .await;
    assert_eq!(export["erased"], false);
    assert!(export.to_string().contains("Perpetua2"), "{export}");
    assert!(
        export["events"].as_array().unwrap().len() >= 6,
        "received, routed, accepted, assigned, contact, plan: {export}"
    );
    // The export is itself in the audit trail, which the next export shows.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let export = c
            .ok("GET", &format!("{intake}/referrals/{b}/person"), &ig, None)
            .await;
        let audit = export["audit"].as_array().unwrap();
        if audit
            .iter()
            .any(|e| e["operation"] == "exportPerson" && e["role"] == "ig_lead")
        {
            assert!(
                audit.iter().any(|e| e["operation"] == "getCase"),
                "{export}"
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no export in the audit: {export}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // The erased case takes no more commands.
    let (status, refused) = c
        .call("POST", &format!("{link_worker}/cases/{a}/contacts"), &worker,
              Some(json!({"kind": "made", "channel": "phone", "minutes": 5, "notes": "Ottoline1 again"})))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    assert_eq!(refused["errors"][0]["rule"], "person_erased", "{refused}");

    // Reporting's figures are what they were.
    let end = env.store().await.last_sequence().await.unwrap();
    let after = figures(
        c.ok(
            "GET",
            &format!("{reporting}/summary?min_sequence={end}"),
            &icb,
            None,
        )
        .await,
    );
    assert_eq!(after, before);

    // A full rebuild of every read model from the log succeeds and yields none of it.
    for projection in ["referrals", "caseload", "reporting", "audit"] {
        let out = lw
            .run(&["rebuild", projection, "--quiet"])
            .expect("rebuild");
        assert!(
            out.status.success(),
            "rebuild {projection}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let end = env.store().await.last_sequence().await.unwrap();
    for url in [
        format!("{intake}/referrals/{a}?min_sequence={end}"),
        format!("{intake}/referrals?min_sequence={end}"),
    ] {
        let answer = c.ok("GET", &url, &gp, None).await;
        assert_eq!(leaks(&answer.to_string(), 1), None, "{answer}");
    }
    let case = c
        .ok(
            "GET",
            &format!("{link_worker}/cases/{a}?min_sequence={end}"),
            &worker,
            None,
        )
        .await;
    assert_eq!(leaks(&case.to_string(), 1), None, "{case}");
    let other = c
        .ok("GET", &format!("{link_worker}/cases/{b}"), &worker, None)
        .await;
    assert_eq!(leaks(&other.to_string(), 2).as_deref(), Some("Ottoline2"));
    let rebuilt = figures(
        c.ok(
            "GET",
            &format!("{reporting}/summary?min_sequence={end}"),
            &icb,
            None,
        )
        .await,
    );
    assert_eq!(rebuilt, before);

    // The log, opened with the key store, yields nothing of person 1 either.
    let opened = env.opened_store().await;
    for event in opened.load_aggregate(a).await.unwrap() {
        let text = String::from_utf8_lossy(&event.event.payload).into_owned();
        assert_eq!(leaks(&text, 1), None, "an opened event: {text}");
    }
    let mut person_2_opened = false;
    for event in opened.load_aggregate(b).await.unwrap() {
        person_2_opened |= String::from_utf8_lossy(&event.event.payload).contains("Ottoline2");
    }
    assert!(person_2_opened);

    // Nothing of person 1 in anything the process logged.
    assert_eq!(leaks(&lw.log(), 1), None);
    lw.sigterm(Duration::from_secs(10));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotating_the_kek_rewraps_every_data_key_and_the_old_kek_can_then_go() {
    let (env, lw) = start().await;
    let (gp, _) = env.issue_token(GP, Role::Referrer).await;
    let (worker, _) = env.issue_token(LW, Role::LinkWorker).await;
    let c = ApiClient::new();
    let (intake, link_worker) = (lw.url("intake"), lw.url("link-worker"));
    c.until_authorised(&format!("{intake}/referrals"), &gp)
        .await;
    c.until_authorised(&format!("{link_worker}/caseload"), &worker)
        .await;
    let mut ids = Vec::new();
    for n in [3, 4] {
        let sent = c
            .ok(
                "POST",
                &format!("{intake}/referrals"),
                &gp,
                Some(referral(n)),
            )
            .await;
        ids.push((
            n,
            sent["referral_id"].as_str().unwrap().to_owned(),
            sent["sequence"].as_u64().unwrap(),
        ));
    }
    lw.sigterm(Duration::from_secs(10));

    let made = lw
        .run(&["admin", "keys", "new-kek", "kek-2027-01"])
        .expect("new-kek");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let new_kek = String::from_utf8(made.stdout).unwrap().trim().to_owned();
    assert!(new_kek.starts_with("kek-2027-01:"), "{new_kek}");
    let both = format!("{new_kek},{TEST_KEKS}");
    let rotate = |keks: &str| {
        let mut cmd = std::process::Command::new(BINARY);
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("LINKWAY_") {
                cmd.env_remove(name);
            }
        }
        cmd.envs(lw.environment().iter().map(|(n, v)| (n, v)))
            .env("LINKWAY_KEKS", keks)
            .args(["admin", "keys", "rotate"])
            .output()
            .expect("rotate")
    };
    let first = rotate(&both);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let said = String::from_utf8_lossy(&first.stdout).into_owned();
    assert!(
        said.starts_with("2 data keys re-wrapped under KEK kek-2027-01"),
        "{said}"
    );
    let second = rotate(&both);
    let said = String::from_utf8_lossy(&second.stdout).into_owned();
    assert!(said.starts_with("0 data keys re-wrapped"), "{said}");

    // Only the new KEK from now on: everything is still readable.
    let lw = lw.env("LINKWAY_KEKS", new_kek.as_str());
    lw.start_ready(Duration::from_secs(90))
        .await
        .expect("ready");
    for (n, id, seq) in &ids {
        let case = c
            .ok(
                "GET",
                &format!("{link_worker}/cases/{id}?min_sequence={seq}"),
                &worker,
                None,
            )
            .await;
        assert!(case.to_string().contains(&format!("Ottoline{n}")), "{case}");
    }
    let out = lw
        .run(&["rebuild", "caseload", "--quiet"])
        .expect("rebuild");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (id, seq) = (&ids[0].1, ids[0].2);
    let case = c
        .ok(
            "GET",
            &format!("{link_worker}/cases/{id}?min_sequence={seq}"),
            &worker,
            None,
        )
        .await;
    assert!(case.to_string().contains("Ottoline3"), "{case}");
    lw.sigterm(Duration::from_secs(10));
}
