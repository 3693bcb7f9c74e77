//! `/cases/{id}/view/outcome`: an outcome measure recorded by answering the
//! questionnaire's own items ([`crate::outcomes::questions`]); the answers go to
//! `recordOutcome` as they are, which scores them with the pure functions of
//! [`crate::outcomes`]. Also how a recorded measure's score and its change from the
//! baseline read on the case page.

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use linkway_events::case::Timepoint;
use linkway_platform::http::{CorrelationId, Path};
use linkway_platform::web::page::{Field, error_for, error_summary, form, radios};
use linkway_platform::web::{FieldError, Page, PageForm, SignedIn};
use maud::{Markup, html};
use serde_json::json;
use uuid::Uuid;

use super::{
    CASE_ROLES, PageError, command_headers, fresh_key, html, labels, navigation, principal,
    refused, see_other,
};
use crate::api::{self, AppState, Operation};
use crate::case::Outcome;
use crate::outcomes::{self, Instrument, questions};

/// The instrument's short name for people.
pub fn name(code: &str) -> &'static str {
    match code {
        "swemwbs" => "SWEMWBS",
        "wemwbs" => "WEMWBS",
        "ons4" => "ONS4",
        "ucla3" => "UCLA-3 loneliness",
        "mycaw" => "MYCaW",
        _ => "Measure",
    }
}

fn instrument(code: &str) -> Option<Instrument> {
    Instrument::ALL.into_iter().find(|i| i.as_str() == code)
}

/// The score of a recorded measure as people read it.
pub fn score(o: &Outcome) -> Markup {
    html! {
        @match o.instrument.as_str() {
            "ons4" => {
                @let bands = outcomes::ons4::bands(&o.item_answers);
                ul class="nhsuk-list" {
                    @for (i, q) in ["Life satisfaction", "Worthwhile", "Happy yesterday", "Anxious yesterday"].iter().enumerate() {
                        li { (q) ": " (o.item_answers.get(i).copied().unwrap_or_default())
                            @if let Some(b) = bands { " (" (labels::code(&b[i]).replace('_', " ")) ")" } }
                    }
                }
            }
            "swemwbs" => { "Raw " (o.raw_score.unwrap_or_default()) ", metric " (format!("{:.2}", o.derived_score.unwrap_or_default())) }
            "ucla3" => { (o.raw_score.unwrap_or_default()) " of 9 (higher is lonelier)" }
            "mycaw" => {
                "Profile " (format!("{:.2}", o.derived_score.unwrap_or_default())) " of 6 (lower is better)"
                @if let Some(p) = &o.personal {
                    ul class="nhsuk-list" {
                        @for (concern, answer) in p.concerns.iter().zip(&o.item_answers) {
                            li { (concern) ": " (answer) }
                        }
                        @if let Some(wellbeing) = o.item_answers.last() { li { "Wellbeing: " (wellbeing) } }
                    }
                }
            }
            _ => { (o.raw_score.unwrap_or_default()) }
        }
    }
}

/// The change of a later measure from the first baseline of its instrument.
pub fn change(all: &[Outcome], o: &Outcome) -> Markup {
    let baseline = all
        .iter()
        .find(|b| b.instrument == o.instrument && b.timepoint == Timepoint::Baseline);
    let Some(b) = baseline.filter(|_| o.timepoint != Timepoint::Baseline) else {
        return html! { @if o.timepoint == Timepoint::Baseline { "Baseline" } @else { "No baseline" } };
    };
    let signed = |d: f64| {
        if d > 0.0 {
            format!("+{d:.2}")
        } else {
            format!("{d:.2}")
        }
    };
    html! {
        @match o.instrument.as_str() {
            "swemwbs" => {
                @let (from, to) = (b.derived_score.unwrap_or_default(), o.derived_score.unwrap_or_default());
                (signed(to - from)) " metric points: "
                (change_words(outcomes::swemwbs::change(from, to, outcomes::swemwbs::MEANINGFUL_CHANGE)))
            }
            "ons4" => {
                @for (i, (then, now)) in b.item_answers.iter().zip(&o.item_answers).enumerate() {
                    (["Satisfaction", "Worthwhile", "Happy", "Anxious"][i.min(3)]) " " (signed(f64::from(*now) - f64::from(*then))) br;
                }
            }
            "mycaw" => {
                @let change = outcomes::mycaw::change(b.derived_score.unwrap_or_default(), o.derived_score.unwrap_or_default());
                (signed(change)) " (a positive change is an improvement: the concerns bother the person less)"
            }
            _ => { (signed(f64::from(o.raw_score.unwrap_or_default()) - f64::from(b.raw_score.unwrap_or_default()))) }
        }
    }
}

