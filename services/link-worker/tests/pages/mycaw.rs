//! MYCaW on the questionnaire page: a concern in the person's words beside each score, the
//! second concern optional, a missing first concern named in the error summary, and the
//! case page showing the concerns, the profile scores and the change from baseline.

use super::*;

#[tokio::test]
async fn a_mycaw_is_recorded_with_the_persons_concerns_and_its_profile_shown() {
    let p = Pages::start().await;
    let worker = p.sign_in(NORTH, Role::LinkWorker, "Sam Patel").await;
    let id = p.refer(NORTH, "Gia").await;
    let view = format!("/cases/{id}/view");
    for step in [
        vec![("action", "accept")],
        vec![("action", "assign")],
        vec![
            ("action", "made"),
            ("made_channel", "phone"),
            ("minutes", "20"),
        ],
    ] {
        let mut form = vec![("csrf", worker.csrf.as_str())];
        form.extend(step);
        let (status, _, location) = p.post(&worker, &view, &form).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        p.get(&worker, &location.unwrap()).await;
    }
    let (status, body, _) = p
        .get(&worker, &format!("{view}/outcome?instrument=mycaw"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("Measure Yourself Concerns and Wellbeing (MYCaW)"));
    assert!(
        body.contains("id=\"concern_1\"") && body.contains("id=\"concern_2\""),
        "{body}"
    );
    let outcome = format!("{view}/outcome");
    // No first concern: the form again, naming it; nothing recorded.
    let (status, body, _) = p
        .post(
            &worker,
            &outcome,
            &[
                ("csrf", &worker.csrf),
                ("instrument", "mycaw"),
                ("timepoint", "baseline"),
                ("item_1", "5"),
                ("item_3", "3"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.contains("href=\"#concern_1\""), "{body}");
    // One concern (the second left blank) and wellbeing; then two at the review.
    for form in [
        vec![
            ("timepoint", "baseline"),
            ("concern_1", "Going out on my own"),
            ("item_1", "5"),
            ("item_3", "4"),
        ],
        vec![
            ("timepoint", "review"),
            ("concern_1", "Going out on my own"),
            ("item_1", "2"),
            ("concern_2", "Sleeping badly"),
            ("item_2", "3"),
            ("item_3", "2"),
        ],
    ] {
        let mut all = vec![("csrf", worker.csrf.as_str()), ("instrument", "mycaw")];
        all.extend(form);
        let (status, body, location) = p.post(&worker, &outcome, &all).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
        p.get(&worker, &location.unwrap()).await;
    }
    let (_, body, _) = p.get(&worker, &view).await;
    // 4.50 at baseline, 2.33 at review: the concerns bother the person less, +2.17.
    assert!(
        body.contains("Profile 4.50 of 6") && body.contains("Profile 2.33 of 6"),
        "{body}"
    );
    assert!(
        body.contains("Going out on my own: 2") && body.contains("Sleeping badly: 3"),
        "{body}"
    );
    assert!(body.contains("+2.17"), "{body}");
}
