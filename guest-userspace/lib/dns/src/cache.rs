//! A small cache of lookups, shared by every program: positive answers for
//! the smallest TTL of the answer (at most [`MAX_TTL_S`]), negative ones
//! (NXDOMAIN, no address) for what RFC 2308 allows (the SOA's minimum, at
//! most [`MAX_NEGATIVE_TTL_S`]); failures and timeouts are not kept. At
//! most `capacity` names, each with at most `wire::MAX_ADDRS` addresses
//! and a name of at most 255 bytes: bounded memory. When full, an expired
//! entry goes first, else the least recently used.
use crate::lookup::Outcome;
use crate::name::Name;
use crate::ResolveError;
use alloc::vec::Vec;
use core::net::Ipv4Addr;

pub const MAX_TTL_S: u32 = 3600;
pub const MAX_NEGATIVE_TTL_S: u32 = 300;
pub const DEFAULT_CAPACITY: usize = 64;
const NS: u64 = 1_000_000_000;

#[derive(Debug)]
struct Entry {
    name: Name,
    result: Result<Vec<Ipv4Addr>, ResolveError>,
    expires_ns: u64,
    used: u64,
}

#[derive(Debug)]
pub struct Cache {
    entries: Vec<Entry>,
    capacity: usize,
    /// Bumped on every hit and insertion: the LRU order.
    clock: u64,
    hits: u64,
}

impl Cache {
    pub const fn new(capacity: usize) -> Cache {
        Cache { entries: Vec::new(), capacity, clock: 0, hits: 0 }
    }

    /// What is known of `name` at `now_ns`, if still fresh.
    pub fn get(&mut self, name: &Name, now_ns: u64) -> Option<Result<Vec<Ipv4Addr>, ResolveError>> {
        self.clock += 1;
        let clock = self.clock;
        let e = self.entries.iter_mut().find(|e| e.name == *name && e.expires_ns > now_ns)?;
        e.used = clock;
        self.hits += 1;
        Some(e.result.clone())
    }

    /// Keeps `outcome` of a lookup of `name` that ended at `now_ns`, if it
    /// may be kept.
    pub fn insert(&mut self, name: &Name, outcome: &Outcome, now_ns: u64) {
        let cap = match outcome.result {
            Ok(_) => MAX_TTL_S,
            Err(ResolveError::NotFound | ResolveError::NoAddress) => MAX_NEGATIVE_TTL_S,
            Err(_) => return,
        };
        let ttl = match outcome.ttl {
            Some(t) if t > 0 && self.capacity > 0 => t.min(cap),
            _ => return,
        };
        self.clock += 1;
        let entry = Entry {
            name: name.clone(),
            result: outcome.result.clone(),
            expires_ns: now_ns.saturating_add(u64::from(ttl) * NS),
            used: self.clock,
        };
        if let Some(e) = self.entries.iter_mut().find(|e| e.name == *name) {
            *e = entry;
            return;
        }
        if self.entries.len() < self.capacity {
            self.entries.push(entry);
            return;
        }
        let victim = self
            .entries
            .iter()
            .position(|e| e.expires_ns <= now_ns)
            .or_else(|| self.entries.iter().enumerate().min_by_key(|(_, e)| e.used).map(|(i, _)| i));
        if let Some(i) = victim {
            self.entries[i] = entry;
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Answers served from the cache so far.
    pub fn hits(&self) -> u64 {
        self.hits
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::name::parse_name;
    use alloc::format;
    use alloc::vec;

    fn n(t: &str) -> Name {
        parse_name(t).expect("name")
    }
    fn ok(a: u8, ttl: u32) -> Outcome {
        Outcome { result: Ok(vec![Ipv4Addr::new(10, 0, 0, a)]), ttl: Some(ttl) }
    }

    #[test]
    fn ttls_are_honoured_and_capped() {
        let mut c = Cache::new(4);
        c.insert(&n("a.test"), &ok(1, 10), 0);
        assert_eq!(c.get(&n("A.test"), 9 * NS), Some(Ok(vec![Ipv4Addr::new(10, 0, 0, 1)])));
        assert_eq!(c.get(&n("a.test"), 10 * NS), None, "expired");
        c.insert(&n("b.test"), &ok(2, 1 << 30), 0);
        assert!(c.get(&n("b.test"), 3599 * NS).is_some());
        assert_eq!(c.get(&n("b.test"), 3600 * NS), None, "capped at an hour");
        c.insert(&n("zero.test"), &ok(3, 0), 0);
        assert_eq!(c.get(&n("zero.test"), 0), None, "TTL 0: not kept");
        assert_eq!(c.hits(), 2);
    }

    #[test]
    fn negative_answers_and_failures() {
        let mut c = Cache::new(4);
        let nx = Outcome { result: Err(ResolveError::NotFound), ttl: Some(86400) };
        c.insert(&n("nx.test"), &nx, 0);
        assert_eq!(c.get(&n("nx.test"), 299 * NS), Some(Err(ResolveError::NotFound)));
        assert_eq!(c.get(&n("nx.test"), 300 * NS), None, "capped at 5 minutes");
        let no_soa = Outcome { result: Err(ResolveError::NotFound), ttl: None };
        c.insert(&n("nosoa.test"), &no_soa, 0);
        assert_eq!(c.get(&n("nosoa.test"), 0), None);
        for e in [ResolveError::TimedOut, ResolveError::ServerFailure, ResolveError::NoServers] {
            c.insert(&n("fail.test"), &Outcome { result: Err(e), ttl: Some(60) }, 0);
            assert_eq!(c.get(&n("fail.test"), 0), None);
        }
    }

    #[test]
    fn bounded_with_lru_eviction() {
        let mut c = Cache::new(DEFAULT_CAPACITY);
        for i in 0..1000u32 {
            c.insert(&n(&format!("h{i}.test")), &ok(i as u8, 100), 0);
            // Keep h0 in use: it must survive.
            assert!(c.get(&n("h0.test"), 1).is_some(), "h0 evicted at {i}");
            assert!(c.len() <= DEFAULT_CAPACITY);
        }
        assert!(c.get(&n("h999.test"), 1).is_some());
        assert!(c.get(&n("h500.test"), 1).is_none());
        // Expired entries go before live ones.
        let mut c = Cache::new(2);
        c.insert(&n("short.test"), &ok(1, 1), 0);
        c.insert(&n("long.test"), &ok(2, 100), 0);
        let _ = c.get(&n("short.test"), 0);
        c.insert(&n("new.test"), &ok(3, 100), 5 * NS);
        assert!(c.get(&n("long.test"), 5 * NS).is_some());
        assert!(c.get(&n("new.test"), 5 * NS).is_some());
        // Replacing an entry does not grow the cache.
        c.insert(&n("new.test"), &ok(4, 100), 6 * NS);
        assert_eq!(c.len(), 2);
        assert_eq!(c.get(&n("new.test"), 6 * NS), Some(Ok(vec![Ipv4Addr::new(10, 0, 0, 4)])));
    }
}
