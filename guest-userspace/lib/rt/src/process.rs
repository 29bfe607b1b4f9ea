//! Processes and arguments.

use crate::sys::{self, Result, FOREVER};
use alloc::vec;
use alloc::vec::Vec;

/// A child process handle, closed on drop.
pub struct Process {
    handle: u64,
}

impl Process {
    /// Starts the initrd program at `path` with `args`.
    pub fn spawn(path: &str, args: &[&str]) -> Result<Self> {
        sys::spawn(path, args).map(|handle| Self { handle })
    }

    pub fn raw(&self) -> u64 {
        self.handle
    }

    /// Waits for the process to end; returns its status.
    pub fn wait(&self) -> Result<i32> {
        sys::wait(self.handle, FOREVER)
    }

    /// Waits up to `timeout_ns`; `Err(TimedOut)` if it is still running.
    pub fn wait_timeout(&self, timeout_ns: u64) -> Result<i32> {
        sys::wait(self.handle, timeout_ns)
    }

    pub fn kill(&self) -> Result<u64> {
        sys::kill(self.handle)
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = sys::close(self.handle);
    }
}

/// Spawns `path args...`, waits, and returns its status.
pub fn run(path: &str, args: &[&str]) -> Result<i32> {
    Process::spawn(path, args)?.wait()
}

/// This process's arguments, as the parent passed them to `Spawn`.
pub struct Args {
    blob: Vec<u8>,
}

/// Reads this process's arguments with the `Args` call.
pub fn args() -> Args {
    let mut buf = vec![0u8; 1024];
    loop {
        let n = match sys::args_raw(&mut buf) {
            Ok(n) => n as usize,
            // A process whose arguments cannot be read has none.
            Err(_) => 0,
        };
        // A full buffer may mean truncation (whether the kernel reports the
        // copied or the total length): grow and ask again.
        if n < buf.len() {
            buf.truncate(n);
            return Args { blob: buf };
        }
        let bigger = buf.len().max(n + 1) * 2;
        buf.resize(bigger, 0);
    }
}

impl Args {
    /// The arguments in order. The blob is NUL-separated; a trailing NUL (if
    /// the parent terminated the last one) does not make an extra argument.
    pub fn iter(&self) -> impl Iterator<Item = &str> + '_ {
        let blob = self.blob.strip_suffix(&[0]).unwrap_or(&self.blob);
        let mut parts = blob.split(|&b| b == 0);
        // `split` of an empty slice yields one empty piece: no arguments.
        let empty = blob.is_empty();
        core::iter::from_fn(move || if empty { None } else { parts.next() })
            .map(|p| core::str::from_utf8(p).unwrap_or("<non-utf8>"))
    }

    pub fn get(&self, i: usize) -> Option<&str> {
        self.iter().nth(i)
    }

    pub fn len(&self) -> usize {
        self.iter().count()
    }

    pub fn is_empty(&self) -> bool {
        self.iter().next().is_none()
    }

    pub fn raw(&self) -> &[u8] {
        &self.blob
    }
}
