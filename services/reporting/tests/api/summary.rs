//! `getSummary`: counts of referrals appended straight to the log.

use linkway_events::referral::{ReferralEvent, ReferralRouted};
use time::macros::date;

use crate::support::{AREA_A, NewReferral, World};

#[tokio::test]
async fn summary_counts_the_referrals_of_the_commissioners_own_area() {
    let w = World::new().await;
    for i in 0..23 {
        w.receive(&NewReferral {
            referrer: if i % 3 == 0 { "council-a" } else { "gp-a" },
            needs: vec!["1000"],
            on: date!(2026 - 01 - 05),
        })
        .await;
    }
    for _ in 0..12 {
        w.receive(&NewReferral {
            referrer: "gp-b",
            needs: vec!["2000"],
            on: date!(2026 - 01 - 06),
        })
        .await;
    }
    // A referrer with no commissioner area is reported under its link-worker service's.
    for _ in 0..9 {
        receive_routed_to_a(&w, "ops", date!(2026 - 02 - 01)).await;
    }
    let seq = w.last_sequence().await;
    let a = w
        .json(&format!("/summary?min_sequence={seq}"), &w.commissioner_a)
        .await;
    assert_eq!(a["area"], AREA_A);
    assert_eq!(
        a["measures"]["referrals"]["total"], 30,
        "23 + 9 rounds to 30: {a}"
    );
    assert_eq!(a["measures"]["referrals"]["by_month"]["2026-02"], 10);
    assert_eq!(a["measures"]["referrals"]["by_referrer_kind"]["other"], 10);
    assert_eq!(a["measures"]["referrals"]["by_month"]["2026-01"], 25);
    assert_eq!(
        a["measures"]["referrals"]["by_referrer_kind"]["gp_practice"], 15,
        "15 from gp-a"
    );
    assert_eq!(
        a["measures"]["referrals"]["by_referrer_kind"]["council"], 10,
        "8 from council-a rounds to 10"
    );
    let b = w
        .json(&format!("/summary?min_sequence={seq}"), &w.commissioner_b)
        .await;
    assert_eq!(
        b["measures"]["referrals"]["total"], 10,
        "12 rounds to 10: {b}"
    );
    let admin = w
        .json(
            &format!("/summary?area={AREA_A}&min_sequence={seq}"),
            &w.admin,
        )
        .await;
    assert_eq!(admin["measures"]["referrals"]["total"], 30);
    w.assert_nothing_personal();
}

/// A summary asked for again while the read model stands still is the same answer; once
/// the projection has moved, the next one counts what it added.
#[tokio::test]
async fn a_repeated_summary_is_the_same_until_the_read_model_moves() {
    let w = World::new().await;
    let referral = |on| NewReferral {
        referrer: "gp-a",
        needs: vec!["1000"],
        on,
    };
    for _ in 0..10 {
        w.receive(&referral(date!(2026 - 01 - 05))).await;
    }
    let seq = w.last_sequence().await;
    let path = format!("/summary?min_sequence={seq}");
    let first = w.json(&path, &w.commissioner_a).await;
    let again = w.json(&path, &w.commissioner_a).await;
    assert_eq!(first, again);
    assert_eq!(first["measures"]["referrals"]["total"], 10);
    for _ in 0..10 {
        w.receive(&referral(date!(2026 - 02 - 05))).await;
    }
    let seq = w.last_sequence().await;
    let after = w
        .json(&format!("/summary?min_sequence={seq}"), &w.commissioner_a)
        .await;
    assert_eq!(after["measures"]["referrals"]["total"], 20, "{after}");
    assert_eq!(after["measures"]["referrals"]["by_month"]["2026-02"], 10);
    assert!(after["sequence"].as_u64() > first["sequence"].as_u64());
    // The same query as the first, now: the new figures, not the kept ones.
    let now = w.json(&path, &w.commissioner_a).await;
    assert_eq!(now, after);
}

/// A summary being read is brought up to date in the background: asked again without
/// `min_sequence`, it soon counts what the projection added, and its `sequence` says how
/// far it goes.
#[tokio::test]
async fn a_kept_summary_is_brought_up_to_date_in_the_background() {
    let w = World::new().await;
    let referral = |on| NewReferral {
        referrer: "gp-a",
        needs: vec!["1000"],
        on,
    };
    for _ in 0..10 {
        w.receive(&referral(date!(2026 - 01 - 05))).await;
    }
    let seq = w.last_sequence().await;
    let first = w
        .json(&format!("/summary?min_sequence={seq}"), &w.commissioner_a)
        .await;
    assert_eq!(first["measures"]["referrals"]["total"], 10);
    for _ in 0..10 {
        w.receive(&referral(date!(2026 - 02 - 05))).await;
    }
    let seq = w.last_sequence().await;
    // The projection has the new referrals; the kept summary catches up within a few
    // refreshes (every 2 s), with no request asking for it.
    w.json(&format!("/feed?min_sequence={seq}"), &w.commissioner_a)
        .await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let latest = loop {
        let now = w.json("/summary", &w.commissioner_a).await;
        if now["measures"]["referrals"]["total"] == 20 || std::time::Instant::now() > deadline {
            break now;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    };
    assert_eq!(latest["measures"]["referrals"]["total"], 20, "{latest}");
    assert!(latest["sequence"].as_u64() >= Some(seq));
}

#[tokio::test]
async fn self_referrals_are_their_own_kind_of_referrer_in_the_services_area() {
    let w = World::new().await;
    for _ in 0..10 {
        let referrer = linkway_events::referral::SELF_REFERRAL_ORGANISATION;
        receive_routed_to_a(&w, referrer, date!(2026 - 03 - 02)).await;
    }
    let seq = w.last_sequence().await;
    let a = w
        .json(&format!("/summary?min_sequence={seq}"), &w.commissioner_a)
        .await;
    let kinds = &a["measures"]["referrals"]["by_referrer_kind"];
    assert_eq!(kinds["self_referral"], 10, "{a}");
    assert!(kinds.get("unknown").is_none(), "{a}");
}

/// A referral from `referrer` (with no commissioner area of its own) routed to LW A.
async fn receive_routed_to_a(w: &World, referrer: &'static str, on: time::Date) {
    let id = w
        .receive(&NewReferral {
            referrer,
            needs: vec![],
            on,
        })
        .await;
    w.referral_event(
        id,
        ReferralEvent::Routed(ReferralRouted {
            referral_id: id,
            link_worker_organisation_id: "lw-a".into(),
            rule_id: None,
        }),
        on,
    )
    .await;
}
