//! The command line.
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

pub const USAGE: &str = "\
usage: httpd [--root DIR] [--port N] [--addr IP] [--threads N] [--quiet]
             [--header-timeout S] [--idle-timeout S] [--write-timeout S] [--max-requests N]
             [--cache-ms N]
Serves the files under DIR (default /srv/www) over HTTP/1.1 (GET, HEAD, keep-alive).
  --root DIR           the served directory (default /srv/www)
  --port N             TCP port (default 80; 0 picks a free one, printed at start)
  --addr IP            address to listen on (default 0.0.0.0)
  --threads N          connections served at once, one thread each (default 256,
                       at most 500); one more is answered 503 and closed
  --quiet              no request log on stdout
  --header-timeout S   a request head must arrive within S seconds (default 10)
  --idle-timeout S     a kept-alive connection may idle S seconds (default 5)
  --write-timeout S    each 64 KiB of a response must be taken within S seconds (default 10)
  --max-requests N     requests per connection before it is closed (default 1000)
  --cache-ms N         keep files up to 64 KiB in memory N ms after reading them
                       (default 1000; 0: read every request from disk)
  --help               this text";

/// The most threads a Vireo process may have is 512; keep room for ours.
pub const MAX_THREADS: usize = 500;

#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    pub root: PathBuf,
    pub addr: IpAddr,
    pub port: u16,
    pub threads: usize,
    pub quiet: bool,
    pub header_timeout: Duration,
    pub idle_timeout: Duration,
    pub write_timeout: Duration,
    pub max_requests: u32,
    pub cache_ttl: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            root: PathBuf::from("/srv/www"),
            addr: IpAddr::from([0, 0, 0, 0]),
            port: 80,
            threads: 256,
            quiet: false,
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(5),
            write_timeout: Duration::from_secs(10),
            max_requests: 1000,
            cache_ttl: Duration::from_secs(1),
        }
    }
}

/// What the command line asks for.
#[derive(Debug, PartialEq)]
pub enum Command {
    Serve(Config),
    Help,
}

/// A bad command line: one line for stderr (then exit 2).
#[derive(Debug, PartialEq, Eq)]
pub enum ArgError {
    Unknown(String),
    MissingValue(&'static str),
    BadValue(&'static str, String),
}

impl std::fmt::Display for ArgError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ArgError::Unknown(a) => write!(f, "unknown argument {a:?} (try --help)"),
            ArgError::MissingValue(flag) => write!(f, "{flag} needs a value (try --help)"),
            ArgError::BadValue(flag, v) => write!(f, "bad value {v:?} for {flag} (try --help)"),
        }
    }
}

pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Command, ArgError> {
    let mut c = Config::default();
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        let flag: &'static str = match a.as_str() {
            "--help" | "-h" => return Ok(Command::Help),
            "--quiet" | "-q" => {
                c.quiet = true;
                continue;
            }
            "--root" => "--root",
            "--port" => "--port",
            "--addr" => "--addr",
            "--threads" => "--threads",
            "--header-timeout" => "--header-timeout",
            "--idle-timeout" => "--idle-timeout",
            "--write-timeout" => "--write-timeout",
            "--max-requests" => "--max-requests",
            "--cache-ms" => "--cache-ms",
            _ => return Err(ArgError::Unknown(a)),
        };
        let v = it.next().ok_or(ArgError::MissingValue(flag))?;
        let bad = || ArgError::BadValue(flag, v.clone());
        match flag {
            "--root" if !v.is_empty() => c.root = PathBuf::from(&v),
            "--port" => c.port = v.parse().map_err(|_| bad())?,
            "--addr" => c.addr = v.parse().map_err(|_| bad())?,
            "--threads" => c.threads = v.parse().ok().filter(|n| (1..=MAX_THREADS).contains(n)).ok_or_else(bad)?,
            "--header-timeout" => c.header_timeout = seconds(&v).ok_or_else(bad)?,
            "--idle-timeout" => c.idle_timeout = seconds(&v).ok_or_else(bad)?,
            "--write-timeout" => c.write_timeout = seconds(&v).ok_or_else(bad)?,
            "--max-requests" => c.max_requests = v.parse().ok().filter(|&n| n >= 1).ok_or_else(bad)?,
            "--cache-ms" => c.cache_ttl = Duration::from_millis(v.parse().map_err(|_| bad())?),
            _ => return Err(bad()),
        }
    }
    Ok(Command::Serve(c))
}

/// Seconds, possibly fractional, from 1 ms to one day.
fn seconds(v: &str) -> Option<Duration> {
    let s: f64 = v.parse().ok()?;
    (0.001..=86_400.0).contains(&s).then(|| Duration::from_secs_f64(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> Result<Command, ArgError> {
        parse(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn defaults_and_flags() {
        assert_eq!(p(&[]), Ok(Command::Serve(Config::default())));
        assert_eq!(p(&["--help"]), Ok(Command::Help));
        let Ok(Command::Serve(c)) = p(&[
            "--root",
            "/x",
            "--port",
            "8080",
            "--addr",
            "127.0.0.1",
            "--threads",
            "8",
            "--quiet",
            "--header-timeout",
            "0.5",
            "--max-requests",
            "3",
            "--cache-ms",
            "0",
        ]) else {
            panic!("did not parse");
        };
        assert_eq!(c.root, PathBuf::from("/x"));
        assert_eq!((c.port, c.threads, c.quiet, c.max_requests), (8080, 8, true, 3));
        assert_eq!(c.addr, IpAddr::from([127, 0, 0, 1]));
        assert_eq!(c.header_timeout, Duration::from_millis(500));
        assert_eq!(c.cache_ttl, Duration::ZERO);
    }

    #[test]
    fn bad_command_lines() {
        assert_eq!(p(&["--nope"]), Err(ArgError::Unknown("--nope".into())));
        assert_eq!(p(&["--port"]), Err(ArgError::MissingValue("--port")));
        for (f, v) in [
            ("--port", "65536"),
            ("--port", "-1"),
            ("--threads", "0"),
            ("--threads", "501"),
            ("--addr", "x"),
            ("--root", ""),
            ("--idle-timeout", "0"),
            ("--idle-timeout", "NaN"),
            ("--max-requests", "0"),
            ("--cache-ms", "-1"),
        ] {
            assert!(matches!(p(&[f, v]), Err(ArgError::BadValue(..))), "{f} {v}");
        }
    }
}
