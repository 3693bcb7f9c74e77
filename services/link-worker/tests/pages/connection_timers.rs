//! What the case page and the caseload say of the connection timers: a service reminded
//! ("Reminded", "Service reminded"), a connection declined automatically ("Declined
//! automatically", "No answer in 14 days"), and a decline recorded with its reason. The
//! timers run in process on the environment's manual clock (`env.clock`).

use super::*;
use linkway_events::case::{
    CaseAccepted, CaseAssigned, CaseEvent, ConnectionMade, ContactChannel, ContactMade, PlanAgreed,
};

/// Appends a case worked to an agreed plan with two connections, both pending:
/// `(left, declined)`.
async fn case_with_connections(p: &Pages, id: Uuid) -> (Uuid, Uuid) {
    let (left, declined) = (Uuid::now_v7(), Uuid::now_v7());
    let connection = |connection_id, service: &str| {
        CaseEvent::ConnectionMade(ConnectionMade {
            referral_id: id,
            connection_id,
            service_id: service.into(),
            service_name: format!("The {service}"),
            service_kind: None,
            legal_basis: Some(LegalBasis::ExplicitConsent),
            shared: vec![],
        })
    };
    for event in [
        CaseEvent::Accepted(CaseAccepted {
            referral_id: id,
            link_worker_organisation_id: NORTH.into(),
        }),
        CaseEvent::Assigned(CaseAssigned {
            referral_id: id,
            link_worker_id: "lw-1".into(),
        }),
        CaseEvent::ContactMade(ContactMade {
            referral_id: id,
            channel: ContactChannel::Phone,
            minutes: 20,
            personal: None,
        }),
        CaseEvent::PlanAgreed(PlanAgreed {
            referral_id: id,
            review_date: date!(2099 - 01 - 01),
            goal_count: 0,
            personal: None,
        }),
        connection(left, "choir"),
        connection(declined, "walking-group"),
    ] {
        p.append("case", &id.to_string(), event.into()).await;
    }
    (left, declined)
}

/// Waits until the case's log holds `n` events of `event_type`, then the page's `path`
/// once the read model holds the log's end.
async fn after(
    p: &Pages,
    who: &Person_,
    id: Uuid,
    (event_type, n): (&str, usize),
    path: &str,
) -> String {
    let count = |events: Vec<(String, Option<String>)>| {
        events.iter().filter(|(t, _)| t == event_type).count()
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while count(p.case_events(id).await) < n {
        assert!(Instant::now() < deadline, "no {event_type} within 20 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let last = p.store.last_sequence().await.expect("the log's end");
    let sep = if path.contains('?') { '&' } else { '?' };
    let (status, body, _) = p.get(who, &format!("{path}{sep}min_sequence={last}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

#[tokio::test]
async fn the_case_page_and_the_caseload_say_reminded_and_declined_automatically() {
    let p = Pages::start().await;
    let worker = p.sign_in(NORTH, Role::LinkWorker, "Sam Patel").await;
    let id = p.refer(NORTH, "Ada").await;
    let (_, declined) = case_with_connections(&p, id).await;
    let view = format!("/cases/{id}/view");
    // The link worker records one service's decline, with its reason, on the case page.
    let (action, reason) = (format!("response-{declined}"), format!("reason-{declined}"));
    let form = [
        ("csrf", worker.csrf.as_str()),
        ("action", action.as_str()),
        (action.as_str(), "declined"),
        (reason.as_str(), "no_capacity"),
    ];
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        // A post the page refuses (the form again, nothing appended) is posted again,
        // until its 303.
        let (status, body, _) = p.post(&worker, &view, &form).await;
        if status == StatusCode::SEE_OTHER {
            break;
        }
        assert!(Instant::now() < deadline, "{status}: {body}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let caseload = "/?filtered=1&link_worker=";

    p.env
        .clock
        .advance(time::Duration::days(7) + time::Duration::hours(1));
    let page = after(&p, &worker, id, ("case.connection_reminded", 1), &view).await;
    assert!(
        page.contains("Reminded") && page.contains("Service reminded "),
        "{page}"
    );
    assert!(
        page.contains("No capacity"),
        "the hand-recorded reason: {page}"
    );
    assert!(
        page.contains("The service was reminded to answer"),
        "the timeline: {page}"
    );
    assert!(!page.contains("Declined automatically"), "{page}");
    let list = after(&p, &worker, id, ("case.connection_reminded", 1), caseload).await;
    assert!(list.contains("Service reminded"), "{list}");

    p.env.clock.advance(time::Duration::days(7));
    let page = after(&p, &worker, id, ("case.connection_declined", 2), &view).await;
    let automatic = p
        .case_events(id)
        .await
        .iter()
        .filter(|(t, _)| t == "case.connection_declined")
        .count();
    assert_eq!(
        automatic, 2,
        "the hand-recorded decline and the automatic one"
    );
    assert!(
        page.contains("Declined automatically") && page.contains("No answer in 14 days"),
        "{page}"
    );
    let list = after(&p, &worker, id, ("case.connection_declined", 2), caseload).await;
    assert!(list.contains("Declined automatically"), "{list}");
}
