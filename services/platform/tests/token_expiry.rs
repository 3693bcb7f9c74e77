//! Token expiry and rotation against a real nats-server and PostgreSQL, with the clock in
//! the test's hands: tokens issued and rotated through the registry's admin commands (the
//! CLI's and the pages' path), projected by the registry projection, and authenticated
//! with [`authenticate_at`] at chosen times, so "after the overlap" needs no sleeping.
//! The admin fold (what `token list` shows) agrees with the read model at every time.

use linkway_events::Role;
use linkway_events::registry::OrganisationKind;
use linkway_platform::auth::{Principal, authenticate_at};
use linkway_platform::read_your_writes::reach;
use linkway_platform::registry::Registry;
use linkway_platform::registry::admin::{Admin, AdminError, Expiry, Refusal};
use linkway_testkit::TestEnv;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

const GP: &str = "gp-expiry";

struct World {
    env: TestEnv,
    db: linkway_platform::Database,
    checkpoint: linkway_platform::projection::Checkpoint,
}

impl World {
    async fn new(service: &str) -> World {
        let env = TestEnv::shared();
        env.register_organisation(GP, OrganisationKind::GpPractice, None, false)
            .await;
        let ctx = env.context(service).await;
        let checkpoint = ctx.spawn_projection(Registry).await.expect("registry");
        World {
            db: ctx.db.clone(),
            env,
            checkpoint,
        }
    }

