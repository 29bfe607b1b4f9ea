//! `/bin/edit` (docs/shell.md, "The editor") on Vireo, under QEMU TCG with
//! the disk as `/` and the shell on the serial console: a file longer than
//! the screen with a line longer than it is opened, moved through, edited,
//! searched and saved; quitting with unsaved changes warns first; Ctrl-C is
//! a key; a new file is created on save (on a screen LINES and COLUMNS make
//! smaller); a failed save keeps the text; a binary file is refused; afterwards `cat`/`grep` in the
//! guest and debugfs on the image see the saved text, and not the discarded edit.
use std::time::Instant;
use vireo_tests::console::{Console, DOWN, END, HOME, PAGE_DOWN, PROMPT, UP};
use vireo_tests::disk::{assert_fsck_clean, DiskCopy};
use vireo_tests::Machine;

const LINES: usize = 60;
/// The long line (line 5): 206 characters, wider than the 80 columns.
fn long_line() -> String {
    format!("5 {}TAIL", "abcdefghij".repeat(20))
}

fn original() -> String {
    (1..=LINES).map(|i| if i == 5 { long_line() + "\n" } else { format!("line {i} of the file\n") }).collect()
}

/// What the session leaves: `!` after the long line's end, `EDITED ` at the
/// start of line 42, a new line 43 typed after it.
fn expected() -> String {
    (1..=LINES)
        .map(|i| match i {
            5 => long_line() + "!\n",
            42 => "EDITED line 42 of the file\nnew line\n".to_string(),
            _ => format!("line {i} of the file\n"),
        })
        .collect()
}

const CTRL_F: &str = "\x06";
const CTRL_G: &str = "\x07";
const CTRL_Q: &str = "\x11";
const CTRL_S: &str = "\x13";

/// The status line (row 22 of 24) shows `want`.
fn status(c: &mut Console, want: &str) {
    c.expect_screen(&format!("status {want:?}"), |s| s.lines().nth(22).is_some_and(|l| l.contains(want)));
}

/// The message line (the last row) starts with `want`.
fn message(c: &mut Console, want: &str) {
    c.expect_screen(&format!("message {want:?}"), |s| s.lines().nth(23).is_some_and(|l| l.starts_with(want)));
}

