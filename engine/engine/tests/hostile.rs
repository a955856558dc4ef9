//! A hostile client: malformed, truncated and forged messages sent over real libfabric to a
//! real engine. Each bad-input class gets its exact DER code, and the engine keeps serving.

use daos_client::Client;
use daos_fabric::{block_on, rpc, Fabric, NetContext};
use daos_proto::header::{begin_request, decode_reply, seal};
use daos_proto::msg::*;
use daos_proto::{Opcode, RequestHeader};
use daos_testkit::{Options, TestSystem};
use daos_types::codec::{Encoder, Wire};
use daos_types::{Der, ObjectClass, ObjectId, ObjectType, Uuid};
use std::sync::Arc;
use std::time::Duration;

struct Peer {
    net: Arc<NetContext>,
    target: daos_fabric::FiAddr,
    service: daos_fabric::FiAddr,
}

fn peer(system: &TestSystem) -> Peer {
    let client = Client::connect_with_agent(Some(system.agent_socket())).unwrap();
    let rank = client.attach().ranks[0].clone();
    let fabric = Fabric::open("ofi+tcp", Some("127.0.0.1")).unwrap();
    let net = NetContext::open(&fabric, Some("127.0.0.1"), None).unwrap();
    let target = net.resolve(&rank.targets[0]).unwrap();
    let service = net.resolve(&rank.service).unwrap();
    Peer {
        net,
        target,
        service,
    }
}

fn header(net: &NetContext, opcode: Opcode, rpc_id: u64) -> RequestHeader {
    RequestHeader {
        opcode,
        rpc_id,
        reply_capacity: 4096,
        map_version: 0,
        hlc: 1,
        sender: net.name().to_vec(),
    }
}

/// Sends raw bytes and returns the reply status, or None when no reply comes.
fn send_raw(peer: &Peer, dest: daos_fabric::FiAddr, rpc_id: u64, bytes: Vec<u8>) -> Option<i32> {
    let reply = block_on(
        &peer.net,
        rpc::call(
            &peer.net,
            dest,
            rpc_id,
            bytes,
            8192,
            Duration::from_millis(1500),
        ),
    );
    match reply {
        Ok(reply) => Some(
            decode_reply(&reply)
                .expect("engine replies are well formed")
                .0
                .status,
        ),
        Err(err) if err.der() == Der::Timedout => None,
        Err(err) => panic!("transport failure: {err}"),
    }
}

fn request(peer: &Peer, opcode: Opcode, body: &impl Wire) -> (u64, Vec<u8>) {
    let rpc_id = peer.net.next_rpc_id();
    (
        rpc_id,
        daos_proto::encode_request(&header(&peer.net, opcode, rpc_id), body),
    )
}

fn fetch_body(handle: Uuid) -> ObjFetchReq {
    ObjFetchReq {
        target: ObjTarget {
            pool: Uuid::new_v4(),
            cont: Uuid::new_v4(),
            handle,
            oid: ObjectId::new(1, 0).encode(ObjectType::MultiHashed, ObjectClass::S1),
            shard: 0,
        },
        epoch: 0,
        flags: 0,
        dkey: Key(b"d".to_vec()),
        iods: vec![IodDesc {
            akey: Key(b"a".to_vec()),
            kind: IOD_SINGLE,
            size: 0,
            flags: 0,
            recxs: vec![],
        }],
        capacities: vec![16],
        csum_chunk: 0,
        sink: Payload::Inline(Vec::new()),
    }
}

fn ping_ok(peer: &Peer) {
    let (id, msg) = request(peer, Opcode::MgmtPing, &Empty);
    assert_eq!(
        send_raw(peer, peer.service, id, msg),
        Some(0),
        "service answers"
    );
    let (id, msg) = request(peer, Opcode::MgmtPing, &Empty);
    assert_eq!(
        send_raw(peer, peer.target, id, msg),
        Some(0),
        "target answers"
    );
}

