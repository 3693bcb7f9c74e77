//! This service's dead letters: events one of its projections could not apply and parked
//! (`dead_letters`, written only by the projection runner), with what resolves them. The
//! log is never edited, so the page offers no action on an event: a dead letter is
//! resolved by a release whose projection reads it, then `linkway rebuild <projection>`.
//! The parked payload is never shown (it may hold personal data).

use axum::response::Response;
use maud::{Markup, html};
use time::OffsetDateTime;

use super::tokens::when;
use super::{AdminPageError, AsAdmin, PageAnswers, Section};
use crate::Database;
use crate::web::page::table;

/// Most dead letters listed (newest first).
pub const LIMIT: i64 = 500;

/// A parked event, without its payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    pub projection: String,
    pub sequence: i64,
    pub event_type: Option<String>,
    pub reason: String,
    pub parked_at: OffsetDateTime,
}

/// The newest [`LIMIT`] dead letters of this service's projections (not those a rebuild
/// still running has found: they replace a projection's own when it swaps in).
pub async fn dead_letters(db: &Database) -> anyhow::Result<Vec<DeadLetter>> {
    let client = db.client().await?;
    let rows = client
        .query(
            "SELECT projection, sequence, event_type, reason, parked_at
             FROM public.dead_letters WHERE projection NOT LIKE '%\\_\\_rebuild'
             ORDER BY parked_at DESC, sequence DESC LIMIT $1",
            &[&LIMIT],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| DeadLetter {
            projection: r.get(0),
            sequence: r.get(1),
            event_type: r.get(2),
            reason: r.get(3),
            parked_at: r.get(4),
        })
        .collect())
}

fn resolution(projection: &str) -> Markup {
    html! {
        "Deploy a release whose " (projection) " projection can apply it, then run "
        code { "linkway rebuild " (projection) }
    }
}

/// `GET /admin/dead-letters`.
#[utoipa::path(get, path = "/admin/dead-letters", operation_id = "getDeadLettersPage", tag = "pages",
    responses(
        (status = 200, description = "This service's dead letters, newest first, each with what resolves it (never the payload) (HTML)", content_type = "text/html", body = String),
        PageAnswers,
    ))]
pub async fn list(admin: AsAdmin) -> Result<Response, AdminPageError> {
    let letters = dead_letters(&admin.web.db).await?;
    let rows: Vec<Vec<Markup>> = letters
        .iter()
        .map(|d| {
            vec![
                html! { (d.projection) },
                html! { (d.sequence) },
                html! { (d.event_type.as_deref().unwrap_or("unreadable")) },
                html! { (d.reason) },
                html! { (when(d.parked_at)) },
                resolution(&d.projection),
            ]
        })
        .collect();
    let page = admin.page("Dead letters", Section::DeadLetters, &[]);
    Ok(page.render(html! {
        p { "Events this service (" (admin.web.service) ") could not apply to one of its read models. Each was set aside so the others kept being applied; the read model lacks what it says until it is resolved." }
        div class="nhsuk-inset-text" {
            span class="nhsuk-u-visually-hidden" { "Information: " }
            p { "The log is never edited: every event stays as it was recorded. A dead letter is resolved by a release whose projection reads the event (a fix, or an upcaster for an old version), deployed, and then " code { "linkway rebuild <projection>" } ", which builds that read model again from the whole log, this event included." }
        }
        @if rows.is_empty() {
            p { "There are no dead letters on this service." }
        } @else {
            (table(&format!("Dead letters, newest first (at most {LIMIT})"), &["Projection", "Sequence", "Event type", "Reason", "Parked", "What resolves it"], &rows))
        }
    }))
}
