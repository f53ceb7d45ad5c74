//! What the sandbox costs, each figure against a baseline measured in the same run:
//!
//! 1. export: paging through the mock's accounting entries with the `bench` plugin through the
//!    host (with the host's read-ahead, and without) vs a plain reqwest client, same mock, same
//!    page size (entries/s, and the CPU each side spends per page);
//! 2. start-up: whole `pleo-host run` processes with a warm and a cold compile cache vs the
//!    process floor (`pleo-host --version`), from spawn to the plugin's first instruction (the
//!    plugin returns the WASI wall clock it read first), and where a warm start goes;
//! 3. instantiation: `InstancePre` instantiate + a no-op `run` per run, in-process, with
//!    instances allocated on demand (`Runtime::new`) and from a pool
//!    (`Runtime::with_instance_pool`);
//! 4. host calls: a loop calling `params::get` (or `log` at a disabled level) vs the same loop
//!    without the call, timed inside the plugin;
//! 5. concurrency: many runs at once against a mock that answers after a fixed latency, vs
//!    the same walks from a plain reqwest client and vs the latency-bound ideal;
//! 6. memory: peak RSS of the Quick start run (`pleo-host run spend-report`);
//! 7. languages (only with `--lang LANG=PATH,...`, see `scripts/bench-languages`): the same
//!    report built in Rust, Python and JavaScript: component size, first compile, cached start,
//!    instantiation and the report's run, each in fresh processes, against the Rust build.
//!
//! Run it with `scripts/bench`, which calls
//! `cargo bench --profile dev --bench sandbox -- [options]` (see `--help`). The dev profile is
//! the one `scripts/pleo-host` and the tests build, so nothing is compiled twice.
//!
//! In-process scenarios (1, 3, 4, 5) each run in a child process of this binary
//! (`--child NAME`), so their peak memory and thread pools do not mix; for 1 and 5 the mock
//! runs in a process of its own (`--child mock`), so each process's CPU time is its own. Child
//! processes of `pleo-host` (2, 6) are reaped with `wait4`, whose `ru_maxrss` is the child's
//! peak RSS. No figure is asserted: the table shows whether each target is met.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::Parser;
use pleo_bench_native::NativeClient;
use pleo_host::admission::{Admitted, Candidate};
use pleo_host::capabilities;
use pleo_host::config::{Config, Limits};
use pleo_host::credential::ApiKey;
use pleo_host::mock::{MOCK_API_KEY, MockConfig, MockServer};
use pleo_host::pleo::{ClientOptions, PleoClient, RateLimit};
use pleo_host::runtime::{Runtime, Sandbox};
use pleo_host::session::{Prepared, RunOptions, Session};
use serde_json::{Value, json};

type Res<T> = Result<T, String>;

const PAGE_SIZE: u32 = 100;
const ENTRIES_SCOPE: &str = "accounting-entries:read";

