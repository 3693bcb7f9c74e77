//! nats-server restarted mid-load (its consumers and connections gone).

use std::sync::Arc;
use std::time::{Duration, Instant};

use linkway_testkit::{Nats, Server, shared_postgres};

use crate::support::{self, Fault, Load, RECOVERY, Sampler, World};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nats_restarted_under_load() {
    let _serial = support::one_at_a_time().await;
    let nats = Arc::new(Nats::start().expect("private nats-server"));
    let world = Arc::new(World::start(&[nats.url()], &shared_postgres().url(), &[]).await);
    let sampler = Sampler::start(&world);
    let load = Load::start(&world);
    load.until_keys(120).await;
    let began = Instant::now();
    let n = nats.clone();
    tokio::task::spawn_blocking(move || n.restart().expect("restart nats-server"))
        .await
        .unwrap();
    let back = Instant::now();
    tokio::time::sleep(RECOVERY + Duration::from_secs(1)).await;
    let (keys, attempts) = load.stop().await;
    let samples = sampler.stop().await;
    let faults = [Fault {
        name: "nats-server restarted",
        began,
        back,
    }];
    support::verify(&world, keys, &attempts, &samples, &faults).await;
}
