use super::*;

/// The queries; `listAudit` is the platform's audit trail, which this service serves.
const QUERIES: [&str; 6] = [
    "getCaseload",
    "getCase",
    "listDirectory",
    "listAudit",
    "listInbox",
    "getInboxItem",
];
/// The directory feed's: its state, and a sync now (no body; 409 when none can run).
const FEED: [&str; 2] = ["getDirectorySync", "syncDirectory"];
/// The pages (HTML, documented under the tag `pages`): not JSON operations.
const PAGES: [&str; 19] = [
    "getCaseloadPage",
    "getCasePage",
    "submitCaseForm",
    "getOutcomeForm",
    "submitOutcomeForm",
    "getConnectPage",
    "submitConnectForm",
    "getTeamPage",
    "getDirectoryImportPage",
    "submitDirectoryImportForm",
    "getAuditPage",
    "getDirectoryFeedPage",
    "submitDirectorySyncForm",
    "getAppointmentsPage",
    "submitAppointmentForm",
    "getInboxPage",
    "getInboxItemPage",
    "submitInboxForm",
    "getNotificationsPage",
];
const COMMANDS: [&str; 19] = [
    "acceptReferral",
    "declineReferral",
    "assignCase",
    "recordContact",
    "agreePlan",
    "reviewPlan",
    "connectService",
    "recordConnectionResponse",
    "recordOutcome",
    "raiseSafeguarding",
    "closeCase",
    "importDirectory",
    "bookAppointment",
    "moveAppointment",
    "cancelAppointment",
    "recordMissedAppointment",
    "acceptConnection",
    "declineConnection",
    "recordAttendance",
];

