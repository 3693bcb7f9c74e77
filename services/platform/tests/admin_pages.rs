//! The administrator's pages through HTTP, against a real nats-server and PostgreSQL: a
//! service with only the registry projection, served by `service::router` as every service
//! is, and people signed in with a session cookie sealed under the settings' key (what
//! the sign-in would set). Only an administrator gets the pages (403 otherwise); a refused
//! change shows the command's rule in the error summary and appends nothing; what a page
//! appends names the administrator's user id; a form without its CSRF token changes
//! nothing; a token's secret is shown once; the preview routes by intake's rule.

use std::sync::Arc;
use std::time::{Duration, Instant};

use linkway_events::Role;
use linkway_events::registry::{OrganisationKind, OrganisationRegistered, UserRegistered};
use linkway_eventstore::EventStore;
use linkway_platform::registry::Registry;
use linkway_platform::registry::admin::Admin;
use linkway_platform::registry::admin::fold::{ORGANISATION, ROUTING_RULE, TOKEN, USER};
use linkway_platform::service::{BoxFuture, Progress, router};
use linkway_platform::web::WebSettings;
use linkway_platform::web::session::{ABSOLUTE_LIFETIME, SESSION_COOKIE, Sealer, Session};
use linkway_platform::{Database, Service, ServiceContext, Started};
use linkway_testkit::{TestEnv, serve};
use reqwest::StatusCode;
use time::OffsetDateTime;
use uuid::Uuid;

const GP: &str = "gp-pages";
const LW: &str = "lw-pages";
const LW2: &str = "lw-pages-2";

/// A service that keeps only the registry: what the admin pages need.
struct RegistryOnly;

impl Service for RegistryOnly {
    fn name(&self) -> &'static str {
        "admin-pages"
    }

    fn projections(&self) -> &'static [&'static str] {
        &["registry"]
    }

    fn openapi(&self) -> utoipa::openapi::OpenApi {
        utoipa::openapi::OpenApiBuilder::new().build()
    }

    fn migrate<'a>(&'a self, _: &'a Database) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async { Ok(()) })
    }

    fn start<'a>(&'a self, ctx: &'a ServiceContext) -> BoxFuture<'a, anyhow::Result<Started>> {
        Box::pin(async move {
            let registry = ctx.spawn_projection(Registry).await?;
            Ok(Started {
                routes: axum::Router::new(),
                projections: vec![("registry", registry)],
                on_scrape: None,
            })
        })
    }

    fn rebuild<'a>(
        &'a self,
        _: &'a ServiceContext,
        _: &'a str,
        _: &'a Progress<'a>,
    ) -> BoxFuture<'a, anyhow::Result<Option<u64>>> {
        Box::pin(async { Ok(None) })
    }
}

/// Someone signed in: the cookie to send and the CSRF token their forms carry.
struct Person {
    user_id: Uuid,
    cookie: String,
    csrf: String,
}

struct Pages {
    url: String,
    store: EventStore,
    http: reqwest::Client,
    admin: Person,
    referrer: Person,
    _env: TestEnv,
}

fn person(sealer: &Sealer, user_id: Uuid) -> Person {
    let session = Session::begin(user_id, OffsetDateTime::now_utc());
    let set_cookie = sealer.seal(SESSION_COOKIE, &session, ABSOLUTE_LIFETIME);
    Person {
        user_id,
        cookie: set_cookie.split(';').next().unwrap().to_owned(),
        csrf: session.csrf,
    }
}

async fn user(store: &EventStore, org: &str, role: Role, subject: &str) -> Uuid {
    let registered = UserRegistered {
        user_id: Uuid::now_v7(),
        organisation_id: org.into(),
        roles: vec![role],
        display_name: format!("{subject} person"),
        issuer: "https://idp.test".into(),
        subject: subject.into(),
    };
    Admin::cli(store)
        .register_user(&registered)
        .await
        .expect("register user");
    registered.user_id
}

async fn organisation(store: &EventStore, id: &str, kind: OrganisationKind, service: bool) {
    let registration = OrganisationRegistered {
        organisation_id: id.into(),
        name: format!("{id} name"),
        kind,
        code: None,
        commissioner_area: Some("QPG".into()),
        link_worker_service: service,
        directory_services: Vec::new(),
    };
    Admin::cli(store)
        .register_organisation(&registration)
        .await
        .expect("register organisation");
}

