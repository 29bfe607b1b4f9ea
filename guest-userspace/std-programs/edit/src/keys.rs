//! Bytes typed at a VT100/xterm terminal into keys. A state machine fed one
//! byte at a time (the console hands the editor one byte per read), so an
//! escape sequence or a UTF-8 character may arrive in pieces.
//!
//! Sequences: `ESC [ A-D` and `ESC O A-D` (arrows), `ESC [ H`/`F`, `ESC O H`/`F`,
//! `ESC [ 1~`/`7~` (Home), `4~`/`8~` (End), `3~` (Delete), `5~`/`6~` (PgUp/PgDn);
//! modifier parameters (`ESC [ 1;5C`) are ignored. A lone ESC has no meaning
//! of its own: without a timeout it cannot be told from a sequence's start.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    Char(char),
    /// Ctrl with a letter: `Ctrl(b'q')` is 0x11.
    Ctrl(u8),
    Enter,
    Tab,
    Backspace,
    Delete,
    Up,
    Down,
    Left,
    Right,
    Home,
    End,
    PageUp,
    PageDown,
    /// A sequence or byte with no meaning here (ignored by the editor).
    Unknown,
}

#[derive(Default)]
enum State {
    #[default]
    Ground,
    /// After ESC.
    Esc,
    /// After `ESC [`, with the parameter bytes so far.
    Csi(Vec<u8>),
    /// After `ESC O`.
    Ss3,
}

/// Longest parameter string kept: anything longer is not a key we know.
const CSI_MAX: usize = 16;

#[derive(Default)]
pub struct Decoder {
    state: State,
    utf8: Vec<u8>,
    last_cr: bool,
}

impl Decoder {
    /// The key `b` completes, if any.
    pub fn feed(&mut self, b: u8) -> Option<Key> {
        let was_cr = std::mem::replace(&mut self.last_cr, b == b'\r');
        match std::mem::take(&mut self.state) {
            State::Ground => {}
            State::Esc => {
                return match b {
                    b'[' => self.wait(State::Csi(Vec::new())),
                    b'O' => self.wait(State::Ss3),
                    // ESC then a key: the ESC alone means nothing.
                    _ => self.ground(b, was_cr),
                };
            }
            State::Ss3 => {
                return Some(match b {
                    b'A' => Key::Up,
                    b'B' => Key::Down,
                    b'C' => Key::Right,
                    b'D' => Key::Left,
                    b'H' => Key::Home,
                    b'F' => Key::End,
                    _ => Key::Unknown,
                });
            }
            State::Csi(mut params) => {
                if (b.is_ascii_digit() || b == b';') && params.len() < CSI_MAX {
                    params.push(b);
                    return self.wait(State::Csi(params));
                }
                if (0x20..0x40).contains(&b) {
                    // Still inside a sequence we do not know (or too long).
                    return self.wait(State::Csi(params));
                }
                let first = params.split(|&p| p == b';').next().unwrap_or_default();
                return Some(match (b, first) {
                    (b'A', _) => Key::Up,
                    (b'B', _) => Key::Down,
                    (b'C', _) => Key::Right,
                    (b'D', _) => Key::Left,
                    (b'H', _) | (b'~', b"1" | b"7") => Key::Home,
                    (b'F', _) | (b'~', b"4" | b"8") => Key::End,
                    (b'~', b"3") => Key::Delete,
                    (b'~', b"5") => Key::PageUp,
                    (b'~', b"6") => Key::PageDown,
                    _ => Key::Unknown,
                });
            }
        }
        self.ground(b, was_cr)
    }

    fn wait(&mut self, next: State) -> Option<Key> {
        self.state = next;
        None
    }

    fn ground(&mut self, b: u8, was_cr: bool) -> Option<Key> {
        if !self.utf8.is_empty() && !(0x80..0xc0).contains(&b) {
            // A character cut short: drop it, and take `b` as it is.
            self.utf8.clear();
        }
        match b {
            0x1b => self.wait(State::Esc),
            b'\r' => Some(Key::Enter),
            b'\n' if was_cr => None,
            b'\n' => Some(Key::Enter),
            b'\t' => Some(Key::Tab),
            0x08 | 0x7f => Some(Key::Backspace),
            0x01..=0x1a => Some(Key::Ctrl(b'a' + b - 1)),
            0x00..=0x1f => Some(Key::Unknown),
            0x20..=0x7e => Some(Key::Char(b as char)),
            _ => self.utf8_byte(b),
        }
    }

    fn utf8_byte(&mut self, b: u8) -> Option<Key> {
        self.utf8.push(b);
        match std::str::from_utf8(&self.utf8) {
            Ok(s) => {
                let c = s.chars().next();
                self.utf8.clear();
                c.map(Key::Char)
            }
            // Incomplete: wait for the rest (a character is at most 4 bytes).
            Err(e) if e.error_len().is_none() && self.utf8.len() < 4 => None,
            Err(_) => {
                self.utf8.clear();
                Some(Key::Unknown)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(bytes: &[u8]) -> Vec<Key> {
        let mut d = Decoder::default();
        bytes.iter().filter_map(|&b| d.feed(b)).collect()
    }

    #[test]
    fn cursor_and_editing_keys() {
        use Key::*;
        assert_eq!(keys(b"\x1b[A\x1b[B\x1b[C\x1b[D\x1bOA\x1bOD"), [Up, Down, Right, Left, Up, Left]);
        assert_eq!(
            keys(b"\x1b[H\x1b[F\x1bOH\x1bOF\x1b[1~\x1b[4~\x1b[7~\x1b[8~"),
            [Home, End, Home, End, Home, End, Home, End]
        );
        assert_eq!(keys(b"\x1b[3~\x1b[5~\x1b[6~\x7f\x08\t"), [Delete, PageUp, PageDown, Backspace, Backspace, Tab]);
        // Modifiers are ignored: Ctrl-Right is Right.
        assert_eq!(keys(b"\x1b[1;5C\x1b[3;2~"), [Right, Delete]);
    }

    #[test]
    fn enter_counts_a_cr_lf_pair_once() {
        assert_eq!(keys(b"\r\n\n\r"), [Key::Enter, Key::Enter, Key::Enter]);
    }

    #[test]
    fn control_letters() {
        assert_eq!(keys(b"\x11\x13\x06\x03\x07\x0b\x15"), [b'q', b's', b'f', b'c', b'g', b'k', b'u'].map(Key::Ctrl));
        assert_eq!(keys(b"\x00\x1c"), [Key::Unknown, Key::Unknown]);
    }

    #[test]
    fn utf8_arrives_in_pieces() {
        assert_eq!(keys("é€😀a".as_bytes()), [Key::Char('é'), Key::Char('€'), Key::Char('😀'), Key::Char('a')]);
        // A bad byte, and a character cut short by ASCII.
        assert_eq!(keys(b"\xff\xe2\x82x"), [Key::Unknown, Key::Char('x')]);
    }

    #[test]
    fn unknown_sequences_end_cleanly() {
        assert_eq!(
            keys(b"\x1b[99~a\x1b[?25hb\x1bOZc"),
            [Key::Unknown, Key::Char('a'), Key::Unknown, Key::Char('b'), Key::Unknown, Key::Char('c')]
        );
        // ESC before an ordinary key: the key.
        assert_eq!(keys(b"\x1bx"), [Key::Char('x')]);
        // A parameter string too long to be ours is still consumed.
        assert_eq!(keys(b"\x1b[11111111111111111111111111~z"), [Key::Unknown, Key::Char('z')]);
    }
}