/// A SWEMWBS change in words.
pub fn change_words(change: outcomes::Change) -> &'static str {
    match change {
        outcomes::Change::Improved => "improved",
        outcomes::Change::NoMeaningfulChange => "no meaningful change",
        outcomes::Change::Worse => "worse",
    }
}

/// The questionnaire page.
#[utoipa::path(
    get, path = "/cases/{id}/view/outcome", operation_id = "getOutcomeForm", tag = "pages",
    params(
        ("id" = Uuid, Path, description = "The referral id"),
        ("instrument" = Option<String>, Query, description = "ons4 | swemwbs | wemwbs | ucla3 | mycaw"),
    ),
    responses(
        (status = 200, description = "The questionnaire (HTML)", content_type = "text/html", body = String),
        (status = 303, description = "Not signed in: to /sign-in"),
        (status = 403, description = "Not a link worker or service manager (HTML)", content_type = "text/html", body = String),
        (status = 404, description = "No such case or instrument for this organisation (HTML)", content_type = "text/html", body = String),
        (status = 503, description = "Try again shortly (HTML)", content_type = "text/html", body = String),
    ),
    security(("session" = []))
)]
#[tracing::instrument(skip_all)]
pub async fn page(
    who: SignedIn,
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let principal = principal(&who, CASE_ROLES)?;
    let query = PageForm::parse(raw.unwrap_or_default().as_bytes());
    let Some(instrument) = instrument(query.get("instrument")) else {
        return Ok(super::not_found());
    };
    api::read_case(&state, &principal, id, None, "getOutcomeForm").await?;
    Ok(render(
        &who,
        id,
        instrument,
        &PageForm::default(),
        &[],
        StatusCode::OK,
    ))
}

/// Sends the answers to `recordOutcome`.
#[utoipa::path(
    post, path = "/cases/{id}/view/outcome", operation_id = "submitOutcomeForm", tag = "pages",
    params(("id" = Uuid, Path, description = "The referral id")),
    request_body(content = String, content_type = "application/x-www-form-urlencoded",
        description = "`csrf`, `idempotency_key`, `instrument`, `timepoint` and `item_1` ... `item_n`; for MYCaW also `concern_1` and (optional) `concern_2`."),
    responses(
        (status = 303, description = "Recorded: to the case page with `?min_sequence=`; or not signed in: to /sign-in"),
        (status = 403, description = "No or wrong CSRF token, or a role that may not do this: nothing recorded (HTML)", content_type = "text/html", body = String),
        (status = 404, description = "No such case or instrument for this organisation (HTML)", content_type = "text/html", body = String),
        (status = 409, description = "The case does not allow this now (HTML)", content_type = "text/html", body = String),
        (status = 422, description = "The questionnaire again with what is missing (HTML)", content_type = "text/html", body = String),
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
    let Some(instrument) = instrument(form.get("instrument")) else {
        return Ok(super::not_found());
    };
    let answers = Answers::of(instrument, &form);
    let timepoint = form.get("timepoint");
    let mut body = json!({"instrument": instrument.as_str(), "timepoint": timepoint, "item_answers": answers.values});
    if instrument.asks_for_concerns() {
        body["concerns"] = json!(answers.concerns);
    }
    let headers = command_headers(correlation.0, form.get("idempotency_key"), "");
    let body = body.to_string().into_bytes();
    match api::run(
        &state,
        &principal,
        &headers,
        id,
        Operation::RecordOutcome,
        &body,
    )
    .await
    {
        Ok((_, answer)) => Ok(see_other(
            &format!("/cases/{id}/view"),
            answer.sequence,
            "outcome",
        )),
        Err(error) => {
            let rename = |field: &str| match field.split_once('.') {
                Some(("item_answers", n)) => n
                    .parse::<usize>()
                    .ok()
                    .and_then(|n| answers.fields.get(n).cloned()),
                Some(("concerns", n)) => n
                    .parse::<usize>()
                    .ok()
                    .map(|n| format!("concern_{}", n + 1)),
                None if field == "concerns" => Some("concern_1".into()),
                None if field == "timepoint" => Some("timepoint".into()),
                _ => None,
            };
            let refusal = refused(error, rename, "timepoint")?;
            let errors: Vec<FieldError> = refusal
                .errors
                .into_iter()
                .map(|e| {
                    if let Some(n) = e.field.strip_prefix("item_") {
                        let message = format!("Answer question {n}");
                        FieldError { message, ..e }
                    } else if let Some(n) = e.field.strip_prefix("concern_") {
                        let message = format!("Write concern {n} in the person's words, in one line of up to {} characters", outcomes::mycaw::CONCERN_CHARS);
                        FieldError { message, ..e }
                    } else {
                        e
                    }
                })
                .collect();
            Ok(render(&who, id, instrument, &form, &errors, refusal.status))
        }
    }
}

