//! One guest run: boot with the disk and the network, wait until the port
//! answers the small page, then for each connection count `mark`, wrk,
//! `mark`; then the bulk download between two marks; then `quit`.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use super::super::capture;
use super::super::fs::{date, image, show};
use super::super::measure::qemu_with_cmdline;
use super::console::Console;
use super::parse::{self, Mark, Wrk};
use super::{client, linux, log, site, Options, CONNECTIONS};

/// Vireo's command line: init runs bench-mark, which runs httpd on the site.
pub const VIREO_CMDLINE: &str = "-- /bin/bench-mark /bin/httpd --root /srv/bench --quiet --port 80";
/// From QEMU's start to the first good answer (Linux boots in about 15 s here).
const READY_TIMEOUT: Duration = Duration::from_secs(180);
const MARK_TIMEOUT: Duration = Duration::from_secs(60);
const QUIT_TIMEOUT: Duration = Duration::from_secs(60);
/// Each read of the bulk download.
const BULK_TIMEOUT: Duration = Duration::from_secs(60);

/// A free TCP port on 127.0.0.1 for `hostfwd` (free when asked; QEMU binds it next).
pub fn free_port() -> Result<u16, String> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free port: {e}"))
}

/// The QEMU line both guests share, without the per-run disk and port.
/// `-icount shift=0,sleep=on`: the TSC counts guest instructions while the
/// vCPU runs, and follows the host's clock while it is halted (see
/// docs/benchmarks.md "HTTP" for why not sleep=off).
pub fn qemu(kernel: &Path, initrd: &Path, cmdline: &str) -> Command {
    let mut c = qemu_with_cmdline(kernel, Some(initrd), false, cmdline);
    c.args(["-icount", "shift=0,sleep=on"]);
    // Modern virtio-mmio (v2), what Vireo's drivers speak.
    c.args(["-global", "virtio-mmio.force-legacy=false"]);
    c
}

/// Adds the run's disk and network.
pub fn attach(cmd: &mut Command, img: &Path, port: u16) {
    cmd.arg("-drive")
        .arg(format!("file={},format=raw,if=none,id=d0,cache=writeback", img.display()))
        .args(["-device", "virtio-blk-device,drive=d0"]);
    cmd.arg("-netdev").arg(format!("user,id=n0,hostfwd=tcp:127.0.0.1:{port}-:80"));
    cmd.args(["-device", "virtio-net-device,netdev=n0"]);
}

/// A guest that answers HTTP.
pub struct Booted {
    pub con: Console,
    pub port: u16,
    pub ready_s: f64,
}

/// Boots `cmd` and waits until it serves the small page; `Err` says why not.
pub fn boot(mut cmd: Command, img: &Path) -> Result<Booted, String> {
    let port = free_port()?;
    attach(&mut cmd, img, port);
    let t0 = Instant::now();
    let mut con = Console::spawn(cmd).map_err(|e| format!("cannot start QEMU: {e}"))?;
    let want = site::small();
    let mut last_err = String::new();
    while t0.elapsed() < READY_TIMEOUT {
        // Console lines first: a guest that says why it cannot serve ends the wait.
        if let Some(e) = con.wait_for(Duration::from_millis(500), |l| l.contains("bench: error=")) {
            let why = e.split_once("bench: error=").map_or(e.clone(), |(_, w)| w.to_string());
            // The server's own last words (e.g. why it could not listen): what came
            // between `bench: started` and the error.
            let since = con.lines.iter().rposition(|l| l.contains("bench: started")).map_or(con.lines.len(), |i| i + 1);
            let before = con.lines[since..].iter().rev().find(|l| !l.trim().is_empty() && !l.contains("bench: "));
            return Err(match before {
                Some(b) => format!("{why} (console before it: {b:?})"),
                None => why,
            });
        }
        if let Some(st) = con.exited() {
            return Err(format!("the guest ended before serving ({st}); last console line: {:?}", con.last_line()));
        }
        match client::get(port, &format!("/{}", site::SMALL), Duration::from_secs(5)) {
            Ok(a) if a.status == 200 && a.body == want => {
                return Ok(Booted { con, port, ready_s: t0.elapsed().as_secs_f64() });
            }
            Ok(a) => last_err = format!("GET /{} gave {} with {} bytes", site::SMALL, a.status, a.body.len()),
            Err(e) => last_err = e,
        }
    }
    let last = con.last_line();
    con.finish(Duration::from_secs(1));
    Err(format!(
        "no answer on port {port} within {} s (last try: {last_err}; last console line: {last:?})",
        READY_TIMEOUT.as_secs()
    ))
}

