//! `getSummary`: counts of referrals appended straight to the log.

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
    let seq = w.last_sequence().await;
    let a = w
        .json(&format!("/summary?min_sequence={seq}"), &w.commissioner_a)
        .await;
    assert_eq!(a["area"], AREA_A);
    assert_eq!(
        a["measures"]["referrals"]["total"], 25,
        "23 rounds to 25: {a}"
    );
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
    assert_eq!(admin["measures"]["referrals"]["total"], 25);
    w.assert_nothing_personal();
}
