//! The I/O channel: how programs talk to the user-space I/O server.
//!
//! One shared-memory region of [`REGION_SIZE`] bytes (see [`layout`]) holds a
//! submission queue (client to server), a completion queue (server to
//! client), both of fixed 64-byte [`Msg`]s, and a data area of page-sized
//! slots that messages name by index, so file data never goes through the
//! rings. Each queue has one producer and one consumer; the consumer sleeps on
//! a futex word with a "sleeping" flag, so a producer only makes a system call
//! (one per batch, [`Producer::notify`]) when the other side actually sleeps.
//!
//! Nothing in the region is trusted: the peer can write anything into it at
//! any time. Every index and message field read from it is bounds-checked and
//! a lie is a typed [`Error`], never a panic or an out-of-bounds access. Each
//! side keeps its own index privately and only publishes it.
//!
//! The crate is `no_std` and allocates nothing; the system's futex calls sit
//! behind the [`Waker`] trait so the same code runs on the host in tests
//! (feature `std`: [`host`]).
#![cfg_attr(not(feature = "std"), no_std)]

mod channel;
pub mod doorbell;
mod error;
pub mod layout;
mod msg;
pub mod op;
pub mod ready;
mod region;
mod ring;
mod slot;
mod wake;

#[cfg(feature = "std")]
pub mod host;

pub use channel::{Client, Server};
pub use doorbell::Doorbell;
pub use error::Error;
pub use layout::{DATA_SIZE, PAGE_SIZE, QUEUE_LEN, REGION_SIZE, SLOT_COUNT, SLOT_SIZE};
pub use msg::{Msg, Status, MSG_SIZE, NO_SLOT};
pub use op::{dirent, info, kind, net, open, poll, resolve, sockopt, write, Op};
pub use region::{Region, Word};
pub use ring::{Consumer, Producer};
pub use slot::SlotPool;
pub use wake::{Waker, AWAKE, SLEEPING};
