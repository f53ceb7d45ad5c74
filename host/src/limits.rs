//! Every per-run limit, defined once: its TOML key (the field name of [`RawLimits`]), its unit,
//! default ([`Limits::default`]), allowed range (the newtype of its field, checked while
//! pleo.toml is read, so a bad value names file, line and key) and the setting a hint tells
//! the operator to raise ([`Limit::key`]). The sandbox enforces them (`runtime`,
//! `out_quota`, `capabilities`) and reports a [`LimitExceeded`]; config, audit and error
//! messages take names from here.

use std::time::Duration;

use serde::Deserialize;

use crate::error::{ExitCode, Failure};

/// Per-run limits. Every field may be set globally in `[limits]` and per plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Linear memory (and tables) of the plugin, in bytes.
    pub memory_bytes: u64,
    /// CPU time the plugin may spend running wasm (time in host calls does not count).
    pub cpu: Duration,
    /// Wall-clock time of the whole run, host calls included.
    pub wall: Duration,
    /// Calls to the Pleo API during one run.
    pub api_calls: u64,
    /// Bytes the plugin may write to its output folder during one run (rewrites count again).
    pub output_bytes: u64,
    /// Bytes of log lines (each line costs [`LOG_LINE_COST`] more) and summary of one run.
    pub log_bytes: u64,
    /// Size of the component file; a larger one is refused before it is compiled.
    pub wasm_bytes: u64,
    /// Files and folders the plugin may create in its output folder during one run.
    pub output_files: u64,
}

/// Largest file `upload-import-csv` sends to a presigned URL (the vendor CSV import): 10 MiB,
/// the mock's own bound (Pleo documents `FILE_TOO_LARGE`, not the size). Checked before any
/// request; the host holds the file in memory, and a plan holds it too.
pub const MAX_UPLOAD_BYTES: u64 = 10 << 20;

/// What one log line costs the run's log budget besides its text: the host's own line around
/// it, so a flood of empty lines is bounded like a flood of long ones.
pub const LOG_LINE_COST: u64 = 64;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_bytes: 256 << 20,
            cpu: Duration::from_secs(60),
            wall: Duration::from_secs(600),
            api_calls: 10_000,
            output_bytes: 1 << 30,
            log_bytes: 1 << 20,
            wasm_bytes: 64 << 20,
            output_files: 10_000,
        }
    }
}

/// One limit, to name it in messages and hints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    Memory,
    Cpu,
    Wall,
    ApiCalls,
    Output,
    OutputFiles,
    Log,
    Wasm,
}

impl Limit {
    pub const ALL: [Limit; 8] = [
        Limit::Memory,
        Limit::Cpu,
        Limit::Wall,
        Limit::ApiCalls,
        Limit::Output,
        Limit::OutputFiles,
        Limit::Log,
        Limit::Wasm,
    ];

    /// The key in `[limits]` and `[plugins.NAME.limits]` (a test checks each is accepted).
    pub fn key(self) -> &'static str {
        match self {
            Limit::Memory => "memory_mb",
            Limit::Cpu => "cpu_seconds",
            Limit::Wall => "wall_seconds",
            Limit::ApiCalls => "api_calls",
            Limit::Output => "output_mb",
            Limit::OutputFiles => "output_files",
            Limit::Log => "log_kb",
            Limit::Wasm => "wasm_mb",
        }
    }

    /// The value of this limit in `limits`, in the unit of its key (what an operator writes).
    pub fn value(self, limits: &Limits) -> f64 {
        match self {
            Limit::Memory => (limits.memory_bytes >> 20) as f64,
            Limit::Cpu => limits.cpu.as_secs_f64(),
            Limit::Wall => limits.wall.as_secs_f64(),
            Limit::ApiCalls => limits.api_calls as f64,
            Limit::Output => (limits.output_bytes >> 20) as f64,
            Limit::OutputFiles => limits.output_files as f64,
            Limit::Log => (limits.log_bytes >> 10) as f64,
            Limit::Wasm => (limits.wasm_bytes >> 20) as f64,
        }
    }
}

