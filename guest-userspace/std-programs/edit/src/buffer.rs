//! The text: a vector of lines (without their `\n`), edited at positions
//! that are always on character boundaries, and searched. No I/O, no screen.

/// A place in the text: line index and byte offset into that line, always
/// on a `char` boundary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Pos {
    pub line: usize,
    pub col: usize,
}

impl Pos {
    pub fn new(line: usize, col: usize) -> Pos {
        Pos { line, col }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Buffer {
    /// Never empty: an empty text is one empty line.
    lines: Vec<String>,
    ending: Ending,
}

/// How the saved text ends: as the file did; a new or empty file gets a
/// final newline once it holds something.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ending {
    Newline,
    Bare,
    NewlineUnlessEmpty,
}

/// How a search went.
#[derive(Debug, PartialEq, Eq)]
pub enum Found {
    At(Pos),
    /// Found after going past the end and on from the start.
    Wrapped(Pos),
    Nothing,
}

impl Default for Buffer {
    fn default() -> Self {
        Buffer { lines: vec![String::new()], ending: Ending::NewlineUnlessEmpty }
    }
}

impl Buffer {
    pub fn from_text(text: &str) -> Buffer {
        if text.is_empty() {
            return Buffer::default();
        }
        let (body, ending) = match text.strip_suffix('\n') {
            Some(body) => (body, Ending::Newline),
            None => (text, Ending::Bare),
        };
        Buffer { lines: body.split('\n').map(str::to_string).collect(), ending }
    }

    /// The text as it is saved.
    pub fn text(&self) -> String {
        let mut t = self.lines.join("\n");
        let newline = match self.ending {
            Ending::Newline => true,
            Ending::Bare => false,
            Ending::NewlineUnlessEmpty => self.lines.len() > 1 || !t.is_empty(),
        };
        if newline {
            t.push('\n');
        }
        t
    }

    pub fn line_count(&self) -> usize {
        self.lines.len()
    }

    /// Line `i` (empty past the end).
    pub fn line(&self, i: usize) -> &str {
        self.lines.get(i).map(String::as_str).unwrap_or("")
    }

    /// `p` moved onto the text: a line that exists, a char boundary in it.
    pub fn clamp(&self, p: Pos) -> Pos {
        let line = p.line.min(self.lines.len() - 1);
        let text = &self.lines[line];
        let mut col = p.col.min(text.len());
        while !text.is_char_boundary(col) {
            col -= 1;
        }
        Pos { line, col }
    }

    /// The position one character before `p` (the previous line's end at a line start).
    pub fn before(&self, p: Pos) -> Option<Pos> {
        if p.col > 0 {
            let c = self.lines[p.line][..p.col].chars().next_back()?;
            Some(Pos::new(p.line, p.col - c.len_utf8()))
        } else if p.line > 0 {
            Some(Pos::new(p.line - 1, self.lines[p.line - 1].len()))
        } else {
            None
        }
    }

    /// The position one character after `p` (the next line's start at a line end).
    pub fn after(&self, p: Pos) -> Option<Pos> {
        let text = &self.lines[p.line];
        if let Some(c) = text[p.col..].chars().next() {
            Some(Pos::new(p.line, p.col + c.len_utf8()))
        } else if p.line + 1 < self.lines.len() {
            Some(Pos::new(p.line + 1, 0))
        } else {
            None
        }
    }

    /// Inserts `c` at `p`; the position after it.
    pub fn insert_char(&mut self, p: Pos, c: char) -> Pos {
        self.lines[p.line].insert(p.col, c);
        Pos::new(p.line, p.col + c.len_utf8())
    }

    /// Splits the line at `p`; the start of the new line.
    pub fn split_line(&mut self, p: Pos) -> Pos {
        let rest = self.lines[p.line].split_off(p.col);
        self.lines.insert(p.line + 1, rest);
        Pos::new(p.line + 1, 0)
    }

    /// Deletes the character before `p` (joining lines at a line start);
    /// the new position, or `None` at the very start.
    pub fn backspace(&mut self, p: Pos) -> Option<Pos> {
        let prev = self.before(p)?;
        self.delete(prev);
        Some(prev)
    }

    /// Deletes the character at `p` (joining the next line at a line end);
    /// whether anything was deleted.
    pub fn delete(&mut self, p: Pos) -> bool {
        if p.col < self.lines[p.line].len() {
            self.lines[p.line].remove(p.col);
            true
        } else if p.line + 1 < self.lines.len() {
            let next = self.lines.remove(p.line + 1);
            self.lines[p.line].push_str(&next);
            true
        } else {
            false
        }
    }

    /// Removes line `i` and returns it; the last line left is emptied
    /// instead (and the text then saves as an empty file).
    pub fn cut_line(&mut self, i: usize) -> String {
        if self.lines.len() == 1 {
            self.ending = Ending::NewlineUnlessEmpty;
            return std::mem::take(&mut self.lines[0]);
        }
        self.lines.remove(i)
    }

    /// Inserts `lines` before line `i`.
    pub fn insert_lines(&mut self, i: usize, lines: &[String]) {
        let i = i.min(self.lines.len());
        self.lines.splice(i..i, lines.iter().cloned());
    }

