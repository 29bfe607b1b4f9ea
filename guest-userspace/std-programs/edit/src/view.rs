//! The editor's state as a screen: text rows (the cursor's row scrolled
//! sideways when the cursor is past its right edge; every other row shows its
//! line's start, `>` marking a longer line), the status line, the message line.
use crate::display::{char_cells, column_of, row_cells, scroll_for, Cell};
use crate::editor::Editor;
use crate::screen::Frame;

/// Lines past the end of the text show this, as in vi.
const NO_LINE: char = '~';

pub fn frame(e: &Editor) -> Frame {
    let cols = e.cols;
    let mut rows = Vec::with_capacity(e.text_rows + 2);
    let cur_line = e.buf.line(e.cursor.line);
    let cur_x = column_of(cur_line, e.cursor.col);
    let h = scroll_for(cur_x, cols);
    for r in 0..e.text_rows {
        let i = e.top + r;
        rows.push(if i >= e.buf.line_count() {
            vec![Cell::plain(NO_LINE)]
        } else if i == e.cursor.line {
            row_cells(cur_line, h, cols)
        } else {
            row_cells(e.buf.line(i), 0, cols)
        });
    }
    rows.push(status(e));
    // The editor keeps the cursor's line in view.
    let mut cursor = (e.cursor.line.saturating_sub(e.top).min(e.text_rows - 1), cur_x - h);
    match e.prompt_text() {
        Some(p) => {
            // The end of the answer stays in sight.
            let mut cells = text_cells(&p);
            let mut width: usize = cells.iter().map(Cell::width).sum();
            let mut skip = 0;
            while width >= cols && skip < cells.len() {
                width -= cells[skip].width();
                skip += 1;
            }
            cells.drain(..skip);
            cursor = (e.text_rows + 1, width);
            rows.push(cells);
        }
        None => rows.push(truncate(text_cells(&e.message), cols)),
    }
    Frame { rows, cursor, text_rows: e.text_rows, top: e.top }
}

/// ` NAME [modified]        line L/N, col C ` in reverse video, the whole width.
fn status(e: &Editor) -> Vec<Cell> {
    let cols = e.cols;
    let flag = if e.modified { " [modified]" } else { "" };
    let col = e.buf.line(e.cursor.line)[..e.cursor.col].chars().count() + 1;
    let right = format!("line {}/{}, col {col} ", e.cursor.line + 1, e.buf.line_count());
    let mut left = text_cells(&format!(" {}{flag}", e.name));
    // A long name gives way to the position.
    let room = cols.saturating_sub(right.len() + 1);
    if left.len() > room {
        let keep = room.saturating_sub(flag.len());
        let name_end = left.len() - flag.chars().count();
        left.drain(keep.min(name_end)..name_end);
    }
    let mut cells = left;
    cells.resize(cols.saturating_sub(right.len()).max(cells.len()), Cell::plain(' '));
    cells.extend(right.chars().map(Cell::plain));
    let mut cells = truncate(cells, cols);
    for c in &mut cells {
        c.inverse = true;
    }
    cells
}

/// Message text as cells, escaped the way the text is (a file name or a
/// search string may hold anything); a tab is `^I` here.
fn text_cells(s: &str) -> Vec<Cell> {
    let mut out = Vec::new();
    for c in s.chars() {
        if c == '\t' {
            out.extend([Cell::inverse('^'), Cell::inverse('I')]);
        } else {
            char_cells(c, 0, &mut out);
        }
    }
    out
}

