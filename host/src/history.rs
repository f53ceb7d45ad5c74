//! Run history and fire-time leases, in the state database ([`crate::statedb`]).
//!
//! * Every run, scheduled or by hand, is a row of `runs` (`pleo-host runs`): its id is the
//!   audit log's `run_id`, so one finds the run's calls there.
//! * Every fire time a daemon takes on is a row of `schedule_fires`, claimed by one daemon in
//!   one transaction: two daemons on one database never run the same nominal time twice. A
//!   claim is a lease that the running daemon renews; one that is not renewed in time (its
//!   daemon was killed) may be taken over, so the nominal time is not lost.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use crate::statedb::{self, StateDbError};

/// One run, as `pleo-host runs` shows it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RunRecord {
    pub id: String,
    /// The schedule that started it; `None` for a run by hand.
    pub schedule: Option<String>,
    pub plugin: String,
    pub sha256: Option<String>,
    /// The fire time it is for, in the schedule's time zone (RFC 3339).
    pub nominal_time: Option<String>,
    #[serde(skip)]
    pub nominal_unix: Option<i64>,
    /// RFC 3339, UTC.
    pub started_at: String,
    pub ended_at: Option<String>,
    /// `running`, `ok`, `failed`, `cancelled`, or `skipped` (an earlier run of the schedule
    /// was still going, `overlap = "skip"`).
    pub result: String,
    pub exit_code: Option<i32>,
    /// The summary of a successful run or the error line of a failed one (redacted).
    pub message: Option<String>,
    pub api_calls: u64,
    pub retries: u64,
    pub output_dir: Option<String>,
}

/// The outcome of a claim on a fire time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// This daemon runs it.
    Claimed,
    /// Another daemon ran it, runs it, or skipped it.
    Taken,
    /// Another run of the same schedule is going (in any daemon on this database).
    Busy,
}

/// The state database, for one process. Statements are short; a mutex serialises them.
pub struct History {
    conn: Mutex<Connection>,
    path: PathBuf,
}

fn now_unix() -> i64 {
    chrono::Utc::now().timestamp()
}

impl History {
    pub fn open(path: &Path) -> Result<History, StateDbError> {
        let conn = statedb::open(path)?;
        // A run's row is a record for people, not a journal: in WAL mode, `NORMAL` commits
        // without an fsync and loses at most the last rows on a power cut, never on a killed
        // process. (The apply journal keeps `FULL`: its order is what resume relies on.)
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(|cause| StateDbError::Sqlite {
                path: path.to_owned(),
                cause,
            })?;
        Ok(History {
            conn: Mutex::new(conn),
            path: path.to_owned(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds a run, or replaces the row with the same id (a run's end replaces its start).
    pub fn record(&self, run: &RunRecord) -> rusqlite::Result<()> {
        self.conn().execute(
            "INSERT OR REPLACE INTO runs (id, schedule, plugin, sha256, nominal_time, nominal_unix,
                started_at, ended_at, result, exit_code, message, api_calls, retries, output_dir)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
            params![
                run.id,
                run.schedule,
                run.plugin,
                run.sha256,
                run.nominal_time,
                run.nominal_unix,
                run.started_at,
                run.ended_at,
                run.result,
                run.exit_code,
                run.message,
                run.api_calls as i64,
                run.retries as i64,
                run.output_dir,
            ],
        )?;
        Ok(())
    }

    /// The newest runs first, of one schedule or all; at most `limit`.
    pub fn list(&self, schedule: Option<&str>, limit: usize) -> rusqlite::Result<Vec<RunRecord>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT id, schedule, plugin, sha256, nominal_time, nominal_unix, started_at, ended_at,
                    result, exit_code, message, api_calls, retries, output_dir
             FROM runs WHERE (?1 IS NULL OR schedule = ?1)
             ORDER BY started_at DESC, rowid DESC LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![schedule, limit as i64], row_to_record)?;
        rows.collect()
    }

    /// One run by id, or by a unique prefix of it (as shown by `pleo-host runs`).
    pub fn get(&self, id: &str) -> rusqlite::Result<Vec<RunRecord>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT id, schedule, plugin, sha256, nominal_time, nominal_unix, started_at, ended_at,
                    result, exit_code, message, api_calls, retries, output_dir
             FROM runs WHERE id = ?1 OR substr(id, 1, length(?1)) = ?1 LIMIT 2",
        )?;
        let rows = stmt.query_map(params![id], row_to_record)?;
        let mut found: Vec<RunRecord> = rows.collect::<Result<_, _>>()?;
        if let Some(exact) = found.iter().position(|r| r.id == id) {
            return Ok(vec![found.swap_remove(exact)]);
        }
        Ok(found)
    }

