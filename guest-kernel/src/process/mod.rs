//! User processes: an address space, a handle table, threads, and an exit
//! status others can wait for. A process ends when its last thread ends or
//! when it is killed (by `Kill`, a fatal exception, or running out of
//! memory); only that process is affected.
//!
//! Layers inside, lowest first: `handle`, `shm`, `pipe`, `listener` and `vm`
//! know nothing of processes; `proc` is the process and its life cycle;
//! `uaccess`, `futex`, `motor`, `image`, `spawn`, `service`, `fault`,
//! `foreground` (the console's Ctrl-C target) and `table` (processes by pid)
//! build on it.
mod fault;
mod foreground;
mod futex;
mod handle;
mod image;
mod listener;
mod motor;
mod pipe;
mod proc;
pub mod service;
mod shm;
mod spawn;
pub mod table;
mod uaccess;
mod vm;

pub use fault::on_user_exception;
pub use foreground::{interrupt_foreground, set_foreground};
pub use futex::{futex_wait, futex_wake};
pub use image::ImageCopy;
pub use pipe::{pipe, UserEnd};
pub use proc::{
    before_user_return, current, exit_process, exit_thread, owner_of, Object, Process, ServiceListener, INIT_PID,
};
pub use shm::SharedMemory;
pub use spawn::{spawn, spawn_image};
pub use uaccess::{read_user, write_user};
