//! Tests of the harness itself: the NATS cluster and the child-process watchdog.

use std::time::Duration;

use async_nats::jetstream::{self, stream};
use linkway_testkit::{Linkway, NatsCluster, Scope, Server};

/// A stand-in for `linkway serve`: exits 0 on SIGTERM, runs until then.
fn fake_binary(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("fake-linkway");
    std::fs::write(
        &path,
        "#!/bin/sh\necho \"started $LINKWAY_STREAM $*\"\ntrap 'echo stopping; exit 0' TERM\nwhile :; do sleep 0.05; done\n",
    )
    .unwrap();
    std::process::Command::new("chmod")
        .args(["+x", &path.display().to_string()])
        .status()
        .unwrap();
    path
}

fn alive(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .unwrap_or_default()
            .contains(") Z ")
}

#[test]
fn child_process_signals_kill_and_restart() {
    let dir = tempfile::tempdir().unwrap();
    let scope = Scope::new();
    let linkway = Linkway::new(
        fake_binary(dir.path()),
        &["nats://127.0.0.1:1".into()],
        "postgres://nowhere",
        &scope,
    )
    .unwrap();
    linkway.start().unwrap();
    let pid = linkway.pid().unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let status = linkway
        .sigterm(Duration::from_secs(5))
        .expect("exits on SIGTERM");
    assert_eq!(status.code(), Some(0));
    assert!(!alive(pid));
    assert!(
        linkway
            .log()
            .contains(&format!("started {} serve", scope.stream))
    );
    assert!(linkway.log().contains("stopping"));

    linkway.start().unwrap();
    let pid = linkway.pid().unwrap();
    linkway.kill();
    assert!(!alive(pid), "kill -9 leaves nothing running");
    assert!(linkway.pid().is_none());

    linkway.restart().unwrap();
    let pid = linkway.pid().unwrap();
    drop(linkway);
    assert!(!alive(pid), "dropping the handle stops the process");
}

#[tokio::test]
async fn cluster_keeps_an_r3_stream_through_the_loss_of_its_leader() {
    let cluster = NatsCluster::start(3).unwrap();
    cluster.wait_for_jetstream().await.unwrap();
    let client = async_nats::ConnectOptions::new()
        .retry_on_initial_connect()
        .connect(cluster.urls())
        .await
        .unwrap();
    let js = jetstream::new(client);
    let mut s = js
        .create_stream(stream::Config {
            name: "HARNESS".into(),
            subjects: vec!["harness.>".into()],
            num_replicas: 3,
            ..Default::default()
        })
        .await
        .unwrap();
    js.publish("harness.a", "1".into())
        .await
        .unwrap()
        .await
        .unwrap();
    let info = s.info().await.unwrap();
    let leader = info.cluster.as_ref().unwrap().leader.clone().unwrap();
    assert_eq!(info.cluster.as_ref().unwrap().replicas.len(), 2);
    cluster.node_named(&leader).unwrap().kill();
    // A new leader is elected among the two left; the publish is retried until it is.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        match js.publish("harness.a", "2".into()).await {
            Ok(ack) => match ack.await {
                Ok(ack) => {
                    assert_eq!(ack.sequence, 2);
                    break;
                }
                Err(e) => assert!(std::time::Instant::now() < deadline, "{e}"),
            },
            Err(e) => assert!(std::time::Instant::now() < deadline, "{e}"),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let info = s.info().await.unwrap();
    assert_ne!(info.cluster.clone().unwrap().leader.unwrap(), leader);
    cluster.node_named(&leader).unwrap().start_again().unwrap();
}
