//! The line editor's state: bytes typed in, events out. No I/O here
//! (`interactive.rs` reads the console and draws), so it is tested on the host.
//!
//! Keys: printable text (UTF-8) inserts; left/right (also Ctrl-B/Ctrl-F),
//! Home/End (also Ctrl-A/Ctrl-E), Backspace, Delete, up/down through the
//! history, Ctrl-K (cut to the end), Ctrl-U (cut to the start), Ctrl-W (cut
//! the word before the cursor), Tab (completion), Enter (CR or LF; the LF
//! of a CR LF pair is skipped), Ctrl-C (drop the line), Ctrl-D (end of input
//! on an empty line, else Delete). VT100/xterm escape sequences: `ESC [ A-D`,
//! `ESC [ H`/`F`, `ESC O H`/`F`, `ESC [ 1~`/`7~` (Home), `4~`/`8~` (End), `3~` (Delete).

#[derive(Debug, PartialEq, Eq)]
pub enum Event {
    /// Nothing to show (inside an escape sequence or a UTF-8 character).
    None,
    /// The line or the cursor changed.
    Redraw,
    /// Enter: the line (the editor is empty again).
    Submit(String),
    /// Ctrl-D on an empty line.
    Eof,
    /// Ctrl-C: the line was dropped.
    Interrupt,
    /// Tab: the caller completes at the cursor.
    Complete,
    /// A key that does nothing here (left at the start...).
    Bell,
}

#[derive(Default)]
enum Esc {
    #[default]
    None,
    /// After ESC.
    Start,
    /// After `ESC [`, with the parameter bytes so far.
    Csi(String),
    /// After `ESC O`.
    Ss3,
}

#[derive(Default)]
pub struct Editor {
    buf: Vec<char>,
    cursor: usize,
    history: Vec<String>,
    /// Index into `history`; `history.len()` is the line being typed.
    hist_pos: usize,
    /// The line being typed while browsing the history.
    draft: Vec<char>,
    esc: Esc,
    utf8: Vec<u8>,
    last_cr: bool,
}

/// History entries kept.
const HISTORY_MAX: usize = 500;

impl Editor {
    pub fn line(&self) -> String {
        self.buf.iter().collect()
    }

    /// The cursor as a char index into [`Self::line`].
    pub fn cursor(&self) -> usize {
        self.cursor
    }

    /// Replaces chars `from..cursor` with `text` (completion).
    pub fn replace_before_cursor(&mut self, from: usize, text: &str) {
        let from = from.min(self.cursor);
        self.buf.splice(from..self.cursor, text.chars());
        self.cursor = from + text.chars().count();
    }

    pub fn add_history(&mut self, line: &str) {
        if !line.trim().is_empty() && self.history.last().map(String::as_str) != Some(line) {
            self.history.push(line.to_string());
            if self.history.len() > HISTORY_MAX {
                self.history.remove(0);
            }
        }
        self.hist_pos = self.history.len();
    }

    pub fn feed(&mut self, b: u8) -> Event {
        let was_cr = std::mem::replace(&mut self.last_cr, b == b'\r');
        match std::mem::take(&mut self.esc) {
            Esc::None => {}
            Esc::Start => {
                return match b {
                    b'[' => {
                        self.esc = Esc::Csi(String::new());
                        Event::None
                    }
                    b'O' => {
                        self.esc = Esc::Ss3;
                        Event::None
                    }
                    _ => Event::Bell,
                };
            }
            Esc::Ss3 => {
                return match b {
                    b'H' => self.home(),
                    b'F' => self.end(),
                    b'A' => self.history_up(),
                    b'B' => self.history_down(),
                    b'C' => self.right(),
                    b'D' => self.left(),
                    _ => Event::Bell,
                };
            }
            Esc::Csi(mut params) => {
                if b.is_ascii_digit() || b == b';' {
                    params.push(b as char);
                    self.esc = Esc::Csi(params);
                    return Event::None;
                }
                return match (b, params.as_str()) {
                    (b'A', _) => self.history_up(),
                    (b'B', _) => self.history_down(),
                    (b'C', _) => self.right(),
                    (b'D', _) => self.left(),
                    (b'H', _) | (b'~', "1" | "7") => self.home(),
                    (b'F', _) | (b'~', "4" | "8") => self.end(),
                    (b'~', "3") => self.delete(),
                    _ => Event::Bell,
                };
            }
        }
        match b {
            0x1b => {
                self.esc = Esc::Start;
                Event::None
            }
            b'\r' => self.submit(),
            b'\n' if was_cr => Event::None,
            b'\n' => self.submit(),
            0x01 => self.home(),
            0x02 => self.left(),
            0x03 => {
                self.clear();
                Event::Interrupt
            }
            0x04 if self.buf.is_empty() => Event::Eof,
            0x04 => self.delete(),
            0x05 => self.end(),
            0x06 => self.right(),
            0x08 | 0x7f => self.backspace(),
            b'\t' => Event::Complete,
            0x0b => {
                self.buf.truncate(self.cursor);
                Event::Redraw
            }
            0x15 => {
                self.buf.drain(..self.cursor);
                self.cursor = 0;
                Event::Redraw
            }
            0x17 => self.cut_word(),
            b if b < 0x20 => Event::Bell,
            b => self.utf8_byte(b),
        }
    }

