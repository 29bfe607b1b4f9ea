//! What is on the terminal, and the bytes that turn it into the next frame.
//! Every byte to a serial console costs (a VM exit each on a VMM, 87 µs at
//! 115200 baud), so only what changed is sent: a row is rewritten from its
//! first changed cell, and when the text area scrolls by less than its
//! height the terminal scrolls it (a scroll region and line feeds or reverse
//! index) and only the rows that came in are drawn.
use crate::display::Cell;
use std::fmt::Write as _;

/// A picture of the whole screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// One vector of cells per screen row, at most the width in columns.
    pub rows: Vec<Vec<Cell>>,
    /// Where the cursor goes: (row, column), 0-based.
    pub cursor: (usize, usize),
    /// Rows `0..text_rows` are a window on the text whose first row is text
    /// line `top`: when `top` moves, those rows can be scrolled.
    pub text_rows: usize,
    pub top: usize,
}

/// The terminal as last drawn.
pub struct Terminal {
    cols: usize,
    shown: Option<Frame>,
}

impl Terminal {
    pub fn new(cols: usize) -> Terminal {
        Terminal { cols, shown: None }
    }

    /// Forget what is on the terminal: the next update redraws everything.
    pub fn invalidate(&mut self) {
        self.shown = None;
    }

    /// The bytes that change the terminal from what it shows to `next`.
    pub fn update(&mut self, next: &Frame) -> Vec<u8> {
        let mut out = String::new();
        let mut old = match self.shown.take() {
            Some(old) if old.rows.len() == next.rows.len() => old,
            _ => {
                // Unknown contents: reset attributes and scroll region, clear.
                out.push_str("\x1b[m\x1b[r\x1b[H\x1b[2J");
                Frame {
                    rows: vec![Vec::new(); next.rows.len()],
                    cursor: (0, 0),
                    text_rows: next.text_rows,
                    top: next.top,
                }
            }
        };
        if old.text_rows == next.text_rows {
            scroll(&mut out, &mut old, next.top);
        }
        for (r, (was, want)) in old.rows.iter().zip(&next.rows).enumerate() {
            draw_row(&mut out, r, was, want, self.cols);
        }
        let _ = write!(out, "\x1b[{};{}H", next.cursor.0 + 1, next.cursor.1 + 1);
        self.shown = Some(next.clone());
        out.into_bytes()
    }
}

/// Scrolls the text rows of `old` (and the terminal) from `old.top` to `top`
/// when that keeps some rows.
fn scroll(out: &mut String, old: &mut Frame, top: usize) {
    let n = old.text_rows;
    let d = top as isize - old.top as isize;
    if d == 0 || d.unsigned_abs() >= n || n < 2 {
        return;
    }
    let k = d.unsigned_abs();
    let _ = write!(out, "\x1b[1;{n}r");
    if d > 0 {
        // A line feed on the region's bottom row scrolls the region up.
        let _ = write!(out, "\x1b[{n};1H");
        out.push_str(&"\n".repeat(k));
        old.rows[..n].rotate_left(k);
        old.rows[n - k..n].iter_mut().for_each(Vec::clear);
    } else {
        // A reverse index on its top row scrolls it down.
        out.push_str("\x1b[1;1H");
        out.push_str(&"\x1bM".repeat(k));
        old.rows[..n].rotate_right(k);
        old.rows[..k].iter_mut().for_each(Vec::clear);
    }
    // Back to the whole screen (this also homes the cursor).
    out.push_str("\x1b[r");
    old.top = top;
}

