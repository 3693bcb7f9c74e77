//! What the matrix sends for each operation: the body that operation's own organisation
//! would send for it to succeed, the query, and how far along a fresh record it is called
//! on. Every request is about GP A's records (sent by GP A, routed to LW A, in area A), so
//! "own" and "other" differ only in the caller's organisation.
//!
//! An operation of the tag `pages` or `operations` needs no entry (a page is asked with
//! nothing but the token; an operational route with nothing at all); any other operation
//! must have one, or the matrix fails naming it.

use serde_json::json;

use super::fixture::{
    Body, DIRECTORY_SERVICE, GP_A, LW_A, Stage, appointment, directory_fixture, fhir_message, plan,
};

/// One operation's request, before the caller's token.
pub struct Request {
    /// `None`: the operation reads (or creates), and any record it names is the full one;
    /// `Some`: each call gets a fresh record taken this far, so every caller finds it in
    /// the state the operation needs.
    pub stage: Option<Stage>,
    /// The query string; `{seq}` is the record's last sequence.
    pub query: &'static str,
    pub body: Body,
}

const READ: &str = "min_sequence={seq}";

fn read(query: &'static str) -> Option<Request> {
    Some(Request {
        stage: None,
        query,
        body: Body::None,
    })
}

fn command(stage: Stage, body: serde_json::Value) -> Option<Request> {
    Some(Request {
        stage: Some(stage),
        query: "",
        body: Body::Json(body),
    })
}

fn create(body: Body) -> Option<Request> {
    Some(Request {
        stage: None,
        query: "",
        body,
    })
}