/// The limits a run can hit, each with its own message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LimitExceeded {
    #[error("memory limit of {} MiB reached (all memories and tables of the run together)", .0 >> 20)]
    Memory(u64),
    #[error("CPU budget of {0:?} used up (running wasm and serving its host calls)")]
    Cpu(Duration),
    #[error("wall-clock timeout of {0:?} reached")]
    WallClock(Duration),
    #[error("API call budget of {0} calls used up")]
    ApiCalls(u64),
    /// `written`: bytes the run wrote plus the refused write (a sparse write counts its gap).
    #[error("output limit of {} MiB exceeded: the run tried to write {} bytes", .limit >> 20, .written)]
    Output { limit: u64, written: u64 },
    #[error("output limit of {limit} files and folders exceeded")]
    OutputFiles { limit: u64 },
    #[error("log limit of {} KiB used up (log lines and the summary of one run)", .0 >> 10)]
    Log(u64),
    #[error("the component is {size} bytes, over the limit of {} MiB", .limit >> 20)]
    WasmSize { limit: u64, size: u64 },
    #[error("compiling the component did not finish within the wall-clock limit of {0:?}")]
    Compile(Duration),
    #[error("the component defines {count} {what}, more than the {max} a run may create")]
    Shape {
        what: &'static str,
        count: u64,
        max: u64,
    },
}

impl LimitExceeded {
    /// The limit that would let the run go further (its key names the setting to raise).
    pub fn limit(&self) -> Option<Limit> {
        Some(match self {
            LimitExceeded::Memory(_) => Limit::Memory,
            LimitExceeded::Cpu(_) => Limit::Cpu,
            LimitExceeded::WallClock(_) | LimitExceeded::Compile(_) => Limit::Wall,
            LimitExceeded::ApiCalls(_) => Limit::ApiCalls,
            LimitExceeded::Output { .. } => Limit::Output,
            LimitExceeded::OutputFiles { .. } => Limit::OutputFiles,
            LimitExceeded::Log(_) => Limit::Log,
            LimitExceeded::WasmSize { .. } => Limit::Wasm,
            // Fixed by the host: no setting raises them.
            LimitExceeded::Shape { .. } => return None,
        })
    }

    /// The `[limits]` key that would let the run go further.
    pub fn setting(&self) -> Option<&'static str> {
        self.limit().map(Limit::key)
    }

    /// The exit-6 failure of a load or run that hit this limit; the hint names the setting to
    /// raise, or says the bound is the host's own.
    pub fn failure(&self, message: String) -> Failure {
        let failure = Failure::new(ExitCode::Limit, message);
        match self.setting() {
            Some(setting) => failure.hint(format!(
                "if the plugin needs more, raise limits.{setting} in its pleo.toml section"
            )),
            None => failure.hint("this bound is fixed by the host; the plugin must stay within it"),
        }
    }
}

/// A whole number from 1 to `MAX`, checked as pleo.toml is read. The bounds keep sizes in
/// bytes far from overflowing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "i64")]
pub struct Count<const MAX: u64>(pub u64);

impl<const MAX: u64> TryFrom<i64> for Count<MAX> {
    type Error = String;
    fn try_from(v: i64) -> Result<Self, String> {
        match u64::try_from(v) {
            Ok(n) if (1..=MAX).contains(&n) => Ok(Count(n)),
            _ => Err(format!("must be between 1 and {MAX}, not {v}")),
        }
    }
}

/// A positive number of seconds (fractions allowed), below a million.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "f64")]
pub struct PositiveSeconds(pub Duration);

impl TryFrom<f64> for PositiveSeconds {
    type Error = String;
    fn try_from(v: f64) -> Result<Self, String> {
        if v.is_finite() && v > 0.0 && v < 1e6 {
            Ok(PositiveSeconds(Duration::from_secs_f64(v)))
        } else {
            Err(format!("must be a positive number of seconds, not {v}"))
        }
    }
}

/// A number of seconds, 0 or more, below a million.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "f64")]
pub struct Seconds(pub Duration);

impl TryFrom<f64> for Seconds {
    type Error = String;
    fn try_from(v: f64) -> Result<Self, String> {
        if v.is_finite() && (0.0..1e6).contains(&v) {
            Ok(Seconds(Duration::from_secs_f64(v)))
        } else {
            Err(format!("must be a number of seconds, 0 or more, not {v}"))
        }
    }
}

/// Limits as written in a table (`[limits]`, a plugin's or a schedule's `limits`): each one
/// set overrides the base it is applied to (the defaults, or `[limits]`).
#[derive(Debug, Deserialize, Default, Clone, Copy, PartialEq)]
#[serde(deny_unknown_fields, expecting = "a table of limits")]
pub struct RawLimits {
    memory_mb: Option<Count<4096>>,
    cpu_seconds: Option<PositiveSeconds>,
    wall_seconds: Option<PositiveSeconds>,
    api_calls: Option<Count<{ u64::MAX >> 1 }>>,
    output_mb: Option<Count<{ 1 << 30 }>>,
    log_kb: Option<Count<{ 1 << 30 }>>,
    wasm_mb: Option<Count<4096>>,
    output_files: Option<Count<10_000_000>>,
}

