//! `[[schedules]]` and `[daemon]` of pleo.toml, and the scheduler's pure core: when a
//! schedule fires, and which fire times to run after the daemon was down. No function here
//! reads the clock: the time is always a parameter, so tests cover DST changes, month ends
//! and a week of downtime without sleeping.
//!
//! Cron lines are parsed by `croner` (5 fields, or 6 with seconds first; `L`, `#`, `W`, names
//! and `@daily`-style nicknames), evaluated in the schedule's IANA time zone (`chrono-tz`).
//! Across DST changes croner follows the Open Cron Pattern Specification: a fixed-time job
//! whose local time is skipped (spring forward) runs at the first instant after the gap, one
//! whose local time occurs twice (fall back) runs once; interval jobs (`*/15 * * * *`) run on
//! every real instant that matches.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};
use serde::Deserialize;

use crate::config::{ConfigError, PluginConfig, RawLimits};

/// Fire times counted past those a catch-up runs, at most (for the log line).
const COUNT_DROPPED_UP_TO: u64 = 100_000;
/// Default bound of `catch_up = "all"`.
pub const DEFAULT_CATCH_UP_LIMIT: u32 = 10;
/// Default of `[daemon] grace_seconds`.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(30);

/// A parsed cron line, with its text for messages.
#[derive(Clone)]
pub struct CronLine {
    pub text: String,
    pub cron: Cron,
}

impl fmt::Debug for CronLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CronLine({:?})", self.text)
    }
}

impl<'de> Deserialize<'de> for CronLine {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<CronLine, D::Error> {
        let text = String::deserialize(d)?;
        CronLine::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl CronLine {
    pub fn parse(text: &str) -> Result<CronLine, String> {
        let fields = text.split_whitespace().count();
        let nickname = text.trim_start().starts_with('@');
        if !nickname && !(5..=6).contains(&fields) {
            return Err(format!(
                "cron `{text}` has {fields} fields: expected 5 (minute hour day-of-month month \
                 day-of-week) or 6 with seconds first"
            ));
        }
        let parser = CronParser::builder()
            .seconds(Seconds::Optional)
            .year(Year::Disallowed)
            .build();
        let cron = parser
            .parse(text)
            .map_err(|e| format!("cron `{text}`: {e}"))?;
        Ok(CronLine {
            text: text.trim().to_owned(),
            cron,
        })
    }
}

/// An IANA time zone name (`Europe/Copenhagen`, `UTC`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Zone(pub Tz);

impl<'de> Deserialize<'de> for Zone {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Zone, D::Error> {
        let name = String::deserialize(d)?;
        name.parse::<Tz>().map(Zone).map_err(|_| {
            serde::de::Error::custom(format!(
                "unknown time zone `{name}`: an IANA name such as Europe/Copenhagen or UTC"
            ))
        })
    }
}

/// What happens when a schedule fires while its previous run is still going.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Overlap {
    /// The new fire time is skipped (recorded as `skipped`).
    #[default]
    Skip,
    /// The new fire time runs when the previous run ends.
    Queue,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
enum RawCatchUp {
    None,
    #[default]
    Latest,
    All,
}

/// Which fire times missed while no daemon ran are run when one starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CatchUp {
    None,
    /// Only the latest missed fire time.
    Latest,
    /// Every missed fire time, the latest `n` of them at most.
    All(u32),
}

/// `[[schedules]]` as written.
#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a [[schedules]] table with `name`, `plugin`, `cron`"
)]
pub struct RawSchedule {
    name: toml::Spanned<String>,
    plugin: String,
    cron: CronLine,
    timezone: Option<Zone>,
    #[serde(default)]
    params: BTreeMap<String, toml::Value>,
    #[serde(default)]
    overlap: Overlap,
    #[serde(default)]
    catch_up: RawCatchUp,
    catch_up_limit: Option<u32>,
    keep: Option<u32>,
    #[serde(default)]
    limits: RawLimits,
    on_failure: Option<Vec<String>>,
}

