//! One referral's whole journey over the public APIs, as its people would make it: the
//! referrer submits it (JSON or a FHIR message), the link worker opens the case once the
//! caseload has it and works it to its end (each command with an `Idempotency-Key` and
//! the case version it decided on as `If-Match`), the referrer and the commissioner read.

use std::time::Instant;

use serde_json::{Value, json};
use uuid::Uuid;

use super::Urls;
use super::client::{Body, Call, Client, Failure};
use super::fhir;
use super::plan::{self, Answer, Channel, Engaged, Journey, Organisations, Referral, Rng, Shape};
use super::setup::Tokens;

/// What every journey of a run shares.
pub struct Context {
    pub client: Client,
    pub urls: Urls,
    pub tokens: Tokens,
    pub orgs: Organisations,
    pub shape: Shape,
    pub seed: u64,
    pub run: String,
    /// Every Nth referral is also followed into reporting.
    pub reporting_every: u64,
    /// Stop each journey once intake accepted the referral.
    pub submit_only: bool,
}

/// Runs referral `i`'s journey and records how it ended. `intended` is when its submit
/// should have started (open loop).
pub async fn run(ctx: &Context, i: u64, intended: Option<Instant>) {
    let recorder = &ctx.client.recorder;
    recorder.started();
    let plan = plan::referral(ctx.seed, &ctx.orgs, &ctx.shape, i);
    match journey(ctx, &plan, intended).await {
        Ok(()) if ctx.submit_only => recorder.journey("submitted"),
        Ok(()) => recorder.journey(plan.journey.kind()),
        Err(failure) => recorder.failed(failure.to_string()),
    }
}

fn refused(operation: &'static str, answer: impl Into<String>) -> Failure {
    Failure {
        operation,
        answer: answer.into(),
    }
}

async fn journey(ctx: &Context, plan: &Referral, intended: Option<Instant>) -> Result<(), Failure> {
    let start = intended.unwrap_or_else(Instant::now);
    let (id, sequence) = submit(ctx, plan, start).await?;
    if ctx.submit_only {
        return Ok(());
    }
    let referrer = &ctx.orgs.referrers[plan.referrer];
    let area = referrer.area;
    let probe = async {
        if plan.index.is_multiple_of(ctx.reporting_every.max(1)) {
            visible_in_reporting(ctx, area, sequence, start).await
        } else {
            Ok(())
        }
    };
    let service = referrer.service;
    let (version, probed) = tokio::join!(open_case(ctx, service, id, sequence, start), probe);
    probed?;
    let mut case = Case {
        ctx,
        base: format!("{}/cases/{id}", ctx.urls.link_worker),
        token: &ctx.tokens.link_workers[service],
        version: version?,
        index: plan.index,
        step: 0,
    };
    if plan.reads.caseload {
        let url = format!("{}/caseload?limit=50", ctx.urls.link_worker);
        ctx.client
            .send(Call::get("getCaseload", url, case.token))
            .await?;
    }
    match &plan.journey {
        Journey::Declined { reason } => {
            case.command("declineReferral", "decline", json!({ "reason": reason }))
                .await?;
        }
        Journey::NotContactable => not_contactable(&mut case).await?,
        Journey::Engaged(engaged) => work(&mut case, engaged).await?,
    }
    reads(ctx, plan, id, sequence).await
}

/// A deterministic UUID (version 4 layout) for item `n` of referral `i` of this run.
fn uuid(ctx: &Context, i: u64, n: u64) -> Uuid {
    let tag = ctx.run.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    let mut rng = Rng::for_item(ctx.seed ^ tag, n, i);
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&rng.next_u64().to_le_bytes());
    bytes[8..].copy_from_slice(&rng.next_u64().to_le_bytes());
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

