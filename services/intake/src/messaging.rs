//! `processMessage`: the FHIR endpoint. A BaRS-style message bundle is read by
//! [`crate::fhir`], its sender resolved against intake's copy of the registry, validated like
//! any referral, and recorded by [`crate::command`] with the sender's endpoint
//! (`MessageHeader.source.endpoint`) as the event's `reply_to`; every answer is FHIR (an
//! `OperationOutcome`), and every message an authenticated caller sends, accepted or
//! refused, is kept in `inbound_messages` for audit (SQL in [`crate::queries`]).

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use linkway_events::Role;
use linkway_platform::ApiError;
use linkway_platform::auth::Principal;
use linkway_platform::idempotency::IdempotencyKey;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::AppState;
use crate::api::{CommandResponse, REFERRAL_ROLES, today};
use crate::command;
use crate::fhir::{self, HeaderFacts, Issue, Refusal};
use crate::queries;
use crate::validation;

pub const FHIR_JSON: &str = "application/fhir+json";
const OPERATION: &str = "processMessage";

/// A FHIR answer.
struct FhirResponse {
    status: StatusCode,
    body: Value,
    location: Option<String>,
}

impl IntoResponse for FhirResponse {
    fn into_response(self) -> Response {
        let mut r = (self.status, axum::Json(self.body)).into_response();
        r.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(FHIR_JSON));
        if let Some(l) = self.location.and_then(|l| HeaderValue::from_str(&l).ok()) {
            r.headers_mut().insert(header::LOCATION, l);
        }
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            r.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from_static(linkway_platform::problem::RETRY_AFTER_SECS),
            );
        }
        r
    }
}

fn refused(r: &Refusal) -> FhirResponse {
    FhirResponse {
        status: StatusCode::from_u16(r.status).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY),
        body: r.to_operation_outcome(),
        location: None,
    }
}

/// Platform errors (auth, storage) as OperationOutcomes.
fn from_api_error(e: ApiError) -> Refusal {
    let status = e.status().as_u16();
    let code = match &e {
        ApiError::Unauthenticated => "login",
        ApiError::Forbidden => "forbidden",
        ApiError::NotFound => "not-found",
        ApiError::Conflict(_) => "conflict",
        ApiError::Refused(_) => "business-rule",
        ApiError::IdempotencyMismatch(_) => "duplicate",
        ApiError::Unsupported(_) => "not-supported",
        ApiError::Validation(errors) => return fhir::validation_refusal(errors, None),
        ApiError::Unavailable(_) => "transient",
        ApiError::Internal(_) => "exception",
    };
    if let ApiError::Internal(err) = &e {
        tracing::error!(error = format!("{err:#}"), "internal error");
    }
    let detail = e.to_problem().detail.unwrap_or_else(|| e.to_string());
    Refusal::new(status, vec![Issue::error(code, detail)])
}

/// The answer to an accepted message.
fn accepted(status: StatusCode, answer: &CommandResponse) -> FhirResponse {
    FhirResponse {
        status,
        body: json!({
            "resourceType": "OperationOutcome",
            "issue": [{
                "severity": "information",
                "code": "informational",
                "details": {"coding": [
                    {"system": "https://linkway.example/fhir/CodeSystem/referral-id", "code": answer.referral_id.to_string()},
                    {"system": "https://linkway.example/fhir/CodeSystem/referral-status", "code": answer.status.as_str()},
                    {"system": "https://linkway.example/fhir/CodeSystem/event-sequence", "code": answer.sequence.to_string()},
                ]},
                "diagnostics": format!("referral {} received: {}", answer.referral_id, answer.status.as_str()),
            }]
        }),
        location: Some(format!("/referrals/{}", answer.referral_id)),
    }
}

