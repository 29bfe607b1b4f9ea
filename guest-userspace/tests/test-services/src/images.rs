//! InitrdMap and SpawnImage (of programs found in the mapped initrd).
use crate::{expect_err, ok, wait_child, Check, RIGHT};
use alloc::vec::Vec;
use vireo_parse::cpio::Archive;
use vireo_rt::pv_abi::syscall::{prot, status, SpawnImage, Sys, MAX_SPAWN_IMAGE};
use vireo_rt::sys;
use vireo_rt::{println, raw, Error};

pub fn all() -> Check {
    let rd = initrd()?;
    println!("test-services: initrd ok");
    spawn_images(rd)?;
    println!("test-services: spawn image ok");
    bad_images(rd)?;
    println!("test-services: bad images ok");
    Ok(())
}

/// Maps the initrd, checks it is the cpio archive (read-only), returns it.
fn initrd() -> Result<&'static [u8], &'static str> {
    let rd = ok(sys::initrd_map(RIGHT), "InitrdMap")?;
    if !rd.starts_with(b"070701") {
        return Err("the initrd mapping does not start with the cpio magic");
    }
    let archive = Archive::parse(rd).map_err(|_| "the mapped initrd is not a valid archive")?;
    // The host test compares this with build/initrd.cpio's size.
    println!(
        "test-services: initrd {} bytes, {} files, {} before the trailer",
        rd.len(),
        archive.file_count(),
        archive.size()
    );
    // A second mapping: elsewhere, the same bytes; it can go again.
    let again = ok(sys::initrd_map(RIGHT), "InitrdMap again")?;
    if again.as_ptr() == rd.as_ptr() || again != rd {
        return Err("a second InitrdMap is not a second mapping of the same bytes");
    }
    let page = again.as_ptr() as u64 & !0xfff;
    let span = again.as_ptr() as u64 + again.len() as u64 - page;
    // SAFETY: the range is our second initrd mapping, which nothing uses
    // from here on (`again` is not touched again).
    let widen = unsafe { sys::protect(page, span, prot::READ | prot::WRITE) };
    expect_err(widen, Error::Protection, "Protect the initrd writable")?;
    // SAFETY: as above.
    ok(unsafe { sys::unmap(page, span) }, "unmap the second initrd mapping")?;
    // A bad length pointer.
    // SAFETY: the kernel must refuse the unmapped pointer without writing.
    let r = unsafe { raw::syscall2(Sys::InitrdMap as u64, RIGHT, 0x10) };
    expect_err(Error::from_ret(r), Error::Fault, "InitrdMap with a bad length pointer")?;
    // Writing it kills the writer.
    let child = ok(sys::spawn_with_handles("/test/services", &["write-initrd"], &[RIGHT]), "spawn write-initrd")?;
    let s = wait_child(child, "wait for write-initrd")?;
    if s != status::killed_by_exception(14) {
        println!("test-services: write-initrd ended with {s:#x}");
        return Err("writing the initrd mapping did not kill with a page fault");
    }
    Ok(rd)
}

fn file(rd: &'static [u8], path: &str) -> Result<&'static [u8], &'static str> {
    let archive = Archive::parse(rd).map_err(|_| "the mapped initrd is not a valid archive")?;
    archive.find(path).ok_or("a program is missing from the initrd")
}