impl RawLimits {
    pub fn apply(&self, base: Limits) -> Limits {
        Limits {
            memory_bytes: self.memory_mb.map_or(base.memory_bytes, |c| c.0 << 20),
            cpu: self.cpu_seconds.map_or(base.cpu, |s| s.0),
            wall: self.wall_seconds.map_or(base.wall, |s| s.0),
            api_calls: self.api_calls.map_or(base.api_calls, |c| c.0),
            output_bytes: self.output_mb.map_or(base.output_bytes, |c| c.0 << 20),
            log_bytes: self.log_kb.map_or(base.log_bytes, |c| c.0 << 10),
            wasm_bytes: self.wasm_mb.map_or(base.wasm_bytes, |c| c.0 << 20),
            output_files: self.output_files.map_or(base.output_files, |c| c.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(text: &str) -> Result<RawLimits, String> {
        toml::from_str(text).map_err(|e| e.to_string())
    }

    #[test]
    fn every_limit_key_is_a_setting_and_reads_back_in_its_unit() {
        for limit in Limit::ALL {
            let parsed = raw(&format!("{} = 3", limit.key()))
                .unwrap_or_else(|e| panic!("{}: {e}", limit.key()));
            let limits = parsed.apply(Limits::default());
            assert_eq!(limit.value(&limits), 3.0, "{}", limit.key());
            assert_ne!(limits, Limits::default(), "{} changes nothing", limit.key());
        }
    }

    #[test]
    fn out_of_range_values_are_refused_with_the_range() {
        for (text, expected) in [
            ("memory_mb = 0", "between 1 and 4096, not 0"),
            ("memory_mb = 5000", "between 1 and 4096"),
            ("output_files = -1", "not -1"),
            ("cpu_seconds = 0", "positive number of seconds"),
            ("wall_seconds = -2.5", "positive number of seconds"),
            ("log_kb = 1.5", "invalid type"),
            ("wall_seconds = 1000000", "positive number of seconds"),
            ("cpu_seconds = nan", "positive number of seconds"),
        ] {
            let e = raw(text).unwrap_err();
            assert!(e.contains(expected), "{text}: {e}");
        }
        // The largest values in range are accepted.
        for text in [
            "memory_mb = 4096",
            "wall_seconds = 999999.5",
            "api_calls = 1",
        ] {
            raw(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        }
    }

    /// Retry waits may be 0 but not negative, infinite or a million seconds.
    #[test]
    fn seconds_may_be_zero_but_not_negative_or_endless() {
        assert_eq!(Seconds::try_from(0.0), Ok(Seconds(Duration::ZERO)));
        assert_eq!(
            Seconds::try_from(2.5),
            Ok(Seconds(Duration::from_millis(2500)))
        );
        for bad in [-1.0, 1e6, f64::INFINITY, f64::NAN] {
            let e = Seconds::try_from(bad).unwrap_err();
            assert!(e.contains("0 or more"), "{bad}: {e}");
        }
    }

    /// The hint of a limit that ended a run names the setting that raises it; the host's own
    /// bounds say no setting does.
    #[test]
    fn a_limit_failure_is_exit_6_and_names_the_setting_to_raise() {
        let cases = [
            (LimitExceeded::Memory(1 << 20), "memory_mb"),
            (LimitExceeded::Cpu(Duration::from_secs(1)), "cpu_seconds"),
            (
                LimitExceeded::WallClock(Duration::from_secs(1)),
                "wall_seconds",
            ),
            (
                LimitExceeded::Compile(Duration::from_secs(1)),
                "wall_seconds",
            ),
            (LimitExceeded::ApiCalls(3), "api_calls"),
            (
                LimitExceeded::Output {
                    limit: 1 << 20,
                    written: 2 << 20,
                },
                "output_mb",
            ),
            (LimitExceeded::OutputFiles { limit: 3 }, "output_files"),
            (LimitExceeded::Log(1 << 10), "log_kb"),
            (
                LimitExceeded::WasmSize {
                    limit: 1 << 20,
                    size: 2 << 20,
                },
                "wasm_mb",
            ),
        ];
        for (exceeded, key) in cases {
            assert_eq!(exceeded.setting(), Some(key), "{exceeded}");
            let failure = exceeded.failure(exceeded.to_string());
            assert_eq!(failure.code, ExitCode::Limit);
            assert_eq!(failure.message, exceeded.to_string());
            let hint = failure.hint.unwrap();
            assert!(hint.contains(&format!("limits.{key} ")), "{hint}");
        }
        let shape = LimitExceeded::Shape {
            what: "memories",
            count: 9,
            max: 1,
        };
        assert_eq!(shape.setting(), None);
        let hint = shape.failure(shape.to_string()).hint.unwrap();
        assert!(hint.contains("fixed by the host"), "{hint}");
    }
}