#[derive(Parser, Clone)]
#[command(
    name = "scripts/bench",
    about = "Benchmarks of pleo-host: what the sandbox costs"
)]
struct Args {
    /// Accounting entries in the mock for the export benchmark.
    #[arg(long, default_value_t = 50_000)]
    entries: usize,
    /// Exports of each kind (plugin, native), alternating; the median is reported.
    #[arg(long, default_value_t = 5)]
    export_rounds: usize,
    /// Whole-process runs per start-up figure (cold-cache runs: a quarter of this).
    #[arg(long, default_value_t = 20)]
    process_runs: usize,
    /// In-process runs for the instantiation figure.
    #[arg(long, default_value_t = 2000)]
    instantiations: usize,
    /// Iterations of the plugin's host-call loop.
    #[arg(long, default_value_t = 1_000_000)]
    host_calls: u64,
    /// Runs started at once in the concurrency benchmark.
    #[arg(long, default_value_t = 200)]
    concurrent_runs: usize,
    /// Latency of every mock answer in the concurrency benchmark, in milliseconds.
    #[arg(long, default_value_t = 50)]
    latency_ms: u64,
    /// Pages (one request each, in sequence) each concurrent run fetches.
    #[arg(long, default_value_t = 2)]
    pages_per_run: u64,
    /// Accounting entries of the concurrency benchmark's mock (it filters and sorts them all on
    /// every request, CPU that a real Pleo would not spend on this machine).
    #[arg(long, default_value_t = 200)]
    concurrency_entries: usize,
    /// Entries per page in the concurrency benchmark.
    #[arg(long, default_value_t = 10)]
    concurrency_page_size: u32,
    /// Where to write the results as JSON [default: <cargo target dir>/bench/results.json].
    #[arg(long)]
    json: Option<PathBuf>,
    /// Only these scenarios: export, startup, instantiate, hostcall, concurrency, memory.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// The same report built in other languages, as LANG=PATH of a component (the
    /// `languages` scenario; `scripts/bench-languages` builds the top-spenders examples).
    #[arg(long = "lang", value_delimiter = ',')]
    langs: Vec<String>,
    /// Fresh processes per figure of the `languages` scenario.
    #[arg(long, default_value_t = 3)]
    lang_runs: usize,
    /// Whole `pleo-host run` processes per language, interleaved across languages.
    #[arg(long, default_value_t = 10)]
    lang_process_runs: usize,
    /// Internal: the component a `languages` child process loads.
    #[arg(long, hide = true)]
    lang_wasm: Option<PathBuf>,
    /// Internal: run one in-process scenario and print its figures as JSON.
    #[arg(long, hide = true)]
    child: Option<String>,
    /// Internal: entries of a `--child mock`.
    #[arg(long, hide = true, default_value_t = 0)]
    mock_entries: usize,
    /// Internal: the compile cache the child processes share.
    #[arg(long, hide = true)]
    cache_dir: Option<PathBuf>,
    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

const SCENARIOS: &[&str] = &[
    "export",
    "startup",
    "instantiate",
    "hostcall",
    "languages",
    "concurrency",
    "memory",
];

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let result = match &args.child {
        Some(name) => child(name, &args),
        None => parent(&args),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench: error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

// -------------------------------------------------------------------------------------------
// The parent: runs the scenarios, prints the table, writes the JSON.
// -------------------------------------------------------------------------------------------

/// One line of the table.
#[derive(serde::Serialize)]
struct Row {
    figure: String,
    value: f64,
    unit: &'static str,
    baseline: Option<f64>,
    baseline_is: String,
    /// value / baseline.
    ratio: Option<f64>,
    target: String,
    met: Option<bool>,
}

impl Row {
    fn new(figure: &str, value: f64, unit: &'static str) -> Row {
        Row {
            figure: figure.into(),
            value,
            unit,
            baseline: None,
            baseline_is: String::new(),
            ratio: None,
            target: String::new(),
            met: None,
        }
    }

    fn baseline(mut self, what: &str, baseline: f64) -> Row {
        self.baseline = Some(baseline);
        self.baseline_is = what.into();
        self.ratio = (baseline != 0.0).then(|| self.value / baseline);
        self
    }

    fn target(mut self, target: &str, met: bool) -> Row {
        self.target = target.into();
        self.met = Some(met);
        self
    }
}

/// The export's plugin contenders (as `export` names them) and how the table describes them.
const PLUGIN_EXPORTS: [(&str, &str); 2] = [
    ("plugin", "plugin via host"),
    ("plugin_no_read_ahead", "plugin via host, read-ahead off"),
];

fn parent(args: &Args) -> Res<()> {
    for name in &args.only {
        if !SCENARIOS.contains(&name.as_str()) {
            return Err(format!(
                "unknown scenario {name:?}; known: {}",
                SCENARIOS.join(", ")
            ));
        }
    }
    let wanted = |name: &str| args.only.is_empty() || args.only.iter().any(|o| o == name);
    if args.only.iter().any(|o| o == "languages") && args.langs.is_empty() {
        return Err("the languages scenario needs --lang LANG=PATH,... \
                    (scripts/bench-languages builds and passes them)"
            .into());
    }
    let work = tempfile::Builder::new()
        .prefix("pleo-bench-")
        .tempdir()
        .map_err(|e| format!("temp dir: {e}"))?;
    let cache_dir = work.path().join("cache");
    // Compile the bench plugin once, so no scenario pays for (or keeps the memory of) Cranelift.
    run_child("warm-cache", &cache_dir)?;
    let mut rows = Vec::new();
    let mut details = BTreeMap::new();

    if wanted("export") {
        eprintln!("bench: export ({} entries)...", args.entries);
        let f = run_child("export", &cache_dir)?;
        let native = num(&f, "native_eps")?;
        for (contender, how) in PLUGIN_EXPORTS {
            let plugin = num(&f, &format!("{contender}_eps"))?;
            rows.push(
                Row::new(
                    &format!("export: {} entries, {how}", args.entries),
                    plugin,
                    "entries/s",
                )
                .baseline("native reqwest client", native)
                .target(">= 0.95x native", plugin >= 0.95 * native),
            );
        }
        for (contender, how) in PLUGIN_EXPORTS {
            rows.push(
                Row::new(
                    &format!("export: client CPU per page of 100, {how}"),
                    num(&f, &format!("{contender}_cpu_ms_per_page"))?,
                    "ms",
                )
                .baseline("native reqwest client", num(&f, "native_cpu_ms_per_page")?),
            );
        }
        rows.push(Row::new(
            "export: mock CPU per page of 100 (separate process)",
            num(&f, "native_mock_cpu_ms_per_page")?,
            "ms",
        ));
        details.insert("export", f);
    }
    if wanted("startup") {
        eprintln!("bench: start-up...");
        let f = startup(args, work.path())?;
        let (floor, warm, cold) = (
            num(&f, "version_ms")?,
            num(&f, "warm_ms")?,
            num(&f, "cold_ms")?,
        );
        rows.push(Row::new(
            "process floor: /bin/true",
            num(&f, "true_ms")?,
            "ms",
        ));
        rows.push(
            Row::new("start-up: pleo-host run, warm cache", warm, "ms")
                .baseline("pleo-host --version", floor)
                .target("< floor + 3 ms", warm - floor < 3.0),
        );
        rows.push(
            Row::new("start-up: pleo-host run, cold cache", cold, "ms")
                .baseline("warm cache", warm),
        );
        rows.push(
            Row::new(
                "start-up: spawn to plugin's first instruction",
                num(&f, "first_instruction_ms")?,
                "ms",
            )
            .baseline("pleo-host --version", floor),
        );
        details.insert("startup", f);
        let phases = startup_phases(&cache_dir)?;
        let sandbox_share = ["engine_ms", "load_from_cache_ms", "link_ms", "first_run_ms"]
            .iter()
            .map(|key| num(&phases, key))
            .sum::<Res<f64>>()?;
        rows.push(
            Row::new(
                "start-up: the sandbox's share (engine, cached load, link, first run)",
                sandbox_share,
                "ms",
            )
            .baseline("pleo-host run, warm cache", warm)
            .target("< 5 ms", sandbox_share < 5.0),
        );
        rows.push(
            Row::new(
                "start-up: seeding + starting the embedded mock",
                num(&phases, "mock_seed_and_start_ms")?,
                "ms",
            )
            .baseline("pleo-host run, warm cache", warm),
        );
        details.insert("startup_phases", phases);
    }
    if wanted("instantiate") {
        eprintln!("bench: instantiation...");
        let f = run_child("instantiate", &cache_dir)?;
        let session = num(&f, "session_run_us")?;
        for alloc in Alloc::BOTH {
            let per_run = num(&f, &format!("{}_run_us", alloc.name()))?;
            rows.push(
                Row::new(
                    &format!("instantiate + no-op run, InstancePre, {}", alloc.label()),
                    per_run,
                    "µs",
                )
                .baseline("Session::run: load, link, run", session)
                .target("< 100 µs", per_run < 100.0),
            );
        }
        details.insert("instantiate", f);
    }
    if wanted("hostcall") {
        eprintln!("bench: host calls...");
        let f = run_child("hostcall", &cache_dir)?;
        let empty = num(&f, "empty_loop_ns")?;
        for (name, key) in [
            ("host call: params::get", "params_ns"),
            ("host call: log at a disabled level", "log_ns"),
        ] {
            let with_call = num(&f, key)?;
            let per_call_us = (with_call - empty) / 1000.0;
            let mut row = Row::new(name, per_call_us, "µs")
                .baseline("loop iteration without the call", empty / 1000.0)
                .target("< 5 µs", per_call_us < 5.0);
            // The ratio of whole iterations says more than per-call cost / empty iteration.
            row.ratio = (empty > 0.0).then(|| with_call / empty);
            rows.push(row);
        }
        details.insert("hostcall", f);
    }
    if wanted("concurrency") {
        eprintln!(
            "bench: concurrency ({} runs, {} ms latency)...",
            args.concurrent_runs, args.latency_ms
        );
        let mut f = serde_json::Map::new();
        let native = run_child("concurrency-native", &cache_dir)?;
        let native_wall = num(&native, "wall_ms")?;
        rows.push(
            Row::new(
                &format!(
                    "concurrency: {} native walks x {} pages of {} ({} ok), one reqwest client",
                    args.concurrent_runs,
                    args.pages_per_run,
                    args.concurrency_page_size,
                    num(&native, "succeeded")?
                ),
                native_wall,
                "ms",
            )
            .baseline(
                "latency-bound ideal",
                args.latency_ms as f64 * args.pages_per_run as f64,
            ),
        );
        f.insert("native".into(), native);
        for alloc in Alloc::BOTH {
            let name = alloc.name();
            let c = run_child(&format!("concurrency-{name}"), &cache_dir)?;
            f.insert(name.into(), c.clone());
            let c = &c;
            let wall = num(c, "wall_ms")?;
            let ok = num(c, "succeeded")? as usize;
            let all_ok = ok == args.concurrent_runs;
            rows.push(
                Row::new(
                    &format!(
                        "concurrency: {} runs x {} pages of {} ({ok} ok), {}",
                        args.concurrent_runs,
                        args.pages_per_run,
                        args.concurrency_page_size,
                        alloc.label()
                    ),
                    wall,
                    "ms",
                )
                .baseline("native walks, same run", native_wall)
                .target(
                    "all ok, <= 1.5x native",
                    all_ok && wall <= 1.5 * native_wall,
                ),
            );
            rows.push(
                Row::new(
                    &format!("concurrency: peak RSS (VmHWM), {}", alloc.label()),
                    num(c, "peak_rss_kib")? / 1024.0,
                    "MiB",
                )
                .baseline("RSS before the runs", num(c, "rss_before_kib")? / 1024.0),
            );
        }
        details.insert("concurrency", Value::Object(f));
    }
    if wanted("languages") && !args.langs.is_empty() {
        eprintln!("bench: languages ({})...", args.langs.join(", "));
        let f = languages(args, work.path())?;
        let rust = f.get("rust");
        for (lang, figures) in f.as_object().into_iter().flatten() {
            let figure = |key: &str| num(figures, key);
            let vs_rust = |key: &str| rust.and_then(|r| r.get(key)).and_then(Value::as_f64);
            for (key, what, unit) in [
                ("size_kib", "component size", "KiB"),
                ("compile_ms", "first compile (empty cache)", "ms"),
                (
                    "load_ms",
                    "cached start (file index: no read, no hash; load compiled)",
                    "ms",
                ),
                ("instantiate_ms", "instantiate", "ms"),
                ("run_ms", "instantiate + run the report, in-process", "ms"),
                (
                    "process_ms",
                    "pleo-host run --json, whole process (cached)",
                    "ms",
                ),
            ] {
                let mut row = Row::new(&format!("{lang}: {what}"), figure(key)?, unit);
                if let Some(rust) = vs_rust(key).filter(|_| lang != "rust") {
                    row = row.baseline("rust", rust);
                }
                if key == "process_ms" && lang != "rust" {
                    let rust = vs_rust(key).unwrap_or(f64::NAN);
                    row = row.target("<= 1.5x rust", figure(key)? <= 1.5 * rust);
                }
                rows.push(row);
            }
        }
        details.insert("languages", f);
    }
    if wanted("memory") {
        eprintln!("bench: memory...");
        let f = memory(work.path())?;
        rows.push(
            Row::new(
                "memory: peak RSS, pleo-host run spend-report (warm)",
                num(&f, "quick_start_warm_kib")? / 1024.0,
                "MiB",
            )
            .baseline("pleo-host --version", num(&f, "version_kib")? / 1024.0),
        );
        rows.push(
            Row::new(
                "memory: peak RSS, pleo-host run spend-report (cold)",
                num(&f, "quick_start_cold_kib")? / 1024.0,
                "MiB",
            )
            .baseline("pleo-host --version", num(&f, "version_kib")? / 1024.0),
        );
        details.insert("memory", f);
    }

    print_table(&rows);
    let report = json!({
        "machine": machine(),
        "profile": "dev (dependencies opt-level 3, pleo-host opt-level 1)",
        "unix_time": SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0),
        "rows": rows,
        "details": details,
    });
    let path = json_path(args)?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    }
    let text = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
    std::fs::write(&path, text + "\n").map_err(|e| format!("writing {}: {e}", path.display()))?;
    println!("\nresults written to {}", path.display());
    Ok(())
}

