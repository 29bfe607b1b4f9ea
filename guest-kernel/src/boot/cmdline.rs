//! Kernel command-line options: space-separated `flag` or `key=value` words.

pub struct Cmdline {
    raw: &'static [u8],
}

impl Cmdline {
    pub const fn new(raw: &'static [u8]) -> Self {
        Self { raw }
    }

    pub fn raw(&self) -> &'static [u8] {
        self.raw
    }

    /// Kernel options: the words before a lone `--`.
    fn words(&self) -> impl Iterator<Item = &'static [u8]> {
        self.all_words().take_while(|w| *w != b"--")
    }

    fn all_words(&self) -> impl Iterator<Item = &'static [u8]> {
        self.raw.split(|&b| b == b' ' || b == b'\t').filter(|w| !w.is_empty())
    }

    /// The words after a lone `--`, NUL-separated (init's arguments).
    pub fn after_separator(&self) -> alloc::vec::Vec<u8> {
        let mut out = alloc::vec::Vec::new();
        for w in self.all_words().skip_while(|w| *w != b"--").skip(1) {
            out.extend_from_slice(w);
            out.push(0);
        }
        out
    }

    /// True if the bare word `name` appears.
    pub fn has_flag(&self, name: &str) -> bool {
        self.words().any(|w| w == name.as_bytes())
    }

    /// The values of every `name=value` word, in order, as bytes.
    pub fn values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'static [u8]> + 'a {
        self.words().filter_map(move |w| w.strip_prefix(name.as_bytes())?.strip_prefix(b"="))
    }

    /// The value of the first `name=value` word.
    pub fn value(&self, name: &str) -> Option<&'static str> {
        self.words().find_map(|w| {
            let rest = w.strip_prefix(name.as_bytes())?.strip_prefix(b"=")?;
            core::str::from_utf8(rest).ok()
        })
    }
}
