//! The case page's forms: only those whose step the case allows now (asked of the pure
//! [`case::decide`], so the page never offers what the command would refuse for the
//! state). Each posts to `/cases/{id}/view` with its `action`, the case version it was
//! rendered from (a colleague's change since is refused, not overwritten) and a fresh
//! idempotency key (a double click records once).

use linkway_events::Role;
use linkway_events::case::{
    ClosureReason, ConnectionDeclineReason, ContactChannel, ContactOutcome,
};
use linkway_platform::web::SignedIn;
use linkway_platform::web::page::{Field, error_for, form, radios, table, tag};
use maud::{Markup, html};

use super::case::Failed;
use super::{fresh_key, labels};
use crate::case::{self, Case, Command, ConnectionStatus, ContactKind, Policy};
use crate::queries::LinkWorker;

/// What a page shows where the person's words were, once the person is erased.
const ERASED: &str = "Erased";

/// What the forms are rendered from.
pub struct View<'a> {
    pub case: &'a Case,
    pub who: &'a SignedIn,
    pub policy: &'a Policy,
    pub workers: &'a [LinkWorker],
    pub failed: Option<&'a Failed<'a>>,
}

impl View<'_> {
    /// Whether the case allows `command` now.
    fn allows(&self, command: Command) -> bool {
        case::decide(self.case, &command, self.policy).is_ok()
    }

    /// What was typed in `name` if `action`'s form was refused, else `default`.
    fn value(&self, action: &str, name: &str, default: &str) -> String {
        match self.failed {
            Some(f) if f.action == action => f.posted.get(name).to_owned(),
            _ => default.to_owned(),
        }
    }

    fn error(&self, action: &str, field: &str) -> Option<&str> {
        self.failed
            .filter(|f| f.action == action)
            .and_then(|f| error_for(&f.errors, field))
    }

    /// A form of `action` with its hidden fields.
    fn form(&self, action: &str, submit: &str, fields: Markup) -> Markup {
        let path = format!("/cases/{}/view", self.case.referral_id);
        form(
            &path,
            &self.who.csrf,
            submit,
            html! {
                input type="hidden" name="action" value=(action);
                input type="hidden" name="version" value=(self.case.last_case_sequence);
                input type="hidden" name="idempotency_key" value=(fresh_key());
                (fields)
            },
        )
    }
}

/// Every form the case allows now, under its heading.
pub fn render(v: &View<'_>) -> Markup {
    let attempt = Command::RecordContact {
        kind: ContactKind::Attempt,
        channel: ContactChannel::Phone,
        outcome: ContactOutcome::NotRecorded,
        minutes: 0,
        notes: None,
    };
    html! {
        @if v.allows(Command::Accept) { (accept_or_decline(v)) }
        @if v.allows(Command::Assign { link_worker_id: v.who.user_id.to_string() }) { (assign(v)) }
        @if v.allows(attempt) { (contact(v)) }
        (plan(v))
        (connections(v))
        (safeguarding(v))
        @if v.allows(Command::Close { reason: ClosureReason::Other }) { (close(v)) }
    }
}

fn accept_or_decline(v: &View<'_>) -> Markup {
    html! {
        h2 id="accept" { "New referral" }
        (v.form("accept", "Accept referral", html! {}))
        (v.form("decline", "Decline referral", radios("decline_reason", "Why decline it?", labels::DECLINE_REASONS,
            &v.value("decline", "decline_reason", ""), v.error("decline", "decline_reason"))))
    }
}

fn assign(v: &View<'_>) -> Markup {
    let current = v.case.link_worker_id.clone().unwrap_or_default();
    let options: Vec<(&str, &str)> = v
        .workers
        .iter()
        .map(|w| (w.user_id.as_str(), w.display_name.as_str()))
        .collect();
    html! {
        h2 id="allocation" { "Allocation" }
        @if v.who.holds(&[Role::ServiceManager]) && !options.is_empty() {
            (v.form("assign", "Allocate", Field { id: "link_worker_id", label: "Link worker", hint: None, error: v.error("assign", "link_worker_id") }
                .select(&options, &v.value("assign", "link_worker_id", &current))))
        } @else if v.case.link_worker_id.as_deref() != Some(v.who.user_id.to_string().as_str()) {
            (v.form("assign", "Allocate to me", html! {}))
        } @else {
            p { "You hold this case." }
        }
    }
}

