//! The read-your-writes rule against a real nats-server and PostgreSQL: a read model
//! behind the log makes a reader wait, then 503 (retry); a `min_sequence` beyond the log's
//! end is refused at once with 409 `beyond_log_end`, since no wait can reach it.

use std::time::Instant;

use linkway_events::registry::OrganisationKind;
use linkway_platform::ProjectionRunner;
use linkway_platform::problem::ApiError;
use linkway_platform::read_your_writes::{WAIT, reach};
use linkway_platform::registry::Registry;
use linkway_testkit::TestEnv;

#[tokio::test]
async fn beyond_the_log_is_409_at_once_while_behind_the_log_is_503_after_the_wait() {
    let env = TestEnv::shared();
    let end = env
        .register_organisation("ryw-gp", OrganisationKind::GpPractice, None, false)
        .await;
    let ctx = env.context("ryw").await;
    // A projection that is never run stays at 0 while the log holds `end` events.
    let runner = ProjectionRunner::new(Registry, ctx.db.clone(), ctx.store.clone(), ctx.runner)
        .await
        .expect("runner");
    let checkpoint = runner.checkpoint();
    assert_eq!(checkpoint.current(), 0);

    assert!(reach(&checkpoint, None).await.is_ok());
    assert!(reach(&checkpoint, Some(0)).await.is_ok());

    let started = Instant::now();
    match reach(&checkpoint, Some(end + 1)).await {
        Err(ApiError::Conflict(e)) => {
            assert_eq!(
                (e.field.as_str(), e.rule.as_str()),
                ("min_sequence", "beyond_log_end")
            );
        }
        other => panic!("beyond the log: {other:?}"),
    }
    assert!(started.elapsed() < WAIT, "refused without waiting");

    let started = Instant::now();
    match reach(&checkpoint, Some(end)).await {
        Err(ApiError::Unavailable(_)) => {}
        other => panic!("behind the log: {other:?}"),
    }
    assert!(started.elapsed() >= WAIT, "waited before answering retry");
}
