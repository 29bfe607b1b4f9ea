//! Readiness words (`vireo_io_channel::ready`): the server keeps each
//! client socket's word true, so a client thread blocked in a read sleeps
//! on its word instead of parking a request here (which held a submission
//! entry and data slots for as long as the peer stayed silent).
//!
//! The word is recomputed after every receive and whenever smoltcp wakes
//! the socket's receive waker (data, end of stream, a reset, a state
//! change). Wakers are only registered while a read would wait, and each
//! wake files the socket on a list drained after the stack's poll, so the
//! cost follows the sockets that changed, not the sockets that exist.
use super::tcp::tcp_readable;
use super::{Sock, Step};
use crate::net::stack::NetStack;
use alloc::sync::Arc;
use alloc::task::Wake;
use alloc::vec::Vec;
use core::sync::atomic::AtomicU32;
use core::task::Waker;
use smoltcp::socket::{tcp, udp};
use vireo_io_channel::{ready, Op};
use vireo_rt::sync::Mutex;
use vireo_rt::sys;

/// Sockets whose receive waker fired since the last drain: (connection, socket id).
pub type Dirty = Arc<Mutex<Vec<(u64, u64)>>>;

/// One socket's receive waker: files the socket on the dirty list.
struct SockWake {
    conn: u64,
    id: u64,
    dirty: Dirty,
}

impl Wake for SockWake {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.dirty.lock().push((self.conn, self.id));
    }
}

/// A socket's waker, made once when the socket gets its id.
pub fn waker(dirty: &Dirty, conn: u64, id: u64) -> Waker {
    Waker::from(Arc::new(SockWake { conn, id, dirty: dirty.clone() }))
}

/// Wakes every thread asleep on a word (clones of one socket may share it).
struct WakeAll;

impl vireo_io_channel::Waker for WakeAll {
    fn wait(&self, word: &AtomicU32, expected: u32, timeout_ns: u64) {
        let _ = sys::futex_wait(word, expected, timeout_ns);
    }

    fn wake(&self, word: &AtomicU32) {
        let _ = sys::futex_wake(word, u64::MAX);
    }
}

impl NetStack {
    /// After a request ran: receives and shutdowns change what a read
    /// would see, and a new socket's word starts from its state now.
    pub(super) fn ready_after(&mut self, conn: u64, op: Op, req_sock: u64, step: &Step) {
        match (op, step) {
            (Op::NetRecv | Op::NetShutdown, _) => self.ready_update(conn, req_sock, false),
            (Op::NetAccept, Step::Done(r)) => {
                self.ready_update(conn, r.args[0], true);
                self.listener_refill(conn, req_sock, None);
            }
            (Op::NetConnect | Op::NetBind, Step::Done(r)) => self.ready_update(conn, r.args[0], true),
            (Op::NetListen, _) => self.listener_refill(conn, req_sock, None),
            _ => {}
        }
    }

    /// Publishes socket `id`'s readability (`fresh`: a new socket, whose
    /// word is reset and waker made); while a read would wait, smoltcp is
    /// asked to say when that changes.
    pub(super) fn ready_update(&mut self, conn: u64, id: u64, fresh: bool) {
        let dirty = self.layer.dirty.clone();
        let Some(c) = self.layer.conns.get_mut(&conn) else { return };
        let Some(word) = c.region.as_ref().and_then(|r| r.ready_word(id)) else { return };
        let Some(Some(s)) = id.checked_sub(1).and_then(|i| c.socks.get_mut(i as usize)) else { return };
        if let Sock::Listener(_) = s {
            let w = fresh.then(|| waker(&dirty, conn, id));
            return self.listener_refill(conn, id, w);
        }
        if fresh {
            match s {
                Sock::Tcp(t) => t.waker = waker(&dirty, conn, id),
                Sock::Udp(u) => u.waker = waker(&dirty, conn, id),
                Sock::Listener(_) => return,
            }
        }
        let readable = match s {
            Sock::Tcp(t) => tcp_readable(self.sockets.get::<tcp::Socket>(t.h), t),
            Sock::Udp(u) => self.sockets.get::<udp::Socket>(u.h).can_recv(),
            Sock::Listener(_) => return,
        };
        if fresh {
            ready::reset(word, readable);
        } else {
            ready::publish(word, readable, &WakeAll);
        }
        if !readable {
            match s {
                Sock::Tcp(t) => self.sockets.get_mut::<tcp::Socket>(t.h).register_recv_waker(&t.waker),
                Sock::Udp(u) => self.sockets.get_mut::<udp::Socket>(u.h).register_recv_waker(&u.waker),
                Sock::Listener(_) => {}
            }
        }
    }

    /// The sockets smoltcp woke since the last call: their words are made true.
    pub(crate) fn ready_drain(&mut self) {
        let woken = core::mem::take(&mut *self.layer.dirty.lock());
        for (conn, id) in woken {
            self.ready_update(conn, id, false);
        }
    }
}