/// Rewrites row `r` from its first cell that differs; erases what the old
/// row had beyond the new one's end.
fn draw_row(out: &mut String, r: usize, was: &[Cell], want: &[Cell], cols: usize) {
    let same = was.iter().zip(want).take_while(|(a, b)| a == b).count();
    if same == want.len() && same == was.len() {
        return;
    }
    let col: usize = want[..same].iter().map(Cell::width).sum();
    let _ = write!(out, "\x1b[{};{}H", r + 1, col + 1);
    let mut inverse = false;
    let mut end = col;
    for cell in &want[same..] {
        if end + cell.width() > cols {
            break;
        }
        if cell.inverse != inverse {
            out.push_str(if cell.inverse { "\x1b[7m" } else { "\x1b[m" });
            inverse = cell.inverse;
        }
        out.push(cell.ch);
        end += cell.width();
    }
    if inverse {
        out.push_str("\x1b[m");
    }
    let old_end: usize = was.iter().map(Cell::width).sum();
    if old_end > end && end < cols {
        out.push_str("\x1b[K");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub fn row(text: &str) -> Vec<Cell> {
        text.chars().map(Cell::plain).collect()
    }

    fn frame(lines: &[&str], top: usize) -> Frame {
        Frame { rows: lines.iter().map(|l| row(l)).collect(), cursor: (0, 0), text_rows: lines.len() - 1, top }
    }

    fn apply(vt: &mut vt100::Parser, bytes: &[u8]) -> Vec<String> {
        vt.process(bytes);
        vt.screen().rows(0, 20).collect()
    }

    #[test]
    fn only_changed_cells_are_sent() {
        let mut t = Terminal::new(20);
        let mut vt = vt100::Parser::new(4, 20, 0);
        let first = t.update(&frame(&["hello", "world", "", "status"], 0));
        assert_eq!(apply(&mut vt, &first), ["hello", "world", "", "status"]);
        let typed = t.update(&frame(&["hello!", "world", "", "status"], 0));
        assert_eq!(String::from_utf8_lossy(&typed), "\x1b[1;6H!\x1b[1;1H");
        assert_eq!(apply(&mut vt, &typed), ["hello!", "world", "", "status"]);
        let shorter = t.update(&frame(&["hello!", "wo", "", "status"], 0));
        assert_eq!(String::from_utf8_lossy(&shorter), "\x1b[2;3H\x1b[K\x1b[1;1H");
        assert_eq!(apply(&mut vt, &shorter), ["hello!", "wo", "", "status"]);
        assert_eq!(t.update(&frame(&["hello!", "wo", "", "status"], 0)), b"\x1b[1;1H");
    }

    #[test]
    fn scrolling_moves_rows_on_the_terminal() {
        let mut t = Terminal::new(20);
        let mut vt = vt100::Parser::new(5, 20, 0);
        apply(&mut vt, &t.update(&frame(&["l0", "l1", "l2", "l3", "st"], 0)));
        let down = t.update(&frame(&["l1", "l2", "l3", "l4", "st"], 1));
        assert_eq!(apply(&mut vt, &down), ["l1", "l2", "l3", "l4", "st"]);
        // One line in: the region scroll and one row, not four.
        assert!(down.len() < 50, "{:?}", String::from_utf8_lossy(&down));
        let up = t.update(&frame(&["l0", "l1", "l2", "l3", "st"], 0));
        assert_eq!(apply(&mut vt, &up), ["l0", "l1", "l2", "l3", "st"]);
        let far = t.update(&frame(&["l9", "l10", "l11", "l12", "st"], 9));
        assert_eq!(apply(&mut vt, &far), ["l9", "l10", "l11", "l12", "st"]);
    }

    #[test]
    fn inverse_cells_and_wide_characters() {
        let mut t = Terminal::new(10);
        let mut vt = vt100::Parser::new(2, 10, 0);
        let mut r0 = row("a");
        r0.push(Cell::inverse('^'));
        r0.push(Cell::inverse('A'));
        r0.push(Cell { ch: '日', wide: true, inverse: false });
        r0.push(Cell::plain('b'));
        let f = Frame { rows: vec![r0, row("st")], cursor: (0, 6), text_rows: 1, top: 0 };
        apply(&mut vt, &t.update(&f));
        assert_eq!(vt.screen().contents(), "a^A日b\nst");
        assert!(vt.screen().cell(0, 1).unwrap().inverse());
        assert!(!vt.screen().cell(0, 3).unwrap().inverse());
        assert_eq!(vt.screen().cursor_position(), (0, 6));
    }
}