/// Asks the guest for a mark.
pub fn mark(con: &mut Console) -> Result<Mark, String> {
    con.send("mark")?;
    let line = con.wait_for(MARK_TIMEOUT, |l| parse::mark(l).is_some() || l.contains("bench: error="));
    match line.as_deref().map(|l| (parse::mark(l), l)) {
        Some((Some(m), _)) => Ok(m),
        Some((None, l)) => Err(format!("mark: {l}")),
        None => Err(format!("no mark within {} s", MARK_TIMEOUT.as_secs())),
    }
}

/// `wrk --latency` against the small page, bounded.
/// wrk's per-request timeout. QEMU's `hostfwd` listens with a backlog of 1
/// (`ss -ltn` shows it), so when wrk opens 32 connections at once most
/// wait in the host kernel's queues before QEMU accepts them and the guest
/// sees a SYN at all: SYNs dropped while the accept queue is full are
/// resent after 1, 3, 7, 15 and 31 s. With 10 s a few first requests per
/// wrk run timed out on either guest, and with 30 s a few per soak
/// minute. That wait is the host's, not the guest's; a request slower
/// than this is still an error.
pub const WRK_TIMEOUT: &str = "60s";

pub fn wrk(port: u16, conns: u32, seconds: u64) -> Result<Wrk, String> {
    let mut c = Command::new("wrk");
    let threads = if conns > 1 { "2" } else { "1" };
    c.args(["-t", threads, "-c", &conns.to_string(), "-d", &format!("{seconds}s"), "--timeout", WRK_TIMEOUT]);
    c.arg("--latency");
    // A new TCP connection for every request, on both guests: what
    // targets.md counts ("small file, new TCP connection") and what busybox
    // httpd does anyway (it closes after each response). Without it wrk
    // keeps Vireo's connections alive and the figures leave out a
    // connection's set-up and teardown (docs/benchmarks.md "HTTP").
    c.args(["-H", "Connection: close"]);
    c.arg(format!("http://127.0.0.1:{port}/{}", site::SMALL));
    let cap = capture::run(c, Duration::from_secs(seconds + 120), None)
        .map_err(|e| format!("cannot run wrk ({e}); `make deps` installs it"))?;
    if cap.timed_out {
        return Err("wrk did not finish".into());
    }
    parse::wrk(&cap.stdout).map_err(|e| format!("{e}; wrk said: {}", cap.stderr.trim()))
}

/// One wrk load between two marks.
#[derive(Clone, Debug)]
pub struct Load {
    pub wrk: Wrk,
    pub before: Mark,
    pub after: Mark,
    /// With `--profile`: the plugin's snapshots just before and after wrk.
    pub snapshots: Option<(PathBuf, PathBuf)>,
}

/// The instruction-counting plugin's snapshots of one QEMU (`--profile`,
/// tests/profile/tbcount.c): `PREFIX.req` asks for the next, `PREFIX.N`.
pub struct Profiler {
    prefix: PathBuf,
    next: usize,
}

impl Profiler {
    /// The plugin argument for QEMU, snapshots going to `prefix`.N.
    pub fn new(plugin: &Path, prefix: PathBuf) -> (Profiler, String) {
        let arg = format!("{},prefix={}", plugin.display(), prefix.display());
        (Profiler { prefix, next: 0 }, arg)
    }