    /// The latest fire time of `schedule` any daemon took on (ran, runs or skipped), as Unix
    /// seconds: where catch-up starts after downtime.
    pub fn last_fire(&self, schedule: &str) -> rusqlite::Result<Option<i64>> {
        self.conn().query_row(
            "SELECT max(nominal_unix) FROM schedule_fires WHERE schedule = ?1",
            params![schedule],
            |r| r.get(0),
        )
    }

    /// The nominal time of the schedule's latest successful run (`last_success_for`).
    pub fn last_success(&self, schedule: &str) -> rusqlite::Result<Option<String>> {
        self.conn()
            .query_row(
                "SELECT nominal_time FROM runs WHERE schedule = ?1 AND result = 'ok'
                 ORDER BY nominal_unix DESC LIMIT 1",
                params![schedule],
                |r| r.get(0),
            )
            .optional()
            .map(Option::flatten)
    }

    /// Claims a fire time for `owner`, with a lease of `ttl_seconds`. With `exclusive`
    /// (`overlap = "skip"` or `"queue"`), a claim fails as [`Claim::Busy`] while another run of
    /// the schedule holds a live lease.
    pub fn claim(
        &self,
        schedule: &str,
        nominal_unix: i64,
        nominal_time: &str,
        owner: &str,
        ttl_seconds: i64,
        exclusive: bool,
    ) -> rusqlite::Result<Claim> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let now = now_unix();
        let existing: Option<(String, i64)> = tx
            .query_row(
                "SELECT state, expires_unix FROM schedule_fires
                 WHERE schedule = ?1 AND nominal_unix = ?2",
                params![schedule, nominal_unix],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let abandoned = match &existing {
            None => false,
            Some((state, expires)) => state == "running" && *expires < now,
        };
        if existing.is_some() && !abandoned {
            return Ok(Claim::Taken);
        }
        if exclusive {
            let busy: i64 = tx.query_row(
                "SELECT count(*) FROM schedule_fires WHERE schedule = ?1 AND state = 'running'
                 AND expires_unix >= ?2 AND nominal_unix != ?3",
                params![schedule, now, nominal_unix],
                |r| r.get(0),
            )?;
            if busy > 0 {
                return Ok(Claim::Busy);
            }
        }
        tx.execute(
            "INSERT OR REPLACE INTO schedule_fires
                (schedule, nominal_unix, nominal_time, owner, state, expires_unix)
             VALUES (?1, ?2, ?3, ?4, 'running', ?5)",
            params![
                schedule,
                nominal_unix,
                nominal_time,
                owner,
                now + ttl_seconds
            ],
        )?;
        tx.commit()?;
        Ok(Claim::Claimed)
    }

    /// Records a fire time as skipped, unless some daemon already took it on.
    pub fn skip(
        &self,
        schedule: &str,
        nominal_unix: i64,
        nominal_time: &str,
        owner: &str,
    ) -> rusqlite::Result<bool> {
        let inserted = self.conn().execute(
            "INSERT OR IGNORE INTO schedule_fires
                (schedule, nominal_unix, nominal_time, owner, state, expires_unix)
             VALUES (?1, ?2, ?3, ?4, 'skipped', 0)",
            params![schedule, nominal_unix, nominal_time, owner],
        )?;
        Ok(inserted == 1)
    }

    /// Extends a lease this daemon holds.
    pub fn renew(
        &self,
        schedule: &str,
        nominal_unix: i64,
        owner: &str,
        ttl_seconds: i64,
    ) -> rusqlite::Result<()> {
        self.conn().execute(
            "UPDATE schedule_fires SET expires_unix = ?4
             WHERE schedule = ?1 AND nominal_unix = ?2 AND owner = ?3 AND state = 'running'",
            params![schedule, nominal_unix, owner, now_unix() + ttl_seconds],
        )?;
        Ok(())
    }

    /// Ends a lease: the fire time is done (whatever the run's result) and never run again.
    pub fn finish(
        &self,
        schedule: &str,
        nominal_unix: i64,
        owner: &str,
        run_id: &str,
    ) -> rusqlite::Result<()> {
        self.conn().execute(
            "UPDATE schedule_fires SET state = 'done', run_id = ?4
             WHERE schedule = ?1 AND nominal_unix = ?2 AND owner = ?3",
            params![schedule, nominal_unix, owner, run_id],
        )?;
        Ok(())
    }
}

