//! The host's state database: one SQLite file under `state_dir` (`pleo-host.db`) for what must
//! survive a process: the journal of applied plans (see `apply`) and plugins' own small values
//! (the `state` interface), the history of runs (`pleo-host runs`) and the daemon's
//! fire-time leases.
//!
//! The schema evolves by [`MIGRATIONS`]: entry `n` (from 0) brings a database from
//! `PRAGMA user_version = n` to `n + 1`. [`open`] applies the missing ones in order, all in one
//! transaction, so a database is never left half-migrated. Entries are only ever appended: a
//! released entry is never edited, a change of schema is a new entry. A database written by a
//! newer host (a `user_version` past the list) is refused rather than misread.
//!
//! The file is in WAL mode: readers (`apply --status`) do not wait for a writer, and a write
//! committed before a `kill -9` is there when the next process opens the file.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rusqlite::config::DbConfig;
use rusqlite::{Connection, TransactionBehavior};

/// File name of the database inside `state_dir`.
pub const FILE_NAME: &str = "pleo-host.db";

/// The schema, one migration per entry, applied in order (see the module documentation).
pub const MIGRATIONS: &[&str] = &[
    // 1: the plan journal and plugin state.
    "CREATE TABLE plans (
        id TEXT PRIMARY KEY NOT NULL,          -- the plan's own id (from the plan file)
        checksum TEXT NOT NULL,                -- of the plan file's content
        plugin TEXT NOT NULL,
        plugin_sha256 TEXT NOT NULL,
        environment TEXT NOT NULL,
        company_id TEXT NOT NULL,
        writes INTEGER NOT NULL,
        planned_at TEXT NOT NULL,
        first_applied_at TEXT NOT NULL,
        finished_at TEXT                       -- every write done
    ) STRICT;
    CREATE TABLE plan_writes (
        plan_id TEXT NOT NULL REFERENCES plans(id),
        seq INTEGER NOT NULL,                  -- position in the plan, from 0
        state TEXT NOT NULL CHECK (state IN ('planned', 'sent', 'done', 'failed')),
        attempts INTEGER NOT NULL DEFAULT 0,   -- times it was sent
        object_id TEXT,                        -- done: the object created or changed
        error TEXT,                            -- failed: Pleo's error (redacted)
        updated_at TEXT NOT NULL,
        PRIMARY KEY (plan_id, seq)
    ) STRICT;
    CREATE TABLE plugin_state (
        plugin TEXT NOT NULL,
        company_id TEXT NOT NULL,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        size INTEGER NOT NULL,                 -- bytes of key + value, for the quota
        updated_at TEXT NOT NULL,
        PRIMARY KEY (plugin, company_id, key)
    ) STRICT;",
    // 2: run history (`pleo-host runs`): every run, scheduled or by hand.
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
    // 3: fire-time leases of the daemon: one row per (schedule, nominal time) claimed by one
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
    #[error("cannot create {path}: {cause}")]
    Folder { path: PathBuf, cause: String },
    #[error("state database {path}: {cause}")]
    Sqlite {
        path: PathBuf,
        cause: rusqlite::Error,
    },
    #[error(
        "state database {path} has schema version {found}, newer than this pleo-host knows ({known})"
    )]
    TooNew {
        path: PathBuf,
        found: i64,
        known: usize,
    },
}

/// How long opening waits for another process's lock.
const BUSY_WAIT: Duration = Duration::from_secs(10);

fn is_busy(e: &rusqlite::Error) -> bool {
    e.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy)
}

/// Opens (creating it and its folder if needed) the database at `path` and brings its schema
/// up to date.
pub fn open(path: &Path) -> Result<Connection, StateDbError> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| StateDbError::Folder {
            path: parent.to_owned(),
            cause: crate::config::io_cause(&e),
        })?;
    }
    let sqlite = |cause| StateDbError::Sqlite {
        path: path.to_owned(),
        cause,
    };
    let mut conn = Connection::open(path).map_err(sqlite)?;
    // Another process (a second `apply`, `apply --status`) may hold the lock for a moment.
    conn.busy_timeout(BUSY_WAIT).map_err(sqlite)?;
    // Switching a new file to WAL needs it to itself for a moment, and there SQLite answers
    // BUSY at once instead of calling the busy handler: two daemons started together on a
    // new file hit it. Wait as long as for any other lock.
    let deadline = Instant::now() + BUSY_WAIT;
    loop {
        match conn.pragma_update(None, "journal_mode", "WAL") {
            Err(e) if is_busy(&e) && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(5))
            }
            done => break done.map_err(sqlite)?,
        }
    }
    // A process that records one run must not pay for a checkpoint (fsyncs of the WAL and
    // the database) on its way out: on a busy 2-core machine that was half of a warm `run`
    // (median 30.7 ms against 15.6 ms without). Instead the WAL is checkpointed by whichever
    // commit takes it past 64 pages, so the next process's recovery scan stays short, and
    // its file is cut back to 1 MiB after a big transaction (a long apply).
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true)
        .map_err(sqlite)?;
    conn.pragma_update(None, "wal_autocheckpoint", 64)
        .map_err(sqlite)?;
    conn.pragma_update(None, "journal_size_limit", 1 << 20)
        .map_err(sqlite)?;
    conn.pragma_update(None, "foreign_keys", "ON")
        .map_err(sqlite)?;
    migrate(&mut conn).map_err(|e| match e {
        Migration::Sqlite(cause) => sqlite(cause),
        Migration::TooNew(found) => StateDbError::TooNew {
            path: path.to_owned(),
            found,
            known: MIGRATIONS.len(),
        },
    })?;
    Ok(conn)
}

