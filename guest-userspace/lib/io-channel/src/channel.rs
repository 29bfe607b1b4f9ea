//! The two sides of a channel: a client (submits, reaps completions) and
//! a server (takes submissions, completes them).

use crate::error::Error;
use crate::region::Region;
use crate::ring::{Consumer, Producer, CQ, SQ};
use crate::slot::SlotPool;

/// The program's side: produces requests, consumes completions.
#[derive(Debug)]
pub struct Client {
    pub region: Region,
    pub submit: Producer,
    pub complete: Consumer,
    pub slots: SlotPool,
}

impl Client {
    /// Initialises `region` (a fresh one, before the server sees it) and
    /// takes the client's side of it.
    pub fn create(region: Region) -> Self {
        region.init();
        Self { region, submit: Producer::new(region, SQ), complete: Consumer::new(region, CQ), slots: SlotPool::new() }
    }
}

/// The I/O server's side: consumes requests, produces completions.
#[derive(Debug)]
pub struct Server {
    pub region: Region,
    pub requests: Consumer,
    pub replies: Producer,
}

impl Server {
    /// Takes the server's side of a region the client initialised.
    pub fn attach(region: Region) -> Result<Self, Error> {
        region.check_header()?;
        Ok(Self { region, requests: Consumer::new(region, SQ), replies: Producer::new(region, CQ) })
    }
}