/// A form's answers as `recordOutcome` takes them: the values, the form field each came
/// from (in `item_answers` order), and the concerns of an instrument that asks for them.
struct Answers {
    values: Vec<u64>,
    fields: Vec<String>,
    concerns: Vec<String>,
}

impl Answers {
    fn of(instrument: Instrument, form: &PageForm) -> Answers {
        let count = instrument.shape().0;
        let mut items: Vec<usize> = (1..=count).collect();
        let mut concerns = Vec::new();
        if instrument.asks_for_concerns() {
            // MYCaW: concern 1 and its score, concern 2 and its score if the person named
            // a second, then wellbeing (the last item).
            concerns.push(form.get("concern_1").to_owned());
            let second = form.get("concern_2");
            if second.trim().is_empty() && form.get("item_2").is_empty() {
                items.retain(|&i| i != 2);
            } else {
                concerns.push(second.to_owned());
            }
        }
        // An unanswered item goes as out of range, so the API names it.
        let values = items
            .iter()
            .map(|i| {
                form.get(&format!("item_{i}"))
                    .parse()
                    .unwrap_or(u64::from(u8::MAX))
            })
            .collect();
        Answers {
            values,
            fields: items.iter().map(|i| format!("item_{i}")).collect(),
            concerns,
        }
    }
}

fn render(
    who: &SignedIn,
    id: Uuid,
    instrument: Instrument,
    posted: &PageForm,
    errors: &[FieldError],
    status: StatusCode,
) -> Response {
    let q = questions::questionnaire(instrument);
    let scale: Vec<(String, &str)> = q.scale.iter().map(|(v, t)| (v.to_string(), *t)).collect();
    let scale: Vec<(&str, &str)> = scale.iter().map(|(v, t)| (v.as_str(), *t)).collect();
    let content = html! {
        (error_summary(errors))
        h1 { (q.name) }
        p { (q.lead) }
        (form(&format!("/cases/{id}/view/outcome"), &who.csrf, "Record measure", html! {
            input type="hidden" name="instrument" value=(instrument.as_str());
            input type="hidden" name="idempotency_key" value=(fresh_key());
            (radios("timepoint", "When is this measure taken?", labels::TIMEPOINTS, posted.get("timepoint"), error_for(errors, "timepoint")))
            @for (i, item) in q.items.iter().enumerate() {
                @let name = format!("item_{}", i + 1);
                @if instrument.asks_for_concerns() && i + 1 < q.items.len() {
                    @let concern = format!("concern_{}", i + 1);
                    @let label = if i == 0 { "Concern 1, in the person's words".to_owned() } else { format!("Concern {} (optional), in the person's words", i + 1) };
                    (Field { id: &concern, label: &label, hint: Some("What they would most like help with, for example \"going out on my own\""), error: error_for(errors, &concern) }.input("text", posted.get(&concern), Some("off")))
                }
                (radios(&name, &format!("{}. {item}", i + 1), &scale, posted.get(&name), error_for(errors, &name)))
            }
        }))
    };
    let page = Page {
        title: q.name,
        service: super::SERVICE,
        signed_in: Some(who),
        navigation: navigation(who, ""),
        has_errors: !errors.is_empty(),
        back: Some(("Back to the case", format!("/cases/{id}/view"))),
    };
    html(status, &page, content)
}