fn contact(v: &View<'_>) -> Markup {
    html! {
        h2 id="contact" { "Contact" }
        h3 { "Record a contact attempt" }
        p { "When you tried to reach the person and could not." }
        (v.form("attempt", "Record attempt", html! {
            (Field { id: "attempt_channel", label: "How did you try?", hint: None, error: v.error("attempt", "attempt_channel") }
                .select(&with_blank(labels::CHANNELS), &v.value("attempt", "attempt_channel", "")))
            (radios("attempt_outcome", "How did it end?", labels::ATTEMPT_OUTCOMES, &v.value("attempt", "attempt_outcome", ""), v.error("attempt", "attempt_outcome")))
        }))
        h3 { "Record a contact made" }
        (v.form("made", "Record contact", html! {
            (Field { id: "made_channel", label: "How did you speak with them?", hint: None, error: v.error("made", "made_channel") }
                .select(&with_blank(labels::CHANNELS), &v.value("made", "made_channel", "")))
            (Field { id: "minutes", label: "Minutes spent", hint: Some("A whole number, 1 to 600"), error: v.error("made", "minutes") }
                .input("text", &v.value("made", "minutes", ""), None))
            (Field { id: "notes", label: "Notes (optional)", hint: Some("What was said. Only your organisation sees this."), error: v.error("made", "notes") }
                .textarea(&v.value("made", "notes", ""), 4))
        }))
    }
}

fn with_blank<'a>(choices: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut all = vec![("", "Choose")];
    all.extend_from_slice(choices);
    all
}

fn plan(v: &View<'_>) -> Markup {
    let sample = case::PlanInput {
        review_date: time::OffsetDateTime::now_utc().date(),
        what_matters: String::new(),
        goals: Vec::new(),
        actions: Vec::new(),
    };
    let (action, agreeing) = if v.allows(Command::AgreePlan(sample.clone())) {
        ("plan", true)
    } else if v.allows(Command::ReviewPlan(sample)) {
        ("review", false)
    } else if v.case.plan.is_none() {
        return html! {};
    } else {
        ("", false)
    };
    let current = v.case.plan.as_ref().and_then(|p| p.personal.as_ref());
    let lines = |items: Option<&Vec<String>>| items.map(|i| i.join("\n")).unwrap_or_default();
    let review = v
        .case
        .plan
        .as_ref()
        .map(|p| p.review_date.to_string())
        .unwrap_or_default();
    html! {
        h2 id="plan" { "What matters to me and the plan" }
        @if let Some(plan) = &v.case.plan {
            (linkway_platform::web::page::summary_list(&[
                ("What matters to me", html! { (plan.personal.as_ref().map_or(ERASED, |p| p.what_matters.as_str())) }),
                ("Goals", html! { ul { @for g in plan.personal.iter().flat_map(|p| &p.goals) { li { (g) } } } }),
                ("Actions", html! { ul { @for a in plan.personal.iter().flat_map(|p| &p.actions) { li { (a) } } } }),
                ("Next review", html! { (plan.review_date.to_string()) @if plan.review_date < time::OffsetDateTime::now_utc().date() { " " (tag("Review overdue", "yellow")) } }),
                ("Reviews so far", html! { (plan.reviews) }),
            ]))
        }
        @if !action.is_empty() {
            h3 { @if agreeing { "Agree the plan" } @else { "Review the plan" } }
            (v.form(action, if agreeing { "Agree plan" } else { "Record review" }, html! {
                (Field { id: "what_matters", label: "What matters to the person", hint: Some("In their words"), error: v.error(action, "what_matters") }
                    .textarea(&v.value(action, "what_matters", current.map_or("", |p| p.what_matters.as_str())), 4))
                (Field { id: "goals", label: "Goals", hint: Some("One a line, 1 to 20"), error: v.error(action, "goals") }
                    .textarea(&v.value(action, "goals", &lines(current.map(|p| &p.goals))), 4))
                (Field { id: "actions", label: "Actions (optional)", hint: Some("One a line"), error: v.error(action, "actions") }
                    .textarea(&v.value(action, "actions", &lines(current.map(|p| &p.actions))), 4))
                (Field { id: "review_date", label: if agreeing { "Review date" } else { "Next review date" }, hint: Some("For example, 2026-03-27"), error: v.error(action, "review_date") }
                    .input("date", &v.value(action, "review_date", if agreeing { "" } else { &review }), None))
            }))
        }
    }
}

