//! The editor's state and what each key does to it. No I/O: saving is asked
//! of the caller ([`Action::Save`]), which reports back with [`Editor::saved`].
use crate::buffer::{Buffer, Found, Pos};
use crate::display::{byte_at_column, column_of};
use crate::keys::Key;

/// What the caller does after a key.
#[derive(Debug, PartialEq, Eq)]
pub enum Action {
    None,
    /// Write [`Editor::text`] to the file, then call [`Editor::saved`].
    Save,
    Quit,
    /// Draw the whole screen again (Ctrl-L: the terminal may show garbage).
    Repaint,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PromptKind {
    Search,
    GoTo,
}

#[derive(Debug)]
pub struct Prompt {
    pub kind: PromptKind,
    pub input: String,
}

/// The help shown at the start and on Ctrl-C.
pub const HELP: &str = "^S save  ^Q quit  ^F find  ^N next  ^G go to line  ^K cut line  ^U paste  ^L redraw";

pub struct Editor {
    pub buf: Buffer,
    pub name: String,
    /// The cursor (on a character boundary of an existing line).
    pub cursor: Pos,
    /// The display column up/down aim for (the column the cursor had when
    /// vertical movement began).
    want_x: Option<usize>,
    /// The first text line on the screen.
    pub top: usize,
    /// Rows for text (the screen less the status and message lines).
    pub text_rows: usize,
    pub cols: usize,
    pub modified: bool,
    /// The message line's text until the next key.
    pub message: String,
    pub prompt: Option<Prompt>,
    /// Ctrl-Q was pressed on a modified buffer: a second one quits.
    quit_armed: bool,
    /// Lines cut by Ctrl-K (a run of Ctrl-Ks collects them).
    clipboard: Vec<String>,
    cutting: bool,
    last_search: String,
}

impl Editor {
    pub fn new(buf: Buffer, name: &str, rows: usize, cols: usize) -> Editor {
        Editor {
            buf,
            name: name.to_string(),
            cursor: Pos::default(),
            want_x: None,
            top: 0,
            text_rows: rows.saturating_sub(2).max(1),
            cols,
            modified: false,
            message: HELP.to_string(),
            prompt: None,
            quit_armed: false,
            clipboard: Vec::new(),
            cutting: false,
            last_search: String::new(),
        }
    }

    pub fn text(&self) -> String {
        self.buf.text()
    }

    /// The outcome of the save [`Action::Save`] asked for.
    pub fn saved(&mut self, result: Result<String, String>) {
        match result {
            Ok(what) => {
                self.modified = false;
                self.message = what;
            }
            Err(why) => self.message = format!("Not saved: {why} (the text is still here)"),
        }
    }

    pub fn handle(&mut self, key: Key) -> Action {
        self.message.clear();
        if self.prompt.is_some() {
            self.prompt_key(key);
            return Action::None;
        }
        let quit_armed = std::mem::take(&mut self.quit_armed);
        let cutting = std::mem::take(&mut self.cutting);
        let vertical = matches!(key, Key::Up | Key::Down | Key::PageUp | Key::PageDown);
        if !vertical {
            self.want_x = None;
        }
        match key {
            Key::Char(c) => self.insert(c),
            Key::Tab => self.insert('\t'),
            Key::Enter => {
                self.cursor = self.buf.split_line(self.cursor);
                self.modified = true;
            }
            Key::Backspace => match self.buf.backspace(self.cursor) {
                Some(p) => {
                    self.cursor = p;
                    self.modified = true;
                }
                None => self.message = "At the start of the text".into(),
            },
            Key::Delete => {
                if self.buf.delete(self.cursor) {
                    self.modified = true;
                }
            }
            Key::Left => self.cursor = self.buf.before(self.cursor).unwrap_or(self.cursor),
            Key::Right => self.cursor = self.buf.after(self.cursor).unwrap_or(self.cursor),
            Key::Home => self.cursor.col = 0,
            Key::End => self.cursor.col = self.buf.line(self.cursor.line).len(),
            Key::Up => self.vertical(-1),
            Key::Down => self.vertical(1),
            Key::PageUp => self.page(-1),
            Key::PageDown => self.page(1),
            Key::Ctrl(b'q') if self.modified && !quit_armed => {
                self.quit_armed = true;
                self.message = "Unsaved changes! ^Q again quits without saving, ^S saves".into();
            }
            Key::Ctrl(b'q') => return Action::Quit,
            Key::Ctrl(b's') => return Action::Save,
            Key::Ctrl(b'f') => self.open_prompt(PromptKind::Search),
            Key::Ctrl(b'g') => self.open_prompt(PromptKind::GoTo),
            Key::Ctrl(b'n') => self.find_next(),
            Key::Ctrl(b'k') => self.cut_line(cutting),
            Key::Ctrl(b'u') => self.paste(),
            Key::Ctrl(b'l') => {
                self.scroll_to_cursor(false);
                return Action::Repaint;
            }
            Key::Ctrl(b'c') => self.message = format!("Ctrl-C does not quit here: {HELP}"),
            Key::Ctrl(_) | Key::Unknown => {}
        }
        self.scroll_to_cursor(false);
        Action::None
    }

