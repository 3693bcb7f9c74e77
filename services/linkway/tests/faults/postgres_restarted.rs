//! PostgreSQL restarted mid-load (every connection terminated by the administrator).

use std::sync::Arc;
use std::time::{Duration, Instant};

use linkway_testkit::{Postgres, Server, shared_nats};

use crate::support::{self, Fault, Load, RECOVERY, Sampler, World};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_restarted_under_load() {
    let _serial = support::one_at_a_time().await;
    let pg = Arc::new(Postgres::start().expect("private PostgreSQL"));
    let world = Arc::new(World::start(&[shared_nats().url()], &pg.url(), &[]).await);
    let sampler = Sampler::start(&world);
    let load = Load::start(&world);
    load.until_keys(120).await;
    let began = Instant::now();
    let p = pg.clone();
    tokio::task::spawn_blocking(move || p.restart().expect("restart PostgreSQL"))
        .await
        .unwrap();
    let back = Instant::now();
    tokio::time::sleep(RECOVERY + Duration::from_secs(1)).await;
    let (keys, attempts) = load.stop().await;
    let samples = sampler.stop().await;
    let faults = [Fault {
        name: "PostgreSQL restarted",
        began,
        back,
    }];
    support::verify(&world, keys, &attempts, &samples, &faults).await;
}