    /// The next occurrence of `needle` after `from` (a match at `from` itself
    /// counts only if `at_from`), wrapping past the end to the start.
    pub fn search(&self, needle: &str, from: Pos, at_from: bool) -> Found {
        if needle.is_empty() {
            return Found::Nothing;
        }
        let first = if at_from { Some(from) } else { self.after_in_line(from) };
        if let Some(start) = first {
            if let Some(i) = self.lines[start.line][start.col..].find(needle) {
                return Found::At(Pos::new(start.line, start.col + i));
            }
        }
        for line in from.line + 1..self.lines.len() {
            if let Some(i) = self.lines[line].find(needle) {
                return Found::At(Pos::new(line, i));
            }
        }
        // Wrapped: the lines before, then the current one up to `from`.
        for line in 0..=from.line {
            if let Some(i) = self.lines[line].find(needle) {
                // On the cursor's line a match at or before it (one after it
                // was found above); at it: the only match is the one under the cursor.
                if line < from.line || i <= from.col {
                    return Found::Wrapped(Pos::new(line, i));
                }
            }
        }
        Found::Nothing
    }

    /// One character after `from` within its line (`None` at the line end,
    /// where nothing more of this line can match).
    fn after_in_line(&self, from: Pos) -> Option<Pos> {
        let c = self.lines[from.line][from.col..].chars().next()?;
        Some(Pos::new(from.line, from.col + c.len_utf8()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_round_trips_with_or_without_a_final_newline() {
        for t in ["", "a", "a\n", "a\nb", "a\n\nb\n", "\n", "\n\n"] {
            assert_eq!(Buffer::from_text(t).text(), t, "{t:?}");
        }
        assert_eq!(Buffer::from_text("x\ny\n").line_count(), 2);
        // A new (or empty) file gets a final newline once it has text.
        let mut b = Buffer::default();
        b.insert_char(Pos::default(), 'x');
        assert_eq!(b.text(), "x\n");
    }

    #[test]
    fn editing_keeps_char_boundaries() {
        let mut b = Buffer::from_text("héllo\nwörld\n");
        assert_eq!(b.clamp(Pos::new(0, 2)), Pos::new(0, 1), "inside é");
        assert_eq!(b.clamp(Pos::new(9, 99)), Pos::new(1, 6));
        let p = b.insert_char(Pos::new(0, 3), '€');
        assert_eq!((b.line(0), p), ("hé€llo", Pos::new(0, 6)));
        assert_eq!(b.backspace(p), Some(Pos::new(0, 3)));
        assert_eq!(b.backspace(Pos::new(0, 3)), Some(Pos::new(0, 1)));
        assert_eq!(b.line(0), "hllo");
        assert_eq!(b.before(Pos::new(1, 0)), Some(Pos::new(0, 4)));
        assert_eq!(b.after(Pos::new(1, 1)), Some(Pos::new(1, 3)), "over ö");
        assert_eq!(b.after(Pos::new(1, 6)), None);
        assert_eq!(b.before(Pos::new(0, 0)), None);
    }

    #[test]
    fn lines_split_join_cut_and_paste() {
        let mut b = Buffer::from_text("one two\nthree\n");
        assert_eq!(b.split_line(Pos::new(0, 3)), Pos::new(1, 0));
        assert_eq!(b.text(), "one\n two\nthree\n");
        assert_eq!(b.backspace(Pos::new(1, 0)), Some(Pos::new(0, 3)));
        assert!(b.delete(Pos::new(0, 7)), "joins the next line");
        assert_eq!(b.text(), "one twothree\n");
        assert!(!b.delete(Pos::new(0, 12)));
        let mut b = Buffer::from_text("a\nb\nc\n");
        let cut = vec![b.cut_line(1)];
        b.insert_lines(0, &cut);
        assert_eq!(b.text(), "b\na\nc\n");
        b.cut_line(0);
        b.cut_line(0);
        assert_eq!(b.cut_line(0), "c");
        assert_eq!((b.line_count(), b.text()), (1, String::new()));
    }

    #[test]
    fn search_goes_forward_and_wraps() {
        let b = Buffer::from_text("foo bar\nbaz foo\nqux\n");
        assert_eq!(b.search("foo", Pos::new(0, 0), true), Found::At(Pos::new(0, 0)));
        assert_eq!(b.search("foo", Pos::new(0, 0), false), Found::At(Pos::new(1, 4)));
        assert_eq!(b.search("foo", Pos::new(1, 4), false), Found::Wrapped(Pos::new(0, 0)));
        assert_eq!(
            b.search("qux", Pos::new(2, 0), false),
            Found::Wrapped(Pos::new(2, 0)),
            "only the one under the cursor"
        );
        assert_eq!(b.search("ba", Pos::new(0, 5), false), Found::At(Pos::new(1, 0)));
        assert_eq!(b.search("nope", Pos::new(1, 2), false), Found::Nothing);
        assert_eq!(b.search("", Pos::new(0, 0), true), Found::Nothing);
        let u = Buffer::from_text("ééé");
        assert_eq!(u.search("é", Pos::new(0, 2), false), Found::At(Pos::new(0, 4)));
    }
}