#[test]
fn each_bad_input_class_gets_its_code() {
    let system = TestSystem::start(Options::default());
    let uuid = system.create_pool("tank", "1G");
    let peer = peer(&system);
    ping_ok(&peer);

    // Truncated message: DER_PROTO (the routing fields survive, so a reply comes).
    let (id, msg) = request(&peer, Opcode::ObjFetch, &fetch_body(Uuid::new_v4()));
    assert_eq!(
        send_raw(&peer, peer.target, id, msg[..msg.len() - 7].to_vec()),
        Some(Der::Proto.rc())
    );

    // Another protocol version: DER_PROTO.
    let (id, mut msg) = request(&peer, Opcode::ObjFetch, &fetch_body(Uuid::new_v4()));
    msg[4] = 99;
    assert_eq!(send_raw(&peer, peer.target, id, msg), Some(Der::Proto.rc()));

    // Unknown opcode: DER_NOSYS.
    let id = peer.net.next_rpc_id();
    let mut e = begin_request(&header(&peer.net, Opcode::ObjFetch, id));
    e.as_mut_slice()[6..8].copy_from_slice(&777u16.to_le_bytes());
    assert_eq!(
        send_raw(&peer, peer.target, id, seal(e)),
        Some(Der::Nosys.rc())
    );

    // Unknown pool on this target: DER_NONEXIST; unknown handle of a real pool: DER_NO_HDL.
    let (id, msg) = request(&peer, Opcode::ObjFetch, &fetch_body(Uuid::new_v4()));
    assert_eq!(
        send_raw(&peer, peer.target, id, msg),
        Some(Der::Nonexist.rc())
    );
    let mut body = fetch_body(Uuid::new_v4());
    body.target.pool = uuid.parse().unwrap();
    let (id, msg) = request(&peer, Opcode::ObjFetch, &body);
    assert_eq!(send_raw(&peer, peer.target, id, msg), Some(Der::NoHdl.rc()));

    // Oversize key, forged past the client's own check: DER_KEY2BIG.
    let id = peer.net.next_rpc_id();
    let mut e = begin_request(&header(&peer.net, Opcode::ObjFetch, id));
    // Re-encode with a 5000-byte dkey by hand: target, epoch, flags, then the key.
    let mut forged = Encoder::new();
    body.target.encode(&mut forged);
    forged.u64(0).u64(0).bytes(&[b'k'; 5000]);
    forged.put(&vec![IodDesc {
        akey: Key(b"a".to_vec()),
        kind: IOD_SINGLE,
        size: 0,
        flags: 0,
        recxs: vec![],
    }]);
    forged
        .put(&vec![16u64])
        .u64(0)
        .put(&Payload::Inline(Vec::new()));
    e.raw(forged.as_slice());
    assert_eq!(
        send_raw(&peer, peer.target, id, seal(e)),
        Some(Der::Key2big.rc())
    );

    // Pool connect by an unknown UUID at the service: DER_NONEXIST.
    let connect = PoolConnectReq {
        pool: Uuid::new_v4(),
        handle: Uuid::new_v4(),
        flags: 2,
        cred: Credential {
            uid: 0,
            gid: 0,
            user: "u".into(),
            group: "g".into(),
        },
    };
    let (id, msg) = request(&peer, Opcode::PoolConnect, &connect);
    assert_eq!(
        send_raw(&peer, peer.service, id, msg),
        Some(Der::Nonexist.rc())
    );

    // A request larger than the engine's buffers: DER_OVERFLOW, not a hang.
    let mut big = fetch_body(Uuid::new_v4());
    big.sink = Payload::Inline(vec![0u8; 80 * 1024]);
    let (id, msg) = request(&peer, Opcode::ObjFetch, &big);
    assert_eq!(
        send_raw(&peer, peer.target, id, msg),
        Some(Der::Overflow.rc())
    );

    // Transaction calls naming an unknown pool: DER_NONEXIST. An unknown transaction cannot
    // be committed (DER_NONEXIST); a check from an engine without the target's pool map is
    // refused (DER_STALE); an abort fences it, and then it cannot be committed
    // (DER_TX_RESTART).
    let mut dtx = DtxReq {
        pool: Uuid::new_v4(),
        cont: Uuid::new_v4(),
        oid: ObjectId::new(1, 0),
        shard: 0,
        id: Uuid::new_v4(),
        info: None,
    };
    for opcode in [Opcode::DtxCommit, Opcode::DtxAbort, Opcode::DtxCheck] {
        let (id, msg) = request(&peer, opcode, &dtx);
        assert_eq!(
            send_raw(&peer, peer.target, id, msg),
            Some(Der::Nonexist.rc()),
            "{opcode:?}"
        );
    }
    dtx.pool = uuid.parse().unwrap();
    let (id, msg) = request(&peer, Opcode::DtxCommit, &dtx);
    assert_eq!(
        send_raw(&peer, peer.target, id, msg),
        Some(Der::Nonexist.rc())
    );
    let (id, msg) = request(&peer, Opcode::DtxCheck, &dtx);
    assert_eq!(send_raw(&peer, peer.target, id, msg), Some(Der::Stale.rc()));
    let (id, msg) = request(&peer, Opcode::DtxAbort, &dtx);
    assert_eq!(send_raw(&peer, peer.target, id, msg), Some(0));
    let (id, msg) = request(&peer, Opcode::DtxCommit, &dtx);
    assert_eq!(
        send_raw(&peer, peer.target, id, msg),
        Some(Der::TxRestart.rc())
    );
    // A client's abort names the participants, which the leader tells: participants of
    // another transaction, or a list without this target, are refused (DER_INVAL).
    let me = daos_types::dtx::DtxPeer {
        rank: 0,
        target: 0,
        shard: 0,
    };
    let other = daos_types::dtx::DtxPeer {
        rank: 7,
        target: 3,
        shard: 1,
    };
    // (the transaction the participants name, the participants)
    let forged = |named: Option<Uuid>, peers: Vec<daos_types::dtx::DtxPeer>| {
        let id = Uuid::new_v4();
        DtxReq {
            id,
            info: Some(daos_types::dtx::DtxInfo {
                id: named.unwrap_or(id),
                map_version: 0,
                leader: me,
                peers,
            }),
            ..dtx.clone()
        }
    };
    for abort in [
        forged(Some(Uuid::new_v4()), vec![me, other]),
        forged(None, vec![other]),
    ] {
        let (id, msg) = request(&peer, Opcode::DtxAbort, &abort);
        assert_eq!(send_raw(&peer, peer.target, id, msg), Some(Der::Inval.rc()));
    }

    // The newest epochs over an erasure-coded stripe: an unknown pool is DER_NONEXIST, an
    // unknown handle of a real pool DER_NO_HDL, a truncated request DER_PROTO.
    let mut newest = EcNewestReq {
        target: fetch_body(Uuid::new_v4()).target,
        dkey: Key(b"d".to_vec()),
        iods: vec![IodDesc {
            akey: Key(b"a".to_vec()),
            kind: IOD_ARRAY,
            size: 1,
            flags: 0,
            recxs: vec![Recx { idx: 0, nr: 4096 }],
        }],
    };
    let (id, msg) = request(&peer, Opcode::EcNewest, &newest);
    assert_eq!(
        send_raw(&peer, peer.target, id, msg),
        Some(Der::Nonexist.rc())
    );
    newest.target.pool = uuid.parse().unwrap();
    let (id, msg) = request(&peer, Opcode::EcNewest, &newest);
    assert_eq!(send_raw(&peer, peer.target, id, msg), Some(Der::NoHdl.rc()));
    let (id, msg) = request(&peer, Opcode::EcNewest, &newest);
    assert_eq!(
        send_raw(&peer, peer.target, id, msg[..msg.len() - 5].to_vec()),
        Some(Der::Proto.rc())
    );

    // Starting a service replica of a pool this engine does not hold: DER_NONEXIST; a
    // truncated request: DER_PROTO.
    let start = SvcStartReq {
        pool: Uuid::new_v4(),
    };
    let (id, msg) = request(&peer, Opcode::SvcStart, &start);
    assert_eq!(
        send_raw(&peer, peer.service, id, msg),
        Some(Der::Nonexist.rc())
    );
    let (id, msg) = request(&peer, Opcode::SvcStart, &start);
    assert_eq!(
        send_raw(&peer, peer.service, id, msg[..msg.len() - 3].to_vec()),
        Some(Der::Proto.rc())
    );

    // Raft messages for the pool service: an unknown pool has no replica here
    // (DER_NOTREPLICA); garbage for a real replica, or an unknown kind, is DER_PROTO; a sync
    // for an unknown pool is DER_NONEXIST.
    let mut raft = SvcRaftReq {
        pool: Uuid::new_v4(),
        kind: SVC_RAFT_APPEND,
        payload: Blob(vec![0xFF; 64]),
    };
    let (id, msg) = request(&peer, Opcode::SvcRaft, &raft);
    assert_eq!(
        send_raw(&peer, peer.service, id, msg),
        Some(Der::Notreplica.rc())
    );
    raft.pool = uuid.parse().unwrap();
    for kind in [SVC_RAFT_VOTE, SVC_RAFT_APPEND, SVC_RAFT_SNAPSHOT, 99] {
        raft.kind = kind;
        let (id, msg) = request(&peer, Opcode::SvcRaft, &raft);
        assert_eq!(
            send_raw(&peer, peer.service, id, msg),
            Some(Der::Proto.rc()),
            "kind {kind}"
        );
    }
    let sync = SvcSyncReq {
        pool: Uuid::new_v4(),
        index: 1,
    };
    let (id, msg) = request(&peer, Opcode::SvcSync, &sync);
    assert_eq!(
        send_raw(&peer, peer.service, id, msg),
        Some(Der::Nonexist.rc())
    );

    // Keyed service requests: a garbage inner body is DER_PROTO, as is a keyed request
    // whose outer body is cut short, or one wrapping what is not a pool service request.
    let keyed = SvcKeyedReq {
        key: Uuid::new_v4(),
        opcode: Opcode::ContCreate as u32,
        body: Blob(vec![0xFF; 8]),
    };
    let (id, msg) = request(&peer, Opcode::SvcKeyed, &keyed);
    assert_eq!(
        send_raw(&peer, peer.service, id, msg),
        Some(Der::Proto.rc())
    );
    let id = peer.net.next_rpc_id();
    let mut e = begin_request(&header(&peer.net, Opcode::SvcKeyed, id));
    e.uuid(&keyed.key).u32(keyed.opcode);
    assert_eq!(
        send_raw(&peer, peer.service, id, seal(e)),
        Some(Der::Proto.rc())
    );
    for inner in [
        Opcode::SvcSync,
        Opcode::SvcForward,
        Opcode::MgmtPing,
        Opcode::ObjFetch,
    ] {
        let keyed = SvcKeyedReq::wrap(Uuid::new_v4(), inner, &sync);
        let (id, msg) = request(&peer, Opcode::SvcKeyed, &keyed);
        assert_eq!(
            send_raw(&peer, peer.service, id, msg),
            Some(Der::Proto.rc()),
            "{inner:?}"
        );
    }
    ping_ok(&peer);

    // Bad magic: nothing can be answered; the engine logs it and carries on.
    let (id, mut msg) = request(&peer, Opcode::ObjFetch, &fetch_body(Uuid::new_v4()));
    msg[0] ^= 0xFF;
    assert_eq!(send_raw(&peer, peer.target, id, msg), None);
    ping_ok(&peer);
}

