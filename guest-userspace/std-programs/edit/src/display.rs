//! How a line of text looks on the terminal: its characters as screen cells
//! (tabs expanded, control and zero-width characters escaped, wide characters
//! two columns), and the window of a long line that a screen row shows.
use unicode_width::UnicodeWidthChar;

/// Tab stops every 8 columns, as a terminal has them.
pub const TAB: usize = 8;

/// One screen cell: a character in one column (two if `wide`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cell {
    pub ch: char,
    pub wide: bool,
    /// Reverse video: escapes, the scroll markers, the status line.
    pub inverse: bool,
}

impl Cell {
    pub fn plain(ch: char) -> Cell {
        Cell { ch, wide: false, inverse: false }
    }

    pub fn inverse(ch: char) -> Cell {
        Cell { ch, wide: false, inverse: true }
    }

    pub fn width(&self) -> usize {
        1 + usize::from(self.wide)
    }
}

/// The cells `c` shows as when it starts at display column `x`. A terminal
/// would act on a control character, and a zero-width one would merge with
/// its neighbour, so those are written out: `^A`, `^?`, `<85>`, `<200b>`.
pub fn char_cells(c: char, x: usize, out: &mut Vec<Cell>) {
    match c {
        '\t' => out.extend(std::iter::repeat_n(Cell::plain(' '), TAB - x % TAB)),
        '\0'..='\x1f' | '\x7f' => {
            out.push(Cell::inverse('^'));
            out.push(Cell::inverse(((c as u8) ^ 0x40) as char));
        }
        _ => match c.width() {
            Some(1) => out.push(Cell::plain(c)),
            Some(2) => out.push(Cell { ch: c, wide: true, inverse: false }),
            _ => out.extend(format!("<{:x}>", c as u32).chars().map(Cell::inverse)),
        },
    }
}

/// The display width of `c` at column `x`.
pub fn char_width(c: char, x: usize) -> usize {
    match c {
        '\t' => TAB - x % TAB,
        '\0'..='\x1f' | '\x7f' => 2,
        _ => match c.width() {
            Some(w @ (1 | 2)) => w,
            _ => format!("<{:x}>", c as u32).len(),
        },
    }
}

/// The display column where byte offset `byte` of `line` starts.
pub fn column_of(line: &str, byte: usize) -> usize {
    line[..byte].chars().fold(0, |x, c| x + char_width(c, x))
}

/// The byte offset of the character at display column `x` (its start, if
/// `x` falls inside it), or the line's end if the line is shorter.
pub fn byte_at_column(line: &str, x: usize) -> usize {
    let mut col = 0;
    for (i, c) in line.char_indices() {
        let w = char_width(c, col);
        if x < col + w {
            return i;
        }
        col += w;
    }
    line.len()
}

/// The first display column a row shows when the cursor is at column `x`
/// of a row `width` columns wide. Stateless, so the picture depends on the
/// cursor alone: 0 while the cursor fits, then jumps of half a row, which
/// keep the cursor off the two marker columns and redraw seldom.
pub fn scroll_for(x: usize, width: usize) -> usize {
    let room = width.saturating_sub(2).max(1);
    if x <= room {
        return 0;
    }
    let step = (width / 2).max(1);
    (x - room).div_ceil(step) * step
}

/// The row showing `line` from display column `h` in `width` columns. When
/// `h > 0` the first column is a `<` marker; when the line goes on past the
/// row the last is a `>`. Cells cut by an edge become blanks.
pub fn row_cells(line: &str, h: usize, width: usize) -> Vec<Cell> {
    let mut out = Vec::with_capacity(width);
    if width == 0 {
        return out;
    }
    let start = if h > 0 {
        out.push(Cell::inverse('<'));
        h + 1
    } else {
        0
    };
    // Columns [start, end) of the line are shown; `end` moves in by one if
    // the line turns out to be longer than the row.
    let full_end = h + width;
    let mut cells = Vec::new();
    let mut shown = Vec::with_capacity(width);
    let mut x = 0;
    let mut longer = false;
    'chars: for c in line.chars() {
        cells.clear();
        char_cells(c, x, &mut cells);
        for cell in &cells {
            let w = cell.width();
            if x + w > full_end {
                longer = true;
                break 'chars;
            }
            if x >= start {
                shown.push((x, *cell));
            } else if x + w > start {
                // A wide cell cut by the left edge.
                shown.push((start, Cell::plain(' ')));
            }
            x += w;
        }
    }
    let end = if longer { full_end - 1 } else { full_end };
    for (col, cell) in shown {
        if col + cell.width() <= end {
            out.push(cell);
        } else if col < end {
            out.push(Cell::plain(' '));
        }
    }
    if longer {
        out.push(Cell::inverse('>'));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(cells: &[Cell]) -> String {
        cells.iter().map(|c| c.ch).collect()
    }

    #[test]
    fn widths_of_tabs_controls_and_wide_characters() {
        assert_eq!(column_of("a\tb", 2), 8);
        assert_eq!(column_of("\x01x", 1), 2);
        assert_eq!(column_of("日本", 3), 2);
        assert_eq!(column_of("e\u{301}", 3), 1 + "<301>".len());
        assert_eq!(byte_at_column("a\tb", 5), 1, "inside the tab: its start");
        assert_eq!(byte_at_column("日本", 3), 3);
        assert_eq!(byte_at_column("ab", 9), 2);
        let mut cells = Vec::new();
        char_cells('\u{85}', 0, &mut cells);
        char_cells('\x7f', 0, &mut cells);
        assert_eq!(text(&cells), "<85>^?");
        assert!(cells.iter().all(|c| c.inverse));
    }

    #[test]
    fn a_short_line_is_shown_whole() {
        assert_eq!(text(&row_cells("hello", 0, 10)), "hello");
        assert_eq!(text(&row_cells("a\tb", 0, 20)), "a       b");
        assert_eq!(text(&row_cells("0123456789", 0, 10)), "0123456789", "exactly the width");
    }

    #[test]
    fn a_long_line_gets_markers() {
        let line = "0123456789abcdefghij";
        assert_eq!(text(&row_cells(line, 0, 10)), "012345678>");
        assert_eq!(text(&row_cells(line, 5, 10)), "<6789abcd>");
        assert_eq!(text(&row_cells(line, 15, 10)), "<ghij");
        // A wide character cut by the right marker, and by the left edge.
        assert_eq!(text(&row_cells("12345678日本", 0, 10)), "12345678 >");
        assert_eq!(text(&row_cells("日本語", 2, 6)), "< 語");
        assert_eq!(text(&row_cells("日本語", 1, 6)), "<本語", "the marker covers the cut half");
    }

    #[test]
    fn scrolling_keeps_the_cursor_off_the_markers() {
        let w = 10;
        assert_eq!(scroll_for(8, w), 0);
        for x in 9..100 {
            let h = scroll_for(x, w);
            assert!(x > h && x - h <= w - 2, "x {x} h {h}");
            assert_eq!(h % (w / 2), 0);
        }
    }
}
