//! kill -9 of `linkway` mid-load, then a start of a new process.

use std::sync::Arc;
use std::time::Instant;

use linkway_testkit::{shared_nats, shared_postgres};

use crate::support::{self, Fault, Load, RECOVERY, Sampler, World};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn linkway_killed_and_restarted_under_load() {
    let _serial = support::one_at_a_time().await;
    let world = Arc::new(World::start(&[shared_nats().url()], &shared_postgres().url(), &[]).await);
    let sampler = Sampler::start(&world);
    let load = Load::start(&world);
    load.until_keys(120).await;
    let began = Instant::now();
    let lw = world.lw.clone();
    tokio::task::spawn_blocking(move || lw.kill())
        .await
        .unwrap();
    world.lw.start().expect("start linkway again");
    let back = world.wait_listening().await;
    tokio::time::sleep(RECOVERY + std::time::Duration::from_secs(1)).await;
    let (keys, attempts) = load.stop().await;
    let samples = sampler.stop().await;
    let faults = [Fault {
        name: "linkway killed",
        began,
        back,
    }];
    support::verify(&world, keys, &attempts, &samples, &faults).await;
}
