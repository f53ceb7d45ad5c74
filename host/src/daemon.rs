//! `pleo-host daemon`: runs the `[[schedules]]` of pleo.toml until SIGTERM or SIGINT.
//!
//! * Each fire time is claimed in the state database before it runs ([`History::claim`]), so
//!   two daemons on one database run it once, and each run is a row of the history.
//! * A schedule has one worker: fire times reach it in order; `overlap = "skip"` drops a fire
//!   time that comes while the worker (or another daemon) runs one, `"queue"` keeps it.
//! * Every run gets params `scheduled_for` (its nominal time) and `last_success_for`, and the
//!   output folder `<output_dir>/<plugin>/<schedule>/<nominal time>/`; `latest` beside it
//!   points to the newest successful one; older folders beyond `keep` are removed.
//! * SIGHUP re-reads pleo.toml and the key; a config or key that does not work is logged and
//!   the old one keeps running. A run that ends on a 401 re-reads the key and runs once more.
//! * SIGTERM/SIGINT: no new run starts; running plugins get `[daemon] grace_seconds`, then are
//!   interrupted (audit and history: `cancelled`); the daemon exits 0. A second signal
//!   interrupts at once.
//! * `on_failure` runs with the run's facts in its environment (never the key) and
//!   `[daemon] listen` serves `/healthz` and Prometheus `/metrics`.

mod metrics;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use tokio::sync::{mpsc, watch};

use crate::config::Config;
use crate::config::schedule::{self, Overlap, Schedule};
use crate::error::{ExitCode, Failure};
use crate::history::{Claim, History, RunRecord};
use crate::runtime::Signal;
use crate::session::{RunEnd, RunOptions, Session};

/// A fire time later than this is missed (the daemon was down or the machine asleep) and
/// runs only as the schedule's `catch_up` says.
const LATE_AFTER: chrono::TimeDelta = chrono::TimeDelta::seconds(60);
/// Lease on a claimed fire time; renewed every third of it while the run goes on.
const LEASE_SECONDS: i64 = 30;
/// How long an `on_failure` command may run before it is killed.
const HOOK_TIMEOUT: Duration = Duration::from_secs(60);
/// Longest message kept in the history.
const HISTORY_MESSAGE: usize = 1024;
/// Fire times a `queue` schedule holds before further ones are skipped.
const QUEUE_BOUND: usize = 1000;

/// Reads pleo.toml again (SIGHUP). Given by the command line, which knows where it is.
pub type ConfigLoader = Box<dyn Fn() -> Result<Config, Failure> + Send + Sync>;

