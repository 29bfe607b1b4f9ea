//! Running parsed commands: `;` lists, `&&`/`||`, pipelines, redirections.
//!
//! std on this target cannot give a child a file as stdio (`Stdio::from(File)`
//! panics) and sends a child's stderr wherever its stdout goes. So the shell
//! connects only pipes and the console to children and copies the rest
//! itself, one thread per stream: a redirected or piped stdout is a pipe the
//! shell reads (stderr then comes on a second pipe, copied to its own
//! target); `< file` is a pipe the shell fills from the file. A stage whose
//! stdout feeds the next stage hands that pipe on directly. A command with
//! no redirection and no pipe gets the console itself.
use crate::builtins;
use crate::console;
use crate::expand::{expand_words, word_text, Vars};
use crate::parse::{AndOr, Command as Cmd, Join, Pipeline, RedirKind};
use crate::wiring::{open_out, pump, Input, Shared, Sink};
use std::fs::File;
use std::io::{self, Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// `$?` of a command that could not be found.
pub const NOT_FOUND: i32 = 127;
/// `$?` of a command ended by Ctrl-C (or another process's kill).
pub const INTERRUPTED: i32 = 130;

pub struct Shell {
    pub status: i32,
    /// `$0`, `$1`, ...
    pub positional: Vec<String>,
    pub interactive: bool,
    /// Set by `exit`, `poweroff`, `reboot`: the shell ends with it.
    pub exit: Option<i32>,
}

impl Shell {
    pub fn new(positional: Vec<String>, interactive: bool) -> Self {
        Shell { status: 0, positional, interactive, exit: None }
    }

    /// Runs a script or command line; a syntax error is `$?` = 2.
    pub fn run_text(&mut self, text: &str) {
        match crate::parse::parse(text) {
            Ok(list) => {
                for and_or in &list {
                    self.run_and_or(and_or);
                    if self.exit.is_some() {
                        return;
                    }
                }
            }
            Err(e) => {
                eprintln!("sh: {e}");
                self.status = 2;
            }
        }
    }

    fn run_and_or(&mut self, a: &AndOr) {
        self.status = self.run_pipeline(&a.first);
        for (join, p) in &a.rest {
            if self.exit.is_some() {
                return;
            }
            let run = match join {
                Join::And => self.status == 0,
                Join::Or => self.status != 0,
            };
            if run {
                self.status = self.run_pipeline(p);
            }
        }
    }

    fn vars(&self) -> Vars<'_> {
        Vars { status: self.status, positional: &self.positional }
    }

    fn run_pipeline(&mut self, p: &Pipeline) -> i32 {
        let mut run = Running::default();
        let mut prev = Input::Console;
        let mut status = 0;
        for (i, cmd) in p.iter().enumerate() {
            let last = i + 1 == p.len();
            let input = std::mem::replace(&mut prev, Input::Null);
            match self.stage(cmd, input, last, &mut run) {
                Ok((next, st)) => {
                    prev = next;
                    status = st;
                }
                Err(st) => status = st,
            }
        }
        let last_child = run.wait_all();
        if let Some(code) = last_child {
            status = self.status_of(code);
        }
        status
    }

    /// Starts (or, for a builtin, runs) one stage. Ok: the next stage's
    /// input and, for a builtin, its status (a child's comes from waiting).
    fn stage(&mut self, cmd: &Cmd, input: Input, last: bool, run: &mut Running) -> Result<(Input, i32), i32> {
        let args = expand_words(&cmd.words, &self.vars());
        let (mut input, mut out, mut err) = (input, if last { Sink::Console } else { Sink::Next }, Sink::Console);
        for r in &cmd.redirs {
            if r.kind == RedirKind::ErrToOut {
                err = out.same();
                continue;
            }
            let path = word_text(&r.target, &self.vars());
            let opened = match r.kind {
                RedirKind::ErrToOut => Ok(()),
                RedirKind::In => File::open(&path).map(|f| input = Input::File(f)),
                RedirKind::Out | RedirKind::Append | RedirKind::Err | RedirKind::ErrAppend => {
                    let append = matches!(r.kind, RedirKind::Append | RedirKind::ErrAppend);
                    open_out(&path, append).map(|f| match r.kind {
                        RedirKind::Out | RedirKind::Append => out = Sink::File(f),
                        _ => err = Sink::File(f),
                    })
                }
            };
            if let Err(e) = opened {
                eprintln!("sh: {path}: {}", crate::error_text(&e));
                run.last_is_child = false;
                return Err(1);
            }
        }
        run.last_is_child = false;
        let Some(name) = args.first() else { return Ok((Input::Null, 0)) };
        if let Some(assign) = assignment(name).filter(|_| args.len() == 1) {
            std::env::set_var(assign.0, assign.1);
            return Ok((Input::Null, 0));
        }
        if builtins::is_builtin(name) {
            return Ok(self.builtin(&args, out, err));
        }
        self.spawn(&args, input, out, err, run)
    }

    fn builtin(&mut self, args: &[String], out: Sink, err: Sink) -> (Input, i32) {
        // What goes to the next stage (stdout, and stderr after `2>&1`).
        let next = Arc::new(Mutex::new(Vec::new()));
        let writer = |sink: Sink, console: Box<dyn Write>| -> Box<dyn Write> {
            match sink {
                Sink::Console => console,
                Sink::File(f) => Box::new(f),
                Sink::Next => Box::new(Shared(next.clone())),
            }
        };
        let mut o = writer(out, Box::new(io::stdout()));
        let mut e = writer(err, Box::new(io::stderr()));
        let status = builtins::run(self, args, &mut o, &mut e);
        let _ = o.flush();
        drop((o, e));
        let data = std::mem::take(&mut *next.lock().unwrap_or_else(|e| e.into_inner()));
        (if data.is_empty() { Input::Null } else { Input::Data(data) }, status)
    }

    fn spawn(
        &mut self,
        args: &[String],
        input: Input,
        out: Sink,
        err: Sink,
        run: &mut Running,
    ) -> Result<(Input, i32), i32> {
        let mut c = Command::new(&args[0]);
        c.args(&args[1..]);
        let mut feed: Option<Box<dyn Read + Send>> = None;
        let mut merged = None;
        match input {
            Input::Console => c.stdin(Stdio::inherit()),
            Input::Null => c.stdin(Stdio::null()),
            Input::Pipe(p) => c.stdin(Stdio::from(p)),
            Input::File(f) => {
                feed = Some(Box::new(f));
                c.stdin(Stdio::piped())
            }
            Input::Data(d) => {
                feed = Some(Box::new(io::Cursor::new(d)));
                c.stdin(Stdio::piped())
            }
            Input::Merged(a, b) => {
                merged = Some((a, b));
                c.stdin(Stdio::piped())
            }
        };
        let direct = matches!((&out, &err), (Sink::Console, Sink::Console));
        // This std gives stderr stdout's setting whatever is asked
        // (docs/runtime.md); asking for the same keeps other systems alike.
        c.stdout(if direct { Stdio::inherit() } else { Stdio::piped() });
        c.stderr(if direct { Stdio::inherit() } else { Stdio::piped() });
        let mut child = match c.spawn() {
            Ok(child) => child,
            Err(e) => {
                let why = match e.kind() {
                    io::ErrorKind::NotFound => "not found".to_string(),
                    _ => crate::error_text(&e),
                };
                eprintln!("sh: {}: {why}", args[0]);
                return Err(NOT_FOUND);
            }
        };
        if let Some(stdin) = child.stdin.take() {
            if let Some(src) = feed {
                run.pumps.push(pump(src, stdin));
            } else if let Some((a, b)) = merged {
                let stdin = Arc::new(Mutex::new(stdin));
                run.pumps.push(pump(a, Shared(stdin.clone())));
                run.pumps.push(pump(b, Shared(stdin)));
            }
        }
        let mut next = Input::Null;
        match (child.stdout.take(), child.stderr.take(), out, err) {
            (Some(o), Some(e), Sink::Next, Sink::Next) => next = Input::Merged(o, e),
            (o, e, out, err) => {
                if let Some(o) = o {
                    match out {
                        Sink::Next => next = Input::Pipe(o),
                        Sink::File(f) => run.pumps.push(pump(o, f)),
                        Sink::Console => run.pumps.push(pump(o, io::stdout())),
                    }
                }
                if let Some(e) = e {
                    match err {
                        Sink::File(f) => run.pumps.push(pump(e, f)),
                        // `2>&1 > f | b` would send stderr into the pipe; it
                        // goes to the console here (only `2>&1 |` merges).
                        Sink::Console | Sink::Next => run.pumps.push(pump(e, io::stderr())),
                    }
                }
            }
        }
        run.add(child);
        Ok((next, 0))
    }

    /// A child's status as `$?`; says how it ended if it did not exit.
    fn status_of(&self, code: i32) -> i32 {
        use pv_abi::syscall::status;
        match code {
            0..=255 => code,
            status::KILLED => {
                if self.interactive {
                    println!();
                }
                INTERRUPTED
            }
            -1 => 134, // a Rust panic (abort)
            c if c >= status::KILLED_BASE => {
                eprintln!("sh: killed by the kernel (status {c:#x})");
                128 + (c - status::KILLED_BASE).clamp(0, 127)
            }
            c => c & 0xff,
        }
    }
}

