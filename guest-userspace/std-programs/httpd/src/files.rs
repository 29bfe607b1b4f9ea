//! The served directory: from decoded path segments to an open file that
//! is inside it, and the Content-Type its name implies.
//!
//! Every candidate path is canonicalised (symlinks resolved by the host
//! OS) and must lie under the root's canonical path, so a symlink that
//! points outside is a 404; the file opened is the canonical path, not
//! the one asked for. A directory asked for without a trailing slash is
//! a redirect to it with one; with one, its `index.html` is served, and
//! without an index it is a 404 (there are no listings).
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use crate::path::UrlPath;

#[derive(Debug)]
pub struct Root {
    canonical: PathBuf,
}

/// What a path resolved to.
#[derive(Debug)]
pub enum Resolved {
    File {
        file: File,
        len: u64,
        content_type: &'static str,
    },
    /// A directory named without its trailing slash: 301 to `path/`.
    Directory,
}

/// Why nothing is served.
#[derive(Debug, PartialEq, Eq)]
pub enum FileError {
    /// 404: no such file, not a regular file, a directory without an
    /// index, or a path that leaves the root through a symlink.
    NotFound,
    /// 403: the OS refuses to let us read it.
    Forbidden,
    /// 500: any other I/O error.
    Io(io::ErrorKind),
}

impl FileError {
    pub fn status(&self) -> u16 {
        match self {
            FileError::NotFound => 404,
            FileError::Forbidden => 403,
            FileError::Io(_) => 500,
        }
    }
}

impl From<io::Error> for FileError {
    fn from(e: io::Error) -> Self {
        match e.kind() {
            io::ErrorKind::NotFound | io::ErrorKind::NotADirectory | io::ErrorKind::InvalidFilename => {
                FileError::NotFound
            }
            io::ErrorKind::PermissionDenied => FileError::Forbidden,
            k => FileError::Io(k),
        }
    }
}

impl Root {
    /// The root must exist and be a directory.
    pub fn new(dir: &Path) -> io::Result<Root> {
        let canonical = std::fs::canonicalize(dir)?;
        if !std::fs::metadata(&canonical)?.is_dir() {
            return Err(io::Error::new(io::ErrorKind::NotADirectory, "not a directory"));
        }
        Ok(Root { canonical })
    }

    pub fn path(&self) -> &Path {
        &self.canonical
    }

    pub fn resolve(&self, url: &UrlPath) -> Result<Resolved, FileError> {
        let mut p = self.canonical.clone();
        p.extend(&url.segments);
        let p = self.inside(&p)?;
        let meta = std::fs::metadata(&p)?;
        if meta.is_dir() {
            if !url.trailing_slash {
                return Ok(Resolved::Directory);
            }
            let index = self.inside(&p.join("index.html"))?;
            let meta = std::fs::metadata(&index)?;
            return open_file(&index, &meta);
        }
        if url.trailing_slash {
            return Err(FileError::NotFound);
        }
        open_file(&p, &meta)
    }

    /// The canonical form of `p`, if it is under the root.
    fn inside(&self, p: &Path) -> Result<PathBuf, FileError> {
        let c = std::fs::canonicalize(p)?;
        if c.starts_with(&self.canonical) {
            Ok(c)
        } else {
            Err(FileError::NotFound)
        }
    }
}

/// Opens a regular file whose metadata was just read (one file-system
/// call fewer per request than a stat of the open file; if the file
/// changes in between, `send_file` sends at most the length read here
/// and closes the connection if it gets fewer bytes).
fn open_file(p: &Path, meta: &std::fs::Metadata) -> Result<Resolved, FileError> {
    if !meta.is_file() {
        return Err(FileError::NotFound);
    }
    let file = File::open(p)?;
    Ok(Resolved::File { file, len: meta.len(), content_type: content_type(p) })
}

/// By extension (case-insensitive); unknown ones are plain bytes.
pub fn content_type(p: &Path) -> &'static str {
    let ext = p.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    match ext.as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "txt" => "text/plain; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "json" => "application/json",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "svg" => "image/svg+xml",
        "wasm" => "application/wasm",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::path::decode;

    #[test]
    fn content_types() {
        for (name, t) in [
            ("a.html", "text/html; charset=utf-8"),
            ("A.HTM", "text/html; charset=utf-8"),
            ("a.txt", "text/plain; charset=utf-8"),
            ("a.css", "text/css; charset=utf-8"),
            ("a.js", "text/javascript; charset=utf-8"),
            ("a.json", "application/json"),
            ("a.png", "image/png"),
            ("a.JPG", "image/jpeg"),
            ("a.jpeg", "image/jpeg"),
            ("a.svg", "image/svg+xml"),
            ("a.wasm", "application/wasm"),
            ("a.bin", "application/octet-stream"),
            ("noext", "application/octet-stream"),
            (".html", "application/octet-stream"),
        ] {
            assert_eq!(content_type(Path::new(name)), t, "{name}");
        }
    }

    /// A fresh directory tree: root/{a.txt, d/index.html, e/, link-out -> ../outside.txt, link-in -> a.txt}.
    fn tree() -> (PathBuf, Root) {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let base = std::env::temp_dir().join(format!("httpd-files-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let root = base.join("root");
        std::fs::create_dir_all(root.join("d")).expect("mkdir");
        std::fs::create_dir_all(root.join("e")).expect("mkdir");
        std::fs::write(root.join("a.txt"), "a").expect("write");
        std::fs::write(root.join("d/index.html"), "<p>d</p>").expect("write");
        std::fs::write(base.join("outside.txt"), "secret").expect("write");
        std::os::unix::fs::symlink("../outside.txt", root.join("link-out")).expect("symlink");
        std::os::unix::fs::symlink("a.txt", root.join("link-in")).expect("symlink");
        std::os::unix::fs::symlink("/", root.join("slash")).expect("symlink");
        let r = Root::new(&root).expect("root");
        (base, r)
    }

    fn resolve(r: &Root, t: &str) -> Result<Resolved, FileError> {
        r.resolve(&decode(t).expect("decodes"))
    }

    #[test]
    fn resolution() {
        let (base, r) = tree();
        assert!(matches!(resolve(&r, "/a.txt"), Ok(Resolved::File { len: 1, .. })));
        assert!(matches!(resolve(&r, "/link-in"), Ok(Resolved::File { len: 1, .. })));
        assert!(matches!(
            resolve(&r, "/d/"),
            Ok(Resolved::File { len: 8, content_type: "text/html; charset=utf-8", .. })
        ));
        assert!(matches!(resolve(&r, "/d"), Ok(Resolved::Directory)));
        assert!(matches!(resolve(&r, "/"), Err(FileError::NotFound)), "no index at the root");
        assert!(matches!(resolve(&r, "/e/"), Err(FileError::NotFound)));
        assert!(matches!(resolve(&r, "/a.txt/"), Err(FileError::NotFound)));
        assert!(matches!(resolve(&r, "/missing"), Err(FileError::NotFound)));
        assert!(matches!(resolve(&r, "/link-out"), Err(FileError::NotFound)), "symlink out of the root");
        assert!(matches!(resolve(&r, "/slash/etc/passwd"), Err(FileError::NotFound)), "symlink to /");
        let _ = std::fs::remove_dir_all(base);
    }
}