    fn insert(&mut self, c: char) {
        self.cursor = self.buf.insert_char(self.cursor, c);
        self.modified = true;
    }

    fn vertical(&mut self, by: isize) {
        let x = *self.want_x.get_or_insert_with(|| column_of(self.buf.line(self.cursor.line), self.cursor.col));
        let last = self.buf.line_count() - 1;
        let line = self.cursor.line.saturating_add_signed(by).min(last);
        self.cursor = Pos::new(line, byte_at_column(self.buf.line(line), x));
    }

    /// A page up or down: the view and the cursor move by a screen less one
    /// line (the line kept gives context).
    fn page(&mut self, dir: isize) {
        let step = self.text_rows.saturating_sub(1).max(1);
        let max_top = self.buf.line_count().saturating_sub(self.text_rows);
        self.top = if dir > 0 { (self.top + step).min(max_top) } else { self.top.saturating_sub(step) };
        self.vertical(dir * step as isize);
    }

    /// Moves the view so the cursor is on it: by as little as possible, or
    /// (`center`, after a jump) with the cursor in the middle.
    fn scroll_to_cursor(&mut self, center: bool) {
        let line = self.cursor.line;
        let rows = self.text_rows;
        if line >= self.top && line < self.top + rows {
            return;
        }
        self.top = if center {
            line.saturating_sub(rows / 2)
        } else if line < self.top {
            line
        } else {
            line + 1 - rows
        };
    }

    fn jump(&mut self, to: Pos) {
        self.cursor = to;
        self.scroll_to_cursor(true);
    }

    fn cut_line(&mut self, append: bool) {
        if !append {
            self.clipboard.clear();
        }
        let line = self.cursor.line;
        self.clipboard.push(self.buf.cut_line(line));
        self.cursor = self.buf.clamp(Pos::new(line, 0));
        self.modified = true;
        self.cutting = true;
        self.message = format!("Cut {} line(s); ^U pastes", self.clipboard.len());
    }

    fn paste(&mut self) {
        if self.clipboard.is_empty() {
            self.message = "Nothing to paste (^K cuts a line)".into();
            return;
        }
        let line = self.cursor.line;
        self.buf.insert_lines(line, &self.clipboard);
        self.cursor = Pos::new(line + self.clipboard.len(), 0);
        self.modified = true;
    }

    fn open_prompt(&mut self, kind: PromptKind) {
        self.prompt = Some(Prompt { kind, input: String::new() });
    }

    /// The message line while a prompt is open.
    pub fn prompt_text(&self) -> Option<String> {
        let p = self.prompt.as_ref()?;
        Some(match p.kind {
            PromptKind::Search if self.last_search.is_empty() => format!("Search: {}", p.input),
            PromptKind::Search => format!("Search [{}]: {}", self.last_search, p.input),
            PromptKind::GoTo => format!("Go to line (1-{}): {}", self.buf.line_count(), p.input),
        })
    }