/// Runs the daemon until a stop signal; `Ok` after a clean stop.
pub async fn run(load: ConfigLoader) -> Result<(), Failure> {
    use tokio::signal::unix::{SignalKind, signal};
    let config = load()?;
    if config.schedules.is_empty() {
        return Err(Failure::new(
            ExitCode::Config,
            format!("no [[schedules]] in {}", config.describe_source()),
        )
        .hint("add a [[schedules]] table (see README, section Scheduled reports)"));
    }
    let db_path = crate::statedb::path_for(&config).ok_or_else(|| {
        Failure::new(
            ExitCode::Config,
            "no place for the state database: neither HOME nor XDG_STATE_HOME is set",
        )
        .hint("set state_dir in pleo.toml")
    })?;
    let history = History::open(&db_path).map_err(|e| {
        Failure::new(ExitCode::Config, e.to_string())
            .hint("set state_dir in pleo.toml to a writable place")
    })?;
    let session = Session::open(config.clone()).await?;
    let signal_error = |e: std::io::Error| {
        Failure::new(
            ExitCode::Internal,
            format!("cannot listen for signals: {e}"),
        )
    };
    let mut sigterm = signal(SignalKind::terminate()).map_err(signal_error)?;
    let mut sigint = signal(SignalKind::interrupt()).map_err(signal_error)?;
    let mut sighup = signal(SignalKind::hangup()).map_err(signal_error)?;

    let (hard_stop, cancel) = watch::channel(None);
    let shared = Arc::new(Shared {
        session: RwLock::new(Arc::new(session)),
        config: RwLock::new(config.clone()),
        history,
        owner: format!(
            "{}:{}",
            std::process::id(),
            &uuid::Uuid::new_v4().to_string()[..8]
        ),
        stopping: AtomicBool::new(false),
        cancel,
        metrics: metrics::Metrics::new(),
        running: AtomicUsize::new(0),
        reload_lock: tokio::sync::Mutex::new(()),
    });
    let server = match config.daemon.listen {
        Some(addr) => Some(metrics::serve(addr, shared.clone()).await.map_err(|e| {
            Failure::new(
                ExitCode::Config,
                format!("daemon.listen: cannot listen on {addr}: {e}"),
            )
            .hint("pick another address or port")
        })?),
        None => None,
    };

    let started = Utc::now();
    let mut workers: HashMap<String, Worker> = HashMap::new();
    let mut cursors: HashMap<String, DateTime<Utc>> = HashMap::new();
    for s in &config.schedules {
        let last = shared
            .history
            .last_fire(&s.name)
            .ok()
            .flatten()
            .and_then(|t| DateTime::from_timestamp(t, 0));
        let plan = s.plan(last, started, started);
        if plan.dropped > 0 || !plan.run.is_empty() {
            tracing::info!(
                schedule = %s.name,
                catch_up = plan.run.len(),
                dropped = plan.dropped,
                "fire times missed while no daemon ran"
            );
        }
        let worker = workers
            .entry(s.name.clone())
            .or_insert_with(|| Worker::start(shared.clone(), &s.name));
        for fire in plan.run {
            worker.dispatch(&shared, s, fire, true);
        }
        cursors.insert(s.name.clone(), started);
    }
    tracing::info!(
        schedules = config.schedules.len(),
        state = %shared.history.path().display(),
        "daemon started"
    );

    let stop_signal = loop {
        let schedules = shared.config().schedules.clone();
        let next = schedules
            .iter()
            .filter_map(|s| {
                let next = s.next_after(cursors[&s.name])?;
                shared
                    .metrics
                    .next_fire(&s.name, next.with_timezone(&Utc).timestamp());
                Some(next.with_timezone(&Utc))
            })
            .min();
        let wait = next.map_or(Duration::from_secs(3600), |at| {
            (at - Utc::now()).to_std().unwrap_or(Duration::ZERO)
        });
        tokio::select! {
            _ = tokio::time::sleep(wait) => {
                let now = Utc::now();
                for s in &schedules {
                    let cursor = cursors[&s.name];
                    if cursor >= now {
                        continue;
                    }
                    let plan = s.plan(Some(cursor), now, now - LATE_AFTER);
                    if plan.dropped > 0 {
                        tracing::warn!(schedule = %s.name, dropped = plan.dropped, "fire times missed (was the machine asleep?)");
                    }
                    for fire in plan.run {
                        workers[&s.name].dispatch(&shared, s, fire, false);
                    }
                    cursors.insert(s.name.clone(), now);
                }
            }
            _ = sigterm.recv() => break Signal::Terminate,
            _ = sigint.recv() => break Signal::Interrupt,
            _ = sighup.recv() => {
                if let Some(new) = reload(&shared, &load).await {
                    let now = Utc::now();
                    for s in &new.schedules {
                        cursors.entry(s.name.clone()).or_insert(now);
                        workers
                            .entry(s.name.clone())
                            .or_insert_with(|| Worker::start(shared.clone(), &s.name));
                    }
                    let names: Vec<&String> = new.schedules.iter().map(|s| &s.name).collect();
                    cursors.retain(|name, _| names.contains(&name));
                    workers.retain(|name, _| names.contains(&name));
                }
            }
        }
    };

    // Stop: nothing new starts; running plugins get the grace period, then are interrupted.
    shared.stopping.store(true, Ordering::SeqCst);
    let grace = shared.config().daemon.grace;
    tracing::info!(
        signal = %stop_signal,
        running = shared.running.load(Ordering::SeqCst),
        grace_seconds = grace.as_secs_f64(),
        "stopping: no new runs"
    );
    let handles: Vec<_> = workers.into_values().map(Worker::close).collect();
    let all_done = futures_join_all(handles);
    tokio::pin!(all_done);
    let interrupted = tokio::select! {
        _ = &mut all_done => false,
        _ = tokio::time::sleep(grace) => true,
        _ = sigterm.recv() => true,
        _ = sigint.recv() => true,
    };
    if interrupted {
        tracing::warn!("interrupting the running plugins");
        let _ = hard_stop.send(Some(stop_signal));
        all_done.await;
    }
    if let Some(server) = server {
        server.abort();
    }
    tracing::info!("daemon stopped");
    Ok(())
}