/// Raw ABI and std programs started from their bytes in the initrd mapping.
fn spawn_images(rd: &'static [u8]) -> Check {
    let hello = file(rd, "/bin/hello")?;
    let args = sys::encode_args(&["7"]);
    let h = ok(sys::spawn_image(hello, "/bin/hello", &args, &[]), "SpawnImage /bin/hello 7")?;
    if wait_child(h, "wait for /bin/hello")? != 7 {
        return Err("/bin/hello from an image did not exit 7");
    }
    // A copy in our heap, changed after the call: the child is unaffected.
    let mut copy = Vec::from(hello);
    let h = ok(sys::spawn_image(&copy, "/bin/hello", b"", &[]), "SpawnImage of a heap copy")?;
    copy.fill(0);
    if wait_child(h, "wait for the heap copy")? != 0 {
        return Err("/bin/hello from a heap copy did not exit 0");
    }
    // A std program: the kernel attaches the runtime as for Spawn.
    let std = file(rd, "/bin/hello-std")?;
    let h = ok(sys::spawn_image(std, "/bin/hello-std", b"", &[]), "SpawnImage /bin/hello-std")?;
    if wait_child(h, "wait for /bin/hello-std")? != 0 {
        return Err("/bin/hello-std from an image failed");
    }
    let args = sys::encode_args(&["exit", "9"]);
    let h = ok(sys::spawn_image(std, "/bin/hello-std", &args, &[]), "SpawnImage /bin/hello-std exit 9")?;
    if wait_child(h, "wait for /bin/hello-std exit 9")? != 9 {
        return Err("/bin/hello-std exit 9 from an image did not exit 9");
    }
    Ok(())
}

fn spawn_raw(spec: &SpawnImage, len: u64) -> Result<u64, Error> {
    // SAFETY: the kernel only reads the spec and the ranges it names.
    Error::from_ret(unsafe { raw::syscall2(Sys::SpawnImage as u64, spec as *const _ as u64, len) })
}

fn is_elf_error(r: Result<u64, Error>) -> bool {
    matches!(r, Err(e) if (Error::ElfBadMagic as u16..=Error::ElfBadNote as u16).contains(&(e as u16)))
}

/// Corrupt images and bad specs are refused with typed errors.
fn bad_images(rd: &'static [u8]) -> Check {
    let hello = file(rd, "/bin/hello")?;
    let mut bad = Vec::from(hello);
    bad[0] = b'X';
    expect_err(sys::spawn_image(&bad, "/bin/bad", b"", &[]), Error::ElfBadMagic, "an image with a bad magic")?;
    for cut in [0, 16, 64, 200, hello.len() / 2] {
        let r = sys::spawn_image(&hello[..cut], "/bin/cut", b"", &[]);
        if !is_elf_error(r) {
            println!("test-services: an image cut at {cut}: {r:?}");
            return Err("a truncated image was not refused with an ELF error");
        }
    }
    let good = SpawnImage {
        image_ptr: hello.as_ptr() as u64,
        image_len: hello.len() as u64,
        path_ptr: b"/bin/hello".as_ptr() as u64,
        path_len: 10,
        ..SpawnImage::default()
    };
    let size = core::mem::size_of::<SpawnImage>() as u64;
    expect_err(spawn_raw(&good, size - 8), Error::Invalid, "a short spec")?;
    expect_err(spawn_raw(&SpawnImage { image_ptr: 0x10, ..good }, size), Error::Fault, "an unmapped image")?;
    let huge = SpawnImage { image_len: MAX_SPAWN_IMAGE + 1, ..good };
    expect_err(spawn_raw(&huge, size), Error::Invalid, "an image over the limit")?;
    expect_err(spawn_raw(&SpawnImage { path_len: 0, ..good }, size), Error::Invalid, "an empty path")?;
    expect_err(spawn_raw(&SpawnImage { path_len: 257, ..good }, size), Error::Invalid, "a 257-byte path")?;
    let handles = [999u64];
    let bad_handle = SpawnImage { handles_ptr: handles.as_ptr() as u64, handles_len: 1, ..good };
    expect_err(spawn_raw(&bad_handle, size), Error::BadHandle, "passing a bad handle")?;
    let too_many = SpawnImage { handles_len: 17, ..bad_handle };
    expect_err(spawn_raw(&too_many, size), Error::Invalid, "passing 17 handles")?;
    // The kernel is still fine: the good spec runs.
    let h = ok(spawn_raw(&good, size), "SpawnImage through the raw spec")?;
    if wait_child(h, "wait for the raw-spec child")? != 0 {
        return Err("the raw-spec child did not exit 0");
    }
    Ok(())
}
