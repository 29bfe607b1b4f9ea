//! Checks on the absolute, normalised paths the server hands us.

use crate::FsError;

/// Longest name in a path (ext4's limit).
pub const MAX_NAME: usize = 255;

/// The names of `path` ("/" has none). Empty, relative or over-long names are InvalidName.
pub fn components(path: &str) -> Result<impl Iterator<Item = &str> + Clone, FsError> {
    let rest = path.strip_prefix('/').ok_or(FsError::InvalidName)?;
    let names = rest.split('/').filter(|n| !n.is_empty());
    for n in names.clone() {
        if n.len() > MAX_NAME || n == "." || n == ".." || n.contains('\0') {
            return Err(FsError::InvalidName);
        }
    }
    Ok(names)
}

/// `path` split into its parent directory and last name; "/" has no parent
/// (InvalidArgument: it cannot be created, removed or renamed).
pub fn split(path: &str) -> Result<(&str, &str), FsError> {
    let _checked = components(path)?;
    let trimmed = path.trim_end_matches('/');
    let cut = trimmed.rfind('/').ok_or(FsError::InvalidName)?;
    let name = &trimmed[cut + 1..];
    if name.is_empty() {
        return Err(FsError::InvalidArgument);
    }
    let parent = if cut == 0 { "/" } else { &trimmed[..cut] };
    Ok((parent, name))
}
