//! `/bin/edit FILE`: a small full-screen text editor on the serial console
//! (docs/shell.md, "The editor"). The text and its edits (`buffer`,
//! `editor`), key decoding (`keys`), drawing (`display`, `view`, `screen`)
//! and files (`file`) are separate and tested on the host; this file reads
//! keys and writes frames, and only `console.rs` calls Vireo directly.
mod buffer;
mod console;
mod display;
mod editor;
mod file;
mod keys;
mod screen;
mod view;

use editor::{Action, Editor};
use std::io::{IsTerminal, Write};
use std::path::Path;

const USAGE: &str = "usage: edit FILE
A full-screen editor on the console (a new FILE is created on save).
Keys: arrows, Home/End, PgUp/PgDn, Backspace/Delete, Enter, Tab;
^S save, ^Q quit (twice with unsaved changes), ^F find, ^N find next,
^G go to line, ^K cut line, ^U paste, ^L redraw. Ctrl-C does not quit.
The screen is 80x24 unless LINES and COLUMNS say otherwise.";

/// The serial console's size when nothing says otherwise.
const DEFAULT_SIZE: (usize, usize) = (24, 80);

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let path = match args.get(1).map(String::as_str) {
        Some("--help" | "-h") => {
            println!("{USAGE}");
            return;
        }
        Some(p) if args.len() == 2 && !p.is_empty() => p.to_string(),
        _ => {
            eprintln!("{USAGE}");
            std::process::exit(2);
        }
    };
    std::process::exit(run(&path));
}

fn run(path: &str) -> i32 {
    if !std::io::stdout().is_terminal() {
        eprintln!("edit: the output is not the console");
        return 1;
    }
    let (buf, new) = match file::load(Path::new(path)) {
        Ok(Some(text)) => (buffer::Buffer::from_text(&text), false),
        Ok(None) => (buffer::Buffer::default(), true),
        Err(e) => {
            eprintln!("edit: {path}: {e}");
            return 1;
        }
    };
    let (rows, cols) = screen_size();
    let mut ed = Editor::new(buf, path, rows, cols);
    if new {
        ed.message = format!("New file (created on ^S). {}", editor::HELP);
    }
    let mut term = screen::Terminal::new(cols);
    let mut keys = keys::Decoder::default();
    let mut out = std::io::stdout().lock();
    // One byte per read, as the shell does: what is typed after the ^Q that
    // ends the editor stays in the console's buffer for the shell.
    let mut byte = [0u8; 1];
    let _ = out.write_all(&term.update(&view::frame(&ed)));
    let _ = out.flush();
    loop {
        match console::read_raw(&mut byte) {
            Ok(0) => continue,
            Ok(_) => {}
            Err(console::Unsupported) => {
                let _ = out.write_all(b"\x1b[H\x1b[2J");
                drop(out);
                eprintln!("edit: raw console input is not available (edit runs on Vireo's console)");
                return 1;
            }
        }
        console::clear_foreground();
        let Some(key) = keys.feed(byte[0]) else { continue };
        match ed.handle(key) {
            Action::None => {}
            Action::Repaint => term.invalidate(),
            Action::Save => {
                let text = ed.text();
                let lines = ed.buf.line_count();
                ed.saved(
                    file::save(Path::new(path), &text)
                        .map(|()| format!("Wrote {path}: {}, {} bytes", plural(lines, "line"), text.len()))
                        .map_err(|e| file::error_text(&e)),
                );
            }
            Action::Quit => {
                // Leave a clean screen for the shell's prompt.
                let _ = out.write_all(b"\x1b[m\x1b[r\x1b[H\x1b[2J");
                let _ = out.flush();
                return 0;
            }
        }
        let _ = out.write_all(&term.update(&view::frame(&ed)));
        let _ = out.flush();
    }
}

fn plural(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// `LINES` x `COLUMNS` from the environment where they make sense, else 80x24.
fn screen_size() -> (usize, usize) {
    let get = |name: &str, min: usize, max: usize, default: usize| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.trim().parse().ok())
            .filter(|n| (min..=max).contains(n))
            .unwrap_or(default)
    };
    (get("LINES", 4, 500, DEFAULT_SIZE.0), get("COLUMNS", 20, 1000, DEFAULT_SIZE.1))
}
