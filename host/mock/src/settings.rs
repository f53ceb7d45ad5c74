//! The mock's settings as people write them: the `[mock]` table of pleo.toml and the flags of
//! `pleo-host mock-api`. Both go through the types here, so a share, a latency or a per-route
//! rule is parsed and checked by one piece of code whichever way it is given.

use std::time::Duration;

use serde::Deserialize;

use crate::MockConfig;
use crate::faults::{FaultConfig, FaultRates, RouteFaults};
use crate::rate_limit::RateLimit;
pub use crate::scopes::Spelling;

/// Settings of the embedded mock Pleo API.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, expecting = "a [mock] table")]
pub struct MockSettings {
    /// Seed of the generated company data; the same seed gives the same data.
    pub seed: Option<u64>,
    /// Scopes the mock grants its key (default: every scope, in `scope_spelling`).
    pub scopes: Option<Vec<String>>,
    /// `"staging"` (default) or `"production"`: the environment whose scope spellings the
    /// mock uses (`tag-groups:read` or `tag-group:read`).
    pub scope_spelling: Option<Spelling>,
    /// Last day of the 12 months of generated data, `"YYYY-MM-DD"` (default: today, UTC).
    pub anchor: Option<chrono::NaiveDate>,
    /// Companies under the mock key (more than one: a multi-entity key). Default 1.
    pub companies: Option<usize>,
    /// The key the mock accepts (default: the configured key, so any key works); set it to
    /// see how the host handles a key Pleo refuses.
    pub accept_key: Option<String>,
    /// Testing switch: the mock copies the request's Authorization header into every error
    /// message, as a careless or hostile server might. The host must redact it everywhere.
    #[serde(default)]
    pub echo_authorization: bool,
    /// Per-key rate limit of the mock, requests a minute; over it the mock answers 429 with
    /// `Retry-After`, as Pleo does (default: no limit).
    pub rate_limit_per_minute: Option<u32>,
    /// Requests the per-key limit lets through at once (default: a second's worth, at least 1).
    pub rate_limit_burst: Option<u32>,
    /// Injected faults (default: none).
    pub faults: Option<MockFaults>,
    /// Testing switch: the mock keeps every request and answer (see
    /// [`MockServer::exchanges`](crate::MockServer::exchanges)).
    #[serde(default)]
    pub record: bool,
}

/// A share of requests, from 0 to 1.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(try_from = "f64")]
pub struct Share(pub f64);

impl TryFrom<f64> for Share {
    type Error = String;
    fn try_from(v: f64) -> Result<Share, String> {
        if (0.0..=1.0).contains(&v) {
            Ok(Share(v))
        } else {
            Err(format!("must be a share between 0 and 1, not {v}"))
        }
    }
}

/// A number of seconds, 0 or more.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(try_from = "f64")]
pub struct Seconds(pub Duration);

impl TryFrom<f64> for Seconds {
    type Error = String;
    fn try_from(v: f64) -> Result<Seconds, String> {
        if v.is_finite() && (0.0..1e6).contains(&v) {
            Ok(Seconds(Duration::from_secs_f64(v)))
        } else {
            Err(format!("must be a number of seconds, 0 or more, not {v}"))
        }
    }
}

/// `[mock.faults]`: faults the mock injects, for every route that no `[[mock.faults.routes]]`
/// entry matches.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, expecting = "a [mock.faults] table")]
pub struct MockFaults {
    /// Seed of the fault draws (default 0): the same seed and requests give the same faults.
    pub seed: Option<u64>,
    /// Share of requests answered 429 with `Retry-After`.
    pub too_many_requests: Option<Share>,
    /// The `Retry-After` of those 429s (default 1).
    pub retry_after_seconds: Option<u32>,
    /// Share of requests answered 503.
    pub unavailable: Option<Share>,
    /// Share of requests answered 500.
    pub internal_error: Option<Share>,
    /// Share of requests whose connection is closed without an answer.
    pub drop: Option<Share>,
    /// Share of requests handled (a write is made) whose connection is then closed without
    /// the answer.
    pub drop_answer: Option<Share>,
    /// Added to every request.
    pub latency_seconds: Option<Seconds>,
    /// Per-route faults; the first whose `path` matches applies.
    #[serde(default)]
    pub routes: Vec<MockRouteFaults>,
}

