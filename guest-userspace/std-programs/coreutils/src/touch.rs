//! `touch FILE...`: creates missing files; an existing one is left as it
//! is apart from its modification time where the system can set it.
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::process::ExitCode;
use std::time::SystemTime;

use crate::common::{bad_args, fail, status, usage_error};

pub const USAGE: &str = "usage: touch FILE...\nCreates each FILE that does not exist (empty); for one that does, sets its modification time to now.";

pub fn run(args: &[String]) -> ExitCode {
    let a = match crate::args::parse(args, "", "") {
        Ok(a) => a,
        Err(e) => return bad_args("touch", USAGE, &e),
    };
    if a.operands.is_empty() {
        return usage_error("touch", USAGE, "missing file operand");
    }
    let mut ok = true;
    for f in &a.operands {
        if let Err(e) = OpenOptions::new().read(true).write(true).create(true).truncate(false).open(f).and_then(now) {
            ok = false;
            fail("touch", f, &e);
        }
    }
    status(ok)
}

/// std's `set_modified` where it works. Where it is Unsupported (Vireo: no
/// `set_times`) the last byte is written back over itself (an empty file is
/// grown to one byte and cut back), so the content stays and the file system
/// stamps the modification time as for any write.
fn now(mut file: File) -> io::Result<()> {
    match file.set_modified(SystemTime::now()) {
        Err(e) if e.kind() == io::ErrorKind::Unsupported => {}
        r => return r,
    }
    let len = file.metadata()?.len();
    if len == 0 {
        file.set_len(1)?;
        return file.set_len(0);
    }
    let mut last = [0u8];
    file.seek(SeekFrom::Start(len - 1))?;
    file.read_exact(&mut last)?;
    file.seek(SeekFrom::Start(len - 1))?;
    file.write_all(&last)
}
