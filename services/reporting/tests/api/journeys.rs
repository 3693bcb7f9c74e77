//! A synthetic population appended straight to the log: the summary's and the feed's
//! figures against figures computed independently in the test, and rebuild.

use std::collections::BTreeMap;

use linkway_events::case::{CaseClosed, CaseEvent, ClosureReason};
use reqwest::StatusCode;
use time::macros::date;

use crate::population::*;
use crate::support::{AREA_A, AREA_B, World};

pub fn check_summary(s: &serde_json::Value, e: &Expected) {
    let m = &s["measures"];
    for (name, truth) in [
        ("referrals", e.referrals),
        ("routed", e.routed),
        ("accepted", e.accepted),
        ("declined", e.declined),
        ("first_contact_made", e.first_contact_made),
        (
            "first_contact_within_14_days",
            e.first_contact_within_14_days,
        ),
        ("plans_agreed", e.plans_agreed),
        ("connections_made", e.connections_made),
        ("connections_accepted", e.connections_accepted),
        ("connections_attended", e.connections_attended),
        ("closed", e.closed),
        ("withdrawn", e.withdrawn),
        ("not_contactable", e.not_contactable),
    ] {
        // A total may be suppressed too, when its breakdowns would otherwise give a small
        // cell away (secondary suppression).
        assert_figure(&format!("{name} total"), &m[name]["total"], truth);
    }
    assert_eq!(
        m["referrals"]["total"],
        shown(e.referrals),
        "the headline is never lost"
    );
    for (reason, &truth) in &e.declined_by_reason {
        assert_figure(reason, &m["declined"]["by_reason"][reason], truth);
    }
    for (reason, &truth) in &e.closed_by_reason {
        assert_figure(reason, &m["closed"]["by_reason"][reason], truth);
    }
    // Percent within 14 days: from the shown (rounded) figures.
    let (within, accepted) = (
        &m["first_contact_within_14_days"]["total"],
        &m["accepted"]["total"],
    );
    let got = &s["first_contact"]["percent_within_14_days"];
    match (within.as_f64(), accepted.as_f64()) {
        (Some(w), Some(a)) => {
            let pct = (1000.0 * w / a).round() / 10.0;
            assert!((got.as_f64().unwrap() - pct).abs() < 1e-9, "{got} vs {pct}");
        }
        _ => assert_eq!(got, "*"),
    }
    assert_statistic(
        "median days",
        &s["first_contact"]["median_days"],
        median(&e.days),
        e.days.len(),
    );
    let o = &s["outcomes"];
    assert_eq!(
        o["swemwbs"]["people"],
        shown(e.swemwbs_changes.len() as u64)
    );
    assert_statistic(
        "swemwbs change",
        &o["swemwbs"]["mean_change"],
        mean(&e.swemwbs_changes),
        e.swemwbs_changes.len(),
    );
    let improved = e
        .swemwbs_changes
        .iter()
        .filter(|&&c| c >= 3.0 - 1e-9)
        .count() as u64;
    assert_eq!(o["swemwbs"]["improved"], shown(improved));
    for (i, item) in ["life_satisfaction", "worthwhile", "happy", "anxious"]
        .iter()
        .enumerate()
    {
        let base: Vec<f64> = e.ons4.iter().map(|(b, _)| f64::from(b[i])).collect();
        let last: Vec<f64> = e.ons4.iter().map(|(_, l)| f64::from(l[i])).collect();
        assert_statistic(
            item,
            &o["ons4"]["baseline_means"][item],
            mean(&base),
            base.len(),
        );
        assert_statistic(
            item,
            &o["ons4"]["latest_means"][item],
            mean(&last),
            last.len(),
        );
    }
    assert_statistic(
        "ucla3",
        &o["ucla3"]["mean_change"],
        mean(&e.ucla3_changes),
        e.ucla3_changes.len(),
    );
    let people = e.mycaw_changes.len() as u64;
    assert_eq!(o["mycaw"]["people"], shown(people));
    assert_statistic(
        "mycaw change",
        &o["mycaw"]["mean_change"],
        mean(&e.mycaw_changes),
        e.mycaw_changes.len(),
    );
    let fell = e.mycaw_changes.iter().filter(|&&c| c > 0.0).count() as u64;
    assert_eq!(o["mycaw"]["improved"], shown(fell));
}

