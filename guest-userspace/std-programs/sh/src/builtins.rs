//! Commands the shell runs itself: those that change the shell (`cd`,
//! `export`, `unset`, `exit`, `poweroff`, `reboot`) and a few small ones
//! (`pwd`, `echo`, `true`, `false`, `help`).
use crate::exec::{assignment, Shell};
use std::io::Write;

pub const BUILTINS: [&str; 11] =
    ["cd", "echo", "exit", "export", "false", "help", "poweroff", "pwd", "reboot", "true", "unset"];

/// Exit status of the shell that asks init to restart the system
/// (init: `vireo_rt::pv_abi::exit::init::REBOOT_REQUEST`).
pub const REBOOT_STATUS: i32 = pv_abi::exit::init::REBOOT_REQUEST;

pub fn is_builtin(name: &str) -> bool {
    BUILTINS.contains(&name)
}

/// Runs builtin `args[0]`; its status.
pub fn run(sh: &mut Shell, args: &[String], out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    let rest = &args[1..];
    let r = match args[0].as_str() {
        "cd" => cd(rest),
        "pwd" => std::env::current_dir().map_err(|e| crate::error_text(&e)).and_then(|d| {
            writeln!(out, "{}", d.display()).map_err(|e| crate::error_text(&e))?;
            Ok(0)
        }),
        "echo" => echo(rest, out),
        "export" => export(rest, out),
        "unset" => {
            rest.iter().for_each(|n| std::env::remove_var(n));
            Ok(0)
        }
        "exit" => match rest.first().map(|s| s.parse::<i32>()) {
            None => {
                sh.exit = Some(sh.status);
                Ok(sh.status)
            }
            Some(Ok(code)) => {
                sh.exit = Some(code & 0xff);
                Ok(code & 0xff)
            }
            Some(Err(_)) => Err(format!("exit: {}: numeric argument required", rest[0])),
        },
        // The login shell's end is init's cue: it unmounts `/` cleanly and
        // powers off with the shell's status (docs/shell.md).
        "poweroff" => {
            sh.exit = Some(0);
            Ok(0)
        }
        "reboot" => {
            sh.exit = Some(REBOOT_STATUS);
            Ok(0)
        }
        "true" => Ok(0),
        "false" => Ok(1),
        "help" => {
            let _ = writeln!(out, "builtins: {}", BUILTINS.join(" "));
            let _ = writeln!(out, "other commands are programs found in $PATH (default /bin)");
            Ok(0)
        }
        other => Err(format!("{other}: not a builtin")),
    };
    match r {
        Ok(status) => status,
        Err(msg) => {
            let _ = writeln!(err, "sh: {msg}");
            1
        }
    }
}

fn cd(args: &[String]) -> Result<i32, String> {
    let target = match args.first() {
        Some(d) => d.clone(),
        None => std::env::var("HOME").unwrap_or_else(|_| "/".into()),
    };
    if let Err(e) = std::env::set_current_dir(&target) {
        return Err(format!("cd: {target}: {}", crate::error_text(&e)));
    }
    if let Ok(d) = std::env::current_dir() {
        std::env::set_var("PWD", d);
    }
    Ok(0)
}

fn echo(args: &[String], out: &mut dyn Write) -> Result<i32, String> {
    let (newline, words) = match args.first().map(String::as_str) {
        Some("-n") => (false, &args[1..]),
        _ => (true, args),
    };
    let mut line = words.join(" ");
    if newline {
        line.push('\n');
    }
    out.write_all(line.as_bytes()).map_err(|e| format!("echo: {}", crate::error_text(&e)))?;
    Ok(0)
}

fn export(args: &[String], out: &mut dyn Write) -> Result<i32, String> {
    if args.is_empty() {
        let mut vars: Vec<(String, String)> = std::env::vars().collect();
        vars.sort();
        for (k, v) in vars {
            let _ = writeln!(out, "export {k}='{}'", v.replace('\'', "'\\''"));
        }
        return Ok(0);
    }
    for a in args {
        match assignment(a) {
            Some((k, v)) => std::env::set_var(k, v),
            // `export NAME` of a variable the shell holds is a no-op: every
            // variable is in the environment already.
            None if a.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') && !a.is_empty() => {}
            None => return Err(format!("export: `{a}': not a valid identifier")),
        }
    }
    Ok(0)
}
