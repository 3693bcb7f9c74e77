//! The case page's posts: each form becomes the JSON body of its API operation and runs
//! through [`api::run`] (the JSON routes' own parsing, checks and command path); a refusal
//! shows the case page again with the error summary and what was typed (422, or 409 for
//! a step the case no longer allows), a success is 303 to the case with `?min_sequence=`.

use axum::extract::State;
use axum::response::Response;
use linkway_platform::http::{CorrelationId, Path};
use linkway_platform::web::{PageForm, SignedIn};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::case::{Failed, show};
use super::{CASE_ROLES, PageError, command_headers, principal, refused, see_other};
use crate::api::{self, AppState, Operation};

/// Sends one of the case page's forms.
#[utoipa::path(
    post, path = "/cases/{id}/view", operation_id = "submitCaseForm", tag = "pages",
    params(("id" = Uuid, Path, description = "The referral id")),
    request_body(content = String, content_type = "application/x-www-form-urlencoded",
        description = "One of the case page's forms: `csrf`, `action` (accept | decline | assign | attempt | made | plan | review | response-<connection id> | safeguarding | close), `version`, `idempotency_key` and the form's fields."),
    responses(
        (status = 303, description = "Done: to the case page with `?min_sequence=`; or not signed in: to /sign-in"),
        (status = 403, description = "No or wrong CSRF token, or a role that may not do this: nothing was changed (HTML)", content_type = "text/html", body = String),
        (status = 404, description = "No such case for this organisation (HTML)", content_type = "text/html", body = String),
        (status = 409, description = "The case does not allow this now, or changed meanwhile: the case page with the problem (HTML)", content_type = "text/html", body = String),
        (status = 422, description = "The case page again, each problem beside its field and in a summary (HTML)", content_type = "text/html", body = String),
        (status = 503, description = "Try again shortly (HTML)", content_type = "text/html", body = String),
    ),
    security(("session" = []))
)]
#[tracing::instrument(skip_all)]
pub async fn post(
    who: SignedIn,
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    correlation: CorrelationId,
    form: PageForm,
) -> Result<Response, PageError> {
    let principal = principal(&who, CASE_ROLES)?;
    let action = form.get("action").to_owned();
    let Some((operation, body, fallback)) = request(&action, &form) else {
        return Err(PageError::Api(linkway_platform::ApiError::field(
            "action",
            "known_action",
            "unknown form",
        )));
    };
    let headers = command_headers(
        correlation.0,
        form.get("idempotency_key"),
        form.get("version"),
    );
    let body = if body.is_null() {
        Vec::new()
    } else {
        body.to_string().into_bytes()
    };
    match api::run(&state, &principal, &headers, id, operation, &body).await {
        Ok((_, answer)) => {
            let back = match form.get("return_to") {
                "team" => "/team".to_owned(),
                _ => format!("/cases/{id}/view"),
            };
            let done = if action.starts_with("response-") {
                "response"
            } else {
                &action
            };
            Ok(see_other(&back, answer.sequence, done))
        }
        Err(error) => {
            let rename = |field: &str| form_field(&action, field);
            let refusal = refused(error, rename, &fallback)?;
            let failed = Failed {
                action: &action,
                posted: &form,
                errors: refusal.errors,
                status: refusal.status,
            };
            show(&state, &who, &principal, id, None, Some(failed), "").await
        }
    }
}

/// The operation a form asks for, its JSON body (`null`: none) and its first field.
fn request(action: &str, form: &PageForm) -> Option<(Operation, Value, String)> {
    let text = |name: &str| Value::String(form.get(name).to_owned());
    let some = |name: &str| match form.get(name) {
        "" => None,
        v => Some(Value::String(v.to_owned())),
    };
    let lines = |name: &str| {
        Value::Array(
            form.get(name)
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(|l| Value::String(l.to_owned()))
                .collect(),
        )
    };
    let mut object = Map::new();
    let (operation, first) = match action {
        "accept" => return Some((Operation::Accept, Value::Null, "accept".into())),
        "decline" => {
            object.insert("reason".into(), text("decline_reason"));
            (Operation::Decline, "decline_reason")
        }
        "assign" => {
            // The team page's rows name theirs `link_worker_id-<n>` (ids are unique).
            let named = form
                .fields()
                .find(|(k, v)| k.starts_with("link_worker_id") && !v.trim().is_empty())
                .map(|(_, v)| Value::String(v.trim().to_owned()));
            if let Some(v) = named {
                object.insert("link_worker_id".into(), v);
            }
            (Operation::Assign, "link_worker_id")
        }
        "attempt" => {
            object.insert("kind".into(), json!("attempt"));
            object.insert("channel".into(), text("attempt_channel"));
            if let Some(v) = some("attempt_outcome") {
                object.insert("outcome".into(), v);
            }
            (Operation::RecordContact, "attempt_channel")
        }
        "made" => {
            object.insert("kind".into(), json!("made"));
            object.insert("channel".into(), text("made_channel"));
            let minutes = form.get("minutes");
            let minutes = minutes
                .parse::<u64>()
                .map_or_else(|_| text("minutes"), Value::from);
            object.insert("minutes".into(), minutes);
            if let Some(v) = some("notes") {
                object.insert("notes".into(), v);
            }
            (Operation::RecordContact, "made_channel")
        }
        "plan" | "review" => {
            object.insert("what_matters".into(), text("what_matters"));
            object.insert("goals".into(), lines("goals"));
            object.insert("actions".into(), lines("actions"));
            object.insert("review_date".into(), text("review_date"));
            let op = if action == "plan" {
                Operation::AgreePlan
            } else {
                Operation::ReviewPlan
            };
            (op, "what_matters")
        }
        "safeguarding" => {
            object.insert("concern".into(), text("concern"));
            (Operation::RaiseSafeguarding, "concern")
        }
        "close" => {
            object.insert("reason".into(), text("close_reason"));
            (Operation::Close, "close_reason")
        }
        response => {
            let connection_id = Uuid::parse_str(response.strip_prefix("response-")?).ok()?;
            object.insert("response".into(), text(response));
            // A decline's reason, when one was chosen (a reason beside another answer is
            // not sent: the form offers it only for a decline).
            let reason = some(&format!("reason-{connection_id}"));
            if let (Some(reason), "declined") = (reason, form.get(response)) {
                object.insert("reason".into(), reason);
            }
            let op = Operation::RecordConnectionResponse { connection_id };
            return Some((op, Value::Object(object), response.to_owned()));
        }
    };
    Some((operation, Value::Object(object), first.to_owned()))
}

