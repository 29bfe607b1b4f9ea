//! Where a stage's stdin comes from and its stdout/stderr go, and the
//! threads that copy between pipes and files (exec.rs says why they exist).
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::process::{ChildStderr, ChildStdout};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// Where a stage's stdin comes from.
pub enum Input {
    Console,
    Null,
    File(File),
    /// A builtin's output, for the next stage.
    Data(Vec<u8>),
    Pipe(ChildStdout),
    /// `a 2>&1 | b`: both of `a`'s pipes, copied into `b`'s stdin.
    Merged(ChildStdout, ChildStderr),
}

/// Where a stage's stdout or stderr goes.
pub enum Sink {
    Console,
    /// Shared: `> f 2>&1` sends both streams to one file.
    File(SharedFile),
    /// The next stage.
    Next,
}

impl Sink {
    /// What `2>&1` makes of stderr when stdout is `self`.
    pub fn same(&self) -> Sink {
        match self {
            Sink::Console => Sink::Console,
            Sink::File(f) => Sink::File(f.clone()),
            Sink::Next => Sink::Next,
        }
    }
}

/// A file two copy threads may write (one write at a time).
#[derive(Clone)]
pub struct SharedFile(Arc<Mutex<File>>);

impl Write for SharedFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).write_all(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).flush()
    }
}

/// A pipe end (or anything) two copy threads may write, whole chunks at a time.
pub struct Shared<W>(pub Arc<Mutex<W>>);

impl<W: Write> Write for Shared<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).write_all(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).flush()
    }
}

/// Opens `path` for `>` (truncate) or `>>` (append), creating it.
pub fn open_out(path: &str, append: bool) -> io::Result<SharedFile> {
    let f = OpenOptions::new().write(true).create(true).append(append).truncate(!append).open(path)?;
    Ok(SharedFile(Arc::new(Mutex::new(f))))
}

/// Copies `from` to `to` on its own thread until the end of `from` (or an
/// error on either side); dropping both then closes a pipe end.
pub fn pump(mut from: impl Read + Send + 'static, mut to: impl Write + Send + 'static) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if to.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            }
        }
        let _ = to.flush();
    })
}