#[tokio::test]
async fn summary_figures_match_an_independent_count_and_survive_a_rebuild() {
    let w = World::new().await;
    let plans = population(7, 150);
    let ids = drive_by_events(&w, &plans).await;
    let seq = w.last_sequence().await;
    let summary = w
        .json(&format!("/summary?min_sequence={seq}"), &w.commissioner_a)
        .await;
    assert_eq!(summary["sequence"], seq);
    check_summary(&summary, &expected(plans.iter()));

    // By month, kind, service and need: each figure is the rule applied to the true count.
    let live = plans.iter().filter(|p| !p.entered_in_error);
    let mut by_month: BTreeMap<String, u64> = BTreeMap::new();
    let mut by_kind: BTreeMap<&str, u64> = BTreeMap::new();
    let mut by_service: BTreeMap<&str, u64> = BTreeMap::new();
    let mut by_need: BTreeMap<&str, u64> = BTreeMap::new();
    for p in live {
        *by_month
            .entry(format!("{:04}-{:02}", p.on.year(), u8::from(p.on.month())))
            .or_default() += 1;
        *by_kind.entry(p.referrer_kind).or_default() += 1;
        *by_service
            .entry(p.routed_to.unwrap_or("unrouted"))
            .or_default() += 1;
        if p.needs.is_empty() {
            *by_need.entry("unspecified").or_default() += 1;
        }
        for n in &p.needs {
            *by_need.entry(n).or_default() += 1;
        }
    }
    let referrals = &summary["measures"]["referrals"];
    for (k, &v) in &by_month {
        assert_figure(k, &referrals["by_month"][k], v);
    }
    for (k, &v) in &by_kind {
        assert_figure(k, &referrals["by_referrer_kind"][k], v);
    }
    for (k, &v) in &by_service {
        assert_figure(k, &referrals["by_link_worker_service"][k], v);
    }
    for (k, &v) in &by_need {
        assert_eq!(
            referrals["by_need"][k],
            shown(v),
            "need {k}: cell by cell, no secondary"
        );
    }
    // A period: February only.
    let feb = w
        .json("/summary?from=2026-02&to=2026-02", &w.commissioner_a)
        .await;
    check_summary(
        &feb,
        &expected(plans.iter().filter(|p| p.on >= date!(2026 - 02 - 01))),
    );
    let (status, _, body) = w
        .get("/summary?from=2026-13", &w.commissioner_a, None)
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body.contains("month_format") && body.contains("\"from\""),
        "{body}"
    );

    // Rebuild the projection: the same answers, to the byte.
    let feed_before = w.json("/feed", &w.commissioner_a).await;
    let ctx = w.env.context("reporting").await;
    let started = std::time::Instant::now();
    let rebuilt = linkway_reporting::rebuild_with(&ctx, &w.settings, "reporting", &|_, _| {})
        .await
        .expect("rebuild")
        .expect("reporting is this service's");
    eprintln!("rebuilt {seq} events in {:?}", started.elapsed());
    assert_eq!(rebuilt, seq);
    let after = w.json("/summary", &w.commissioner_a).await;
    assert_eq!(after, summary);
    assert_eq!(w.json("/feed", &w.commissioner_a).await, feed_before);
    assert_eq!(
        linkway_reporting::rebuild_with(&ctx, &w.settings, "caseload", &|_, _| {})
            .await
            .unwrap(),
        None
    );
    w.assert_nothing_personal();
    w.assert_no_dead_letters().await;
    w.assert_read_model_holds_nothing_personal(&ids).await;
}

