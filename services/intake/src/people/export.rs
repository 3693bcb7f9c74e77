//! The HTTP edge of `exportPerson` and `erasePerson`.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use bytes::Bytes;
use linkway_events::audit::AuditReason;
use linkway_events::person::ErasureReason;
use linkway_platform::ApiError;
use linkway_platform::audit::queries::{self, AuditEntry, Filter};
use linkway_platform::auth::Principal;
use linkway_platform::command::{self, Call, Executed, Recorded};
use linkway_platform::http::Path;
use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use super::decision::{Erase, ErasedAnswer, ErasureRequest, Parties};
use crate::AppState;
use crate::api::{correlation_id, parse_body, referral_id, require_json};

/// How many audit entries an export carries at most (newest first).
const AUDIT_LIMIT: i64 = 1000;

/// Everything Linkway holds about the person of one referral.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PersonExport {
    pub referral_id: Uuid,
    /// The person was erased: their details are gone from every event below.
    pub erased: bool,
    /// Every event of the referral, its case and its person, in order, as the log holds
    /// them (personal parts opened, while the person's key exists).
    pub events: Vec<ExportedEvent>,
    /// Who saw or changed the record, newest first (at most 1000 entries).
    pub audit: Vec<AuditEntry>,
}

/// One event, as recorded.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ExportedEvent {
    pub sequence: u64,
    /// e.g. `referral.received`.
    pub event_type: String,
    pub version: u32,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub occurred_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub recorded_at: OffsetDateTime,
    pub actor_organisation_id: String,
    pub actor_user_id: Option<String>,
    pub actor_role: String,
    /// The event's data (see `schemas/events/`).
    #[schema(value_type = Object)]
    pub data: Value,
}

/// Subject access: everything held about the person of a referral.
#[utoipa::path(
    get,
    path = "/referrals/{referral_id}/person",
    operation_id = "exportPerson",
    tag = "people",
    params(("referral_id" = Uuid, Path, description = "The referral whose person it is")),
    responses(
        (status = 200, description = "What Linkway holds about the person", body = PersonExport),
        (status = 403, description = "Only administrators and information governance leads export people", body = linkway_platform::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such referral, or one the caller's organisation neither sent nor received", body = linkway_platform::Problem, content_type = "application/problem+json"),
        linkway_platform::problem::CommonProblems,
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all)]
pub async fn export_person(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<PersonExport>, ApiError> {
    let id = referral_id(&id)?;
    Ok(Json(build(&state, &principal, id, "exportPerson").await?))
}

/// The export of the person of referral `id` for `principal`, recorded in the audit
/// trail (as seen through `operation`, for subject access) before it is returned.
pub async fn build(
    state: &AppState,
    principal: &Principal,
    id: Uuid,
    operation: &str,
) -> Result<PersonExport, ApiError> {
    let history = command::load(&state.store, &id.to_string()).await?;
    let parties = Parties::fold(&history);
    super::authorise(principal, &parties)?;
    state
        .audit
        .record(
            principal,
            operation,
            &[id],
            Some(AuditReason::SubjectAccess),
        )
        .await?;
    let mut client = state.db.client().await?;
    let filter = Filter {
        referral_id: Some(id),
        ..Filter::default()
    };
    let audit = queries::page(&mut client, None, &filter, AUDIT_LIMIT, 0)
        .await
        .map_err(ApiError::from)?
        .items;
    Ok(PersonExport {
        referral_id: id,
        erased: parties.erased,
        events: history.iter().map(exported).collect(),
        audit,
    })
}

/// Erasure: destroys the person's data key and tells every read model to forget them.
#[utoipa::path(
    post,
    path = "/referrals/{referral_id}/person/erasure",
    operation_id = "erasePerson",
    tag = "people",
    request_body(content = ErasureRequest, content_type = "application/json"),
    params(("referral_id" = Uuid, Path, description = "The referral whose person it is")),
    responses(
        (status = 200, description = "Erased (or erased already)", body = ErasedAnswer),
        (status = 403, description = "Only administrators and information governance leads erase people", body = linkway_platform::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such referral, or one the caller's organisation neither sent nor received", body = linkway_platform::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Changed concurrently; try again", body = linkway_platform::Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not application/json", body = linkway_platform::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Reason missing or not one of the codes", body = linkway_platform::Problem, content_type = "application/problem+json"),
        linkway_platform::problem::CommonProblems,
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all)]
pub async fn erase_person(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<ErasedAnswer>), ApiError> {
    let id = referral_id(&id)?;
    require_json(&headers)?;
    let request: ErasureRequest = parse_body(&body)?;
    let Some(reason) = request.reason else {
        return Err(ApiError::Validation(vec![
            linkway_platform::FieldError::new(
                "reason",
                "required",
                "say on which ground the person is erased",
            ),
        ]));
    };
    let call = Call {
        operation: "erasePerson",
        principal: &principal,
        aggregate_id: id.to_string(),
        key: None,
        body: &body,
        if_match: None,
        correlation_id: correlation_id(&headers),
        success: StatusCode::OK,
    };
    let done = erase(&state, &call, reason).await?;
    Ok((done.status, Json(done.answer)))
}

/// Erasure, whoever asks (`erasePerson`, the person page's form): `person.erased` through
/// the command path as `call` says, then the person's data key destroyed.
pub async fn erase(
    state: &AppState,
    call: &Call<'_>,
    reason: ErasureReason,
) -> Result<Executed<ErasedAnswer>, ApiError> {
    let done = command::execute(&state.store, call, &Erase { reason }).await?;
    // After the event, so a failure here leaves an erasure a retry completes.
    if let Some(vault) = state.store.vault() {
        vault.keys().destroy(&call.aggregate_id).await?;
    }
    tracing::info!(sequence = done.answer.sequence, "person erased");
    Ok(done)
}

fn exported(r: &Recorded) -> ExportedEvent {
    let mut data = r.envelope.data_value();
    // A part whose key is destroyed is noise: say nothing of it.
    if let Some(map) = data.as_object_mut() {
        map.remove(linkway_eventstore::vault::SEALED_FIELD);
    }
    ExportedEvent {
        sequence: r.sequence,
        event_type: r.envelope.event_type.clone(),
        version: r.envelope.version,
        occurred_at: r.envelope.occurred_at,
        recorded_at: r.envelope.recorded_at,
        actor_organisation_id: r.envelope.actor.organisation_id.clone(),
        actor_user_id: r.envelope.actor.user_id.clone(),
        actor_role: r.envelope.actor.role.as_str().to_owned(),
        data,
    }
}