    fn prompt_key(&mut self, key: Key) {
        let Some(p) = self.prompt.as_mut() else { return };
        match key {
            Key::Char(c) => p.input.push(c),
            Key::Tab => p.input.push('\t'),
            Key::Backspace => {
                p.input.pop();
            }
            Key::Ctrl(b'c' | b'q') => {
                self.prompt = None;
                self.message = "Cancelled".into();
            }
            Key::Enter => {
                let Some(Prompt { kind, input }) = self.prompt.take() else { return };
                match kind {
                    PromptKind::Search => {
                        if !input.is_empty() {
                            self.last_search = input;
                        }
                        self.search(true);
                    }
                    PromptKind::GoTo => self.go_to(&input),
                }
            }
            _ => {}
        }
    }

    fn find_next(&mut self) {
        if self.last_search.is_empty() {
            self.open_prompt(PromptKind::Search);
        } else {
            self.search(false);
        }
    }

    /// Searches for the last search text from the cursor (`at_cursor`: a
    /// match right at the cursor counts).
    fn search(&mut self, at_cursor: bool) {
        let needle = self.last_search.clone();
        match self.buf.search(&needle, self.cursor, at_cursor) {
            Found::At(p) => {
                self.jump(p);
                self.message = format!("Found \"{needle}\" (^N: next)");
            }
            Found::Wrapped(p) => {
                self.jump(p);
                self.message = format!("Found \"{needle}\", wrapped to the start (^N: next)");
            }
            Found::Nothing => self.message = format!("Not found: \"{needle}\""),
        }
    }