/// `--json` (relative to where `scripts/bench` was started: cargo runs benchmarks in the crate's
/// folder), else `bench/results.json` in the cargo target folder this binary was built into.
fn json_path(args: &Args) -> Res<PathBuf> {
    if let Some(path) = &args.json {
        let base = std::env::var_os("PLEO_BENCH_CWD").map(PathBuf::from);
        return Ok(match base {
            Some(base) if path.is_relative() => base.join(path),
            _ => path.clone(),
        });
    }
    // <target>/<profile>/deps/sandbox-<hash>
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let target = exe
        .ancestors()
        .nth(3)
        .ok_or_else(|| format!("no target folder above {}", exe.display()))?;
    Ok(target.join("bench").join("results.json"))
}

/// Medians of the `phases` child over a few fresh processes (the first only fills the cache).
fn startup_phases(cache_dir: &Path) -> Res<Value> {
    let mut all: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    run_child("phases", cache_dir)?;
    for _ in 0..5 {
        let f = run_child("phases", cache_dir)?;
        for (name, value) in f.as_object().into_iter().flatten() {
            all.entry(name.clone())
                .or_default()
                .push(value.as_f64().unwrap_or(f64::NAN));
        }
    }
    let medians: serde_json::Map<String, Value> = all
        .into_iter()
        .map(|(name, values)| (name, json!(median(values))))
        .collect();
    eprintln!("bench: where a warm start goes (ms, median of 5 fresh processes): {medians:?}");
    Ok(Value::Object(medians))
}

fn num(figures: &Value, key: &str) -> Res<f64> {
    figures
        .get(key)
        .and_then(Value::as_f64)
        .ok_or_else(|| format!("figure {key} missing from {figures}"))
}

/// Runs this binary as `--child name` and returns the JSON object it printed last.
fn run_child(name: &str, cache_dir: &Path) -> Res<Value> {
    run_child_with(name, cache_dir, &[])
}

/// [`run_child`] with more arguments for the child.
fn run_child_with(name: &str, cache_dir: &Path, extra: &[&std::ffi::OsStr]) -> Res<Value> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let out = Command::new(exe)
        .args(std::env::args_os().skip(1))
        .args(extra)
        .arg("--child")
        .arg(name)
        .arg("--cache-dir")
        .arg(cache_dir)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("starting the {name} scenario: {e}"))?;
    if !out.status.success() {
        return Err(format!("the {name} scenario failed ({})", out.status));
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(last).map_err(|e| format!("{name} scenario printed {last:?}: {e}"))
}

fn print_table(rows: &[Row]) {
    let cells: Vec<[String; 6]> = rows
        .iter()
        .map(|r| {
            [
                r.figure.clone(),
                format!("{} {}", show(r.value, r.unit), r.unit),
                r.baseline
                    .map(|b| format!("{} {} ({})", show(b, r.unit), r.unit, r.baseline_is))
                    .unwrap_or_default(),
                r.ratio.map(|x| format!("{x:.2}x")).unwrap_or_default(),
                r.target.clone(),
                match r.met {
                    Some(true) => "yes".into(),
                    Some(false) => "NO".into(),
                    None => String::new(),
                },
            ]
        })
        .collect();
    let header = ["figure", "value", "baseline", "ratio", "target", "met?"].map(String::from);
    let mut widths = header.clone().map(|h| h.chars().count());
    for row in &cells {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |row: &[String; 6]| {
        let parts: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(cell, w)| format!("{cell}{}", " ".repeat(w - cell.chars().count())))
            .collect();
        println!("| {} |", parts.join(" | "));
    };
    println!();
    line(&header);
    line(&widths.map(|w| "-".repeat(w)));
    for row in &cells {
        line(row);
    }
}

fn show(value: f64, unit: &str) -> String {
    match unit {
        "entries/s" => format!("{value:.0}"),
        "µs" if value < 1.0 => format!("{value:.3}"),
        "µs" | "ms" if value < 10.0 => format!("{value:.2}"),
        _ if value >= 100.0 => format!("{value:.0}"),
        _ => format!("{value:.1}"),
    }
}

/// What the figures were measured on.
fn machine() -> Value {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_owned())
        });
    let mem_kib = proc_field("/proc/meminfo", "MemTotal:");
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .ok()
        .map(|s| s.trim().to_owned());
    json!({
        "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        "cpu": cpu,
        "memory_gib": mem_kib.map(|k| (k as f64 / (1 << 20) as f64 * 10.0).round() / 10.0),
        "kernel": kernel,
        "os": std::env::consts::OS,
        "arch": std::env::consts::ARCH,
    })
}

/// A `Name:   123 kB` field of a /proc file, in KiB.
fn proc_field(path: &str, field: &str) -> Option<u64> {
    let text = std::fs::read_to_string(path).ok()?;
    let line = text.lines().find(|l| l.starts_with(field))?;
    line[field.len()..].split_whitespace().next()?.parse().ok()
}

/// User + system CPU time this process has used so far.
fn cpu_time() -> Duration {
    // SAFETY: plain FFI call with a pointer to a live local; rusage is plain old data.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
        return Duration::ZERO;
    }
    let tv = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// The values at these fractions of the sorted list (nearest rank).
