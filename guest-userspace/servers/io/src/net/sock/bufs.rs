//! TCP socket buffers kept for the next socket.
//!
//! Every accepted connection gets a new smoltcp socket, and new buffers made
//! with `vec![0; n]` were zeroed each time: 128 KiB, about 16 k guest
//! instructions of `rep stosq` for every new connection. A removed socket's buffers (smoltcp gives them back through
//! Vireo's patch, guest-userspace/patches/smoltcp-0.14.0-take-buffers.patch)
//! go to the next socket as they are: smoltcp's ring buffer reads only what
//! was written into it since the socket was made, so what an earlier
//! connection left in them is never seen. At most [`KEEP`] of each size are
//! kept, so a burst of connections does not pin its memory for good.
use alloc::vec;
use alloc::vec::Vec;
use managed::ManagedSlice;
use smoltcp::socket::tcp;

/// Buffers of one size kept at most (a few listening sockets' refills and
/// the connections between them).
pub const KEEP: usize = 16;

#[derive(Default)]
pub struct Bufs {
    /// (size, buffers of that size).
    kept: Vec<(usize, Vec<Vec<u8>>)>,
}

impl Bufs {
    /// A buffer of `len` bytes: a kept one, else a new one.
    pub fn take(&mut self, len: usize) -> Vec<u8> {
        match self.kept.iter_mut().find(|(n, _)| *n == len).and_then(|(_, v)| v.pop()) {
            Some(b) => b,
            None => vec![0; len],
        }
    }

    /// Keeps `buf` for [`Bufs::take`] (unless [`KEEP`] of its size are kept).
    pub fn give(&mut self, buf: Vec<u8>) {
        let len = buf.len();
        let at = match self.kept.iter().position(|(n, _)| *n == len) {
            Some(i) => i,
            None => {
                self.kept.push((len, Vec::new()));
                self.kept.len() - 1
            }
        };
        let list = &mut self.kept[at].1;
        if list.len() < KEEP {
            list.push(buf);
        }
    }

    /// A removed socket's two buffers.
    pub fn give_socket(&mut self, s: tcp::Socket<'static>) {
        let (rx, tx) = s.into_buffers();
        for storage in [rx.into_storage(), tx.into_storage()] {
            if let ManagedSlice::Owned(v) = storage {
                self.give(v);
            }
        }
    }
}
