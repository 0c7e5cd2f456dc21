//! Admission is exact: however starts race, an account never has more live
//! streams than its plan allows, and a freed slot goes to the next start.
//!
//! Each round every racer waits a random number of scheduler turns before
//! its call, on a multi-threaded runtime, so the calls reach the server in
//! a different interleaving each time.

use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, BTreeSet};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::task::JoinSet;
use usher_client::{DeviceType, Lease};

use usher_testkit::*;

/// Devices signed in to the racing account.
const DEVICES: usize = 8;
/// Slots of the `standard` plan.
const LIMIT: usize = 2;
const ROUNDS: usize = 30;
/// The most scheduler turns a racer waits before its call.
const MAX_DAWDLE: usize = 12;

/// A fresh seed, or `USHER_TEST_SEED`; printed in every failure.
fn seed() -> u64 {
    std::env::var("USHER_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random)
}

async fn dawdle(turns: usize) {
    for _ in 0..turns {
        tokio::task::yield_now().await;
    }
}

/// `DEVICES` devices signed in to one account on `standard`.
async fn racing_devices(app: &TestApp) -> Vec<TestDevice> {
    let ada = app.account_on("ada", "standard").await;
    let kinds = [DeviceType::Tv, DeviceType::Phone, DeviceType::Tablet];
    let mut devices = Vec::with_capacity(DEVICES);
    for i in 0..DEVICES {
        let kind = kinds[i % kinds.len()];
        devices.push(ada.sign_in(&format!("Device {i}"), kind).await);
    }
    devices
}

/// What a round of racing starts came to.
#[derive(Debug, Default)]
struct Race {
    /// Admitted streams by the index of the device that won.
    admitted: BTreeMap<usize, Lease>,
    /// For each refusal, the streams it said held the slots.
    refusals: Vec<BTreeSet<String>>,
}

impl Race {
    fn admitted_ids(&self) -> BTreeSet<String> {
        self.admitted
            .values()
            .map(|l| l.stream_id.clone())
            .collect()
    }
}

/// Spawns a start for each of `racers`, each after a random wait.
fn spawn_starts(
    tasks: &mut JoinSet<Option<(usize, usher_client::Result<Lease>)>>,
    devices: &[TestDevice],
    racers: &[usize],
    rng: &mut StdRng,
) {
    for &i in racers {
        let client = devices[i].client.clone();
        let turns = rng.gen_range(0..=MAX_DAWDLE);
        tasks.spawn(async move {
            dawdle(turns).await;
            Some((i, client.start_stream(&format!("Title {i}"), None).await))
        });
    }
}

/// Collects the starts' outcomes; anything but `201` or `409
/// too_many_streams` (with the plan's limit) fails the test.
async fn finish(
    mut tasks: JoinSet<Option<(usize, usher_client::Result<Lease>)>>,
    context: &str,
) -> Race {
    let mut race = Race::default();
    while let Some(joined) = tasks.join_next().await {
        let Some((i, outcome)) = joined.expect("a racer does not panic") else {
            continue;
        };
        match outcome {
            Ok(lease) => {
                race.admitted.insert(i, lease);
            }
            Err(refused) => {
                assert_eq!(
                    (refused.status(), refused.code()),
                    (Some(409), Some("too_many_streams")),
                    "{context}: {refused}"
                );
                let limit = refused.problem().and_then(|p| p.limit());
                assert_eq!(limit, Some(LIMIT as u32), "{context}");
                let active = refused.active_streams().expect("who holds the slots");
                race.refusals
                    .push(active.into_iter().map(|a| a.stream_id).collect());
            }
        }
    }
    race
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_starts_admit_exactly_the_plan_limit() {
    let app = TestApp::spawn().await;
    let devices = racing_devices(&app).await;
    let seed = seed();
    let mut rng = StdRng::seed_from_u64(seed);
    let everyone: Vec<usize> = (0..DEVICES).collect();

    for round in 0..ROUNDS {
        let context = format!("seed {seed}, round {round}");
        let mut tasks = JoinSet::new();
        spawn_starts(&mut tasks, &devices, &everyone, &mut rng);
        let race = finish(tasks, &context).await;

        let winners = race.admitted_ids();
        assert_eq!(winners.len(), LIMIT, "{context}: {race:?}");
        assert_eq!(race.refusals.len(), DEVICES - LIMIT, "{context}: {race:?}");
        // Nothing stops during the race, so every refusal saw the winners.
        for active in &race.refusals {
            assert_eq!(active, &winners, "{context}: {race:?}");
        }
        let listed: BTreeSet<String> = devices[0].streams_playing().await.into_iter().collect();
        assert_eq!(listed, winners, "{context}");

        for (&i, lease) in &race.admitted {
            devices[i]
                .client
                .stop_stream(&lease.stream_id)
                .await
                .expect("stopped");
        }
        assert!(devices[0].streams_playing().await.is_empty(), "{context}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_stop_racing_with_starts_frees_exactly_one_slot() {
    let app = TestApp::spawn().await;
    let devices = racing_devices(&app).await;
    let seed = seed();
    let mut rng = StdRng::seed_from_u64(seed);
    // Who plays what, as the answers the server gave say.
    let mut playing: BTreeMap<usize, String> = BTreeMap::new();
    let (mut started, mut stopped) = (0usize, 0usize);

    for round in 0..ROUNDS {
        let context = format!("seed {seed}, round {round}");
        for (i, device) in devices.iter().enumerate() {
            if playing.len() == LIMIT {
                break;
            }
            if let Entry::Vacant(idle) = playing.entry(i) {
                idle.insert(device.play("Filler").await.stream_id);
                started += 1;
            }
        }
        let before: BTreeSet<String> = playing.values().cloned().collect();
        let victim = *playing
            .keys()
            .nth(rng.gen_range(0..LIMIT))
            .expect("a playing device");
        let victim_stream = playing[&victim].clone();
        let idle: Vec<usize> = (0..DEVICES).filter(|i| !playing.contains_key(i)).collect();

        let mut tasks = JoinSet::new();
        spawn_starts(&mut tasks, &devices, &idle, &mut rng);
        // Any device may stop it: the one playing it, or another remotely.
        let stopper = devices[rng.gen_range(0..DEVICES)].client.clone();
        let turns = rng.gen_range(0..=MAX_DAWDLE);
        tasks.spawn(async move {
            dawdle(turns).await;
            stopper.stop_stream(&victim_stream).await.expect("stopped");
            None
        });
        // Someone looking at the stream list mid-race never sees too many.
        let watcher = devices[rng.gen_range(0..DEVICES)].clone();
        let turns: Vec<usize> = (0..4).map(|_| rng.gen_range(0..=MAX_DAWDLE)).collect();
        let watch_context = context.clone();
        tasks.spawn(async move {
            for t in turns {
                dawdle(t).await;
                let seen = watcher.streams_playing().await;
                assert!(seen.len() <= LIMIT, "{watch_context}: {seen:?}");
            }
            None
        });
        let race = finish(tasks, &context).await;

        // The one freed slot went to at most one racer.
        assert!(race.admitted.len() <= 1, "{context}: {race:?}");
        let winners = race.admitted_ids();
        for active in &race.refusals {
            assert_eq!(active.len(), LIMIT, "{context}: {race:?}");
            assert!(
                active.is_subset(&before.union(&winners).cloned().collect()),
                "{context}: {race:?}"
            );
        }
        playing.remove(&victim);
        stopped += 1;
        for (i, lease) in race.admitted {
            playing.insert(i, lease.stream_id);
            started += 1;
        }
        assert!(started - stopped <= LIMIT, "{context}");
        let expected: BTreeSet<String> = playing.values().cloned().collect();
        let listed: BTreeSet<String> = devices[0].streams_playing().await.into_iter().collect();
        assert_eq!(listed.len(), started - stopped, "{context}");
        assert_eq!(listed, expected, "{context}");
    }
}
