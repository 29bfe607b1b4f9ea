//! Slots 2-5: std's heap, on vireo-rt's allocator (power-of-two classes over
//! `Map`, big blocks as their own mappings).
//!
//! Buffers the runtime hands to moto-rt (args, env, getenv values) are
//! "runtime-owned": moto-rt frees them with `dealloc(ptr, 0, 0)`, without a
//! size. They carry a 16-byte header holding their total size ([`owned`]).
use alloc::alloc::Layout;

const HEADER: usize = 16;

fn layout(size: u64, align: u64) -> Option<Layout> {
    Layout::from_size_align(usize::try_from(size).ok()?, usize::try_from(align).ok()?).ok()
}

pub extern "C" fn alloc(size: u64, align: u64) -> u64 {
    match layout(size, align) {
        // SAFETY: std never asks for zero bytes (GlobalAlloc's contract),
        // and the layout is valid.
        Some(l) if l.size() != 0 => unsafe { alloc::alloc::alloc(l) as u64 },
        _ => 0,
    }
}

pub extern "C" fn alloc_zeroed(size: u64, align: u64) -> u64 {
    match layout(size, align) {
        // SAFETY: as in `alloc`.
        Some(l) if l.size() != 0 => unsafe { alloc::alloc::alloc_zeroed(l) as u64 },
        _ => 0,
    }
}

pub extern "C" fn realloc(ptr: u64, size: u64, align: u64, new_size: u64) -> u64 {
    let (Some(l), Ok(new_size)) = (layout(size, align), usize::try_from(new_size)) else { return 0 };
    // SAFETY: std passes a block it got from `alloc` with this layout.
    unsafe { alloc::alloc::realloc(ptr as *mut u8, l, new_size) as u64 }
}

pub extern "C" fn dealloc(ptr: u64, size: u64, align: u64) {
    if ptr == 0 {
        return;
    }
    if size == 0 && align == 0 {
        // SAFETY: (ptr, 0, 0) is only used for buffers from `owned`.
        unsafe { free_owned(ptr as *mut u8) };
        return;
    }
    if let Some(l) = layout(size, align) {
        // SAFETY: std passes a block it got from `alloc` with this layout.
        unsafe { alloc::alloc::dealloc(ptr as *mut u8, l) };
    }
}

/// A runtime-owned buffer of `len` bytes (16-aligned, zeroed), or null.
pub fn owned(len: usize) -> *mut u8 {
    let Some(total) = len.checked_add(HEADER) else { return core::ptr::null_mut() };
    let Ok(l) = Layout::from_size_align(total, HEADER) else { return core::ptr::null_mut() };
    // SAFETY: `l` is non-zero-sized.
    let base = unsafe { alloc::alloc::alloc_zeroed(l) };
    if base.is_null() {
        return base;
    }
    // SAFETY: `base` has room for the header; the data follows it.
    unsafe {
        (base as *mut usize).write(total);
        base.add(HEADER)
    }
}

/// # Safety
/// `p` must come from [`owned`] and not be used afterwards.
unsafe fn free_owned(p: *mut u8) {
    // SAFETY: the caller guarantees `p` came from `owned`, so the header
    // precedes it and holds the total size.
    unsafe {
        let base = p.sub(HEADER);
        let total = (base as *const usize).read();
        alloc::alloc::dealloc(base, Layout::from_size_align_unchecked(total, HEADER));
    }
}

/// Encodes `items` as moto-rt's vector encoding (a u32 count, then per item
/// a u32 length and the bytes padded to 4) into a runtime-owned buffer; 0 if
/// out of memory.
pub fn encode(items: &[&[u8]]) -> u64 {
    let len = 4 + items.iter().map(|i| 4 + ((i.len() + 3) & !3)).sum::<usize>();
    let buf = owned(len);
    if buf.is_null() {
        return 0;
    }
    let mut pos = 0usize;
    let mut put = |bytes: &[u8]| {
        // SAFETY: `pos + bytes.len() <= len` by the sum above; `buf` is ours.
        unsafe { core::ptr::copy_nonoverlapping(bytes.as_ptr(), buf.add(pos), bytes.len()) };
        pos += (bytes.len() + 3) & !3;
    };
    put(&(items.len() as u32).to_le_bytes());
    for i in items {
        put(&(i.len() as u32).to_le_bytes());
        put(i);
    }
    buf as u64
}