fn percentiles(mut values: Vec<f64>, at: &[f64]) -> Vec<f64> {
    values.sort_by(f64::total_cmp);
    at.iter()
        .filter_map(|p| {
            let rank = ((values.len() as f64 * p).ceil() as usize).saturating_sub(1);
            values.get(rank).copied()
        })
        .collect()
}

/// Lets VmHWM start again from the current RSS (Linux 4.0+: `echo 5 > /proc/self/clear_refs`),
/// so a second measurement in one process is not hidden by the first one's peak.
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

// -------------------------------------------------------------------------------------------
// Whole processes: start-up and memory.
// -------------------------------------------------------------------------------------------

/// The `pleo-host` binary cargo built alongside this benchmark.
fn host_bin() -> &'static str {
    env!("CARGO_BIN_EXE_pleo-host")
}

/// A test plugin built by the host's build script.
fn plugin_path(name: &str) -> PathBuf {
    Path::new(env!("PLEO_TEST_PLUGINS_DIR")).join(format!("{name}.wasm"))
}

/// How a child process ended and what it cost.
struct Exited {
    code: i32,
    wall: Duration,
    max_rss_kib: u64,
    stdout: String,
    /// Wall-clock time just before the spawn.
    spawned_at: SystemTime,
}

/// Runs `cmd` in a clean environment (plus `envs`) in `dir` and reaps it with `wait4`, whose
/// `ru_maxrss` is the peak RSS of that child alone. stderr goes to `dir/stderr.log`.
fn run_measured(mut cmd: Command, dir: &Path, envs: &[(&str, &Path)]) -> Res<Exited> {
    cmd.current_dir(dir).env_clear();
    for var in ["PATH", "HOME"] {
        if let Some(v) = std::env::var_os(var) {
            cmd.env(var, v);
        }
    }
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let log = std::fs::File::create(dir.join("stderr.log")).map_err(|e| e.to_string())?;
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(log);
    let spawned_at = SystemTime::now();
    let started = Instant::now();
    let mut child = cmd.spawn().map_err(|e| format!("spawning {cmd:?}: {e}"))?;
    let mut stdout = String::new();
    if let Some(mut pipe) = child.stdout.take() {
        pipe.read_to_string(&mut stdout)
            .map_err(|e| e.to_string())?;
    }
    let pid = libc::pid_t::try_from(child.id()).map_err(|e| e.to_string())?;
    let mut status: libc::c_int = 0;
    // SAFETY: plain FFI call with pointers to live locals; rusage is plain old data.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall = started.elapsed();
    if reaped != pid {
        return Err(format!("wait4: {}", std::io::Error::last_os_error()));
    }
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    Ok(Exited {
        code,
        wall,
        // Linux reports ru_maxrss in KiB.
        max_rss_kib: u64::try_from(usage.ru_maxrss).unwrap_or(0),
        stdout,
        spawned_at,
    })
}

fn expect_success(what: &str, exited: &Exited, dir: &Path) -> Res<()> {
    if exited.code == 0 {
        return Ok(());
    }
    let stderr = std::fs::read_to_string(dir.join("stderr.log")).unwrap_or_default();
    Err(format!(
        "{what} exited with {}:\n{}{stderr}",
        exited.code, exited.stdout
    ))
}

fn startup(args: &Args, work: &Path) -> Res<Value> {
    let dir = work.join("startup");
    let cache = dir.join("cache");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let plugin = plugin_path("bench");
    let config = format!(
        "cache_dir = \"cache\"\noutput_dir = \"out\"\n\n[plugins.bench]\npath = {}\nscopes = [\"{ENTRIES_SCOPE}\"]\n",
        toml_string(&plugin)?
    );
    std::fs::write(dir.join("pleo.toml"), config).map_err(|e| e.to_string())?;
    let run_cmd = |mode: &str| {
        let mut cmd = Command::new(host_bin());
        cmd.args(["-q", "run", "bench", "--config", "pleo.toml", "--param"])
            .arg(format!("mode={mode}"));
        cmd
    };
    let n = args.process_runs.max(1);
    let mut times: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    let mut first_instruction = Vec::new();

    // Cold: every run compiles the plugin (Cranelift) and fills the cache.
    for _ in 0..n.div_ceil(4) {
        let _ = std::fs::remove_dir_all(&cache);
        let exited = run_measured(run_cmd("noop"), &dir, &[])?;
        expect_success("pleo-host run (cold)", &exited, &dir)?;
        times.entry("cold_ms").or_default().push(ms(exited.wall));
    }
    // Interleaved, so drift of the machine hits all three alike.
    for _ in 0..n {
        let exited = run_measured(Command::new("true"), &dir, &[])?;
        times.entry("true_ms").or_default().push(ms(exited.wall));

        let exited = run_measured(
            {
                let mut cmd = Command::new(host_bin());
                cmd.arg("--version");
                cmd
            },
            &dir,
            &[],
        )?;
        expect_success("pleo-host --version", &exited, &dir)?;
        times.entry("version_ms").or_default().push(ms(exited.wall));

        let exited = run_measured(run_cmd("t0"), &dir, &[])?;
        expect_success("pleo-host run (warm)", &exited, &dir)?;
        times.entry("warm_ms").or_default().push(ms(exited.wall));
        let t0 = exited
            .stdout
            .split("t0_unix_ns=")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse::<u128>().ok())
            .ok_or_else(|| format!("no t0 in the output: {}", exited.stdout))?;
        let spawned = exited
            .spawned_at
            .duration_since(UNIX_EPOCH)
            .map_err(|e| e.to_string())?
            .as_nanos();
        first_instruction.push(t0.saturating_sub(spawned) as f64 / 1e6);
    }
    let mut figures = serde_json::Map::new();
    for (name, values) in times {
        figures.insert(format!("{name}_all"), json!(values));
        figures.insert(name.into(), json!(median(values)));
    }
    figures.insert(
        "first_instruction_ms".into(),
        json!(median(first_instruction.clone())),
    );
    figures.insert("first_instruction_ms_all".into(), json!(first_instruction));
    Ok(Value::Object(figures))
}

fn toml_string(path: &Path) -> Res<String> {
    let text = path
        .to_str()
        .ok_or_else(|| format!("{} is not UTF-8", path.display()))?;
    Ok(toml::Value::String(text.into()).to_string())
}

fn memory(work: &Path) -> Res<Value> {
    let dir = work.join("memory");
    let xdg = dir.join("xdg-cache");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let quick_start = || {
        let mut cmd = Command::new(host_bin());
        cmd.args(["run", "spend-report"]);
        cmd
    };
    let envs: [(&str, &Path); 1] = [("XDG_CACHE_HOME", &xdg)];
    // The first run compiles spend-report (Cranelift) into the empty cache.
    let cold = run_measured(quick_start(), &dir, &envs)?;
    expect_success("pleo-host run spend-report (cold)", &cold, &dir)?;
    let mut warm = Vec::new();
    for _ in 0..3 {
        let exited = run_measured(quick_start(), &dir, &envs)?;
        expect_success("pleo-host run spend-report", &exited, &dir)?;
        warm.push(exited.max_rss_kib as f64);
    }
    let mut version = Command::new(host_bin());
    version.arg("--version");
    let version = run_measured(version, &dir, &envs)?;
    Ok(json!({
        "quick_start_cold_kib": cold.max_rss_kib,
        "quick_start_warm_kib": median(warm.clone()),
        "quick_start_warm_kib_all": warm,
        "version_kib": version.max_rss_kib,
    }))
}

