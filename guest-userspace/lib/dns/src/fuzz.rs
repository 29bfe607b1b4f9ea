//! Entry points for fuzzers (the deterministic fuzz test below, and any
//! coverage-guided harness): feed arbitrary bytes to the parser and the
//! resolver and check what must hold whatever the bytes.
use crate::lookup::{Lookup, Settings};
use crate::name::parse_name;
use crate::wire::{self, MAX_ADDRS};
use core::net::{Ipv4Addr, SocketAddrV4};

/// `data` as a reply to a query for `a.test` with id 0x1234 (bytes 0-1 of
/// `data` are replaced by that id half the time, so the parser gets past
/// the id check), through [`wire::parse_reply`] and a [`Lookup`] (over
/// UDP, then over TCP in 3 pieces); panics if an invariant breaks.
pub fn reply(data: &[u8]) {
    let Ok(name) = parse_name("a.test") else { return };
    let mut msg = alloc::vec::Vec::from(data);
    if msg.len() >= 2 && msg[0] & 1 == 1 {
        msg[..2].copy_from_slice(&0x1234u16.to_be_bytes());
    }
    if let Ok(r) = wire::parse_reply(&msg, 0x1234, &name) {
        assert!(r.addrs.len() <= MAX_ADDRS);
        assert!(r.truncated || r.addrs.is_empty() || r.ttl != u32::MAX);
    }
    let _ = wire::read_name(&msg, 0);
    let server = SocketAddrV4::new(Ipv4Addr::new(10, 0, 2, 2), 53);
    let mut l = Lookup::new(name, &[server], 0x1234, Settings::default(), 0, 10_000_000_000);
    let _ = l.poll_transmit();
    l.handle_udp(1, server, &msg);
    let _ = l.poll_transmit();
    let len = (msg.len() as u16).to_be_bytes();
    let third = msg.len() / 3;
    l.handle_tcp(2, &len);
    l.handle_tcp(2, &msg[..third]);
    l.handle_tcp(2, &msg[third..]);
    l.handle_tcp_closed(3);
    l.handle_timeout(20_000_000_000);
    assert!(l.outcome().is_some(), "a lookup past its deadline is over");
}

#[cfg(test)]
mod tests {
    use crate::wire::tests::{Msg, QPTR};
    use crate::wire::TYPE_A;
    use alloc::vec::Vec;

    /// xorshift64*: deterministic, so a failure is reproducible.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    fn seeds() -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let mut m = Msg::new(0x1234, 0, 0, "a.test", 3, 0);
        m.rr(&QPTR, TYPE_A, 60, &[1, 2, 3, 4]).cname("a.test", 5, "b.test").a("b.test", 9, [5, 6, 7, 8]);
        out.push(m.b);
        let mut m = Msg::new(0x1234, 0, 0, "a.test", 2, 0);
        m.cname("a.test", 5, "b.test").a("b.test", 9, [5, 6, 7, 8]);
        out.push(m.b);
        let mut m = Msg::new(0x1234, 0, 3, "a.test", 0, 1);
        m.soa("test", 60, 30);
        out.push(m.b);
        out.push(Msg::new(0x1234, 0x0200, 0, "a.test", 0, 0).b);
        out.push(Msg::new(0x1234, 0, 2, "a.test", 0, 0).b);
        out
    }

    /// Random bytes, and mutants of good replies (bit flips, bytes set to
    /// pointer-ish values, cuts, splices): 100,000 inputs.
    #[test]
    fn deterministic_fuzz() {
        let mut rng = Rng(0x5eed_d0d0_cafe_f00d);
        let seeds = seeds();
        for i in 0..100_000 {
            let mut m: Vec<u8> = if i % 8 == 0 {
                let n = rng.below(300);
                (0..n).map(|_| rng.next() as u8).collect()
            } else {
                seeds[rng.below(seeds.len())].clone()
            };
            for _ in 0..1 + rng.below(4) {
                if m.is_empty() {
                    break;
                }
                let at = rng.below(m.len());
                match rng.below(6) {
                    0 => m[at] ^= 1 << rng.below(8),
                    1 => m[at] = [0, 0xc0, 0x3f, 0x40, 0xff, 12][rng.below(6)],
                    2 => m.truncate(at),
                    3 => m.insert(at, rng.next() as u8),
                    4 => {
                        let b = m[rng.below(m.len())..].to_vec();
                        m.extend_from_slice(&b);
                    }
                    _ => m[at] = rng.next() as u8,
                }
            }
            if rng.below(2) == 0 && m.len() >= 2 {
                m[0] |= 1;
            }
            super::reply(&m);
        }
    }
}
