use super::*;
use crate::name::parse_name;
use crate::wire::tests::{Msg, QPTR};
use crate::wire::TYPE_A;
use alloc::vec;

const S: u64 = 1_000_000_000;

fn server(i: u8) -> SocketAddrV4 {
    SocketAddrV4::new(Ipv4Addr::new(10, 0, 2, i), 53)
}

fn start(servers: &[SocketAddrV4]) -> Lookup {
    Lookup::new(parse_name("a.test").expect("name"), servers, 0x4242, Settings::default(), 0, 10 * S)
}

fn answer(addr: [u8; 4], ttl: u32) -> Vec<u8> {
    let mut m = Msg::new(0x4242, 0, 0, "a.test", 1, 0);
    m.rr(&QPTR, TYPE_A, ttl, &addr);
    m.b
}

#[test]
fn udp_answer() {
    let mut l = start(&[server(2), server(3)]);
    let t = l.poll_transmit().expect("a query");
    assert_eq!((t.server, t.tcp), (server(2), false));
    assert_eq!(t.data, wire::query(0x4242, l.name(), true));
    assert_eq!(l.poll_transmit(), None);
    assert_eq!(l.timer(), Some(S));
    // From a server not asked: ignored; a wrong id: ignored.
    l.handle_udp(1, server(3), &answer([1, 2, 3, 4], 60));
    let mut wrong = answer([6, 6, 6, 6], 60);
    wrong[1] ^= 1;
    l.handle_udp(1, server(2), &wrong);
    assert_eq!(l.outcome(), None);
    l.handle_udp(2, server(2), &answer([1, 2, 3, 4], 60));
    assert_eq!(l.outcome(), Some(&Outcome { result: Ok(vec![Ipv4Addr::new(1, 2, 3, 4)]), ttl: Some(60) }));
    assert_eq!(l.timer(), None);
}

#[test]
fn timeouts_move_across_servers_and_double() {
    let mut l = start(&[server(2), server(3)]);
    let mut sent = vec![];
    let mut now = 0;
    while l.outcome().is_none() {
        if let Some(t) = l.poll_transmit() {
            sent.push((now, t.server));
        }
        now = l.timer().expect("a timer while running");
        l.handle_timeout(now);
    }
    assert_eq!(sent, vec![(0, server(2)), (S, server(3)), (2 * S, server(2)), (4 * S, server(3))]);
    assert_eq!(now, 6 * S);
    assert_eq!(l.outcome().map(|o| &o.result), Some(&Err(ResolveError::TimedOut)));
}

#[test]
fn the_deadline_ends_everything() {
    let name = parse_name("a.test").expect("name");
    let mut l = Lookup::new(name, &[server(2)], 1, Settings::default(), 0, S / 2);
    assert_eq!(l.timer(), Some(S / 2));
    l.handle_timeout(S / 4);
    assert_eq!(l.outcome(), None, "too early");
    l.handle_timeout(S / 2);
    assert_eq!(l.outcome().map(|o| &o.result), Some(&Err(ResolveError::TimedOut)));
}

#[test]
fn a_late_answer_from_an_earlier_server_counts() {
    let mut l = start(&[server(2), server(3)]);
    l.handle_timeout(S);
    assert_eq!(l.poll_transmit().map(|t| t.server), Some(server(3)));
    l.handle_udp(S + 5, server(2), &answer([9, 9, 9, 9], 5));
    assert_eq!(l.outcome().map(|o| o.result.clone()), Some(Ok(vec![Ipv4Addr::new(9, 9, 9, 9)])));
}

#[test]
fn servfail_and_refused_try_the_next_server() {
    let mut l = start(&[server(2), server(3), server(4)]);
    let _ = l.poll_transmit();
    l.handle_udp(1, server(2), &Msg::new(0x4242, 0, 2, "a.test", 0, 0).b);
    assert_eq!(l.poll_transmit().map(|t| t.server), Some(server(3)), "at once, not after the timeout");
    l.handle_udp(2, server(3), &Msg::new(0x4242, 0, 5, "a.test", 0, 0).b);
    assert_eq!(l.poll_transmit().map(|t| t.server), Some(server(4)));
    l.handle_udp(3, server(4), &Msg::new(0x4242, 0, 4, "a.test", 0, 0).b);
    // Round two, then all failed: a server failure, not a timeout.
    for s in [2, 3, 4] {
        assert_eq!(l.poll_transmit().map(|t| t.server), Some(server(s)));
        l.handle_udp(4, server(s), &Msg::new(0x4242, 0, 2, "a.test", 0, 0).b);
    }
    assert_eq!(l.outcome().map(|o| &o.result), Some(&Err(ResolveError::ServerFailure)));
}

