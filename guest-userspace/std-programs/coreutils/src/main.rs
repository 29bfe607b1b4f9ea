//! `coreutils`: small tools in one program, picked by the name it was run
//! as (`/bin/cat` is a copy of it) or by its first argument
//! (`coreutils cat FILE`). Each takes `--help`. Plain std: nothing here is
//! Vireo-specific.
use std::io::{self, Read, Write};
use std::process::ExitCode;
use std::time::Duration;

const TOOLS: [(&str, &str); 2] = [
    ("cat", "usage: cat [FILE...]\nCopies each FILE (or stdin, also for `-`) to stdout."),
    ("sleep", "usage: sleep SECONDS\nWaits SECONDS (a decimal number, e.g. 0.5)."),
];

fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().collect();
    let name = args.first().map(|a| a.rsplit('/').next().unwrap_or(a).to_string()).unwrap_or_default();
    if name == "coreutils" {
        args.remove(0);
    }
    let Some(tool) = args.first().map(|a| a.rsplit('/').next().unwrap_or(a).to_string()) else {
        return usage();
    };
    let Some((_, help)) = TOOLS.iter().find(|(n, _)| *n == tool) else {
        eprintln!("coreutils: {tool}: no such tool");
        return usage();
    };
    let rest = &args[1..];
    if rest.iter().any(|a| a == "--help") {
        println!("{help}");
        return ExitCode::SUCCESS;
    }
    match tool.as_str() {
        "cat" => cat(rest),
        _ => sleep(rest, help),
    }
}

fn usage() -> ExitCode {
    let names: Vec<&str> = TOOLS.iter().map(|(n, _)| *n).collect();
    eprintln!("usage: coreutils TOOL [ARGS...] (or run it as TOOL); tools: {}", names.join(" "));
    ExitCode::from(2)
}

fn cat(files: &[String]) -> ExitCode {
    let mut out = io::stdout().lock();
    let mut status = ExitCode::SUCCESS;
    let stdin = ["-".to_string()];
    for f in if files.is_empty() { &stdin[..] } else { files } {
        let copied = if f == "-" {
            copy(&mut io::stdin().lock(), &mut out)
        } else {
            std::fs::File::open(f).and_then(|mut file| copy(&mut file, &mut out))
        };
        if let Err(e) = copied {
            if e.kind() == io::ErrorKind::NotConnected || e.kind() == io::ErrorKind::BrokenPipe {
                return ExitCode::FAILURE; // the reader went away
            }
            eprintln!("cat: {f}: {}", describe(&e));
            status = ExitCode::FAILURE;
        }
    }
    status
}

fn copy(from: &mut dyn Read, to: &mut dyn Write) -> io::Result<()> {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = from.read(&mut buf)?;
        if n == 0 {
            return to.flush();
        }
        to.write_all(&buf[..n])?;
    }
}

fn describe(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::NotFound => "No such file or directory".into(),
        io::ErrorKind::IsADirectory => "Is a directory".into(),
        _ => e.to_string(),
    }
}

fn sleep(args: &[String], help: &str) -> ExitCode {
    match args.first().map(|a| a.parse::<f64>()) {
        Some(Ok(s)) if s >= 0.0 && s.is_finite() => {
            std::thread::sleep(Duration::from_secs_f64(s));
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!("{help}");
            ExitCode::from(2)
        }
    }
}
