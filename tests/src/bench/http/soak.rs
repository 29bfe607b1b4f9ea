//! `--soak MINUTES`: issue 12's by-hand soak. One guest (Vireo, or Linux
//! with --no-vireo), wrk at 32 connections for a minute at a time, a mark
//! after each minute: requests/s, errors, instructions per request and free
//! memory over time. Each minute's line is printed as it comes.

use serde_json::{json, Value};

use super::super::fs::{date, show};
use super::parse::{Mark, Wrk};
use super::run::{self, Booted};
use super::{linux, log, Options};

const CONNS: u32 = 32;
const MINUTE_S: u64 = 60;

#[derive(Debug)]
pub struct Minute {
    pub n: u64,
    pub wrk: Result<Wrk, String>,
    pub mark: Result<Mark, String>,
}

#[derive(Debug, Default)]
pub struct Soak {
    pub guest: &'static str,
    pub command: String,
    pub date: String,
    pub minutes_asked: u64,
    pub unavailable: Option<String>,
    pub start: Option<Mark>,
    pub minutes: Vec<Minute>,
    pub outcome: String,
}

fn line(m: &Minute, prev: Option<&Mark>) -> String {
    let w = match &m.wrk {
        Ok(w) => format!("{:.0} requests/s, {} errors", w.rps, w.errors()),
        Err(e) => format!("wrk: {e}"),
    };
    let k = match (&m.mark, prev, &m.wrk) {
        (Ok(a), Some(b), Ok(w)) => super::parse::instr_per(b, a, w.requests)
            .map(|i| format!(", {} instr/request", super::super::stats::fmt_insns(i)))
            .unwrap_or_default(),
        _ => String::new(),
    };
    let f = match &m.mark {
        Ok(Mark { free_kib: Some(f), .. }) => format!("free {f} KiB"),
        Ok(_) => "free unknown".into(),
        Err(e) => e.clone(),
    };
    format!("minute {:>3}: {w}{k}; {f}", m.n)
}

fn soak_guest(b: &mut Booted, s: &mut Soak) {
    s.start = run::mark(&mut b.con).ok();
    let mut prev = s.start;
    for n in 1..=s.minutes_asked {
        let wrk = run::wrk(b.port, CONNS, MINUTE_S);
        let mark = run::mark(&mut b.con);
        let m = Minute { n, wrk, mark };
        println!("{}", line(&m, prev.as_ref()));
        prev = m.mark.as_ref().ok().copied().or(prev);
        let dead = b.con.exited().is_some();
        s.minutes.push(m);
        if dead {
            break;
        }
    }
}

pub fn run(opts: &Options, minutes: u64) -> Soak {
    let mut s = Soak { date: date(), minutes_asked: minutes, ..Default::default() };
    let base = match run::base_image(opts) {
        Ok(b) => b,
        Err(e) => {
            s.unavailable = Some(e);
            return s;
        }
    };
    let cmd = if opts.vireo {
        s.guest = "Vireo";
        run::vireo_cmd(opts)
    } else {
        s.guest = "Linux";
        log("preparing the Linux guest (build/linux)");
        linux::prepare(&opts.build.join("linux")).map(|g| run::qemu(&g.kernel, &g.initramfs, linux::CMDLINE))
    };
    let img = opts.out_dir.join("http-soak.img");
    let booted = cmd.and_then(|c| {
        s.command = show(&c);
        super::super::fs::image::fresh_copy(&base, &img)?;
        log(&format!("{}: soak for {minutes} min at {CONNS} connections", s.guest));
        run::boot(c, &img)
    });
    match booted {
        Ok(mut b) => {
            soak_guest(&mut b, &mut s);
            let _ = b.con.send("quit");
            s.outcome = b.con.finish(std::time::Duration::from_secs(60));
        }
        Err(e) => s.unavailable = Some(e),
    }
    let _ = std::fs::remove_file(&img);
    let _ = std::fs::remove_file(&base);
    s
}

