//! `/bin/httpd`: serves the files of a directory (default `/srv/www`) over
//! HTTP/1.1 with keep-alive, GET and HEAD (docs/network.md, "httpd").
//! Plain std (std::net, std::fs, std::thread): the same source runs on a
//! Linux host, where its tests run (`make test-httpd`).
//!
//! Modules: `args` (command line), `http` (request heads), `path` (target
//! to segments, no escape), `files` (segments to a file under the root),
//! `response` (heads, files in 64 KiB chunks), `cache` (small files kept
//! briefly), `conn` (one connection's deadlines and keep-alive), `server`
//! (accept, worker pool), `log`.
//!
//! On start it prints `httpd: serving ROOT on ADDR:PORT (...)` (the port
//! really bound, so `--port 0` can be used) and then runs until killed.
//! Exit codes: 2 for a bad command line, 1 if the root or the port cannot
//! be used.

mod args;
mod cache;
mod conn;
mod files;
mod http;
mod log;
mod path;
mod response;
mod server;

use std::net::TcpListener;
use std::process::ExitCode;

use args::Command;
use files::Root;

fn main() -> ExitCode {
    let cfg = match args::parse(std::env::args().skip(1)) {
        Ok(Command::Serve(c)) => c,
        Ok(Command::Help) => {
            println!("{}", args::USAGE);
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("httpd: {e}");
            return ExitCode::from(2);
        }
    };
    let root = match Root::new(&cfg.root) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("httpd: cannot serve {}: {e}", cfg.root.display());
            return ExitCode::from(1);
        }
    };
    let listener = match TcpListener::bind((cfg.addr, cfg.port)) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("httpd: cannot listen on {}:{}: {e}", cfg.addr, cfg.port);
            return ExitCode::from(1);
        }
    };
    let at = listener.local_addr().map_or_else(|_| format!("{}:{}", cfg.addr, cfg.port), |a| a.to_string());
    println!(
        "httpd: serving {} on {at} (up to {} connections{})",
        root.path().display(),
        cfg.threads,
        if cfg.quiet { ", no request log" } else { "" }
    );
    let cache = cache::Cache::new(cfg.cache_ttl);
    server::run(listener, conn::Site { root, cache, cfg })
}
