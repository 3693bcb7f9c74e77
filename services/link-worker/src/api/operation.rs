//! Every case command as one operation, the same for the JSON API and the pages: the body's
//! shape (JSON, as the document states it), the checks the document cannot state, the
//! [`Command`] it asks for, and the platform's command path through [`execute`]. A page
//! sends the JSON body its form stands for, so a refusal is the same for both.

use super::*;

/// A case command, by the operation that asks for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Accept,
    Decline,
    Assign,
    RecordContact,
    AgreePlan,
    ReviewPlan,
    ConnectService,
    RecordConnectionResponse { connection_id: Uuid },
    RecordOutcome,
    RaiseSafeguarding,
    Close,
}

/// Runs one operation's JSON `body` on case `id` as `principal` (whose role the caller
/// checked): parsed, checked, decided and appended exactly as its JSON route does.
pub async fn run(
    state: &AppState,
    principal: &Principal,
    headers: &HeaderMap,
    id: Uuid,
    operation: Operation,
    body: &[u8],
) -> Result<(StatusCode, Json<CommandAccepted>)> {
    let (command, refused) = match operation {
        Operation::Accept => (Command::Accept, Vec::new()),
        Operation::Decline => {
            let req: DeclineRequest = parse_body(body)?;
            (Command::Decline { reason: req.reason }, Vec::new())
        }
        Operation::Assign => assign(principal, parse_body(body)?)?,
        Operation::RecordContact => (contact(parse_body(body)?)?, Vec::new()),
        Operation::AgreePlan => {
            let (plan, refused) = plans::plan_input(parse_body(body)?)?;
            (Command::AgreePlan(plan), refused)
        }
        Operation::ReviewPlan => {
            let (plan, refused) = plans::plan_input(parse_body(body)?)?;
            (Command::ReviewPlan(plan), refused)
        }
        Operation::ConnectService => {
            connect(state, principal, headers, id, parse_body(body)?).await?
        }
        Operation::RecordConnectionResponse { connection_id } => {
            let req: ConnectionResponseRequest = parse_body(body)?;
            connection_response(connection_id, req)
        }
        Operation::RecordOutcome => {
            let req: OutcomeRequest = parse_body(body)?;
            let answers: Vec<u8> = req.item_answers.iter().map(|a| a.to_u8()).collect();
            let mut errors = Vec::new();
            let concerns: Vec<String> = (req.concerns.iter().flatten().enumerate())
                .map(|(i, raw)| {
                    let field = format!("concerns.{i}");
                    fields::required(&mut errors, &field, raw, fields::MEASURED_CONCERN)
                })
                .collect();
            check(errors)?;
            if req.instrument.asks_for_concerns() && !outcomes::concerns_writable() {
                return Err(invalid(
                    "instrument",
                    "version_pinned",
                    "this process writes case.outcome_recorded version 1, which has no place \
                     for the person's concerns: record MYCaW once the upgrade is complete",
                ));
            }
            let scored =
                outcomes::score_with_concerns(req.instrument, req.timepoint, &answers, &concerns)
                    .map_err(|e| invalid(&e.field(), e.rule(), &e.to_string()))?;
            (Command::RecordOutcome(scored), Vec::new())
        }
        Operation::RaiseSafeguarding => {
            let req: SafeguardingRequest = parse_body(body)?;
            let mut errors = Vec::new();
            let concern = fields::required(&mut errors, "concern", &req.concern, fields::CONCERN);
            check(errors)?;
            (Command::RaiseSafeguarding { concern }, Vec::new())
        }
        Operation::Close => {
            let req: CloseRequest = parse_body(body)?;
            (Command::Close { reason: req.reason }, Vec::new())
        }
    };
    execute(state, principal, headers, id, body, command, refused).await
}

/// The link worker named, or the caller; a token that names no user must name one.
fn assign(principal: &Principal, req: AssignRequest) -> Result<(Command, Vec<FieldError>)> {
    let mut errors = Vec::new();
    let named = fields::optional(
        &mut errors,
        "link_worker_id",
        req.link_worker_id.as_deref(),
        fields::LINK_WORKER_ID,
    );
    check(errors)?;
    let mut refused = Vec::new();
    let link_worker_id = named
        .or_else(|| principal.user_id.clone())
        .unwrap_or_else(|| {
            refused.push(FieldError::new(
                "link_worker_id",
                "required",
                "name the link worker (the token names no user)",
            ));
            String::new()
        });
    Ok((Command::Assign { link_worker_id }, refused))
}

