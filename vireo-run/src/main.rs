//! vireo-run: a cargo runner for `x86_64-unknown-motor`. It boots Vireo in
//! QEMU with the program in the initrd, passes its arguments on the kernel
//! command line, shows its console output and exits with its status
//! (docs/runtime.md, "cargo run and cargo test").

mod accel;
mod console;
mod error;
mod initrd;
mod options;
mod program;
mod qemu;
mod vm;

use std::path::{Path, PathBuf};

use crate::error::RunError;
use crate::options::{Command, Options};

/// The status a killed or aborted program ends the runner with, as a shell
/// reports SIGABRT (a panic under panic=abort).
const KILLED: i32 = 134;

fn main() {
    let env_accel = std::env::var("VIREO_RUN_ACCEL").ok();
    let status = match options::parse(std::env::args_os().skip(1), env_accel.as_deref()) {
        Ok(Command::Help) => {
            print!("{}", options::USAGE);
            0
        }
        Ok(Command::Run(o)) => match run(&o) {
            Ok(status) => status,
            Err(e) => {
                eprintln!("vireo-run: {e}");
                e.exit_status()
            }
        },
        Err(e) => {
            eprintln!("vireo-run: {e}");
            e.exit_status()
        }
    };
    std::process::exit(status);
}

/// Files beside the runner (it lives in the tree's build/).
fn beside_runner(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_default();
    exe.parent().unwrap_or(Path::new(".")).join(name)
}

fn read(path: &Path, what: &'static str, hint: &'static str) -> Result<Vec<u8>, RunError> {
    std::fs::read(path).map_err(|err| match err.kind() {
        std::io::ErrorKind::NotFound => RunError::Missing { what, path: path.to_path_buf(), hint },
        _ => RunError::Read { path: path.to_path_buf(), err },
    })
}

const BUILD_HINT: &str = "run `make all` in the Vireo tree";

fn run(o: &Options) -> Result<i32, RunError> {
    let kernel = o.kernel.clone().unwrap_or_else(|| beside_runner("kernel.elf"));
    if !kernel.is_file() {
        return Err(RunError::Missing { what: "Vireo kernel", path: kernel, hint: BUILD_HINT });
    }
    let system_initrd = o.initrd.clone().unwrap_or_else(|| beside_runner("system.cpio"));
    let system = read(&system_initrd, "Vireo initrd", BUILD_HINT)?;
    let image = read(&o.program, "program", "check the path")?;
    program::check(&image).map_err(|p| match p {
        program::Problem::NotElf => RunError::NotElf(o.program.clone()),
        program::Problem::WrongTarget(why) => RunError::WrongTarget { path: o.program.clone(), why },
    })?;
    let mut args = command_line_words(&o.args)?;
    if o.harness_detect && program::is_libtest_harness(&image) {
        args = program::harness_args(&args);
    }
    if let Some(disk) = &o.disk {
        if !disk.is_file() {
            return Err(RunError::Missing { what: "disk image", path: disk.clone(), hint: "check --disk" });
        }
    }
    let accel = accel::choose(o.accel, &accel::Host::probe()).map_err(RunError::KvmUnusable)?;
    let app = initrd::app_path(&o.program);
    let packed = initrd::pack(&system, &app, &image).map_err(|e| match e {
        RunError::Pack(_) if mkinitrd::cpio::read(&system).is_none() => RunError::BadInitrd(system_initrd.clone()),
        e => e,
    })?;
    drop(system);
    let initrd = initrd::TempFile::write(&packed)?;
    drop(packed);
    let quiet = if o.verbose { "" } else { "quiet " };
    let cmdline = format!("{quiet}-- {app} {}", args.join(" "));
    let outcome = vm::run(qemu::command(o, accel, &kernel, &initrd.0, cmdline.trim_end()), &app, o)?;
    if let Some(line) = outcome.ending.kernel_crash {
        return Err(RunError::KernelCrash(line));
    }
    if let Some(status) = outcome.ending.killed {
        eprintln!("vireo-run: {} was killed or aborted (status {status})", o.program.display());
        return Ok(KILLED);
    }
    if let Some(line) = outcome.ending.system_error {
        return Err(RunError::Guest(line));
    }
    match outcome.ending.exit {
        Some(code) => Ok(i32::from(code)),
        None => Err(RunError::NoStatus(outcome.qemu_said)),
    }
}

/// The program's arguments as kernel command-line words: the kernel splits
/// its command line at spaces and tabs and has no quoting.
fn command_line_words(args: &[std::ffi::OsString]) -> Result<Vec<String>, RunError> {
    args.iter()
        .enumerate()
        .map(|(i, a)| {
            let index = i + 1;
            let s = a.to_str().ok_or(RunError::Argument { index, why: "is not UTF-8" })?;
            if s.is_empty() || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return Err(RunError::Argument {
                    index,
                    why: "is empty or has whitespace, which Vireo's kernel command line cannot carry",
                });
            }
            Ok(s.to_string())
        })
        .collect()
}
