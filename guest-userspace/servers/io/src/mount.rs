//! Choosing `/`: the first virtio-blk disk if it holds a file system we can
//! mount, else the initrd, read-only. Every way the disk can fail to mount
//! is one console line, and the system goes on with the initrd.

use crate::disk::VirtioDisk;
use alloc::boxed::Box;
use core::sync::atomic::{AtomicBool, Ordering};
use vireo_fs::FileSystem;
use vireo_rt::{println, sys};

static ROOT_IS_DISK: AtomicBool = AtomicBool::new(false);

pub fn set_root_is_disk(disk: bool) {
    ROOT_IS_DISK.store(disk, Ordering::Relaxed);
}

pub fn root_is_disk() -> bool {
    ROOT_IS_DISK.load(Ordering::Relaxed)
}

/// The root file system, and whether it is the disk; `None` when not even
/// the initrd can be served.
pub fn root(right: u64) -> Option<(Box<dyn FileSystem + Send>, bool)> {
    match VirtioDisk::open_first(right) {
        Ok(Some((disk, name))) => match vireo_fs::ext4::mount(Box::new(disk), name) {
            Ok(mut fs) => {
                fs.set_clock(crate::clock::now_ns);
                return Some((Box::new(fs), true));
            }
            Err(e) => println!("io: {name}: cannot mount: {e}; / is the initrd, read-only"),
        },
        Ok(None) => {}
        Err(e) => println!("io: virtio-blk: cannot drive the device: {e:?}; / is the initrd, read-only"),
    }
    Some((initrd(right)?, false))
}

fn initrd(right: u64) -> Option<Box<dyn FileSystem + Send>> {
    let bytes = sys::initrd_map(right).map_err(|e| println!("io: cannot map the initrd: {}", e.name())).ok()?;
    match vireo_fs::initrd::InitrdFs::new(bytes) {
        Ok(fs) => Some(Box::new(fs)),
        Err(e) => {
            println!("io: the initrd is unreadable: {e:?}");
            None
        }
    }
}
