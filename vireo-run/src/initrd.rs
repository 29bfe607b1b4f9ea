//! The initrd the VM boots: every file of the system's initrd (init, the
//! I/O server, the std runtime `/sys/motor-rt`, ...) plus the program at
//! `/app/NAME`, written to a temporary file removed when the run ends.
use std::path::{Path, PathBuf};

use mkinitrd::cpio;

use crate::error::RunError;

/// The program's path inside the VM: `/app/` and its file name when that
/// is one command-line word, else `/app/program`.
pub fn app_path(program: &Path) -> String {
    let name = program.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let one_word = !name.is_empty() && name.chars().all(|c| c.is_ascii_graphic()) && cpio::normalize(name).is_ok();
    format!("/app/{}", if one_word { name } else { "program" })
}

pub fn pack(system: &[u8], app_path: &str, program: &[u8]) -> Result<Vec<u8>, RunError> {
    let members = cpio::read(system).ok_or_else(|| RunError::Pack("the system initrd is unreadable".into()))?;
    let mut w = cpio::Writer::new();
    // Directories are implied by the files under them.
    for m in members.iter().filter(|m| m.mode & 0o170_000 == 0o100_000) {
        w.add_file(&m.name, &m.data).map_err(|e| RunError::Pack(e.to_string()))?;
    }
    w.add_file(app_path, program).map_err(|e| RunError::Pack(e.to_string()))?;
    Ok(w.finish())
}

/// A file removed when dropped.
pub struct TempFile(pub PathBuf);

impl TempFile {
    pub fn write(bytes: &[u8]) -> Result<Self, RunError> {
        let path = std::env::temp_dir().join(format!("vireo-run-{}.cpio", std::process::id()));
        std::fs::write(&path, bytes).map_err(|err| RunError::Write { path: path.clone(), err })?;
        Ok(Self(path))
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn program_lands_beside_the_system_files() {
        let mut w = cpio::Writer::new();
        w.add_file("init", b"i").unwrap();
        w.add_file("sys/motor-rt", b"rt").unwrap();
        let packed = pack(&w.finish(), "/app/demo", b"elf").unwrap();
        let names: Vec<_> = cpio::read(&packed).unwrap().into_iter().map(|m| (m.name, m.data)).collect();
        assert!(names.contains(&("sys/motor-rt".into(), b"rt".to_vec())));
        assert!(names.contains(&("app/demo".into(), b"elf".to_vec())));
        assert!(matches!(pack(b"junk", "/app/demo", b""), Err(RunError::Pack(_))));
    }

    #[test]
    fn app_path_is_one_word() {
        assert_eq!(app_path(Path::new("target/x/debug/deps/demo-1a2b")), "/app/demo-1a2b");
        assert_eq!(app_path(Path::new("/tmp/my prog")), "/app/program");
        assert_eq!(app_path(Path::new("..")), "/app/program");
    }
}
