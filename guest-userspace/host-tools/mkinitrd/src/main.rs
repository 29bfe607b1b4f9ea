//! `mkinitrd -o OUT [--fixtures] [--skip-missing] DEST=SRC ...`
//!
//! Writes a cpio newc archive holding each SRC file at DEST (parent
//! directories implied, files mode 0100755). `--fixtures` adds the
//! malformed ELF images under `test/elf/`; `--skip-missing` warns about and
//! leaves out a SRC that does not exist (for programs not built yet)
//! instead of failing.
use mkinitrd::{cpio, fixtures};
use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "usage: mkinitrd -o OUT [--fixtures] [--skip-missing] DEST=SRC ...";

struct Options {
    out: PathBuf,
    fixtures: bool,
    skip_missing: bool,
    files: Vec<(String, PathBuf)>,
}

fn parse_args(args: impl Iterator<Item = String>) -> Result<Options, String> {
    let mut args = args.peekable();
    let (mut out, mut fixtures, mut skip_missing, mut files) = (None, false, false, Vec::new());
    while let Some(a) = args.next() {
        match a.as_str() {
            "-o" => out = Some(PathBuf::from(args.next().ok_or("-o needs a path")?)),
            "--fixtures" => fixtures = true,
            "--skip-missing" => skip_missing = true,
            "-h" | "--help" => return Err(USAGE.to_string()),
            _ => match a.split_once('=') {
                Some((dest, src)) if !a.starts_with('-') && !src.is_empty() => {
                    files.push((dest.to_string(), PathBuf::from(src)))
                }
                _ => return Err(format!("unexpected argument {a:?}\n{USAGE}")),
            },
        }
    }
    let out = out.ok_or_else(|| format!("no output file\n{USAGE}"))?;
    Ok(Options { out, fixtures, skip_missing, files })
}

fn run(opts: &Options) -> Result<(), String> {
    let mut w = cpio::Writer::new();
    let mut count = 0;
    for (dest, src) in &opts.files {
        let data = match std::fs::read(src) {
            Ok(d) => d,
            Err(e) if opts.skip_missing && e.kind() == std::io::ErrorKind::NotFound => {
                eprintln!("mkinitrd: warning: {} not built yet; {dest} left out", src.display());
                continue;
            }
            Err(e) => return Err(format!("{}: {e}", src.display())),
        };
        w.add_file(dest, &data).map_err(|e| e.to_string())?;
        count += 1;
    }
    if opts.fixtures {
        for f in fixtures::all() {
            w.add_file(&format!("{}/{}", fixtures::DIR, f.name), &f.image).map_err(|e| e.to_string())?;
            count += 1;
        }
    }
    let archive = w.finish();
    if let Some(dir) = opts.out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    // Write then rename, so a failed run never leaves half an archive for QEMU to boot.
    let tmp = opts.out.with_extension("tmp");
    std::fs::write(&tmp, &archive).map_err(|e| format!("{}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, &opts.out).map_err(|e| format!("{}: {e}", opts.out.display()))?;
    eprintln!("mkinitrd: {}: {count} files, {} bytes", opts.out.display(), archive.len());
    Ok(())
}

fn main() -> ExitCode {
    match parse_args(std::env::args().skip(1)).and_then(|o| run(&o)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mkinitrd: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> impl Iterator<Item = String> + '_ {
        s.split_whitespace().map(String::from)
    }

    #[test]
    fn parses_options_and_pairs() {
        let o = parse_args(args("-o build/i.cpio --fixtures init=target/init bin/sh=/tmp/sh")).unwrap();
        assert_eq!(o.out, PathBuf::from("build/i.cpio"));
        assert!(o.fixtures && !o.skip_missing);
        assert_eq!(o.files, [("init".into(), "target/init".into()), ("bin/sh".into(), "/tmp/sh".into())]);
    }

    #[test]
    fn rejects_bad_arguments() {
        assert!(parse_args(args("init=x")).is_err(), "no -o");
        assert!(parse_args(args("-o")).is_err());
        assert!(parse_args(args("-o x --bogus")).is_err());
        assert!(parse_args(args("-o x justaname")).is_err());
        assert!(parse_args(args("-o x init=")).is_err());
    }

    #[test]
    fn writes_an_archive_with_fixtures_and_skips_missing() {
        let dir = std::env::temp_dir().join(format!("mkinitrd-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let prog = dir.join("prog");
        std::fs::write(&prog, b"program bytes").unwrap();
        let out = dir.join("sub/initrd.cpio");
        let opts = Options {
            out: out.clone(),
            fixtures: true,
            skip_missing: true,
            files: vec![("init".into(), prog.clone()), ("bin/missing".into(), dir.join("nope"))],
        };
        run(&opts).unwrap();
        let members = cpio::read(&std::fs::read(&out).unwrap()).unwrap();
        assert_eq!(members[0].name, "init");
        assert_eq!(members[0].data, b"program bytes");
        assert!(members.iter().all(|m| m.name != "bin/missing"));
        let n_fixtures = members.iter().filter(|m| m.name.starts_with("test/elf/")).count();
        assert_eq!(n_fixtures, fixtures::all().len());
        // Without --skip-missing a missing program is an error.
        assert!(run(&Options { skip_missing: false, ..opts }).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