fn truncate(mut cells: Vec<Cell>, cols: usize) -> Vec<Cell> {
    let mut w = 0;
    let keep = cells
        .iter()
        .take_while(|c| {
            w += c.width();
            w <= cols
        })
        .count();
    cells.truncate(keep);
    cells
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::buffer::Buffer;
    use crate::editor::tests::type_keys;
    use crate::screen::Terminal;

    /// Draws `e` on an emulated terminal through [`Terminal`].
    struct Screen {
        term: Terminal,
        vt: vt100::Parser,
        bytes: usize,
    }

    impl Screen {
        fn new(rows: u16, cols: u16) -> Screen {
            Screen { term: Terminal::new(cols.into()), vt: vt100::Parser::new(rows, cols, 0), bytes: 0 }
        }

        /// Draws; the bytes it took.
        fn draw(&mut self, e: &Editor) -> usize {
            let out = self.term.update(&frame(e));
            self.vt.process(&out);
            self.bytes += out.len();
            out.len()
        }

        fn row(&self, r: u16) -> String {
            let cols = self.vt.screen().size().1;
            self.vt.screen().rows(0, cols).nth(r.into()).unwrap_or_default().trim_end().to_string()
        }
    }

    fn lines(n: usize) -> String {
        (1..=n).map(|i| format!("line {i}\n")).collect()
    }

    #[test]
    fn the_first_screen_shows_the_text_status_and_help() {
        let e = Editor::new(Buffer::from_text("hello\nworld\n"), "notes.txt", 6, 40);
        let mut s = Screen::new(6, 40);
        s.draw(&e);
        assert_eq!(s.row(0), "hello");
        assert_eq!(s.row(1), "world");
        assert_eq!(s.row(2), "~");
        assert_eq!(s.row(4), format!(" notes.txt{}line 1/2, col 1", " ".repeat(14)));
        assert!(s.vt.screen().cell(4, 0).unwrap().inverse());
        assert!(s.row(5).starts_with("^S save  ^Q quit"));
        assert_eq!(s.vt.screen().cursor_position(), (0, 0));
    }

    #[test]
    fn editing_redraws_little() {
        let mut e = Editor::new(Buffer::from_text(&lines(100)), "f", 24, 80);
        let mut s = Screen::new(24, 80);
        let full = s.draw(&e);
        type_keys(&mut e, "\x1b[F");
        s.draw(&e);
        type_keys(&mut e, "!");
        s.draw(&e);
        type_keys(&mut e, "?");
        // The character, the column in the status line, the cursor.
        let typed = s.draw(&e);
        assert_eq!(s.row(0), "line 1!?");
        assert!(s.row(22).contains("[modified]"));
        assert_eq!(s.vt.screen().cursor_position(), (0, 8));
        // Down 30 lines one by one: each a region scroll and a row or two.
        let mut most = 0;
        for _ in 0..30 {
            type_keys(&mut e, "\x1b[B");
            most = most.max(s.draw(&e));
        }
        assert_eq!(s.row(0), "line 10");
        assert_eq!(s.row(21), "line 31");
        assert_eq!(s.vt.screen().cursor_position(), (21, 7), "line 31 is shorter");
        type_keys(&mut e, "\x1b[6~");
        let page = s.draw(&e);
        assert_eq!(s.row(0), "line 31");
        eprintln!(
            "first screen {full} bytes, a typed character {typed}, a line scrolled at most {most}, a page {page}"
        );
        assert!(typed < 80 && most < 120, "typed {typed}, scrolled {most}");
    }

    #[test]
    fn a_long_line_scrolls_sideways_only_where_the_cursor_is() {
        let long: String = (0..200).map(|i| char::from(b'a' + (i % 26) as u8)).collect();
        let mut e = Editor::new(Buffer::from_text(&format!("{long}\n{long}\nshort\n")), "f", 6, 20);
        let mut s = Screen::new(6, 20);
        s.draw(&e);
        assert_eq!(s.row(0), "abcdefghijklmnopqrs>");
        type_keys(&mut e, &"\x1b[C".repeat(25));
        s.draw(&e);
        // Cursor at column 25: the row starts at column 10 (half-row jumps).
        assert_eq!(s.row(0), "<lmnopqrstuvwxyzabc>");
        assert_eq!(s.row(1), "abcdefghijklmnopqrs>");
        assert_eq!(s.vt.screen().cursor_position(), (0, 15));
        type_keys(&mut e, "\x1b[B");
        s.draw(&e);
        assert_eq!(s.row(0), "abcdefghijklmnopqrs>");
        assert_eq!(s.row(1), "<lmnopqrstuvwxyzabc>");
        type_keys(&mut e, "\x1b[F");
        s.draw(&e);
        // At the end (column 200) the row starts at 190.
        assert_eq!(s.row(1), "<jklmnopqr");
        assert_eq!(s.vt.screen().cursor_position(), (1, 10));
        type_keys(&mut e, "\x1b[B");
        s.draw(&e);
        assert_eq!(s.row(2), "short");
        assert_eq!(s.vt.screen().cursor_position(), (2, 5));
    }

    #[test]
    fn prompts_and_messages_are_on_the_last_row() {
        let mut e = Editor::new(Buffer::from_text("tab\there\n\u{1}x\n"), "f", 6, 30);
        let mut s = Screen::new(6, 30);
        type_keys(&mut e, "\x06he");
        s.draw(&e);
        assert_eq!(s.row(5), "Search: he");
        assert_eq!(s.vt.screen().cursor_position(), (5, 10));
        type_keys(&mut e, "re\r");
        s.draw(&e);
        assert_eq!(s.row(0), "tab     here");
        assert_eq!(s.row(1), "^Ax");
        assert!(s.row(5).starts_with("Found \"here\""));
        assert_eq!(s.vt.screen().cursor_position(), (0, 8));
    }
}