/// `[daemon]` as written.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields, expecting = "a [daemon] table")]
pub struct RawDaemon {
    listen: Option<toml::Spanned<String>>,
    grace_seconds: Option<crate::config::Seconds>,
    on_failure: Option<Vec<String>>,
}

/// One schedule: a plugin run on a cron line.
#[derive(Debug, Clone)]
pub struct Schedule {
    pub name: String,
    pub plugin: String,
    pub cron: CronLine,
    pub timezone: Tz,
    /// Added to the plugin's params (after pleo.toml's `[plugins.NAME] params`).
    pub params: BTreeMap<String, String>,
    pub overlap: Overlap,
    pub catch_up: CatchUp,
    /// Output folders to keep; `None`: all.
    pub keep: Option<u32>,
    /// Overrides of the plugin's limits for this schedule's runs.
    pub limits: RawLimits,
    /// This schedule's failure hook, else `[daemon] on_failure`.
    pub on_failure: Option<Vec<String>>,
}

/// `[daemon]`: settings of `pleo-host daemon`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DaemonSettings {
    /// Where `/healthz` and `/metrics` are served; `None`: nowhere.
    pub listen: Option<SocketAddr>,
    /// How long a running plugin may go on after SIGTERM/SIGINT before it is interrupted.
    pub grace: Duration,
    /// The failure hook of schedules without their own.
    pub on_failure: Option<Vec<String>>,
}

impl Default for DaemonSettings {
    fn default() -> Self {
        DaemonSettings {
            listen: None,
            grace: DEFAULT_GRACE,
            on_failure: None,
        }
    }
}

/// Validates `[[schedules]]` and `[daemon]`. Errors name the file, the line and the key.
pub fn build(
    raw: Vec<RawSchedule>,
    daemon: RawDaemon,
    plugins: &BTreeMap<String, PluginConfig>,
    text: &str,
    path: &Path,
) -> Result<(Vec<Schedule>, DaemonSettings), ConfigError> {
    let line_of =
        |span: std::ops::Range<usize>| text[..span.start.min(text.len())].matches('\n').count() + 1;
    let mut schedules: Vec<Schedule> = Vec::new();
    for (index, s) in raw.into_iter().enumerate() {
        let line = line_of(s.name.span());
        let invalid = |message: String| ConfigError::Invalid {
            path: path.to_owned(),
            line,
            message: format!("schedules[{index}]: {message}"),
        };
        let name = s.name.into_inner();
        if name.is_empty()
            || name.len() > 64
            || name.starts_with('.')
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            return Err(invalid(format!(
                "name `{name}`: use 1 to 64 letters, digits, `-`, `_` or `.` (it names a folder)"
            )));
        }
        if schedules.iter().any(|other| other.name == name) {
            return Err(invalid(format!(
                "name `{name}` is used by another schedule"
            )));
        }
        if !plugins.contains_key(&s.plugin) && crate::first_party::find(&s.plugin).is_none() {
            return Err(invalid(format!(
                "plugin `{}` is neither first-party ({}) nor configured under [plugins.NAME]",
                s.plugin,
                crate::first_party::names().join(", ")
            )));
        }
        let timezone = s.timezone.map_or(Tz::UTC, |z| z.0);
        if s.cron
            .cron
            .find_next_occurrence(&Utc::now().with_timezone(&timezone), false)
            .is_err()
        {
            return Err(invalid(format!("cron `{}` never fires", s.cron.text)));
        }
        let catch_up = match (s.catch_up, s.catch_up_limit) {
            (RawCatchUp::All, limit) => match limit.unwrap_or(DEFAULT_CATCH_UP_LIMIT) {
                n @ 1..=10_000 => CatchUp::All(n),
                _ => return Err(invalid("catch_up_limit must be between 1 and 10000".into())),
            },
            (_, Some(_)) => {
                return Err(invalid(
                    "catch_up_limit bounds catch_up = \"all\" only".into(),
                ));
            }
            (RawCatchUp::None, None) => CatchUp::None,
            (RawCatchUp::Latest, None) => CatchUp::Latest,
        };
        if matches!(s.keep, Some(0) | Some(100_001..)) {
            return Err(invalid("keep must be between 1 and 100000".into()));
        }
        if s.on_failure
            .as_ref()
            .is_some_and(|c| c.is_empty() || c[0].is_empty())
        {
            return Err(invalid(
                "on_failure needs a command: [\"program\", \"arg\", ...]".into(),
            ));
        }
        let mut params = BTreeMap::new();
        for (k, v) in s.params {
            let Some(v) = crate::config::param_value(v) else {
                return Err(invalid(format!(
                    "params.{k} must be a string, number or boolean"
                )));
            };
            if matches!(k.as_str(), "scheduled_for" | "last_success_for") {
                return Err(invalid(format!(
                    "params.{k} is set by the daemon for each run"
                )));
            }
            params.insert(k, v);
        }
        schedules.push(Schedule {
            name,
            plugin: s.plugin,
            cron: s.cron,
            timezone,
            params,
            overlap: s.overlap,
            catch_up,
            keep: s.keep,
            limits: s.limits,
            on_failure: s.on_failure,
        });
    }

    let mut settings = DaemonSettings::default();
    if let Some(listen) = daemon.listen {
        let line = line_of(listen.span());
        let text = listen.into_inner();
        let addr: SocketAddr = text.parse().map_err(|_| ConfigError::Invalid {
            path: path.to_owned(),
            line,
            message: format!(
                "daemon.listen: `{text}` is not an address and port such as 127.0.0.1:9464"
            ),
        })?;
        settings.listen = Some(addr);
    }
    if let Some(grace) = daemon.grace_seconds {
        settings.grace = grace.0;
    }
    if daemon
        .on_failure
        .as_ref()
        .is_some_and(|c| c.is_empty() || c[0].is_empty())
    {
        return Err(ConfigError::Rule {
            path: path.to_owned(),
            message: "daemon.on_failure needs a command: [\"program\", \"arg\", ...]".into(),
        });
    }
    settings.on_failure = daemon.on_failure;
    Ok((schedules, settings))
}

