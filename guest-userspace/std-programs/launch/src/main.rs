//! `/sbin/launch PROGRAM [ARGS...]`: runs PROGRAM and ends with its status.
//!
//! init is a raw program with no file system: the kernel's `Spawn` it uses
//! finds programs in the initrd only. The system initrd holds just what
//! boots the system (docs/boot.md, "The system initrd"), so a program on the
//! root disk (`-- /bin/httpd`) reaches init as "not found", and init hands it
//! here: the std runtime's spawn looks in the initrd and then on `/` (the
//! disk, through the I/O server), as for any std program. Standard input and
//! output are inherited. Exit: the program's own status; 127 with one line
//! on stderr when it cannot be started; 2 without a program.
use std::process::Command;

fn main() {
    let mut args = std::env::args_os().skip(1);
    let Some(program) = args.next() else {
        eprintln!("usage: launch PROGRAM [ARGS...]");
        std::process::exit(2);
    };
    match Command::new(&program).args(args).status() {
        Ok(status) => std::process::exit(status.code().unwrap_or(1)),
        Err(e) => {
            eprintln!("launch: cannot run {}: {e}", program.to_string_lossy());
            std::process::exit(127);
        }
    }
}
