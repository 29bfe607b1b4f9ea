//! The socket and poll ops (protocol version 3): codes decode, fs and net
//! ops are told apart, the new statuses survive the wire, and a consumer
//! shared behind a lock can arm its sleep word and sleep outside it
//! without missing a completion (out-of-order replies, docs/network.md).

use std::sync::atomic::Ordering;
use vireo_io_channel::host::HeapRegion;
use vireo_io_channel::{Client, Msg, Op, Server, Status, Word, AWAKE, SLEEPING};

#[test]
fn every_op_decodes_and_only_socket_ops_are_net() {
    for op in Op::ALL {
        assert_eq!(Op::try_from(op as u16), Ok(op));
        let socket = (Op::NetBind as u16..=Op::PollClose as u16).contains(&(op as u16));
        assert_eq!(op.is_net(), socket, "{op:?}");
    }
    assert!(Op::try_from(Op::Resolve as u16 + 1).is_err());
    // Resolve blocks the connection's thread; it is not one of the net thread's ops.
    assert!(!Op::Info.is_net() && !Op::Resolve.is_net() && Op::NetBind.is_net() && Op::PollWait.is_net());
}

#[test]
fn socket_statuses_round_trip() {
    let all = [
        Status::WouldBlock,
        Status::TimedOut,
        Status::ConnectionRefused,
        Status::AddrInUse,
        Status::NotConnected,
        Status::ConnectionReset,
        Status::NetworkUnreachable,
        Status::AddrNotAvailable,
    ];
    for s in all {
        assert_eq!(Status::from_code(s as u16), s);
    }
    assert_eq!(Status::from_code(Status::AddrNotAvailable as u16 + 1), Status::Io);
}

#[test]
fn replies_may_come_back_out_of_order() {
    let mem = HeapRegion::new();
    let mut client = Client::create(mem.region());
    let mut server = Server::attach(mem.region()).unwrap();
    for id in 1..=3 {
        client.submit.push(&Msg::new(id, Op::NetRecv)).unwrap();
    }
    let reqs: Vec<Msg> = (0..3).map(|_| server.requests.pop().unwrap().unwrap()).collect();
    for r in reqs.iter().rev() {
        server.replies.push(r).unwrap();
    }
    let ids: Vec<u64> = (0..3).map(|_| client.complete.pop().unwrap().unwrap().id).collect();
    assert_eq!(ids, [3, 2, 1]);
}

#[test]
fn arming_sees_a_completion_that_raced_it() {
    let mem = HeapRegion::new();
    let client = Client::create(mem.region());
    let mut server = Server::attach(mem.region()).unwrap();
    let region = mem.region();
    let word = region.word(Word::CqSleep);
    // Empty: armed, the word says sleeping (a producer will wake us).
    assert!(client.complete.arm().unwrap());
    assert_eq!(word.load(Ordering::Relaxed), SLEEPING);
    client.complete.disarm();
    assert_eq!(word.load(Ordering::Relaxed), AWAKE);
    // A completion already queued: not armed, the word stays awake.
    server.replies.push(&Msg::new(9, Op::PollWait)).unwrap();
    assert!(!client.complete.arm().unwrap());
    assert_eq!(word.load(Ordering::Relaxed), AWAKE);
}
