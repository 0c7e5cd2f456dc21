//! Stream admission stays exact when starts race on several nodes.

use std::collections::HashSet;

use rand::{Rng, SeedableRng};

use usher_client::DeviceType;
use usher_testkit::cluster::Cluster;

/// Eight devices of one `standard` account (2 streams) start at once, spread
/// over three nodes; exactly two are admitted, round after round.
#[tokio::test]
async fn racing_starts_across_nodes_never_exceed_the_plan() {
    let cluster = Cluster::start(3).await;
    let eve = cluster.account("eve", Some("standard")).await;
    let mut devices = Vec::new();
    for i in 0..8 {
        let device = eve
            .on(cluster.node(i % 3))
            .sign_in(&format!("TV {i}"), DeviceType::Tv)
            .await;
        devices.push(device.client);
    }
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x05e7);

    for round in 0..15 {
        let mut racers = Vec::new();
        for device in &devices {
            let device = device.clone();
            let yields: u32 = rng.gen_range(0..8);
            racers.push(tokio::spawn(async move {
                for _ in 0..yields {
                    tokio::task::yield_now().await;
                }
                device
                    .start_stream("Dune", None)
                    .await
                    .map(|lease| lease.stream_id)
            }));
        }
        let mut admitted = HashSet::new();
        for racer in racers {
            match racer.await.expect("racer finished") {
                Ok(stream) => assert!(admitted.insert(stream.to_string())),
                Err(e) => assert_eq!(e.code(), Some("too_many_streams"), "round {round}: {e}"),
            }
        }
        assert_eq!(
            admitted.len(),
            2,
            "round {round}: exactly the plan's two streams start"
        );
        let listed: HashSet<String> = devices[0]
            .streams()
            .await
            .expect("streams listed")
            .into_iter()
            .map(|s| s.stream_id.to_string())
            .collect();
        assert_eq!(
            listed, admitted,
            "round {round}: every node agrees on who is watching"
        );
        for stream in &admitted {
            devices[round % 8]
                .stop_stream(stream)
                .await
                .expect("stopped");
        }
    }
}
