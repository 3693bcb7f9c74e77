//! The page every service renders through: the NHS design system's layout (skip link,
//! header with the service and the person signed in, main, footer) and its components as
//! `nhsuk-frontend` marks them up, written once with maud (compiled, type-checked, escaped).
//! Pages work without JavaScript; `nhsuk-frontend.min.js` only enhances them.

use maud::{DOCTYPE, Markup, PreEscaped, html};

use super::SignedIn;

/// The name every page's title ends with.
pub const PRODUCT: &str = "Linkway";

/// A link in the header's navigation.
pub struct NavItem {
    pub text: &'static str,
    pub href: String,
    pub current: bool,
}

/// What a page is: its heading (also its `<title>`), its service's name, who is signed
/// in, the navigation, and its content.
pub struct Page<'a> {
    /// The `<h1>` and the start of the `<title>`.
    pub title: &'a str,
    /// e.g. "Refer someone" (intake), "Caseload" (link-worker).
    pub service: &'a str,
    pub signed_in: Option<&'a SignedIn>,
    pub navigation: Vec<NavItem>,
    /// Set when the page shows errors: the title starts "Error: ".
    pub has_errors: bool,
    /// A back link above the content.
    pub back: Option<(&'a str, String)>,
}

impl Page<'_> {
    /// The whole document with `content` in `<main>` (the content holds the `<h1>`).
    pub fn render(&self, content: Markup) -> Markup {
        let error = if self.has_errors { "Error: " } else { "" };
        let title = match self.service {
            "" => format!("{error}{} - {PRODUCT}", self.title),
            service => format!("{error}{} - {service} - {PRODUCT}", self.title),
        };
        html! {
            (DOCTYPE)
            html lang="en" {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    title { (title) }
                    link rel="stylesheet" href="/assets/nhsuk-frontend.min.css";
                    link rel="icon" href="/assets/images/favicon.svg" type="image/svg+xml";
                }
                body {
                    a class="nhsuk-skip-link" href="#maincontent" { "Skip to main content" }
                    (self.header())
                    div class="nhsuk-width-container" {
                        @if let Some((text, href)) = &self.back {
                            div class="nhsuk-back-link" {
                                a class="nhsuk-back-link__link" href=(href) { (text) }
                            }
                        }
                        main class="nhsuk-main-wrapper" id="maincontent" {
                            (content)
                        }
                    }
                    footer class="nhsuk-footer" role="contentinfo" {
                        div class="nhsuk-width-container" {
                            p class="nhsuk-body-s" {
                                (PRODUCT) ": social prescribing referrals between organisations."
                            }
                        }
                    }
                    script type="module" src="/assets/linkway.mjs" {}
                }
            }
        }
    }

    fn header(&self) -> Markup {
        html! {
            header class="nhsuk-header" role="banner" data-module="nhsuk-header" {
                div class="nhsuk-header__container nhsuk-width-container" {
                    div class="nhsuk-header__service" {
                        a class="nhsuk-header__service-logo" href="/" aria-label=(format!("NHS {PRODUCT} {} homepage", self.service)) {
                            (PreEscaped(NHS_LOGO))
                            span class="nhsuk-header__service-name" { (PRODUCT) @if !self.service.is_empty() { " " (self.service) } }
                        }
                    }
                    @if let Some(who) = self.signed_in {
                        nav class="nhsuk-header__account" aria-label="Account" {
                            ul class="nhsuk-header__account-list" {
                                li class="nhsuk-header__account-item" {
                                    (who.display_name) " (" (who.organisation_name) ")"
                                }
                                li class="nhsuk-header__account-item" {
                                    form class="nhsuk-header__account-form" method="post" action="/sign-out" novalidate {
                                        input type="hidden" name="csrf" value=(who.csrf);
                                        button class="nhsuk-header__account-button" { "Sign out" }
                                    }
                                }
                            }
                        }
                    }
                }
                @if !self.navigation.is_empty() {
                    nav class="nhsuk-header__navigation" aria-label="Menu" {
                        div class="nhsuk-header__navigation-container nhsuk-width-container" {
                            ul class="nhsuk-header__navigation-list" {
                                @for item in &self.navigation {
                                    li class={ "nhsuk-header__navigation-item" @if item.current { " nhsuk-header__navigation-item--current" } } {
                                        a class="nhsuk-header__navigation-link" href=(item.href)
                                          aria-current=[item.current.then_some("page")] {
                                            @if item.current { strong class="nhsuk-header__navigation-item-current-fallback" { (item.text) } }
                                            @else { (item.text) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The NHS logo as nhsuk-frontend draws it in the header.
const NHS_LOGO: &str = r#"<svg class="nhsuk-header__logo" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 200 80" height="40" width="100" focusable="false" role="img" aria-label="NHS"><title>NHS</title><path fill="currentcolor" d="M200 0v80H0V0h200Zm-27.5 5.5c-14.5 0-29 5-29 22 0 10.2 7.7 13.5 14.7 16.3l.7.3c5.4 2 10.1 3.9 10.1 8.4 0 6.5-8.5 7.5-14 7.5s-12.5-1.5-16-3.5L135 70c5.5 2 13.5 3.5 20 3.5 15.5 0 32-4.5 32-22.5 0-19.5-25.5-16.5-25.5-25.5 0-5.5 5.5-6.5 12.5-6.5a35 35 0 0 1 14.5 3l4-13.5c-4.5-2-12-3-20-3Zm-131 2h-22l-14 65H22l9-45h.5l13.5 45h21.5l14-65H64l-9 45h-.5l-13-45Zm63 0h-18l-13 65h17l6-28H117l-5.5 28H129l13.5-65H125L119.5 32h-20l5-24.5Z"/></svg>"#;

/// A field's error, as a form shows it: beside the field and in the summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The field's `id` (the summary links to it).
    pub field: String,
    pub message: String,
}

/// The error summary at the top of a form that was refused (nothing when no errors).
pub fn error_summary(errors: &[FieldError]) -> Markup {
    html! {
        @if !errors.is_empty() {
            div class="nhsuk-error-summary" data-module="nhsuk-error-summary" {
                div role="alert" {
                    h2 class="nhsuk-error-summary__title" { "There is a problem" }
                    div class="nhsuk-error-summary__body" {
                        ul class="nhsuk-list nhsuk-error-summary__list" {
                            @for e in errors {
                                li { a href=(format!("#{}", e.field)) { (e.message) } }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The error of `field`, if any.
pub fn error_for<'a>(errors: &'a [FieldError], field: &str) -> Option<&'a str> {
    errors
        .iter()
        .find(|e| e.field == field)
        .map(|e| e.message.as_str())
}

/// One form field's label, hint and error around `control`.
pub struct Field<'a> {
    pub id: &'a str,
    pub label: &'a str,
    pub hint: Option<&'a str>,
    pub error: Option<&'a str>,
}

impl Field<'_> {
    fn described_by(&self) -> Option<String> {
        let mut ids = Vec::new();
        if self.hint.is_some() {
            ids.push(format!("{}-hint", self.id));
        }
        if self.error.is_some() {
            ids.push(format!("{}-error", self.id));
        }
        (!ids.is_empty()).then(|| ids.join(" "))
    }

    fn wrap(&self, control: Markup) -> Markup {
        self.wrap_as(None, control)
    }

    /// The group around `control`; `component` the nhsuk-frontend component the group is,
    /// its class and its script's `data-module` (the file upload).
    fn wrap_as(&self, component: Option<&str>, control: Markup) -> Markup {
        html! {
            div class={ "nhsuk-form-group" @if self.error.is_some() { " nhsuk-form-group--error" } @if let Some(c) = component { " " (c) } }
              data-module=[component] {
                label class="nhsuk-label" for=(self.id) { (self.label) }
                @if let Some(hint) = self.hint {
                    div class="nhsuk-hint" id=(format!("{}-hint", self.id)) { (hint) }
                }
                @if let Some(error) = self.error {
                    span class="nhsuk-error-message" id=(format!("{}-error", self.id)) {
                        span class="nhsuk-u-visually-hidden" { "Error: " } (error)
                    }
                }
                (control)
            }
        }
    }

    /// A text input (`kind`: text, email, tel, date, search, number).
    pub fn input(&self, kind: &str, value: &str, autocomplete: Option<&str>) -> Markup {
        let class = if self.error.is_some() {
            "nhsuk-input nhsuk-input--error"
        } else {
            "nhsuk-input"
        };
        self.wrap(html! {
            input class=(class) id=(self.id) name=(self.id) type=(kind) value=(value)
              autocomplete=[autocomplete] aria-describedby=[self.described_by()];
        })
    }

    /// nhsuk-frontend's file upload (its script adds a drop zone), taking the media types
    /// `accept`; its form must be `multipart/form-data`, read with
    /// [`super::form::PageUpload`].
    pub fn file(&self, accept: &str) -> Markup {
        self.wrap_as(Some("nhsuk-file-upload"), html! {
            input class="nhsuk-file-upload__input" id=(self.id) name=(self.id) type="file" accept=(accept)
              aria-describedby=[self.described_by()];
        })
    }

    /// A textarea.
    pub fn textarea(&self, value: &str, rows: u8) -> Markup {
        let class = if self.error.is_some() {
            "nhsuk-textarea nhsuk-textarea--error"
        } else {
            "nhsuk-textarea"
        };
        self.wrap(html! {
            textarea class=(class) id=(self.id) name=(self.id) rows=(rows)
              aria-describedby=[self.described_by()] { (value) }
        })
    }

    /// A select of `(value, text)` options, `selected` chosen.
    pub fn select(&self, options: &[(&str, &str)], selected: &str) -> Markup {
        let class = if self.error.is_some() {
            "nhsuk-select nhsuk-select--error"
        } else {
            "nhsuk-select"
        };
        self.wrap(html! {
            select class=(class) id=(self.id) name=(self.id) aria-describedby=[self.described_by()] {
                @for (value, text) in options {
                    option value=(value) selected[*value == selected] { (text) }
                }
            }
        })
    }
}

/// Radios in a fieldset: `(value, label)` choices under `legend`, `checked` chosen.
pub fn radios(
    name: &str,
    legend: &str,
    choices: &[(&str, &str)],
    checked: &str,
    error: Option<&str>,
) -> Markup {
    choice_group(Choice::Radio, name, legend, choices, &[checked], error)
}

/// Checkboxes in a fieldset: `(value, label)` choices under `legend`, `checked` ticked.
pub fn checkboxes(
    name: &str,
    legend: &str,
    choices: &[(&str, &str)],
    checked: &[&str],
    error: Option<&str>,
) -> Markup {
    choice_group(Choice::Checkbox, name, legend, choices, checked, error)
}

#[derive(Clone, Copy)]
enum Choice {
    Radio,
    Checkbox,
}

/// nhsuk's radios or checkboxes: the first control's id is `name` (where an error
/// summary links), the others `name-2`, `name-3`, ...
fn choice_group(
    kind: Choice,
    name: &str,
    legend: &str,
    choices: &[(&str, &str)],
    checked: &[&str],
    error: Option<&str>,
) -> Markup {
    let (group, input, module) = match kind {
        Choice::Radio => ("radios", "radio", "nhsuk-radios"),
        Choice::Checkbox => ("checkboxes", "checkbox", "nhsuk-checkboxes"),
    };
    html! {
        div class={ "nhsuk-form-group" @if error.is_some() { " nhsuk-form-group--error" } } {
            fieldset class="nhsuk-fieldset" aria-describedby=[error.map(|_| format!("{name}-error"))] {
                legend class="nhsuk-fieldset__legend nhsuk-fieldset__legend--s" { (legend) }
                @if let Some(error) = error {
                    span class="nhsuk-error-message" id=(format!("{name}-error")) {
                        span class="nhsuk-u-visually-hidden" { "Error: " } (error)
                    }
                }
                div class=(format!("nhsuk-{group}")) data-module=(module) {
                    @for (i, (value, label)) in choices.iter().enumerate() {
                        @let id = if i == 0 { name.to_owned() } else { format!("{name}-{}", i + 1) };
                        div class=(format!("nhsuk-{group}__item")) {
                            input class=(format!("nhsuk-{group}__input")) id=(id) name=(name) type=(input)
                              value=(value) checked[checked.contains(value)];
                            label class=(format!("nhsuk-label nhsuk-{group}__label")) for=(id) { (label) }
                        }
                    }
                }
            }
        }
    }
}

/// A form posting to `action` with its CSRF field and a submit button.
pub fn form(action: &str, csrf: &str, submit: &str, fields: Markup) -> Markup {
    html! {
        form method="post" action=(action) novalidate {
            input type="hidden" name="csrf" value=(csrf);
            (fields)
            button class="nhsuk-button" data-module="nhsuk-button" type="submit" { (submit) }
        }
    }
}

/// A summary list of `(key, value)` rows.
pub fn summary_list(rows: &[(&str, Markup)]) -> Markup {
    html! {
        dl class="nhsuk-summary-list" {
            @for (key, value) in rows {
                div class="nhsuk-summary-list__row" {
                    dt class="nhsuk-summary-list__key" { (key) }
                    dd class="nhsuk-summary-list__value" { (value) }
                }
            }
        }
    }
}

/// A table with a caption, header cells and rows of cells.
pub fn table(caption: &str, head: &[&str], rows: &[Vec<Markup>]) -> Markup {
    html! {
        table class="nhsuk-table" {
            caption class="nhsuk-table__caption" { (caption) }
            thead class="nhsuk-table__head" {
                tr class="nhsuk-table__row" {
                    @for h in head { th class="nhsuk-table__header" scope="col" { (h) } }
                }
            }
            tbody class="nhsuk-table__body" {
                @for row in rows {
                    tr class="nhsuk-table__row" {
                        @for cell in row { td class="nhsuk-table__cell" { (cell) } }
                    }
                }
            }
        }
    }
}

/// Previous and next links of a paged list (nhsuk's pagination) standing on `page` of
/// `pages` (both from 1); `href(n)` is page n's address. Nothing when there is one page.
pub fn pagination(page: i64, pages: i64, href: impl Fn(i64) -> String) -> Markup {
    let link = |n: i64, next: bool| {
        let (item, class, title) = if next {
            (
                "nhsuk-pagination-item--next",
                "nhsuk-pagination__link nhsuk-pagination__link--next",
                "Next",
            )
        } else {
            (
                "nhsuk-pagination-item--previous",
                "nhsuk-pagination__link nhsuk-pagination__link--prev",
                "Previous",
            )
        };
        html! {
            li class=(item) {
                a class=(class) href=(href(n)) {
                    span class="nhsuk-pagination__title" { (title) }
                    span class="nhsuk-u-visually-hidden" { ":" }
                    span class="nhsuk-pagination__page" { "Page " (n) }
                }
            }
        }
    };
    html! {
        @if pages > 1 {
            nav class="nhsuk-pagination" role="navigation" aria-label="Pagination" {
                ul class="nhsuk-list nhsuk-pagination__list" {
                    @if page > 1 { (link(page - 1, false)) }
                    @if page < pages { (link(page + 1, true)) }
                }
            }
        }
    }
}

/// A tag (status label); `colour` is one of nhsuk's tag modifiers (`blue`, `green`, `red`,
/// `orange`, `yellow`, `grey`, `white`, `purple`, `pink`, `aqua-green`) or empty.
pub fn tag(text: &str, colour: &str) -> Markup {
    html! {
        strong class={ "nhsuk-tag" @if !colour.is_empty() { " nhsuk-tag--" (colour) } } { (text) }
    }
}

/// A success banner after an action (e.g. "Referral sent").
pub fn success_banner(heading: &str, body: Markup) -> Markup {
    html! {
        div class="nhsuk-notification-banner nhsuk-notification-banner--success" role="alert"
          aria-labelledby="notification-banner-title" data-module="nhsuk-notification-banner" {
            div class="nhsuk-notification-banner__header" {
                h2 class="nhsuk-notification-banner__title" id="notification-banner-title" { "Success" }
            }
            div class="nhsuk-notification-banner__content" {
                h3 class="nhsuk-notification-banner__heading" { (heading) }
                (body)
            }
        }
    }
}

#[cfg(test)]
mod pagination_tests {
    use super::pagination;

    fn links(page: i64, pages: i64) -> Vec<String> {
        let html = pagination(page, pages, |n| format!("/list?page={n}")).into_string();
        html.match_indices("href=\"")
            .map(|(at, _)| html[at + 6..].split('"').next().unwrap().to_owned())
            .collect()
    }

    #[test]
    fn pagination_links_the_pages_either_side_and_nothing_for_one_page() {
        assert!(links(1, 1).is_empty());
        assert!(pagination(1, 0, |n| n.to_string()).into_string().is_empty());
        assert_eq!(links(1, 3), ["/list?page=2"]);
        assert_eq!(links(2, 3), ["/list?page=1", "/list?page=3"]);
        assert_eq!(links(3, 3), ["/list?page=2"]);
    }
}