/// Total errors, and free memory at the start, lowest and at the end (KiB).
pub fn summary(s: &Soak) -> (u64, Option<u64>, Option<u64>, Option<u64>) {
    let errors = s.minutes.iter().filter_map(|m| m.wrk.as_ref().ok()).map(Wrk::errors).sum();
    let free: Vec<u64> = s.minutes.iter().filter_map(|m| m.mark.as_ref().ok()?.free_kib).collect();
    (errors, s.start.and_then(|m| m.free_kib), free.iter().min().copied(), free.last().copied())
}

pub fn table(s: &Soak) -> String {
    let mut t = format!("\nHTTP soak: {}, wrk -c {CONNS}, {} min asked ({})\n", s.guest, s.minutes_asked, s.date);
    if let Some(u) = &s.unavailable {
        return t + &format!("{}: not available: {u}\n", s.guest);
    }
    let mut prev = s.start;
    for m in &s.minutes {
        t += &line(m, prev.as_ref());
        t.push('\n');
        prev = m.mark.as_ref().ok().copied().or(prev);
    }
    let (errors, start, low, end) = summary(s);
    let kib = |v: Option<u64>| v.map_or("n/a".into(), |k| format!("{k} KiB"));
    t += &format!(
        "{} minute(s), {errors} errors; free memory at the start {}, lowest {}, at the end {}; {}\n",
        s.minutes.len(),
        kib(start),
        kib(low),
        kib(end),
        s.outcome
    );
    t
}

pub fn json(s: &Soak) -> Value {
    let minutes: Vec<Value> = s
        .minutes
        .iter()
        .map(|m| {
            json!({"minute": m.n,
                   "requests_per_s": m.wrk.as_ref().ok().map(|w| w.rps),
                   "requests": m.wrk.as_ref().ok().map(|w| w.requests),
                   "errors": m.wrk.as_ref().ok().map(Wrk::errors),
                   "socket_errors_detail": m.wrk.as_ref().ok().and_then(|w| w.socket_detail.clone()),
                   "wrk_error": m.wrk.as_ref().err(),
                   "free_kib": m.mark.as_ref().ok().and_then(|k| k.free_kib),
                   "uptime_ns": m.mark.as_ref().ok().map(|k| k.uptime_ns),
                   "idle_ns": m.mark.as_ref().ok().map(|k| k.idle_ns),
                   "mark_error": m.mark.as_ref().err()})
        })
        .collect();
    let (errors, start, low, end) = summary(s);
    json!({"guest": s.guest, "command": s.command, "date": s.date, "minutes_asked": s.minutes_asked,
           "unavailable": s.unavailable, "connections": CONNS, "minutes": minutes, "errors": errors,
           "free_kib_start": start, "free_kib_lowest": low, "free_kib_end": end, "outcome": s.outcome})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minutes_and_summary() {
        let mk = |free| Mark { uptime_ns: 0, idle_ns: 0, free_kib: Some(free) };
        let w = |errs| Wrk { requests: 100, rps: 50.0, socket_errors: errs, ..Default::default() };
        let mut s = Soak { guest: "Vireo", minutes_asked: 3, start: Some(mk(1000)), ..Default::default() };
        s.minutes.push(Minute { n: 1, wrk: Ok(w(0)), mark: Ok(Mark { uptime_ns: 100_000, ..mk(990) }) });
        s.minutes.push(Minute { n: 2, wrk: Ok(w(2)), mark: Ok(mk(995)) });
        s.minutes.push(Minute { n: 3, wrk: Err("wrk did not finish".into()), mark: Err("no mark".into()) });
        assert_eq!(summary(&s), (2, Some(1000), Some(990), Some(995)));
        let t = table(&s);
        assert!(t.contains("minute   1: 50 requests/s, 0 errors, 1.0 k instr/request; free 990 KiB"), "{t}");
        assert!(t.contains("minute   3: wrk: wrk did not finish; no mark"), "{t}");
        assert!(t.contains("3 minute(s), 2 errors"), "{t}");
        assert_eq!(json(&s)["errors"], 2);
        let u = Soak { guest: "Linux", unavailable: Some("skipped".into()), ..Default::default() };
        assert!(table(&u).contains("Linux: not available: skipped"));
    }
}
