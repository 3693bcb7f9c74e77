//! Issue 9: "a projection that meets an event it cannot store is a defect to prevent at the
//! edge". Arbitrary strings (any Unicode, and strings rich in NUL, other controls, bidi
//! controls, combining marks, zero-width and blank ones) in every text field of every
//! command that takes one, against a running link-worker: an accepted command's text is
//! visible in the caseload read model as the text rule keeps it, a refused one is a 422
//! naming the field that appended nothing, and the projection parks nothing. Seeded, so
//! every run tries the same cases.

use linkway_link_worker::api::fields;
use linkway_platform::text::Text;
use proptest::prelude::*;

use super::*;

/// Text that stresses the rule: any string, or one built from awkward characters.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[a-zA-Z \\t\\n\\r\u{0}\u{1}\u{1b}\u{7f}\u{85}\u{a0}\u{200b}\u{202e}\u{2066}\u{301}\u{fdd0}\u{ffff}é李]{0,24}",
        Just(String::new()),
        Just("  \t ".to_owned()),
    ]
}

/// The inputs of one case's commands.
#[derive(Debug, Clone)]
struct Inputs {
    link_worker_id: String,
    notes: String,
    what_matters: String,
    goals: Vec<String>,
    actions: Vec<String>,
    concern: String,
}

fn inputs() -> impl Strategy<Value = Inputs> {
    (
        text(),
        text(),
        text(),
        prop::collection::vec(text(), 1..3),
        prop::collection::vec(text(), 0..3),
        text(),
    )
        .prop_map(
            |(link_worker_id, notes, what_matters, goals, actions, concern)| Inputs {
                link_worker_id,
                notes,
                what_matters,
                goals,
                actions,
                concern,
            },
        )
}

/// Whether every text is kept whole by its rule (so the command must be accepted).
fn all_kept(texts: &[(&String, Text)]) -> bool {
    texts
        .iter()
        .all(|(raw, rule)| matches!(rule.clean(raw), Ok(Some(_))))
}

fn kept(raw: &str, rule: Text) -> Option<String> {
    rule.clean(raw).ok().flatten()
}

/// Sends one command: accepted (200) or refused (422 naming a field, nothing appended);
/// `must` when every text in it is kept by its rule. Returns whether it was accepted.
async fn send(s: &Service, token: &str, id: Uuid, path: &str, body: Value, must: bool) -> bool {
    let before = s.case_events(id).await;
    let (status, answer) = s
        .post(token, &format!("/cases/{id}{path}"), body.clone())
        .await;
    match status {
        StatusCode::OK => true,
        StatusCode::UNPROCESSABLE_ENTITY => {
            assert!(!must, "{path} {body:?} refused: {answer}");
            assert!(answer["errors"][0]["field"].is_string(), "{answer}");
            assert_eq!(s.case_events(id).await, before, "{path} appended on a 422");
            false
        }
        other => panic!("{path} {body:?}: {other} {answer}"),
    }
}

#[test]
fn every_accepted_commands_text_is_visible_in_the_caseload_and_every_refused_one_appends_nothing() {
    let (runtime, mut runner) = seeded(24);
    let s = runtime.block_on(Service::start());
    let lw = runtime.block_on(s.token(NORTH, Role::LinkWorker));
    let review = (OffsetDateTime::now_utc().date() + time::Duration::days(30)).to_string();
    let accepted = std::cell::Cell::new(0usize);
    runner
        .run(&inputs(), |i| {
            runtime.block_on(async {
                let (id, _) = s.refer(NORTH, "Prop").await;
                s.ok(&lw, &format!("/cases/{id}/accept"), json!({})).await;
                let body = json!({"link_worker_id": i.link_worker_id});
                // Blank names no one: the caller is assigned.
                let must = fields::LINK_WORKER_ID.clean(&i.link_worker_id).is_ok();
                let assigned = send(&s, &lw, id, "/assignment", body, must).await;
                if !assigned {
                    s.ok(&lw, &format!("/cases/{id}/assignment"), json!({}))
                        .await;
                }
                let body =
                    json!({"kind": "made", "channel": "phone", "minutes": 15, "notes": i.notes});
                let must = fields::CONTACT_NOTES.clean(&i.notes).is_ok();
                let contacted = send(&s, &lw, id, "/contacts", body, must).await;
                if !contacted {
                    let bare = json!({"kind": "made", "channel": "phone", "minutes": 15});
                    s.ok(&lw, &format!("/cases/{id}/contacts"), bare).await;
                }
                let mut plan_texts = vec![(&i.what_matters, fields::WHAT_MATTERS)];
                plan_texts.extend(i.goals.iter().map(|g| (g, fields::GOAL)));
                plan_texts.extend(i.actions.iter().map(|a| (a, fields::ACTION)));
                let body = json!({"what_matters": i.what_matters, "goals": i.goals,
                    "actions": i.actions, "review_date": review});
                let planned = send(&s, &lw, id, "/plan", body, all_kept(&plan_texts)).await;
                let body = json!({"concern": i.concern});
                let must = all_kept(&[(&i.concern, fields::CONCERN)]);
                let raised = send(&s, &lw, id, "/safeguarding", body, must).await;
                accepted.set(
                    accepted.get()
                        + [assigned, contacted, planned, raised]
                            .iter()
                            .filter(|a| **a)
                            .count(),
                );

                // Everything accepted is in the read model, as the rule keeps it.
                let last = s.store.last_sequence().await.expect("log");
                let (status, case) = s.case(&lw, id, last).await;
                assert_eq!(status, StatusCode::OK, "{case}");
                assert_eq!(case["person_name"], "Prop Testperson", "{case}");
                match kept(&i.link_worker_id, fields::LINK_WORKER_ID) {
                    Some(worker) if assigned => assert_eq!(case["link_worker_id"], worker),
                    _ => assert!(case["link_worker_id"].is_string(), "the caller: {case}"),
                }
                let notes = contacted
                    .then(|| kept(&i.notes, fields::CONTACT_NOTES))
                    .flatten();
                assert_eq!(case["contacts_made"], 1, "{case}");
                assert_eq!(case["contacts"][0]["notes"], json!(notes), "{i:?}");
                if planned {
                    let plan = &case["plan"]["personal"];
                    let what = kept(&i.what_matters, fields::WHAT_MATTERS);
                    assert_eq!(plan["what_matters"], json!(what), "{i:?}");
                    let goals: Vec<_> = i.goals.iter().map(|g| kept(g, fields::GOAL)).collect();
                    assert_eq!(plan["goals"], json!(goals), "{i:?}");
                    let actions: Vec<_> =
                        i.actions.iter().map(|a| kept(a, fields::ACTION)).collect();
                    assert_eq!(plan["actions"], json!(actions), "{i:?}");
                } else {
                    assert!(case["plan"].is_null(), "{case}");
                }
                let concerns = case["safeguarding_concerns"].as_array().unwrap();
                assert_eq!(concerns.len(), usize::from(raised), "{case}");
                if raised {
                    let concern = kept(&i.concern, fields::CONCERN);
                    assert_eq!(concerns[0]["concern"], json!(concern), "{i:?}");
                }
                let parked = super::text_rule::dead_letters(&s).await;
                assert!(parked.is_empty(), "{parked:?}");
                Ok(())
            })
        })
        .unwrap();
    let accepted = accepted.get();
    assert!(accepted >= 24, "some commands were accepted ({accepted})");
}
