//! vmm-harness: the host-side VMM of Vireo. It boots a PVH ELF kernel under
//! KVM the way Cloud Hypervisor would (same PVH layout, ACPI shape, ports),
//! forwards COM1 to stdout, records a boot timeline, and exits with the
//! guest's status.

mod acpi;
mod cli;
mod cpu;
mod devices;
mod elfcheck;
mod error;
mod exits;
mod ioapic;
mod loader;
mod memory;
mod postmortem;
mod pvm;
mod shutdown;
mod snapshot;
mod timeline;
mod vcpu;
mod vm;
mod watchdog;

use std::sync::Arc;
use std::time::Instant;

use pv_abi::exit::harness::BAD_INPUT;

use crate::cli::Command;
use crate::shutdown::{Finisher, Outcome};
use crate::timeline::{Kind, Timeline};

/// Environment variable with the parent's CLOCK_MONOTONIC (ns) at spawn time.
const SPAWN_ENV: &str = "VMM_HARNESS_SPAWN_NS";
/// Environment variable with CLOCK_MONOTONIC (ns) just before execve, taken
/// in the forked child (what the target "exec -> first KVM_RUN" starts from).
const EXEC_ENV: &str = "VMM_HARNESS_EXEC_NS";

fn main() {
    let start = Instant::now();
    let start_ns = timeline::monotonic_ns();

    let args = match cli::parse(std::env::args_os().skip(1)) {
        Ok(Command::Help) => {
            print!("{}", cli::USAGE);
            return;
        }
        Ok(Command::Version) => {
            println!("vmm-harness {}", env!("CARGO_PKG_VERSION"));
            return;
        }
        Ok(Command::Boot(args)) => Command::Boot(args),
        Ok(Command::Restore(args)) => Command::Restore(args),
        Err(e) => {
            eprintln!("vmm-harness: error: {e}");
            std::process::exit(BAD_INPUT);
        }
    };

    let tl = Arc::new(Timeline::new(start));
    timeline::record_before(&tl, Kind::Spawn, std::env::var(SPAWN_ENV).ok().as_deref(), start_ns);
    timeline::record_before(&tl, Kind::Exec, std::env::var(EXEC_ENV).ok().as_deref(), start_ns);
    let (trace, trace_json) = match &args {
        Command::Boot(a) => (a.trace, a.trace_json.clone()),
        Command::Restore(a) => (a.trace, a.trace_json.clone()),
        Command::Help | Command::Version => (false, None),
    };
    let finisher = Arc::new(Finisher::new(tl.clone(), trace, trace_json));
    let result = match &args {
        Command::Restore(a) => snapshot::restore::restore(a, tl, finisher.clone()),
        Command::Boot(a) => vm::boot(a, tl, finisher.clone()),
        Command::Help | Command::Version => return,
    };
    match result {
        Ok(never) => match never {},
        Err(e) => finisher.finish(Outcome::failure(e.exit_code(), "error", format!("error: {e}"))),
    }
}
