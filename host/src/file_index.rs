//! Which compiled plugin a file is, without reading it again. An interpreter's component
//! (Python, JavaScript) is 13-18 MB: reading it, hashing it and walking it for its metadata
//! section cost a cached run 15-25 ms of CPU. This index, beside the compile cache, remembers
//! a plugin file's SHA-256 and metadata section under its stat (device, inode, size,
//! modification and change times); `run` uses them when the stat is unchanged and the compile
//! cache holds that SHA-256's entry, and then never opens the file.
//!
//! Why approval still holds: the index only says which compiled entry to load, and a compiled
//! entry is written only from bytes hashed when they were compiled (the runtime hashes
//! whenever it compiles). A stale entry could only make a run load the code of the SHA-256 it
//! names, and that SHA-256 is the one approval, history and audit check and record. An entry
//! is recorded only for a file last changed (its change time, which nobody can set back
//! without root) at least [`SETTLED`] before, so a later change always gets another stamp.
//! `plugin approve` and `plugin inspect` never use it: they hash the bytes.

use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use sha2::{Digest, Sha256};

use crate::plugin_meta::MAX_SECTION_BYTES;

/// How long a file must have been left alone before its stamp is trusted: longer than any
/// file system's timestamp granularity, so a change after the entry was recorded cannot
/// leave the change time as it was.
pub const SETTLED: Duration = Duration::from_secs(2);

/// One version of a file, as its stat tells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    dev: u64,
    ino: u64,
    size: u64,
    mtime_ns: i128,
    ctime_ns: i128,
}

impl Stamp {
    pub fn size(&self) -> u64 {
        self.size
    }

    pub fn of(meta: &std::fs::Metadata) -> Stamp {
        let ns = |s: i64, n: i64| i128::from(s) * 1_000_000_000 + i128::from(n);
        Stamp {
            dev: meta.dev(),
            ino: meta.ino(),
            size: meta.size(),
            mtime_ns: ns(meta.mtime(), meta.mtime_nsec()),
            ctime_ns: ns(meta.ctime(), meta.ctime_nsec()),
        }
    }

    /// The stamp as the index writes it: `dev ino size mtime_ns ctime_ns`.
    fn key(&self) -> String {
        let Stamp {
            dev,
            ino,
            size,
            mtime_ns,
            ctime_ns,
        } = self;
        format!("{dev} {ino} {size} {mtime_ns} {ctime_ns}")
    }

    /// Changed at least [`SETTLED`] before `now`.
    fn settled(&self, now: SystemTime) -> bool {
        let Ok(now) = now.duration_since(SystemTime::UNIX_EPOCH) else {
            return false;
        };
        self.ctime_ns + SETTLED.as_nanos() as i128 <= now.as_nanos() as i128
    }
}

/// A plugin file that did not change while it was read: where it is and its stamp.
#[derive(Debug, Clone)]
pub struct Stamped {
    pub path: PathBuf,
    pub stamp: Stamp,
}

/// Reads a file; with its stamp when the stat before and after the read agree (else `None`:
/// it changed while being read, and only its bytes' hash will do).
pub fn read(path: &Path) -> std::io::Result<(Vec<u8>, Option<Stamped>)> {
    let mut file = std::fs::File::open(path)?;
    let before = Stamp::of(&file.metadata()?);
    let mut bytes = Vec::with_capacity(usize::try_from(before.size).unwrap_or(0));
    file.read_to_end(&mut bytes)?;
    let after = Stamp::of(&file.metadata()?);
    let stamped = (before == after && after.size == bytes.len() as u64)
        .then(|| std::fs::canonicalize(path).ok())
        .flatten()
        .map(|path| Stamped { path, stamp: after });
    Ok((bytes, stamped))
}

/// A plugin file's stamp, from its stat alone (nothing is read).
pub fn stat(path: &Path) -> std::io::Result<Stamped> {
    let path = std::fs::canonicalize(path)?;
    let stamp = Stamp::of(&std::fs::metadata(&path)?);
    Ok(Stamped { path, stamp })
}

/// What the index remembers of one version of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub sha256: [u8; 32],
    /// The raw metadata section (`plugin_meta::SECTION`), `None` when it has none.
    pub meta_section: Option<Vec<u8>>,
}

/// Longest entry file: stamp and SHA-256 (under 256 bytes), then the section in base64.
const MAX_ENTRY: u64 = 256 + (MAX_SECTION_BYTES as u64).div_ceil(3) * 4;

/// The index: one small file per plugin path, under `<cache_dir>/files/`.
pub struct FileIndex {
    dir: PathBuf,
}

impl FileIndex {
    pub fn new(cache_dir: &Path) -> FileIndex {
        FileIndex {
            dir: cache_dir.join("files"),
        }
    }

    fn entry(&self, path: &Path) -> PathBuf {
        let name = Sha256::digest(path.as_os_str().as_bytes());
        self.dir.join(hex::encode(name))
    }