/// Waits for every worker task to end.
async fn futures_join_all(handles: Vec<tokio::task::JoinHandle<()>>) {
    for handle in handles {
        let _ = handle.await;
    }
}

/// What the main loop, the workers and the metrics server share.
pub(crate) struct Shared {
    session: RwLock<Arc<Session>>,
    config: RwLock<Config>,
    history: History,
    /// This daemon's name on leases.
    owner: String,
    stopping: AtomicBool,
    /// Fires (after the grace period) to interrupt running plugins.
    cancel: watch::Receiver<Option<Signal>>,
    pub(crate) metrics: metrics::Metrics,
    pub(crate) running: AtomicUsize,
    /// One key re-read or reload at a time.
    reload_lock: tokio::sync::Mutex<()>,
}

impl Shared {
    fn session(&self) -> Arc<Session> {
        self.session
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn config(&self) -> Config {
        self.config
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub(crate) fn schedule_names(&self) -> Vec<String> {
        self.config
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .schedules
            .iter()
            .map(|s| s.name.clone())
            .collect()
    }
}

/// SIGHUP: the new config and key, or the old ones if either does not work.
async fn reload(shared: &Arc<Shared>, load: &ConfigLoader) -> Option<Config> {
    let _one = shared.reload_lock.lock().await;
    let config = match load() {
        Ok(config) if config.schedules.is_empty() => {
            tracing::error!(
                "reload refused: the new config has no [[schedules]]; keeping the previous configuration"
            );
            shared.metrics.reload("failed");
            return None;
        }
        Ok(config) => config,
        Err(failure) => {
            tracing::error!(
                "reload refused: {}; keeping the previous configuration",
                failure.message
            );
            shared.metrics.reload("failed");
            return None;
        }
    };
    match Session::open(config.clone()).await {
        Ok(session) => {
            *shared.session.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(session);
            *shared.config.write().unwrap_or_else(|e| e.into_inner()) = config.clone();
            tracing::info!(
                schedules = config.schedules.len(),
                "configuration and key reloaded"
            );
            shared.metrics.reload("ok");
            Some(config)
        }
        Err(failure) => {
            tracing::error!(
                "reload refused: {}; keeping the previous configuration and key",
                failure.message
            );
            shared.metrics.reload("failed");
            None
        }
    }
}

/// A fire time on its way to the schedule's worker.
struct Fire {
    schedule: Schedule,
    at: DateTime<Tz>,
}

/// The one task that runs a schedule's fire times, in order.
struct Worker {
    sender: mpsc::UnboundedSender<Fire>,
    /// Running or queued fire times.
    pending: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Worker {
    fn start(shared: Arc<Shared>, name: &str) -> Worker {
        let (sender, mut receiver) = mpsc::unbounded_channel::<Fire>();
        let pending = Arc::new(AtomicUsize::new(0));
        let left = pending.clone();
        let name = name.to_owned();
        let task = tokio::spawn(async move {
            while let Some(fire) = receiver.recv().await {
                if !shared.stopping.load(Ordering::SeqCst) {
                    run_fire(&shared, &fire.schedule, fire.at).await;
                }
                left.fetch_sub(1, Ordering::SeqCst);
            }
            tracing::debug!(schedule = %name, "worker ended");
        });
        Worker {
            sender,
            pending,
            task,
        }
    }

    /// Hands a fire time to the worker, or skips it (`overlap = "skip"` while one runs). The
    /// fire times of a catch-up are queued whatever `overlap` says: the policy chose them.
    fn dispatch(
        &self,
        shared: &Arc<Shared>,
        schedule: &Schedule,
        at: DateTime<Tz>,
        catch_up: bool,
    ) {
        let busy = self.pending.load(Ordering::SeqCst);
        let skip = match schedule.overlap {
            Overlap::Skip if !catch_up => busy > 0,
            _ => busy >= QUEUE_BOUND,
        };
        if skip {
            record_skip(
                shared,
                schedule,
                &at,
                "the previous run of this schedule was still going",
            );
            return;
        }
        self.pending.fetch_add(1, Ordering::SeqCst);
        let fire = Fire {
            schedule: schedule.clone(),
            at,
        };
        if self.sender.send(fire).is_err() {
            self.pending.fetch_sub(1, Ordering::SeqCst);
        }
    }

    /// No more fire times: the worker ends after the one it runs.
    fn close(self) -> tokio::task::JoinHandle<()> {
        drop(self.sender);
        self.task
    }
}

fn record_skip(shared: &Shared, schedule: &Schedule, at: &DateTime<Tz>, why: &str) {
    let nominal = schedule::nominal_text(at);
    match shared
        .history
        .skip(&schedule.name, at.timestamp(), &nominal, &shared.owner)
    {
        Ok(true) => {}
        Ok(false) => return, // another daemon took it on
        Err(e) => tracing::error!(schedule = %schedule.name, "state database: {e}"),
    }
    tracing::warn!(schedule = %schedule.name, scheduled_for = %nominal, "skipped: {why}");
    let now = now_text();
    let record = RunRecord {
        id: uuid::Uuid::new_v4().to_string(),
        schedule: Some(schedule.name.clone()),
        plugin: schedule.plugin.clone(),
        sha256: None,
        nominal_time: Some(nominal),
        nominal_unix: Some(at.timestamp()),
        started_at: now.clone(),
        ended_at: Some(now),
        result: "skipped".into(),
        exit_code: None,
        message: Some(why.to_owned()),
        api_calls: 0,
        retries: 0,
        output_dir: None,
    };
    if let Err(e) = shared.history.record(&record) {
        tracing::error!(schedule = %schedule.name, "state database: {e}");
    }
    shared
        .metrics
        .run_ended(&schedule.name, "skipped", 0.0, 0, 0);
}

fn now_text() -> String {
    Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Claims, runs and records one fire time.
async fn run_fire(shared: &Arc<Shared>, schedule: &Schedule, at: DateTime<Tz>) {
    let nominal = schedule::nominal_text(&at);
    let exclusive = true;
    let claim = loop {
        let claim = shared.history.claim(
            &schedule.name,
            at.timestamp(),
            &nominal,
            &shared.owner,
            LEASE_SECONDS,
            exclusive,
        );
        match claim {
            Ok(Claim::Busy) if schedule.overlap == Overlap::Queue => {
                // Another daemon runs this schedule: wait for it.
                if shared.stopping.load(Ordering::SeqCst) {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            other => break other,
        }
    };
    match claim {
        Ok(Claim::Claimed) => {}
        Ok(Claim::Taken) => {
            tracing::debug!(schedule = %schedule.name, scheduled_for = %nominal, "another daemon took it on");
            return;
        }
        Ok(Claim::Busy) => {
            record_skip(
                shared,
                schedule,
                &at,
                "a run of this schedule was going in another daemon",
            );
            return;
        }
        Err(e) => {
            tracing::error!(schedule = %schedule.name, "state database: cannot claim {nominal}: {e}");
            return;
        }
    }
    let renew = {
        let shared = shared.clone();
        let name = schedule.name.clone();
        let at = at.timestamp();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(LEASE_SECONDS as u64 / 3)).await;
                if let Err(e) = shared
                    .history
                    .renew(&name, at, &shared.owner, LEASE_SECONDS)
                {
                    tracing::error!(schedule = %name, "state database: cannot renew the lease: {e}");
                }
            }
        })
    };
    shared.running.fetch_add(1, Ordering::SeqCst);
    let mut outcome = run_once(shared, schedule, &at).await;
    if outcome.last_api_status == Some(401) && !shared.stopping.load(Ordering::SeqCst) {
        // The key may have been rotated: read it again, once, and run again with it.
        tracing::warn!(schedule = %schedule.name, "Pleo refused the key (401): reading it again");
        match reread_key(shared).await {
            Ok(()) => outcome = run_once(shared, schedule, &at).await,
            Err(refusal) => {
                // The run stays failed; its history row and the failure hook say why and
                // what to do, rather than the plugin's own words about a 401.
                outcome.message = refusal;
                mark_refused(shared, &outcome);
            }
        }
    }
    shared.running.fetch_sub(1, Ordering::SeqCst);
    renew.abort();
    if let Err(e) = shared.history.finish(
        &schedule.name,
        at.timestamp(),
        &shared.owner,
        &outcome.run_id,
    ) {
        tracing::error!(schedule = %schedule.name, "state database: {e}");
    }
    if outcome.result == "failed" {
        run_failure_hook(shared, schedule, &nominal, &outcome).await;
    }
}

/// Opens a new session with the current config: the key is read again. When that does not
/// work, the refusal (which environment, what to do) as one line, also logged.
async fn reread_key(shared: &Arc<Shared>) -> Result<(), String> {
    let _one = shared.reload_lock.lock().await;
    match Session::open(shared.config()).await {
        Ok(session) => {
            *shared.session.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(session);
            Ok(())
        }
        Err(failure) => {
            let line = match &failure.hint {
                Some(hint) => format!("{}; {hint}", failure.message),
                None => failure.message.clone(),
            };
            tracing::error!("the key read again does not work either: {line}");
            Err(line)
        }
    }
}

/// Puts the refusal of the key read again into the failed run's history row.
fn mark_refused(shared: &Shared, outcome: &Outcome) {
    let rows = shared.history.get(&outcome.run_id).unwrap_or_default();
    if let Some(mut row) = rows.into_iter().find(|r| r.id == outcome.run_id) {
        row.message = Some(cut(&outcome.message));
        if let Err(e) = shared.history.record(&row) {
            tracing::error!("state database: {e}");
        }
    }
}

/// What a run left for the failure hook and the 401 retry.
struct Outcome {
    run_id: String,
    result: String,
    exit_code: i32,
    message: String,
    out_dir: PathBuf,
    last_api_status: Option<u16>,
    api_calls: u64,
    retries: u64,
    api_statuses: crate::pleo::StatusCounts,
    rate_limit_wait: Duration,
}

/// One run of a fire time: folder, params, the plugin, history, `latest` and pruning.
async fn run_once(shared: &Arc<Shared>, schedule: &Schedule, at: &DateTime<Tz>) -> Outcome {
    let session = shared.session();
    let config = session.config().clone();
    let nominal = schedule::nominal_text(at);
    let run_id = uuid::Uuid::new_v4().to_string();
    let schedule_dir = schedule_dir(&config, schedule);
    let out_dir = schedule_dir.join(schedule::folder_name(at));
    let started_at = now_text();
    let base = RunRecord {
        id: run_id.clone(),
        schedule: Some(schedule.name.clone()),
        plugin: schedule.plugin.clone(),
        sha256: None,
        nominal_time: Some(nominal.clone()),
        nominal_unix: Some(at.timestamp()),
        started_at: started_at.clone(),
        ended_at: None,
        result: "running".into(),
        exit_code: None,
        message: None,
        api_calls: 0,
        retries: 0,
        output_dir: Some(out_dir.display().to_string()),
    };
    if let Err(e) = shared.history.record(&base) {
        tracing::error!(schedule = %schedule.name, "state database: {e}");
    }
    let mut host_params = schedule.params.clone();
    host_params.insert("scheduled_for".into(), nominal.clone());
    match shared.history.last_success(&schedule.name) {
        Ok(Some(last)) => {
            host_params.insert("last_success_for".into(), last);
        }
        Ok(None) => {}
        Err(e) => tracing::error!(schedule = %schedule.name, "state database: {e}"),
    }
    let ended: Arc<Mutex<Option<Outcome>>> = Arc::new(Mutex::new(None));
    let on_end = {
        let ended = ended.clone();
        let history = shared.clone();
        let base = base.clone();
        Box::new(move |end: &RunEnd<'_>| {
            let record = RunRecord {
                sha256: Some(end.sha256.to_owned()),
                ended_at: Some(now_text()),
                result: end.result.to_owned(),
                exit_code: Some(end.exit_code),
                message: Some(cut(end.message)),
                api_calls: end.api_calls,
                retries: end.retries,
                ..base
            };
            if let Err(e) = history.history.record(&record) {
                tracing::error!("state database: {e}");
            }
            *ended.lock().unwrap_or_else(|e| e.into_inner()) = Some(Outcome {
                run_id: end.run_id.to_owned(),
                result: end.result.to_owned(),
                exit_code: end.exit_code,
                message: end.message.to_owned(),
                out_dir: end.out_dir.to_owned(),
                last_api_status: end.last_api_status,
                api_calls: end.api_calls,
                retries: end.retries,
                api_statuses: end.api_statuses.clone(),
                rate_limit_wait: end.rate_limit_wait,
            });
        }) as crate::session::OnEnd
    };
    let options = RunOptions {
        out_dir: Some(out_dir.clone()),
        params: BTreeMap::new(),
        progress: None,
        cancel: Some(shared.cancel.clone()),
        host_params,
        limits: Some(schedule.limits),
        run_id: Some(run_id.clone()),
        on_end: Some(on_end),
        ..RunOptions::default()
    };
    tracing::info!(schedule = %schedule.name, scheduled_for = %nominal, run_id = %run_id, "run started");
    let clock = std::time::Instant::now();
    let result = session.run(&schedule.plugin, options).await;
    let seconds = clock.elapsed().as_secs_f64();
    let recorded = ended.lock().unwrap_or_else(|e| e.into_inner()).take();
    let outcome = match (&result, recorded) {
        (_, Some(outcome)) => outcome,
        (Ok(_), None) => unreachable!("a successful run always ends through on_end"),
        (Err(failure), None) => {
            // Refused before it started (plugin missing, scopes, approval, output folder).
            let result = if failure.code.is_cancel() {
                "cancelled"
            } else {
                "failed"
            };
            let record = RunRecord {
                ended_at: Some(now_text()),
                result: result.into(),
                exit_code: Some(failure.code as i32),
                message: Some(cut(&failure.message)),
                ..base
            };
            if let Err(e) = shared.history.record(&record) {
                tracing::error!(schedule = %schedule.name, "state database: {e}");
            }
            Outcome {
                run_id: run_id.clone(),
                result: result.into(),
                exit_code: failure.code as i32,
                message: failure.message.clone(),
                out_dir: out_dir.clone(),
                last_api_status: None,
                api_calls: 0,
                retries: 0,
                api_statuses: Default::default(),
                rate_limit_wait: Duration::ZERO,
            }
        }
    };
    match &result {
        Ok(report) => {
            tracing::info!(schedule = %schedule.name, scheduled_for = %nominal, run_id = %run_id, files = report.files.len(), "run finished");
            point_latest(&schedule_dir, &out_dir);
        }
        Err(failure) => {
            tracing::error!(schedule = %schedule.name, scheduled_for = %nominal, run_id = %run_id, exit_code = failure.code as i32, "run {}: {}", outcome.result, failure.message);
        }
    }
    // Whatever the result: a failed run's calls, retries and statuses are what to look at.
    shared.metrics.run_ended(
        &schedule.name,
        &outcome.result,
        seconds,
        outcome.api_calls,
        outcome.retries,
    );
    shared
        .metrics
        .rate_limit_wait(&schedule.name, outcome.rate_limit_wait.as_secs_f64());
    shared
        .metrics
        .pleo_requests(&schedule.name, &outcome.api_statuses);
    if let Some(keep) = schedule.keep {
        prune(&schedule_dir, keep as usize, &out_dir);
    }
    outcome
}

fn cut(message: &str) -> String {
    message[..message.floor_char_boundary(HISTORY_MESSAGE)].to_owned()
}

/// `<output_dir>/<plugin>/<schedule>`: the folder of a schedule's run folders.
pub fn schedule_dir(config: &Config, schedule: &Schedule) -> PathBuf {
    config
        .output_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from("out"))
        .join(&schedule.plugin)
        .join(&schedule.name)
}