/// Two link-worker services, a GP practice, an administrator and a referrer, served.
async fn start() -> Pages {
    let env = TestEnv::shared();
    let store = env.store().await;
    organisation(&store, GP, OrganisationKind::GpPractice, false).await;
    organisation(&store, LW, OrganisationKind::Pcn, true).await;
    organisation(&store, LW2, OrganisationKind::Pcn, true).await;
    let admin_id = user(&store, "linkway", Role::Admin, "admin").await;
    let referrer_id = user(&store, GP, Role::Referrer, "referrer").await;
    let mut ctx = env.context("admin-pages").await;
    let settings = WebSettings::for_tests();
    let sealer = Sealer::new(&settings.session_key, false);
    ctx.web = Arc::new(settings);
    let url = serve(
        router(&RegistryOnly, &ctx).await.expect("router"),
        env.shutdown(),
    )
    .await;
    let pages = Pages {
        url,
        store,
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        admin: person(&sealer, admin_id),
        referrer: person(&sealer, referrer_id),
        _env: env,
    };
    // Signed in once the registry projection has the people.
    let deadline = Instant::now() + Duration::from_secs(20);
    while pages.get(&pages.admin, "/admin").await.0 != StatusCode::OK {
        assert!(Instant::now() < deadline, "the admin is never signed in");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    pages
}

impl Pages {
    /// The routing preview's status and page.
    async fn preview(&self, from: &str, postcode: &str) -> (StatusCode, String) {
        let (status, _, body) = self
            .post(
                &self.admin,
                "/admin/routing-rules/preview",
                &[("preview_from", from), ("preview_postcode", postcode)],
                true,
            )
            .await;
        (status, body)
    }

    async fn get(&self, who: &Person, path: &str) -> (StatusCode, String) {
        let response = self
            .http
            .get(format!("{}{path}", self.url))
            .header("cookie", &who.cookie)
            .send()
            .await
            .unwrap();
        (response.status(), response.text().await.unwrap())
    }

    /// Posts `fields` with `who`'s CSRF token (or none); the status, `Location` and body.
    async fn post(
        &self,
        who: &Person,
        path: &str,
        fields: &[(&str, &str)],
        csrf: bool,
    ) -> (StatusCode, String, String) {
        let mut form: Vec<(&str, &str)> = fields.to_vec();
        if csrf {
            form.push(("csrf", &who.csrf));
        }
        let body: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let response = self
            .http
            .post(format!("{}{path}", self.url))
            .header("cookie", &who.cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        let location = response
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_owned())
            .unwrap_or_default();
        (response.status(), location, response.text().await.unwrap())
    }

    /// Every registry event in the log.
    async fn events(&self) -> usize {
        let mut n = 0;
        for kind in [ORGANISATION, ROUTING_RULE, TOKEN, USER] {
            n += self.store.load_kind(kind).await.unwrap().len();
        }
        n
    }
}

/// The organisation form's fields.
fn org_form<'a>(
    id: &'a str,
    name: &'a str,
    kind: &'a str,
    service: &'a str,
) -> Vec<(&'static str, &'a str)> {
    vec![
        ("organisation_id", id),
        ("name", name),
        ("kind", kind),
        ("link_worker_service", service),
    ]
}

const PAGES: [&str; 6] = [
    "/admin",
    "/admin/organisations",
    "/admin/users",
    "/admin/tokens",
    "/admin/routing-rules",
    "/admin/dead-letters",
];

