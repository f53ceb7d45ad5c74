//! The `pleo-host` command line: parses arguments, sets up logging and progress, prints the
//! summary or the failure, and returns the exit code. The only module that writes to the
//! terminal on purpose.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

use crate::capabilities::{Progress, ProgressSink};
use crate::config::Config;
use crate::error::{ExitCode, Failure};
use crate::session::{RunOptions, RunReport, Session};
use crate::terminal;

#[derive(Parser)]
#[command(
    name = "pleo-host",
    version,
    about = "Run sandboxed WebAssembly plugins against the Pleo API; the key stays with the host."
)]
struct Cli {
    /// More log output (-v: debug, -vv: trace).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    /// Only errors.
    #[arg(short, long, global = true)]
    quiet: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a plugin: a first-party name (spend-report), a name from pleo.toml, or a .wasm path.
    Run {
        plugin: String,
        /// Config file (default: ./pleo.toml if present, else the mock with built-in defaults).
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// Output folder, preopened as /out for the plugin (default: out/<plugin>).
        #[arg(long)]
        out: Option<PathBuf>,
        /// A parameter for the plugin, `name=value`; repeatable; overrides pleo.toml.
        #[arg(long = "param", short = 'p', value_parser = parse_param)]
        params: Vec<(String, String)>,
        /// Show the parameters the plugin declares (name, type, default, description), and
        /// run nothing.
        #[arg(long)]
        help_params: bool,
        /// Print one JSON object on stdout instead of the report: result, exit code, summary
        /// or error, files, API calls, retries, duration.
        #[arg(long)]
        json: bool,
        /// Input folder, mounted read-only as /in (overrides [plugins.NAME] input).
        #[arg(long)]
        input: Option<PathBuf>,
        /// Plan only: reads go to Pleo, no write is sent; the writes are saved to FILE for
        /// `pleo-host apply`.
        #[arg(long, value_name = "FILE")]
        plan: Option<PathBuf>,
        /// After SIGTERM or Ctrl-C, how long the plugin may go on before it is interrupted
        /// (default: `[daemon] grace_seconds` of pleo.toml, else 30); a second signal
        /// interrupts at once.
        #[arg(long, value_name = "SECONDS", value_parser = parse_seconds)]
        grace_seconds: Option<Duration>,
    },
    /// Send the writes of a plan made with `run --plan`, exactly and once (resumable).
    Apply {
        /// The plan file.
        file: PathBuf,
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// Do not ask for confirmation (needed without a terminal).
        #[arg(long)]
        yes: bool,
        /// Machine-readable report.
        #[arg(long)]
        json: bool,
        /// Apply even if objects changed in Pleo since the plan was made.
        #[arg(long)]
        allow_stale: bool,
        /// Only show how far the plan was applied.
        #[arg(long)]
        status: bool,
    },
    /// Review and approve plugins.
    Plugin {
        #[command(subcommand)]
        action: PluginCommand,
    },
    /// Create a plugin project (Rust, Python or JavaScript) in a new folder.
    New {
        /// The plugin's name (lower-case letters, digits, `-`).
        name: String,
        #[arg(long, value_enum, default_value_t = crate::scaffold::Lang::Rust)]
        lang: crate::scaffold::Lang,
        /// Pleo scopes to grant it on the mock, comma-separated (e.g. users:read,vendors:write).
        #[arg(long, value_delimiter = ',')]
        scopes: Vec<String>,
        /// The folder to create (default: ./NAME).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Build the plugin project in DIR (default: the current folder) into DIR/dist/NAME.wasm.
    Build {
        #[arg(default_value = ".")]
        dir: PathBuf,
    },
    /// Run the [[schedules]] of pleo.toml until SIGTERM or SIGINT (SIGHUP: reload).
    Daemon {
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Print each schedule's next fire times, to check a cron line.
    Schedules {
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// Fire times to print per schedule.
        #[arg(long, short = 'n', default_value_t = 5)]
        count: usize,
    },
    /// The run history (scheduled runs and runs by hand), newest first.
    Runs {
        #[command(subcommand)]
        action: Option<RunsCommand>,
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// Only this schedule's runs.
        #[arg(long)]
        schedule: Option<String>,
        /// Runs to show.
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Serve the mock Pleo API on 127.0.0.1 for exploring it with curl.
    #[cfg(feature = "mock")]
    MockApi {
        #[arg(long, default_value_t = 8484)]
        port: u16,
        /// Seed of the generated company data.
        #[arg(long)]
        seed: Option<u64>,
        /// Accept the key in this environment variable instead of the mock's own.
        #[arg(long, value_name = "VAR")]
        key_env: Option<String>,
        /// Spell scopes as Pleo's `staging` (default) or `production` does (`tag-groups:read`
        /// or `tag-group:read`).
        #[arg(long, value_name = "ENV")]
        scope_spelling: Option<crate::mock::scopes::Spelling>,
        #[command(flatten)]
        faults: MockFaultArgs,
    },
}

#[derive(Subcommand)]
enum RunsCommand {
    /// Everything recorded about one run (its id, or the start of it).
    Show {
        id: String,
        #[arg(long, short)]
        config: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum PluginCommand {
    /// Show what a plugin asks for (scopes, WASI, host services) without running it.
    Inspect {
        plugin: String,
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
        /// Do not contact Pleo (or start the mock) to check the key's scopes.
        #[arg(long)]
        offline: bool,
    },
    /// List first-party and configured plugins: version, SHA-256, scopes, approval.
    List {
        #[arg(long, short)]
        config: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Record the plugin's SHA-256 and the scopes it needs in pleo.lock, next to pleo.toml.
    Approve {
        plugin: String,
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
}

fn parse_param(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_owned(), v.to_owned())),
        _ => Err(format!("`{s}` is not name=value")),
    }
}

fn parse_seconds(s: &str) -> Result<Duration, String> {
    let value: f64 = s
        .parse()
        .map_err(|_| format!("`{s}` is not a number of seconds"))?;
    crate::limits::Seconds::try_from(value).map(|seconds| seconds.0)
}

/// Entry point of the binary; returns the process exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::Usage as i32
            } else {
                0
            };
        }
    };
    // The daemon's own lines (runs started and ended, reloads) are its log: shown by default.
    let daemon = matches!(cli.command, Command::Daemon { .. });
    init_logging(cli.verbose, cli.quiet, daemon);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            return report_failure(&Failure::new(
                ExitCode::Internal,
                format!("cannot start tokio: {e}"),
            ));
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Run {
                plugin,
                config,
                out,
                params,
                input,
                plan,
                help_params,
                json,
                grace_seconds,
            } => {
                if help_params {
                    let _ = (out, params, input, plan, json, grace_seconds);
                    help_params_of(&plugin, config.as_deref())
                } else {
                    let options = RunOptions {
                        out_dir: out,
                        params: params.into_iter().collect::<BTreeMap<_, _>>(),
                        input,
                        plan: plan.is_some(),
                        ..RunOptions::default()
                    };
                    let how = HandRun {
                        plan_file: plan,
                        grace: grace_seconds,
                    };
                    if json {
                        let started = std::time::Instant::now();
                        let result =
                            run_for_report(&plugin, config.as_deref(), options, &how).await;
                        let summary =
                            crate::plugin_list::run_summary(&plugin, &result, started.elapsed());
                        println!("{}", terminal::json(&summary.to_string()));
                        result.map(|_| ())
                    } else {
                        run(&plugin, config.as_deref(), options, how, cli.verbose > 0).await
                    }
                }
            }
            Command::Apply {
                file,
                config,
                yes,
                json,
                allow_stale,
                status,
            } => {
                let flags = ApplyFlags {
                    yes,
                    json,
                    allow_stale,
                    verbose: cli.verbose > 0,
                };
                if status {
                    apply_status(&file, config.as_deref(), json)
                } else {
                    apply(&file, config.as_deref(), flags).await
                }
            }
            #[cfg(feature = "mock")]
            Command::MockApi {
                port,
                seed,
                key_env,
                scope_spelling,
                faults,
            } => mock_api(port, seed, key_env, scope_spelling, faults).await,
            Command::Plugin {
                action: PluginCommand::List { config, json },
            } => list_plugins(config.as_deref(), json),
            Command::New {
                name,
                lang,
                scopes,
                dir,
            } => new_project(crate::scaffold::NewProject {
                name,
                lang,
                scopes,
                dir,
            }),
            Command::Build { dir } => build_project(&dir),
            Command::Daemon { config } => {
                let loader: crate::daemon::ConfigLoader =
                    Box::new(move || load_config(config.as_deref()));
                crate::daemon::run(loader).await
            }
            Command::Schedules { config, count } => schedules(config.as_deref(), count),
            Command::Runs {
                action: Some(RunsCommand::Show { id, config, json }),
                ..
            } => runs_show(config.as_deref(), &id, json),
            Command::Runs {
                action: None,
                config,
                schedule,
                limit,
                json,
            } => runs_list(config.as_deref(), schedule.as_deref(), limit, json),
            Command::Plugin {
                action:
                    PluginCommand::Inspect {
                        plugin,
                        config,
                        json,
                        offline,
                    },
            } => inspect(&plugin, config.as_deref(), json, offline).await,
            Command::Plugin {
                action: PluginCommand::Approve { plugin, config },
            } => approve(&plugin, config.as_deref()),
        }
    });
    match result {
        Ok(()) => 0,
        Err(failure) => report_failure(&failure),
    }
}