fn row_to_record(row: &rusqlite::Row<'_>) -> rusqlite::Result<RunRecord> {
    Ok(RunRecord {
        id: row.get(0)?,
        schedule: row.get(1)?,
        plugin: row.get(2)?,
        sha256: row.get(3)?,
        nominal_time: row.get(4)?,
        nominal_unix: row.get(5)?,
        started_at: row.get(6)?,
        ended_at: row.get(7)?,
        result: row.get(8)?,
        exit_code: row.get(9)?,
        message: row.get(10)?,
        api_calls: row.get::<_, i64>(11)?.max(0) as u64,
        retries: row.get::<_, i64>(12)?.max(0) as u64,
        output_dir: row.get(13)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str, schedule: &str, nominal: i64, result: &str) -> RunRecord {
        RunRecord {
            id: id.into(),
            schedule: Some(schedule.into()),
            plugin: "p".into(),
            sha256: None,
            nominal_time: Some(format!("t{nominal}")),
            nominal_unix: Some(nominal),
            started_at: format!("2026-01-01T00:00:{nominal:02}Z"),
            ended_at: None,
            result: result.into(),
            exit_code: None,
            message: None,
            api_calls: 0,
            retries: 0,
            output_dir: None,
        }
    }

    #[test]
    fn records_lists_and_finds_runs() {
        let dir = tempfile::tempdir().unwrap();
        let h = History::open(&dir.path().join("pleo-host.db")).unwrap();
        h.record(&record("aaaa-1", "daily", 1, "ok")).unwrap();
        h.record(&record("bbbb-2", "daily", 2, "failed")).unwrap();
        h.record(&record("cccc-3", "weekly", 3, "running")).unwrap();
        let mut end = record("cccc-3", "weekly", 3, "ok");
        end.ended_at = Some("later".into());
        h.record(&end).unwrap();
        let all = h.list(None, 10).unwrap();
        assert_eq!(
            all.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
            ["cccc-3", "bbbb-2", "aaaa-1"]
        );
        assert_eq!(all[0].result, "ok", "the end replaced the start");
        assert_eq!(h.list(Some("daily"), 10).unwrap().len(), 2);
        assert_eq!(h.get("bbbb").unwrap()[0].id, "bbbb-2");
        assert!(h.get("zzzz").unwrap().is_empty());
        assert_eq!(h.last_success("daily").unwrap().as_deref(), Some("t1"));
        assert_eq!(h.last_success("monthly").unwrap(), None);
    }

    #[test]
    fn a_fire_time_is_claimed_once_across_connections() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pleo-host.db");
        let (a, b) = (History::open(&path).unwrap(), History::open(&path).unwrap());
        assert_eq!(
            a.claim("s", 60, "t", "A", 30, true).unwrap(),
            Claim::Claimed
        );
        assert_eq!(b.claim("s", 60, "t", "B", 30, true).unwrap(), Claim::Taken);
        // Another fire time of the same schedule while A's run holds its lease.
        assert_eq!(b.claim("s", 120, "t", "B", 30, true).unwrap(), Claim::Busy);
        assert_eq!(
            b.claim("s", 120, "t", "B", 30, false).unwrap(),
            Claim::Claimed
        );
        a.finish("s", 60, "A", "run-1").unwrap();
        assert_eq!(b.claim("s", 60, "t", "B", 30, true).unwrap(), Claim::Taken);
        assert_eq!(a.last_fire("s").unwrap(), Some(120));
        assert!(a.skip("s", 180, "t", "A").unwrap());
        assert!(!b.skip("s", 180, "t", "B").unwrap());
        assert_eq!(
            b.claim("s", 180, "t", "B", 30, false).unwrap(),
            Claim::Taken
        );
    }

    #[test]
    fn an_abandoned_lease_is_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pleo-host.db");
        let (a, b) = (History::open(&path).unwrap(), History::open(&path).unwrap());
        // A claimed and died: its lease expired a second ago.
        assert_eq!(
            a.claim("s", 60, "t", "A", -1, true).unwrap(),
            Claim::Claimed
        );
        assert_eq!(
            b.claim("s", 120, "t", "B", 30, true).unwrap(),
            Claim::Claimed
        );
        assert_eq!(
            b.claim("s", 60, "t", "B", 30, false).unwrap(),
            Claim::Claimed
        );
        // A renewing a lease it lost changes nothing.
        a.renew("s", 60, "A", 1000).unwrap();
        assert_eq!(a.claim("s", 60, "t", "A", 30, false).unwrap(), Claim::Taken);
    }
}