/// Receives a FHIR message (BaRS-style `Bundle` of type `message`) carrying a referral to
/// social prescribing.
#[utoipa::path(
    post,
    path = "/fhir/$process-message",
    operation_id = "processMessage",
    tag = "fhir",
    request_body(content = Object, content_type = "application/fhir+json",
        description = "A FHIR R4 Bundle of type message: MessageHeader first (eventCoding servicerequest-request, reason new, sender, source.endpoint, focus -> ServiceRequest with code SNOMED CT 871731000000106), Patient, Organization, Practitioner(Role), Consent."),
    params(
        ("Idempotency-Key" = Option<String>, Header, description = "Optional; without it the Bundle.id identifies the message, so a resent message is recognised."),
        ("X-Correlation-ID" = Option<String>, Header, description = "A UUID tying this message to later events."),
        ("X-Request-ID" = Option<String>, Header, description = "The sender's request id (BaRS), for its own logs."),
    ),
    responses(
        (status = 201, description = "Accepted: an OperationOutcome (information) whose details carry the referral id, status and event sequence; Location names the referral", body = Object, content_type = "application/fhir+json"),
        (status = 400, description = "Not JSON, not a message Bundle, or no MessageHeader first (OperationOutcome, code structure)", body = Object, content_type = "application/fhir+json"),
        (status = 401, description = "No or bad bearer token (OperationOutcome, code login)", body = Object, content_type = "application/fhir+json"),
        (status = 403, description = "Role may not send referrals, or the message's sender is not the caller's organisation (OperationOutcome, code forbidden)", body = Object, content_type = "application/fhir+json"),
        (status = 409, description = "Concurrent change; resend (OperationOutcome, code conflict)", body = Object, content_type = "application/fhir+json"),
        (status = 415, description = "Not application/fhir+json (OperationOutcome, code not-supported)", body = Object, content_type = "application/fhir+json"),
        (status = 422, description = "Not a referral to social prescribing (not-supported); a dangling reference, an invalid NHS number, an unknown sender or any validation rule (issues carry FHIRPath and rule); or the message id was used for another message (duplicate)", body = Object, content_type = "application/fhir+json"),
        (status = 503, description = "A dependency is down; resend the same message (OperationOutcome, code transient)", body = Object, content_type = "application/fhir+json"),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all)]
pub async fn process_message(
    State(state): State<AppState>,
    principal: Result<Principal, ApiError>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let principal = match principal.and_then(|p| p.require(REFERRAL_ROLES).map(|()| p)) {
        Ok(p) => p,
        Err(e) => {
            let mut response = refused(&from_api_error(e)).into_response();
            echo_tracing_headers(&headers, response.headers_mut());
            return response;
        }
    };
    let mut audit = Audit::default();
    let answer = receive(&state, &principal, &headers, &body, &mut audit).await;
    let response = match &answer {
        Ok(r) => r.clone_shallow(),
        Err(r) => refused(r),
    };
    audit.http_status = response.status.as_u16();
    if let Err(e) = audit.save(&state, &principal).await {
        // The referral (if any) is safely in the log; a missing audit row is logged loudly.
        tracing::error!(error = %e, "could not record the inbound message");
    }
    let mut response = response.into_response();
    echo_tracing_headers(&headers, response.headers_mut());
    response
}

/// BaRS senders trace a message by `X-Request-ID` and `X-Correlation-ID`: answer with them.
fn echo_tracing_headers(request: &HeaderMap, response: &mut HeaderMap) {
    for name in ["x-request-id", "x-correlation-id"] {
        if let Some(v) = request.get(name).filter(|v| {
            v.len() <= 128
                && v.to_str()
                    .is_ok_and(|s| s.bytes().all(|b| b.is_ascii_graphic()))
        }) {
            response.insert(name, v.clone());
        }
    }
}

impl FhirResponse {
    fn clone_shallow(&self) -> FhirResponse {
        FhirResponse {
            status: self.status,
            body: self.body.clone(),
            location: self.location.clone(),
        }
    }
}

/// What the audit log keeps of one message.
#[derive(Default)]
struct Audit {
    facts: HeaderFacts,
    sender_identifier: Option<String>,
    sender_organisation_id: Option<String>,
    referral_id: Option<Uuid>,
    outcome: &'static str,
    http_status: u16,
}

impl Audit {
    async fn save(&self, state: &AppState, principal: &Principal) -> Result<(), ApiError> {
        let client = state.db.client().await?;
        let message = queries::InboundMessage {
            caller_organisation_id: &principal.organisation_id,
            bundle_id: self.facts.bundle_id.as_deref(),
            message_header_id: self.facts.header_id.as_deref(),
            event_code: self.facts.event_code.as_deref(),
            sender_identifier: self.sender_identifier.as_deref(),
            sender_organisation_id: self.sender_organisation_id.as_deref(),
            source_endpoint: self.facts.source_endpoint.as_deref(),
            source_software: self.facts.source_software.as_deref(),
            http_status: self.http_status as i16,
            outcome: if self.outcome.is_empty() {
                "refused"
            } else {
                self.outcome
            },
            referral_id: self.referral_id,
        };
        queries::record_inbound_message(&client, &message).await?;
        Ok(())
    }
}