/// What `run` was asked besides the plugin's options.
struct HandRun {
    /// `--plan FILE`.
    plan_file: Option<PathBuf>,
    /// `--grace-seconds`, over `[daemon] grace_seconds`.
    grace: Option<Duration>,
}

async fn run(
    plugin: &str,
    config: Option<&Path>,
    options: RunOptions,
    how: HandRun,
    verbose: bool,
) -> Result<(), Failure> {
    let report = run_for_report(plugin, config, options, &how).await?;
    print_report(&report);
    if let (Some(file), Some(plan)) = (how.plan_file, &report.plan) {
        print!("{}", terminal::text(&plan.summary(verbose)));
        println!("plan written to {}", file.display());
        if !plan.writes.is_empty() {
            println!("review it, then: pleo-host apply {}", file.display());
        }
    }
    Ok(())
}

fn list_plugins(config: Option<&Path>, json: bool) -> Result<(), Failure> {
    let config = load_config(config)?;
    let listed = crate::plugin_list::list(&config)?;
    if json {
        let text = serde_json::to_string_pretty(&listed).map_err(|e| {
            Failure::new(ExitCode::Internal, format!("cannot encode the list: {e}"))
        })?;
        println!("{}", terminal::json(&text));
    } else {
        print!("{}", crate::plugin_list::render(&listed));
    }
    Ok(())
}

