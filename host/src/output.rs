//! The host's own look at what a plugin wrote. Goes through cap-std: every path is resolved
//! beneath the output folder and links are never followed, so a link a plugin planted cannot
//! lead the host outside that folder.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use cap_std::ambient_authority;
use cap_std::fs::Dir;

/// A file in the output folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputFile {
    /// Path relative to the output folder.
    pub path: PathBuf,
    pub bytes: u64,
    /// A symbolic link the plugin made; listed, never followed.
    pub is_link: bool,
}

/// Most entries the host looks at, so a plugin cannot make listing the folder expensive.
const MAX_ENTRIES: usize = 100_000;

/// Files under `out_dir` created or modified at or after `since`.
pub fn changed_files(out_dir: &Path, since: SystemTime) -> std::io::Result<Vec<OutputFile>> {
    let root = Dir::open_ambient_dir(out_dir, ambient_authority())?;
    let mut files = Vec::new();
    let mut seen = 0usize;
    walk(&root, PathBuf::new(), since, &mut files, &mut seen)?;
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}

fn walk(
    dir: &Dir,
    prefix: PathBuf,
    since: SystemTime,
    files: &mut Vec<OutputFile>,
    seen: &mut usize,
) -> std::io::Result<()> {
    for entry in dir.entries()? {
        *seen += 1;
        if *seen > MAX_ENTRIES {
            break;
        }
        let entry = entry?;
        let name = entry.file_name();
        let path = prefix.join(&name);
        // `symlink_metadata` describes the entry itself, never what a link points to.
        let meta = dir.symlink_metadata(&name)?;
        let file_type = meta.file_type();
        if file_type.is_dir() {
            // cap-std resolves every path beneath `dir`, links included.
            let sub = dir.open_dir(&name)?;
            walk(&sub, path, since, files, seen)?;
            continue;
        }
        let modified = meta
            .modified()
            .map(|t| t.into_std())
            .unwrap_or(SystemTime::UNIX_EPOCH);
        // Coarse file-system clocks: allow a second of slack so a fast run's files count.
        let changed = modified + std::time::Duration::from_secs(1) >= since;
        if changed {
            let is_link = file_type.is_symlink();
            files.push(OutputFile {
                path,
                bytes: if is_link { 0 } else { meta.len() },
                is_link,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn links_are_listed_not_followed() {
        let dir = std::env::temp_dir().join(format!("pleo-out-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        std::fs::write(dir.join("sub/a.csv"), "x,y\n").unwrap();
        std::os::unix::fs::symlink("/etc", dir.join("escape")).unwrap();
        let since = SystemTime::now() - std::time::Duration::from_secs(5);
        let files = changed_files(&dir, since).unwrap();
        assert_eq!(files.len(), 2, "{files:?}");
        let link = files
            .iter()
            .find(|f| f.path == Path::new("escape"))
            .unwrap();
        assert!(link.is_link && link.bytes == 0);
        assert_eq!(
            files.iter().find(|f| !f.is_link).unwrap().path,
            Path::new("sub/a.csv")
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
