//! Issue 9: reporting's document said "string" for months, cursors and areas, while the
//! code refused `to=` and accepted `+202-01`. The document now states each format, and the
//! code reads exactly that: a value of the documented form is accepted, any other refused.

use linkway_platform::text::Text;
use reqwest::StatusCode;

use crate::support::{AREA_A, World};

fn parameter(doc: &serde_json::Value, path: &str, name: &str) -> serde_json::Value {
    doc["paths"][path]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("{path} {name}"))["schema"]
        .clone()
}

#[test]
fn the_document_states_the_formats_of_months_cursors_and_areas() {
    let doc = serde_json::to_value(linkway_reporting::openapi()).unwrap();
    let area = Text::line(64);
    for path in ["/summary", "/feed"] {
        let a = parameter(&doc, path, "area");
        assert_eq!(a["pattern"], area.pattern(), "{path}");
        assert_eq!(a["maxLength"], area.max_chars, "{path}");
    }
    for name in ["from", "to"] {
        assert_eq!(
            parameter(&doc, "/summary", name)["pattern"],
            "^[0-9]{4}-(?:0[1-9]|1[0-2])$"
        );
    }
    assert_eq!(
        parameter(&doc, "/feed", "cursor")["pattern"],
        "^[0-9]{0,19}$"
    );
}

#[tokio::test]
async fn months_and_cursors_are_accepted_in_their_documented_form_and_refused_otherwise() {
    let w = World::new().await;
    let c = &w.commissioner_a;
    for (query, field) in [
        ("to=", Some("to")),
        ("from=", Some("from")),
        ("to=2026-13", Some("to")),
        ("to=2026-00", Some("to")),
        ("to=+202-01", Some("to")),
        ("from=2026-1", Some("from")),
        ("from=2026-01-01", Some("from")),
        ("from=2026-01", None),
        ("from=0001-01&to=9999-12", None),
    ] {
        let (status, _, body) = w.get(&format!("/summary?{query}"), c, None).await;
        match field {
            None => assert_eq!(status, StatusCode::OK, "{query}: {body}"),
            Some(field) => {
                assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{query}: {body}");
                let problem: serde_json::Value = serde_json::from_str(&body).unwrap();
                assert_eq!(problem["errors"][0]["field"], field, "{query}");
            }
        }
    }
    for (query, ok) in [
        ("cursor=", true),
        ("cursor=0", true),
        ("cursor=9999999999999999999", true),
        ("cursor=+5", false),
        ("cursor=-1", false),
        ("cursor=99999999999999999999", false),
        ("cursor=1e3", false),
    ] {
        let (status, _, body) = w.get(&format!("/feed?{query}"), c, None).await;
        let expected = if ok {
            StatusCode::OK
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        };
        assert_eq!(status, expected, "{query}: {body}");
    }
}

#[tokio::test]
async fn an_area_with_a_control_character_is_refused_not_a_server_error() {
    let w = World::new().await;
    for path in ["/summary", "/feed"] {
        let (status, _, body) = w.get(&format!("{path}?area=Q%00WO"), &w.admin, None).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{path}: {body}");
        assert!(body.contains("control_character"), "{body}");
        let (status, _, body) = w
            .get(&format!("{path}?area={AREA_A}"), &w.admin, None)
            .await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        // A blank area is none: a commissioner gets its own.
        let (status, _, body) = w
            .get(&format!("{path}?area=%20"), &w.commissioner_a, None)
            .await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        // A blank area is none for an administrator too, who then has none to read.
        let (status, _, _) = w.get(&format!("{path}?area="), &w.admin, None).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
    }
}
