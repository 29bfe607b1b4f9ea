//! The interactive shell on the console: a prompt, the line editor on raw
//! console input, history, completion. Where raw input is not available
//! (another system, an older kernel) it reads plain lines instead.
use crate::complete::complete;
use crate::console;
use crate::editor::{Editor, Event};
use crate::exec::{Shell, INTERRUPTED};
use std::io::{BufRead, Write};

pub fn run(mut sh: Shell) -> i32 {
    let mut editor = Editor::default();
    // One byte per read: what follows an Enter stays in the kernel's buffer
    // for the command it starts (type-ahead reaches `cat`, a nested shell...).
    let mut buf = [0u8; 1];
    let mut out = std::io::stdout();
    let _ = write!(out, "{}", prompt());
    let _ = out.flush();
    loop {
        let n = match console::read_raw(&mut buf) {
            Ok(0) => continue,
            Ok(n) => n,
            Err(console::Unsupported) => return plain_lines(sh),
        };
        for &b in &buf[..n] {
            match editor.feed(b) {
                Event::None => {}
                Event::Bell => {
                    let _ = out.write_all(b"\x07");
                }
                Event::Redraw => redraw(&mut out, &editor),
                Event::Complete => {
                    let c = complete(&editor.line(), editor.cursor());
                    match c.replacement() {
                        Some(r) if r.chars().count() > editor.cursor() - c.start => {
                            editor.replace_before_cursor(c.start, &r);
                        }
                        _ if c.candidates.len() > 1 => {
                            let _ = write!(out, "\r\n{}\r\n", c.candidates.join("  "));
                        }
                        _ => {
                            let _ = out.write_all(b"\x07");
                        }
                    }
                    redraw(&mut out, &editor);
                }
                Event::Interrupt => {
                    sh.status = INTERRUPTED;
                    let _ = write!(out, "^C\r\n{}", prompt());
                }
                Event::Eof => {
                    let _ = out.write_all(b"\r\n");
                    let _ = out.flush();
                    return 0;
                }
                Event::Submit(line) => {
                    let _ = out.write_all(b"\r\n");
                    let _ = out.flush();
                    editor.add_history(&line);
                    sh.run_text(&line);
                    if let Some(code) = sh.exit {
                        return code;
                    }
                    let _ = write!(out, "{}", prompt());
                }
            }
        }
        let _ = out.flush();
    }
}

fn prompt() -> String {
    let cwd = std::env::current_dir().map(|d| d.display().to_string()).unwrap_or_else(|_| "?".into());
    format!("vireo:{cwd}$ ")
}

/// Prompt, line, erase the rest, cursor back to its place.
fn redraw(out: &mut impl Write, e: &Editor) {
    let line = e.line();
    let back = line.chars().count() - e.cursor();
    let _ = write!(out, "\r{}{line}\x1b[K", prompt());
    if back > 0 {
        let _ = write!(out, "\x1b[{back}D");
    }
}

fn plain_lines(mut sh: Shell) -> i32 {
    let stdin = std::io::stdin();
    loop {
        print!("{}", prompt());
        let _ = std::io::stdout().flush();
        let mut line = String::new();
        match stdin.lock().read_line(&mut line) {
            Ok(0) | Err(_) => return sh.status,
            Ok(_) => {}
        }
        sh.run_text(&line);
        if let Some(code) = sh.exit {
            return code;
        }
    }
}