/// The fire times a schedule runs now, oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub run: Vec<DateTime<Tz>>,
    /// Missed fire times the catch-up policy leaves out (counted up to 100000).
    pub dropped: u64,
}

impl Schedule {
    /// The first fire time strictly after `after`.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Tz>> {
        self.cron
            .cron
            .find_next_occurrence(&after.with_timezone(&self.timezone), false)
            .ok()
    }

    /// The next `count` fire times after `now`.
    pub fn upcoming(&self, now: DateTime<Utc>, count: usize) -> Vec<DateTime<Tz>> {
        let mut out = Vec::with_capacity(count);
        let mut cursor = now;
        while out.len() < count {
            let Some(next) = self.next_after(cursor) else {
                break;
            };
            cursor = next.with_timezone(&Utc);
            out.push(next);
        }
        out
    }

    /// Which fire times in `(last, now]` to run. Those after `on_time_after` are on time and
    /// always run; the others were missed (the daemon was down, or the machine asleep) and
    /// run as `catch_up` says. `last` is the latest fire time already taken on; `None` (the
    /// schedule never fired) misses nothing.
    pub fn plan(
        &self,
        last: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
        on_time_after: DateTime<Utc>,
    ) -> Plan {
        let floor = match last {
            Some(last) => last,
            None => on_time_after.max(now - chrono::Duration::days(36_600)),
        };
        let keep_missed = match self.catch_up {
            CatchUp::None => 0,
            CatchUp::Latest => 1,
            CatchUp::All(n) => n as usize,
        };
        let mut on_time = Vec::new();
        let mut missed = Vec::new();
        let mut dropped = 0u64;
        // Walk back from `now`: the on-time ones, then the latest missed ones, then count.
        let local_now = now.with_timezone(&self.timezone);
        let mut found = self
            .cron
            .cron
            .find_previous_occurrence(&local_now, true)
            .ok();
        while let Some(fire) = found {
            let at = fire.with_timezone(&Utc);
            if at <= floor {
                break;
            }
            if at > on_time_after {
                on_time.push(fire);
            } else if missed.len() < keep_missed {
                missed.push(fire);
            } else {
                dropped += 1;
                if dropped >= COUNT_DROPPED_UP_TO {
                    break;
                }
            }
            found = self.cron.cron.find_previous_occurrence(&fire, false).ok();
        }
        let mut run: Vec<DateTime<Tz>> = missed.into_iter().chain(on_time).collect();
        run.sort();
        Plan { run, dropped }
    }
}

