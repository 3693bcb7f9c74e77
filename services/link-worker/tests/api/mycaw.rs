//! MYCaW through `recordOutcome`: the person's concerns go into the event's `personal`
//! part (`case.outcome_recorded` v2) with their scores and the profile score, the case
//! shows them, and a measure whose concerns do not fit its answers appends nothing.

use super::*;

#[tokio::test]
async fn a_mycaw_keeps_the_persons_concerns_with_their_scores_and_the_profile() {
    let s = Service::start().await;
    let lw = s.token(NORTH, Role::LinkWorker).await;
    let (id, _) = s.refer(NORTH, "Ola").await;
    let outcomes = format!("/cases/{id}/outcomes");
    s.ok(&lw, &format!("/cases/{id}/accept"), json!({})).await;
    s.ok(&lw, &format!("/cases/{id}/assignment"), json!({}))
        .await;
    s.ok(
        &lw,
        &format!("/cases/{id}/contacts"),
        json!({"kind": "made", "channel": "phone", "minutes": 30}),
    )
    .await;

    // Refused, naming the field and the rule: nothing appended.
    let before = s
        .store
        .load("case", &id.to_string())
        .await
        .expect("load")
        .len();
    for (body, field, rule) in [
        (
            json!({"instrument": "mycaw", "timepoint": "baseline", "item_answers": [5, 4, 3], "concerns": ["One only"]}),
            "concerns",
            "concern_count",
        ),
        (
            json!({"instrument": "mycaw", "timepoint": "baseline", "item_answers": [5, 3]}),
            "concerns",
            "concern_count",
        ),
        (
            json!({"instrument": "mycaw", "timepoint": "baseline", "item_answers": [7, 3], "concerns": ["Sleep"]}),
            "item_answers.0",
            "item_range",
        ),
        (
            json!({"instrument": "ucla3", "timepoint": "baseline", "item_answers": [1, 2, 3], "concerns": ["Sleep"]}),
            "concerns",
            "concern_count",
        ),
    ] {
        let (status, problem) = s.post(&lw, &outcomes, body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
        let error = &problem["errors"][0];
        assert_eq!(
            (error["field"].as_str(), error["rule"].as_str()),
            (Some(field), Some(rule)),
            "{problem}"
        );
        assert!(
            !problem.to_string().contains("Sleep"),
            "no personal data echoed"
        );
    }
    assert_eq!(
        s.store
            .load("case", &id.to_string())
            .await
            .expect("load")
            .len(),
        before
    );

    s.ok(
        &lw,
        &outcomes,
        json!({"instrument": "mycaw", "timepoint": "baseline", "item_answers": [5, 4, 3],
               "concerns": ["Going out on my own", "Money worries"]}),
    )
    .await;
    let last = s
        .ok(
            &lw,
            &outcomes,
            json!({"instrument": "mycaw", "timepoint": "review", "item_answers": [2, 3],
                   "concerns": ["Going out on my own"]}),
        )
        .await;

    let stored = s.store.load("case", &id.to_string()).await.expect("load");
    let measures: Vec<(u32, Value)> = stored
        .iter()
        .map(|e| e.decode().expect("decode").0)
        .filter(|e| e.event_type == "case.outcome_recorded")
        .map(|e| (e.version, e.data_value()))
        .collect();
    assert_eq!(measures.len(), 2);
    let (version, baseline) = &measures[0];
    assert_eq!(*version, 2);
    assert_eq!(
        baseline["personal"]["concerns"],
        json!(["Going out on my own", "Money worries"])
    );
    assert_eq!(baseline["derived_score"], 4.0);
    assert_eq!(baseline["instrument_version"], "mycaw-v1");
    assert!(baseline.get("raw_score").is_none());
    assert_eq!(measures[1].1["derived_score"], 2.5);

    let (status, case) = s.case(&lw, id, seq(&last)).await;
    assert_eq!(status, StatusCode::OK, "{case}");
    let kept: Vec<&Value> = case["outcomes"]
        .as_array()
        .expect("outcomes")
        .iter()
        .map(|o| &o["personal"]["concerns"])
        .collect();
    assert_eq!(
        kept,
        [
            &json!(["Going out on my own", "Money worries"]),
            &json!(["Going out on my own"])
        ]
    );
}
