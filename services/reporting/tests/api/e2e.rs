//! End to end: a synthetic population referred through intake's API and worked through the
//! link-worker service's API; reporting's feed and summary against figures computed here.

use std::time::{Duration, Instant};

use linkway_events::Role;
use linkway_events::registry::{RegistryEvent, RoutingCriterion, RoutingRuleAdded};
use linkway_events::{Actor, Envelope, Event};
use linkway_eventstore::{Expected as Exp, PendingEvent};
use reqwest::StatusCode;
use serde_json::{Value, json};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::journeys::check_summary;
use crate::population::*;
use crate::support::World;

/// Community services in the directory: one onward connection per service at a time.
const DIRECTORY: [&str; 3] = ["walk-1", "choir-1", "garden-1"];
/// Each one's kind of service, as the directory's taxonomy term (the directory says
/// `Physical activity`; link-worker keeps terms in lower case).
const KINDS: [&str; 3] = [
    "physical activity",
    "arts and creativity",
    "nature and gardening",
];

struct Apis<'a> {
    w: &'a World,
    intake: String,
    link_worker: String,
}

impl Apis<'_> {
    async fn send(&self, token: &str, url: String, body: Option<Value>) -> (StatusCode, Value) {
        let request = match body {
            Some(b) => self.w.http.post(url).json(&b),
            None => self.w.http.get(url),
        };
        let response = request.bearer_auth(token).send().await.expect("answer");
        let status = response.status();
        let text = response.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// POST to the link-worker service, retrying while the case has not reached its
    /// caseload yet (it follows intake's events).
    async fn case(&self, token: &str, id: Uuid, path: &str, body: Value) -> Value {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let url = format!("{}/cases/{id}{path}", self.link_worker);
            let (status, answer) = self.send(token, url, Some(body.clone())).await;
            if status.is_success() {
                return answer;
            }
            assert!(
                status == StatusCode::NOT_FOUND && Instant::now() < deadline,
                "{path}: {status} {answer}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

async fn usable(w: &World, url: &str, token: &str) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while w
        .http
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        == StatusCode::UNAUTHORIZED
    {
        assert!(Instant::now() < deadline, "token never usable at {url}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn referral_body(p: &crate::support::TestPerson, needs: &[&str]) -> Value {
    json!({
        "person": {
            "nhs_number": p.nhs_number,
            "nhs_number_verification": "number-present-and-verified",
            "given_name": p.given_name,
            "family_name": p.family_name,
            "birth_date": p.birth_date,
            "address": {"lines": [p.address_line, "Leeds"], "postcode": p.postcode},
            "phone": p.phone,
            "email": p.email,
            "preferred_contact_method": "phone",
            "language": "en"
        },
        "needs_and_concerns": {
            "codes": needs.iter().map(|c| json!({"code": c})).collect::<Vec<_>>(),
            "text": p.needs_text
        },
        "urgency": "routine",
        "safeguarding_concern": false,
        "legal_basis": "public_task_health_care",
        "consent": {"referral_agreed": true, "share_details_with_referrer": true},
        "practitioner": {"name": "Dr Placeholder", "role": "GP"}
    })
}

fn wire<T: serde::Serialize>(v: T) -> Value {
    serde_json::to_value(v).unwrap()
}

#[tokio::test]
async fn a_population_through_intake_and_link_worker_apis_gives_the_expected_figures() {
    let w = World::new().await;
    // Routing: the GP practice's referrals go to lw-a, the council's to lw-a2.
    for (from, to) in [("gp-a", "lw-a"), ("council-a", "lw-a2")] {
        let rule_id = Uuid::now_v7();
        let event: Event = RegistryEvent::RoutingRuleAdded(RoutingRuleAdded {
            rule_id,
            link_worker_organisation_id: to.into(),
            criterion: RoutingCriterion::ReferringOrganisation {
                organisation_id: from.into(),
            },
            priority: 1,
        })
        .into();
        let envelope = Envelope::new(
            rule_id.to_string(),
            &event,
            Actor::system(),
            Uuid::now_v7(),
            OffsetDateTime::now_utc(),
        );
        w.store
            .append(
                "routing_rule",
                &rule_id.to_string(),
                Exp::NoEvents,
                vec![PendingEvent::new(envelope)],
            )
            .await
            .unwrap();
    }
    let (council_referrer, _) = w.env.issue_token("council-a", Role::Referrer).await;
    let (lw_a2, _) = w.env.issue_token("lw-a2", Role::LinkWorker).await;
    let intake = linkway_intake::start(w.env.context("intake").await)
        .await
        .expect("intake");
    let link_worker = linkway_link_worker::start(w.env.context("link-worker").await)
        .await
        .expect("link-worker");
    let apis = Apis {
        w: &w,
        intake: linkway_testkit::serve(intake, w.env.shutdown()).await,
        link_worker: linkway_testkit::serve(link_worker, w.env.shutdown()).await,
    };
    for (base, path, token) in [
        (&apis.intake, "/referrals", &council_referrer),
        (&apis.intake, "/referrals", &w.referrer),
        (&apis.link_worker, "/caseload", &lw_a2),
        (&apis.link_worker, "/caseload", &w.link_worker),
        (&apis.link_worker, "/directory", &w.service_manager),
    ] {
        usable(&w, &format!("{base}{path}"), token).await;
    }
    let services: Vec<Value> = DIRECTORY
        .iter()
        .zip(KINDS)
        .map(|(id, kind)| json!({"id": id, "name": format!("{id} group"), "status": "active", "url": "https://example.org",
            "attributes": [{"taxonomy_term": {"term": kind.to_uppercase()}}]}))
        .collect();
    let directory = json!({"contents": services});
    let (status, answer) = apis
        .send(
            &w.service_manager,
            format!("{}/directory/import", apis.link_worker),
            Some(directory),
        )
        .await;
    assert!(status.is_success(), "{status} {answer}");

    // The population: everything happens today, as the APIs stamp it.
    let today = OffsetDateTime::now_utc().date();
    let mut plans = population(23, 40);
    for p in &mut plans {
        p.on = today;
        p.routed_to = Some(if p.referrer == "gp-a" {
            "lw-a"
        } else {
            "lw-a2"
        });
        p.first_contact_after = p.first_contact_after.map(|_| 0);
        p.entered_in_error = false;
        p.withdrawn = false;
        if p.decision.is_none() && p.closed.is_some() {
            p.closed = None;
        }
    }
    for p in &plans {
        let person = w.new_person();
        let token = if p.referrer == "gp-a" {
            &w.referrer
        } else {
            &council_referrer
        };
        let (status, submitted) = apis
            .send(
                token,
                format!("{}/referrals", apis.intake),
                Some(referral_body(&person, &p.needs)),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{submitted}");
        assert_eq!(submitted["status"], "routed", "{submitted}");
        let id: Uuid = submitted["referral_id"].as_str().unwrap().parse().unwrap();
        let lw = if p.referrer == "gp-a" {
            &w.link_worker
        } else {
            &lw_a2
        };
        match p.decision {
            None => continue,
            Some(Decision::Decline(reason)) => {
                apis.case(lw, id, "/decline", json!({"reason": wire(reason)}))
                    .await;
                continue;
            }
            Some(Decision::Accept) => {
                apis.case(lw, id, "/accept", json!({})).await;
                apis.case(lw, id, "/assignment", json!({})).await;
            }
        }
        for _ in 0..p.attempts {
            apis.case(
                lw,
                id,
                "/contacts",
                json!({"kind": "attempt", "channel": "phone"}),
            )
            .await;
        }
        if p.first_contact_after.is_some() {
            for _ in 0..p.contacts {
                apis.case(
                    lw,
                    id,
                    "/contacts",
                    json!({"kind": "made", "channel": "phone", "minutes": 40}),
                )
                .await;
            }
        }
        if p.plan_agreed {
            let outcome = |instrument: &str, timepoint: &str, answers: Vec<u8>| json!({"instrument": instrument, "timepoint": timepoint, "item_answers": answers});
            if let Some((b, _)) = p.swemwbs {
                apis.case(
                    lw,
                    id,
                    "/outcomes",
                    outcome("swemwbs", "baseline", swemwbs_items(b)),
                )
                .await;
            }
            if let Some((b, _)) = p.ons4 {
                apis.case(lw, id, "/outcomes", outcome("ons4", "baseline", b.to_vec()))
                    .await;
            }
            if let Some((b, _)) = p.ucla3 {
                apis.case(
                    lw,
                    id,
                    "/outcomes",
                    outcome("ucla3", "baseline", b.to_vec()),
                )
                .await;
            }
            // MYCaW through link-worker's API, the person's concerns in their words: link-worker
            // scores it, reporting counts it without ever seeing the words.
            let mycaw = |timepoint: &str, answers: &[u8]| json!({"instrument": "mycaw", "timepoint": timepoint, "item_answers": answers, "concerns": vec!["Sleeping badly since the move"; answers.len() - 1]});
            if let Some((b, _)) = &p.mycaw {
                apis.case(lw, id, "/outcomes", mycaw("baseline", b)).await;
            }
            let review = (today + time::Duration::days(42)).to_string();
            apis.case(
                lw,
                id,
                "/plan",
                json!({"what_matters": "Getting out", "goals": ["Walk weekly"], "actions": ["Call the group"], "review_date": review}),
            )
            .await;
            for (k, &(accepted, attended)) in p.connections.iter().enumerate() {
                let made = apis
                    .case(lw, id, "/connections", json!({"service_id": DIRECTORY[k], "legal_basis": "explicit_consent", "share": ["name", "phone"]}))
                    .await;
                let connection = made["connection_id"]
                    .as_str()
                    .expect("connection id")
                    .to_owned();
                let path = format!("/connections/{connection}/responses");
                let first = if accepted { "accepted" } else { "declined" };
                apis.case(lw, id, &path, json!({"response": first})).await;
                if attended {
                    apis.case(lw, id, &path, json!({"response": "attended"}))
                        .await;
                }
            }
            if let Some((_, l)) = p.swemwbs {
                apis.case(
                    lw,
                    id,
                    "/outcomes",
                    outcome("swemwbs", "review", swemwbs_items(l)),
                )
                .await;
            }
            if let Some((_, l)) = p.ons4 {
                apis.case(lw, id, "/outcomes", outcome("ons4", "exit", l.to_vec()))
                    .await;
            }
            if let Some((_, l)) = p.ucla3 {
                apis.case(lw, id, "/outcomes", outcome("ucla3", "review", l.to_vec()))
                    .await;
            }
            if let Some((_, l)) = &p.mycaw {
                apis.case(lw, id, "/outcomes", mycaw("review", l)).await;
            }
        }
        if let Some(reason) = p.closed {
            apis.case(lw, id, "/closure", json!({"reason": wire(reason)}))
                .await;
        }
    }

    // Reporting has seen everything the two services appended.
    let seq = w.last_sequence().await;
    let summary = w
        .json(&format!("/summary?min_sequence={seq}"), &w.commissioner_a)
        .await;
    check_summary(&summary, &expected(plans.iter()));
    // Connections by kind of service: a person's connection k went to DIRECTORY[k].
    let mut by_kind = std::collections::BTreeMap::new();
    for p in plans.iter().filter(|p| !p.entered_in_error) {
        for kind in KINDS.iter().take(p.connections.len()) {
            *by_kind.entry(*kind).or_insert(0u64) += 1;
        }
    }
    let kinds_shown = &summary["measures"]["connections_made"]["by_service_kind"];
    assert!(!by_kind.is_empty());
    assert_eq!(
        kinds_shown.as_object().unwrap().len(),
        by_kind.len(),
        "{kinds_shown}"
    );
    for (kind, truth) in by_kind {
        assert_figure(kind, &kinds_shown[kind], truth);
    }
    // Referrals by month and source: every referral is today's, so one row, whose cells
    // are the referrals by kind of referring organisation.
    let cross = summary["referrals_by_month_and_referrer_kind"]
        .as_object()
        .unwrap();
    assert_eq!(cross.len(), 1, "{cross:?}");
    let row = cross.values().next().unwrap().as_object().unwrap();
    let kinds = summary["measures"]["referrals"]["by_referrer_kind"]
        .as_object()
        .unwrap();
    assert_eq!(
        row.keys().collect::<Vec<_>>(),
        kinds.keys().collect::<Vec<_>>()
    );
    let feed = w
        .json(&format!("/feed?min_sequence={seq}"), &w.commissioner_a)
        .await;
    let month = format!("{:04}-{:02}", today.year(), u8::from(today.month()));
    assert_eq!(feed["months"].as_array().unwrap().len(), 1, "{feed}");
    assert_eq!(feed["months"][0]["month"], month);
    let mut checked = 0;
    for cell in feed["months"][0]["cells"].as_array().unwrap() {
        let in_cell = plans.iter().filter(|p| {
            let need = if cell["need"] == "unspecified" {
                p.needs.is_empty()
            } else {
                p.needs.iter().any(|n| cell["need"] == *n)
            };
            cell["referrer_kind"] == p.referrer_kind
                && cell["link_worker_service"] == p.routed_to.unwrap()
                && need
        });
        let e = expected(in_cell);
        assert!(e.referrals > 0, "{cell}");
        let counts = &cell["counts"];
        for (name, truth) in [
            ("referrals", e.referrals),
            ("routed", e.routed),
            ("accepted", e.accepted),
            ("not_contactable", e.not_contactable),
            ("first_contact_made", e.first_contact_made),
            (
                "first_contact_within_14_days",
                e.first_contact_within_14_days,
            ),
            ("plans_agreed", e.plans_agreed),
            ("connections_made", e.connections_made),
            ("connections_accepted", e.connections_accepted),
            ("connections_attended", e.connections_attended),
        ] {
            assert_eq!(counts[name], shown(truth), "{name} in {cell}");
        }
        assert_figure("declined", &counts["declined"], e.declined);
        assert_figure("closed", &counts["closed"], e.closed);
        for (reason, &truth) in &e.closed_by_reason {
            assert_figure(reason, &cell["closed_by_reason"][reason], truth);
        }
        let o = &cell["outcomes"];
        assert_eq!(
            o["swemwbs"]["people"],
            shown(e.swemwbs_changes.len() as u64)
        );
        if !e.swemwbs_changes.is_empty() {
            assert_statistic(
                "swemwbs",
                &o["swemwbs"]["mean_change"],
                mean(&e.swemwbs_changes),
                e.swemwbs_changes.len(),
            );
        }
        if e.referrals > 7 {
            checked += 1;
        }
    }
    assert!(checked >= 2, "some cells are big enough to show figures");
    // CSV too, and nothing personal anywhere.
    let (status, _, csv) = w.get("/feed", &w.commissioner_a, Some("text/csv")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(csv.lines().count() > 1);
    assert!(
        w.people
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .len()
            == plans.len()
    );
    w.assert_nothing_personal();
    let concern_shown = w
        .bodies
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .iter()
        .any(|b| b.contains("Sleeping badly"));
    assert!(!concern_shown, "a MYCaW concern reached a reporting answer");
    w.assert_no_dead_letters().await;
}
