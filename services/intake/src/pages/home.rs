//! `GET /`: the signed-in referrer's start page (anyone else signed in is told this page
//! is not for their roles; no one signed in is sent to sign in).

use axum::http::StatusCode;
use axum::response::Response;
use linkway_platform::web::{Page, SignedIn};
use maud::{Markup, html};

use super::{PageError, SERVICE, Section, html, navigation, principal};

/// The start page: make a referral, or see the organisation's referrals.
#[utoipa::path(get, path = "/", operation_id = "getReferrerHome", tag = "pages",
    responses(
        (status = 200, description = "The referrer's start page (HTML)", content_type = "text/html", body = String),
        (status = 303, description = "Not signed in: to /sign-in, coming back here after"),
        (status = 403, description = "Signed in without the referrer role (HTML)", content_type = "text/html", body = String),
    ))]
pub async fn home(who: SignedIn) -> Result<Response, PageError> {
    principal(&who)?;
    let page = Page {
        title: "Social prescribing referrals",
        service: SERVICE,
        signed_in: Some(&who),
        navigation: navigation(Section::Home),
        has_errors: false,
        back: None,
    };
    Ok(html(
        StatusCode::OK,
        page.render(html! {
            h1 { "Social prescribing referrals" }
            p class="nhsuk-lead-text" {
                "Refer someone to a social prescribing link worker, and follow what happens next."
            }
            ul class="nhsuk-grid-row nhsuk-card-group" {
                (card("/referrals/new", "Make a referral", "The person's details, their needs and their consent."))
                (card("/referrals/view", "Your organisation's referrals", "Where each referral stands, what happened, and withdrawing one."))
            }
        }),
    ))
}

/// A link to one of the pages, as an nhsuk clickable card.
fn card(href: &str, heading: &str, description: &str) -> Markup {
    html! {
        li class="nhsuk-grid-column-one-half nhsuk-card-group__item" {
            div class="nhsuk-card nhsuk-card--clickable" {
                div class="nhsuk-card__content" {
                    h2 class="nhsuk-card__heading nhsuk-heading-m" {
                        a class="nhsuk-card__link" href=(href) { (heading) }
                    }
                    p class="nhsuk-card__description" { (description) }
                }
            }
        }
    }
}