    /// Asks for a snapshot and waits (at most 10 s) until it is written.
    pub fn snapshot(&mut self) -> Result<PathBuf, String> {
        let req = self.prefix.with_extension("req");
        let out = PathBuf::from(format!("{}.{}", self.prefix.display(), self.next));
        std::fs::write(&req, b"").map_err(|e| format!("profile: {}: {e}", req.display()))?;
        let t = Instant::now();
        while !out.exists() {
            if t.elapsed() > Duration::from_secs(10) {
                return Err(format!("profile: no {} within 10 s (is the plugin loaded?)", out.display()));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        self.next += 1;
        Ok(out)
    }
}

impl Load {
    pub fn instr_per_req(&self) -> Option<f64> {
        parse::instr_per(&self.before, &self.after, self.wrk.requests)
    }
}

pub fn load(b: &mut Booted, conns: u32, seconds: u64, mut prof: Option<&mut Profiler>) -> Result<Load, String> {
    let before = mark(&mut b.con)?;
    let first = prof.as_deref_mut().map(Profiler::snapshot).transpose()?;
    let wrk = wrk(b.port, conns, seconds)?;
    let last = prof.map(Profiler::snapshot).transpose()?;
    let after = mark(&mut b.con)?;
    Ok(Load { wrk, before, after, snapshots: first.zip(last) })
}

/// The 64 MiB download.
#[derive(Clone, Debug)]
pub struct Bulk {
    pub seconds: f64,
    pub before: Mark,
    pub after: Mark,
}

impl Bulk {
    pub fn mb_per_s(&self) -> f64 {
        site::BULK_LEN as f64 / 1e6 / self.seconds
    }
    pub fn instr_per_mib(&self) -> Option<f64> {
        parse::instr_per(&self.before, &self.after, (site::BULK_LEN >> 20) as u64)
    }
}

fn bulk(b: &mut Booted, want: &[u8]) -> Result<Bulk, String> {
    let before = mark(&mut b.con)?;
    let a = client::get(b.port, &format!("/{}", site::BULK), BULK_TIMEOUT)?;
    let after = mark(&mut b.con)?;
    if a.status != 200 {
        return Err(format!("GET /{} gave {}", site::BULK, a.status));
    }
    if a.body != want {
        let at = a.body.iter().zip(want).position(|(x, y)| x != y).unwrap_or(a.body.len().min(want.len()));
        return Err(format!("wrong bytes: {} received, first difference at {at}", a.body.len()));
    }
    Ok(Bulk { seconds: a.seconds, before, after })
}

/// Everything one run measured.
#[derive(Debug, Default)]
pub struct Run {
    /// Per connection count (in [`CONNECTIONS`] order).
    pub loads: Vec<(u32, Result<Load, String>)>,
    pub bulk: Option<Result<Bulk, String>>,
    pub ready_s: f64,
    /// A mark taken as soon as the server answered: its guest time minus
    /// idle time is the instructions from the start to the first answer.
    pub ready_mark: Option<Mark>,
    /// How QEMU ended.
    pub outcome: String,
}

impl Run {
    /// Guest instructions (time minus idle time) from the start to the
    /// mark taken once the server first answered.
    pub fn instr_to_first_answer(&self) -> Option<u64> {
        self.ready_mark.and_then(|m| m.uptime_ns.checked_sub(m.idle_ns))
    }

    /// Free memory at the first mark and at the last.
    pub fn free_kib(&self) -> (Option<u64>, Option<u64>) {
        let mut marks = Vec::new();
        for (_, l) in &self.loads {
            if let Ok(l) = l {
                marks.extend([l.before, l.after]);
            }
        }
        if let Some(Ok(b)) = &self.bulk {
            marks.extend([b.before, b.after]);
        }
        (marks.first().and_then(|m| m.free_kib), marks.last().and_then(|m| m.free_kib))
    }
}

/// One guest's runs.
#[derive(Debug, Default)]
pub struct GuestRuns {
    pub name: &'static str,
    pub command: String,
    /// Why the guest could not serve at all.
    pub unavailable: Option<String>,
    pub runs: Vec<Run>,
    /// Runs after the first that did not boot, and why.
    pub failed: Vec<String>,
}

/// Everything `report` needs.
#[derive(Debug, Default)]
pub struct Results {
    pub vireo: GuestRuns,
    pub linux: GuestRuns,
    pub linux_version: Option<String>,
    pub linux_modules: Vec<String>,
    pub qemu: String,
    pub wrk: String,
    pub date: String,
    pub duration_s: u64,
    pub runs_asked: usize,
}

pub fn wrk_version() -> String {
    match Command::new("wrk").arg("--version").output() {
        Ok(o) => String::from_utf8_lossy(&o.stdout)
            .lines()
            .next()
            .unwrap_or("")
            .split(" Copyright")
            .next()
            .unwrap_or("")
            .trim()
            .to_string(),
        Err(e) => format!("wrk not found ({e}); run `make deps`"),
    }
}

/// Boots `cmd` with a fresh image and measures; `Err` when it could not serve.
fn one_run(
    mut cmd: Command,
    base: &Path,
    img: &Path,
    opts: &Options,
    want: &[u8],
    profile: Option<PathBuf>,
) -> Result<Run, String> {
    let mut prof = profile.and_then(|prefix| {
        let plugin = opts.profile.as_ref()?;
        let _ = std::fs::create_dir_all(prefix.parent()?);
        let (p, arg) = Profiler::new(plugin, prefix);
        cmd.arg("-plugin").arg(arg);
        Some(p)
    });
    image::fresh_copy(base, img).map_err(|e| format!("no image: {e}"))?;
    let r = boot(cmd, img);
    let mut b = match r {
        Ok(b) => b,
        Err(e) => {
            let _ = std::fs::remove_file(img);
            return Err(e);
        }
    };
    // At once, before any load: what the boot to a serving httpd cost.
    let ready_mark = mark(&mut b.con).ok();
    let mut run = Run { ready_s: b.ready_s, ready_mark, ..Default::default() };
    for c in CONNECTIONS {
        log(&format!("  wrk -c {c} for {} s", opts.duration_s));
        run.loads.push((c, load(&mut b, c, opts.duration_s, prof.as_mut())));
    }
    log("  bulk download");
    run.bulk = Some(bulk(&mut b, want));
    let _ = b.con.send("quit");
    run.outcome = b.con.finish(QUIT_TIMEOUT);
    let _ = std::fs::remove_file(img);
    Ok(run)
}

fn record(g: &mut GuestRuns, r: Result<Run, String>) {
    match r {
        Ok(run) => g.runs.push(run),
        Err(e) if g.runs.is_empty() => g.unavailable = Some(e),
        Err(e) => g.failed.push(e),
    }
}

/// The Vireo guest's command, or why it cannot run.
pub fn vireo_cmd(opts: &Options) -> Result<Command, String> {
    let (kernel, initrd) = (opts.build.join("kernel.elf"), opts.build.join("initrd.cpio"));
    if !kernel.exists() || !initrd.exists() {
        return Err(format!("{} or {} missing (run `make all`)", kernel.display(), initrd.display()));
    }
    let cmdline = std::env::var("VIREO_BENCH_HTTP_CMDLINE").ok().filter(|c| !c.trim().is_empty());
    Ok(qemu(&kernel, &initrd, cmdline.as_deref().unwrap_or(VIREO_CMDLINE)))
}

/// Makes the base image under `opts.out_dir`.
pub fn base_image(opts: &Options) -> Result<std::path::PathBuf, String> {
    let base = opts.out_dir.join("http-base.img");
    site::make_image(&base, &opts.build.join("disk-root")).map_err(|e| format!("cannot make the disk image: {e}"))?;
    Ok(base)
}

/// Runs both guests `opts.runs` times each, alternating.
pub fn run_all(opts: &Options) -> Results {
    let mut r = Results { date: date(), duration_s: opts.duration_s, runs_asked: opts.runs, ..Default::default() };
    r.qemu = super::super::measure::qemu_version().unwrap_or_else(|e| e);
    r.wrk = wrk_version();
    r.vireo.name = "Vireo";
    r.linux.name = "Linux";
    let base = match base_image(opts) {
        Ok(b) => b,
        Err(e) => {
            r.vireo.unavailable = Some(e.clone());
            r.linux.unavailable = Some(e);
            return r;
        }
    };
    let vireo = if opts.vireo { vireo_cmd(opts) } else { Err("skipped (--no-vireo)".into()) };
    match &vireo {
        Ok(c) => r.vireo.command = show(c),
        Err(e) => r.vireo.unavailable = Some(e.clone()),
    }
    let guest = if opts.linux {
        log("preparing the Linux guest (build/linux)");
        linux::prepare(&opts.build.join("linux"))
    } else {
        Err("skipped (--no-linux)".into())
    };
    let linux_cmd = |g: &linux::Guest| qemu(&g.kernel, &g.initramfs, linux::CMDLINE);
    match &guest {
        Ok(g) => {
            r.linux.command = show(&linux_cmd(g));
            r.linux_version = Some(g.version.clone());
            r.linux_modules = g.modules.clone();
        }
        Err(e) => r.linux.unavailable = Some(e.clone()),
    }
    let want = site::bulk();
    for i in 0..opts.runs {
        if let (None, Ok(_)) = (&r.vireo.unavailable, &vireo) {
            log(&format!("Vireo run {}/{}", i + 1, opts.runs));
            let prefix = opts.out_dir.join("profile").join(format!("vireo-run{}", i + 1));
            let res = vireo_cmd(opts)
                .and_then(|c| one_run(c, &base, &opts.out_dir.join("http-vireo.img"), opts, &want, Some(prefix)));
            record(&mut r.vireo, res);
        }
        if let (None, Ok(g)) = (&r.linux.unavailable, &guest) {
            log(&format!("Linux run {}/{}", i + 1, opts.runs));
            let res = one_run(linux_cmd(g), &base, &opts.out_dir.join("http-linux.img"), opts, &want, None);
            record(&mut r.linux, res);
        }
    }
    let _ = std::fs::remove_file(&base);
    r
}