    fn go_to(&mut self, input: &str) {
        match input.trim().parse::<usize>() {
            Ok(n) if n >= 1 => {
                let line = n.min(self.buf.line_count()) - 1;
                self.jump(Pos::new(line, 0));
            }
            _ => self.message = format!("Not a line number: \"{input}\""),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::keys::Decoder;

    /// Types `keys` (bytes as a terminal sends them); the last action.
    pub fn type_keys(e: &mut Editor, keys: &str) -> Action {
        let mut d = Decoder::default();
        let mut last = Action::None;
        for b in keys.bytes() {
            if let Some(k) = d.feed(b) {
                last = e.handle(k);
            }
        }
        last
    }

    fn editor(text: &str) -> Editor {
        Editor::new(Buffer::from_text(text), "f.txt", 6, 20)
    }

    #[test]
    fn typing_and_moving() {
        let mut e = editor("abc\ndef\n");
        type_keys(&mut e, "X\x1b[B\x1b[FY\x1b[HZ\x1b[A\x1b[C\x1b[3~\r");
        assert_eq!(e.text(), "Xa\nc\nZdefY\n");
        assert!(e.modified);
        assert_eq!(e.cursor, Pos::new(1, 0));
        type_keys(&mut e, "\x7f\x7f\tq");
        assert_eq!(e.text(), "X\tqc\nZdefY\n");
    }

    #[test]
    fn up_and_down_keep_the_column() {
        let mut e = editor("long line here\nab\nanother long one\n");
        type_keys(&mut e, &"\x1b[C".repeat(10));
        type_keys(&mut e, "\x1b[B");
        assert_eq!(e.cursor, Pos::new(1, 2), "the short line's end");
        type_keys(&mut e, "\x1b[B");
        assert_eq!(e.cursor, Pos::new(2, 10), "back to column 10");
        type_keys(&mut e, "\x1b[D\x1b[A");
        assert_eq!(e.cursor, Pos::new(1, 2));
    }

    #[test]
    fn the_view_follows_the_cursor() {
        let text: String = (1..=30).map(|i| format!("line {i}\n")).collect();
        let mut e = editor(&text);
        assert_eq!(e.text_rows, 4);
        type_keys(&mut e, &"\x1b[B".repeat(4));
        assert_eq!((e.cursor.line, e.top), (4, 1));
        type_keys(&mut e, "\x1b[6~");
        assert_eq!((e.cursor.line, e.top), (7, 4));
        type_keys(&mut e, &"\x1b[6~".repeat(20));
        assert_eq!((e.cursor.line, e.top), (29, 26));
        type_keys(&mut e, "\x1b[5~");
        assert_eq!((e.cursor.line, e.top), (26, 23));
        type_keys(&mut e, "\x07" /* Ctrl-G */);
        type_keys(&mut e, "3\r");
        assert_eq!((e.cursor.line, e.top), (2, 0));
        type_keys(&mut e, "\x0715\r");
        assert_eq!((e.cursor.line, e.top), (14, 12), "centred");
        type_keys(&mut e, "\x07x\r");
        assert_eq!(e.message, "Not a line number: \"x\"");
    }

    #[test]
    fn quitting_a_modified_text_takes_two_ctrl_q() {
        let mut e = editor("a\n");
        assert_eq!(type_keys(&mut e, "\x11"), Action::Quit, "unmodified");
        type_keys(&mut e, "b");
        assert_eq!(type_keys(&mut e, "\x11"), Action::None);
        assert!(e.message.starts_with("Unsaved changes!"));
        // Another key in between disarms it.
        assert_eq!(type_keys(&mut e, "\x1b[C\x11"), Action::None);
        assert_eq!(type_keys(&mut e, "\x11"), Action::Quit);
        // Saved: one is enough.
        let mut e = editor("a\n");
        type_keys(&mut e, "b");
        assert_eq!(type_keys(&mut e, "\x13"), Action::Save);
        e.saved(Ok("Wrote".into()));
        assert_eq!(type_keys(&mut e, "\x11"), Action::Quit);
    }

    #[test]
    fn a_failed_save_keeps_the_text_modified() {
        let mut e = editor("a\n");
        type_keys(&mut e, "b\x13");
        e.saved(Err("Read-only file system".into()));
        assert!(e.modified);
        assert!(e.message.contains("Read-only file system"));
        assert_eq!(e.text(), "ba\n");
    }

    #[test]
    fn search_prompt_next_and_wrap() {
        let mut e = editor("one\ntwo fox\nthree fox\nfour\n");
        type_keys(&mut e, "\x06fox\r");
        assert_eq!(e.cursor, Pos::new(1, 4));
        type_keys(&mut e, "\x0e");
        assert_eq!(e.cursor, Pos::new(2, 6));
        type_keys(&mut e, "\x0e");
        assert_eq!(e.cursor, Pos::new(1, 4));
        assert!(e.message.contains("wrapped"));
        // An empty answer searches for the last text again.
        type_keys(&mut e, "\x06");
        assert_eq!(e.prompt_text().as_deref(), Some("Search [fox]: "));
        type_keys(&mut e, "\r");
        assert_eq!(e.cursor, Pos::new(1, 4), "at the cursor counts");
        type_keys(&mut e, "\x06wolf\r");
        assert_eq!((e.cursor, e.message.as_str()), (Pos::new(1, 4), "Not found: \"wolf\""));
        // Ctrl-C cancels a prompt; elsewhere it only explains.
        type_keys(&mut e, "\x06zz\x03");
        assert!(e.prompt.is_none());
        assert_eq!(type_keys(&mut e, "\x03"), Action::None);
        assert!(e.message.starts_with("Ctrl-C does not quit"));
        assert!(!e.modified);
    }

    #[test]
    fn cut_and_paste_lines() {
        let mut e = editor("a\nb\nc\nd\n");
        type_keys(&mut e, "\x1b[B\x0b\x0b");
        assert_eq!(e.text(), "a\nd\n");
        type_keys(&mut e, "\x1b[B\x15");
        assert_eq!(e.text(), "a\nb\nc\nd\n", "pasted above the cursor's line");
        // A move between cuts starts a new clipboard.
        type_keys(&mut e, "\x1b[A\x1b[A\x1b[A\x0b\x1b[B\x0b\x15");
        assert_eq!(e.text(), "b\nc\nd\n");
        // The last line left is emptied, not removed.
        let mut e = editor("only\n");
        type_keys(&mut e, "\x0b");
        assert_eq!((e.text(), e.buf.line_count()), (String::new(), 1));
    }
}
