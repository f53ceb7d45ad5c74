//! Operator approval with hash pinning. `pleo-host plugin approve` records a plugin's SHA-256
//! and the scopes it needs in `pleo.lock` next to `pleo.toml` (plain TOML, meant to be
//! reviewed in git). `run` refuses a plugin whose bytes or needed scopes differ from what was
//! approved, and says exactly what changed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::scopes::ScopeSet;

/// File name of the lock file, beside the config file.
pub const LOCK_FILE: &str = "pleo.lock";

const HEADER: &str = "\
# Plugins approved to run with this pleo.toml, pinned by SHA-256.
# Written by `pleo-host plugin approve <plugin>`; review changes to it like code.
";

/// One approved plugin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Approval {
    /// Hex SHA-256 of the approved `.wasm` bytes.
    pub sha256: String,
    /// The Pleo scopes the approved plugin needs (from its imports).
    pub scopes: Vec<String>,
    /// The WIT package version it was built for.
    pub wit: String,
    /// When it was approved (RFC 3339, UTC).
    pub approved_at: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct LockDocument {
    #[serde(default)]
    plugins: BTreeMap<String, Approval>,
}

/// The lock file of one config.
#[derive(Debug)]
pub struct LockFile {
    path: PathBuf,
    plugins: BTreeMap<String, Approval>,
}

/// Why a plugin is not approved to run as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Never approved under this name.
    NotApproved { sha256: String },
    /// Approved, but the bytes or the needed scopes changed since.
    Changed {
        old_sha256: String,
        new_sha256: String,
        added: Vec<String>,
        removed: Vec<String>,
    },
}

impl Refusal {
    /// One line per difference, for the operator to review.
    pub fn details(&self) -> Vec<String> {
        match self {
            Refusal::NotApproved { sha256 } => {
                vec![format!("sha256 {sha256} has never been approved")]
            }
            Refusal::Changed {
                old_sha256,
                new_sha256,
                added,
                removed,
            } => {
                let mut lines = Vec::new();
                if old_sha256 != new_sha256 {
                    lines.push(format!(
                        "sha256 changed: approved {old_sha256}, now {new_sha256}"
                    ));
                }
                lines.extend(
                    added
                        .iter()
                        .map(|s| format!("scope added since approval: {s}")),
                );
                lines.extend(
                    removed
                        .iter()
                        .map(|s| format!("scope removed since approval: {s}")),
                );
                lines
            }
        }
    }
}

impl LockFile {
    /// The lock file that belongs to a config file.
    pub fn path_for(config: &Path) -> PathBuf {
        config.parent().unwrap_or(Path::new(".")).join(LOCK_FILE)
    }