/// Runs a plugin (and writes its plan, with `--plan`); the report is printed by the caller.
async fn run_for_report(
    plugin: &str,
    config: Option<&Path>,
    mut options: RunOptions,
    how: &HandRun,
) -> Result<RunReport, Failure> {
    let plan_file = how.plan_file.as_deref();
    let config = load_config(config)?;
    let grace = how.grace.unwrap_or(config.daemon.grace);
    // A plan file that cannot be written is found before the plugin runs.
    if let Some(file) = plan_file {
        check_plan_destination(file)?;
    }
    // Declared parameters are checked before the key is read or Pleo is asked anything.
    let candidate = crate::admission::Candidate::resolve(&config, plugin)?;
    let params = candidate.check_params(&options.host_params, &options.params)?;
    let history = open_history_for_run(&config);
    let session = Session::open(config).await?;
    let (progress, bar) = progress_sink();
    options.progress = Some(progress);
    options.cancel = Some(cancel_on_signals(grace));
    options.on_end = history.map(record_hand_run);
    let result = session.run_candidate(candidate, params, options).await;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    // The process ends right after this command: tearing the session down (the mock's data,
    // the engine) would only cost exit time. The audit log was flushed when the run ended.
    std::mem::forget(session);
    let report = result?;
    if let (Some(file), Some(plan)) = (plan_file, &report.plan) {
        write_plan(file, plan)?;
    }
    Ok(report)
}

/// Fails early when the plan file's folder does not exist.
fn check_plan_destination(file: &Path) -> Result<(), Failure> {
    let parent = file
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if parent.is_dir() {
        Ok(())
    } else {
        Err(Failure::new(
            ExitCode::Usage,
            format!(
                "cannot write the plan to {}: no such folder",
                file.display()
            ),
        )
        .hint("pass --plan a file in an existing folder"))
    }
}

/// Writes the plan beside its destination, then renames it: never a half-written plan.
fn write_plan(file: &Path, plan: &crate::plan::PlanFile) -> Result<(), Failure> {
    let tmp = file.with_extension("tmp-pleo-host");
    std::fs::write(&tmp, plan.to_json())
        .and_then(|()| std::fs::rename(&tmp, file))
        .map_err(|e| {
            Failure::new(
                ExitCode::Usage,
                format!(
                    "cannot write the plan to {}: {}",
                    file.display(),
                    crate::config::io_cause(&e)
                ),
            )
        })
}

struct ApplyFlags {
    yes: bool,
    json: bool,
    allow_stale: bool,
    verbose: bool,
}

async fn apply(file: &Path, config: Option<&Path>, flags: ApplyFlags) -> Result<(), Failure> {
    let plan = crate::apply::read_plan(file)?;
    let config = load_config(config)?;
    let session = Session::open(config).await?;
    let checked = crate::apply::check(&session, plan).await?;
    let summary = terminal::text(&checked.plan.summary(flags.verbose)).into_owned();
    if flags.json {
        eprint!("{summary}");
    } else {
        print!("{summary}");
    }
    if !checked.stale.is_empty() {
        if !flags.allow_stale {
            return Err(Failure::new(
                ExitCode::PlanRefused,
                format!(
                    "{} object(s) changed in Pleo since plan {} was made; nothing was sent",
                    checked.stale.len(),
                    checked.plan.id
                ),
            )
            .details(checked.stale.clone())
            .hint("make a new plan, or pass --allow-stale to apply over the changes"));
        }
        for line in &checked.stale {
            tracing::warn!("{line} (--allow-stale)");
        }
    }
    let left = checked.plan.writes.len() - checked.done();
    if left > 0 && !flags.yes {
        if !std::io::stdin().is_terminal() {
            return Err(Failure::new(
                ExitCode::Usage,
                "apply needs a confirmation and there is no terminal to ask on",
            )
            .hint("review the plan, then pass --yes"));
        }
        eprint!(
            "apply {left} write(s) to company {} ({})? type yes: ",
            checked.plan.context.company_id, checked.plan.context.environment
        );
        let mut answer = String::new();
        let _ = std::io::stdin().read_line(&mut answer);
        if answer.trim() != "yes" {
            return Err(Failure::new(
                ExitCode::PlanRefused,
                "not applied: not confirmed; nothing was sent",
            ));
        }
    }
    let report = crate::apply::apply(&session, checked).await?;
    std::mem::forget(session);
    if flags.json {
        let text = serde_json::to_string_pretty(&report).unwrap_or_default();
        println!("{text}");
    } else {
        println!(
            "applied plan {}: {} sent, {} found already made, {} done before ({} writes, {:.2}s)",
            report.plan_id,
            report.sent,
            report.reconciled,
            report.skipped,
            report.writes,
            report.elapsed_ms / 1e3
        );
    }
    Ok(())
}

