//! `linkway serve` started while the first of its seeds is down: it starts on the others
//! and serves a load as usual.

use std::sync::Arc;
use std::time::{Duration, Instant};

use linkway_testkit::{NatsCluster, Server, shared_postgres};

use crate::support::{self, Fault, Load, RECOVERY, Sampler, World};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn linkway_starts_while_its_first_seed_is_down() {
    let _serial = support::one_at_a_time().await;
    let cluster = NatsCluster::start(3).expect("three nats-servers");
    cluster
        .wait_for_jetstream()
        .await
        .expect("JetStream cluster");
    cluster.node(0).kill();
    // Seeds in node order: the first one is the node that is down.
    let world = Arc::new(
        World::start(
            &cluster.urls(),
            &shared_postgres().url(),
            &[("LINKWAY_REPLICAS", "3")],
        )
        .await,
    );
    let ready = Instant::now();
    let sampler = Sampler::start(&world);
    let load = Load::start(&world);
    load.until_keys(150).await;
    tokio::time::sleep(RECOVERY + Duration::from_secs(1)).await;
    let (keys, attempts) = load.stop().await;
    let samples = sampler.stop().await;
    let faults = [Fault {
        name: "started with the first seed down",
        began: ready,
        back: ready,
    }];
    support::verify(&world, keys, &attempts, &samples, &faults).await;
}