// -------------------------------------------------------------------------------------------
// Children: in-process scenarios.
// -------------------------------------------------------------------------------------------

fn child(name: &str, args: &Args) -> Res<()> {
    // The CLI's default log filter, so disabled levels cost what they cost in `pleo-host run`.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("warn,plugin=info"))
        .with_writer(std::io::stderr)
        .try_init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    if name == "mock" {
        return runtime.block_on(serve_mock(args));
    }
    let cache = args.cache_dir.clone().ok_or("--child needs --cache-dir")?;
    let figures = runtime.block_on(async {
        match name {
            "export" => export(args, &cache).await,
            "instantiate" => instantiate(args, &cache).await,
            "hostcall" => hostcall(args, &cache).await,
            "concurrency-on_demand" => concurrency(args, &cache, Alloc::OnDemand).await,
            "concurrency-pooled" => concurrency(args, &cache, Alloc::Pooled).await,
            "concurrency-native" => concurrency_native(args).await,
            "phases" => phases(&cache).await,
            "lang-compile" | "lang-run" => language_child(name, args, &cache).await,
            "warm-cache" => {
                let wasm = std::fs::read(plugin_path("bench")).map_err(|e| e.to_string())?;
                let runtime = Runtime::new(Some(&cache)).map_err(|e| e.to_string())?;
                runtime
                    .load("bench", &wasm, &Limits::default())
                    .map_err(|e| e.to_string())?;
                Ok(json!({}))
            }
            other => Err(format!("unknown child scenario {other}")),
        }
    })?;
    println!("{figures}");
    Ok(())
}

/// How the engine allocates instances: on demand (`Runtime::new`, what `pleo-host run` uses)
/// or from pools (`Runtime::with_instance_pool`, for processes that run many plugins).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Alloc {
    OnDemand,
    Pooled,
}

impl Alloc {
    const BOTH: [Alloc; 2] = [Alloc::OnDemand, Alloc::Pooled];
    /// Pool slots: room for the concurrency benchmark's runs.
    const POOL_RUNS: u32 = 256;

    fn runtime(self, cache: &Path) -> Res<Runtime> {
        match self {
            Alloc::OnDemand => Runtime::new(Some(cache)),
            Alloc::Pooled => Runtime::with_instance_pool(Some(cache), Alloc::POOL_RUNS),
        }
        .map_err(|e| e.to_string())
    }

    fn name(self) -> &'static str {
        match self {
            Alloc::OnDemand => "on_demand",
            Alloc::Pooled => "pooled",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Alloc::OnDemand => "on-demand instances, as pleo-host run",
            Alloc::Pooled => "instance pool",
        }
    }
}

/// The host's phases as `pleo-host run` goes through them, set up once: a session on the
/// mock (with the runtime of the chosen allocation), the `bench` plugin admitted and prepared
/// (`InstancePre`). Each [`Host::run`] is then the run phase alone: new capabilities, a store,
/// instantiate, call `run`.
struct Host {
    session: Session,
    admitted: Admitted,
    pre: Prepared,
    sandbox: Sandbox,
    _work: tempfile::TempDir,
}

impl Host {
    async fn new(base_url: &str, cache: &Path, alloc: Alloc) -> Res<Host> {
        Host::with_read_ahead(base_url, cache, alloc, true).await
    }

    async fn with_read_ahead(
        base_url: &str,
        cache: &Path,
        alloc: Alloc,
        read_ahead: bool,
    ) -> Res<Host> {
        Host::for_plugin(base_url, cache, alloc, read_ahead, &plugin_path("bench")).await
    }

    /// The host set up for the component at `wasm` (a plugin of the `plugin` world that reads
    /// accounting entries).
    async fn for_plugin(
        base_url: &str,
        cache: &Path,
        alloc: Alloc,
        read_ahead: bool,
        wasm: &Path,
    ) -> Res<Host> {
        let work = tempfile::Builder::new()
            .prefix("pleo-bench-host-")
            .tempdir()
            .map_err(|e| e.to_string())?;
        let config = Config {
            base_url: Some(base_url.to_owned()),
            cache_dir: Some(cache.to_owned()),
            state_dir: Some(work.path().join("state")),
            client: ClientOptions {
                read_ahead,
                ..unlimited()
            },
            limits: Limits {
                api_calls: u64::MAX,
                ..Limits::default()
            },
            ..Config::default()
        };
        let session = Session::with_runtime(config, alloc.runtime(cache)?)
            .await
            .map_err(|e| e.message)?;
        let spec = wasm.to_str().ok_or("plugin path is not UTF-8")?;
        let loaded = Candidate::resolve(session.config(), spec)
            .and_then(|candidate| candidate.load(session.runtime()))
            .map_err(|e| e.message)?;
        let admitted = session.admit(loaded).map_err(|e| e.message)?;
        let pre = session.prepare(&admitted).map_err(|e| e.message)?;
        let out = work.path().join("out");
        std::fs::create_dir_all(&out).map_err(|e| e.to_string())?;
        let sandbox = Sandbox {
            out_dir: out,
            in_dir: None,
            limits: admitted.loaded.config.limits,
            cancel: None,
        };
        Ok(Host {
            session,
            admitted,
            pre,
            sandbox,
            _work: work,
        })
    }

    /// One run of the plugin with these parameters; its summary, or why there is none.
    async fn run(&self, params: &[(&str, String)]) -> Res<String> {
        self.run_timed(params).await.map(|(summary, _, _)| summary)
    }

    /// [`Host::run`], with the time to instantiate and the time of the whole run.
    async fn run_timed(&self, params: &[(&str, String)]) -> Res<(String, Duration, Duration)> {
        let grant = self.session.grant(
            self.admitted.loaded.name(),
            self.admitted.scopes.clone(),
            params
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect(),
            self.sandbox.limits,
        );
        let caps = self
            .session
            .caps(grant, Arc::new(|_: &capabilities::Progress| {}), None);
        let outcome = self
            .session
            .runtime()
            .run(&self.pre, caps, &self.sandbox)
            .await;
        let instantiate = outcome.instantiate.unwrap_or_default();
        match outcome.result {
            Ok(Ok(summary)) => Ok((summary, instantiate, outcome.elapsed)),
            Ok(Err(cause)) => Err(format!("the plugin failed: {cause}")),
            Err(e) => Err(format!("the run failed: {e}")),
        }
    }
}

/// A mock Pleo API in a process of its own (this binary, `--child mock`), so that the CPU time
/// of a scenario's process is the host's (or the native client's) alone. It stops when its
/// stdin closes, that is when this is dropped.
struct MockProcess {
    child: std::process::Child,
    base_url: String,
    /// Clock ticks per second of /proc/PID/stat.
    ticks: f64,
}

impl MockProcess {
    fn start(entries: usize, latency_ms: u64) -> Res<MockProcess> {
        use std::io::BufRead as _;
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        let mut child = Command::new(exe)
            .args(["--child", "mock", "--mock-entries"])
            .arg(entries.to_string())
            .arg("--latency-ms")
            .arg(latency_ms.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("starting the mock process: {e}"))?;
        let mut line = String::new();
        if let Some(stdout) = child.stdout.take() {
            std::io::BufReader::new(stdout)
                .read_line(&mut line)
                .map_err(|e| e.to_string())?;
        }
        let base_url = line.trim().to_owned();
        if !base_url.starts_with("http://") {
            return Err(format!("the mock process said {line:?}"));
        }
        // SAFETY: sysconf has no preconditions.
        let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
        Ok(MockProcess {
            child,
            base_url,
            ticks,
        })
    }