/// Points `<schedule dir>/latest` at `run_dir` (a relative symbolic link, replaced at once).
fn point_latest(schedule_dir: &Path, run_dir: &Path) {
    let Some(name) = run_dir.file_name() else {
        return;
    };
    let temp = schedule_dir.join(format!(".latest-{}", std::process::id()));
    let _ = std::fs::remove_file(&temp);
    let done = std::os::unix::fs::symlink(name, &temp)
        .and_then(|()| std::fs::rename(&temp, schedule_dir.join("latest")));
    if let Err(e) = done {
        tracing::warn!(
            "cannot point {}/latest at {}: {e}",
            schedule_dir.display(),
            run_dir.display()
        );
        let _ = std::fs::remove_file(&temp);
    }
}

/// Removes the oldest run folders of a schedule beyond `keep` (never `current`, nor the one
/// `latest` points to).
fn prune(schedule_dir: &Path, keep: usize, current: &Path) {
    let latest = std::fs::read_link(schedule_dir.join("latest")).ok();
    let Ok(entries) = std::fs::read_dir(schedule_dir) else {
        return;
    };
    let mut runs: Vec<(i64, PathBuf)> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let at = DateTime::parse_from_str(&name, "%Y%m%dT%H%M%S%z").ok()?;
            Some((at.timestamp(), e.path()))
        })
        .collect();
    runs.sort();
    let excess = runs.len().saturating_sub(keep);
    for (_, dir) in runs.into_iter().take(excess) {
        let is_latest = latest
            .as_deref()
            .is_some_and(|l| dir.file_name() == Some(l.as_os_str()));
        if dir == current || is_latest {
            continue;
        }
        if let Err(e) = std::fs::remove_dir_all(&dir) {
            tracing::warn!("cannot remove the old run folder {}: {e}", dir.display());
        }
    }
}