#[tokio::test]
async fn the_feed_resumes_from_its_cursor_in_json_and_csv() {
    let w = World::new().await;
    let plans = population(11, 60);
    let ids = drive_by_events(&w, &plans).await;
    let seq = w.last_sequence().await;
    let feed = w
        .json(&format!("/feed?min_sequence={seq}"), &w.commissioner_a)
        .await;
    assert_eq!(feed["area"], AREA_A);
    assert_eq!(feed["cursor"], "0");
    let months: Vec<&str> = feed["months"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["month"].as_str().unwrap())
        .collect();
    assert_eq!(months, ["2026-01", "2026-02"]);

    // Each cell's figures: the rule applied to an independent count of its journeys.
    let mut cells = 0;
    for month in feed["months"].as_array().unwrap() {
        for cell in month["cells"].as_array().unwrap() {
            cells += 1;
            let in_cell = plans.iter().filter(|p| {
                let label = format!("{:04}-{:02}", p.on.year(), u8::from(p.on.month()));
                let need_matches = if cell["need"] == "unspecified" {
                    p.needs.is_empty()
                } else {
                    p.needs.iter().any(|n| cell["need"] == *n)
                };
                label == cell["month"]
                    && cell["referrer_kind"] == p.referrer_kind
                    && cell["link_worker_service"] == p.routed_to.unwrap_or("unrouted")
                    && need_matches
            });
            let e = expected(in_cell);
            assert!(e.referrals > 0, "no empty cells: {cell}");
            for (name, truth) in [
                ("referrals", e.referrals),
                ("routed", e.routed),
                ("accepted", e.accepted),
                ("plans_agreed", e.plans_agreed),
            ] {
                assert_eq!(cell["counts"][name], shown(truth), "{name} in {cell}");
            }
            assert_figure("declined", &cell["counts"]["declined"], e.declined);
            for (reason, &truth) in &e.declined_by_reason {
                assert_figure(reason, &cell["declined_by_reason"][reason], truth);
            }
        }
    }
    assert!(cells >= 6, "{cells}");

    // Nothing new: an empty answer with the same cursor.
    let cursor = feed["next_cursor"].as_str().unwrap().to_owned();
    let again = w
        .json(&format!("/feed?cursor={cursor}"), &w.commissioner_a)
        .await;
    assert_eq!(again["months"], serde_json::json!([]));
    assert_eq!(again["next_cursor"], cursor);

    // A closure in February: only February comes back, in full.
    let feb = plans
        .iter()
        .position(|p| p.on >= date!(2026 - 02 - 01) && !p.entered_in_error && p.closed.is_none())
        .unwrap();
    let seq = w
        .case_event(
            ids[feb],
            CaseEvent::Closed(CaseClosed {
                referral_id: ids[feb],
                reason: ClosureReason::Other,
            }),
            date!(2026 - 03 - 01),
        )
        .await;
    let next = w
        .json(
            &format!("/feed?cursor={cursor}&min_sequence={seq}"),
            &w.commissioner_a,
        )
        .await;
    let months: Vec<&str> = next["months"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["month"].as_str().unwrap())
        .collect();
    assert_eq!(months, ["2026-02"]);
    assert_ne!(next["months"][0], feed["months"][1], "February changed");
    let full = w.json("/feed", &w.commissioner_a).await;
    assert_eq!(
        next["months"][0], full["months"][1],
        "the changed month comes back in full"
    );
    // Resuming from the same cursor again gives the same answer: the cursor is stable.
    assert_eq!(
        w.json(&format!("/feed?cursor={cursor}"), &w.commissioner_a)
            .await,
        next
    );

    // An organisation registered again (its kind or area may have changed): every month
    // with its referrals comes back.
    let after_closure = next["next_cursor"].as_str().unwrap().to_owned();
    let seq = w
        .env
        .register_organisation(
            "council-a",
            linkway_events::registry::OrganisationKind::Council,
            Some(AREA_A),
            false,
        )
        .await;
    let again = w
        .json(
            &format!("/feed?cursor={after_closure}&min_sequence={seq}"),
            &w.commissioner_a,
        )
        .await;
    let mut council_months: Vec<String> = plans
        .iter()
        .filter(|p| p.referrer == "council-a")
        .map(|p| format!("{:04}-{:02}", p.on.year(), u8::from(p.on.month())))
        .collect();
    council_months.sort();
    council_months.dedup();
    let months: Vec<&str> = again["months"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["month"].as_str().unwrap())
        .collect();
    assert_eq!(months, council_months);

    // The council moves to area B: both areas' feeds re-send its months, A's without it.
    let before_move = again["next_cursor"].as_str().unwrap().to_owned();
    let b_cursor = w.json("/feed", &w.commissioner_b).await["next_cursor"]
        .as_str()
        .unwrap()
        .to_owned();
    let seq = w
        .env
        .register_organisation(
            "council-a",
            linkway_events::registry::OrganisationKind::Council,
            Some(AREA_B),
            false,
        )
        .await;
    for (token, cursor) in [
        (&w.commissioner_a, &before_move),
        (&w.commissioner_b, &b_cursor),
    ] {
        let moved = w
            .json(&format!("/feed?cursor={cursor}&min_sequence={seq}"), token)
            .await;
        let months: Vec<&str> = moved["months"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["month"].as_str().unwrap())
            .collect();
        assert_eq!(months, council_months, "{moved}");
        let kinds: Vec<&str> = moved["months"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|m| m["cells"].as_array().unwrap())
            .map(|c| c["referrer_kind"].as_str().unwrap())
            .collect();
        let council_here = kinds.contains(&"council");
        assert_eq!(council_here, *token == w.commissioner_b, "{kinds:?}");
    }
    let back = w
        .env
        .register_organisation(
            "council-a",
            linkway_events::registry::OrganisationKind::Council,
            Some(AREA_A),
            false,
        )
        .await;

    // CSV of the same feed.
    let (status, headers, csv) = w
        .get(
            &format!("/feed?min_sequence={back}"),
            &w.commissioner_a,
            Some("text/csv"),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    assert_eq!(headers["linkway-months"], "2026-01,2026-02");
    let json = w.json("/feed", &w.commissioner_a).await;
    assert_eq!(
        headers["linkway-next-cursor"],
        json["next_cursor"].as_str().unwrap()
    );
    let lines: Vec<&str> = csv.lines().collect();
    let header: Vec<&str> = lines[0].split(',').collect();
    assert_eq!(
        &header[..5],
        [
            "month",
            "referrer_kind",
            "link_worker_service",
            "need",
            "referrals"
        ]
    );
    let rows = json["months"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["cells"].as_array().unwrap().len())
        .sum::<usize>();
    assert_eq!(lines.len() - 1, rows);
    let first = &json["months"][0]["cells"][0];
    let fields: Vec<&str> = lines[1].split(',').collect();
    assert_eq!(fields.len(), header.len());
    assert_eq!(fields[0], first["month"]);
    let referrals = &first["counts"]["referrals"];
    assert_eq!(
        fields[4],
        referrals
            .as_u64()
            .map(|n| n.to_string())
            .unwrap_or("*".into())
    );

    // Another area's commissioner sees none of it (the council's stay in B re-sent B's
    // months, now empty again); a bad cursor is refused.
    let b = w.json("/feed", &w.commissioner_b).await;
    assert!(
        b["months"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["cells"] == serde_json::json!([])),
        "{b}"
    );
    let (status, _, body) = w.get("/feed?cursor=abc", &w.commissioner_a, None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("cursor_format"));
    w.assert_nothing_personal();
    w.assert_no_dead_letters().await;
    w.assert_read_model_holds_nothing_personal(&ids).await;
}