    /// User + system CPU time the mock process has used so far (in clock ticks, often 10 ms).
    fn cpu(&self) -> Duration {
        let stat =
            std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap_or_default();
        // Fields after the command name (which is in parentheses): state is field 3; utime
        // and stime are fields 14 and 15.
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .map(|(_, rest)| rest.split_whitespace().collect())
            .unwrap_or_default();
        let tick = |i: usize| {
            fields
                .get(i)
                .and_then(|f| f.parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        Duration::from_secs_f64((tick(11) + tick(12)) / self.ticks)
    }
}

impl Drop for MockProcess {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

/// `--child mock`: serves the mock until stdin closes; prints its base URL first.
async fn serve_mock(args: &Args) -> Res<()> {
    let latency = (args.latency_ms > 0).then(|| Duration::from_millis(args.latency_ms));
    let mock = start_mock(MockConfig {
        entries: args.mock_entries,
        latency,
        ..MockConfig::default()
    })
    .await?;
    println!("{}", mock.base_url());
    let _ =
        tokio::task::spawn_blocking(|| std::io::copy(&mut std::io::stdin(), &mut std::io::sink()))
            .await;
    mock.shutdown().await;
    Ok(())
}

/// The client's rate limiter (by default Pleo's 600 requests a minute) is a policy, not a cost
/// of the sandbox: lifted, so the host sends as fast as the native client does.
fn unlimited() -> ClientOptions {
    ClientOptions {
        rate_limit: RateLimit {
            per_minute: u32::MAX,
            burst: u32::MAX,
        },
        ..ClientOptions::default()
    }
}

async fn start_mock(cfg: MockConfig) -> Res<MockServer> {
    let bind = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    MockServer::start(bind, cfg)
        .await
        .map_err(|e| format!("starting the mock: {e}"))
}

fn param(name: &'static str, value: impl ToString) -> (&'static str, String) {
    (name, value.to_string())
}

/// Export (1.): the plugin pages through every entry via the host (with the host's read-ahead,
/// as `pleo-host run` does, and without it); so does a plain client, the baseline.
async fn export(args: &Args, cache: &Path) -> Res<Value> {
    let mock = MockProcess::start(args.entries, 0)?;
    let host = Host::new(&mock.base_url, cache, Alloc::OnDemand).await?;
    let host_without = Host::with_read_ahead(&mock.base_url, cache, Alloc::OnDemand, false).await?;
    let native = NativeClient::new(&mock.base_url, host.session.company_id(), MOCK_API_KEY)?;
    let plugin_params = [param("mode", "pages"), param("limit", PAGE_SIZE)];
    let warm_up = [
        param("mode", "pages"),
        param("limit", PAGE_SIZE),
        param("max_pages", 5),
    ];

    // Warm-up: connections, caches, lazy initialisation on every side.
    native.export(PAGE_SIZE, Some(5)).await?;
    host.run(&warm_up).await?;
    host_without.run(&warm_up).await?;

    const CONTENDERS: [&str; 3] = ["native", "plugin", "plugin_no_read_ahead"];
    let mut eps: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    let mut cpu: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    let mut mock_cpu: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    let mut counts = Vec::new();
    for round in 0..args.export_rounds.max(1) {
        // Rotate which goes first, so none always runs on a warmer machine.
        for turn in 0..CONTENDERS.len() {
            let contender = CONTENDERS[(round + turn) % CONTENDERS.len()];
            let (started, cpu_before, mock_before) = (Instant::now(), cpu_time(), mock.cpu());
            let entries = match contender {
                "native" => native.export(PAGE_SIZE, None).await?,
                "plugin" => entries_seen(&host.run(&plugin_params).await?)?,
                _ => entries_seen(&host_without.run(&plugin_params).await?)?,
            };
            let pages = entries.div_ceil(u64::from(PAGE_SIZE)).max(1) as f64;
            eps.entry(contender)
                .or_default()
                .push(entries as f64 / started.elapsed().as_secs_f64());
            // CPU of this process (the host, or the native client) and of the mock, per page.
            cpu.entry(contender)
                .or_default()
                .push(ms(cpu_time() - cpu_before) / pages);
            mock_cpu
                .entry(contender)
                .or_default()
                .push(ms(mock.cpu() - mock_before) / pages);
            counts.push(entries);
        }
    }
    if counts.windows(2).any(|w| w[0] != w[1]) {
        return Err(format!(
            "the exports saw different entry counts: {counts:?}"
        ));
    }
    let mut figures = serde_json::Map::new();
    figures.insert("entries_seen".into(), json!(counts[0]));
    for contender in CONTENDERS {
        for (name, values) in [
            ("eps", &eps),
            ("cpu_ms_per_page", &cpu),
            ("mock_cpu_ms_per_page", &mock_cpu),
        ] {
            let all = values[contender].clone();
            figures.insert(format!("{contender}_{name}"), json!(median(all.clone())));
            figures.insert(format!("{contender}_{name}_all"), json!(all));
        }
    }
    Ok(Value::Object(figures))
}

/// The entry count of the `bench` plugin's `pages` summary (`<entries> entries in ...`).
fn entries_seen(summary: &str) -> Res<u64> {
    summary
        .split_whitespace()
        .next()
        .and_then(|n| n.parse::<u64>().ok())
        .ok_or_else(|| format!("unexpected summary {summary:?}"))
}

/// Instantiation (3.): `Runtime::run` on a prepared `InstancePre`, a no-op plugin, in a loop,
/// with each allocation strategy. Baseline: `Session::run`, which also loads, compiles (cache
/// hit) and links every time.
async fn instantiate(args: &Args, cache: &Path) -> Res<Value> {
    let mock = start_mock(MockConfig {
        entries: 100,
        ..MockConfig::default()
    })
    .await?;
    let noop = [param("mode", "noop")];
    let n = args.instantiations.max(10);
    let mut figures = serde_json::Map::new();
    for alloc in Alloc::BOTH {
        let host = Host::new(&mock.base_url(), cache, alloc).await?;
        for _ in 0..n / 10 {
            host.run(&noop).await?;
        }
        // Five batches; the median batch is reported (robust against a stray hiccup).
        let mut per_run = Vec::new();
        for _ in 0..5 {
            let batch = n.div_ceil(5);
            let started = Instant::now();
            for _ in 0..batch {
                host.run(&noop).await?;
            }
            per_run.push(started.elapsed().as_secs_f64() * 1e6 / batch as f64);
        }
        let name = alloc.name();
        figures.insert(format!("{name}_run_us"), json!(median(per_run.clone())));
        figures.insert(format!("{name}_run_us_batches"), json!(per_run));
    }

    let out = tempfile::Builder::new()
        .prefix("pleo-bench-session-")
        .tempdir()
        .map_err(|e| e.to_string())?;
    let config = Config {
        cache_dir: Some(cache.to_owned()),
        output_dir: Some(out.path().to_owned()),
        ..Config::default()
    };
    let session = Session::open(config).await.map_err(|e| e.to_string())?;
    let spec = plugin_path("bench");
    let spec = spec.to_str().ok_or("plugin path is not UTF-8")?;
    let session_run = || {
        session.run(
            spec,
            RunOptions {
                params: [("mode".to_owned(), "noop".to_owned())].into(),
                ..RunOptions::default()
            },
        )
    };
    let session_runs = (n / 10).max(20);
    for _ in 0..session_runs / 10 {
        session_run().await.map_err(|e| e.to_string())?;
    }
    let started = Instant::now();
    for _ in 0..session_runs {
        session_run().await.map_err(|e| e.to_string())?;
    }
    let session_us = started.elapsed().as_secs_f64() * 1e6 / session_runs as f64;
    figures.insert("session_run_us".into(), json!(session_us));
    figures.insert("session_runs".into(), json!(session_runs));
    Ok(Value::Object(figures))
}

/// Host calls (4.): the plugin times `n` iterations of a loop with and without the call.
async fn hostcall(args: &Args, cache: &Path) -> Res<Value> {
    let mock = start_mock(MockConfig {
        entries: 100,
        ..MockConfig::default()
    })
    .await?;
    let host = Host::new(&mock.base_url(), cache, Alloc::OnDemand).await?;
    let n = args.host_calls.max(1);
    let mut figures = serde_json::Map::new();
    for (which, key) in [
        ("none", "empty_loop_ns"),
        ("params", "params_ns"),
        ("log", "log_ns"),
    ] {
        let params = [param("mode", "calls"), param("fn", which), param("n", n)];
        host.run(&params).await?; // warm-up
        let mut per_iteration = Vec::new();
        for _ in 0..5 {
            let summary = host.run(&params).await?;
            let ns: f64 = summary
                .strip_prefix("ns=")
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| format!("unexpected summary {summary:?}"))?;
            per_iteration.push(ns / n as f64);
        }
        figures.insert(format!("{key}_all"), json!(per_iteration));
        figures.insert(key.into(), json!(median(per_iteration)));
    }
    figures.insert("iterations".into(), json!(n));
    Ok(Value::Object(figures))
}

/// Concurrency (5.): many runs at once, each fetching a few pages from a slow mock.
async fn concurrency(args: &Args, cache: &Path, alloc: Alloc) -> Res<Value> {
    let latency = Duration::from_millis(args.latency_ms);
    let mock = MockProcess::start(args.concurrency_entries, args.latency_ms)?;
    let host = Arc::new(Host::new(&mock.base_url, cache, alloc).await?);
    let params = Arc::new([
        param("mode", "pages"),
        param("limit", args.concurrency_page_size),
        param("max_pages", args.pages_per_run),
    ]);
    // Warm-up, and the answer every run must give ("<entries> entries in <pages> pages").
    let counts = |summary: &str| summary.split(" (").next().unwrap_or_default().to_owned();
    let expected = counts(&host.run(params.as_ref()).await?);
    let rss_before = proc_field("/proc/self/status", "VmRSS:").unwrap_or(0);
    reset_peak_rss();

    let (started, cpu_before, mock_before) = (Instant::now(), cpu_time(), mock.cpu());
    let tasks: Vec<_> = (0..args.concurrent_runs)
        .map(|_| {
            let (host, params) = (host.clone(), params.clone());
            tokio::spawn(async move {
                let result = host.run(params.as_ref()).await;
                (result, started.elapsed())
            })
        })
        .collect();
    let mut succeeded = 0usize;
    let mut failures = BTreeMap::<String, usize>::new();
    let mut done_at = Vec::new();
    for task in tasks {
        let result = task.await.map(|(result, at)| {
            done_at.push(ms(at));
            result
        });
        match result {
            Ok(Ok(summary)) if counts(&summary) == expected => succeeded += 1,
            Ok(Ok(other)) => *failures.entry(format!("answer {other:?}")).or_default() += 1,
            Ok(Err(e)) => *failures.entry(e).or_default() += 1,
            Err(e) => *failures.entry(e.to_string()).or_default() += 1,
        }
    }
    let (wall, cpu, mock_cpu) = (
        started.elapsed(),
        cpu_time() - cpu_before,
        mock.cpu() - mock_before,
    );
    let peak = proc_field("/proc/self/status", "VmHWM:").unwrap_or(0);
    Ok(json!({
        "runs": args.concurrent_runs,
        "succeeded": succeeded,
        "failures": failures,
        "wall_ms": ms(wall),
        "host_cpu_ms": ms(cpu),
        "mock_cpu_ms": ms(mock_cpu),
        "finished_ms_p10_p50_p90": percentiles(done_at, &[0.1, 0.5, 0.9]),
        "ideal_ms": ms(latency) * args.pages_per_run as f64,
        "rss_before_kib": rss_before,
        "peak_rss_kib": peak,
    }))
}

/// The baseline of concurrency (5.): the same walks from a plain program, all at once, with
/// one reqwest client, against the same kind of mock.
async fn concurrency_native(args: &Args) -> Res<Value> {
    let mock = MockProcess::start(args.concurrency_entries, args.latency_ms)?;
    let key = ApiKey::new(MOCK_API_KEY).map_err(|e| e.to_string())?;
    let company_id = PleoClient::with_options(&mock.base_url, &key, unlimited())
        .map_err(|e| e.to_string())?
        .introspect()
        .await
        .map_err(|e| e.to_string())?
        .company_id
        .ok_or("the mock's key has no company")?;
    let native = Arc::new(NativeClient::new(
        &mock.base_url,
        &company_id,
        MOCK_API_KEY,
    )?);
    let (limit, pages) = (args.concurrency_page_size, args.pages_per_run);
    let expected = native.export(limit, Some(pages)).await?;
    let (started, cpu_before) = (Instant::now(), cpu_time());
    let tasks: Vec<_> = (0..args.concurrent_runs)
        .map(|_| {
            let native = native.clone();
            tokio::spawn(async move {
                let result = native.export(limit, Some(pages)).await;
                (result, started.elapsed())
            })
        })
        .collect();
    let mut succeeded = 0usize;
    let mut done_at = Vec::new();
    for task in tasks {
        if let Ok((result, at)) = task.await {
            done_at.push(ms(at));
            if result.is_ok_and(|entries| entries == expected) {
                succeeded += 1;
            }
        }
    }
    Ok(json!({
        "runs": args.concurrent_runs,
        "succeeded": succeeded,
        "wall_ms": ms(started.elapsed()),
        "cpu_ms": ms(cpu_time() - cpu_before),
        "finished_ms_p10_p50_p90": percentiles(done_at, &[0.1, 0.5, 0.9]),
    }))
}

/// Where a warm start goes, measured once in a fresh process (this child), phase by phase as
/// `pleo-host run` takes them: engine, session (key, audit log, embedded mock, introspection),
/// finding the plugin and reading its declaration, loading it from the compile cache,
/// admission, linking, and the run itself.
async fn phases(cache: &Path) -> Res<Value> {
    let mut phases = serde_json::Map::new();
    let mut step = |name: &str, started: Instant| {
        phases.insert(name.into(), json!(ms(started.elapsed())));
    };
    // The embedded mock alone (seed and start), for its share of the session's opening.
    let t = Instant::now();
    let mock = start_mock(MockConfig::default()).await?;
    step("mock_seed_and_start_ms", t);
    drop(mock);
    let work = tempfile::Builder::new()
        .prefix("pleo-bench-phases-")
        .tempdir()
        .map_err(|e| e.to_string())?;
    let config = Config {
        cache_dir: Some(cache.to_owned()),
        state_dir: Some(work.path().join("state")),
        ..Config::default()
    };
    let t = Instant::now();
    let runtime = Runtime::new(Some(cache)).map_err(|e| e.to_string())?;
    step("engine_ms", t);
    let t = Instant::now();
    let session = Session::with_runtime(config, runtime)
        .await
        .map_err(|e| e.message)?;
    step("session_open_ms", t);
    let t = Instant::now();
    let spec = plugin_path("bench");
    let spec = spec.to_str().ok_or("plugin path is not UTF-8")?;
    let candidate = Candidate::resolve(session.config(), spec).map_err(|e| e.message)?;
    let params = candidate
        .check_params(
            &BTreeMap::new(),
            &[("mode".to_owned(), "noop".to_owned())].into(),
        )
        .map_err(|e| e.message)?;
    step("resolve_ms", t);
    let t = Instant::now();
    let loaded = candidate.load(session.runtime()).map_err(|e| e.message)?;
    step("load_from_cache_ms", t);
    let t = Instant::now();
    let admitted = session.admit(loaded).map_err(|e| e.message)?;
    step("admit_ms", t);
    let t = Instant::now();
    let pre = session.prepare(&admitted).map_err(|e| e.message)?;
    step("link_ms", t);
    let out = work.path().join("out");
    std::fs::create_dir_all(&out).map_err(|e| e.to_string())?;
    let host = Host {
        sandbox: Sandbox {
            out_dir: out,
            in_dir: None,
            limits: admitted.loaded.config.limits,
            cancel: None,
        },
        session,
        admitted,
        pre,
        _work: work,
    };
    let t = Instant::now();
    let noop: Vec<(&str, String)> = params
        .iter()
        .map(|(k, v)| (k.as_str(), v.clone()))
        .collect();
    host.run(&noop).await?;
    step("first_run_ms", t);
    let t = Instant::now();
    drop(host);
    step("session_close_ms", t);
    let t = Instant::now();
    let pooled = Alloc::Pooled.runtime(cache)?;
    step("engine_with_instance_pool_ms", t);
    let t = Instant::now();
    drop(pooled);
    step("engine_with_instance_pool_drop_ms", t);
    Ok(Value::Object(phases))
}

// -------------------------------------------------------------------------------------------
// Languages: the same report (the top-spenders examples) in Rust, Python and JavaScript.
// -------------------------------------------------------------------------------------------

/// The report's parameters, as `tests/e2e/authoring.rs` runs it.
const LANG_PARAMS: [(&str, &str); 3] = [("from", "2026-03-01"), ("to", "2026-08-31"), ("top", "7")];
/// The day the mock's 12 months of data end on, so every run sees the same data.
const LANG_ANCHOR: &str = "2026-10-31";

/// Per language: component size; first compile, cached start, instantiation and an
/// in-process run of the report, each in a fresh process (median of `--lang-runs`, at least
/// 3); whole `pleo-host run` processes, interleaved across languages so that the machine's
/// drift hits all alike (median of `--lang-process-runs`). All values are kept in `*_all`.
fn languages(args: &Args, work: &Path) -> Res<Value> {
    let n = args.lang_runs.max(3);
    let mut all = serde_json::Map::new();
    let mut process_dirs = Vec::new();
    for spec in &args.langs {
        let (lang, path) = spec
            .split_once('=')
            .ok_or_else(|| format!("--lang {spec}: expected LANG=PATH"))?;
        let wasm = std::fs::canonicalize(path).map_err(|e| format!("{path}: {e}"))?;
        let size = std::fs::metadata(&wasm).map_err(|e| e.to_string())?.len();
        let dir = work.join(format!("lang-{lang}"));
        let cache = dir.join("cache");
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let wasm_arg = [std::ffi::OsStr::new("--lang-wasm"), wasm.as_os_str()];
        let mut times: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
        for _ in 0..n {
            let _ = std::fs::remove_dir_all(&cache);
            let f = run_child_with("lang-compile", &cache, &wasm_arg)?;
            times
                .entry("compile_ms")
                .or_default()
                .push(num(&f, "compile_ms")?);
        }
        for _ in 0..n {
            let f = run_child_with("lang-run", &cache, &wasm_arg)?;
            for key in ["load_ms", "instantiate_ms", "run_ms"] {
                times.entry(key).or_default().push(num(&f, key)?);
            }
        }
        let config = format!(
            "cache_dir = \"cache\"\noutput_dir = \"out\"\n\n[plugins.top-spenders]\npath = {}\n\
             scopes = [\"{ENTRIES_SCOPE}\"]\n\n[mock]\nanchor = \"{LANG_ANCHOR}\"\n",
            toml_string(&wasm)?
        );
        std::fs::write(dir.join("pleo.toml"), config).map_err(|e| e.to_string())?;
        process_dirs.push((lang.to_owned(), dir));
        let mut figures = serde_json::Map::new();
        figures.insert("size_bytes".into(), json!(size));
        figures.insert("size_kib".into(), json!(size as f64 / 1024.0));
        for (name, values) in times {
            figures.insert(format!("{name}_all"), json!(values));
            figures.insert(name.into(), json!(median(values)));
        }
        all.insert(lang.to_owned(), Value::Object(figures));
    }
    let mut process: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for _ in 0..args.lang_process_runs.max(3) {
        for (lang, dir) in &process_dirs {
            let mut cmd = Command::new(host_bin());
            cmd.args([
                "-q",
                "run",
                "top-spenders",
                "--config",
                "pleo.toml",
                "--json",
            ]);
            for (name, value) in LANG_PARAMS {
                cmd.arg("--param").arg(format!("{name}={value}"));
            }
            let exited = run_measured(cmd, dir, &[])?;
            expect_success(&format!("pleo-host run ({lang})"), &exited, dir)?;
            process.entry(lang).or_default().push(ms(exited.wall));
        }
    }
    for (lang, values) in process {
        if let Some(Value::Object(figures)) = all.get_mut(lang) {
            figures.insert("process_ms_all".into(), json!(values));
            figures.insert("process_ms".into(), json!(median(values)));
        }
    }
    Ok(Value::Object(all))
}

/// A `languages` child: `lang-compile` compiles the component into an empty cache;
/// `lang-run` loads it from the warm cache, then runs the report once against a mock in this
/// process and reports the instantiation and the whole run.
async fn language_child(name: &str, args: &Args, cache: &Path) -> Res<Value> {
    let path = args.lang_wasm.as_deref().ok_or("--lang-wasm missing")?;
    let started = Instant::now();
    let runtime = Runtime::new(Some(cache)).map_err(|e| e.to_string())?;
    // As `run` finds and loads a plugin file: from the file index once it knows the file.
    let config = Config {
        cache_dir: Some(cache.to_owned()),
        ..Default::default()
    };
    let spec = path.to_str().ok_or("--lang-wasm: not UTF-8")?;
    Candidate::resolve(&config, spec)
        .and_then(|candidate| candidate.load(&runtime))
        .map_err(|e| e.message)?;
    let loaded = ms(started.elapsed());
    if name == "lang-compile" {
        return Ok(json!({ "compile_ms": loaded }));
    }
    drop(runtime);
    let anchor = LANG_ANCHOR.parse().map_err(|e| format!("{e}"))?;
    let mock = start_mock(MockConfig {
        anchor,
        ..MockConfig::default()
    })
    .await?;
    let host = Host::for_plugin(&mock.base_url(), cache, Alloc::OnDemand, true, path).await?;
    let params: Vec<(&str, String)> = LANG_PARAMS
        .iter()
        .map(|(name, value)| (*name, (*value).to_owned()))
        .collect();
    let (summary, instantiate, run) = host.run_timed(&params).await?;
    if !summary.starts_with("top ") {
        return Err(format!("unexpected summary: {summary}"));
    }
    Ok(json!({ "load_ms": loaded, "instantiate_ms": ms(instantiate), "run_ms": ms(run) }))
}
