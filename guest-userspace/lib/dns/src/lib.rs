//! A DNS stub resolver for the I/O server (issue 12; docs/network.md, "Name
//! resolution"), without any I/O of its own: the caller moves the bytes.
//!
//! - [`name`]: what a program may ask for. `localhost` and dotted quads
//!   never reach the network; other names are checked (labels of 1 to 63
//!   bytes, 253 in all) and kept in lowercase wire form.
//! - [`wire`]: the query (type A, class IN, recursion desired, EDNS0
//!   optional) and the parser of replies. Every byte of a reply is untrusted:
//!   the parser checks the id and the question, follows compression pointers
//!   only backwards and a bounded number of times, follows CNAME chains a
//!   bounded number of hops, ignores records whose owner is not on the
//!   chain, and returns a [`wire::ParseError`] for anything else; it never
//!   panics (a deterministic fuzz test in `make test`).
//! - [`lookup`]: the resolver as a state machine: it says what to send (a
//!   UDP query to one of up to 3 servers, or the same query over TCP after a
//!   truncated answer) and takes replies and timeouts: a per-try timeout
//!   that doubles each round, 2 rounds over the servers, an overall
//!   deadline.
//! - [`cache`]: a bounded cache honouring TTLs (positive answers capped at
//!   1 h, negative ones at 5 min as RFC 2308 allows).
//!
//! Why not smoltcp's DNS socket: it has no TCP fallback, no cache and no
//! negative answers; and hickory/trust-dns want std.
#![cfg_attr(not(test), no_std)]

extern crate alloc;

pub mod cache;
#[doc(hidden)]
pub mod fuzz;
pub mod lookup;
pub mod name;
pub mod wire;

pub use cache::Cache;
pub use lookup::{Lookup, Outcome, Settings, Transmit};
pub use name::{parse_host, Host, Name, NameError};

use core::fmt;

/// Why a name has no address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResolveError {
    /// The name is not a valid host name (nothing was sent).
    InvalidName(NameError),
    /// The name does not exist (NXDOMAIN).
    NotFound,
    /// The name exists but has no IPv4 address (an empty answer).
    NoAddress,
    /// No server answered in time.
    TimedOut,
    /// Every server that answered failed (SERVFAIL, REFUSED, a malformed
    /// reply over TCP, ...).
    ServerFailure,
    /// There is no name server to ask (no `dns=`, no DHCP lease yet).
    NoServers,
    /// There is no network (no card, or no address).
    NoNetwork,
}

impl ResolveError {
    /// A short English description, for console lines.
    pub fn describe(&self) -> &'static str {
        match self {
            ResolveError::InvalidName(e) => e.describe(),
            ResolveError::NotFound => "no such name (NXDOMAIN)",
            ResolveError::NoAddress => "the name has no IPv4 address",
            ResolveError::TimedOut => "no name server answered in time",
            ResolveError::ServerFailure => "the name servers failed to answer",
            ResolveError::NoServers => "no name server is configured",
            ResolveError::NoNetwork => "no network",
        }
    }
}

impl fmt::Display for ResolveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

impl From<NameError> for ResolveError {
    fn from(e: NameError) -> Self {
        ResolveError::InvalidName(e)
    }
}