#[test]
fn random_mutations_never_crash_the_engine() {
    let system = TestSystem::start(Options::default());
    let uuid: Uuid = system.create_pool("tank", "1G").parse().unwrap();
    let peer = peer(&system);
    let mut seed = 0x243F_6A88_85A3_08D3u64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut valid = fetch_body(Uuid::new_v4());
    valid.target.pool = uuid;
    for round in 0..300 {
        let (id, mut msg) = request(
            &peer,
            if round % 2 == 0 {
                Opcode::ObjFetch
            } else {
                Opcode::ObjUpdate
            },
            &valid,
        );
        // Corrupt body bytes, then re-seal so the damage reaches the decoders.
        let body_start = msg.len() - 4 - 60;
        for _ in 0..(1 + next() % 6) {
            let at = body_start + (next() as usize % 60);
            msg[at] = next() as u8;
        }
        let cut = msg.len() - 4;
        msg.truncate(cut);
        let crc = daos_types::csum::crc32c(&msg);
        msg.extend_from_slice(&crc.to_le_bytes());
        let status = send_raw(
            &peer,
            if round % 3 == 0 {
                peer.service
            } else {
                peer.target
            },
            id,
            msg,
        );
        if let Some(status) = status {
            assert!(status < 0, "a mutated request must fail, got {status}");
        }
    }
    ping_ok(&peer);
}
