//! The appointments page over HTTP: book, refuse with the error summary and what was
//! typed, cancel; each a command through the same operation as the JSON API, its event's
//! actor the person signed in; the case page shows what is booked.

use super::*;

/// An assigned case of NORTH's and the link worker who holds it.
async fn assigned(p: &Pages) -> (Person_, Uuid) {
    let worker = p.sign_in(NORTH, Role::LinkWorker, "Sam Patel").await;
    let id = p.refer(NORTH, "Ada").await;
    let view = format!("/cases/{id}/view");
    for action in ["accept", "assign"] {
        let form = [("csrf", worker.csrf.as_str()), ("action", action)];
        let (status, _, location) = p.post(&worker, &view, &form).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        p.get(&worker, &location.unwrap()).await;
    }
    (worker, id)
}

#[tokio::test]
async fn an_appointment_is_booked_refused_and_cancelled_through_the_page() {
    let p = Pages::start().await;
    let (worker, id) = assigned(&p).await;
    let path = format!("/cases/{id}/view/appointments");
    let (status, body, _) = p.get(&worker, &path).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("No appointments yet.") && body.contains("id=\"book-date\""));

    let date = (OffsetDateTime::now_utc() + time::Duration::days(3))
        .date()
        .to_string();
    let book = |minutes: &'static str| {
        vec![
            ("csrf", worker.csrf.clone()),
            ("action", "book".to_owned()),
            ("book-date", date.clone()),
            ("book-time", "10:30".to_owned()),
            ("book-minutes", minutes.to_owned()),
            ("book-channel", "face_to_face".to_owned()),
            ("book-place", "Room 2, Northfield Centre".to_owned()),
        ]
    };
    let refused = book("0");
    let refused: Vec<(&str, &str)> = refused.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, body, _) = p.post(&worker, &path, &refused).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.contains("nhsuk-error-summary") && body.contains("href=\"#book-minutes\""));
    assert!(
        body.contains("Room 2, Northfield Centre"),
        "what was typed stays"
    );
    assert_eq!(p.case_events(id).await.len(), 2, "nothing appended");

    let booked = book("45");
    let booked: Vec<(&str, &str)> = booked.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, _, location) = p.post(&worker, &path, &booked).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (status, body, _) = p.get(&worker, &location.unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("Booked") && body.contains("Room 2, Northfield Centre"));
    assert!(body.contains("Move the appointment") && body.contains("Cancel the appointment"));
    let appointment = body
        .split("name=\"appointment_id\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a booked appointment's forms name it")
        .to_owned();
    let (_, case_page, _) = p.get(&worker, &format!("/cases/{id}/view")).await;
    assert!(case_page.contains("Book, move or cancel appointments"));
    assert!(case_page.contains("10:30 UTC"), "the case page lists it");

    let reason = format!("cancel-{appointment}-reason");
    let cancel = [
        ("csrf", worker.csrf.as_str()),
        ("action", "cancel"),
        ("appointment_id", appointment.as_str()),
        (reason.as_str(), "person_cancelled"),
    ];
    let (status, _, location) = p.post(&worker, &path, &cancel).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, body, _) = p.get(&worker, &location.unwrap()).await;
    assert!(body.contains("Cancelled") && !body.contains("Cancel the appointment"));
    let events = p.case_events(id).await;
    let user = Some(worker.user_id.to_string());
    assert_eq!(
        events[2..],
        [
            ("case.appointment_booked".to_owned(), user.clone()),
            ("case.appointment_cancelled".to_owned(), user),
        ]
    );
}
