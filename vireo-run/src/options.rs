//! The command line: `vireo-run [OPTIONS] PROGRAM [ARGS...]`. Options come
//! before the program (cargo puts the runner's own words from
//! `.cargo/config.toml` there); everything after the program is its.
use std::ffi::OsString;
use std::path::PathBuf;

use crate::accel::AccelChoice;
use crate::error::RunError;

pub const USAGE: &str = "\
usage: vireo-run [OPTIONS] PROGRAM [ARGS...]

Boots Vireo in QEMU with PROGRAM (an x86_64-unknown-motor executable) as
/app/NAME, runs it with ARGS, shows what it prints (stdout and stderr, both
on the serial console) and exits with its status. As a cargo runner:
  [target.x86_64-unknown-motor]
  runner = \"/path/to/vireo/build/vireo-run\"
libtest harnesses (cargo test) get --nocapture: std on this target cannot
read a child's stdout and stderr at once, which capturing needs.

options:
  --accel auto|tcg|kvm  KVM when the host CPU has VMX or SVM and /dev/kvm runs
                        user space, else QEMU's TCG (default auto; also
                        VIREO_RUN_ACCEL)
  --cpus N              vCPUs (default 1)
  --mem SIZE            guest memory, QEMU syntax (default 512M)
  --disk FILE           attach FILE (an ext4 image) as virtio-blk: `/` is then it,
                        read-write; without it `/` is the initrd, read-only
  --net[=NETDEV]        attach a virtio-net card on QEMU's NETDEV (default
                        `user`, e.g. --net=user,hostfwd=tcp:127.0.0.1:8080-:80)
  --balloon             attach a virtio-balloon with free-page reporting
  --timeout SECS        stop the VM after SECS seconds (exit status 124)
  --verbose             show the whole console (kernel, init, I/O server)
  --kernel FILE         kernel ELF (default kernel.elf beside vireo-run)
  --initrd FILE         system initrd (default system.cpio beside vireo-run)
  --no-harness          never add --nocapture
exit status: the program's; 134 if it was killed or aborted; 124 on
--timeout; 125 if vireo-run could not run it (one line on stderr says why).
";

#[derive(Debug)]
pub struct Options {
    pub program: PathBuf,
    pub args: Vec<OsString>,
    pub accel: AccelChoice,
    pub cpus: u32,
    pub mem: String,
    pub disk: Option<PathBuf>,
    pub net: Option<String>,
    pub balloon: bool,
    pub timeout_s: Option<u64>,
    pub verbose: bool,
    pub kernel: Option<PathBuf>,
    pub initrd: Option<PathBuf>,
    pub harness_detect: bool,
}

pub enum Command {
    Help,
    Run(Options),
}

/// `env_accel` is `VIREO_RUN_ACCEL`; `--accel` wins over it.
pub fn parse(argv: impl IntoIterator<Item = OsString>, env_accel: Option<&str>) -> Result<Command, RunError> {
    let mut accel = match env_accel {
        Some(v) if !v.is_empty() => {
            AccelChoice::parse(v).map_err(|m| RunError::Usage(format!("VIREO_RUN_ACCEL: {m}")))?
        }
        _ => AccelChoice::Auto,
    };
    let mut o = Options {
        program: PathBuf::new(),
        args: Vec::new(),
        accel: AccelChoice::Auto,
        cpus: 1,
        mem: "512M".into(),
        disk: None,
        net: None,
        balloon: false,
        timeout_s: None,
        verbose: false,
        kernel: None,
        initrd: None,
        harness_detect: true,
    };
    let mut it = argv.into_iter();
    let program = loop {
        let Some(arg) = it.next() else { return Err(RunError::NoProgram) };
        let Some(s) = arg.to_str().filter(|s| s.starts_with("--")) else { break arg };
        let (name, inline) = match s.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (s, None),
        };
        let value = |it: &mut dyn Iterator<Item = OsString>| -> Result<String, RunError> {
            match inline.clone() {
                Some(v) => Ok(v),
                None => it
                    .next()
                    .and_then(|v| v.into_string().ok())
                    .ok_or_else(|| RunError::Usage(format!("{name} needs a value"))),
            }
        };
        match name {
            "--" => break it.next().ok_or(RunError::NoProgram)?,
            "--help" | "-h" => return Ok(Command::Help),
            "--accel" => accel = AccelChoice::parse(&value(&mut it)?).map_err(RunError::Usage)?,
            "--cpus" => o.cpus = number(name, &value(&mut it)?, 1, 64)? as u32,
            "--mem" => o.mem = value(&mut it)?,
            "--disk" => o.disk = Some(PathBuf::from(value(&mut it)?)),
            "--net" => o.net = Some(inline.clone().unwrap_or_else(|| "user".into())),
            "--balloon" => o.balloon = true,
            "--timeout" => o.timeout_s = Some(number(name, &value(&mut it)?, 1, u64::MAX)?),
            "--verbose" => o.verbose = true,
            "--kernel" => o.kernel = Some(PathBuf::from(value(&mut it)?)),
            "--initrd" => o.initrd = Some(PathBuf::from(value(&mut it)?)),
            "--no-harness" => o.harness_detect = false,
            _ => return Err(RunError::Usage(format!("unknown option {s}"))),
        }
    };
    o.accel = accel;
    o.program = PathBuf::from(program);
    o.args = it.collect();
    Ok(Command::Run(o))
}

fn number(name: &str, v: &str, min: u64, max: u64) -> Result<u64, RunError> {
    match v.parse::<u64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(RunError::Usage(format!("{name} {v:?}: expected a number from {min} to {max}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(words: &[&str], env: Option<&str>) -> Result<Options, RunError> {
        match parse(words.iter().map(OsString::from), env)? {
            Command::Run(o) => Ok(o),
            Command::Help => panic!("help"),
        }
    }

    #[test]
    fn options_before_the_program_and_the_rest_is_the_programs() {
        let o = run(&["--cpus", "2", "--net", "--disk=a.img", "prog", "--cpus", "x"], None).unwrap();
        assert_eq!((o.cpus, o.net.as_deref(), o.disk), (2, Some("user"), Some(PathBuf::from("a.img"))));
        assert_eq!(o.program, PathBuf::from("prog"));
        assert_eq!(o.args, ["--cpus", "x"].map(OsString::from));
    }

    #[test]
    fn accel_from_env_and_flag() {
        assert_eq!(run(&["p"], Some("tcg")).unwrap().accel, AccelChoice::Tcg);
        assert_eq!(run(&["--accel", "kvm", "p"], Some("tcg")).unwrap().accel, AccelChoice::Kvm);
        assert!(run(&["p"], Some("fast")).is_err());
    }

    #[test]
    fn bad_input_is_an_error() {
        assert!(matches!(run(&[], None), Err(RunError::NoProgram)));
        assert!(matches!(run(&["--cpus", "0", "p"], None), Err(RunError::Usage(_))));
        assert!(matches!(run(&["--frob", "p"], None), Err(RunError::Usage(_))));
        assert!(matches!(run(&["--timeout"], None), Err(RunError::Usage(_))));
        assert_eq!(run(&["--", "--odd-name"], None).unwrap().program, PathBuf::from("--odd-name"));
    }
}