fn apply_status(file: &Path, config: Option<&Path>, json: bool) -> Result<(), Failure> {
    let plan = crate::apply::read_plan(file)?;
    let config = load_config(config)?;
    let conn = crate::session::open_state_db(&config)?;
    let status = crate::apply::status(&conn, &plan)?;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&status).unwrap_or_default()
        );
    } else {
        println!(
            "plan {}: {} of {} writes done, {} sent without answer, {} failed, {} not sent",
            status.plan_id, status.done, status.writes, status.sent, status.failed, status.planned
        );
        for line in &status.lines {
            println!("  {}", terminal::line(line));
        }
    }
    Ok(())
}

/// The state database for the history of a run by hand; a run goes on without it (logged).
fn open_history_for_run(config: &Config) -> Option<crate::history::History> {
    let path = crate::statedb::path_for(config)?;
    match crate::history::History::open(&path) {
        Ok(history) => Some(history),
        Err(e) => {
            tracing::warn!("the run is not recorded in the history: {e}");
            None
        }
    }
}

/// Records a run by hand in the history once it has ended.
fn record_hand_run(history: crate::history::History) -> crate::session::OnEnd {
    Box::new(move |end| {
        let started: chrono::DateTime<chrono::Utc> = end.started_at.into();
        let record = crate::history::RunRecord {
            id: end.run_id.to_owned(),
            schedule: None,
            plugin: end.plugin.to_owned(),
            sha256: Some(end.sha256.to_owned()),
            nominal_time: None,
            nominal_unix: None,
            started_at: started.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            ended_at: Some(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
            result: end.result.to_owned(),
            exit_code: Some(end.exit_code),
            message: Some(end.message[..end.message.floor_char_boundary(1024)].to_owned()),
            api_calls: end.api_calls,
            retries: end.retries,
            output_dir: Some(end.out_dir.display().to_string()),
        };
        if let Err(e) = history.record(&record) {
            tracing::warn!("the run is not recorded in the history: {e}");
        }
    })
}

fn schedules(config: Option<&Path>, count: usize) -> Result<(), Failure> {
    let config = load_config(config)?;
    if config.schedules.is_empty() {
        return Err(Failure::new(
            ExitCode::Config,
            format!("no [[schedules]] in {}", config.describe_source()),
        )
        .hint("add a [[schedules]] table (see README, section Scheduled reports)"));
    }
    let now = chrono::Utc::now();
    for s in &config.schedules {
        let overlap = match s.overlap {
            crate::config::schedule::Overlap::Skip => "skip",
            crate::config::schedule::Overlap::Queue => "queue",
        };
        let catch_up = match s.catch_up {
            crate::config::schedule::CatchUp::None => "none".to_owned(),
            crate::config::schedule::CatchUp::Latest => "latest".to_owned(),
            crate::config::schedule::CatchUp::All(n) => format!("all (at most {n})"),
        };
        println!(
            "{}: {} `{}` in {} (overlap {overlap}, catch-up {catch_up})",
            s.name, s.plugin, s.cron.text, s.timezone
        );
        for fire in s.upcoming(now, count) {
            let utc = fire.with_timezone(&chrono::Utc);
            println!(
                "  {}  ({})",
                crate::config::schedule::nominal_text(&fire),
                utc.format("%Y-%m-%d %H:%M:%S UTC")
            );
        }
    }
    Ok(())
}

fn open_history(config: Option<&Path>) -> Result<crate::history::History, Failure> {
    let config = load_config(config)?;
    let path = crate::statedb::path_for(&config).ok_or_else(|| {
        Failure::new(
            ExitCode::Config,
            "no state database: neither HOME nor XDG_STATE_HOME is set",
        )
        .hint("set state_dir in pleo.toml")
    })?;
    crate::history::History::open(&path)
        .map_err(|e| Failure::new(ExitCode::Config, e.to_string()).hint("check state_dir"))
}

fn history_failure(e: rusqlite::Error) -> Failure {
    Failure::new(
        ExitCode::Internal,
        format!("cannot read the run history: {e}"),
    )
}

fn runs_list(
    config: Option<&Path>,
    schedule: Option<&str>,
    limit: usize,
    json: bool,
) -> Result<(), Failure> {
    let history = open_history(config)?;
    let runs = history.list(schedule, limit).map_err(history_failure)?;
    if json {
        let text = serde_json::to_string_pretty(&runs)
            .map_err(|e| Failure::new(ExitCode::Internal, e.to_string()))?;
        println!("{}", terminal::json(&text));
        return Ok(());
    }
    if runs.is_empty() {
        println!("no runs recorded in {}", history.path().display());
        return Ok(());
    }
    println!(
        "{:<8}  {:<16}  {:<18}  {:<25}  {:<24}  {:<9}  {:>4}  {:>6}",
        "ID", "SCHEDULE", "PLUGIN", "SCHEDULED FOR", "STARTED", "RESULT", "EXIT", "CALLS"
    );
    for r in &runs {
        let line = format!(
            "{:<8}  {:<16}  {:<18}  {:<25}  {:<24}  {:<9}  {:>4}  {:>6}",
            &r.id[..r.id.len().min(8)],
            r.schedule.as_deref().unwrap_or("(by hand)"),
            r.plugin,
            r.nominal_time.as_deref().unwrap_or("-"),
            r.started_at,
            r.result,
            r.exit_code.map_or("-".to_owned(), |c| c.to_string()),
            r.api_calls
        );
        println!("{}", terminal::line(&line));
    }
    Ok(())
}

fn runs_show(config: Option<&Path>, id: &str, json: bool) -> Result<(), Failure> {
    let history = open_history(config)?;
    let found = history.get(id).map_err(history_failure)?;
    let run = match found.as_slice() {
        [run] => run,
        [] => {
            return Err(
                Failure::new(ExitCode::Usage, format!("no run with id `{id}`"))
                    .hint("`pleo-host runs` lists the recorded runs"),
            );
        }
        _ => {
            return Err(Failure::new(
                ExitCode::Usage,
                format!("`{id}` is the start of more than one run id"),
            )
            .hint("give more of the id"));
        }
    };
    if json {
        let text = serde_json::to_string_pretty(run)
            .map_err(|e| Failure::new(ExitCode::Internal, e.to_string()))?;
        println!("{}", terminal::json(&text));
        return Ok(());
    }
    let rows: [(&str, Option<String>); 13] = [
        ("id", Some(run.id.clone())),
        ("schedule", run.schedule.clone()),
        ("plugin", Some(run.plugin.clone())),
        ("sha256", run.sha256.clone()),
        ("scheduled for", run.nominal_time.clone()),
        ("started", Some(run.started_at.clone())),
        ("ended", run.ended_at.clone()),
        ("result", Some(run.result.clone())),
        ("exit code", run.exit_code.map(|c| c.to_string())),
        ("Pleo API calls", Some(run.api_calls.to_string())),
        ("retries", Some(run.retries.to_string())),
        ("output folder", run.output_dir.clone()),
        ("message", run.message.clone()),
    ];
    for (key, value) in rows {
        if let Some(value) = value {
            println!("{key:<15} {}", terminal::text(&value));
        }
    }
    Ok(())
}

async fn inspect(
    plugin: &str,
    config: Option<&Path>,
    json: bool,
    offline: bool,
) -> Result<(), Failure> {
    let config = load_config(config)?;
    // The key's scopes need a session (Pleo's /v1/introspect, or the mock); without one the
    // report still shows everything the plugin itself asks for.
    let session = if offline {
        None
    } else {
        match Session::open(config.clone()).await {
            Ok(session) => Some(session),
            Err(e) => {
                eprintln!("note: the key's scopes were not checked: {}", e.message);
                None
            }
        }
    };
    let standalone;
    let runtime = match &session {
        Some(session) => session.runtime(),
        None => {
            standalone = crate::session::runtime_for(&config)?;
            &standalone
        }
    };
    let report = crate::inspect::inspect(
        &config,
        runtime,
        plugin,
        session.as_ref().map(|s| s.key_scopes()),
    )?;
    if json {
        let text = serde_json::to_string_pretty(&report).map_err(|e| {
            Failure::new(ExitCode::Internal, format!("cannot encode the report: {e}"))
        })?;
        println!("{}", terminal::json(&text));
    } else {
        // Names and metadata come from the component file, written by whoever built it.
        print!("{}", terminal::text(&report.render()));
    }
    Ok(())
}

fn new_project(options: crate::scaffold::NewProject) -> Result<(), Failure> {
    let dir = crate::scaffold::create(&options)?;
    let shown = terminal::line(&dir.display().to_string()).into_owned();
    println!(
        "created {shown} ({} plugin, SDK {})",
        options.lang,
        crate::scaffold::SDK_VERSION
    );
    println!(
        "next:\n  cd {shown}\n  pleo-host build\n  pleo-host run {}",
        options.name
    );
    Ok(())
}

fn build_project(dir: &Path) -> Result<(), Failure> {
    let built = crate::authoring::build(dir)?;
    print!("{}", terminal::text(&crate::authoring::describe(&built)?));
    Ok(())
}

/// `run --help-params PLUGIN`: the declared parameters, read from the component alone.
fn help_params_of(plugin: &str, config: Option<&Path>) -> Result<(), Failure> {
    let config = load_config(config)?;
    let source = crate::plugins::resolve(&config, plugin)?;
    let meta = crate::plugin_meta::read_meta(&source.name, &source.bytes)?;
    let configured = crate::plugins::plugin_config(&config, &source.name).params;
    let mut out = format!("parameters of {}:\n", source.name);
    out.push_str(&crate::plugin_meta::render_params(meta.as_ref()));
    if !configured.is_empty() {
        out.push_str("set in the config:\n");
        for (k, v) in &configured {
            out.push_str(&format!("  {k} = {}\n", terminal::line(v)));
        }
    }
    out.push_str(&format!(
        "usage: pleo-host run {} --param NAME=VALUE ...\n",
        source.name
    ));
    print!("{}", terminal::text(&out));
    Ok(())
}

/// A [`Cancel`](crate::runtime::Cancel) for a run by hand: on the first SIGINT or SIGTERM the
/// plugin gets `grace` to finish (a run that does is what it was: ok or failed), then it is
/// interrupted and the run ends with its audit record and a clear line instead of the process
/// dying mid-run. A second signal interrupts at once.
fn cancel_on_signals(grace: Duration) -> crate::runtime::Cancel {
    use crate::runtime::Signal;
    use tokio::signal::unix::{SignalKind, signal};
    let (fire, cancel) = tokio::sync::watch::channel(None);
    let streams = signal(SignalKind::interrupt()).and_then(|interrupt| {
        signal(SignalKind::terminate()).map(|terminate| (interrupt, terminate))
    });
    let (mut interrupt, mut terminate) = match streams {
        Ok(streams) => streams,
        Err(e) => {
            tracing::warn!("cannot listen for SIGINT and SIGTERM: {e}");
            return cancel;
        }
    };
    tokio::spawn(async move {
        let first = tokio::select! {
            Some(()) = interrupt.recv() => Signal::Interrupt,
            Some(()) = terminate.recv() => Signal::Terminate,
            else => return,
        };
        if !grace.is_zero() {
            tracing::warn!(
                "{first}: the plugin may finish within {}s, then it is interrupted; signal again to interrupt it now",
                grace.as_secs_f64()
            );
            tokio::select! {
                _ = tokio::time::sleep(grace) => {}
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
        }
        let _ = fire.send(Some(first));
        // Keeps the sender, so the run's receiver never sees it gone.
        std::future::pending::<()>().await;
    });
    cancel
}

fn approve(plugin: &str, config_path: Option<&Path>) -> Result<(), Failure> {
    let config = load_config(config_path)?;
    let Some(source) = config.source.clone() else {
        return Err(Failure::new(
            ExitCode::Usage,
            "approval needs a pleo.toml: pleo.lock is written beside it",
        )
        .hint("create one (see examples/) or pass --config"));
    };
    let runtime = crate::session::runtime_for(&config)?;
    let crate::admission::Loaded {
        plugin: loaded,
        needed,
        config: plugin_config,
        ..
    } = crate::admission::Candidate::read(&config, plugin)?.load(&runtime)?;
    let lock_path = crate::approval::LockFile::path_for(&source);
    let mut lock = crate::approval::LockFile::load(&lock_path)
        .map_err(|e| Failure::new(ExitCode::Config, e))?;
    let approval = crate::approval::Approval {
        sha256: loaded.sha256.clone(),
        scopes: needed.iter().cloned().collect(),
        wit: format!(
            "{}@{}",
            crate::scopes::WIT_PACKAGE,
            crate::scopes::WIT_VERSION
        ),
        approved_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    };
    let previous = lock.get(&loaded.name).cloned();
    lock.approve(&loaded.name, approval).map_err(|e| {
        Failure::new(
            ExitCode::Config,
            format!("cannot write {}: {e}", lock_path.display()),
        )
    })?;
    println!("approved {} sha256 {}", loaded.name, loaded.sha256);
    let scopes = if needed.is_empty() {
        "none".to_owned()
    } else {
        needed.iter().cloned().collect::<Vec<_>>().join(", ")
    };
    println!("  scopes: {scopes}");
    if let Some(previous) = previous.filter(|p| p.sha256 != loaded.sha256) {
        println!("  replaces sha256 {}", previous.sha256);
    }
    let granted = plugin_config.scopes;
    let ungranted: Vec<&String> = needed.iter().filter(|s| !granted.contains(s)).collect();
    if !ungranted.is_empty() {
        println!(
            "  note: not yet granted in {}: {}",
            source.display(),
            ungranted
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    println!("  recorded in {}", lock_path.display());
    Ok(())
}

#[cfg(feature = "mock")]
async fn mock_api(
    port: u16,
    seed: Option<u64>,
    key_env: Option<String>,
    scope_spelling: Option<crate::mock::scopes::Spelling>,
    faults: MockFaultArgs,
) -> Result<(), Failure> {
    let mut settings = faults.settings()?;
    settings.scope_spelling = scope_spelling;
    let mut config = settings.server_config(crate::mock::MOCK_API_KEY.to_owned());
    if let Some(seed) = seed {
        config.seed = seed;
    }
    let key_source = key_env.clone();
    if let Some(var) = key_env {
        config.api_key = match std::env::var(&var) {
            Ok(key) if !key.trim().is_empty() => key,
            _ => {
                return Err(Failure::new(
                    ExitCode::Usage,
                    format!("--key-env {var}: the variable is not set or empty"),
                )
                .hint(format!("export {var}=<the key the mock should accept>")));
            }
        };
    }
    let key = config.api_key.clone();
    let bind = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let server = crate::mock::MockServer::start(bind, config)
        .await
        .map_err(|e| {
            Failure::new(
                ExitCode::Usage,
                format!("cannot listen on 127.0.0.1:{port}: {e}"),
            )
            .hint("pick another --port")
        })?;
    println!("mock Pleo API listening on {}", server.base_url());
    match &key_source {
        // The operator's own key is never printed.
        Some(var) => println!("it accepts the API key in ${var}"),
        None => println!("it accepts the API key: {key}"),
    }
    println!(
        "point pleo.toml at it: environment = \"mock\", base_url = \"{}\"",
        server.base_url()
    );
    if key_source.is_none() {
        println!(
            "try: curl -u '{key}:' {}/v2/employees?limit=2",
            server.base_url()
        );
    }
    println!("press Ctrl-C to stop");
    tokio::signal::ctrl_c()
        .await
        .map_err(|e| Failure::new(ExitCode::Internal, format!("cannot wait for Ctrl-C: {e}")))?;
    server.shutdown().await;
    Ok(())
}

/// `--config F` must exist; without it `./pleo.toml` is used if present, else defaults.
fn load_config(path: Option<&Path>) -> Result<Config, Failure> {
    let path = match path {
        Some(path) => path,
        None if Path::new("pleo.toml").is_file() => Path::new("pleo.toml"),
        None => return Ok(Config::default()),
    };
    Config::load(path).map_err(|e| {
        let hint = match e {
            crate::config::ConfigError::Unreadable { .. } => "check the path given with --config",
            _ => "see README.md, section Configuration",
        };
        Failure::new(ExitCode::Config, e.to_string()).hint(hint)
    })
}

/// A progress bar on a terminal, plain lines otherwise.
fn progress_sink() -> (ProgressSink, Option<ProgressBar>) {
    if std::io::stderr().is_terminal() {
        let bar = ProgressBar::new_spinner();
        let style = ProgressStyle::with_template("{spinner} {prefix} [{bar:30}] {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
        bar.set_style(style);
        let shown = bar.clone();
        let sink: ProgressSink = Arc::new(move |p: &Progress| {
            shown.set_prefix(terminal::line(&p.plugin).into_owned());
            if let Some(total) = p.total {
                shown.set_length(total);
            }
            shown.set_position(p.done);
            shown.set_message(p.message.clone());
        });
        (sink, Some(bar))
    } else {
        // Plain lines for logs and pipes: at most one a second, plus the last one.
        let last_print = Mutex::new(None::<std::time::Instant>);
        let sink: ProgressSink = Arc::new(move |p: &Progress| {
            let mut last = last_print.lock().unwrap_or_else(|e| e.into_inner());
            let finished = p.total == Some(p.done);
            if !finished && last.is_some_and(|t| t.elapsed() < std::time::Duration::from_secs(1)) {
                return;
            }
            *last = Some(std::time::Instant::now());
            match p.total {
                Some(total) => eprintln!(
                    "{}: {}/{} {}",
                    terminal::line(&p.plugin),
                    p.done,
                    total,
                    p.message
                ),
                None => eprintln!("{}: {} {}", terminal::line(&p.plugin), p.done, p.message),
            }
        });
        (sink, None)
    }
}

/// "Pleo API: 3 retries after 1.2s of waiting; 38 calls held 3.4s by the rate limit", or
/// nothing when the run never waited.
fn describe_waits(waits: &crate::pleo::WaitStats) -> Option<String> {
    let mut parts = Vec::new();
    if waits.retries > 0 {
        parts.push(format!(
            "{} {} after {:.1}s of waiting",
            waits.retries,
            if waits.retries == 1 {
                "retry"
            } else {
                "retries"
            },
            waits.retry_wait.as_secs_f64()
        ));
    }
    if waits.throttled > 0 {
        parts.push(format!(
            "{} {} held {:.1}s by the rate limit",
            waits.throttled,
            if waits.throttled == 1 {
                "call"
            } else {
                "calls"
            },
            waits.throttle_wait.as_secs_f64()
        ));
    }
    (!parts.is_empty()).then(|| format!("Pleo API: {}", parts.join("; ")))
}

fn print_report(report: &RunReport) {
    println!(
        "{} finished in {:.2}s ({} Pleo API calls)",
        report.plugin,
        report.elapsed.as_secs_f64(),
        report.api_calls
    );
    if let Some(waits) = describe_waits(&report.api_waits) {
        println!("  {waits}");
    }
    // The summary was redacted and escaped by the session; the file names are the plugin's.
    for line in report.summary.lines() {
        println!("  {line}");
    }
    if report.files.is_empty() {
        println!("no files written to {}", report.out_dir.display());
    } else {
        println!("files written:");
        for file in &report.files {
            let path = report.out_dir.join(&file.path).display().to_string();
            let path = terminal::line(&path);
            if file.is_link {
                println!("  {path} (symbolic link, not followed)");
            } else {
                println!("  {path} ({} bytes)", file.bytes);
            }
        }
    }
    for what in &report.files_not_listed {
        println!("  not listed: {what}");
    }
}

fn report_failure(failure: &Failure) -> i32 {
    // Messages may quote what a plugin or a component file said (import names, causes).
    eprintln!("error: {}", terminal::line(&failure.message));
    for detail in &failure.details {
        eprintln!("  - {}", terminal::line(detail));
    }
    if let Some(hint) = &failure.hint {
        eprintln!("  hint: {}", terminal::line(hint));
    }
    failure.code as i32
}

fn init_logging(verbose: u8, quiet: bool, daemon: bool) {
    use tracing_subscriber::EnvFilter;
    let default = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) if daemon => "warn,plugin=info,pleo_host::daemon=info",
        (false, 0) => "warn,plugin=info",
        (false, 1) => "debug,hyper=info,reqwest=info,cranelift=info,wasmtime=info",
        _ => "trace",
    };
    let filter =
        EnvFilter::try_from_env("PLEO_HOST_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| RedactingStderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .try_init();
}

/// The log's writer: every line passes through the key redactor before it reaches stderr.
struct RedactingStderr;

impl std::io::Write for RedactingStderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let line = crate::credential::redact_for_logs(&String::from_utf8_lossy(buf));
        std::io::stderr().write_all(line.as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

/// `mock-api` fault injection: see README, "The mock Pleo API".
#[cfg(feature = "mock")]
#[derive(clap::Args, Debug, Default)]
struct MockFaultArgs {
    /// Per-key rate limit, requests a minute; over it the mock answers 429 with Retry-After.
    #[arg(long, value_name = "N")]
    rate_limit: Option<u32>,
    /// Requests the per-key limit lets through at once (default: a second's worth).
    #[arg(long, value_name = "N", requires = "rate_limit")]
    rate_limit_burst: Option<u32>,
    /// Seed of the fault draws: the same seed and requests give the same faults.
    #[arg(long, value_name = "N", default_value_t = 0)]
    faults_seed: u64,
    /// Share of requests (0..1) answered 429 with Retry-After.
    #[arg(long = "fault-429", value_name = "SHARE", default_value_t = 0.0)]
    too_many_requests: f64,
    /// Seconds in the Retry-After of injected 429s.
    #[arg(long, value_name = "SECONDS", default_value_t = 1)]
    retry_after: u32,
    /// Share of requests (0..1) answered 503.
    #[arg(long = "fault-503", value_name = "SHARE", default_value_t = 0.0)]
    unavailable: f64,
    /// Share of requests (0..1) answered 500.
    #[arg(long = "fault-500", value_name = "SHARE", default_value_t = 0.0)]
    internal_error: f64,
    /// Share of requests (0..1) whose connection is closed without an answer.
    #[arg(long = "fault-drop", value_name = "SHARE", default_value_t = 0.0)]
    drop: f64,
    /// Share of requests (0..1) handled (a write is made) whose connection is then closed
    /// without the answer.
    #[arg(
        long = "fault-drop-answer",
        value_name = "SHARE",
        default_value_t = 0.0
    )]
    drop_answer: f64,
    /// Milliseconds added to every request.
    #[arg(long = "fault-latency-ms", value_name = "MS", default_value_t = 0)]
    latency_ms: u64,
    /// Faults of some routes instead of the ones above, e.g.
    /// `/v1/accounting-entries:search,503=0.5,latency-ms=200` (keys 429, 503, 500,
    /// drop, drop-answer, latency-ms, retry-after; unset ones as above); repeatable, the first match wins.
    #[arg(long = "route-faults", value_name = "PATH,KEY=VALUE,...")]
    routes: Vec<String>,
}

#[cfg(feature = "mock")]
impl MockFaultArgs {
    /// The flags as mock settings: the same types, parsers and checks as `[mock]` in pleo.toml.
    fn settings(&self) -> Result<crate::mock::MockSettings, Failure> {
        use crate::mock::{MockFaults, MockRouteFaults, MockSettings, Seconds, Share};
        let usage = |message: String| {
            Failure::new(ExitCode::Usage, message).hint("see pleo-host mock-api --help")
        };
        let share = |flag: &str, value: f64| {
            Share::try_from(value).map_err(|e| usage(format!("{flag}: {e}")))
        };
        let routes = self
            .routes
            .iter()
            .map(|spec| MockRouteFaults::parse_flag(spec))
            .collect::<Result<Vec<_>, _>>()
            .map_err(usage)?;
        let faults = MockFaults {
            seed: Some(self.faults_seed),
            too_many_requests: Some(share("--fault-429", self.too_many_requests)?),
            retry_after_seconds: Some(self.retry_after),
            unavailable: Some(share("--fault-503", self.unavailable)?),
            internal_error: Some(share("--fault-500", self.internal_error)?),
            drop: Some(share("--fault-drop", self.drop)?),
            drop_answer: Some(share("--fault-drop-answer", self.drop_answer)?),
            latency_seconds: Some(Seconds(std::time::Duration::from_millis(self.latency_ms))),
            routes,
        };
        let settings = MockSettings {
            rate_limit_per_minute: self.rate_limit,
            rate_limit_burst: self.rate_limit_burst,
            faults: Some(faults),
            ..MockSettings::default()
        };
        settings.fault_config().validate().map_err(usage)?;
        Ok(settings)
    }
}