    fn utf8_byte(&mut self, b: u8) -> Event {
        self.utf8.push(b);
        match std::str::from_utf8(&self.utf8) {
            Ok(s) => {
                let s = s.to_string();
                self.utf8.clear();
                for c in s.chars() {
                    self.buf.insert(self.cursor, c);
                    self.cursor += 1;
                }
                Event::Redraw
            }
            // An incomplete character: wait for the rest (at most 4 bytes).
            Err(e) if e.error_len().is_none() && self.utf8.len() < 4 => Event::None,
            Err(_) => {
                self.utf8.clear();
                Event::Bell
            }
        }
    }

    fn clear(&mut self) {
        self.buf.clear();
        self.cursor = 0;
        self.hist_pos = self.history.len();
    }

    fn submit(&mut self) -> Event {
        let line = self.line();
        self.clear();
        Event::Submit(line)
    }

    fn left(&mut self) -> Event {
        if self.cursor == 0 {
            return Event::Bell;
        }
        self.cursor -= 1;
        Event::Redraw
    }

    fn right(&mut self) -> Event {
        if self.cursor == self.buf.len() {
            return Event::Bell;
        }
        self.cursor += 1;
        Event::Redraw
    }

    fn home(&mut self) -> Event {
        self.cursor = 0;
        Event::Redraw
    }

    fn end(&mut self) -> Event {
        self.cursor = self.buf.len();
        Event::Redraw
    }

    fn backspace(&mut self) -> Event {
        if self.cursor == 0 {
            return Event::Bell;
        }
        self.cursor -= 1;
        self.buf.remove(self.cursor);
        Event::Redraw
    }

    fn delete(&mut self) -> Event {
        if self.cursor == self.buf.len() {
            return Event::Bell;
        }
        self.buf.remove(self.cursor);
        Event::Redraw
    }

    fn cut_word(&mut self) -> Event {
        let mut start = self.cursor;
        while start > 0 && self.buf[start - 1] == ' ' {
            start -= 1;
        }
        while start > 0 && self.buf[start - 1] != ' ' {
            start -= 1;
        }
        self.buf.drain(start..self.cursor);
        self.cursor = start;
        Event::Redraw
    }

    fn history_up(&mut self) -> Event {
        if self.hist_pos == 0 {
            return Event::Bell;
        }
        if self.hist_pos == self.history.len() {
            self.draft = self.buf.clone();
        }
        self.hist_pos -= 1;
        self.buf = self.history[self.hist_pos].chars().collect();
        self.cursor = self.buf.len();
        Event::Redraw
    }

    fn history_down(&mut self) -> Event {
        if self.hist_pos >= self.history.len() {
            return Event::Bell;
        }
        self.hist_pos += 1;
        self.buf = match self.history.get(self.hist_pos) {
            Some(h) => h.chars().collect(),
            None => std::mem::take(&mut self.draft),
        };
        self.cursor = self.buf.len();
        Event::Redraw
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `keys`; the submitted lines.
    fn type_keys(e: &mut Editor, keys: &str) -> Vec<String> {
        let mut out = Vec::new();
        for b in keys.bytes() {
            if let Event::Submit(line) = e.feed(b) {
                e.add_history(&line);
                out.push(line);
            }
        }
        out
    }

    #[test]
    fn cursor_movement_and_editing() {
        let mut e = Editor::default();
        // "cho wrld", Home, "e", Right x4, "o", End, "!", Enter
        assert_eq!(type_keys(&mut e, "cho wrld\x1b[He\x1b[C\x1b[C\x1b[C\x1b[C\x1b[Co\x1b[F!\r"), vec!["echo world!"]);
        // Ctrl-A / Ctrl-E, Backspace, Delete (ESC [ 3 ~), ESC O H
        assert_eq!(type_keys(&mut e, "xabc\x01\x1b[3~\x05\x7fd\x1bOHz\r\n"), vec!["zabd"]);
    }

    #[test]
    fn cutting() {
        let mut e = Editor::default();
        assert_eq!(type_keys(&mut e, "one two three\x17\x17four\r"), vec!["one four"]);
        assert_eq!(type_keys(&mut e, "abcdef\x1b[D\x1b[D\x0b!\r"), vec!["abcd!"]);
        assert_eq!(type_keys(&mut e, "abcdef\x1b[D\x1b[D\x15<\r"), vec!["<ef"]);
    }

    #[test]
    fn history_up_and_down_keeps_the_draft() {
        let mut e = Editor::default();
        type_keys(&mut e, "first\rsecond\r");
        assert_eq!(type_keys(&mut e, "dr\x1b[A\x1b[A\r"), vec!["first"]);
        assert_eq!(type_keys(&mut e, "dr\x1b[A\x1b[B\x1b[Baft\r"), vec!["draft"]);
        assert_eq!(e.feed(0x1b), Event::None);
        e.feed(b'[');
        assert_eq!(e.feed(b'B'), Event::Bell);
    }

    #[test]
    fn control_keys() {
        let mut e = Editor::default();
        assert_eq!(e.feed(0x04), Event::Eof);
        e.feed(b'a');
        assert_eq!(e.feed(0x03), Event::Interrupt);
        assert_eq!(e.line(), "");
        assert_eq!(e.feed(b'\t'), Event::Complete);
        assert_eq!(type_keys(&mut e, "héllo\r"), vec!["héllo"]);
        e.feed(b'x');
        e.replace_before_cursor(0, "/bin/");
        assert_eq!((e.line().as_str(), e.cursor()), ("/bin/", 5));
    }
}