/// Submits the referral; answers its id and the sequence of its last event.
async fn submit(ctx: &Context, plan: &Referral, start: Instant) -> Result<(Uuid, u64), Failure> {
    let referrer = &ctx.orgs.referrers[plan.referrer];
    let token = &ctx.tokens.referrers[plan.referrer];
    let request = crate::demo::referral_body(plan.person);
    let i = plan.index;
    let (operation, channel, mut call) = match plan.channel {
        Channel::Json => (
            "submitReferral",
            "json",
            Call::post(
                "submitReferral",
                format!("{}/referrals", ctx.urls.intake),
                token,
                Body::Json(request),
            )
            .key(format!("load-{}-{i}-submit", ctx.run)),
        ),
        // A GP system resending a message reuses its Bundle.id; intake recognises it.
        Channel::Fhir => (
            "processMessage",
            "fhir",
            Call::post(
                "processMessage",
                format!("{}/fhir/$process-message", ctx.urls.intake),
                token,
                Body::Fhir(fhir::message(
                    &request,
                    &referrer.code,
                    uuid(ctx, i, 1),
                    uuid(ctx, i, 2),
                )),
            ),
        ),
    };
    call.intended = Some(start);
    let answer = ctx.client.send(call).await?;
    let (id, sequence, status) = match plan.channel {
        Channel::Json => (
            answer.body["referral_id"]
                .as_str()
                .and_then(|s| s.parse().ok()),
            answer.body["sequence"].as_u64(),
            answer.body["status"].as_str().map(str::to_owned),
        ),
        Channel::Fhir => {
            let status = answer.body["issue"][0]["details"]["coding"][1]["code"]
                .as_str()
                .map(str::to_owned);
            let accepted = fhir::accepted(&answer.body);
            (accepted.map(|a| a.0), accepted.map(|a| a.1), status)
        }
    };
    let (Some(id), Some(sequence)) = (id, sequence) else {
        return Err(refused(operation, "no referral id or sequence"));
    };
    if status.as_deref() != Some("routed") {
        return Err(refused(operation, format!("status {status:?}, not routed")));
    }
    ctx.client
        .recorder
        .accepted(channel, &ctx.orgs.services[referrer.service].id);
    Ok((id, sequence))
}

/// The link worker opens the case as soon as the caseload has the referral: getCase
/// waiting for the submit's sequence (`min_sequence`). Answers the case version (ETag).
async fn open_case(
    ctx: &Context,
    service: usize,
    id: Uuid,
    sequence: u64,
    start: Instant,
) -> Result<u64, Failure> {
    let url = format!(
        "{}/cases/{id}?min_sequence={sequence}",
        ctx.urls.link_worker
    );
    let token = &ctx.tokens.link_workers[service];
    let answer = ctx.client.send(Call::get("getCase", url, token)).await?;
    ctx.client.recorder.visible("caseload", answer.at - start);
    answer
        .headers
        .get("etag")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim_matches('"').parse().ok())
        .ok_or_else(|| refused("getCase", "no case version (ETag)"))
}

async fn visible_in_reporting(
    ctx: &Context,
    area: usize,
    sequence: u64,
    start: Instant,
) -> Result<(), Failure> {
    let url = format!("{}/summary?min_sequence={sequence}", ctx.urls.reporting);
    let token = &ctx.tokens.commissioners[area];
    let call = Call::get("getSummary?min_sequence", url, token);
    let answer = ctx.client.send(call).await?;
    ctx.client.recorder.visible("reporting", answer.at - start);
    Ok(())
}

/// One case being worked: each command carries the version the last answer gave.
struct Case<'a> {
    ctx: &'a Context,
    base: String,
    token: &'a str,
    version: u64,
    index: u64,
    step: u32,
}

impl Case<'_> {
    async fn command(
        &mut self,
        operation: &'static str,
        path: &str,
        body: Value,
    ) -> Result<Value, Failure> {
        self.step += 1;
        let call = Call::post(
            operation,
            format!("{}/{path}", self.base),
            self.token,
            Body::Json(body),
        )
        .key(format!(
            "load-{}-{}-{}",
            self.ctx.run, self.index, self.step
        ))
        .if_match(self.version);
        let answer = self.ctx.client.send(call).await?;
        self.version = answer.body["sequence"]
            .as_u64()
            .ok_or_else(|| refused(operation, "no sequence"))?;
        Ok(answer.body)
    }

    async fn contact(&mut self, made: bool) -> Result<Value, Failure> {
        let channel = ["phone", "face_to_face", "video", "home_visit"][self.step as usize % 4];
        let body = if made {
            json!({"kind": "made", "channel": channel, "minutes": 30 + self.step % 4 * 10,
                   "notes": "Talked about what matters to them and the week ahead."})
        } else {
            json!({"kind": "attempt", "channel": "phone"})
        };
        self.command("recordContact", "contacts", body).await
    }

    async fn outcome(&mut self, engaged: &Engaged, n: u8, timepoint: &str) -> Result<(), Failure> {
        let ctx = self.ctx;
        let answers = plan::item_answers(ctx.seed, self.index, n, engaged.instrument);
        let body = json!({"instrument": engaged.instrument, "timepoint": timepoint, "item_answers": answers});
        self.command("recordOutcome", "outcomes", body)
            .await
            .map(drop)
    }
}