#[tokio::test]
async fn only_an_administrator_gets_the_admin_pages_and_others_change_nothing() {
    let pages = start().await;
    for path in PAGES {
        let (status, body) = pages.get(&pages.admin, path).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        assert!(
            body.contains("- Administration - Linkway</title>"),
            "{path}"
        );
        let (status, body) = pages.get(&pages.referrer, path).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
        assert!(body.contains("You cannot use this page"), "{path}");
    }
    let before = pages.events().await;
    let register = org_form("gp-by-referrer", "A practice", "gp_practice", "no");
    let (status, ..) = pages
        .post(&pages.referrer, "/admin/organisations", &register, true)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, ..) = pages
        .post(
            &pages.referrer,
            "/admin/tokens",
            &[("organisation_id", GP), ("role", "referrer")],
            true,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(pages.events().await, before, "a non-administrator appended");
    // Not signed in at all: to the sign-in page.
    let anonymous = pages
        .http
        .get(format!("{}/admin/tokens", pages.url))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_refused_registration_shows_the_rule_and_appends_nothing() {
    let pages = start().await;
    // A rule routes to LW, so it cannot stop being a link-worker service.
    let (status, location, _) = pages
        .post(
            &pages.admin,
            "/admin/routing-rules",
            &[("to", LW), ("from_org", GP), ("priority", "1")],
            true,
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(location.starts_with("/admin/routing-rules?min_sequence="));
    let before = pages.events().await;
    for (fields, says) in [
        (
            org_form(LW, "No longer a service", "pcn", "no"),
            "routing rules still send referrals to it",
        ),
        (
            org_form("icb-no-area", "An ICB", "commissioner", "no"),
            "A commissioner needs a commissioner area",
        ),
        (
            org_form("linkway", "Not us", "other", "no"),
            "is Linkway's own operator organisation",
        ),
        (
            org_form("gp-nul", "Park\u{0}Surgery", "gp_practice", "no"),
            "Name must not contain control characters",
        ),
        (
            org_form("gp nul", "Park Surgery", "gp_practice", "no"),
            "use 1-64 letters, digits",
        ),
    ] {
        let (status, _, body) = pages
            .post(&pages.admin, "/admin/organisations", &fields, true)
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{says}: {body}");
        assert!(body.contains("nhsuk-error-summary"), "{says}");
        assert!(body.contains(says), "{says}: {body}");
        assert!(body.contains("<title>Error: Organisations"), "{says}");
        assert!(!body.contains("--area") && !body.contains("--link-worker-service"));
    }
    // A rule to a practice, a district no postcode has: the rule, beside the field.
    for (fields, says) in [
        (
            vec![("to", GP), ("from_org", GP), ("priority", "1")],
            "is not a link-worker service",
        ),
        (
            vec![
                ("to", LW),
                ("postcode_district", "LS6 4QX"),
                ("priority", "1"),
            ],
            "is not an outward code",
        ),
    ] {
        let (status, _, body) = pages
            .post(&pages.admin, "/admin/routing-rules", &fields, true)
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{says}");
        assert!(body.contains(says), "{says}: {body}");
    }
    assert_eq!(pages.events().await, before, "a refused change appended");
}

#[tokio::test]
async fn a_change_on_a_page_is_the_administrators_and_a_post_without_csrf_changes_nothing() {
    let pages = start().await;
    let fields = org_form("vcse-pages", "Allotment Club", "vcse", "no");
    let before = pages.events().await;
    for (csrf, body) in [(false, vec![]), (false, vec![("csrf", "not-the-token")])] {
        let mut with: Vec<(&str, &str)> = fields.to_vec();
        with.extend(body);
        let (status, _, page) = pages
            .post(&pages.admin, "/admin/organisations", &with, csrf)
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{page}");
        assert!(page.contains("This form could not be sent"));
    }
    assert_eq!(
        pages.events().await,
        before,
        "a post without its CSRF token appended"
    );

    let (status, location, _) = pages
        .post(&pages.admin, "/admin/organisations", &fields, true)
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(location.starts_with("/admin/organisations?min_sequence="));
    let events = pages
        .store
        .load("organisation", "vcse-pages")
        .await
        .unwrap();
    let (envelope, _) = events[0].decode().unwrap();
    assert_eq!(envelope.actor.organisation_id, "linkway");
    assert_eq!(envelope.actor.role, Role::Admin);
    assert_eq!(
        envelope.actor.user_id,
        Some(pages.admin.user_id.to_string())
    );
    let (_, list) = pages.get(&pages.admin, &location).await;
    assert!(list.contains("Allotment Club") && list.contains("Organisation saved"));
}

#[tokio::test]
async fn users_are_added_given_roles_and_deactivated_by_the_same_rules() {
    let pages = start().await;
    let add = |subject: &'static str, role: &'static str| {
        vec![
            ("organisation_id", LW),
            ("display_name", "Sam Link"),
            ("roles", role),
            ("issuer", "https://idp.test"),
            ("subject", subject),
        ]
    };
    let (status, _, body) = pages
        .post(
            &pages.admin,
            "/admin/users",
            &add("sam", "commissioner"),
            true,
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body.contains("The commissioner role needs a commissioner"),
        "{body}"
    );
    let (status, _, body) = pages
        .post(
            &pages.admin,
            "/admin/users",
            &add("admin", "link_worker"),
            true,
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("already signs in as user"), "{body}");
    let (status, ..) = pages
        .post(
            &pages.admin,
            "/admin/users",
            &add("sam", "link_worker"),
            true,
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let registry = Admin::cli(&pages.store).registry().await.unwrap();
    let sam = registry
        .user_by_identity("https://idp.test", "sam")
        .expect("registered")
        .registered
        .user_id;
    let base = format!("/admin/users/{sam}");
    let (status, _, body) = pages
        .post(&pages.admin, &format!("{base}/roles"), &[], true)
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("needs at least one role"));
    let (status, location, _) = pages
        .post(
            &pages.admin,
            &format!("{base}/roles"),
            &[("roles", "link_worker"), ("roles", "service_manager")],
            true,
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(location.starts_with(&base));
    let (status, ..) = pages
        .post(&pages.admin, &format!("{base}/deactivate"), &[], true)
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let user = &Admin::cli(&pages.store).registry().await.unwrap().users[&sam];
    assert!(!user.active);
    assert_eq!(
        user.registered.roles,
        vec![Role::LinkWorker, Role::ServiceManager]
    );
    let (status, _) = pages
        .get(&pages.admin, &format!("/admin/users/{}", Uuid::now_v7()))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = pages.get(&pages.admin, "/admin/users/not-a-uuid").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_token_secret_is_shown_once_and_never_listed() {
    let pages = start().await;
    let (status, _, body) = pages
        .post(
            &pages.admin,
            "/admin/tokens",
            &[("organisation_id", GP), ("role", "link_worker")],
            true,
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("The link_worker role needs a link-worker service"));
    let (status, _, body) = pages
        .post(
            &pages.admin,
            "/admin/tokens",
            &[
                ("organisation_id", GP),
                ("role", "referrer"),
                ("label", "EMIS"),
            ],
            true,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let secret = body
        .split("<code id=\"token-secret\">")
        .nth(1)
        .and_then(|s| s.split('<').next())
        .expect("the secret on the answer")
        .to_owned();
    assert!(secret.len() > 20);
    let (_, list) = pages.get(&pages.admin, "/admin/tokens").await;
    assert!(list.contains("EMIS") && !list.contains(&secret[3..]));
    let registry = Admin::cli(&pages.store).registry().await.unwrap();
    let token = registry.tokens.values().next().unwrap();
    assert!(!list.contains(&token.issued.secret_sha256));
    let id = token.issued.token_id;
    let (status, ..) = pages
        .post(
            &pages.admin,
            &format!("/admin/tokens/{id}/revoke"),
            &[],
            true,
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (status, _, body) = pages
        .post(
            &pages.admin,
            &format!("/admin/tokens/{id}/revoke"),
            &[],
            true,
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("There is no live token"), "{body}");
}

#[tokio::test]
async fn the_preview_routes_by_the_referring_organisation_first_then_the_district() {
    let pages = start().await;
    for fields in [
        vec![("to", LW), ("from_org", GP), ("priority", "100")],
        vec![("to", LW2), ("postcode_district", "ls6"), ("priority", "1")],
    ] {
        let (status, _, body) = pages
            .post(&pages.admin, "/admin/routing-rules", &fields, true)
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    }
    let answer = |body: &str| {
        body.split("id=\"preview-answer\"")
            .nth(1)
            .unwrap_or_default()
            .split("</div>")
            .next()
            .unwrap_or_default()
            .to_owned()
    };
    let (status, body) = pages.preview(GP, "ls6 4qx").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        answer(&body).contains(&format!("{LW} name ({LW})")),
        "{body}"
    );
    let (_, body) = pages.preview(LW, "LS6 1AA").await;
    assert!(
        answer(&body).contains(&format!("{LW2} name ({LW2})")),
        "{body}"
    );
    let (_, body) = pages.preview(LW, "M1 1AA").await;
    assert!(answer(&body).contains("No service would take it"), "{body}");
    let (status, body) = pages.preview(GP, "not a postcode").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("Enter a UK postcode"));
}

#[path = "admin_pages/document.rs"]
mod document;

#[tokio::test]
async fn a_community_service_is_registered_with_its_directory_services_from_the_page() {
    let pages = start().await;
    let before = pages.events().await;
    let mut gp = org_form("gp-services", "A practice", "gp_practice", "no");
    gp.push(("directory_services", "svc-walk"));
    let (status, _, body) = pages
        .post(&pages.admin, "/admin/organisations", &gp, true)
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(
        body.contains("Only a community service answers for directory services"),
        "{body}"
    );
    assert!(
        body.contains("href=\"#directory_services\""),
        "linked to its field"
    );
    assert!(!body.contains("--kind"), "the page's words, not the CLI's");
    assert_eq!(pages.events().await, before, "nothing appended");

    let mut walking = org_form("cs-pages", "Walking for Health", "community_service", "no");
    walking.push((
        "directory_services",
        " svc-walk \r\nsvc-tai-chi\r\n\r\nsvc-walk",
    ));
    let (status, location, _) = pages
        .post(&pages.admin, "/admin/organisations", &walking, true)
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let events = pages.store.load("organisation", "cs-pages").await.unwrap();
    let (envelope, event) = events[0].decode().unwrap();
    assert_eq!(envelope.version, 2);
    let linkway_events::Event::Registry(
        linkway_events::registry::RegistryEvent::OrganisationRegistered(registered),
    ) = event
    else {
        panic!("not a registration");
    };
    assert_eq!(registered.directory_services, ["svc-walk", "svc-tai-chi"]);
    let (_, list) = pages.get(&pages.admin, &location).await;
    assert!(list.contains("Community service (answers onward referrals)"));
    let (_, form) = pages
        .get(&pages.admin, "/admin/organisations/cs-pages")
        .await;
    assert!(
        form.contains("svc-walk\nsvc-tai-chi"),
        "the form holds them, one a line"
    );
}
