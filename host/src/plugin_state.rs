//! Plugin state: small values a plugin keeps between runs (the `state` WIT interface), stored in
//! the state database (`plugin_state`), scoped to the plugin and the company the run acts for.
//! Bounded: key and value sizes, keys and bytes per plugin and company. During `run --plan` the
//! changes are kept in memory for the run and never written, like the run's Pleo writes.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OptionalExtension, params};

/// Longest key, in bytes.
pub const MAX_KEY: usize = 256;
/// Largest value, in bytes.
pub const MAX_VALUE: usize = 64 << 10;
/// Most keys per plugin and company.
pub const MAX_KEYS: u64 = 1000;
/// Most bytes of keys and values together per plugin and company.
pub const MAX_BYTES: u64 = 1 << 20;

/// One run's view of the state database.
pub struct StateStore {
    db: Option<Arc<Mutex<Connection>>>,
    plugin: String,
    /// `run --plan`: changes of this run, by (company, key); `None` marks a deletion.
    overlay: Option<BTreeMap<(String, String), Option<String>>>,
}

impl StateStore {
    /// A store without a database: every `get` finds nothing and every `set` is refused.
    pub fn none() -> StateStore {
        StateStore {
            db: None,
            plugin: String::new(),
            overlay: None,
        }
    }

    pub fn new(db: Arc<Mutex<Connection>>, plugin: &str, dry_run: bool) -> StateStore {
        StateStore {
            db: Some(db),
            plugin: plugin.to_owned(),
            overlay: dry_run.then(BTreeMap::new),
        }
    }

    fn conn(&self) -> Option<std::sync::MutexGuard<'_, Connection>> {
        self.db
            .as_ref()
            .map(|db| db.lock().unwrap_or_else(|e| e.into_inner()))
    }

    pub fn get(&self, company: &str, key: &str) -> Result<Option<String>, String> {
        // No stored key is longer: a plugin's huge key never reaches the database.
        if key.len() > MAX_KEY {
            return Ok(None);
        }
        if let Some(overlay) = &self.overlay
            && let Some(value) = overlay.get(&(company.to_owned(), key.to_owned()))
        {
            return Ok(value.clone());
        }
        let Some(conn) = self.conn() else {
            return Ok(None);
        };
        conn.query_row(
            "SELECT value FROM plugin_state WHERE plugin = ?1 AND company_id = ?2 AND key = ?3",
            params![self.plugin, company, key],
            |row| row.get(0),
        )
        .optional()
        .map_err(|e| format!("state database: {e}"))
    }

    /// Keys and bytes stored for the plugin and company, as the run sees them.
    fn usage(&self, conn: &Connection, company: &str) -> Result<BTreeMap<String, u64>, String> {
        let mut stmt = conn
            .prepare_cached(
                "SELECT key, size FROM plugin_state WHERE plugin = ?1 AND company_id = ?2",
            )
            .map_err(|e| format!("state database: {e}"))?;
        let rows = stmt
            .query_map(params![self.plugin, company], |row| {
                Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)? as u64))
            })
            .map_err(|e| format!("state database: {e}"))?;
        let mut sizes = BTreeMap::new();
        for row in rows {
            let (key, size) = row.map_err(|e| format!("state database: {e}"))?;
            sizes.insert(key, size);
        }
        if let Some(overlay) = &self.overlay {
            for ((c, key), value) in overlay {
                if c != company {
                    continue;
                }
                match value {
                    Some(v) => sizes.insert(key.clone(), (key.len() + v.len()) as u64),
                    None => sizes.remove(key),
                };
            }
        }
        Ok(sizes)
    }

    pub fn set(&mut self, company: &str, key: &str, value: &str) -> Result<(), String> {
        check_key(key)?;
        if value.len() > MAX_VALUE {
            return Err(format!(
                "a state value is at most {MAX_VALUE} bytes, not {}",
                value.len()
            ));
        }
        let Some(conn) = self.conn() else {
            return Err("this run has no state database".into());
        };
        let mut sizes = self.usage(&conn, company)?;
        sizes.insert(key.to_owned(), (key.len() + value.len()) as u64);
        let keys = sizes.len() as u64;
        let bytes: u64 = sizes.values().sum();
        if keys > MAX_KEYS {
            return Err(format!(
                "at most {MAX_KEYS} state keys per plugin and company"
            ));
        }
        if bytes > MAX_BYTES {
            return Err(format!(
                "at most {MAX_BYTES} bytes of state per plugin and company; this would make {bytes}"
            ));
        }
        if self.overlay.is_none() {
            conn.execute(
                "INSERT INTO plugin_state (plugin, company_id, key, value, size, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (plugin, company_id, key)
                 DO UPDATE SET value = excluded.value, size = excluded.size,
                               updated_at = excluded.updated_at",
                params![
                    self.plugin,
                    company,
                    key,
                    value,
                    (key.len() + value.len()) as i64,
                    crate::statedb::now()
                ],
            )
            .map_err(|e| format!("state database: {e}"))?;
            return Ok(());
        }
        drop(conn);
        if let Some(overlay) = &mut self.overlay {
            overlay.insert((company.to_owned(), key.to_owned()), Some(value.to_owned()));
        }
        Ok(())
    }

    pub fn delete(&mut self, company: &str, key: &str) -> Result<bool, String> {
        if key.len() > MAX_KEY {
            return Ok(false);
        }
        let existed = self.get(company, key)?.is_some();
        if let Some(overlay) = &mut self.overlay {
            overlay.insert((company.to_owned(), key.to_owned()), None);
            return Ok(existed);
        }
        if let Some(conn) = self.conn() {
            conn.execute(
                "DELETE FROM plugin_state WHERE plugin = ?1 AND company_id = ?2 AND key = ?3",
                params![self.plugin, company, key],
            )
            .map_err(|e| format!("state database: {e}"))?;
        }
        Ok(existed)
    }

    pub fn list(&self, company: &str, prefix: &str) -> Result<Vec<String>, String> {
        if prefix.len() > MAX_KEY {
            return Ok(Vec::new());
        }
        let Some(conn) = self.conn() else {
            return Ok(Vec::new());
        };
        let sizes = self.usage(&conn, company)?;
        Ok(sizes
            .into_keys()
            .filter(|k| k.starts_with(prefix))
            .take(MAX_KEYS as usize)
            .collect())
    }
}