/// `[[mock.faults.routes]]`: faults for the routes `path` matches, a template
/// (`/v2/employees/{id}`) or a prefix ending in `*`. Unset keys take `[mock.faults]`'s values.
#[derive(Debug, Clone, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a [[mock.faults.routes]] table with `path`"
)]
pub struct MockRouteFaults {
    pub path: String,
    pub too_many_requests: Option<Share>,
    pub retry_after_seconds: Option<u32>,
    pub unavailable: Option<Share>,
    pub internal_error: Option<Share>,
    pub drop: Option<Share>,
    pub drop_answer: Option<Share>,
    pub latency_seconds: Option<Seconds>,
}

/// The keys one fault rule may set; unset ones keep the values of the rule below it.
struct RuleKeys {
    too_many_requests: Option<Share>,
    retry_after_seconds: Option<u32>,
    unavailable: Option<Share>,
    internal_error: Option<Share>,
    drop: Option<Share>,
    drop_answer: Option<Share>,
    latency: Option<Seconds>,
}

/// `base` with the settings that are present replacing its values.
fn fault_rates(base: FaultRates, keys: RuleKeys) -> FaultRates {
    FaultRates {
        too_many_requests: keys
            .too_many_requests
            .map_or(base.too_many_requests, |s| s.0),
        retry_after: keys.retry_after_seconds.unwrap_or(base.retry_after),
        unavailable: keys.unavailable.map_or(base.unavailable, |s| s.0),
        internal_error: keys.internal_error.map_or(base.internal_error, |s| s.0),
        drop: keys.drop.map_or(base.drop, |s| s.0),
        drop_answer: keys.drop_answer.map_or(base.drop_answer, |s| s.0),
        latency: keys.latency.map_or(base.latency, |s| s.0),
    }
}

impl MockSettings {
    /// The server these settings describe. It accepts `default_key` unless `accept_key` is set
    /// (the host passes its configured key, so any key works against the embedded mock).
    pub fn server_config(&self, default_key: String) -> MockConfig {
        let defaults = MockConfig::default();
        let spelling = self.scope_spelling.unwrap_or_default();
        MockConfig {
            seed: self.seed.unwrap_or(defaults.seed),
            scopes: self
                .scopes
                .clone()
                .unwrap_or_else(|| spelling.all().into_iter().map(str::to_owned).collect()),
            scope_spelling: spelling,
            anchor: self.anchor.unwrap_or(defaults.anchor),
            companies: self.companies.unwrap_or(defaults.companies),
            echo_authorization: self.echo_authorization,
            record: self.record,
            faults: self.fault_config(),
            api_key: self.accept_key.clone().unwrap_or(default_key),
            ..defaults
        }
    }

    /// The fault injection and per-key limit these settings ask the mock for.
    pub fn fault_config(&self) -> FaultConfig {
        let faults = self.faults.clone().unwrap_or_default();
        let global = fault_rates(
            FaultRates::default(),
            RuleKeys {
                too_many_requests: faults.too_many_requests,
                retry_after_seconds: faults.retry_after_seconds,
                unavailable: faults.unavailable,
                internal_error: faults.internal_error,
                drop: faults.drop,
                drop_answer: faults.drop_answer,
                latency: faults.latency_seconds,
            },
        );
        let routes = faults
            .routes
            .iter()
            .map(|r| RouteFaults {
                path: r.path.clone(),
                rates: fault_rates(
                    global,
                    RuleKeys {
                        too_many_requests: r.too_many_requests,
                        retry_after_seconds: r.retry_after_seconds,
                        unavailable: r.unavailable,
                        internal_error: r.internal_error,
                        drop: r.drop,
                        drop_answer: r.drop_answer,
                        latency: r.latency_seconds,
                    },
                ),
            })
            .collect();
        FaultConfig {
            seed: faults.seed.unwrap_or(0),
            global,
            routes,
            rate_limit: self
                .rate_limit_per_minute
                .map(|per_minute| RateLimit::with_default_burst(per_minute, self.rate_limit_burst)),
        }
    }
}