#[tokio::test]
async fn openapi_lists_every_operation_with_its_request_responses_and_errors() {
    let s = Service::start().await;
    let response = reqwest::get(format!("{}/openapi.json", s.base))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let doc: Value = response.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let mut found = std::collections::BTreeMap::new();
    // The platform's operational routes are the platform's to document.
    let operational = ["getHealth", "getReadiness", "getMetrics", "getOpenApi"];
    // The platform's operations (sign-in, ...) are the platform's to document.
    let own = serde_json::to_value(linkway_link_worker::openapi()).unwrap();
    for (path, item) in doc["paths"].as_object().unwrap() {
        if !own["paths"][path].is_object() {
            continue;
        }
        for (method, op) in item.as_object().unwrap() {
            if let Some(id) = op["operationId"]
                .as_str()
                .filter(|id| !operational.contains(id) && !PAGES.contains(id))
            {
                found.insert(id.to_owned(), (path.clone(), method.clone(), op.clone()));
            }
        }
    }
    for id in QUERIES.iter().chain(COMMANDS.iter()) {
        let (path, method, op) = found.get(*id).unwrap_or_else(|| panic!("{id} missing"));
        let responses = op["responses"].as_object().unwrap();
        assert!(responses.contains_key("200"), "{id}");
        let mut errors = vec!["401", "403", "503"];
        if ![
            "listDirectory",
            "importDirectory",
            "getCaseload",
            "listAudit",
            "listInbox",
        ]
        .contains(id)
        {
            errors.push("404");
        }
        if COMMANDS.contains(id) {
            errors.push("422");
            assert_eq!(method, "post", "{id}");
            if *id != "importDirectory" {
                errors.push("409");
            }
            // The answers that say it all by their path take no body.
            if !["acceptReferral", "acceptConnection", "recordAttendance"].contains(id) {
                assert!(
                    op["requestBody"]["content"]["application/json"].is_object(),
                    "{id} request body"
                );
            }
        }
        for status in errors {
            let problem = &responses
                .get(status)
                .unwrap_or_else(|| panic!("{id} ({method} {path}) lacks {status}"))["content"]["application/problem+json"]
                ["schema"]["$ref"];
            assert_eq!(problem, "#/components/schemas/Problem", "{id} {status}");
        }
    }
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if PAGES.contains(&op["operationId"].as_str().unwrap_or("")) {
                assert_eq!(op["tags"][0], "pages", "{method} {path}");
                assert!(
                    op["responses"]
                        .as_object()
                        .unwrap()
                        .values()
                        .any(|r| r["content"]["text/html"].is_object()),
                    "{method} {path} answers HTML"
                );
            }
        }
    }
    for id in FEED {
        let (_, _, op) = found.get(id).unwrap_or_else(|| panic!("{id} missing"));
        let mut errors = vec!["401", "403", "503"];
        if id == "syncDirectory" {
            errors.push("409");
        }
        for status in errors {
            let problem = &op["responses"][status]["content"]["application/problem+json"];
            assert_eq!(
                problem["schema"]["$ref"], "#/components/schemas/Problem",
                "{id} {status}"
            );
        }
    }
    assert_eq!(
        found.len(),
        QUERIES.len() + COMMANDS.len() + FEED.len(),
        "{:?}",
        found.keys()
    );
    // The event enums a request takes are listed in full.
    use linkway_events::case::{
        ClosureReason as C, ContactChannel as Ch, DeclineReason as D, Timepoint as T,
    };
    let listed = |name: &str, values: Vec<Value>| {
        let schema = &doc["components"]["schemas"][name]["enum"];
        assert_eq!(
            schema.as_array().map(Vec::len),
            Some(values.len()),
            "{name}: {schema}"
        );
        for v in values {
            assert!(schema.as_array().unwrap().contains(&v), "{name} lacks {v}");
        }
    };
    // Exhaustive matches: a new variant in the events crate fails to compile here.
    let declines = |d: D| match d {
        D::OutOfArea | D::NotAppropriate | D::PersonDeclined | D::ReferredElsewhere => json!(d),
    };
    listed(
        "DeclineReason",
        [
            D::OutOfArea,
            D::NotAppropriate,
            D::PersonDeclined,
            D::ReferredElsewhere,
        ]
        .map(declines)
        .to_vec(),
    );
    let channels = |c: Ch| match c {
        Ch::Phone | Ch::FaceToFace | Ch::Video | Ch::HomeVisit | Ch::Text | Ch::Email => {
            json!(c)
        }
    };
    listed(
        "ContactChannel",
        [
            Ch::Phone,
            Ch::FaceToFace,
            Ch::Video,
            Ch::HomeVisit,
            Ch::Text,
            Ch::Email,
        ]
        .map(channels)
        .to_vec(),
    );
    let timepoints = |t: T| match t {
        T::Baseline | T::Review | T::Exit => json!(t),
    };
    listed(
        "Timepoint",
        [T::Baseline, T::Review, T::Exit].map(timepoints).to_vec(),
    );
    let closures = |c: C| match c {
        C::GoalsMet
        | C::Disengaged
        | C::CouldNotContact
        | C::MovedAway
        | C::ReferredElsewhere
        | C::Died
        | C::Other => json!(c),
    };
    listed(
        "ClosureReason",
        [
            C::GoalsMet,
            C::Disengaged,
            C::CouldNotContact,
            C::MovedAway,
            C::ReferredElsewhere,
            C::Died,
            C::Other,
        ]
        .map(closures)
        .to_vec(),
    );
    use linkway_events::case::SharedDetail as Sd;
    use linkway_events::referral::LegalBasis as Lb;
    let bases = |b: Lb| match b {
        Lb::PublicTaskHealthCare | Lb::ExplicitConsent | Lb::VitalInterests => json!(b),
    };
    listed(
        "LegalBasis",
        [
            Lb::PublicTaskHealthCare,
            Lb::ExplicitConsent,
            Lb::VitalInterests,
        ]
        .map(bases)
        .to_vec(),
    );
    let details = |d: Sd| match d {
        Sd::Name | Sd::Phone | Sd::Email | Sd::Address | Sd::Needs | Sd::Plan => json!(d),
    };
    listed(
        "SharedDetail",
        [
            Sd::Name,
            Sd::Phone,
            Sd::Email,
            Sd::Address,
            Sd::Needs,
            Sd::Plan,
        ]
        .map(details)
        .to_vec(),
    );
    assert_eq!(
        doc["components"]["schemas"]["DeclineRequest"]["properties"]["reason"]["$ref"],
        "#/components/schemas/DeclineReason"
    );
    for schema in [
        "Problem",
        "FieldError",
        "CaseloadPage",
        "CaseDetail",
        "CommandAccepted",
    ] {
        assert!(doc["components"]["schemas"][schema].is_object(), "{schema}");
    }
    for path in linkway_link_worker::openapi().paths.paths.keys() {
        assert!(doc["paths"][path].is_object(), "{path} is served");
    }
}

#[tokio::test]
async fn operational_endpoints_answer() {
    let s = Service::start().await;
    assert_eq!(
        reqwest::get(format!("{}/healthz", s.base))
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    let ready: Value = reqwest::get(format!("{}/readyz", s.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["status"], "ready");
    assert!(ready["projections"]["caseload"].is_object());
    assert_eq!(
        linkway_link_worker::PROJECTIONS,
        ["caseload", "registry", "audit", "inbox", "notifications"]
    );
    let lw = s.token(NORTH, Role::LinkWorker).await;
    let (id, _) = s.refer(NORTH, "Pip").await;
    s.ok(&lw, &format!("/cases/{id}/accept"), json!({})).await;
    let metrics = reqwest::get(format!("{}/metrics", s.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(r#"service="link-worker",operation="acceptReferral",status="200""#),
        "{metrics}"
    );
    assert!(metrics.contains(r#"event_type="case.accepted""#));
    assert!(!metrics.contains(&id.to_string()), "no ids in labels");
}
