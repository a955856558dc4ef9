//! A SWIM cluster over real UDP sockets on the loopback interface.

use daos_swim::{incarnation_now, MemberEvent, Swim, SwimId, CONTROL_RANK};
use std::net::SocketAddr;
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

fn any_port() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

fn member(rank: u32, addr: SocketAddr, seed: SocketAddr) -> Swim {
    let id = SwimId {
        rank,
        addr,
        incarnation: incarnation_now(),
    };
    Swim::start(id, Some(seed), 4, |_| {}).unwrap()
}

/// Waits for the first event `wanted` accepts; panics after `limit`.
fn await_event(
    events: &Receiver<MemberEvent>,
    limit: Duration,
    wanted: impl Fn(&MemberEvent) -> bool,
) -> (MemberEvent, Duration) {
    let start = Instant::now();
    loop {
        let left = limit.saturating_sub(start.elapsed());
        match events.recv_timeout(left) {
            Ok(event) if wanted(&event) => return (event, start.elapsed()),
            Ok(_) => {}
            Err(_) => panic!("no matching event within {limit:?}"),
        }
    }
}

#[test]
fn a_member_that_stops_answering_is_declared_down_within_seconds_and_can_rejoin() {
    let (tx, events) = channel();
    let control = Swim::start(
        SwimId {
            rank: CONTROL_RANK,
            addr: any_port(),
            incarnation: incarnation_now(),
        },
        None,
        4,
        move |event| {
            let _ = tx.send(event);
        },
    )
    .unwrap();
    let seed = control.id().addr;
    let mut engines: Vec<Swim> = (0..3).map(|rank| member(rank, any_port(), seed)).collect();

    // Every engine joins through the control member, and learns of the others by gossip.
    let mut up = std::collections::BTreeSet::new();
    while up.len() < 3 {
        let (event, _) = await_event(&events, Duration::from_secs(10), |e| {
            matches!(e, MemberEvent::Up(_))
        });
        if let MemberEvent::Up(id) = event {
            up.insert(id.rank);
        }
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while engines.iter().any(|e| e.members().len() < 3) {
        assert!(
            Instant::now() < deadline,
            "engines did not learn each other"
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    // Rank 1 stops answering (its socket closes with it).
    let gone = engines.remove(1);
    let gone_id = gone.id().clone();
    drop(gone);
    let (event, took) = await_event(
        &events,
        Duration::from_secs(15),
        |e| matches!(e, MemberEvent::Down(id) if id.rank == 1),
    );
    assert_eq!(event, MemberEvent::Down(gone_id.clone()));
    println!(
        "rank 1 declared down {:.2} s after it stopped",
        took.as_secs_f64()
    );
    assert!(took < Duration::from_secs(10), "took {took:?}");
    assert!(!control.members().contains(&gone_id));
    // The survivors are not suspected meanwhile.
    assert!(events
        .try_iter()
        .all(|e| !matches!(e, MemberEvent::Down(_))));

    // A restart at the same address joins under a newer incarnation.
    let back = member(1, gone_id.addr, seed);
    assert!(back.id().incarnation > gone_id.incarnation);
    let (event, _) = await_event(
        &events,
        Duration::from_secs(10),
        |e| matches!(e, MemberEvent::Up(id) if id.rank == 1),
    );
    assert_eq!(event, MemberEvent::Up(back.id().clone()));
}