/// `NAME=value` (a valid name before the first `=`).
pub fn assignment(word: &str) -> Option<(&str, &str)> {
    let (name, value) = word.split_once('=')?;
    let valid = !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    valid.then_some((name, value))
}

/// The children and copy threads of one pipeline.
#[derive(Default)]
struct Running {
    children: Vec<Child>,
    handles: Vec<u64>,
    pumps: Vec<JoinHandle<()>>,
    /// Whether the pipeline's status is the last child's.
    last_is_child: bool,
}

impl Running {
    fn add(&mut self, child: Child) {
        if let Some(h) = console::handle_of(&child) {
            self.handles.push(h);
            console::set_foreground(&self.handles);
        }
        self.children.push(child);
        self.last_is_child = true;
    }

    /// Waits for every child, then every copy; the last child's exit code
    /// if the pipeline ended with a child. A stage that was killed (Ctrl-C
    /// reaches only the stages started before it) ends the whole pipeline:
    /// the others are killed too and its status is the pipeline's.
    fn wait_all(mut self) -> Option<i32> {
        let mut last = None;
        let mut killed = false;
        for i in 0..self.children.len() {
            let code = self.children[i].wait().ok().and_then(|s| s.code()).unwrap_or(1);
            if code == pv_abi::syscall::status::KILLED && !killed {
                killed = true;
                for other in &mut self.children[i + 1..] {
                    let _ = other.kill();
                }
            }
            last = Some(code);
        }
        if !self.handles.is_empty() {
            console::set_foreground(&[]);
        }
        for p in self.pumps.drain(..) {
            let _ = p.join();
        }
        if killed {
            Some(pv_abi::syscall::status::KILLED)
        } else if self.last_is_child {
            last
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    //! On the host (`make test-sh`): the same code with Linux's `cat`, files
    //! in a temp directory, and no `cd` (the working directory is the test
    //! process's, shared by the tests).
    use super::*;

    fn temp(name: &str) -> String {
        let d = std::env::temp_dir().join(format!("vireo-sh-exec-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d.to_str().unwrap().to_string()
    }

    fn run(text: &str) -> Shell {
        let mut sh = Shell::new(vec!["sh".into()], false);
        sh.run_text(text);
        sh
    }

    #[test]
    fn redirections_and_pipes_reach_files() {
        let d = temp("redir");
        let sh = run(&format!(
            "echo one > {d}/a; echo two >> {d}/a; cat < {d}/a | cat | cat > {d}/b; \
             cat {d}/missing 2> {d}/err > {d}/out; echo $? > {d}/status"
        ));
        assert_eq!(sh.status, 0);
        assert_eq!(std::fs::read_to_string(format!("{d}/b")).unwrap(), "one\ntwo\n");
        assert!(std::fs::read_to_string(format!("{d}/err")).unwrap().contains("missing"));
        assert_eq!(std::fs::read_to_string(format!("{d}/out")).unwrap(), "");
        assert_eq!(std::fs::read_to_string(format!("{d}/status")).unwrap(), "1\n");
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn stderr_joins_stdout() {
        let d = temp("join");
        let sh = run(&format!(
            "cat {d}/missing > {d}/both 2>&1; cat {d}/missing 2>&1 | cat > {d}/piped; \
             echo builtin 2>&1 | cat > {d}/builtin"
        ));
        assert_eq!(sh.status, 0);
        assert!(std::fs::read_to_string(format!("{d}/both")).unwrap().contains("missing"));
        assert!(std::fs::read_to_string(format!("{d}/piped")).unwrap().contains("missing"));
        assert_eq!(std::fs::read_to_string(format!("{d}/builtin")).unwrap(), "builtin\n");
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn statuses_and_short_circuits() {
        assert_eq!(run("false").status, 1);
        assert_eq!(run("true && false || true").status, 0);
        assert_eq!(run("no-such-program-vireo").status, NOT_FOUND);
        assert_eq!(run("echo 'unclosed").status, 2);
        assert_eq!(run("false; exit").exit, Some(1));
        assert_eq!(run("exit 300").exit, Some(300 & 0xff));
        assert_eq!(run("exit x; echo").exit, None);
        // The last stage's status is the pipeline's.
        assert_eq!(run("false | true").status, 0);
        assert_eq!(run("true | false").status, 1);
    }

    #[test]
    fn a_builtin_feeds_the_next_stage() {
        let d = temp("builtin");
        run(&format!("VIREO_SH_EXEC=val; echo \"$VIREO_SH_EXEC\" | cat > {d}/v; echo $? >> {d}/v"));
        assert_eq!(std::fs::read_to_string(format!("{d}/v")).unwrap(), "val\n0\n");
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn assignments() {
        assert_eq!(assignment("A=1"), Some(("A", "1")));
        assert_eq!(assignment("_a_9=x=y"), Some(("_a_9", "x=y")));
        assert_eq!(assignment("9A=1"), None);
        assert_eq!(assignment("=1"), None);
        assert_eq!(assignment("a-b=1"), None);
    }
}
