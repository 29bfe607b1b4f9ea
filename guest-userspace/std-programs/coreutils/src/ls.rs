//! `ls [-l] [-a] [PATH...]`: names in directories, sorted; files named
//! directly first, then each directory (with a `PATH:` header when there
//! are several operands).
use std::fs::Metadata;
use std::io::{self, Write};
use std::process::ExitCode;
use std::time::UNIX_EPOCH;

use crate::common::{bad_args, fail, reader_gone};

pub const USAGE: &str = "usage: ls [-l] [-a] [PATH...]\n\
Lists each directory PATH (default .), sorted by name, or names the file PATH.\n\
-a: include names starting with '.'; -l: long form: type (d directory, - file, ? other), rw/r- (writable or\n\
read-only, as far as the file system tells), size in bytes, modification time (UTC), name. -1 is accepted (always one a line).";

/// One name to show, with what `-l` needs.
struct Entry {
    name: String,
    meta: Option<Metadata>,
}

pub fn run(args: &[String]) -> ExitCode {
    let a = match crate::args::parse(args, "la1", "") {
        Ok(a) => a,
        Err(e) => return bad_args("ls", USAGE, &e),
    };
    let (long, all) = (a.has('l'), a.has('a'));
    let paths = if a.operands.is_empty() { vec![".".to_string()] } else { a.operands.clone() };
    let mut ok = true;
    let mut files = Vec::new();
    let mut dirs = Vec::new();
    for p in &paths {
        match std::fs::metadata(p) {
            Ok(m) if m.is_dir() => dirs.push(p.clone()),
            Ok(m) => files.push(Entry { name: p.clone(), meta: Some(m) }),
            Err(e) => {
                ok = false;
                fail("ls", p, &e);
            }
        }
    }
    files.sort_by(|x, y| x.name.cmp(&y.name));
    dirs.sort();
    let mut out = io::stdout().lock();
    let mut blocks: Vec<String> = Vec::new();
    if !files.is_empty() {
        blocks.push(render(&files, long));
    }
    for d in &dirs {
        match list(d, all, long) {
            Ok(entries) => {
                let head = if paths.len() > 1 { format!("{d}:\n") } else { String::new() };
                blocks.push(head + &render(&entries, long));
            }
            Err(e) => {
                ok = false;
                fail("ls", d, &e);
            }
        }
    }
    if let Err(e) = out.write_all(blocks.join("\n").as_bytes()).and_then(|()| out.flush()) {
        if !reader_gone(&e) {
            fail("ls", "stdout", &e);
        }
        return ExitCode::FAILURE;
    }
    crate::common::status(ok)
}

fn list(dir: &str, all: bool, long: bool) -> io::Result<Vec<Entry>> {
    let mut entries = Vec::new();
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') && !all {
            continue;
        }
        let meta = if long { e.metadata().ok() } else { None };
        entries.push(Entry { name, meta });
    }
    if all {
        // The listing may leave out `.` and `..` (Vireo's does).
        for (dot, path) in [(".", dir.to_string()), ("..", format!("{dir}/.."))] {
            if !entries.iter().any(|e| e.name == dot) {
                let meta = if long { std::fs::metadata(&path).ok() } else { None };
                entries.push(Entry { name: dot.into(), meta });
            }
        }
    }
    entries.sort_by(|x, y| x.name.cmp(&y.name));
    Ok(entries)
}

fn render(entries: &[Entry], long: bool) -> String {
    let mut s = String::new();
    for e in entries {
        if long {
            s += &long_line(&e.name, e.meta.as_ref().map(facts));
        } else {
            s += &e.name;
        }
        s.push('\n');
    }
    s
}

/// What `-l` shows of a file: kind, writable, size, modified (Unix seconds).
#[derive(Clone, Copy)]
struct Facts {
    kind: char,
    writable: bool,
    size: u64,
    modified: Option<u64>,
}

fn facts(m: &Metadata) -> Facts {
    let kind = if m.is_dir() {
        'd'
    } else if m.is_file() {
        '-'
    } else {
        '?'
    };
    let modified = m.modified().ok().and_then(|t| t.duration_since(UNIX_EPOCH).ok()).map(|d| d.as_secs());
    Facts { kind, writable: !m.permissions().readonly(), size: m.len(), modified }
}

fn long_line(name: &str, f: Option<Facts>) -> String {
    match f {
        None => format!("?? {:>10} {:16} {name}", "?", "?"),
        Some(f) => {
            let time = f.modified.map_or_else(|| "?".into(), crate::date::short);
            let rw = if f.writable { "rw" } else { "r-" };
            format!("{}{rw} {:>10} {time:16} {name}", f.kind, f.size)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lines_line_up() {
        let f = Facts { kind: 'd', writable: true, size: 4096, modified: Some(1_709_251_199) };
        assert_eq!(long_line("etc", Some(f)), "drw       4096 2024-02-29 23:59 etc");
        let g = Facts { kind: '-', writable: false, size: 7, modified: None };
        assert_eq!(long_line("a b", Some(g)), "-r-          7 ?                a b");
        assert_eq!(long_line("x", None), "??          ? ?                x");
    }

    #[test]
    fn short_listing_is_one_name_a_line() {
        let e = [Entry { name: "a".into(), meta: None }, Entry { name: "b".into(), meta: None }];
        assert_eq!(render(&e, false), "a\nb\n");
    }
}
