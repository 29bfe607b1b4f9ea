//! The network options, as init passes them to the server (the words
//! starting `ip=`, `dns=` or `net.` that the kernel command line has right
//! after `--`, before the program: init forwards them, docs/network.md):
//!
//! - `ip=dhcp` (the default), `ip=off`, or `ip=ADDR/PREFIX[,GATEWAY]`;
//! - `dns=ADDR[:PORT][,ADDR[:PORT]...]` (up to [`MAX_DNS`]; with DHCP they
//!   replace the servers the lease names; a port other than 53 is for
//!   tests, which run their name server on the host);
//! - `net.probe`: once an address is set, ping the gateway and say whether
//!   it answered (the VM tests' proof that frames flow both ways); the
//!   server's shutdown waits for the probe to finish;
//! - `net.lease=SECONDS`: cap DHCP leases (tests of renewal); with
//!   `net.probe` the gateway is pinged again after two and a half leases;
//! - `net.resolve=NAME` (repeatable): once addressed, resolve NAME and
//!   print the answer (the resolver's test before `std::net`).
//!
//! A malformed option is reported and ignored, never fatal.
use alloc::string::String;
use alloc::vec::Vec;
use core::net::{Ipv4Addr, SocketAddrV4};
use smoltcp::wire::Ipv4Cidr;

pub const MAX_DNS: usize = 3;
/// The longest `net.lease=` (keeps the times derived from it in range).
const MAX_LEASE_S: u64 = 1 << 32;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Addressing {
    Dhcp,
    Static { cidr: Ipv4Cidr, gateway: Option<Ipv4Addr> },
    Off,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    pub addressing: Addressing,
    /// The `dns=` addresses (the interface's configuration shows them).
    pub dns: Vec<Ipv4Addr>,
    /// The same with their ports, for the resolver.
    pub dns_servers: Vec<SocketAddrV4>,
    pub probe: bool,
    /// `net.resolve=` names, in order.
    pub resolve: Vec<String>,
    pub max_lease_s: Option<u64>,
}

/// The options among `words`, and a message for each one that was ignored.
pub fn parse<'a>(words: impl Iterator<Item = &'a str>) -> (Options, Vec<String>) {
    let mut o = Options {
        addressing: Addressing::Dhcp,
        dns: Vec::new(),
        dns_servers: Vec::new(),
        probe: false,
        resolve: Vec::new(),
        max_lease_s: None,
    };
    let mut bad = Vec::new();
    for w in words {
        let r = if let Some(v) = w.strip_prefix("ip=") {
            parse_ip(v).map(|a| o.addressing = a)
        } else if let Some(v) = w.strip_prefix("dns=") {
            parse_dns(v).map(|d| {
                o.dns = d.iter().map(|s| *s.ip()).collect();
                o.dns_servers = d;
            })
        } else if w == "net.probe" {
            o.probe = true;
            Ok(())
        } else if let Some(v) = w.strip_prefix("net.lease=") {
            match v.parse::<u64>() {
                Ok(s) if (1..=MAX_LEASE_S).contains(&s) => {
                    o.max_lease_s = Some(s);
                    Ok(())
                }
                _ => Err("not a number of seconds from 1 to 2^32"),
            }
        } else if let Some(v) = w.strip_prefix("net.resolve=") {
            o.resolve.push(v.into());
            Ok(())
        } else if w.starts_with("net.") {
            Err("no such option")
        } else {
            continue;
        };
        if let Err(why) = r {
            bad.push(alloc::format!("ignoring {w:?}: {why}"));
        }
    }
    (o, bad)
}

fn unicast(a: Ipv4Addr) -> bool {
    !(a.is_unspecified() || a.is_broadcast() || a.is_multicast())
}

fn parse_ip(v: &str) -> Result<Addressing, &'static str> {
    match v {
        "dhcp" => return Ok(Addressing::Dhcp),
        "off" => return Ok(Addressing::Off),
        _ => {}
    }
    let (cidr, gateway) = match v.split_once(',') {
        Some((c, g)) => (c, Some(g.parse::<Ipv4Addr>().map_err(|_| "the gateway is not an IPv4 address")?)),
        None => (v, None),
    };
    let (addr, prefix) = cidr.split_once('/').ok_or("expected ADDR/PREFIX[,GATEWAY], dhcp or off")?;
    let addr = addr.parse::<Ipv4Addr>().map_err(|_| "not an IPv4 address")?;
    let prefix = prefix.parse::<u8>().ok().filter(|p| (1..=32).contains(p)).ok_or("the prefix is not 1-32")?;
    if !unicast(addr) || gateway.is_some_and(|g| !unicast(g)) {
        return Err("an address that is not unicast");
    }
    let cidr = Ipv4Cidr::new(addr, prefix);
    if gateway.is_some_and(|g| !cidr.contains_addr(&g) || g == addr) {
        return Err("the gateway is not another address of the same network");
    }
    Ok(Addressing::Static { cidr, gateway })
}

fn parse_dns(v: &str) -> Result<Vec<SocketAddrV4>, &'static str> {
    let mut out = Vec::new();
    for s in v.split(',') {
        let a = match s.parse::<SocketAddrV4>() {
            Ok(sa) if sa.port() != 0 => sa,
            Ok(_) => return Err("port 0"),
            Err(_) => SocketAddrV4::new(s.parse::<Ipv4Addr>().map_err(|_| "not an IPv4 address[:port]")?, 53),
        };
        if !unicast(*a.ip()) {
            return Err("an address that is not unicast");
        }
        if out.len() == MAX_DNS {
            return Err("more than 3 servers");
        }
        out.push(a);
    }
    Ok(out)
}
