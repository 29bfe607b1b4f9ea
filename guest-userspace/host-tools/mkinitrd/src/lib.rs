//! mkinitrd: builds Vireo's initrd, a cpio "newc" archive of programs and,
//! with `--fixtures`, malformed ELF images that test the kernel's loader.
pub mod cpio;
pub mod elf;
pub mod fixtures;
pub mod motor_patch;
pub mod mutate;