    /// What is recorded for this version of the file, if anything is.
    pub fn get(&self, file: &Stamped) -> Option<Entry> {
        let mut text = String::new();
        std::fs::File::open(self.entry(&file.path))
            .ok()?
            // An entry is one line of bounded length; a longer one is not ours.
            .take(MAX_ENTRY + 1)
            .read_to_string(&mut text)
            .ok()?;
        if text.len() as u64 > MAX_ENTRY {
            return None;
        }
        let (rest, meta) = text.strip_suffix('\n')?.rsplit_once(' ')?;
        let (stamp, digest) = rest.rsplit_once(' ')?;
        if stamp != file.stamp.key() {
            return None;
        }
        let meta_section = match meta {
            "-" => None,
            encoded => Some(
                base64::engine::general_purpose::STANDARD
                    .decode(encoded)
                    .ok()?,
            ),
        };
        Some(Entry {
            sha256: hex::decode(digest).ok()?.try_into().ok()?,
            meta_section,
        })
    }

    /// Records what the file is if it has been left alone long enough (see [`SETTLED`]).
    /// Failing to write only costs the next run a read and a hash.
    pub fn put(&self, file: &Stamped, entry: &Entry, now: SystemTime) {
        if !file.stamp.settled(now) {
            return;
        }
        let meta = match &entry.meta_section {
            None => "-".to_owned(),
            Some(section) if section.len() <= MAX_SECTION_BYTES => {
                base64::engine::general_purpose::STANDARD.encode(section)
            }
            // Too long to be believed: such a plugin is refused anyway.
            Some(_) => return,
        };
        let path = self.entry(&file.path);
        let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
        let line = format!(
            "{} {} {meta}\n",
            file.stamp.key(),
            hex::encode(entry.sha256)
        );
        let written = std::fs::create_dir_all(&self.dir)
            .and_then(|_| std::fs::write(&tmp, line))
            .and_then(|_| std::fs::rename(&tmp, &path));
        if let Err(e) = written {
            tracing::debug!("file index not written: {e}");
            let _ = std::fs::remove_file(&tmp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn later() -> SystemTime {
        SystemTime::now() + Duration::from_secs(60)
    }

    fn entry(meta: Option<&[u8]>) -> Entry {
        Entry {
            sha256: [7; 32],
            meta_section: meta.map(<[u8]>::to_vec),
        }
    }

    #[test]
    fn a_recorded_file_is_found_until_it_changes() {
        let dir = tempfile::tempdir().unwrap();
        let index = FileIndex::new(&dir.path().join("cache"));
        let path = dir.path().join("p.wasm");
        std::fs::write(&path, b"first").unwrap();
        let (_, file) = read(&path).unwrap();
        let file = file.expect("an unchanged file is stamped");
        assert_eq!(index.get(&file), None);
        index.put(&file, &entry(Some(b"{}")), later());
        assert_eq!(index.get(&file), Some(entry(Some(b"{}"))));
        // `stat` stamps the file as `read` did, without reading it.
        assert_eq!(stat(&path).unwrap().stamp, file.stamp);
        index.put(&file, &entry(None), later());
        assert_eq!(index.get(&stat(&path).unwrap()), Some(entry(None)));

        // Same size, modification time set back: the change time still tells.
        let mtime = std::fs::metadata(&path).unwrap().modified().unwrap();
        std::fs::write(&path, b"other").unwrap();
        std::fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(mtime)
            .unwrap();
        let (_, changed) = read(&path).unwrap();
        assert_eq!(index.get(&changed.unwrap()), None);
        assert_eq!(index.get(&stat(&path).unwrap()), None);
    }

    #[test]
    fn a_file_changed_just_now_is_not_recorded() {
        let dir = tempfile::tempdir().unwrap();
        let index = FileIndex::new(dir.path());
        let path = dir.path().join("p.wasm");
        std::fs::write(&path, b"bytes").unwrap();
        let (_, file) = read(&path).unwrap();
        let file = file.unwrap();
        index.put(&file, &entry(None), SystemTime::now());
        assert_eq!(index.get(&file), None);
    }

    #[test]
    fn a_damaged_entry_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let index = FileIndex::new(dir.path());
        let path = dir.path().join("p.wasm");
        std::fs::write(&path, b"bytes").unwrap();
        let file = read(&path).unwrap().1.unwrap();
        index.put(&file, &entry(Some(b"{\"name\":\"p\"}")), later());
        let path = index.entry(&file.path);
        let line = std::fs::read_to_string(&path).unwrap();
        let (stamp_and_digest, _) = line.rsplit_once(' ').unwrap();
        for damaged in [
            line.replace('\n', ""),
            line[..line.len() - 3].to_owned() + "\n",
            // The format before the metadata section was kept: stamp and SHA-256 only.
            format!("{stamp_and_digest}\n"),
            format!("{stamp_and_digest} not*base64\n"),
            format!("{stamp_and_digest} {}\n", "A".repeat(MAX_ENTRY as usize)),
            "x".repeat(300),
            String::new(),
        ] {
            std::fs::write(&path, &damaged).unwrap();
            assert_eq!(index.get(&file), None, "{damaged:?}");
        }
        // A section longer than any plugin may have is not recorded.
        std::fs::remove_file(&path).unwrap();
        index.put(&file, &entry(Some(&[b' '; MAX_SECTION_BYTES + 1])), later());
        assert_eq!(index.get(&file), None);
        index.put(&file, &entry(Some(&[b' '; MAX_SECTION_BYTES])), later());
        assert!(index.get(&file).is_some(), "the longest section is kept");
    }
}
