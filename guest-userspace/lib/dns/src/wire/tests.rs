//! Replies built byte by byte (an independent little encoder), read back.
use super::*;
use crate::name::parse_name;
use alloc::vec;

/// A reply under construction: header and question written by `new`.
pub(crate) struct Msg {
    pub b: Vec<u8>,
}

pub(crate) fn wire_name(text: &str) -> Vec<u8> {
    let mut w = Vec::new();
    for l in text.split('.').filter(|l| !l.is_empty()) {
        w.push(l.len() as u8);
        w.extend_from_slice(l.as_bytes());
    }
    w.push(0);
    w
}

impl Msg {
    /// A reply with `rcode` (and `extra` flags such as TC) to an A query
    /// for `qname`; counts of answer and authority records.
    pub fn new(id: u16, extra: u16, rcode: u8, qname: &str, an: u16, ns: u16) -> Msg {
        let mut b = Vec::new();
        b.extend_from_slice(&id.to_be_bytes());
        b.extend_from_slice(&(0x8180 | extra | u16::from(rcode)).to_be_bytes());
        for c in [1, an, ns, 0] {
            b.extend_from_slice(&c.to_be_bytes());
        }
        b.extend_from_slice(&wire_name(qname));
        b.extend_from_slice(&[0, 1, 0, 1]);
        Msg { b }
    }
    /// A record's owner, type, class IN, TTL, then `data`.
    pub fn rr(&mut self, owner: &[u8], rtype: u16, ttl: u32, data: &[u8]) -> &mut Self {
        self.b.extend_from_slice(owner);
        self.b.extend_from_slice(&rtype.to_be_bytes());
        self.b.extend_from_slice(&[0, 1]);
        self.b.extend_from_slice(&ttl.to_be_bytes());
        self.b.extend_from_slice(&(data.len() as u16).to_be_bytes());
        self.b.extend_from_slice(data);
        self
    }
    pub fn a(&mut self, owner: &str, ttl: u32, addr: [u8; 4]) -> &mut Self {
        self.rr(&wire_name(owner), TYPE_A, ttl, &addr)
    }
    pub fn cname(&mut self, owner: &str, ttl: u32, target: &str) -> &mut Self {
        self.rr(&wire_name(owner), TYPE_CNAME, ttl, &wire_name(target))
    }
    pub fn soa(&mut self, owner: &str, ttl: u32, minimum: u32) -> &mut Self {
        let mut d = wire_name("ns.test");
        d.extend_from_slice(&wire_name("admin.test"));
        for v in [1u32, 3600, 600, 86400, minimum] {
            d.extend_from_slice(&v.to_be_bytes());
        }
        self.rr(&wire_name(owner), TYPE_SOA, ttl, &d)
    }
}

/// The question's name as a compression pointer (it is at offset 12).
pub(crate) const QPTR: [u8; 2] = [0xc0, 12];

fn name(t: &str) -> Name {
    parse_name(t).expect("a valid name")
}

