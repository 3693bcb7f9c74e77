//! The OpenAPI document: every operation, its errors, and schemas that resolve.

use crate::support::World;

fn refs(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                if k == "$ref" {
                    out.push(v.as_str().unwrap().to_owned());
                }
                refs(v, out);
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

#[test]
fn operations_have_stable_ids_and_document_their_errors() {
    let doc = serde_json::to_value(linkway_reporting::openapi()).unwrap();
    for (path, id, csv) in [
        ("/summary", "getSummary", false),
        ("/feed", "getOutcomeFeed", true),
    ] {
        let op = &doc["paths"][path]["get"];
        assert_eq!(op["operationId"], id, "{path}");
        for status in ["200", "401", "403", "422", "503"] {
            assert!(
                op["responses"][status].is_object(),
                "{id} documents {status}"
            );
        }
        for status in ["401", "403", "422", "503"] {
            assert_eq!(
                op["responses"][status]["content"]["application/problem+json"]["schema"]["$ref"],
                "#/components/schemas/Problem",
                "{id} {status}"
            );
        }
        let ok = &op["responses"]["200"]["content"];
        assert!(ok["application/json"].is_object(), "{id}");
        assert_eq!(ok["text/csv"].is_object(), csv, "{id} CSV");
        let params: Vec<&str> = op["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert!(
            params.contains(&"area") && params.contains(&"min_sequence"),
            "{params:?}"
        );
        assert_eq!(op["security"][0]["bearer"], serde_json::json!([]));
    }
    assert!(
        doc["paths"]["/feed"]["get"]["parameters"]
            .to_string()
            .contains("cursor")
    );
    let mut all = Vec::new();
    refs(&doc, &mut all);
    assert!(!all.is_empty());
    for r in all {
        let name = r
            .strip_prefix("#/components/schemas/")
            .expect("a schema ref");
        assert!(
            doc["components"]["schemas"][name].is_object(),
            "{r} resolves"
        );
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
}

#[tokio::test]
async fn the_service_serves_its_openapi_document() {
    let w = World::new().await;
    let served = w.json("/openapi.json", &w.commissioner_a).await;
    let own = serde_json::to_value(linkway_reporting::openapi()).unwrap();
    // The service's own operations as it documents them; the operational routes as the
    // platform documents them.
    for path in ["/summary", "/feed"] {
        let (served, own) = (&served["paths"][path]["get"], &own["paths"][path]["get"]);
        assert_eq!(served["parameters"], own["parameters"], "{path}");
        for (status, response) in own["responses"].as_object().unwrap() {
            assert_eq!(&served["responses"][status], response, "{path} {status}");
        }
    }
    for path in own["paths"].as_object().unwrap().keys() {
        assert!(served["paths"][path].is_object(), "{path} is served");
    }
    for ops in ["/healthz", "/readyz", "/metrics"] {
        let (status, _, body) = w.get(ops, &w.commissioner_a, None).await;
        assert_eq!(status, reqwest::StatusCode::OK, "{ops}: {body}");
    }
    let (_, _, ready) = w.get("/readyz", &w.commissioner_a, None).await;
    assert!(
        ready.contains("reporting") && ready.contains("registry"),
        "{ready}"
    );
}
