//! Poll registries: sockets with an interest mask and a token; a wait
//! returns the readiness that changed since it was last reported.
//!
//! Edge-triggered like mio expects, with one softening: any read or write
//! on a socket re-arms its entries (`poll_touch`), so a program that reads
//! only part of what is there still hears about the rest at its next wait.
//! The closed and error bits are always reported, interest or not.
use super::{ok, Sock, Step};
use crate::net::stack::NetStack;
use alloc::vec::Vec;
use vireo_io_channel::{net, poll, Msg, Op, Region, Status};

struct Entry {
    sock: u64,
    token: u64,
    interest: u64,
    /// The readiness last reported (or seen) for this entry.
    reported: u64,
}

#[derive(Default)]
pub struct Registry {
    entries: Vec<Entry>,
    woken: bool,
}

/// Sockets per registry.
const MAX_ENTRIES: usize = 1024;
const ALWAYS: u64 = poll::READ_CLOSED | poll::WRITE_CLOSED | poll::ERROR;

impl Registry {
    /// A socket went away.
    pub fn forget(&mut self, sock: u64) {
        self.entries.retain(|e| e.sock != sock);
    }
}

impl NetStack {
    fn registry(&mut self, conn: u64, id: u64) -> Result<&mut Registry, Status> {
        let c = self.layer.conns.get_mut(&conn).ok_or(Status::BadHandle)?;
        let i = id.checked_sub(1).ok_or(Status::BadHandle)? as usize;
        c.polls.get_mut(i).and_then(Option::as_mut).ok_or(Status::BadHandle)
    }

    pub(super) fn poll_ctl(&mut self, conn: u64, op: Op, req: &Msg) -> Result<Step, Status> {
        let mut r = ok(req);
        match op {
            Op::PollNew => {
                let c = self.layer.conns.get_mut(&conn).ok_or(Status::BadHandle)?;
                let i = match c.polls.iter().position(Option::is_none) {
                    Some(i) => i,
                    None if c.polls.len() < super::MAX_REGISTRIES => {
                        c.polls.push(None);
                        c.polls.len() - 1
                    }
                    None => return Err(Status::TooManyOpen),
                };
                c.polls[i] = Some(Registry::default());
                r.args[0] = i as u64 + 1;
            }
            Op::PollClose => {
                let c = self.layer.conns.get_mut(&conn).ok_or(Status::BadHandle)?;
                let i = req.args[0].checked_sub(1).ok_or(Status::BadHandle)? as usize;
                c.polls.get_mut(i).and_then(Option::take).ok_or(Status::BadHandle)?;
            }
            Op::PollWake => self.registry(conn, req.args[0])?.woken = true,
            Op::PollCtl => {
                let (sock, token, interest) = (req.args[1], req.args[2], req.args[3]);
                let c = self.layer.conns.get_mut(&conn).ok_or(Status::BadHandle)?;
                c.get(sock)?;
                let reg = self.registry(conn, req.args[0])?;
                let at = reg.entries.iter().position(|e| e.sock == sock);
                match (req.flags, at) {
                    (poll::ADD, None) if reg.entries.len() < MAX_ENTRIES => {
                        reg.entries.push(Entry { sock, token, interest, reported: 0 })
                    }
                    (poll::ADD, None) => return Err(Status::TooManyOpen),
                    (poll::ADD, Some(_)) => return Err(Status::AlreadyExists),
                    (poll::MODIFY, Some(i)) => {
                        reg.entries[i] = Entry { sock, token, interest, reported: 0 };
                    }
                    (poll::DELETE, Some(i)) => {
                        reg.entries.swap_remove(i);
                    }
                    (poll::MODIFY | poll::DELETE, None) => return Err(Status::NotFound),
                    _ => return Err(Status::InvalidArgument),
                }
            }
            _ => return Err(Status::UnknownOp),
        }
        Ok(Step::Done(r))
    }

    /// Readiness of socket `id` of `conn` (0 for one that is gone).
    fn ready(&self, conn: u64, id: u64) -> u64 {
        let Some(c) = self.layer.conns.get(&conn) else { return 0 };
        let Some(Some(s)) = id.checked_sub(1).and_then(|i| c.socks.get(i as usize)) else { return 0 };
        match s {
            Sock::Udp(u) => self.udp_ready(u),
            s => self.tcp_ready(s),
        }
    }

    pub(super) fn poll_wait(
        &mut self,
        conn: u64,
        region: &Region,
        req: &Msg,
        d: (usize, usize, usize),
    ) -> Result<Step, Status> {
        let max = d.2 / net::EVENT_SIZE;
        let reg_id = req.args[0];
        let readiness: Vec<u64> = {
            let reg = self.registry(conn, reg_id)?;
            let socks: Vec<u64> = reg.entries.iter().map(|e| e.sock).collect();
            socks.into_iter().map(|s| self.ready(conn, s)).collect()
        };
        let reg = self.registry(conn, reg_id)?;
        let mut out = [0u8; 16];
        let mut n = 0;
        for (e, &now) in reg.entries.iter_mut().zip(&readiness) {
            let due = now & (e.interest | ALWAYS);
            let new = due & !e.reported;
            e.reported = due;
            if new != 0 && n < max {
                out[..8].copy_from_slice(&e.token.to_le_bytes());
                out[8..].copy_from_slice(&due.to_le_bytes());
                region.write_slot(d.0, d.1 + n * net::EVENT_SIZE, &out).map_err(|_| Status::BadData)?;
                n += 1;
            } else if new != 0 {
                // No room to report it: report it next time.
                e.reported &= !new;
            }
        }
        if n == 0 && !reg.woken {
            return Ok(Step::Wait);
        }
        reg.woken = false;
        let mut r = ok(req);
        r.len = (n * net::EVENT_SIZE) as u32;
        Ok(Step::Done(r))
    }

    /// A read or write on `sock`: its entries report again what is still true.
    pub(super) fn poll_touch(&mut self, conn: u64, sock: u64) {
        if let Some(c) = self.layer.conns.get_mut(&conn) {
            for reg in c.polls.iter_mut().flatten() {
                for e in reg.entries.iter_mut().filter(|e| e.sock == sock) {
                    e.reported = 0;
                }
            }
        }
    }
}
