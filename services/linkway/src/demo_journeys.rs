//! The link-worker side of the demo: accept, contact, plan, measure, refer on to the demo's
//! community service and close cases over the link-worker API, so the caseload, the
//! community service's inbox and the reports have something to show.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// Works the demo cases; returns how many were worked without error.
pub async fn work_cases(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    referral_ids: &[String],
) -> usize {
    let mut worked = 0;
    for (i, id) in referral_ids.iter().enumerate() {
        match work_case(http, base, token, id, i).await {
            Ok(()) => worked += 1,
            Err(e) => tracing::warn!(error = %e, "demo case not worked"),
        }
    }
    worked
}

async fn work_case(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    id: &str,
    i: usize,
) -> anyhow::Result<()> {
    let case = format!("{base}/cases/{id}");
    // The caseload learns of the referral from the log a moment after intake appended it.
    let deadline = Instant::now() + Duration::from_secs(10);
    while http.get(&case).bearer_auth(token).send().await?.status()
        == reqwest::StatusCode::NOT_FOUND
    {
        anyhow::ensure!(
            Instant::now() < deadline,
            "case {id} never reached the caseload"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    match i % 6 {
        // Declined: the person did not want social prescribing.
        5 => {
            post(
                http,
                &format!("{case}/decline"),
                token,
                json!({"reason": "person_declined"}),
            )
            .await
        }
        // Not reached after three attempts.
        4 => {
            post(http, &format!("{case}/accept"), token, json!({})).await?;
            post(http, &format!("{case}/assignment"), token, json!({})).await?;
            for _ in 0..3 {
                post(
                    http,
                    &format!("{case}/contacts"),
                    token,
                    json!({"kind": "attempt", "channel": "phone"}),
                )
                .await?;
            }
            Ok(())
        }
        // Accepted and waiting.
        3 => post(http, &format!("{case}/accept"), token, json!({})).await,
        // Engaged: contact, plan, baseline and exit SWEMWBS, ONS4, closed.
        _ => {
            post(http, &format!("{case}/accept"), token, json!({})).await?;
            post(http, &format!("{case}/assignment"), token, json!({})).await?;
            post(
                http,
                &format!("{case}/contacts"),
                token,
                json!({"kind": "made", "channel": "face_to_face", "minutes": 45, "notes": "First meeting at the surgery."}),
            )
            .await?;
            let review = time::OffsetDateTime::now_utc().date() + time::Duration::days(42);
            post(
                http,
                &format!("{case}/plan"),
                token,
                json!({
                    "what_matters": "Getting out of the house and meeting people again",
                    "goals": ["Join the Thursday walking group", "Get advice on council tax arrears"],
                    "actions": ["Link worker to introduce the walking group leader"],
                    "review_date": review.to_string(),
                }),
            )
            .await?;
            post(http, &format!("{case}/outcomes"), token, json!({"instrument": "swemwbs", "timepoint": "baseline", "item_answers": [2, 3, 2, 2, 3, 2, 2]})).await?;
            post(http, &format!("{case}/outcomes"), token, json!({"instrument": "ons4", "timepoint": "baseline", "item_answers": [4, 5, 4, 7]})).await?;
            if !i.is_multiple_of(2) {
                // Referred on to the demo's community service, which answers in its inbox.
                post(
                    http,
                    &format!("{case}/connections"),
                    token,
                    json!({"service_id": crate::demo::COMMUNITY_DIRECTORY_SERVICE,
                           "legal_basis": "explicit_consent", "share": ["name", "phone", "plan"]}),
                )
                .await?;
            }
            if i.is_multiple_of(2) {
                let better = if i.is_multiple_of(4) {
                    [4, 4, 3, 4, 4, 3, 4]
                } else {
                    [3, 3, 2, 3, 3, 2, 3]
                };
                post(
                    http,
                    &format!("{case}/outcomes"),
                    token,
                    json!({"instrument": "swemwbs", "timepoint": "exit", "item_answers": better}),
                )
                .await?;
                post(http, &format!("{case}/outcomes"), token, json!({"instrument": "ons4", "timepoint": "exit", "item_answers": [7, 7, 6, 3]})).await?;
                post(
                    http,
                    &format!("{case}/closure"),
                    token,
                    json!({"reason": "goals_met"}),
                )
                .await?;
            }
            Ok(())
        }
    }
}

async fn post(http: &reqwest::Client, url: &str, token: &str, body: Value) -> anyhow::Result<()> {
    let response = http.post(url).bearer_auth(token).json(&body).send().await?;
    let status = response.status();
    anyhow::ensure!(
        status.is_success(),
        "{url}: {status} {}",
        response.text().await.unwrap_or_default()
    );
    Ok(())
}
