//! A three-node NATS cluster with the stream at three replicas (`LINKWAY_REPLICAS=3`):
//! first a follower of the stream is lost, then comes back, then the leader is lost for
//! good. Linkway knows every node as a seed.
//!
//! The data keys' bucket (`<stream>_KEYS`, the same replicas) is a RAFT group of its own,
//! with its own leader: a submit writes its person's key there first. The follower lost
//! is one that leads neither, so that "a follower" means one; the leader lost may lead
//! both.

use std::sync::Arc;
use std::time::{Duration, Instant};

use linkway_testkit::{NatsCluster, Server, shared_postgres};

use crate::support::{self, Fault, Load, RECOVERY, Sampler, World};

/// The stream's leader and its followers (server names), once every replica is current.
async fn placement(world: &World) -> (String, Vec<String>) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let info = async {
            let mut stream = world
                .store
                .jetstream()
                .get_stream(&world.scope.stream)
                .await
                .ok()?;
            stream.info().await.ok().and_then(|i| i.cluster.clone())
        };
        if let Ok(Some(cluster)) = tokio::time::timeout(Duration::from_secs(2), info).await
            && let Some(leader) = cluster.leader.clone()
            && cluster.replicas.len() == 2
            && cluster.replicas.iter().all(|r| r.current && !r.offline)
        {
            return (
                leader,
                cluster.replicas.iter().map(|r| r.name.clone()).collect(),
            );
        }
        assert!(
            Instant::now() < deadline,
            "the stream's replicas are not all current"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The data keys' bucket's leader, once it has one.
async fn key_bucket_leader(world: &World) -> String {
    let name = format!(
        "KV_{}{}",
        world.scope.stream,
        linkway_eventstore::vault::BUCKET_SUFFIX
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let info = async {
            let mut stream = world.store.jetstream().get_stream(&name).await.ok()?;
            stream.info().await.ok().and_then(|i| i.cluster.clone())
        };
        if let Ok(Some(cluster)) = tokio::time::timeout(Duration::from_secs(2), info).await
            && let Some(leader) = cluster.leader.clone()
        {
            return leader;
        }
        assert!(Instant::now() < deadline, "the key bucket has no leader");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Waits until the stream has a leader other than `old`; the instant it was seen.
async fn new_leader(world: &World, old: &str) -> Instant {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let info = async {
            let mut stream = world
                .store
                .jetstream()
                .get_stream(&world.scope.stream)
                .await
                .ok()?;
            stream.info().await.ok().and_then(|i| i.cluster.clone())
        };
        if let Ok(Some(cluster)) = tokio::time::timeout(Duration::from_millis(500), info).await
            && cluster.leader.as_deref().is_some_and(|l| l != old)
        {
            return Instant::now();
        }
        assert!(
            Instant::now() < deadline,
            "no new stream leader within 60 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_loses_a_follower_then_the_leader_under_load() {
    let _serial = support::one_at_a_time().await;
    let cluster = Arc::new(NatsCluster::start(3).expect("three nats-servers"));
    cluster
        .wait_for_jetstream()
        .await
        .expect("JetStream cluster");
    let world = Arc::new(
        World::start(
            &cluster.urls(),
            &shared_postgres().url(),
            &[("LINKWAY_REPLICAS", "3")],
        )
        .await,
    );
    let (_, followers) = placement(&world).await;
    let sampler = Sampler::start(&world);
    let load = Load::start(&world);
    load.until_keys(120).await;

    let keys_leader = key_bucket_leader(&world).await;
    let follower = followers
        .iter()
        .find(|f| **f != keys_leader)
        .expect("two followers, one key bucket leader")
        .clone();
    cluster.node_named(&follower).expect("follower").kill();
    let lost_follower = Instant::now();
    tokio::time::sleep(RECOVERY + Duration::from_secs(1)).await;
    let follower_returning = Instant::now();
    let c = cluster.clone();
    let f = follower.clone();
    tokio::task::spawn_blocking(move || c.node_named(&f).unwrap().start_again())
        .await
        .unwrap()
        .expect("follower back");
    let follower_back = Instant::now();
    let (leader, _) = placement(&world).await;
    cluster.node_named(&leader).expect("leader").kill();
    let lost_leader = Instant::now();
    // The stream is back once the two left have elected a leader; nats-server's own
    // election timeouts (seconds, randomised) decide when, not Linkway.
    let elected = new_leader(&world, &leader).await;
    eprintln!(
        "stream leader {leader} killed; a new leader elected {:.2} s later",
        elected.duration_since(lost_leader).as_secs_f64()
    );
    tokio::time::sleep(RECOVERY + Duration::from_secs(1)).await;
    let (keys, attempts) = load.stop().await;
    let samples = sampler.stop().await;
    eprintln!(
        "lost follower {follower} (the key bucket led by {keys_leader}), then leader {leader}"
    );
    let faults = [
        Fault {
            name: "stream follower lost",
            began: lost_follower,
            back: lost_follower,
        },
        // A node rejoining is a change of the cluster too: the stream catches it up.
        Fault {
            name: "stream follower back",
            began: follower_returning,
            back: follower_back,
        },
        Fault {
            name: "stream leader lost",
            began: lost_leader,
            back: elected,
        },
    ];
    support::verify(&world, keys, &attempts, &samples, &faults).await;
}
