//! Reading a file into the editor and writing it back.
//!
//! Saving writes a temporary file beside the target, syncs it, and renames
//! it over the target (Vireo's file system replaces a file on rename, so a
//! crash leaves the old or the new text, never half of one). The temporary
//! file starts as a copy of the old one (std's `fs::copy`, which keeps its
//! mode: an executable script stays executable), then is truncated and
//! written.
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Files larger than this are refused: the whole text is held in memory.
pub const MAX_BYTES: u64 = 4 << 20;

#[derive(Debug)]
pub enum LoadError {
    TooLarge(u64),
    /// Holds a NUL byte.
    Binary,
    /// Not valid UTF-8; the line of the first bad byte (1-based).
    NotUtf8(usize),
    NotAFile,
    Io(io::Error),
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        match self {
            LoadError::TooLarge(n) => write!(f, "too large ({n} bytes; edit takes at most {MAX_BYTES})"),
            LoadError::Binary => write!(f, "a binary file (it holds NUL bytes)"),
            LoadError::NotUtf8(line) => write!(f, "not UTF-8 text (line {line}); edit would change it"),
            LoadError::NotAFile => write!(f, "not a regular file"),
            LoadError::Io(e) => write!(f, "{}", error_text(e)),
        }
    }
}

/// The file's text, or `None` if it does not exist (a new file).
pub fn load(path: &Path) -> Result<Option<String>, LoadError> {
    let meta = match fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(LoadError::Io(e)),
    };
    if !meta.is_file() {
        return Err(LoadError::NotAFile);
    }
    if meta.len() > MAX_BYTES {
        return Err(LoadError::TooLarge(meta.len()));
    }
    let bytes = fs::read(path).map_err(LoadError::Io)?;
    check_text(bytes).map(Some)
}

/// `bytes` as text, if it is text the editor can give back unchanged.
pub fn check_text(bytes: Vec<u8>) -> Result<String, LoadError> {
    if bytes.len() as u64 > MAX_BYTES {
        return Err(LoadError::TooLarge(bytes.len() as u64));
    }
    if bytes.contains(&0) {
        return Err(LoadError::Binary);
    }
    String::from_utf8(bytes).map_err(|e| {
        let good = e.utf8_error().valid_up_to();
        LoadError::NotUtf8(1 + e.as_bytes()[..good].iter().filter(|&&b| b == b'\n').count())
    })
}

/// Writes `text` to `path` by way of a temporary file and a rename.
pub fn save(path: &Path, text: &str) -> io::Result<()> {
    if fs::metadata(path).is_ok_and(|m| m.permissions().readonly()) {
        return Err(io::Error::new(io::ErrorKind::PermissionDenied, "the file is read-only"));
    }
    let tmp = temp_path(path);
    let result = write_then_rename(path, &tmp, text);
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

fn write_then_rename(path: &Path, tmp: &Path, text: &str) -> io::Result<()> {
    if path.exists() {
        fs::copy(path, tmp)?;
    }
    let mut f = fs::OpenOptions::new().write(true).create(true).truncate(true).open(tmp)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    drop(f);
    fs::rename(tmp, path)
}

/// `.NAME.edit-tmp` in the file's directory (a rename stays in one directory).
fn temp_path(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    path.with_file_name(format!(".{name}.edit-tmp"))
}

/// An I/O error in words, without std's "(os error N)".
pub fn error_text(e: &io::Error) -> String {
    use io::ErrorKind::*;
    match e.kind() {
        NotFound => "No such file or directory".into(),
        PermissionDenied => "Permission denied".into(),
        IsADirectory => "Is a directory".into(),
        NotADirectory => "Not a directory".into(),
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("vireo-edit-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn text_that_would_not_come_back_unchanged_is_refused() {
        assert!(matches!(check_text(b"ok\n".to_vec()), Ok(t) if t == "ok\n"));
        assert!(matches!(check_text(b"a\0b".to_vec()), Err(LoadError::Binary)));
        assert!(matches!(check_text(b"a\nb\n\xff".to_vec()), Err(LoadError::NotUtf8(3))));
        assert!(matches!(check_text(vec![b'a'; MAX_BYTES as usize + 1]), Err(LoadError::TooLarge(_))));
    }

    #[test]
    fn save_replaces_the_file_and_a_new_name_is_created() {
        let d = scratch("save");
        let f = d.join("notes.txt");
        assert!(matches!(load(&f), Ok(None)));
        save(&f, "first\n").unwrap();
        assert_eq!(load(&f).unwrap().as_deref(), Some("first\n"));
        save(&f, "second, longer\n").unwrap();
        save(&f, "3\n").unwrap();
        assert_eq!(fs::read_to_string(&f).unwrap(), "3\n");
        let names: Vec<_> = fs::read_dir(&d).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, ["notes.txt"], "no temporary file left");
        assert!(matches!(load(&d), Err(LoadError::NotAFile)));
        // A directory that is not there: an error, nothing written.
        assert!(save(&d.join("nope/x"), "x").is_err());
        let _ = fs::remove_dir_all(&d);
    }
}
