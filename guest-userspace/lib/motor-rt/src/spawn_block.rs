//! The spawn block: how a parent's runtime hands a motor child its
//! environment and stdio (docs/runtime.md, "Child processes").
//!
//! It is a shared-memory object (`ShmCreate`), passed as the child's
//! **handle 1**; the child's `vdso_entry` maps it read-only, copies it out,
//! unmaps it and closes the handle. Layout, little-endian:
//!
//! | offset | field |
//! |---|---|
//! | 0 | u64 magic `"VIREOSPB"` |
//! | 8 | u32 version (1) |
//! | 12 | u32 total length in bytes (header + env) |
//! | 16 | 3 × u32 stdio kind for fds 0, 1, 2: 0 console, 1 null, 2 pipe end |
//! | 28 | 3 × u32 the child's handle number of that pipe end (0 if none) |
//! | 40 | u32 number of environment variables |
//! | 44 | u32 reserved (0) |
//! | 48 | per variable: u32 key length, key, u32 value length, value |
//!
//! A process without such a handle 1 (started by the kernel as `init`, or
//! by a raw-ABI parent) gets console stdio and an empty environment.
use crate::fd::Fd;
use alloc::vec::Vec;
use vireo_rt::sys::{self, prot};

pub const MAGIC: u64 = u64::from_le_bytes(*b"VIREOSPB");
pub const VERSION: u32 = 1;
const HEADER: usize = 48;
const PAGE: usize = 4096;
/// Largest block a child accepts (a parent never makes a bigger one).
pub const MAX_LEN: usize = 1 << 20;
/// The child handle the block arrives as.
pub const HANDLE: u64 = 1;

const KIND_CONSOLE: u32 = 0;
const KIND_NULL: u32 = 1;
const KIND_PIPE: u32 = 2;

/// How one of the child's fds 0-2 starts.
#[derive(Clone, Copy, Debug)]
pub enum Stdio {
    Console,
    Null,
    /// A pipe end, at this handle number in the child; `read` for stdin.
    Pipe {
        child_handle: u32,
    },
}

pub struct Block {
    pub env: Vec<(Vec<u8>, Vec<u8>)>,
    pub stdio: [Fd; 3],
}

fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

/// The block's bytes (header + env), or `None` if too big.
pub fn encode(env: &[(&[u8], &[u8])], stdio: [Stdio; 3]) -> Option<Vec<u8>> {
    let len = HEADER + env.iter().map(|(k, v)| 8 + k.len() + v.len()).sum::<usize>();
    if len > MAX_LEN {
        return None;
    }
    let mut out = Vec::new();
    out.try_reserve_exact(len).ok()?;
    out.extend_from_slice(&MAGIC.to_le_bytes());
    put_u32(&mut out, VERSION);
    put_u32(&mut out, len as u32);
    for s in stdio {
        put_u32(
            &mut out,
            match s {
                Stdio::Console => KIND_CONSOLE,
                Stdio::Null => KIND_NULL,
                Stdio::Pipe { .. } => KIND_PIPE,
            },
        );
    }
    for s in stdio {
        put_u32(&mut out, if let Stdio::Pipe { child_handle } = s { child_handle } else { 0 });
    }
    put_u32(&mut out, env.len() as u32);
    put_u32(&mut out, 0);
    for (k, v) in env {
        put_u32(&mut out, k.len() as u32);
        out.extend_from_slice(k);
        put_u32(&mut out, v.len() as u32);
        out.extend_from_slice(v);
    }
    Some(out)
}

/// A shared-memory handle holding `bytes` (to pass to the child).
pub fn to_shm(bytes: &[u8]) -> sys::Result<u64> {
    let len = bytes.len().div_ceil(PAGE) * PAGE;
    let h = sys::shm_create(len as u64)?;
    let addr = match sys::shm_map(h, prot::READ | prot::WRITE) {
        Ok(a) => a,
        Err(e) => {
            let _ = sys::close(h);
            return Err(e);
        }
    };
    // SAFETY: the mapping is `len` >= bytes.len() bytes, RW, and ours alone.
    unsafe { core::ptr::copy_nonoverlapping(bytes.as_ptr(), addr as *mut u8, bytes.len()) };
    // SAFETY: nothing uses the mapping after this.
    let _ = unsafe { sys::unmap(addr, len as u64) };
    Ok(h)
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn u32(&mut self) -> Option<u32> {
        let b = self.bytes.get(self.at..self.at + 4)?;
        self.at += 4;
        Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn bytes(&mut self, n: usize) -> Option<Vec<u8>> {
        let b = self.bytes.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(b.to_vec())
    }
}

fn decode(bytes: &[u8]) -> Option<Block> {
    let mut r = Reader { bytes, at: 8 };
    if r.u32()? != VERSION {
        return None;
    }
    let _len = r.u32()?;
    let kinds = [r.u32()?, r.u32()?, r.u32()?];
    let handles = [r.u32()?, r.u32()?, r.u32()?];
    let n = r.u32()?;
    let _reserved = r.u32()?;
    let mut stdio = [Fd::Console, Fd::Console, Fd::Console];
    for i in 0..3 {
        stdio[i] = match kinds[i] {
            KIND_CONSOLE => Fd::Console,
            KIND_NULL => Fd::Null,
            KIND_PIPE if i == 0 => Fd::PipeRead(handles[i] as u64),
            KIND_PIPE => Fd::PipeWrite(handles[i] as u64),
            _ => return None,
        };
    }
    let mut env = Vec::new();
    for _ in 0..n {
        let kl = r.u32()? as usize;
        let k = r.bytes(kl)?;
        let vl = r.u32()? as usize;
        let v = r.bytes(vl)?;
        env.push((k, v));
    }
    Some(Block { env, stdio })
}

/// The block this process was started with, if handle 1 is one (then the
/// handle is closed).
pub fn take() -> Option<Block> {
    let addr = sys::shm_map(HANDLE, prot::READ).ok()?;
    // SAFETY: a mapped shm object is at least one page, readable.
    let head = unsafe { core::slice::from_raw_parts(addr as *const u8, 16) };
    let magic = u64::from_le_bytes(head[..8].try_into().ok()?);
    let len = u32::from_le_bytes(head[12..16].try_into().ok()?) as usize;
    let map_len = len.div_ceil(PAGE).max(1) * PAGE;
    let block = if magic == MAGIC && (HEADER..=MAX_LEN).contains(&len) {
        // SAFETY: only a parent's runtime writes this magic, and it sizes
        // the object (`to_shm`) to hold the `len` bytes it declares.
        decode(unsafe { core::slice::from_raw_parts(addr as *const u8, len) })
    } else {
        None
    };
    // SAFETY: the slices above are dead; nothing else uses the mapping.
    let _ = unsafe { sys::unmap(addr, map_len as u64) };
    if block.is_some() {
        let _ = sys::close(HANDLE);
    }
    block
}
