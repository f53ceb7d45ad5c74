//! Apply benchmark (README "Performance", issue: one-off migrations): how close `pleo-host
//! apply` gets to a key's rate limit, and how quickly it resumes after `kill -9`.
//!
//! The mock Pleo API runs in this process with a per-key limit of 600 requests a minute (429
//! with `Retry-After` over it, like Pleo); the real `pleo-host` binary plans
//! master-data-import on N vendors (default 2,000) against it through `base_url`, with
//! `[client] requests_per_minute` set to the same 600. Then:
//!
//! 1. **Whole apply**: `apply --yes` of the plan. Reported: writes a minute over the apply's
//!    wall time (process start to exit) ÷ the limit (utilisation, target at least 95 %), every
//!    request's share likewise, and the mock's 429s (target 0).
//! 2. **Resume**: a second mock and plan; `apply` is killed with SIGKILL once half of the
//!    writes are made, and started again half a second later. Reported: the time from the
//!    restart to the first write the mock receives from it, the resumed apply's wall time,
//!    and the 429s after the restart (the mock's limit remembers the killed process's
//!    requests; the new process's limiter does not).
//!
//! ```sh
//! scripts/bench apply                 # 2,000 writes at 600/min: about 7 minutes
//! scripts/bench apply --writes 200    # a quicker look
//! ```

use std::cell::Cell;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use clap::Parser;
use pleo_host::mock::{FaultConfig, MockConfig, MockServer, RateLimit};