/// The form's field for a field the API named; `None` for one the form does not have.
fn form_field(action: &str, api_field: &str) -> Option<String> {
    let field = api_field.split('.').next().unwrap_or(api_field);
    let named = match (action, field) {
        ("decline" | "close", "reason") => format!("{action}_reason"),
        ("attempt" | "made", "channel") => format!("{action}_channel"),
        ("attempt", "outcome") => "attempt_outcome".into(),
        ("made", "minutes" | "notes") => field.into(),
        ("assign", "link_worker_id") => field.into(),
        ("plan" | "review", "what_matters" | "goals" | "actions" | "review_date") => field.into(),
        ("safeguarding", "concern") => field.into(),
        (response, "response") if response.starts_with("response-") => response.into(),
        (response, "reason") if response.starts_with("response-") => {
            format!("reason-{}", response.trim_start_matches("response-"))
        }
        _ => return None,
    };
    Some(named)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_contact_made_form_is_the_json_body_record_contact_takes() {
        let form = PageForm::parse(
            b"action=made&made_channel=phone&minutes=30&notes=Talked+about+the+choir",
        );
        let (op, body, _) = request("made", &form).unwrap();
        assert_eq!(op, Operation::RecordContact);
        assert_eq!(
            body,
            json!({"kind": "made", "channel": "phone", "minutes": 30, "notes": "Talked about the choir"})
        );
    }

    #[test]
    fn minutes_that_are_not_a_number_go_as_typed_so_the_api_refuses_them() {
        let form = PageForm::parse(b"made_channel=phone&minutes=half+an+hour");
        let (_, body, _) = request("made", &form).unwrap();
        assert_eq!(body["minutes"], json!("half an hour"));
    }

    #[test]
    fn an_attempt_without_an_outcome_leaves_it_to_the_api_default() {
        let form = PageForm::parse(b"attempt_channel=phone");
        let (_, body, _) = request("attempt", &form).unwrap();
        assert_eq!(body, json!({"kind": "attempt", "channel": "phone"}));
    }

    #[test]
    fn a_plan_takes_one_goal_a_line() {
        let form = PageForm::parse(b"what_matters=Company&goals=Join+a+choir%0D%0A%0D%0AWalk+weekly&review_date=2030-01-01");
        let (_, body, _) = request("plan", &form).unwrap();
        assert_eq!(body["goals"], json!(["Join a choir", "Walk weekly"]));
        assert_eq!(body["actions"], json!([]));
    }

    #[test]
    fn a_decline_carries_its_reason_and_another_answer_none() {
        let c = "0195a1c2-7e10-7d3a-9f4b-2c1d0e9f8a7b";
        let action = format!("response-{c}");
        let body = |answer: &str, reason: &str| {
            let text = format!("{action}={answer}&reason-{c}={reason}");
            request(&action, &PageForm::parse(text.as_bytes()))
                .unwrap()
                .1
        };
        assert_eq!(
            body("declined", "no_capacity"),
            json!({"response": "declined", "reason": "no_capacity"})
        );
        assert_eq!(body("declined", ""), json!({"response": "declined"}));
        assert_eq!(
            body("accepted", "no_capacity"),
            json!({"response": "accepted"})
        );
        assert_eq!(
            form_field(&action, "reason"),
            Some(format!("reason-{c}")),
            "a refused reason lands on its radios"
        );
    }

    #[test]
    fn an_unknown_form_or_connection_is_no_request() {
        assert!(request("delete", &PageForm::default()).is_none());
        assert!(request("response-not-a-uuid", &PageForm::default()).is_none());
    }

    #[test]
    fn api_fields_land_on_the_forms_own_fields() {
        assert_eq!(
            form_field("close", "reason").as_deref(),
            Some("close_reason")
        );
        assert_eq!(form_field("plan", "goals.3").as_deref(), Some("goals"));
        assert_eq!(form_field("attempt", "minutes"), None);
    }
}
