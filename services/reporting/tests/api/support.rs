//! A reporting service on real NATS and PostgreSQL, organisations and tokens, helpers to
//! append referral and case events, and a recorder of every response body so a test can
//! check that none of them holds personal data.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use linkway_events::case::CaseEvent;
use linkway_events::common::Coding;
use linkway_events::referral::*;
use linkway_events::registry::{OrganisationKind, RegistryEvent, UserRegistered};
use linkway_events::{Actor, Envelope, Event, Role};
use linkway_eventstore::{EventStore, Expected, PendingEvent};
use linkway_platform::web::WebSettings;
use linkway_platform::web::session::{ABSOLUTE_LIFETIME, SESSION_COOKIE, Sealer, Session};
use linkway_reporting::Settings;
use linkway_testkit::{TestEnv, serve};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use time::{Date, OffsetDateTime, Time};
use uuid::Uuid;

pub const AREA_A: &str = "QWO";
pub const AREA_B: &str = "QHM";

/// A person in the test population: what must never appear in a reporting answer.
#[derive(Debug, Clone)]
pub struct TestPerson {
    pub given_name: String,
    pub family_name: String,
    pub nhs_number: String,
    pub postcode: String,
    /// In Ofcom's drama range (07700 900000-900999).
    pub phone: String,
    pub email: String,
    pub address_line: String,
    /// `YYYY-MM-DD`.
    pub birth_date: String,
    /// The needs in the referrer's words (free text).
    pub needs_text: String,
}

const GIVEN: [&str; 8] = [
    "Aurelia",
    "Bartholomew",
    "Cordelia",
    "Desmond",
    "Evangeline",
    "Fitzgerald",
    "Gwendolyn",
    "Horatio",
];
const FAMILY: [&str; 8] = [
    "Quenby",
    "Rutherford",
    "Stavely",
    "Thistlewood",
    "Umfreville",
    "Vavasour",
    "Wetherell",
    "Yelverton",
];

/// A valid (Modulus 11) NHS number made from `n`.
pub fn nhs_number(n: u32) -> String {
    let mut seed = 400_000_000 + n * 7919;
    loop {
        let digits: Vec<u32> = format!("{seed:09}")
            .bytes()
            .map(|b| u32::from(b - b'0'))
            .collect();
        let sum: u32 = digits.iter().zip((2..=10).rev()).map(|(d, w)| d * w).sum();
        let check = 11 - sum % 11;
        let check = if check == 11 { 0 } else { check };
        if check != 10 {
            return format!("{seed:09}{check}");
        }
        seed += 1;
    }
}

/// `n` in letters (a, b, ... z, ba, bb ...), so names stay names.
fn letters(mut n: u32) -> String {
    let mut out = Vec::new();
    loop {
        out.push(b'a' + (n % 26) as u8);
        n /= 26;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).unwrap()
}

pub fn person(n: u32) -> TestPerson {
    let given_name = format!("{}{}", GIVEN[n as usize % 8], letters(n));
    let family_name = format!("{}{}", FAMILY[(n as usize / 8) % 8], letters(n / 8));
    TestPerson {
        phone: format!("07700900{:03}", n % 1000),
        email: format!("{}@example.org", family_name.to_lowercase()),
        address_line: format!("{} Hyde Park Road", 10 + n % 90),
        birth_date: format!("1985-06-{:02}", 1 + n % 28),
        needs_text: format!("{given_name} feels isolated"),
        given_name,
        family_name,
        nhs_number: nhs_number(n),
        postcode: format!(
            "LS{} {}Q{}",
            1 + n % 9,
            n % 10,
            ["X", "Z", "J", "W"][n as usize % 4]
        ),
    }
}

/// What a test says about a referral it appends.
#[derive(Debug, Clone)]
pub struct NewReferral {
    pub referrer: &'static str,
    pub needs: Vec<&'static str>,
    pub on: Date,
}