async fn receive(
    state: &AppState,
    principal: &Principal,
    headers: &HeaderMap,
    body: &[u8],
    audit: &mut Audit,
) -> Result<FhirResponse, Refusal> {
    let media = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        });
    if media.as_deref() != Some(FHIR_JSON) {
        return Err(Refusal::new(
            415,
            vec![Issue::error("not-supported", format!("send {FHIR_JSON}"))],
        ));
    }
    // Where the JSON breaks, never what it holds.
    let bundle: Value = serde_json::from_slice(body).map_err(|e| {
        Refusal::new(
            400,
            vec![
                Issue::error(
                    "structure",
                    format!(
                        "the body is not JSON (line {}, column {})",
                        e.line(),
                        e.column()
                    ),
                )
                .rule("json"),
            ],
        )
    })?;
    audit.facts = fhir::header_facts(&bundle);
    let message = fhir::read_message(&bundle)?;
    audit.sender_identifier = Some(message.sender.value.clone());

    let sender = sender_organisation(state, &message.sender.value)
        .await
        .map_err(from_api_error)?;
    let Some(sender) = sender else {
        return Err(Refusal::new(
            422,
            vec![
                Issue::error(
                    "not-found",
                    "the sender's identifier names no organisation registered with Linkway",
                )
                .at_sender(),
            ],
        ));
    };
    audit.sender_organisation_id = Some(sender.clone());
    if principal.role == Role::Referrer && sender != principal.organisation_id {
        return Err(Refusal::new(
            403,
            vec![
                Issue::error(
                    "forbidden",
                    "the message's sender is not the organisation this token belongs to",
                )
                .at_sender(),
            ],
        ));
    }
    let valid = validation::validate_with_consent(&message.request, &message.consent, today())
        .map_err(|e| fhir::validation_refusal(&e, message.consent_entry))?;

    // The message's own id makes a resend recognisable, even without an Idempotency-Key.
    let key = match IdempotencyKey::from_headers(headers, &principal.organisation_id)
        .map_err(from_api_error)?
    {
        Some(k) => Some(k),
        None => message.bundle_id.as_ref().map(|id| IdempotencyKey {
            organisation_id: principal.organisation_id.clone(),
            key: format!("fhir-bundle:{id}"),
        }),
    };
    let done = command::submit(
        state,
        principal,
        sender,
        key,
        OPERATION,
        valid,
        command::Arrival::Fhir {
            reply_to: message.source_endpoint,
        },
        headers,
        body,
    )
    .await
    .map_err(|e| match e {
        ApiError::IdempotencyMismatch(_) => Refusal::new(
            422,
            vec![
                Issue::error(
                    "duplicate",
                    "this message id was already used for a different message",
                )
                .at_bundle_id(),
            ],
        ),
        e => from_api_error(e),
    })?;
    audit.referral_id = Some(done.answer.referral_id);
    audit.outcome = if done.replayed { "repeat" } else { "accepted" };
    Ok(accepted(done.status, &done.answer))
}

/// Linkway's lawful-basis CodeSystem (`Consent.policyRule`), as published in the repository.
const LEGAL_BASIS_CODE_SYSTEM: &str =
    include_str!("../../../schemas/fhir/CodeSystem-linkway-lawful-basis.json");

/// The CodeSystem of the lawful bases a `Consent.policyRule` must use.
#[utoipa::path(
    get,
    path = "/fhir/CodeSystem/legal-basis",
    operation_id = "getLegalBasisCodeSystem",
    tag = "fhir",
    responses(
        (status = 200, description = "Linkway's lawful-basis CodeSystem (FHIR R4), the codes Consent.policyRule must carry", body = Object, content_type = "application/fhir+json"),
    ),
    security(())
)]
pub async fn legal_basis_code_system() -> Response {
    (
        [(header::CONTENT_TYPE, HeaderValue::from_static(FHIR_JSON))],
        LEGAL_BASIS_CODE_SYSTEM,
    )
        .into_response()
}

/// The registered organisation an identifier names: by its ODS/charity code, or Linkway id.
async fn sender_organisation(
    state: &AppState,
    identifier: &str,
) -> Result<Option<String>, ApiError> {
    let client = state.db.client().await?;
    Ok(queries::organisation_by_identifier(&client, identifier).await?)
}

trait At {
    fn at_sender(self) -> Issue;
    fn at_bundle_id(self) -> Issue;
}

impl At for Issue {
    fn at_sender(mut self) -> Issue {
        self.expression = Some("MessageHeader.sender".into());
        self
    }

    fn at_bundle_id(mut self) -> Issue {
        self.expression = Some("Bundle.id".into());
        self
    }
}
