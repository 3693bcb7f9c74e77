//! The authorisation matrix: every operation of every service's served OpenAPI document
//! (read from `/openapi.json` at run time) x every role a token can hold x the caller's own
//! organisation and another one, plus no token at all, against the three services on real
//! NATS and PostgreSQL over real HTTP. Each answer is checked against the one table of
//! expected answers (`authorisation/table.rs`). An operation with no row fails, a row for
//! an operation no document has fails, a row missing a role (or naming one there is not)
//! fails, and a refused command must have appended nothing.

mod fixture;
mod requests;
mod table;

use std::collections::BTreeSet;

use linkway::ServiceName;
use linkway_events::Role;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use uuid::Uuid;

use fixture::{Answer, Body, GP_A, Record, World, roles};
use table::{Expect, Outcome, TABLE};

/// One operation of one service's document.
#[derive(Debug, Clone)]
struct Operation {
    service: ServiceName,
    method: Method,
    path: String,
    id: String,
    tag: String,
}

/// Every operation each running service documents at `/openapi.json`.
async fn documented(world: &World) -> Vec<Operation> {
    let mut operations = Vec::new();
    for service in ServiceName::ALL {
        let answer = world
            .send(service, Method::GET, "/openapi.json", Body::None, None)
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{service:?} /openapi.json");
        let doc: Value = serde_json::from_str(&answer.body).expect("a JSON document");
        for (path, item) in doc["paths"].as_object().expect("paths") {
            for (method, operation) in item.as_object().expect("path item") {
                let method = match method.as_str() {
                    "get" => Method::GET,
                    "post" => Method::POST,
                    "put" => Method::PUT,
                    "patch" => Method::PATCH,
                    "delete" => Method::DELETE,
                    _ => continue, // `parameters`, `summary`: not an operation
                };
                let id = operation["operationId"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{service:?} {method} {path} has no operationId"));
                operations.push(Operation {
                    service,
                    method,
                    path: path.clone(),
                    id: id.to_owned(),
                    tag: operation["tags"][0].as_str().unwrap_or_default().to_owned(),
                });
            }
        }
    }
    operations
}

/// What the table says `caller` gets (`None`: no token; `Some((role, own))`), if it says.
fn expected(expect: &Expect, caller: Option<(Role, bool)>) -> Option<Outcome> {
    match (expect, caller) {
        (Expect::Every(outcome), _) => Some(*outcome),
        (Expect::Roles { anonymous, .. }, None) => Some(*anonymous),
        (Expect::Roles { roles, .. }, Some((role, own))) => {
            let (_, mine, theirs) = roles.iter().find(|(name, _, _)| *name == role.as_str())?;
            Some(if own { *mine } else { *theirs })
        }
    }
}

/// Whether `answer` is `outcome` for a request about record `id`.
fn matches(outcome: Outcome, answer: &Answer, id: &str) -> bool {
    let ok = answer.status.is_success();
    match outcome {
        Outcome::Sees => ok && answer.body.contains(id),
        Outcome::Allowed | Outcome::Public => ok,
        Outcome::Unseen => ok && !answer.body.contains(id),
        Outcome::Forbidden => answer.status == StatusCode::FORBIDDEN,
        Outcome::NotFound => answer.status == StatusCode::NOT_FOUND,
        Outcome::Unauthenticated => answer.status == StatusCode::UNAUTHORIZED,
        Outcome::SignIn => {
            answer.status == StatusCode::SEE_OTHER
                && answer
                    .location
                    .as_deref()
                    .is_some_and(|l| l.starts_with("/sign-in"))
        }
        Outcome::Status(status) => answer.status.as_u16() == status,
    }
}

fn describe(caller: Option<(Role, bool)>) -> String {
    match caller {
        None => "no token".into(),
        Some((role, true)) => format!("{} (own organisation)", role.as_str()),
        Some((role, false)) => format!("{} (other organisation)", role.as_str()),
    }
}

/// `path` with its parameters filled: the record's ids, or any id (pages' own).
fn fill(path: &str, record: &Record, id: &str) -> String {
    let connection = record.connection_id.clone().unwrap_or_default();
    path.replace("{referral_id}", id)
        .replace("{connection_id}", &connection)
        .replace(
            "{appointment_id}",
            record.appointment_id.as_deref().unwrap_or_default(),
        )
        .replace("{id}", id)
        .replace("{organisation_id}", GP_A)
}

/// The table's own shape against the documents: returns every problem found.
fn check_coverage(operations: &[Operation]) -> Vec<String> {
    let mut problems = Vec::new();
    let documented: BTreeSet<&str> = operations.iter().map(|o| o.id.as_str()).collect();
    let rows: Vec<&str> = TABLE.iter().map(|(id, _)| *id).collect();
    for id in &documented {
        if !rows.contains(id) {
            problems.push(format!(
                "{id}: documented, but no row in authorisation/table.rs"
            ));
        }
    }
    for (id, expect) in TABLE {
        if !documented.contains(id) {
            problems.push(format!("{id}: a row in table.rs, but no document has it"));
        }
        if rows.iter().filter(|r| *r == id).count() > 1 {
            problems.push(format!("{id}: more than one row"));
        }
        if let Expect::Roles { roles: columns, .. } = expect {
            let named: BTreeSet<&str> = columns.iter().map(|(r, _, _)| *r).collect();
            let wanted: BTreeSet<&str> = roles().iter().map(|r| r.as_str()).collect();
            if named != wanted || named.len() != columns.len() {
                problems.push(format!(
                    "{id}: columns {named:?}, but the roles are {wanted:?} (each once)"
                ));
            }
        }
    }
    for operation in operations {
        if requests::request(&operation.id, &operation.tag).is_none() {
            problems.push(format!(
                "{}: no request in authorisation/requests.rs",
                operation.id
            ));
        }
    }
    problems
}

/// Calls one operation as one caller; a mismatch with the table, if any.
async fn call(
    world: &World,
    operation: &Operation,
    caller: Option<(Role, bool)>,
) -> Option<String> {
    let expect = &TABLE.iter().find(|(id, _)| *id == operation.id)?.1;
    let request = requests::request(&operation.id, &operation.tag)?;
    let record = match request.stage {
        Some(stage) => world.record(stage).await,
        None => world.full.clone(),
    };
    let path = fill(&operation.path, &record, &record.id);
    let query = request.query.replace("{seq}", &record.sequence.to_string());
    let target = if query.is_empty() {
        path
    } else {
        format!("{path}?{query}")
    };
    let token = caller.map(|(role, own)| world.token(role, own).to_owned());
    let store = world.env.store().await;
    let before = store.last_sequence().await.expect("log end");
    let answer = world
        .send(
            operation.service,
            operation.method.clone(),
            &target,
            request.body.clone(),
            token.as_deref(),
        )
        .await;
    // A role with no column is reported by the coverage check.
    let want = expected(expect, caller)?;
    let who = describe(caller);
    let name = format!(
        "{:?} {} {} as {who}",
        operation.service, operation.id, operation.method
    );
    if !matches(want, &answer, &record.id) {
        let body: String = answer.body.chars().take(300).collect();
        return Some(format!(
            "{name}: expected {want:?}, got {} {:?} {body}",
            answer.status, answer.location
        ));
    }
    let refused = !answer.status.is_success();
    let after = store.last_sequence().await.expect("log end");
    if refused && operation.tag != "pages" && after != before {
        return Some(format!(
            "{name}: refused ({}), yet the log grew",
            answer.status
        ));
    }
    // Another organisation's record looks exactly like one that does not exist.
    if want == Outcome::NotFound && operation.path.contains('{') {
        let missing = Uuid::now_v7().to_string();
        let other = world
            .send(
                operation.service,
                operation.method.clone(),
                &fill(&operation.path, &record, &missing),
                request.body,
                token.as_deref(),
            )
            .await;
        if (other.status, &other.body) != (answer.status, &answer.body) {
            return Some(format!(
                "{name}: another organisation's record answers {} {:?}, a missing one {} {:?}",
                answer.status, answer.body, other.status, other.body
            ));
        }
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_answers_every_role_in_either_organisation_as_the_table_says() {
    let world = World::start().await;
    let mut operations = documented(&world).await;
    // Reads first, while the records are few (a list shows its first page); then the
    // commands, each on fresh records.
    operations.sort_by_key(|o| o.method != Method::GET);
    assert!(
        operations.len() > 50,
        "the documents were read: {} operations",
        operations.len()
    );
    let mut problems = check_coverage(&operations);
    let mut callers: Vec<Option<(Role, bool)>> = vec![None];
    for role in roles() {
        callers.push(Some((role, true)));
        callers.push(Some((role, false)));
    }
    let mut calls = 0;
    for operation in &operations {
        for caller in &callers {
            calls += 1;
            if let Some(problem) = call(&world, operation, *caller).await {
                problems.push(problem);
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} of {calls} calls (or rows) differ from authorisation/table.rs:\n{}",
        problems.len(),
        problems.join("\n")
    );
}