fn plan_body(goals: &[&str]) -> Value {
    let review = time::OffsetDateTime::now_utc().date() + time::Duration::days(42);
    json!({
        "what_matters": "Getting out of the house and meeting people again",
        "goals": goals,
        "actions": ["Link worker to introduce the group's organiser"],
        "review_date": review.to_string(),
    })
}

/// Accepted and assigned, then attempts until the service's limit makes the case
/// could-not-contact (the limit is the server's setting), then closed.
async fn not_contactable(case: &mut Case<'_>) -> Result<(), Failure> {
    case.command("acceptReferral", "accept", json!({})).await?;
    case.command("assignCase", "assignment", json!({})).await?;
    for _ in 0..20 {
        let answer = case.contact(false).await?;
        if answer["state"] == "could_not_contact" {
            let body = json!({"reason": "could_not_contact"});
            return case.command("closeCase", "closure", body).await.map(drop);
        }
    }
    Err(refused(
        "recordContact",
        "20 attempts and still not could_not_contact",
    ))
}

/// An engaged case: contact, a plan, outcome measures, onward connections, closure.
async fn work(case: &mut Case<'_>, e: &Engaged) -> Result<(), Failure> {
    case.command("acceptReferral", "accept", json!({})).await?;
    case.command("assignCase", "assignment", json!({})).await?;
    for _ in 0..e.failed_attempts {
        case.contact(false).await?;
    }
    case.contact(true).await?;
    let goals = ["Join a weekly group", "Sort out the council tax arrears"];
    case.command("agreePlan", "plan", plan_body(&goals)).await?;
    case.outcome(e, 0, "baseline").await?;
    let mut contacts_left = e.contacts - 1;
    for &(service, answer) in &e.connections {
        let body = json!({
            "service_id": case.ctx.orgs.directory[service],
            "legal_basis": "explicit_consent",
            "share": ["name", "phone"],
        });
        let made = case.command("connectService", "connections", body).await?;
        let connection = made["connection_id"]
            .as_str()
            .ok_or_else(|| refused("connectService", "no connection_id"))?
            .to_owned();
        let responses: &[&str] = match answer {
            Answer::AcceptedAndAttended => &["accepted", "attended"],
            Answer::Accepted => &["accepted"],
            Answer::Declined => &["declined"],
        };
        for response in responses {
            let path = format!("connections/{connection}/responses");
            let body = json!({ "response": response });
            case.command("recordConnectionResponse", &path, body)
                .await?;
        }
        if contacts_left > 1 {
            case.contact(true).await?;
            contacts_left -= 1;
        }
    }
    if e.outcomes == 3 {
        while contacts_left > e.contacts / 3 {
            case.contact(true).await?;
            contacts_left -= 1;
        }
        case.outcome(e, 1, "review").await?;
        let goals = ["Keep going to the group", "Stay on top of the payments"];
        case.command("reviewPlan", "plan/reviews", plan_body(&goals))
            .await?;
    }
    for _ in 0..contacts_left {
        case.contact(true).await?;
    }
    case.outcome(e, 2, "exit").await?;
    case.command("closeCase", "closure", json!({ "reason": e.closure }))
        .await
        .map(drop)
}

/// The referrer follows the referral up (with the submit's sequence, as the contract
/// says: intake's read model may be behind the caseload); the area's commissioner reads
/// the summary or the outcome feed.
async fn reads(ctx: &Context, plan: &Referral, id: Uuid, sequence: u64) -> Result<(), Failure> {
    let area = ctx.orgs.referrers[plan.referrer].area;
    let commissioner = &ctx.tokens.commissioners[area];
    if plan.reads.referrer {
        let url = format!("{}/referrals/{id}?min_sequence={sequence}", ctx.urls.intake);
        let token = &ctx.tokens.referrers[plan.referrer];
        ctx.client
            .send(Call::get("getReferral", url, token))
            .await?;
    }
    if plan.reads.summary {
        let url = format!("{}/summary", ctx.urls.reporting);
        ctx.client
            .send(Call::get("getSummary", url, commissioner))
            .await?;
    }
    if plan.reads.feed {
        let mut call = Call::get(
            "getOutcomeFeed",
            format!("{}/feed", ctx.urls.reporting),
            commissioner,
        );
        call.accept = Some("text/csv");
        ctx.client.send(call).await?;
    }
    Ok(())
}