impl MockRouteFaults {
    /// A rule as the `--route-faults` flag gives it: `PATH,KEY=VALUE,...` with keys `429`,
    /// `503`, `500`, `drop`, `drop-answer` (shares), `latency-ms` and `retry-after`; unset keys inherit.
    pub fn parse_flag(spec: &str) -> Result<MockRouteFaults, String> {
        let mut parts = spec.split(',');
        let path = parts.next().unwrap_or_default().trim().to_owned();
        let mut rule = MockRouteFaults {
            path,
            too_many_requests: None,
            retry_after_seconds: None,
            unavailable: None,
            internal_error: None,
            drop: None,
            drop_answer: None,
            latency_seconds: None,
        };
        for part in parts {
            let (key, value) = part.split_once('=').unwrap_or((part, ""));
            let value = value.trim();
            let bad = |why: String| format!("--route-faults {spec}: bad `{part}`: {why}");
            let share = || -> Result<Option<Share>, String> {
                let v: f64 = value.parse().map_err(|_| bad("not a number".into()))?;
                Share::try_from(v).map(Some).map_err(bad)
            };
            match key.trim() {
                "429" => rule.too_many_requests = share()?,
                "503" => rule.unavailable = share()?,
                "500" => rule.internal_error = share()?,
                "drop" => rule.drop = share()?,
                "drop-answer" => rule.drop_answer = share()?,
                "latency-ms" => {
                    let ms: u64 = value
                        .parse()
                        .map_err(|_| bad("not whole milliseconds".into()))?;
                    rule.latency_seconds =
                        Some(Seconds::try_from(ms as f64 / 1000.0).map_err(bad)?);
                }
                "retry-after" => {
                    rule.retry_after_seconds =
                        Some(value.parse().map_err(|_| bad("not whole seconds".into()))?);
                }
                _ => return Err(bad("unknown key".into())),
            }
        }
        Ok(rule)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_route_flag_gives_the_rule_the_toml_table_would() {
        let flag =
            MockRouteFaults::parse_flag("/v2/employees/{id},503=0.5,latency-ms=200").unwrap();
        let toml: MockRouteFaults = toml_like();
        assert_eq!(flag.path, toml.path);
        assert_eq!(flag.unavailable, toml.unavailable);
        assert_eq!(flag.latency_seconds, toml.latency_seconds);
        assert_eq!(flag.too_many_requests, None, "unset keys inherit");
    }

    fn toml_like() -> MockRouteFaults {
        MockRouteFaults {
            path: "/v2/employees/{id}".into(),
            too_many_requests: None,
            retry_after_seconds: None,
            unavailable: Some(Share(0.5)),
            internal_error: None,
            drop: None,
            drop_answer: None,
            latency_seconds: Some(Seconds(Duration::from_millis(200))),
        }
    }

    #[test]
    fn bad_flags_name_the_part() {
        for (spec, part) in [
            ("/x,503=2", "503=2"),
            ("/x,drop=lots", "drop=lots"),
            ("/x,drop-answer=2", "drop-answer=2"),
            ("/x,colour=red", "colour=red"),
            ("/x,latency-ms=-1", "latency-ms=-1"),
        ] {
            let e = MockRouteFaults::parse_flag(spec).unwrap_err();
            assert!(e.contains(&format!("bad `{part}`")), "{e}");
        }
    }
}
