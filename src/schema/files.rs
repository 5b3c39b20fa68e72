//! Finds the operation files: every `*.graphql` under `<dir>/queries` and `<dir>/mutations`,
//! sorted. Plain `std` only, so `build.rs` includes this same file.

use std::io;
use std::path::{Path, PathBuf};

/// The operation files under `graphql_dir`, sorted; a missing sub-directory is simply empty.
pub fn operation_files(graphql_dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for sub in ["queries", "mutations"] {
        collect(&graphql_dir.join(sub), &mut files)?;
    }
    files.sort();
    Ok(files)
}

fn collect(dir: &Path, files: &mut Vec<PathBuf>) -> io::Result<()> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let path = entry?.path();
        if path.is_dir() {
            collect(&path, files)?;
        } else if path.extension().is_some_and(|e| e == "graphql") {
            files.push(path);
        }
    }
    Ok(())
}