#[test]
fn query_layout() {
    let q = query(0xbeef, &name("a.test"), false);
    assert_eq!(q, b"\xbe\xef\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x01a\x04test\x00\x00\x01\x00\x01");
    let e = query(1, &name("a.test"), true);
    assert_eq!(&e[10..12], &[0, 1], "one additional record");
    assert_eq!(&e[e.len() - 11..], &[0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(message_id(&e), Some(1));
}

#[test]
fn a_records_with_the_smallest_ttl() {
    let mut m = Msg::new(7, 0, 0, "a.test", 3, 0);
    m.rr(&QPTR, TYPE_A, 300, &[10, 0, 0, 1]).a("a.test", 60, [10, 0, 0, 2]).a("A.TEST", 90, [10, 0, 0, 1]);
    let r = parse_reply(&m.b, 7, &name("a.test")).expect("parses");
    assert_eq!(r.rcode, Rcode::NoError);
    assert_eq!(r.addrs, vec![Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 2)]);
    assert_eq!(r.ttl, 60);
    assert!(!r.truncated);
    // The question's case does not matter either.
    let m = Msg::new(7, 0, 0, "A.Test", 0, 0);
    assert!(parse_reply(&m.b, 7, &name("a.test")).is_ok());
}

#[test]
fn cname_chains_are_followed_and_strangers_ignored() {
    let mut m = Msg::new(1, 0, 0, "www.test", 5, 0);
    m.a("evil.test", 10, [6, 6, 6, 6])
        .cname("www.test", 100, "web.test")
        .a("www.other", 10, [6, 6, 6, 7])
        .cname("web.test", 50, "host.test")
        .a("host.test", 200, [10, 1, 2, 3]);
    let r = parse_reply(&m.b, 1, &name("www.test")).expect("parses");
    assert_eq!(r.addrs, vec![Ipv4Addr::new(10, 1, 2, 3)]);
    assert_eq!(r.ttl, 50, "the smallest TTL along the chain");
    // A chain that ends without an address: no address, no error.
    let mut m = Msg::new(1, 0, 0, "www.test", 1, 0);
    m.cname("www.test", 100, "gone.test");
    let r = parse_reply(&m.b, 1, &name("www.test")).expect("parses");
    assert!(r.addrs.is_empty());
    // A loop, and a chain too long: errors, not hangs.
    let mut m = Msg::new(1, 0, 0, "x.test", 2, 0);
    m.cname("x.test", 1, "y.test").cname("y.test", 1, "x.test");
    assert_eq!(parse_reply(&m.b, 1, &name("x.test")), Err(ParseError::CnameChain));
    let mut m = Msg::new(1, 0, 0, "c0.test", 10, 0);
    for i in 0..10 {
        m.cname(&alloc::format!("c{i}.test"), 1, &alloc::format!("c{}.test", i + 1));
    }
    m.a("c10.test", 1, [1, 1, 1, 1]);
    assert_eq!(parse_reply(&m.b, 1, &name("c0.test")), Err(ParseError::CnameChain));
    let mut m = Msg::new(1, 0, 0, "c0.test", 9, 0);
    for i in 0..8 {
        m.cname(&alloc::format!("c{i}.test"), 1, &alloc::format!("c{}.test", i + 1));
    }
    m.a("c8.test", 1, [1, 1, 1, 1]);
    assert_eq!(parse_reply(&m.b, 1, &name("c0.test")).map(|r| r.addrs.len()), Ok(1), "8 hops are allowed");
}

#[test]
fn negative_answers_carry_the_soa_minimum() {
    let mut m = Msg::new(3, 0, 3, "nx.test", 0, 1);
    m.soa("test", 900, 120);
    let r = parse_reply(&m.b, 3, &name("nx.test")).expect("parses");
    assert_eq!((r.rcode, r.negative_ttl), (Rcode::NxDomain, Some(120)));
    let mut m = Msg::new(3, 0, 0, "nx.test", 0, 1);
    m.soa("test", 30, 120);
    let r = parse_reply(&m.b, 3, &name("nx.test")).expect("parses");
    assert_eq!((r.rcode, r.negative_ttl, r.addrs.len()), (Rcode::NoError, Some(30), 0));
    let m = Msg::new(3, 0, 3, "nx.test", 0, 0);
    assert_eq!(parse_reply(&m.b, 3, &name("nx.test")).map(|r| r.negative_ttl), Ok(None));
}

#[test]
fn header_checks() {
    let q = name("a.test");
    let m = Msg::new(5, 0, 0, "a.test", 0, 0);
    assert_eq!(parse_reply(&m.b, 6, &q), Err(ParseError::WrongId));
    assert_eq!(parse_reply(&m.b[..11], 5, &q), Err(ParseError::Short));
    assert_eq!(parse_reply(&m.b, 5, &name("b.test")), Err(ParseError::WrongQuestion));
    let mut not_reply = m.b.clone();
    not_reply[2] &= 0x7f;
    assert_eq!(parse_reply(&not_reply, 5, &q), Err(ParseError::NotAReply));
    let mut two = m.b.clone();
    two[5] = 2;
    assert_eq!(parse_reply(&two, 5, &q), Err(ParseError::WrongQuestion));
    let mut aaaa = m.b.clone();
    let n = aaaa.len();
    aaaa[n - 3] = 28;
    assert_eq!(parse_reply(&aaaa, 5, &q), Err(ParseError::WrongQuestion));
    // TC: detected; the rest is not read (it may be cut anywhere).
    let mut m = Msg::new(5, TC, 0, "a.test", 4, 0);
    m.b.extend_from_slice(&[0xc0, 12, 0]);
    assert_eq!(parse_reply(&m.b, 5, &q).map(|r| r.truncated), Ok(true));
    // SERVFAIL and REFUSED, with and without the question.
    for code in [2u8, 5] {
        let m = Msg::new(5, 0, code, "a.test", 0, 0);
        assert_eq!(parse_reply(&m.b, 5, &q).map(|r| r.rcode), Ok(Rcode::from_bits(code)));
        let mut bare = m.b[..12].to_vec();
        bare[5] = 0;
        assert_eq!(parse_reply(&bare, 5, &q).map(|r| r.rcode), Ok(Rcode::from_bits(code)));
    }
    // A NOERROR without the question is not an answer to ours.
    let mut bare = Msg::new(5, 0, 0, "a.test", 0, 0).b[..12].to_vec();
    bare[5] = 0;
    assert_eq!(parse_reply(&bare, 5, &q), Err(ParseError::WrongQuestion));
}

#[test]
fn compression_is_bounded() {
    // A pointer to itself, forward, and a two-pointer loop.
    for owner in [vec![0xc0, 24], vec![0xc0, 200], vec![0x01, b'x', 0xc0, 24]] {
        let mut m = Msg::new(1, 0, 0, "a.test", 1, 0);
        assert_eq!(m.b.len(), 24);
        m.rr(&owner, TYPE_A, 1, &[1, 2, 3, 4]);
        assert_eq!(parse_reply(&m.b, 1, &name("a.test")), Err(ParseError::BadName), "{owner:x?}");
    }
    // Reserved label types.
    let mut m = Msg::new(1, 0, 0, "a.test", 1, 0);
    m.rr(&[0x41, 0], TYPE_A, 1, &[1, 2, 3, 4]);
    assert_eq!(parse_reply(&m.b, 1, &name("a.test")), Err(ParseError::BadName));
    // A name that grows past 255 bytes through pointers: each label
    // points to the one before.
    let mut m = Msg::new(1, 0, 0, "a.test", 1, 0);
    let mut prev = 12u16;
    for _ in 0..40 {
        let at = m.b.len() as u16;
        m.b.extend_from_slice(&[8, b'a', b'a', b'a', b'a', b'a', b'a', b'a', b'a']);
        m.b.extend_from_slice(&(0xc000 | prev).to_be_bytes());
        prev = at;
    }
    let owner = (0xc000 | prev).to_be_bytes();
    m.rr(&owner, TYPE_A, 1, &[1, 2, 3, 4]);
    // The filler is not a record: the count says 1, so read from there.
    let r = read_name(&m.b, m.b.len() - 16);
    assert_eq!(r.map(|_| ()), Err(ParseError::BadName));
}

#[test]
fn bad_records() {
    let mut m = Msg::new(1, 0, 0, "a.test", 1, 0);
    m.rr(&QPTR, TYPE_A, 1, &[1, 2, 3]);
    assert_eq!(parse_reply(&m.b, 1, &name("a.test")), Err(ParseError::BadRecord));
    let mut m = Msg::new(1, 0, 0, "a.test", 1, 0);
    m.rr(&QPTR, TYPE_A, 1, &[1, 2, 3, 4]);
    m.b.truncate(m.b.len() - 1);
    assert_eq!(parse_reply(&m.b, 1, &name("a.test")), Err(ParseError::Short));
    // A CNAME whose target runs past its data.
    let mut m = Msg::new(1, 0, 0, "a.test", 2, 0);
    let mut t = wire_name("b.test");
    t.pop();
    m.rr(&QPTR, TYPE_CNAME, 1, &t).b.push(0);
    m.b[7] = 1;
    assert_eq!(parse_reply(&m.b, 1, &name("a.test")), Err(ParseError::BadRecord));
    // TTLs with the top bit set count as 0; other types are skipped.
    let mut m = Msg::new(1, 0, 0, "a.test", 2, 0);
    m.rr(&QPTR, 16, 5, b"\x03txt").rr(&QPTR, TYPE_A, 0x8000_0001, &[1, 2, 3, 4]);
    assert_eq!(parse_reply(&m.b, 1, &name("a.test")).map(|r| r.ttl), Ok(0));
}
