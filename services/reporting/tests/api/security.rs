//! Who may read what.

use reqwest::StatusCode;

use crate::support::{AREA_A, AREA_B, World};

#[tokio::test]
async fn only_commissioners_and_admins_read_and_only_their_area() {
    let w = World::new().await;
    for path in ["/summary", "/feed"] {
        for token in [&w.referrer, &w.link_worker, &w.service_manager] {
            let (status, headers, body) = w.get(path, token, None).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {body}");
            assert_eq!(headers["content-type"], "application/problem+json");
        }
        let (status, _, _) = w.get(path, "lw_not-a-token", None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        // A commissioner naming another area is refused; naming its own is fine.
        let (status, _, _) = w
            .get(&format!("{path}?area={AREA_B}"), &w.commissioner_a, None)
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, _, _) = w
            .get(&format!("{path}?area={AREA_A}"), &w.commissioner_a, None)
            .await;
        assert_eq!(status, StatusCode::OK);
        // An administrator belongs to no area: it reads the area it names, and no other.
        let (status, _, _) = w.get(path, &w.admin, None).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, _, _) = w
            .get(&format!("{path}?area={AREA_B}"), &w.admin, None)
            .await;
        assert_eq!(status, StatusCode::OK);
        // A malformed query string is a 422 problem too, naming the parameter.
        let (status, headers, body) = w
            .get(
                &format!("{path}?min_sequence=soon"),
                &w.commissioner_a,
                None,
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(headers["content-type"], "application/problem+json");
        assert!(body.contains("\"field\":\"min_sequence\""), "{body}");
    }
    w.assert_nothing_personal();
}

#[tokio::test]
async fn the_personal_data_scan_finds_what_it_looks_for() {
    // The scan every test ends with must be able to fail: plant a person's details in a
    // recorded body and it must object, for each kind of detail.
    let w = World::new().await;
    let person = w.new_person();
    for planted in [
        person.given_name.clone(),
        person.family_name.clone(),
        person.nhs_number.clone(),
        person.postcode.clone(),
        person.postcode.replace(' ', ""),
    ] {
        w.bodies
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clear();
        w.bodies
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(format!("{{\"x\": \"{planted}\"}}"));
        let scan =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| w.assert_nothing_personal()));
        assert!(scan.is_err(), "the scan missed {planted}");
    }
    w.bodies
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clear();
    w.get("/summary", &w.commissioner_a, None).await;
    w.assert_nothing_personal();
}