fn connections(v: &View<'_>) -> Markup {
    let id = v.case.referral_id;
    let can_connect = matches!(
        v.case.state,
        case::CaseState::Engaged | case::CaseState::PlanAgreed
    );
    html! {
        @if can_connect || !v.case.connections.is_empty() {
            h2 id="connections" { "Connections to community services" }
            @if !v.case.connections.is_empty() {
                (table("Onward connections", &["Service", "Status", "Made", "Answer"], &v.case.connections.iter().map(|c| {
                    let action = format!("response-{}", c.connection_id);
                    vec![
                        html! { (c.service_name) },
                        connection_status(c, v.policy),
                        html! { (c.made_at.date().to_string()) },
                        html! {
                            @if c.status != ConnectionStatus::Attended && c.status != ConnectionStatus::Declined && v.case.state.is_open() {
                                (v.form(&action, "Record answer", html! {
                                    input type="hidden" name="connection_id" value=(c.connection_id);
                                    (radios(&action, &format!("What did {} answer?", c.service_name), labels::CONNECTION_RESPONSES, &v.value(&action, &action, ""), v.error(&action, &action)))
                                    @if c.status == ConnectionStatus::Pending {
                                        @let reason = format!("reason-{}", c.connection_id);
                                        (radios(&reason, "If they declined, why? (optional)", labels::CONNECTION_DECLINE_REASONS, &v.value(&action, &reason, ""), v.error(&action, &reason)))
                                    }
                                }))
                            }
                        },
                    ]
                }).collect::<Vec<_>>()))
            }
            @if can_connect {
                p { a href=(format!("/cases/{id}/view/connect")) { "Search the directory and connect a service" } }
            }
        }
    }
}

/// A connection's status in words: waiting (and whether the service was reminded),
/// answered, or declined (automatically, when the service did not answer in time).
fn connection_status(c: &case::Connection, policy: &Policy) -> Markup {
    let reason = c.decline_reason.filter(|r| {
        !matches!(
            r,
            ConnectionDeclineReason::NotRecorded | ConnectionDeclineReason::NoAnswerInTime
        )
    });
    html! {
        @match c.status {
            ConnectionStatus::Pending => {
                (tag("Waiting for an answer", "blue"))
                @if let Some(at) = c.reminded_at {
                    " " (tag("Reminded", "yellow"))
                    p class="nhsuk-body-s" { "Service reminded " (at.date().to_string()) }
                }
            }
            ConnectionStatus::Accepted => (tag("Accepted", "green")),
            ConnectionStatus::Declined if case::timers::declined_automatically(c) => {
                (tag("Declined automatically", "grey"))
                p class="nhsuk-body-s" { "No answer in " (policy.connection_answer_days) " days" }
            }
            ConnectionStatus::Declined => {
                (tag("Declined", "grey"))
                @if let Some(reason) = reason {
                    p class="nhsuk-body-s" { (labels::connection_decline_reason(reason)) }
                }
            }
            ConnectionStatus::Attended => (tag("Attended", "green")),
        }
    }
}

fn safeguarding(v: &View<'_>) -> Markup {
    html! {
        h2 id="safeguarding" { "Safeguarding" }
        @if v.case.referral_safeguarding { p { (tag("Safeguarding", "red")) " The referrer flagged a safeguarding concern." } }
        @for c in &v.case.concerns {
            div class="nhsuk-inset-text" {
                span class="nhsuk-u-visually-hidden" { "Concern: " }
                p { (c.concern.as_deref().unwrap_or(ERASED)) }
                p class="nhsuk-body-s" { "Raised " (c.raised_at.date().to_string()) }
            }
        }
        details class="nhsuk-details" open[v.failed.is_some_and(|f| f.action == "safeguarding")] {
            summary class="nhsuk-details__summary" { span class="nhsuk-details__summary-text" { "Raise a safeguarding concern" } }
            div class="nhsuk-details__text" {
                (v.form("safeguarding", "Raise concern", Field { id: "concern", label: "The concern", hint: Some("Follow your organisation's safeguarding procedure too."), error: v.error("safeguarding", "concern") }
                    .textarea(&v.value("safeguarding", "concern", ""), 4)))
            }
        }
    }
}

fn close(v: &View<'_>) -> Markup {
    html! {
        h2 id="close" { "Close the case" }
        (v.form("close", "Close case", radios("close_reason", "Why is the case closing?", labels::CLOSURE_REASONS,
            &v.value("close", "close_reason", ""), v.error("close", "close_reason"))))
    }
}
