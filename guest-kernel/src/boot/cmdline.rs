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

    fn words(&self) -> impl Iterator<Item = &'static [u8]> {
        self.raw.split(|&b| b == b' ' || b == b'\t').filter(|w| !w.is_empty())
    }

    /// True if the bare word `name` appears.
    pub fn has_flag(&self, name: &str) -> bool {
        self.words().any(|w| w == name.as_bytes())
    }

    /// The value of the first `name=value` word.
    pub fn value(&self, name: &str) -> Option<&'static str> {
        self.words().find_map(|w| {
            let rest = w.strip_prefix(name.as_bytes())?.strip_prefix(b"=")?;
            core::str::from_utf8(rest).ok()
        })
    }
}