pub struct World {
    pub env: TestEnv,
    pub store: EventStore,
    pub base: String,
    pub http: reqwest::Client,
    pub settings: Settings,
    /// The pages' settings the service runs with (its session key seals test cookies).
    pub web: Arc<WebSettings>,
    pub commissioner_a: String,
    pub commissioner_b: String,
    pub admin: String,
    pub referrer: String,
    pub link_worker: String,
    pub service_manager: String,
    pub bodies: Mutex<Vec<String>>,
    pub people: Mutex<Vec<TestPerson>>,
    next_person: Mutex<u32>,
}

pub fn at(day: Date) -> OffsetDateTime {
    day.with_time(Time::from_hms(10, 0, 0).unwrap())
        .assume_utc()
}

impl World {
    pub async fn new() -> World {
        World::with_settings(Settings::new(linkway_platform::secret::Secret::new(
            "test-pseudonym-key",
        )))
        .await
    }

    /// Registers the organisations, issues tokens, starts reporting and waits for them.
    pub async fn with_settings(settings: Settings) -> World {
        let env = TestEnv::shared();
        use OrganisationKind as K;
        for (id, kind, area, lw) in [
            ("icb-a", K::Commissioner, Some(AREA_A), false),
            ("icb-b", K::Commissioner, Some(AREA_B), false),
            ("gp-a", K::GpPractice, Some(AREA_A), false),
            ("council-a", K::Council, Some(AREA_A), false),
            ("gp-b", K::GpPractice, Some(AREA_B), false),
            ("lw-a", K::Pcn, Some(AREA_A), true),
            ("lw-a2", K::Vcse, Some(AREA_A), true),
            ("lw-b", K::Vcse, Some(AREA_B), true),
            ("ops", K::Other, None, false),
        ] {
            env.register_organisation(id, kind, area, lw).await;
        }
        let (commissioner_a, _) = env.issue_token("icb-a", Role::Commissioner).await;
        let (commissioner_b, _) = env.issue_token("icb-b", Role::Commissioner).await;
        let (admin, _) = env.issue_token("ops", Role::Admin).await;
        let (referrer, _) = env.issue_token("gp-a", Role::Referrer).await;
        let (link_worker, _) = env.issue_token("lw-a", Role::LinkWorker).await;
        let (service_manager, _) = env.issue_token("lw-a", Role::ServiceManager).await;
        let ctx = env.context("reporting").await;
        let web = ctx.web.clone();
        let router = linkway_reporting::start_with(ctx, settings.clone())
            .await
            .expect("reporting starts");
        let base = serve(router, env.shutdown()).await;
        let world = World {
            store: env.store().await,
            env,
            base,
            http: reqwest::Client::new(),
            settings,
            web,
            commissioner_a,
            commissioner_b,
            admin,
            referrer,
            link_worker,
            service_manager,
            bodies: Mutex::new(Vec::new()),
            people: Mutex::new(Vec::new()),
            next_person: Mutex::new(0),
        };
        // Every token is usable once the last one issued is.
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        loop {
            let (status, _, _) = world.get("/summary", &world.service_manager, None).await;
            if status != StatusCode::UNAUTHORIZED {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "tokens never became usable"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        world
    }

    /// GET with a bearer token; records the body for the personal-data scan.
    pub async fn get(
        &self,
        path: &str,
        token: &str,
        accept: Option<&str>,
    ) -> (StatusCode, HeaderMap, String) {
        let mut request = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(token);
        if let Some(accept) = accept {
            request = request.header("accept", accept);
        }
        self.recorded(request).await
    }

    /// GET that must succeed with JSON. A 503 (the read model not yet at `min_sequence`,
    /// which on a busy machine can take longer than the service's 5 s) is retried.
    pub async fn json(&self, path: &str, token: &str) -> serde_json::Value {
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            let (status, _, body) = self.get(path, token, None).await;
            if status == StatusCode::SERVICE_UNAVAILABLE && std::time::Instant::now() < deadline {
                continue;
            }
            assert_eq!(status, StatusCode::OK, "{path}: {body}");
            return serde_json::from_str(&body).expect("JSON");
        }
    }

    /// Registers a person of `organisation` with `roles` (as `linkway admin user add`
    /// would) and returns the `Cookie` header of a session of theirs, once this
    /// service's registry knows them.
    pub async fn sign_in(&self, organisation: &str, roles: &[Role]) -> String {
        let user_id = Uuid::now_v7();
        let event: Event = RegistryEvent::UserRegistered(UserRegistered {
            user_id,
            organisation_id: organisation.into(),
            roles: roles.to_vec(),
            display_name: format!("Test {}", roles[0].as_str()),
            issuer: "https://idp.example.org".into(),
            subject: format!("sub-{user_id}"),
        })
        .into();
        self.append(
            "user",
            user_id,
            event,
            OffsetDateTime::now_utc(),
            Actor::system(),
        )
        .await;
        let session = Session::begin(user_id, OffsetDateTime::now_utc());
        let sealed = Sealer::new(&self.web.session_key, false).seal(
            SESSION_COOKIE,
            &session,
            ABSOLUTE_LIFETIME,
        );
        let cookie = sealed.split(';').next().expect("name=value").to_owned();
        // The registry has the user once it has reached their event.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let (status, _, _) = self.page("/?from=2000-01&to=2000-01", Some(&cookie)).await;
            if status != StatusCode::SEE_OTHER {
                return cookie;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the user never became known"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// GET a page with `cookie` (redirects not followed); records the body for the
    /// personal-data scan.
    pub async fn page(&self, path: &str, cookie: Option<&str>) -> (StatusCode, HeaderMap, String) {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("a client");
        let mut request = client.get(format!("{}{path}", self.base));
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        self.recorded(request).await
    }

    /// Sends `request` and records the answer for the personal-data scan.
    async fn recorded(&self, request: reqwest::RequestBuilder) -> (StatusCode, HeaderMap, String) {
        let response = request.send().await.expect("reporting answers");
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.text().await.expect("a body");
        self.bodies
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(format!("{headers:?}\n{body}"));
        (status, headers, body)
    }

    /// The last stream sequence, for `min_sequence`.
    pub async fn last_sequence(&self) -> u64 {
        self.store.last_sequence().await.expect("log")
    }

    pub fn new_person(&self) -> TestPerson {
        let mut n = self
            .next_person
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *n += 1;
        let p = person(*n);
        self.people
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(p.clone());
        p
    }

    async fn append(
        &self,
        kind: &str,
        id: Uuid,
        event: Event,
        occurred_at: OffsetDateTime,
        actor: Actor,
    ) -> u64 {
        let envelope = Envelope::new(id.to_string(), &event, actor, Uuid::now_v7(), occurred_at);
        self.store
            .append(
                kind,
                &id.to_string(),
                Expected::Any,
                vec![PendingEvent::new(envelope)],
            )
            .await
            .expect("append")
            .last_sequence()
    }

    /// Appends `referral.received` for a fresh person with full personal details.
    pub async fn receive(&self, r: &NewReferral) -> Uuid {
        let id = Uuid::now_v7();
        let p = self.new_person();
        let event = ReferralEvent::Received(ReferralReceived {
            referral_id: id,
            referrer_organisation_id: r.referrer.into(),
            practitioner: Practitioner {
                name: "Dr Practitioner".into(),
                role: Some("GP".into()),
                phone: None,
                email: None,
            },
            source_channel: SourceChannel::Api,
            needs: r.needs.iter().map(|c| Coding::snomed(*c, "need")).collect(),
            urgency: Urgency::Routine,
            safeguarding_concern: false,
            legal_basis: LegalBasis::PublicTaskHealthCare,
            consent: Consent {
                referral_agreed: true,
                share_details_with_referrer: true,
            },
            postcode_district: p.postcode.split(' ').next().unwrap().into(),
            age_band: "35-44".into(),
            personal: Some(ReferralPersonal {
                person: event_person(&p),
                needs_text: Some(p.needs_text.clone()),
                notes: Some(format!("Call {} after 5pm", p.family_name)),
            }),
            reply_to: None,
        });
        let actor = Actor {
            organisation_id: r.referrer.into(),
            user_id: Some("gp-user".into()),
            role: Role::Referrer,
        };
        self.append("referral", id, event.into(), at(r.on), actor)
            .await;
        id
    }

    pub async fn referral_event(&self, id: Uuid, event: ReferralEvent, on: Date) -> u64 {
        self.append("referral", id, event.into(), at(on), Actor::system())
            .await
    }

    pub async fn case_event(&self, id: Uuid, event: CaseEvent, on: Date) -> u64 {
        let actor = Actor {
            organisation_id: "lw-a".into(),
            user_id: Some("lw-user".into()),
            role: Role::LinkWorker,
        };
        self.append("case", id, event.into(), at(on), actor).await
    }

    /// No recorded response holds a test person's personal values, each looked for whole
    /// ([`crate::privacy_scan`]).
    pub fn assert_nothing_personal(&self) {
        let bodies = self
            .bodies
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let people = self
            .people
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        assert!(!bodies.is_empty());
        for body in bodies.iter() {
            let found = crate::privacy_scan::personal_data_in(body, &people);
            assert!(
                found.is_empty(),
                "{found:?} found in a reporting response: {body}"
            );
        }
    }

    /// The read model itself holds no test person's details, and no referral id: rows are
    /// keyed by pseudonym only.
    pub async fn assert_read_model_holds_nothing_personal(&self, referral_ids: &[Uuid]) {
        let db = self.env.database("reporting").await;
        let client = db.client().await.expect("database");
        let mut dump = String::new();
        for table in ["referrals", "organisations", "changes", "area_marks"] {
            for row in client
                .query(&format!("SELECT t::text FROM reporting.{table} t"), &[])
                .await
                .expect("read model")
            {
                dump.push_str(row.get::<_, &str>(0));
                dump.push('\n');
            }
        }
        assert!(
            dump.lines().count() >= referral_ids.len(),
            "the rows are there"
        );
        let people = self
            .people
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let found = crate::privacy_scan::personal_data_in(&dump, &people);
        assert!(found.is_empty(), "{found:?} in the read model");
        for id in referral_ids {
            assert!(
                !dump.contains(&id.to_string()),
                "referral id {id} in the read model"
            );
            assert!(!dump.contains(&id.simple().to_string()));
        }
    }

    /// Nothing was parked: every event reporting read, it could apply.
    pub async fn assert_no_dead_letters(&self) {
        let db = self.env.database("reporting").await;
        let client = db.client().await.expect("database");
        let rows = client
            .query("SELECT projection, sequence, reason FROM dead_letters", &[])
            .await
            .expect("dead letters");
        let parked: Vec<(String, i64, String)> = rows
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect();
        assert!(parked.is_empty(), "dead-lettered: {parked:?}");
    }

    pub fn responses_recorded(&self) -> usize {
        self.bodies
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .len()
    }
}

/// The event's person: everything reporting must never show.
fn event_person(p: &TestPerson) -> Person {
    Person {
        nhs_number: Some(p.nhs_number.clone()),
        nhs_number_verification: Some("number-present-and-verified".into()),
        given_name: p.given_name.clone(),
        family_name: p.family_name.clone(),
        birth_date: Date::from_calendar_date(
            1985,
            time::Month::June,
            p.birth_date[8..].parse().expect("a day"),
        )
        .expect("a date"),
        address: Address {
            lines: vec![p.address_line.clone()],
            postcode: p.postcode.clone(),
        },
        phone: Some(p.phone.clone()),
        email: Some(p.email.clone()),
        preferred_contact_method: ContactMethod::Phone,
        language: Some("en".into()),
        interpreter_needed: false,
        accessibility_needs: None,
        gender: None,
        ethnicity: None,
    }
}
