//! Accepting connections and handing each to a worker thread.
//!
//! A worker serves one connection at a time, blocking (std::net on Vireo
//! has no readiness polling to multiplex on). The pool grows on demand up
//! to `--threads` and its threads never exit: on Vireo a thread's stack is
//! freed only when it is joined, so a thread per connection that detaches
//! would leak a stack per connection; here memory is bounded by the
//! pool's high-water mark. A connection beyond `--threads` at once gets a
//! 503 and is closed at once, so a flood cannot queue behind slow clients.
use std::collections::VecDeque;
use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::conn::{self, Site};

/// A worker's stack: its buffers are on the heap, so this is plenty (and
/// above Vireo's 64 KiB minimum).
const WORKER_STACK: usize = 128 * 1024;

#[derive(Default)]
struct State {
    /// Accepted connections no worker has taken yet.
    queue: VecDeque<TcpStream>,
    /// Connections queued or being served.
    busy: usize,
    /// Worker threads started (they never end).
    workers: usize,
}

struct Pool {
    state: Mutex<State>,
    ready: Condvar,
    site: Site,
}

impl Pool {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A worker that panicked cannot have left the queue half-changed
        // (each change is one call), so a poisoned lock is still usable.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

pub fn run(listener: TcpListener, site: Site) -> ! {
    let cap = site.cfg.threads;
    let pool = Arc::new(Pool { state: Mutex::new(State::default()), ready: Condvar::new(), site });
    let mut warned = false;
    let mut last_error: Option<Instant> = None;
    loop {
        let stream = match listener.accept() {
            Ok((s, _)) => s,
            Err(e) => {
                // Out of sockets or memory for a moment: back off, go on,
                // and say so at most once a second (not a console flood).
                if last_error.is_none_or(|t| t.elapsed() >= Duration::from_secs(1)) {
                    eprintln!("httpd: accept: {e}");
                    last_error = Some(Instant::now());
                }
                std::thread::sleep(Duration::from_millis(10));
                continue;
            }
        };
        let mut st = pool.lock();
        if st.busy >= cap {
            drop(st);
            refuse(stream);
            continue;
        }
        st.busy += 1;
        st.queue.push_back(stream);
        let grow = st.busy > st.workers;
        if grow {
            st.workers += 1;
        }
        drop(st);
        pool.ready.notify_one();
        if grow {
            let p = Arc::clone(&pool);
            if let Err(e) = std::thread::Builder::new().stack_size(WORKER_STACK).spawn(move || worker(&p)) {
                // The connection waits for a busy worker instead.
                pool.lock().workers -= 1;
                if !warned {
                    eprintln!("httpd: cannot start a worker thread: {e}");
                    warned = true;
                }
            }
        }
    }
}

fn worker(pool: &Pool) {
    let mut bufs = conn::Buffers::default();
    loop {
        let stream = {
            let mut st = pool.lock();
            loop {
                if let Some(s) = st.queue.pop_front() {
                    break s;
                }
                st = pool.ready.wait(st).unwrap_or_else(|e| e.into_inner());
            }
        };
        conn::serve(stream, &pool.site, &mut bufs);
        pool.lock().busy -= 1;
    }
}

/// Every worker is taken: say so and close, without waiting on the client.
fn refuse(mut stream: TcpStream) {
    let _ = stream.set_write_timeout(Some(Duration::from_secs(1)));
    let _ = stream.write_all(
        b"HTTP/1.1 503 Service Unavailable\r\nServer: vireo-httpd\r\nRetry-After: 1\r\nConnection: close\r\n\
          Content-Type: text/plain; charset=utf-8\r\nContent-Length: 24\r\n\r\n503 Service Unavailable\n",
    );
}