/// Runs the failure hook, with the run's facts in its environment and nothing else of the
/// daemon's (the key may be in the daemon's environment).
async fn run_failure_hook(
    shared: &Arc<Shared>,
    schedule: &Schedule,
    nominal: &str,
    outcome: &Outcome,
) {
    let config = shared.config();
    let Some(command) = schedule
        .on_failure
        .clone()
        .or(config.daemon.on_failure.clone())
    else {
        return;
    };
    let session = shared.session();
    let redact = |s: &str| session.redactor().redact(s).to_string();
    let mut cmd = tokio::process::Command::new(&command[0]);
    cmd.args(&command[1..])
        .env_clear()
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    for var in ["PATH", "HOME", "LANG", "TZ"] {
        if let Some(value) = std::env::var_os(var) {
            cmd.env(var, value);
        }
    }
    let first_line = outcome.message.lines().next().unwrap_or_default();
    cmd.env("PLEO_RUN_ID", &outcome.run_id)
        .env("PLEO_SCHEDULE", &schedule.name)
        .env("PLEO_PLUGIN", &schedule.plugin)
        .env("PLEO_SCHEDULED_FOR", nominal)
        .env("PLEO_RESULT", &outcome.result)
        .env("PLEO_EXIT_CODE", outcome.exit_code.to_string())
        .env("PLEO_ERROR", redact(first_line))
        .env("PLEO_OUTPUT_DIR", &outcome.out_dir);
    let output = tokio::time::timeout(HOOK_TIMEOUT, cmd.output()).await;
    let program = crate::terminal::line(&command[0]).into_owned();
    match output {
        Ok(Ok(output)) => {
            for line in String::from_utf8_lossy(&output.stdout)
                .lines()
                .chain(String::from_utf8_lossy(&output.stderr).lines())
                .filter(|l| !l.trim().is_empty())
                .take(20)
            {
                let line = redact(line);
                tracing::info!(schedule = %schedule.name, hook = %program, "{}", crate::terminal::line(&line));
            }
            if !output.status.success() {
                tracing::error!(schedule = %schedule.name, "on_failure command {program} failed: {}", output.status);
            }
        }
        Ok(Err(e)) => {
            tracing::error!(schedule = %schedule.name, "on_failure command {program} cannot start: {e}");
        }
        Err(_) => {
            tracing::error!(schedule = %schedule.name, "on_failure command {program} killed after {}s", HOOK_TIMEOUT.as_secs());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prune_keeps_the_newest_the_current_and_latest() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let names = [
            "20261101T003000+0100",
            "20261201T003000+0100",
            "20270101T003000+0100",
            "20270201T003000+0100",
        ];
        for name in names {
            std::fs::create_dir(root.join(name)).unwrap();
        }
        std::fs::create_dir(root.join("not-a-run")).unwrap();
        point_latest(root, &root.join(names[0]));
        assert_eq!(
            std::fs::read_link(root.join("latest")).unwrap(),
            Path::new(names[0])
        );
        prune(root, 2, &root.join(names[3]));
        let mut left: Vec<String> = std::fs::read_dir(root)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        assert_eq!(
            left,
            [names[0], names[2], names[3], "latest", "not-a-run"],
            "the oldest beyond 2 go, except the one latest points to"
        );
        point_latest(root, &root.join(names[3]));
        prune(root, 1, &root.join(names[3]));
        assert!(!root.join(names[0]).exists() && !root.join(names[2]).exists());
        assert!(root.join("latest/.").exists(), "latest resolves");
    }
}