fn check_key(key: &str) -> Result<(), String> {
    if key.is_empty() || key.len() > MAX_KEY {
        return Err(format!(
            "a state key is 1 to {MAX_KEY} bytes, not {}",
            key.len()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(dry_run: bool) -> (tempfile::TempDir, Arc<Mutex<Connection>>, StateStore) {
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::statedb::open(&dir.path().join("db")).unwrap();
        let db = Arc::new(Mutex::new(conn));
        let store = StateStore::new(db.clone(), "p", dry_run);
        (dir, db, store)
    }

    #[test]
    fn values_are_scoped_to_plugin_and_company() {
        let (_dir, db, mut store) = store(false);
        store.set("c1", "cursor", "42").unwrap();
        assert_eq!(store.get("c1", "cursor").unwrap().as_deref(), Some("42"));
        assert_eq!(store.get("c2", "cursor").unwrap(), None);
        let other = StateStore::new(db, "q", false);
        assert_eq!(other.get("c1", "cursor").unwrap(), None);
        assert_eq!(store.list("c1", "").unwrap(), vec!["cursor".to_owned()]);
        assert!(store.delete("c1", "cursor").unwrap());
        assert!(!store.delete("c1", "cursor").unwrap());
    }

    #[test]
    fn limits_are_enforced() {
        let (_dir, _db, mut store) = store(false);
        assert!(store.set("c", "", "v").is_err());
        assert!(store.set("c", &"k".repeat(MAX_KEY + 1), "v").is_err());
        assert!(store.set("c", "k", &"v".repeat(MAX_VALUE + 1)).is_err());
        let long = "k".repeat(MAX_KEY + 1);
        assert_eq!(store.get("c", &long).unwrap(), None);
        assert!(!store.delete("c", &long).unwrap());
        assert!(store.list("c", &long).unwrap().is_empty());
        let big = "v".repeat(MAX_VALUE);
        for i in 0..15 {
            store.set("c", &format!("k{i}"), &big).unwrap();
        }
        let err = store.set("c", "k16", &big).unwrap_err();
        assert!(err.contains("bytes of state"), "{err}");
    }

    #[test]
    fn a_plan_run_changes_nothing_stored() {
        let (_dir, db, mut store) = store(true);
        store.set("c", "k", "v").unwrap();
        assert_eq!(store.get("c", "k").unwrap().as_deref(), Some("v"));
        let real = StateStore::new(db, "p", false);
        assert_eq!(real.get("c", "k").unwrap(), None);
    }
}