#[test]
fn nxdomain_and_nodata_are_final_and_cacheable() {
    let mut l = start(&[server(2), server(3)]);
    let mut m = Msg::new(0x4242, 0, 3, "a.test", 0, 1);
    m.soa("test", 600, 60);
    l.handle_udp(1, server(2), &m.b);
    assert_eq!(l.outcome(), Some(&Outcome { result: Err(ResolveError::NotFound), ttl: Some(60) }));
    let mut l = start(&[server(2)]);
    l.handle_udp(1, server(2), &Msg::new(0x4242, 0, 0, "a.test", 0, 0).b);
    assert_eq!(l.outcome(), Some(&Outcome { result: Err(ResolveError::NoAddress), ttl: None }));
}

#[test]
fn truncated_answers_go_over_tcp() {
    let mut l = start(&[server(2), server(3)]);
    let udp = l.poll_transmit().expect("query");
    l.handle_udp(S / 2, server(2), &Msg::new(0x4242, 0x0200, 0, "a.test", 0, 0).b);
    let t = l.poll_transmit().expect("the TCP query");
    assert_eq!((t.server, t.tcp), (server(2), true));
    assert_eq!(&t.data[..2], &(udp.data.len() as u16).to_be_bytes());
    assert_eq!(&t.data[2..], &udp.data[..]);
    assert!(l.wants_tcp());
    assert_eq!(l.timer(), Some(S / 2 + S), "a fresh try timeout for the connection");
    // The answer in pieces, the length split too; TC over TCP is ignored.
    let mut m = Msg::new(0x4242, 0x0200, 0, "a.test", 1, 0);
    m.rr(&QPTR, TYPE_A, 30, &[10, 9, 8, 7]);
    let mut framed = (m.b.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(&m.b);
    for piece in framed.chunks(5) {
        assert_eq!(l.outcome(), None);
        l.handle_tcp(S, piece);
    }
    assert_eq!(l.outcome().map(|o| o.result.clone()), Some(Ok(vec![Ipv4Addr::new(10, 9, 8, 7)])));
    assert!(!l.wants_tcp());
}

#[test]
fn a_tcp_failure_moves_on() {
    let mut l = start(&[server(2), server(3)]);
    let _ = l.poll_transmit();
    l.handle_udp(1, server(2), &Msg::new(0x4242, 0x0200, 0, "a.test", 0, 0).b);
    assert!(l.poll_transmit().is_some_and(|t| t.tcp));
    l.handle_tcp_closed(2);
    let t = l.poll_transmit().expect("next try");
    assert_eq!((t.server, t.tcp), (server(3), false));
    // Garbage over TCP: the same.
    l.handle_udp(3, server(3), &Msg::new(0x4242, 0x0200, 0, "a.test", 0, 0).b);
    assert!(l.poll_transmit().is_some_and(|t| t.tcp));
    l.handle_tcp(4, &[0, 3, 1, 2, 3]);
    assert_eq!(l.poll_transmit().map(|t| (t.server, t.tcp)), Some((server(2), false)));
    // And a TCP connection that says nothing: the try timeout.
    l.handle_udp(5, server(2), &Msg::new(0x4242, 0x0200, 0, "a.test", 0, 0).b);
    assert!(l.poll_transmit().is_some_and(|t| t.tcp));
    let at = l.timer().expect("timer");
    l.handle_timeout(at);
    assert_eq!(l.poll_transmit().map(|t| (t.server, t.tcp)), Some((server(3), false)));
}

#[test]
fn formerr_drops_edns_once() {
    let mut l = start(&[server(2), server(3)]);
    let first = l.poll_transmit().expect("query");
    l.handle_udp(1, server(2), &Msg::new(0x4242, 0, 1, "a.test", 0, 0).b);
    let again = l.poll_transmit().expect("again, without EDNS0");
    assert_eq!(again.server, server(2));
    assert_eq!(again.data.len(), first.data.len() - 11);
    l.handle_udp(2, server(2), &Msg::new(0x4242, 0, 1, "a.test", 0, 0).b);
    assert_eq!(l.poll_transmit().map(|t| t.server), Some(server(3)), "a second FORMERR is a failure");
}

#[test]
fn no_servers() {
    let l = start(&[]);
    assert_eq!(l.outcome().map(|o| &o.result), Some(&Err(ResolveError::NoServers)));
    // More than 3: the first 3.
    let mut l = start(&[server(2), server(3), server(4), server(5)]);
    let mut seen = vec![];
    while let Some(at) = l.timer() {
        seen.extend(l.poll_transmit().map(|t| t.server));
        l.handle_timeout(at);
    }
    assert!(!seen.contains(&server(5)));
    assert_eq!(seen.len(), 6);
}