#[derive(Parser)]
#[command(about = "Rate-limit utilisation and resume time of `pleo-host apply`")]
struct Args {
    /// Vendors to create: the plan's writes.
    #[arg(long, default_value_t = 2000)]
    writes: usize,
    /// The mock's per-key limit and the client's, requests a minute.
    #[arg(long, default_value_t = 600)]
    per_minute: u32,
    /// Skip the kill and resume part.
    #[arg(long)]
    no_resume: bool,
    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

type Res<T> = Result<T, Box<dyn std::error::Error>>;

fn main() -> Res<()> {
    let args = Args::parse();
    let rt = tokio::runtime::Runtime::new()?;
    println!(
        "apply benchmark: {} vendor creates, mock limit {}/min per key (burst {}), client limit {}/min",
        args.writes,
        args.per_minute,
        (args.per_minute / 60).max(1),
        args.per_minute
    );

    let whole = Migration::prepare(&rt, &args)?;
    let started = Instant::now();
    let (requests0, limited0) = (whole.mock.request_count(), whole.rate_limited());
    let cpu0 = children_cpu();
    let out = whole
        .command(&["apply", "plan.json", "--yes", "-q"])
        .output()?;
    let wall = started.elapsed();
    let cpu = children_cpu() - cpu0;
    if !out.status.success() {
        return Err(format!("apply failed: {}", String::from_utf8_lossy(&out.stderr)).into());
    }
    let writes = whole.writes_made();
    let requests = whole.mock.request_count() - requests0;
    let minutes = wall.as_secs_f64() / 60.0;
    let limit = f64::from(args.per_minute);
    println!(
        "whole apply: {writes} writes in {:.1} s: {:.0} writes/min = {:.1} % of the limit; {} requests = {:.1} %; 429s: {}",
        wall.as_secs_f64(),
        writes as f64 / minutes,
        100.0 * writes as f64 / minutes / limit,
        requests,
        100.0 * requests as f64 / minutes / limit,
        whole.rate_limited() - limited0
    );
    // A write must get its CPU within its 100 ms slot; on a busy machine it may not.
    println!(
        "  apply process CPU {:.2} s ({:.2} ms a write); load average at the end: {}",
        cpu.as_secs_f64(),
        cpu.as_secs_f64() * 1e3 / writes.max(1) as f64,
        load_average()
    );
    if writes != args.writes {
        return Err(format!("{writes} writes made, {} planned", args.writes).into());
    }
    if args.no_resume {
        return Ok(());
    }

    let resumed = Migration::prepare(&rt, &args)?;
    let limited_at_start = resumed.rate_limited();
    let first_started = Instant::now();
    let mut child = resumed.spawn(&["apply", "plan.json", "--yes", "-q"])?;
    let half = args.writes / 2;
    while resumed.writes_made() < half {
        if let Some(status) = child.try_wait()? {
            return Err(format!("apply ended before the kill: {status}").into());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill()?; // SIGKILL
    child.wait()?;
    let before_kill = first_started.elapsed();
    // What the killed process had in flight lands (or not) before the restart is measured.
    std::thread::sleep(Duration::from_millis(500));
    let made_before = resumed.writes_made();
    let limited_before = resumed.rate_limited();
    let restarted = Instant::now();
    let mut child = resumed.spawn(&["apply", "plan.json", "--yes", "-q"])?;
    let mut first_write = None;
    let status = loop {
        if first_write.is_none() && resumed.writes_received() > made_before {
            first_write = Some(restarted.elapsed());
        }
        if let Some(status) = child.try_wait()? {
            break status;
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let resume_wall = restarted.elapsed();
    if !status.success() {
        return Err(format!("the resumed apply failed: {status}").into());
    }
    let made = resumed.writes_made();
    let first_write = first_write.ok_or("the resumed apply sent no write")?;
    println!(
        "resume: killed after {made_before} writes ({:.1} s, 429s: {}); restart → first new write {:.0} ms; resumed apply {:.1} s for {} writes; 429s after the restart: {}; writes made in all: {made} of {}",
        before_kill.as_secs_f64(),
        limited_before - limited_at_start,
        first_write.as_secs_f64() * 1e3,
        resume_wall.as_secs_f64(),
        made - made_before,
        resumed.rate_limited() - limited_before,
        args.writes
    );
    if made != args.writes {
        return Err(format!("{made} writes made, {} planned", args.writes).into());
    }
    Ok(())
}

/// User and system CPU time of the reaped children of this process so far.
fn children_cpu() -> Duration {
    // SAFETY: plain FFI call with a pointer to a live local; rusage is plain old data.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) } != 0 {
        return Duration::ZERO;
    }
    let tv = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// The 1-minute load average (Linux), to read a figure against what else the machine ran.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".into())
}

/// A mock with the per-key limit, a folder with the config and CSV, and the plan made.
struct Migration {
    mock: MockServer,
    dir: tempfile::TempDir,
    /// Exchanges of the mock's record looked at so far, and the vendor creates among them
    /// (received; made, i.e. 2xx).
    seen: Cell<usize>,
    received: Cell<usize>,
    made: Cell<usize>,
}

impl Migration {
    fn prepare(rt: &tokio::runtime::Runtime, args: &Args) -> Res<Migration> {
        let mock = rt.block_on(MockServer::start(
            ([127, 0, 0, 1], 0).into(),
            MockConfig {
                record: true,
                faults: FaultConfig {
                    rate_limit: Some(RateLimit {
                        per_minute: args.per_minute,
                        burst: (args.per_minute / 60).max(1),
                    }),
                    ..FaultConfig::default()
                },
                ..MockConfig::default()
            },
        ))?;
        let dir = tempfile::Builder::new().prefix("pleo-bench-").tempdir()?;
        std::fs::create_dir(dir.path().join("in"))?;
        let mut csv = String::from("external_id,name,default_currency\n");
        for i in 0..args.writes {
            csv.push_str(&format!("BENCH-{i:05},Bench vendor {i:05},EUR\n"));
        }
        std::fs::write(dir.path().join("in/vendors.csv"), csv)?;
        std::fs::write(
            dir.path().join("pleo.toml"),
            format!(
                "environment = \"mock\"\nbase_url = \"{}\"\nstate_dir = \"state\"\n\
                 [client]\nrequests_per_minute = {}\n\
                 [plugins.master-data-import]\ninput = \"in\"\n\
                 scopes = [\"vendors:read\", \"vendors:write\", \"accounts:read\", \
                 \"accounts:write\", \"tag-groups:read\", \"tag-groups:write\", \
                 \"tax-codes:read\", \"tax-codes:write\"]\n",
                mock.base_url(),
                args.per_minute
            ),
        )?;
        let migration = Migration {
            mock,
            dir,
            seen: Cell::new(0),
            received: Cell::new(0),
            made: Cell::new(0),
        };
        let out = migration
            .command(&["run", "master-data-import", "--plan", "plan.json"])
            .output()?;
        if !out.status.success() {
            return Err(format!("plan failed: {}", String::from_utf8_lossy(&out.stderr)).into());
        }
        Ok(migration)
    }

    /// `pleo-host ARGS` in the folder, with HOME and the XDG folders inside it.
    fn command(&self, args: &[&str]) -> Command {
        let dir: &Path = self.dir.path();
        let home = dir.join(".home");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_pleo-host"));
        cmd.args(args).current_dir(dir).env_clear();
        if let Some(path) = std::env::var_os("PATH") {
            cmd.env("PATH", path);
        }
        cmd.env("HOME", &home)
            .env("XDG_CACHE_HOME", home.join(".cache"))
            .env("XDG_STATE_HOME", home.join(".local/state"));
        cmd
    }

    fn spawn(&self, args: &[&str]) -> Res<Child> {
        Ok(self
            .command(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?)
    }

    /// Vendor creates the mock received (answered in any way).
    fn writes_received(&self) -> usize {
        self.catch_up();
        self.received.get()
    }

    /// Vendor creates the mock made (2xx).
    fn writes_made(&self) -> usize {
        self.catch_up();
        self.made.get()
    }

    /// Counts the exchanges recorded since the last look (copying only those: the watcher
    /// polls every few milliseconds on the machine it measures).
    fn catch_up(&self) {
        let new = self.mock.exchanges_since(self.seen.get());
        self.seen.set(self.seen.get() + new.len());
        for e in new {
            if e.method == "POST" && e.path == "/v1/vendors" {
                self.received.set(self.received.get() + 1);
                if (200..300).contains(&e.status) {
                    self.made.set(self.made.get() + 1);
                }
            }
        }
    }

    /// 429s of the mock's per-key limit so far.
    fn rate_limited(&self) -> u64 {
        self.mock.fault_counts().rate_limited
    }
}
