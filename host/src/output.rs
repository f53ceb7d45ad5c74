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
/// Deepest folder level the host descends to. One directory handle is open per level, so this
/// also bounds the handles a listing holds.
const MAX_DEPTH: usize = 64;

/// The files a run wrote, as far as the host looked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Listing {
    pub files: Vec<OutputFile>,
    /// Why some entries were not looked at (too deep, too many, unreadable); empty if none.
    pub not_listed: Vec<String>,
}

/// Files under `out_dir` created or modified at or after `since`, and every symbolic link.
/// Never fails: what cannot be read is named in [`Listing::not_listed`].
pub fn changed_files(out_dir: &Path, since: SystemTime) -> Listing {
    let mut listing = Listing::default();
    let root = Dir::open_ambient_dir(out_dir, ambient_authority()).and_then(|d| d.entries());
    let root = match root {
        Ok(root) => root,
        Err(e) => {
            listing
                .not_listed
                .push(format!("the folder cannot be read: {e}"));
            return listing;
        }
    };
    let (mut seen, mut too_deep, mut unreadable) = (0usize, 0usize, 0usize);
    // Depth-first with an explicit stack: one open folder per level, never more than MAX_DEPTH.
    let mut stack = vec![(root, PathBuf::new())];
    while let Some((entries, prefix)) = stack.last_mut() {
        let Some(entry) = entries.next() else {
            stack.pop();
            continue;
        };
        seen += 1;
        if seen > MAX_ENTRIES {
            listing
                .not_listed
                .push(format!("more than {MAX_ENTRIES} entries: the rest"));
            break;
        }
        // `metadata` of an entry describes the entry itself, never what a link points to.
        let Ok((entry, meta)) = entry.and_then(|e| e.metadata().map(|m| (e, m))) else {
            unreadable += 1;
            continue;
        };
        let path = prefix.join(entry.file_name());
        let file_type = meta.file_type();
        if file_type.is_dir() {
            if stack.len() >= MAX_DEPTH {
                too_deep += 1;
                continue;
            }
            // cap-std resolves every path beneath the folder, links included.
            match entry.open_dir().and_then(|d| d.entries()) {
                Ok(sub) => stack.push((sub, path)),
                Err(_) => unreadable += 1,
            }
            continue;
        }
        let is_link = file_type.is_symlink();
        let modified = meta
            .modified()
            .map(|t| t.into_std())
            .unwrap_or(SystemTime::UNIX_EPOCH);
        // Coarse file-system clocks: allow a second of slack so a fast run's files count.
        if is_link || modified + std::time::Duration::from_secs(1) >= since {
            listing.files.push(OutputFile {
                path,
                bytes: if is_link { 0 } else { meta.len() },
                is_link,
            });
        }
    }
    if too_deep > 0 {
        listing
            .not_listed
            .push(format!("{too_deep} folders deeper than {MAX_DEPTH} levels"));
    }
    if unreadable > 0 {
        listing
            .not_listed
            .push(format!("{unreadable} entries that could not be read"));
    }
    listing.files.sort_by(|a, b| a.path.cmp(&b.path));
    listing
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
        let listing = changed_files(&dir, since);
        assert!(listing.not_listed.is_empty(), "{listing:?}");
        let files = listing.files;
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

    #[test]
    fn a_deep_tree_is_listed_to_a_bounded_depth() {
        let dir = std::env::temp_dir().join(format!("pleo-out-deep-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut deep = dir.clone();
        for _ in 0..100 {
            deep.push("d");
        }
        std::fs::create_dir_all(&deep).unwrap();
        std::fs::write(dir.join("d/top.txt"), "x").unwrap();
        std::fs::write(deep.join("bottom.txt"), "x").unwrap();
        let since = SystemTime::now() - std::time::Duration::from_secs(5);
        let listing = changed_files(&dir, since);
        assert_eq!(listing.files.len(), 1, "{listing:?}");
        assert_eq!(listing.files[0].path, Path::new("d/top.txt"));
        assert_eq!(
            listing.not_listed,
            vec![format!("1 folders deeper than {MAX_DEPTH} levels")]
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_missing_folder_is_reported_not_an_error() {
        let listing = changed_files(Path::new("no/such/folder"), SystemTime::UNIX_EPOCH);
        assert!(listing.files.is_empty());
        assert_eq!(listing.not_listed.len(), 1, "{listing:?}");
    }
}