enum Migration {
    Sqlite(rusqlite::Error),
    TooNew(i64),
}

impl From<rusqlite::Error> for Migration {
    fn from(e: rusqlite::Error) -> Self {
        Migration::Sqlite(e)
    }
}

/// Applies the migrations past the database's `user_version`, in one transaction that holds
/// the write lock from the start (two processes opening a new file migrate it once).
fn migrate(conn: &mut Connection) -> Result<(), Migration> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let version: i64 = tx.pragma_query_value(None, "user_version", |row| row.get(0))?;
    let known = MIGRATIONS.len() as i64;
    if version > known {
        return Err(Migration::TooNew(version));
    }
    for migration in &MIGRATIONS[version as usize..] {
        tx.execute_batch(migration)?;
    }
    if version < known {
        tx.pragma_update(None, "user_version", known)?;
    }
    tx.commit()?;
    Ok(())
}

/// Now, as the database stores times: RFC 3339 UTC with milliseconds.
pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// `<state_dir>/pleo-host.db`, with `state_dir` found as for the audit log
/// ([`Config::state_dir`](crate::config::Config::state_dir)); `None` when there is no place for it.
pub fn path_for(config: &crate::config::Config) -> Option<PathBuf> {
    config.state_dir().map(|dir| dir.join(FILE_NAME))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(conn: &Connection) -> i64 {
        conn.pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn a_new_database_gets_every_migration_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state").join(FILE_NAME);
        let conn = open(&path).unwrap();
        assert_eq!(version(&conn), MIGRATIONS.len() as i64);
        let mode: String = conn
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        conn.execute(
            "INSERT INTO plugin_state VALUES ('p', 'c', 'k', 'v', 2, 'now')",
            [],
        )
        .unwrap();
        drop(conn);
        // Closing did not checkpoint (no fsyncs on a run's way out): the WAL is still there.
        let wal = path.with_extension("db-wal");
        assert!(wal.metadata().is_ok_and(|m| m.len() > 0), "no WAL left");
        // Opening again applies nothing and keeps the data.
        let conn = open(&path).unwrap();
        assert_eq!(version(&conn), MIGRATIONS.len() as i64);
        let n: i64 = conn
            .query_row("SELECT count(*) FROM plugin_state", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 1);
    }

    #[test]
    fn a_database_from_a_newer_host_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        let conn = open(&path).unwrap();
        conn.pragma_update(None, "user_version", 999).unwrap();
        drop(conn);
        let err = open(&path).unwrap_err();
        assert!(
            matches!(err, StateDbError::TooNew { found: 999, .. }),
            "{err}"
        );
    }

    #[test]
    fn a_failing_migration_leaves_the_database_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        let mut conn = Connection::open(&path).unwrap();
        // A table the first migration creates already exists: the migration fails whole.
        conn.execute_batch("CREATE TABLE plans (x INTEGER);")
            .unwrap();
        assert!(migrate(&mut conn).is_err());
        assert_eq!(version(&conn), 0);
        let tables: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE name = 'plugin_state'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(tables, 0);
    }

    /// Daemons started together open a new file at once: each must wait its turn, not fail
    /// with "database is locked" (seen with two daemons on one database).
    #[test]
    fn processes_opening_a_new_file_together_all_succeed() {
        for round in 0..20 {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join(FILE_NAME);
            let barrier = std::sync::Barrier::new(4);
            std::thread::scope(|s| {
                let opened: Vec<_> = (0..4)
                    .map(|_| {
                        s.spawn(|| {
                            barrier.wait();
                            open(&path).map(|_| ())
                        })
                    })
                    .collect();
                for handle in opened {
                    let result = handle.join().unwrap();
                    assert!(result.is_ok(), "round {round}: {}", result.unwrap_err());
                }
            });
        }
    }
}