#[test]
fn edit_moves_edits_searches_saves_and_warns_before_quitting_unsaved_changes() {
    let disk = DiskCopy::new("editor");
    disk.put("notes.txt", &original());
    let started = Instant::now();
    let mut c = Console::shell(Machine::Microvm, &disk.path, false);
    c.expect(PROMPT);
    c.type_keys("edit /notes.txt\r");
    status(&mut c, "line 1/60, col 1");
    assert!(c.screen_row(22).starts_with(" /notes.txt "), "{}", c.screen());
    assert_eq!(c.screen_row(0), "line 1 of the file");
    // The long line shows its start and a `>` in the last column.
    let row4 = c.screen_row(4);
    assert!(row4.starts_with("5 abcdefghij") && row4.ends_with('>') && row4.chars().count() == 80, "{row4:?}");
    assert_eq!(c.screen_row(21), "line 22 of the file");
    assert_eq!(c.cursor(), (0, 0));

    // A page down, then down past the bottom: the view scrolls.
    c.type_keys(PAGE_DOWN);
    status(&mut c, "line 22/60");
    assert_eq!(c.screen_row(0), "line 22 of the file");
    c.type_keys(&DOWN.repeat(23));
    status(&mut c, "line 45/60");
    assert_eq!(c.screen_row(21), "line 45 of the file");
    assert_eq!(c.cursor(), (21, 0));

    // Ctrl-C is a key: it explains, the editor stays.
    c.type_keys("\x03");
    message(&mut c, "Ctrl-C does not quit");

    // Go to the long line; End scrolls that row sideways.
    c.type_keys(&format!("{CTRL_G}5\r{END}!"));
    status(&mut c, "line 5/60, col 208");
    c.expect_screen("the long line's end", |s| {
        s.lines().nth(4).is_some_and(|l| l.starts_with('<') && l.ends_with("TAIL!"))
    });
    assert!(c.screen_row(22).contains("[modified]"));
    // Cursor at text column 207 of a row that starts at 160 (half-row jumps).
    assert_eq!(c.cursor(), (4, 47));
    // Moving off it shows its start again.
    c.type_keys(DOWN);
    status(&mut c, "line 6/60");
    c.expect_screen("the long line's start", |s| {
        s.lines().nth(4).is_some_and(|l| l.starts_with("5 abc") && l.ends_with('>'))
    });

    // Search: the match's line, then a search that finds nothing.
    c.type_keys(&format!("{CTRL_F}line 42 \r"));
    status(&mut c, "line 42/60, col 1");
    message(&mut c, "Found \"line 42 \"");
    c.type_keys(&format!("EDITED {END}\rnew line"));
    status(&mut c, "line 43/61, col 9");
    c.type_keys(&format!("{CTRL_F}nowhere\r"));
    message(&mut c, "Not found: \"nowhere\"");

    // Save: the status line loses its flag.
    c.type_keys(CTRL_S);
    message(&mut c, "Wrote /notes.txt: 61 lines");
    assert!(!c.screen_row(22).contains("[modified]"), "{}", c.screen());

    // An unsaved edit: the first Ctrl-Q warns, the second quits without saving.
    c.type_keys(&format!("{UP}{HOME}DISCARDED"));
    status(&mut c, "[modified]");
    c.type_keys(CTRL_Q);
    message(&mut c, "Unsaved changes!");
    c.type_keys(CTRL_Q);
    c.expect(PROMPT);
    c.run("grep -n EDITED /notes.txt\r", "42:EDITED line 42 of the file");
    c.run("grep -c TAIL! /notes.txt\r", "1");
    c.run("grep -c DISCARDED /notes.txt; wc -l /notes.txt\r", "0");
    c.expect("     61 /notes.txt");

    // A name that does not exist: created on save; on a 12x40 screen
    // (LINES, COLUMNS): the status line is row 10, the message row 11.
    c.type_keys("export LINES=12 COLUMNS=40; edit /new.txt\r");
    c.expect_screen("the small screen's new-file message", |s| {
        s.lines().nth(11).is_some_and(|l| l.starts_with("New file"))
    });
    assert!(
        c.screen_row(10).starts_with(" /new.txt ") && c.screen_row(10).ends_with("line 1/1, col 1"),
        "{}",
        c.screen()
    );
    assert_eq!(c.screen_row(11).chars().count(), 40, "cut to the width");
    c.type_keys(&format!("hello, été{CTRL_S}"));
    c.expect_screen("the save message", |s| {
        s.lines().nth(11).is_some_and(|l| l.starts_with("Wrote /new.txt: 1 line, 13 bytes"))
    });
    c.type_keys(CTRL_Q);
    c.expect(PROMPT);
    c.run("unset LINES; unset COLUMNS; cat /new.txt\r", "hello, été");

    // A save that fails says why and keeps the text; a binary file is refused.
    c.type_keys("edit /no-dir/x.txt\r");
    message(&mut c, "New file");
    c.type_keys(&format!("kept{CTRL_S}"));
    message(&mut c, "Not saved: No such file or directory (the text is still here)");
    assert!(c.screen_row(22).contains("[modified]") && c.screen_row(0) == "kept", "{}", c.screen());
    c.type_keys(&format!("{CTRL_Q}{CTRL_Q}"));
    c.expect(PROMPT);
    c.run("edit /bin/cat; echo status $?\r", "edit: /bin/cat: a binary file (it holds NUL bytes)");
    c.expect("status 1");

    c.type_keys("poweroff\r");
    c.expect("io: / unmounted cleanly");
    c.expect("VIREO-EXIT 0");
    c.wait();
    eprintln!("editor session: {:?}", started.elapsed());
    assert_eq!(disk.file("/notes.txt"), expected());
    assert_eq!(disk.file("/new.txt"), "hello, été\n");
    assert_fsck_clean(&disk.path, "the editor's saves");
}