    /// Who `secret` is at `at`, once the read model holds sequence `seen`.
    async fn at(&self, seen: u64, secret: &str, at: OffsetDateTime) -> Option<Principal> {
        reach(&self.checkpoint, Some(seen))
            .await
            .expect("projected");
        authenticate_at(&self.db, secret, at).await.expect("asked")
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_works_until_it_expires_and_a_token_without_expiry_never_does() {
    let w = World::new("expiry").await;
    let store = w.env.store().await;
    let admin = Admin::cli(&store);
    let issued = admin
        .issue_token_expiring(
            GP,
            Role::Referrer,
            None,
            None,
            Expiry::In(Duration::days(1)),
        )
        .await
        .expect("issued");
    let now = OffsetDateTime::now_utc();
    assert!(issued.expires_at > now && issued.expires_at <= now + Duration::days(1));
    let (v1, seen) = w.env.issue_token(GP, Role::Referrer).await;
    let seen = seen.max(issued.sequence);

    let just_before = issued.expires_at - Duration::seconds(1);
    let who = w.at(seen, &issued.secret, just_before).await.expect("live");
    assert_eq!((who.token_id, who.role), (issued.token_id, Role::Referrer));
    assert!(
        w.at(seen, &issued.secret, issued.expires_at)
            .await
            .is_none(),
        "expired at its expiry"
    );
    assert!(
        w.at(
            seen,
            &issued.secret,
            issued.expires_at + Duration::days(400)
        )
        .await
        .is_none()
    );
    // A token issued before expiries (its event says none) works on.
    let far = now + Duration::days(3650);
    assert!(w.at(seen, &v1, far).await.is_some());

    // The default is the process's lifetime (90 days unless installed otherwise).
    let default = admin
        .issue_token(GP, Role::Referrer, None, None)
        .await
        .expect("issued");
    let lifetime = default.expires_at - OffsetDateTime::now_utc();
    assert!(
        lifetime > Duration::days(89) && lifetime <= Duration::days(90),
        "{lifetime}"
    );

    // An expiry now or past is refused, and nothing appended.
    for expiry in [
        Expiry::At(now - Duration::minutes(5)),
        Expiry::In(Duration::ZERO),
    ] {
        match admin
            .issue_token_expiring(GP, Role::Referrer, None, None, expiry)
            .await
        {
            Err(AdminError::Refused(Refusal::ExpiryNotInFuture)) => {}
            other => panic!("{expiry:?}: {:?}", other.map(|t| t.token_id)),
        }
    }

    let registry = admin.registry().await.expect("registry");
    let token = &registry.tokens[&issued.token_id];
    assert_eq!(token.expires_at, Some(issued.expires_at));
    assert!(token.is_live(just_before) && !token.is_live(issued.expires_at));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_token_works_beside_its_successor_during_the_grace_and_not_after() {
    let w = World::new("rotation").await;
    let store = w.env.store().await;
    let admin = Admin::cli(&store);
    let old = admin
        .issue_token_expiring(
            GP,
            Role::Referrer,
            Some("emis".into()),
            Some("EMIS".into()),
            Expiry::In(Duration::days(30)),
        )
        .await
        .expect("issued");
    let rotated = admin
        .rotate_token(
            old.token_id,
            Expiry::In(Duration::days(60)),
            Some(Duration::hours(1)),
        )
        .await
        .expect("rotated");
    let new = &rotated.successor;
    assert_eq!(rotated.replaced, old.token_id);
    assert_ne!(new.secret, old.secret);
    let now = OffsetDateTime::now_utc();
    let stops = rotated.replaced_stops_at;
    assert!(stops > now + Duration::minutes(59) && stops <= now + Duration::hours(1));
    let seen = new.sequence;

    // During the overlap both work, as the same organisation, role and user.
    for secret in [&old.secret, &new.secret] {
        let who = w
            .at(seen, secret, stops - Duration::seconds(1))
            .await
            .expect("works");
        assert_eq!(
            (
                who.organisation_id.as_str(),
                who.role,
                who.user_id.as_deref()
            ),
            (GP, Role::Referrer, Some("emis"))
        );
    }
    // After it, only the successor.
    assert!(
        w.at(seen, &old.secret, stops).await.is_none(),
        "the old stops at the end of the grace"
    );
    let who = w.at(seen, &new.secret, stops + Duration::days(59)).await;
    assert_eq!(who.map(|p| p.token_id), Some(new.token_id));

    // The log says the same: the old token is replaced, its expiry the overlap's end.
    let registry = admin.registry().await.expect("registry");
    let listed = &registry.tokens[&old.token_id];
    assert_eq!(
        (listed.replaced_by, listed.expires_at),
        (Some(new.token_id), Some(stops))
    );
    assert_eq!(
        registry.tokens[&new.token_id]
            .issued
            .replaces
            .map(|r| r.token_id),
        Some(old.token_id)
    );
    assert!(listed.is_live(stops - Duration::seconds(1)) && !listed.is_live(stops));

    // A replaced token is not rotated again (its successor is), nor is a revoked one.
    match admin
        .rotate_token(old.token_id, Expiry::Default, None)
        .await
    {
        Err(AdminError::Refused(Refusal::AlreadyRotated { token, successor })) => {
            assert_eq!((token, successor), (old.token_id, new.token_id));
        }
        other => panic!("rotated twice: {:?}", other.map(|r| r.successor.token_id)),
    }
    admin.revoke_token(new.token_id).await.expect("revoked");
    assert!(matches!(
        admin
            .rotate_token(new.token_id, Expiry::Default, None)
            .await,
        Err(AdminError::Refused(Refusal::NoSuchToken(_)))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grace_of_zero_stops_the_old_token_at_once_and_the_grace_never_outlives_its_expiry() {
    let w = World::new("grace").await;
    let store = w.env.store().await;
    let admin = Admin::cli(&store);
    let old = admin
        .issue_token_expiring(
            GP,
            Role::Referrer,
            None,
            None,
            Expiry::In(Duration::hours(2)),
        )
        .await
        .expect("issued");
    // A day's grace on a token with two hours left: it still ends in two hours.
    let rotated = admin
        .rotate_token(old.token_id, Expiry::Default, Some(Duration::days(1)))
        .await
        .expect("rotated");
    assert_eq!(rotated.replaced_stops_at, old.expires_at);
    // No grace: the successor's predecessor stops now.
    let next = admin
        .rotate_token(
            rotated.successor.token_id,
            Expiry::Default,
            Some(Duration::ZERO),
        )
        .await
        .expect("rotated again");
    let seen = next.successor.sequence;
    let now = OffsetDateTime::now_utc();
    assert!(next.replaced_stops_at <= now);
    assert!(w.at(seen, &rotated.successor.secret, now).await.is_none());
    assert!(w.at(seen, &next.successor.secret, now).await.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_rotations_of_one_token_at_once_leave_one_successor() {
    let w = World::new("rotations").await;
    let store = w.env.store().await;
    let admin = Admin::cli(&store);
    let old = admin
        .issue_token(GP, Role::Referrer, None, None)
        .await
        .expect("issued");
    let (a, b) = tokio::join!(
        admin.rotate_token(old.token_id, Expiry::Default, None),
        admin.rotate_token(old.token_id, Expiry::Default, None),
    );
    let (won, lost) = match (a, b) {
        (Ok(won), Err(lost)) | (Err(lost), Ok(won)) => (won, lost),
        (a, b) => panic!(
            "exactly one rotation wins: {:?} {:?}",
            a.map(|r| r.successor.token_id),
            b.map(|r| r.successor.token_id)
        ),
    };
    match lost {
        AdminError::Refused(Refusal::AlreadyRotated { successor, .. }) => {
            assert_eq!(successor, won.successor.token_id);
        }
        other => panic!("{other}"),
    }
    let registry = admin.registry().await.expect("registry");
    let now = OffsetDateTime::now_utc();
    let live_successors: Vec<Uuid> = registry
        .tokens
        .values()
        .filter(|t| {
            t.issued
                .replaces
                .is_some_and(|r| r.token_id == old.token_id)
        })
        .filter(|t| t.is_live(now))
        .map(|t| t.issued.token_id)
        .collect();
    assert_eq!(live_successors, [won.successor.token_id]);
}