/// The `scheduled_for` param of a fire time: RFC 3339 in the schedule's time zone.
pub fn nominal_text(fire: &DateTime<Tz>) -> String {
    fire.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// A fire time as a folder name: ISO 8601 basic format in the schedule's time zone
/// (`20261201T003000+0100`), without `:` so that any tool can handle it.
pub fn folder_name(fire: &DateTime<Tz>) -> String {
    fire.format("%Y%m%dT%H%M%S%z").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schedule(cron: &str, tz: &str, catch_up: CatchUp) -> Schedule {
        Schedule {
            name: "s".into(),
            plugin: "spend-report".into(),
            cron: CronLine::parse(cron).unwrap(),
            timezone: tz.parse().unwrap(),
            params: BTreeMap::new(),
            overlap: Overlap::Skip,
            catch_up,
            keep: None,
            limits: RawLimits::default(),
            on_failure: None,
        }
    }

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn texts(fires: &[DateTime<Tz>]) -> Vec<String> {
        fires.iter().map(nominal_text).collect()
    }

    #[test]
    fn monthly_fires_in_the_schedules_zone_across_year_and_dst() {
        let s = schedule("30 0 1 * *", "Europe/Copenhagen", CatchUp::Latest);
        assert_eq!(
            texts(&s.upcoming(utc("2026-10-15T12:00:00Z"), 4)),
            [
                "2026-11-01T00:30:00+01:00",
                "2026-12-01T00:30:00+01:00",
                "2027-01-01T00:30:00+01:00",
                "2027-02-01T00:30:00+01:00",
            ]
        );
        assert_eq!(
            folder_name(&s.upcoming(utc("2026-10-15T12:00:00Z"), 1)[0]),
            "20261101T003000+0100"
        );
        // Summer time: the same local time, another offset.
        assert_eq!(
            texts(&s.upcoming(utc("2026-05-15T00:00:00Z"), 1)),
            ["2026-06-01T00:30:00+02:00"]
        );
    }

    #[test]
    fn month_ends_and_leap_days() {
        let s = schedule("0 6 31 * *", "UTC", CatchUp::Latest);
        assert_eq!(
            texts(&s.upcoming(utc("2026-01-31T07:00:00Z"), 3)),
            [
                "2026-03-31T06:00:00Z",
                "2026-05-31T06:00:00Z",
                "2026-07-31T06:00:00Z"
            ],
            "months without a 31st are skipped"
        );
        let s = schedule("0 0 L * *", "UTC", CatchUp::Latest);
        assert_eq!(
            texts(&s.upcoming(utc("2028-01-31T00:00:00Z"), 2)),
            ["2028-02-29T00:00:00Z", "2028-03-31T00:00:00Z"],
            "L: the last day, February 29 in a leap year"
        );
        let s = schedule("0 0 29 2 *", "UTC", CatchUp::Latest);
        assert_eq!(
            texts(&s.upcoming(utc("2026-03-01T00:00:00Z"), 1)),
            ["2028-02-29T00:00:00Z"]
        );
    }

    #[test]
    fn dst_spring_forward_runs_a_skipped_time_once_after_the_gap() {
        // Copenhagen, 2026-03-29: 02:00 becomes 03:00, so 02:30 does not exist that day.
        let s = schedule("30 2 * * *", "Europe/Copenhagen", CatchUp::Latest);
        assert_eq!(
            texts(&s.upcoming(utc("2026-03-27T12:00:00Z"), 3)),
            [
                "2026-03-28T02:30:00+01:00",
                "2026-03-29T03:00:00+02:00",
                "2026-03-30T02:30:00+02:00",
            ]
        );
    }

    #[test]
    fn dst_fall_back_runs_a_repeated_time_once_and_intervals_on_every_instant() {
        // Copenhagen, 2026-10-25: 03:00 becomes 02:00 again, so 02:30 happens twice.
        let s = schedule("30 2 * * *", "Europe/Copenhagen", CatchUp::Latest);
        assert_eq!(
            texts(&s.upcoming(utc("2026-10-24T12:00:00Z"), 2)),
            ["2026-10-25T02:30:00+02:00", "2026-10-26T02:30:00+01:00"]
        );
        let s = schedule("*/30 * * * *", "Europe/Copenhagen", CatchUp::Latest);
        let fires = s.upcoming(utc("2026-10-24T23:45:00Z"), 4);
        assert_eq!(
            texts(&fires),
            [
                "2026-10-25T02:00:00+02:00",
                "2026-10-25T02:30:00+02:00",
                "2026-10-25T02:00:00+01:00",
                "2026-10-25T02:30:00+01:00",
            ]
        );
        let instants: Vec<i64> = fires.iter().map(|f| f.timestamp()).collect();
        assert!(
            instants.windows(2).all(|w| w[1] - w[0] == 1800),
            "every 30 real minutes"
        );
    }

    #[test]
    fn catch_up_after_a_week_of_downtime() {
        // Daily at 06:00; the daemon last fired Monday 06:00 and starts again a week later.
        let last = utc("2026-11-02T06:00:00Z");
        let now = utc("2026-11-09T07:00:00Z");
        let plan = |c| schedule("0 6 * * *", "UTC", c).plan(Some(last), now, now);
        assert_eq!(
            plan(CatchUp::None),
            Plan {
                run: vec![],
                dropped: 7
            }
        );
        let latest = plan(CatchUp::Latest);
        assert_eq!(texts(&latest.run), ["2026-11-09T06:00:00Z"]);
        assert_eq!(latest.dropped, 6);
        let three = plan(CatchUp::All(3));
        assert_eq!(
            texts(&three.run),
            [
                "2026-11-07T06:00:00Z",
                "2026-11-08T06:00:00Z",
                "2026-11-09T06:00:00Z"
            ]
        );
        assert_eq!(three.dropped, 4);
        let all = plan(CatchUp::All(10));
        assert_eq!(all.run.len(), 7);
        assert_eq!(all.dropped, 0);
        assert_eq!(
            nominal_text(&all.run[0]),
            "2026-11-03T06:00:00Z",
            "oldest first"
        );
    }

    #[test]
    fn on_time_fires_always_run_and_a_new_schedule_misses_nothing() {
        let s = schedule("* * * * * *", "UTC", CatchUp::None);
        let now = utc("2026-11-09T07:00:10Z");
        // Woken 3 seconds late: the 3 fire times since the last are on time.
        let plan = s.plan(
            Some(utc("2026-11-09T07:00:07Z")),
            now,
            now - chrono::Duration::seconds(60),
        );
        assert_eq!(
            texts(&plan.run),
            [
                "2026-11-09T07:00:08Z",
                "2026-11-09T07:00:09Z",
                "2026-11-09T07:00:10Z"
            ]
        );
        assert_eq!(
            s.plan(None, now, now),
            Plan {
                run: vec![],
                dropped: 0
            }
        );
        // Per-second downtime of a day: counted, bounded, nothing run.
        let plan = s.plan(Some(now - chrono::Duration::days(1)), now, now);
        assert_eq!(plan.dropped, 86_400);
    }

    #[test]
    fn bad_cron_lines_and_zones_are_refused() {
        for bad in [
            "* * * *",
            "61 * * * *",
            "* * * * * * *",
            "0 0 * * MON-XYZ",
            "",
        ] {
            assert!(CronLine::parse(bad).is_err(), "{bad}");
        }
        assert!(CronLine::parse("*/5 * * * * *").is_ok(), "seconds first");
        assert!(CronLine::parse("@daily").is_ok());
        let zone: Result<Zone, _> = toml::Value::String("Europe/Copenhagn".into()).try_into();
        assert!(zone.unwrap_err().to_string().contains("IANA"));
    }
}

#[cfg(test)]
mod config_tests {
    use std::path::Path;

    use crate::config::Config;

    fn parse(text: &str) -> Result<Config, String> {
        Config::parse(text, Path::new("/etc/pleo/pleo.toml")).map_err(|e| e.to_string())
    }

    const GOOD: &str =
        "[[schedules]]\nname = \"m\"\nplugin = \"spend-report\"\ncron = \"0 6 1 * *\"\n";

    #[test]
    fn schedules_and_daemon_parse_with_defaults() {
        let c = parse(&format!(
            "[daemon]\nlisten = \"127.0.0.1:9464\"\ngrace_seconds = 5\n{GOOD}\
             timezone = \"Europe/Copenhagen\"\nparams = {{ period = \"previous-month\", top = 5 }}\n\
             overlap = \"queue\"\ncatch_up = \"all\"\ncatch_up_limit = 3\nkeep = 12\n\
             limits = {{ wall_seconds = 30 }}\non_failure = [\"notify\", \"ops\"]\n{}",
            GOOD.replace("\"m\"", "\"n\"")
        ))
        .unwrap();
        assert_eq!(c.daemon.listen.unwrap().port(), 9464);
        assert_eq!(c.daemon.grace, std::time::Duration::from_secs(5));
        let (m, n) = (&c.schedules[0], &c.schedules[1]);
        assert_eq!(m.timezone, chrono_tz::Europe::Copenhagen);
        assert_eq!(m.params["top"], "5");
        assert_eq!(m.overlap, super::Overlap::Queue);
        assert_eq!(m.catch_up, super::CatchUp::All(3));
        assert_eq!(m.keep, Some(12));
        let wall = m.limits.apply(crate::config::Limits::default()).wall;
        assert_eq!(wall, std::time::Duration::from_secs(30));
        assert_eq!(m.on_failure.as_deref().unwrap(), ["notify", "ops"]);
        assert_eq!(n.timezone, chrono_tz::UTC, "defaults");
        assert_eq!(n.overlap, super::Overlap::Skip);
        assert_eq!(n.catch_up, super::CatchUp::Latest);
        assert_eq!(n.keep, None);
        assert!(parse("").unwrap().schedules.is_empty());
    }

    #[test]
    fn bad_schedules_name_file_line_and_key() {
        for (text, line, needle) in [
            (
                format!("environment = \"mock\"\n{GOOD}").replace("0 6 1 * *", "0 6 32 * *"),
                5,
                "schedules[0].cron",
            ),
            (
                format!("{GOOD}timezone = \"Europe/Kopenhagen\"\n"),
                5,
                "IANA",
            ),
            (format!("{GOOD}{GOOD}"), 6, "used by another schedule"),
            (GOOD.replace("spend-report", "nope"), 2, "plugin `nope`"),
            (GOOD.replace("\"m\"", "\"../etc\""), 2, "name `../etc`"),
            (
                format!("{GOOD}catch_up_limit = 3\n"),
                2,
                "catch_up = \"all\" only",
            ),
            (format!("{GOOD}keep = 0\n"), 2, "keep"),
            (
                format!("{GOOD}params = {{ scheduled_for = \"x\" }}\n"),
                2,
                "set by the daemon",
            ),
            (
                format!("{GOOD}limits = {{ memory_mb = 0 }}\n"),
                5,
                "schedules[0].limits.memory_mb: must be between 1 and 4096",
            ),
            (format!("{GOOD}cron_tz = \"UTC\"\n"), 5, "cron_tz"),
            (
                format!("[daemon]\nlisten = \"localhost\"\n{GOOD}"),
                2,
                "daemon.listen",
            ),
            (
                "[[schedules]]\nname = \"x\"\nplugin = \"spend-report\"\ncron = \"0 0 30 2 *\"\n"
                    .into(),
                2,
                "never fires",
            ),
        ] {
            let err = parse(&text).unwrap_err();
            assert!(
                err.starts_with(&format!("/etc/pleo/pleo.toml:{line}: ")),
                "{text}\n=> {err}"
            );
            assert!(err.contains(needle), "{text}\n=> {err}");
            assert!(!err.contains('\n'), "one line: {err}");
        }
    }
}