/// An attempt names the channel and may say how it ended; a contact made names its
/// minutes and may have notes.
fn contact(req: ContactRequest) -> Result<Command> {
    let mut errors = Vec::new();
    let (minutes, notes, outcome) = match req.kind {
        ContactKind::Made => {
            let minutes = req
                .minutes
                .map(fields::Whole::to_u32)
                .filter(|m| fields::MINUTES.contains(m));
            if minutes.is_none() {
                errors.push(FieldError::new(
                    "minutes",
                    "range",
                    "minutes must be 1-600 for a contact made",
                ));
            }
            let notes = fields::optional(
                &mut errors,
                "notes",
                req.notes.as_deref(),
                fields::CONTACT_NOTES,
            );
            if req.outcome.is_some() {
                errors.push(FieldError::new(
                    "outcome",
                    "made_has_no_outcome",
                    "a contact made records no attempt outcome",
                ));
            }
            (
                minutes.unwrap_or_default(),
                notes,
                ContactOutcome::NotRecorded,
            )
        }
        ContactKind::Attempt => {
            if req.minutes.is_some() || req.notes.is_some() {
                errors.push(FieldError::new(
                    "kind",
                    "attempt_has_no_content",
                    "an attempt records no minutes or notes",
                ));
            }
            (0, None, req.outcome.unwrap_or(ContactOutcome::NotRecorded))
        }
    };
    check(errors)?;
    Ok(Command::RecordContact {
        kind: req.kind,
        channel: req.channel,
        outcome,
        minutes,
        notes,
    })
}

/// A connection to a directory service; an unknown service is refused once the case is
/// authorised. The connection id follows from the idempotency key, so a retry names the
/// same connection.
async fn connect(
    state: &AppState,
    principal: &Principal,
    headers: &HeaderMap,
    id: Uuid,
    req: ConnectRequest,
) -> Result<(Command, Vec<FieldError>)> {
    let mut errors = Vec::new();
    let service_id = fields::required(
        &mut errors,
        "service_id",
        &req.service_id,
        fields::SERVICE_ID,
    );
    check(errors)?;
    let mut seen = std::collections::HashSet::new();
    if let Some(i) = req.share.iter().position(|d| !seen.insert(*d)) {
        return Err(invalid(
            &format!("share.{i}"),
            "unique",
            "each detail is shared once",
        ));
    }
    let client = state.db.client().await?;
    let found = directory::get(&client, &service_id).await?;
    drop(client);
    let mut refused = Vec::new();
    let service = found.map_or_else(
        || {
            refused.push(FieldError::new(
                "service_id",
                "known_service",
                "no directory service has this id",
            ));
            case::ServiceRef {
                id: service_id.clone(),
                name: String::new(),
                status: String::new(),
                kind: None,
                withdrawn: false,
            }
        },
        |s| case::ServiceRef {
            id: s.id,
            name: s.name,
            status: s.status,
            kind: s.categories.into_iter().next(),
            withdrawn: s.withdrawn_at.is_some(),
        },
    );
    let key = IdempotencyKey::from_headers(headers, &principal.organisation_id)?;
    let connection_id = match &key {
        Some(k) => k.derived_id(&format!("connectService:{id}")),
        None => Uuid::now_v7(),
    };
    let command = Command::ConnectService {
        connection_id,
        service,
        legal_basis: req.legal_basis,
        shared: req.share,
    };
    Ok((command, refused))
}

/// recordConnectionResponse's command, and what its document cannot state: a reason only
/// with a decline, never `no_answer_in_time` (Linkway's automatic decline), and none while
/// this process is pinned to write `case.connection_declined` v1 (it would be dropped).
fn connection_response(
    connection_id: Uuid,
    req: ConnectionResponseRequest,
) -> (Command, Vec<FieldError>) {
    use linkway_events::case::ConnectionDeclineReason as Reason;
    let mut refused = Vec::new();
    match req.reason {
        Some(_) if req.response != ConnectionResponse::Declined => refused.push(FieldError::new(
            "reason",
            "reason_only_for_decline",
            "a reason is given only when the service declined",
        )),
        Some(Reason::NoAnswerInTime) => refused.push(FieldError::new(
            "reason",
            "reason_is_automatic",
            "no_answer_in_time is recorded by Linkway itself when a service does not answer \
             in time",
        )),
        Some(r) if r != Reason::NotRecorded && !crate::timers::reason_writable() => {
            refused.push(FieldError::new(
                "reason",
                "version_pinned",
                "this process writes case.connection_declined version 1, which has no place \
                 for a reason: record it once the upgrade is complete",
            ))
        }
        _ => {}
    }
    let command = Command::RecordConnectionResponse {
        connection_id,
        response: req.response,
        decline_reason: req.reason.unwrap_or(Reason::NotRecorded),
    };
    (command, refused)
}