/// The request for `operation_id` (of the tag `tag`), or `None` when there is none.
pub fn request(operation_id: &str, tag: &str) -> Option<Request> {
    match operation_id {
        // intake
        "submitReferral" => {
            let mut body = linkway::demo::referral_body(2);
            body["person"]["address"]["postcode"] = json!("LS6 9ZZ");
            body["referrer_organisation_id"] = json!(GP_A);
            create(Body::Json(body))
        }
        "processMessage" => create(Body::Fhir(fhir_message())),
        // Self-referral takes no token: sent without its form token (which must be 3 s old,
        // and this matrix keeps no clock), every caller gets the same 422 naming
        // `form_token`, and nothing is appended. Accepted self-referrals are intake's own
        // tests (services/intake/tests/api/self_referral.rs).
        "submitSelfReferral" => create(Body::Json(self_referral())),
        "submitSelfReferralPage" => create(Body::Form(
            [
                ("given_name", "Sam"),
                ("family_name", "Example"),
                ("birth_date", "1980-04-01"),
                ("postcode", "LS6 9ZZ"),
                ("phone", "07700 900123"),
                ("preferred_contact_method", "phone"),
                ("what_matters", "Feeling lonely"),
                ("agreed", "yes"),
            ]
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .to_vec(),
        )),
        "getSelfReferralToken" | "getSelfReferralPage" => read(""),
        "submitReferralForm" => create(Body::Form(form())),
        "getReferral" => read(READ),
        // Every GET runs before any command makes more records: GP A's are few.
        "listReferrals" => read("limit=200&min_sequence={seq}"),
        "withdrawReferral" => command(Stage::Routed, json!({"reason": "Moved away"})),
        "markReferralEnteredInError" => command(Stage::Routed, json!({"reason": "Wrong person"})),
        "correctPerson" => {
            let mut person = linkway::demo::referral_body(2)["person"].clone();
            person["given_name"] = json!("Corrected");
            command(Stage::Routed, json!({"person": person}))
        }
        "listUnroutable" => Some(Request {
            stage: Some(Stage::Unroutable),
            query: READ,
            body: Body::None,
        }),
        "routeReferral" => command(
            Stage::Unroutable,
            json!({"link_worker_organisation_id": LW_A}),
        ),
        "listOutboundMessages" => read("state=dead"),
        "retryOutboundMessage" => create(Body::None),
        "getLegalBasisCodeSystem" | "getReferralForm" => read(""),
        // link-worker
        "getCaseload" | "getCase" => read(READ),
        "listDirectory" => read(""),
        "importDirectory" => create(Body::Json(directory_fixture())),
        "acceptReferral" => command(Stage::Routed, json!({})),
        "declineReferral" => command(Stage::Routed, json!({"reason": "person_declined"})),
        "assignCase" => command(
            Stage::Accepted,
            json!({"link_worker_id": "link_worker-user"}),
        ),
        "recordContact" => command(
            Stage::Assigned,
            json!({"kind": "attempt", "channel": "phone"}),
        ),
        "raiseSafeguarding" => command(
            Stage::Accepted,
            json!({"concern": "Mentioned money going missing"}),
        ),
        "closeCase" => command(Stage::Accepted, json!({"reason": "moved_away"})),
        "recordOutcome" => command(
            Stage::Engaged,
            json!({"instrument": "ons4", "timepoint": "baseline", "item_answers": [5, 5, 5, 5]}),
        ),
        "agreePlan" => command(Stage::Engaged, plan()),
        "reviewPlan" => command(Stage::Planned, plan()),
        "connectService" => command(
            Stage::Planned,
            json!({"service_id": DIRECTORY_SERVICE, "legal_basis": "explicit_consent",
                   "share": ["name"]}),
        ),
        "recordConnectionResponse" => command(Stage::Connected, json!({"response": "accepted"})),
        "bookAppointment" => command(Stage::Assigned, appointment()),
        "moveAppointment" => {
            let mut moved = appointment();
            moved["channel"] = json!("video");
            command(Stage::Booked, moved)
        }
        "cancelAppointment" => command(Stage::Booked, json!({"reason": "person_cancelled"})),
        // Booked two days ahead, it has not started: the own service reaches the decision
        // (409 appointment_not_started, nothing appended); the started case is
        // services/link-worker/tests/api/appointments.rs's, on a clock it moves.
        "recordMissedAppointment" => command(Stage::Booked, json!({})),
        // the community service's inbox: CS A answers for the connection's service
        "listInbox" => read("limit=200&min_sequence={seq}"),
        "getInboxItem" => read(READ),
        "acceptConnection" | "recordAttendance" => command(Stage::Connected, json!({})),
        "declineConnection" => command(Stage::Connected, json!({"reason": "no_capacity"})),
        "exportPerson" => read(""),
        "erasePerson" => command(Stage::Routed, json!({"reason": "person_asked"})),
        "listAudit" => read("limit=200&min_sequence={seq}"),
        "getDirectorySync" => read(""),
        "syncDirectory" => create(Body::None),
        // reporting: area A's figures, which the records are in
        "getSummary" => read("area=QAA&min_sequence={seq}"),
        "getOutcomeFeed" => read("area=QAA"),
        // With no identity provider configured there is none to start or finish with.
        "startSignIn" => read("provider=0&return_to=%2F"),
        // A form like the sign-in page's (which a demo deployment shows): no demo here.
        "signInAsDemoUser" => create(Body::Form(vec![("subject".into(), "nobody".into())])),
        _ if tag == "pages" || tag == "operations" => Some(Request {
            stage: None,
            query: "",
            body: Body::None,
        }),
        _ => None,
    }
}

/// A self-referral without its form token.
fn self_referral() -> serde_json::Value {
    json!({
        "given_name": "Sam",
        "family_name": "Example",
        "birth_date": "1980-04-01",
        "postcode": "LS6 9ZZ",
        "phone": "07700 900123",
        "preferred_contact_method": "phone",
        "what_matters": "Feeling lonely",
        "agreed": true
    })
}

/// The token form, filled in as GP A would (the token goes in the header, not the form).
fn form() -> Vec<(String, String)> {
    [
        ("referrer_organisation_id", GP_A),
        ("nhs_number", "943 476 5919"),
        ("given_name", "Robin"),
        ("family_name", "Example"),
        ("birth_date", "1961-05-17"),
        ("address_line1", "14 Imaginary Row"),
        ("address_line3", "Leeds"),
        ("postcode", "LS6 9ZZ"),
        ("phone", "07700 900123"),
        ("preferred_contact_method", "phone"),
        ("need", "422650009"),
        ("needs_text", "Lonely since moving"),
        ("urgency", "routine"),
        ("safeguarding_concern", "no"),
        ("legal_basis", "public_task_health_care"),
        ("referral_agreed", "yes"),
        ("share_details", "yes"),
        ("practitioner_name", "Dr Placeholder"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect()
}