    /// Reads the lock file; a missing file is an empty one.
    pub fn load(path: &Path) -> Result<LockFile, String> {
        let plugins = match std::fs::read_to_string(path) {
            Ok(text) => {
                let doc: LockDocument = toml::from_str(&text).map_err(|e| {
                    let line = e.span().map_or(1, |s| {
                        text[..s.start.min(text.len())].matches('\n').count() + 1
                    });
                    format!(
                        "{}:{line}: {}",
                        path.display(),
                        e.message().lines().next().unwrap_or("invalid")
                    )
                })?;
                doc.plugins
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(e) => {
                return Err(format!(
                    "{} cannot be read: {}",
                    path.display(),
                    crate::config::io_cause(&e)
                ));
            }
        };
        Ok(LockFile {
            path: path.to_owned(),
            plugins,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn get(&self, plugin: &str) -> Option<&Approval> {
        self.plugins.get(plugin)
    }

    /// Checks that `plugin` with these bytes and needs is exactly what was approved.
    pub fn check(&self, plugin: &str, sha256: &str, needed: &ScopeSet) -> Result<(), Refusal> {
        let Some(approved) = self.plugins.get(plugin) else {
            return Err(Refusal::NotApproved {
                sha256: sha256.to_owned(),
            });
        };
        let approved_scopes: ScopeSet = approved.scopes.iter().cloned().collect();
        let added: Vec<String> = needed.difference(&approved_scopes).cloned().collect();
        let removed: Vec<String> = approved_scopes.difference(needed).cloned().collect();
        if approved.sha256 == sha256 && added.is_empty() && removed.is_empty() {
            return Ok(());
        }
        Err(Refusal::Changed {
            old_sha256: approved.sha256.clone(),
            new_sha256: sha256.to_owned(),
            added,
            removed,
        })
    }

    /// Records an approval (replacing an earlier one) and writes the file atomically.
    pub fn approve(&mut self, plugin: &str, approval: Approval) -> std::io::Result<()> {
        self.plugins.insert(plugin.to_owned(), approval);
        let doc = LockDocument {
            plugins: self.plugins.clone(),
        };
        let body = toml::to_string_pretty(&doc).map_err(std::io::Error::other)?;
        let tmp = self
            .path
            .with_extension(format!("lock.tmp.{}", std::process::id()));
        std::fs::write(&tmp, format!("{HEADER}\n{body}"))?;
        std::fs::rename(&tmp, &self.path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scopes(list: &[&str]) -> ScopeSet {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn approve_check_and_diff() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(LOCK_FILE);
        let mut lock = LockFile::load(&path).unwrap();
        let needed = scopes(&["users:read"]);
        assert_eq!(
            lock.check("p", "aa", &needed),
            Err(Refusal::NotApproved {
                sha256: "aa".into()
            })
        );

        let approval = Approval {
            sha256: "aa".into(),
            scopes: vec!["users:read".into()],
            wit: "pleo:plugin@0.1.0".into(),
            approved_at: "2026-11-26T00:00:00Z".into(),
        };
        lock.approve("p", approval.clone()).unwrap();
        let reloaded = LockFile::load(&path).unwrap();
        assert_eq!(reloaded.get("p"), Some(&approval));
        assert!(
            std::fs::read_to_string(&path)
                .unwrap()
                .starts_with("# Plugins approved")
        );
        assert_eq!(reloaded.check("p", "aa", &needed), Ok(()));

        let wider = scopes(&["accounting-entries:read"]);
        let refusal = reloaded.check("p", "bb", &wider).unwrap_err();
        assert_eq!(
            refusal.details(),
            vec![
                "sha256 changed: approved aa, now bb".to_string(),
                "scope added since approval: accounting-entries:read".into(),
                "scope removed since approval: users:read".into(),
            ]
        );
    }

    #[test]
    fn broken_lock_file_names_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(LOCK_FILE);
        std::fs::write(&path, "[plugins.p]\nsha256 = \"aa\"\nsurprise = 1\n").unwrap();
        let err = LockFile::load(&path).unwrap_err();
        assert!(
            err.contains("pleo.lock:3:") && err.contains("surprise"),
            "{err}"
        );
    }

    /// Bytes and scopes are each enough to refuse: a new build with the approved scopes, and
    /// the approved build asking for one scope more or one less.
    #[test]
    fn any_change_of_bytes_or_scopes_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut lock = LockFile::load(&dir.path().join(LOCK_FILE)).unwrap();
        let approval = Approval {
            sha256: "aa".into(),
            scopes: vec!["users:read".into(), "tags:read".into()],
            wit: "pleo:plugin@0.1.0".into(),
            approved_at: "2026-11-26T00:00:00Z".into(),
        };
        lock.approve("p", approval).unwrap();
        let approved = scopes(&["users:read", "tags:read"]);
        assert_eq!(lock.check("p", "aa", &approved), Ok(()));
        assert!(lock.check("p", "bb", &approved).is_err(), "new bytes");
        let more = scopes(&["users:read", "tags:read", "vendors:write"]);
        assert!(lock.check("p", "aa", &more).is_err(), "a scope added");
        let fewer = scopes(&["users:read"]);
        assert!(lock.check("p", "aa", &fewer).is_err(), "a scope removed");
        assert!(
            matches!(
                lock.check("q", "aa", &approved),
                Err(Refusal::NotApproved { .. })
            ),
            "another plugin's approval is not this one's"
        );
    }

    #[test]
    fn the_lock_sits_beside_the_config_and_an_unreadable_one_is_an_error() {
        assert_eq!(
            LockFile::path_for(Path::new("conf/pleo.toml")),
            Path::new("conf").join(LOCK_FILE)
        );
        // A folder where the lock file should be is not "no approvals yet".
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(LOCK_FILE);
        std::fs::create_dir(&path).unwrap();
        let err = LockFile::load(&path).unwrap_err();
        assert!(err.contains("cannot be read"), "{err}");
    }
}
