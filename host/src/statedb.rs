//! The host's state database: one SQLite file, `pleo-host.db` under `state_dir`, shared by
//! every pleo-host process of a deployment (WAL mode, so readers never wait for the writer).
//!
//! The schema is a list of migrations applied in order; `PRAGMA user_version` counts the ones
//! applied. A migration is never edited once released: a change is a new entry at the end.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::Connection;

/// The state database's file name under `state_dir`.
pub const FILE_NAME: &str = "pleo-host.db";

/// How long a statement waits for another process's write before it fails.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The schema, one migration per entry, applied in order.
pub const MIGRATIONS: &[&str] = &[
    // 1: run history (`pleo-host runs`): every run, scheduled or by hand.
    "CREATE TABLE runs (
        id TEXT PRIMARY KEY,
        schedule TEXT,
        plugin TEXT NOT NULL,
        sha256 TEXT,
        nominal_time TEXT,
        nominal_unix INTEGER,
        started_at TEXT NOT NULL,
        ended_at TEXT,
        result TEXT NOT NULL,
        exit_code INTEGER,
        message TEXT,
        api_calls INTEGER NOT NULL DEFAULT 0,
        retries INTEGER NOT NULL DEFAULT 0,
        output_dir TEXT
    );
    CREATE INDEX runs_by_schedule ON runs (schedule, nominal_unix);",
    // 2: fire-time leases of the daemon: one row per (schedule, nominal time) claimed by one
    // daemon; a running lease that is not renewed before `expires_unix` may be taken over.
    "CREATE TABLE schedule_fires (
        schedule TEXT NOT NULL,
        nominal_unix INTEGER NOT NULL,
        nominal_time TEXT NOT NULL,
        owner TEXT NOT NULL,
        state TEXT NOT NULL,
        expires_unix INTEGER NOT NULL,
        run_id TEXT,
        PRIMARY KEY (schedule, nominal_unix)
    );",
];

/// A state database that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum StateDbError {
    #[error("cannot create the folder of the state database {path}: {cause}")]
    Folder { path: PathBuf, cause: String },
    #[error("cannot open the state database {path}: {cause}")]
    Open { path: PathBuf, cause: String },
    #[error(
        "the state database {path} is at schema version {found}, newer than this pleo-host knows ({known})"
    )]
    TooNew {
        path: PathBuf,
        found: usize,
        known: usize,
    },
    #[error("cannot update the state database {path} to schema version {version}: {cause}")]
    Migrate {
        path: PathBuf,
        version: usize,
        cause: String,
    },
}

/// Opens (creating it if needed) the state database at `path` and brings its schema up to
/// date.
pub fn open(path: &Path) -> Result<Connection, StateDbError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| StateDbError::Folder {
            path: dir.to_owned(),
            cause: crate::config::io_cause(&e),
        })?;
    }
    let open_error = |e: rusqlite::Error| StateDbError::Open {
        path: path.to_owned(),
        cause: e.to_string(),
    };
    let mut conn = Connection::open(path).map_err(open_error)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(open_error)?;
    conn.pragma_update(None, "journal_mode", "WAL")
        .map_err(open_error)?;
    conn.pragma_update(None, "synchronous", "NORMAL")
        .map_err(open_error)?;
    migrate(&mut conn, path)?;
    Ok(conn)
}

fn migrate(conn: &mut Connection, path: &Path) -> Result<(), StateDbError> {
    let failed = |version: usize, e: rusqlite::Error| StateDbError::Migrate {
        path: path.to_owned(),
        version,
        cause: e.to_string(),
    };
    // One writer at a time: two processes starting together apply each migration once.
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(|e| failed(0, e))?;
    let applied: usize = tx
        .pragma_query_value(None, "user_version", |row| row.get::<_, i64>(0))
        .map_err(|e| failed(0, e))? as usize;
    if applied > MIGRATIONS.len() {
        return Err(StateDbError::TooNew {
            path: path.to_owned(),
            found: applied,
            known: MIGRATIONS.len(),
        });
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(applied) {
        let version = index + 1;
        tx.execute_batch(sql).map_err(|e| failed(version, e))?;
        tx.pragma_update(None, "user_version", version as i64)
            .map_err(|e| failed(version, e))?;
    }
    tx.commit().map_err(|e| failed(MIGRATIONS.len(), e))
}

/// `<state_dir>/pleo-host.db`, with `state_dir` found as for the audit log
/// ([`crate::session::state_dir`]); `None` when there is no place for it.
pub fn path_for(config: &crate::config::Config) -> Option<PathBuf> {
    crate::session::state_dir(config).map(|dir| dir.join(FILE_NAME))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrates_once_and_refuses_a_newer_schema() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state/pleo-host.db");
        let conn = open(&path).unwrap();
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(version as usize, MIGRATIONS.len());
        let mode: String = conn
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        conn.execute(
            "INSERT INTO runs (id, plugin, started_at, result) VALUES ('a', 'p', 't', 'ok')",
            [],
        )
        .unwrap();
        drop(conn);
        // Opening again applies nothing and keeps the rows.
        let conn = open(&path).unwrap();
        let rows: i64 = conn
            .query_row("SELECT count(*) FROM runs", [], |r| r.get(0))
            .unwrap();
        assert_eq!(rows, 1);
        conn.pragma_update(None, "user_version", 999).unwrap();
        drop(conn);
        let err = open(&path).unwrap_err().to_string();
        assert!(err.contains("newer than this pleo-host knows"), "{err}");
    }
}
