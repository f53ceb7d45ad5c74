//! When to repeat a failed request, and after how long: exponential backoff with full jitter,
//! `Retry-After` honoured, attempts and total waiting bounded. Pure functions of their inputs
//! (the random draw is a parameter), so the policy is tested without a network or a clock.

use std::time::{Duration, SystemTime};

use chrono::{DateTime, NaiveDateTime, Utc};

/// How hard one call tries before it gives up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts per call, the first included (1 = never retry).
    pub max_attempts: u32,
    /// Upper bound of the random delay before the first retry; it doubles with each retry.
    pub initial_backoff: Duration,
    /// Upper bound of the random delay before any retry.
    pub max_backoff: Duration,
    /// Time one call may spend waiting between its attempts, `Retry-After` included. A wait
    /// that would go beyond it ends the call at once with the last error.
    pub max_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            initial_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(20),
            max_wait: Duration::from_secs(60),
        }
    }
}

/// What repeating a request may do, which decides the failures it is repeated after.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repeat {
    /// A read: repeating it changes nothing.
    Read,
    /// A write that Pleo applies twice with the same effect as once.
    IdempotentWrite,
    /// Any other write: a second one may act twice.
    Write,
}

/// How an attempt failed, reduced to what the decision to repeat it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Pleo answered with this status (and `Retry-After`, if it sent one).
    Status {
        status: u16,
        retry_after: Option<Duration>,
    },
    /// No connection could be made: the request never left this host.
    NotConnected,
    /// The request may have reached Pleo, but no complete answer came back (timeout, connection
    /// dropped while waiting or reading).
    NoAnswer,
    /// An answer that a repeat will not change (unreadable, too large).
    Permanent,
}

impl Failure {
    /// Whether repeating can help, for a request of kind `repeat`.
    ///
    /// Any request is repeated after a 429 (a rate limiter refuses before the request is
    /// processed) or when it never left this host. 502/503/504 and lost answers are repeated
    /// for reads and idempotent writes: a gateway may time out on a request that Pleo went on
    /// to process. A 500 is repeated for reads only (Pleo's errors page says to try again
    /// later; a write that failed half-way may have acted). 400/401/403/404/409/422 and every
    /// other status are never repeated: the same request gets the same answer.
    pub fn is_transient(self, repeat: Repeat) -> bool {
        match self {
            Failure::Status { status: 429, .. } | Failure::NotConnected => true,
            Failure::Status { status: 500, .. } => repeat == Repeat::Read,
            Failure::Status {
                status: 502..=504, ..
            }
            | Failure::NoAnswer => repeat != Repeat::Write,
            Failure::Status { .. } | Failure::Permanent => false,
        }
    }

    fn retry_after(self) -> Option<Duration> {
        match self {
            Failure::Status { retry_after, .. } => retry_after,
            _ => None,
        }
    }
}

/// What to do after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Wait this long, then try again.
    Retry(Duration),
    /// Give up and return the error.
    GiveUp,
}

impl RetryPolicy {
    /// Upper bound of the delay before retry number `retry` (1 for the first retry):
    /// `initial_backoff * 2^(retry-1)`, at most `max_backoff`.
    pub fn backoff_cap(&self, retry: u32) -> Duration {
        let doublings = retry.saturating_sub(1).min(30);
        self.initial_backoff
            .saturating_mul(1 << doublings)
            .min(self.max_backoff)
    }

    /// Full jitter: a delay drawn uniformly from `[0, cap)`; `unit` is a draw from `[0, 1)`.
    pub fn backoff(&self, retry: u32, unit: f64) -> Duration {
        self.backoff_cap(retry).mul_f64(unit.clamp(0.0, 1.0))
    }

    /// Decides after attempt number `attempt` (1-based) of a call failed with `failure`, the
    /// call having waited `waited` so far. A `Retry-After` is a minimum: the delay is the
    /// longer of it and the jittered backoff.
    pub fn next(
        &self,
        failure: Failure,
        repeat: Repeat,
        attempt: u32,
        waited: Duration,
        unit: f64,
    ) -> Verdict {
        if !failure.is_transient(repeat) || attempt >= self.max_attempts {
            return Verdict::GiveUp;
        }
        let backoff = self.backoff(attempt, unit);
        let delay = failure.retry_after().map_or(backoff, |ra| ra.max(backoff));
        if waited.saturating_add(delay) > self.max_wait {
            return Verdict::GiveUp;
        }
        Verdict::Retry(delay)
    }

    /// The wait to suggest to a caller after giving up on a 429: `Retry-After` if Pleo sent
    /// one, else the longest backoff the next retry could have used; whole seconds, at least 1.
    pub fn suggested_wait(&self, retry_after: Option<Duration>, attempts: u32) -> u32 {
        let wait = retry_after.unwrap_or_else(|| self.backoff_cap(attempts));
        whole_seconds(wait).max(1)
    }
}

/// A duration in whole seconds, rounded up, saturating.
pub fn whole_seconds(d: Duration) -> u32 {
    let secs = d.as_secs().saturating_add(u64::from(d.subsec_nanos() > 0));
    u32::try_from(secs).unwrap_or(u32::MAX)
}

/// Parses a `Retry-After` value: a number of seconds or an HTTP date (RFC 9110 §10.2.3), in
/// which case the delay is from `now` (zero if the date has passed). `None` if it is neither.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // Absurdly long numbers saturate rather than being ignored.
        let secs = value.parse::<u64>().unwrap_or(u64::MAX);
        return Some(Duration::from_secs(secs.min(u64::from(u32::MAX))));
    }
    let date = parse_http_date(value)?;
    let now = DateTime::<Utc>::from(now);
    Some((date - now).to_std().unwrap_or(Duration::ZERO))
}

/// The three forms of HTTP date a recipient must accept: IMF-fixdate
/// (`Sun, 06 Nov 1994 08:49:37 GMT`), RFC 850 (`Sunday, 06-Nov-94 08:49:37 GMT`) and asctime
/// (`Sun Nov  6 08:49:37 1994`).
fn parse_http_date(value: &str) -> Option<DateTime<Utc>> {
    if let Some(rest) = value.strip_suffix(" GMT") {
        for format in ["%a, %d %b %Y %H:%M:%S", "%A, %d-%b-%y %H:%M:%S"] {
            if let Ok(t) = NaiveDateTime::parse_from_str(rest, format) {
                return Some(t.and_utc());
            }
        }
        return None;
    }
    NaiveDateTime::parse_from_str(value, "%a %b %e %H:%M:%S %Y")
        .ok()
        .map(|t| t.and_utc())
}

#[cfg(test)]
mod tests {
    use super::Repeat::{IdempotentWrite, Read, Write};
    use super::*;

    const SEC: Duration = Duration::from_secs(1);

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 5,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(1000),
            max_wait: Duration::from_secs(10),
        }
    }

    fn status(status: u16) -> Failure {
        Failure::Status {
            status,
            retry_after: None,
        }
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_and_jitter_spans_zero_to_the_cap() {
        let p = policy();
        let caps: Vec<u128> = (1..=6).map(|r| p.backoff_cap(r).as_millis()).collect();
        assert_eq!(caps, [100, 200, 400, 800, 1000, 1000]);
        assert_eq!(p.backoff(3, 0.0), Duration::ZERO);
        assert_eq!(p.backoff(3, 0.5), Duration::from_millis(200));
        assert!(p.backoff(3, 0.999_999) < Duration::from_millis(400));
        // Far-out retries and silly draws neither overflow nor exceed the cap.
        assert_eq!(p.backoff_cap(u32::MAX), Duration::from_millis(1000));
        assert_eq!(p.backoff(2, 7.0), Duration::from_millis(200));
    }

    #[test]
    fn transient_failures_are_retried_with_backoff() {
        let p = policy();
        for failure in [
            status(429),
            status(500),
            status(502),
            status(503),
            status(504),
            Failure::NotConnected,
            Failure::NoAnswer,
        ] {
            assert_eq!(
                p.next(failure, Read, 2, Duration::ZERO, 0.5),
                Verdict::Retry(Duration::from_millis(100)),
                "{failure:?}"
            );
        }
    }

    #[test]
    fn client_errors_and_other_statuses_are_never_retried() {
        let p = policy();
        for code in [400, 401, 403, 404, 409, 413, 422, 501] {
            assert_eq!(
                p.next(status(code), Read, 1, Duration::ZERO, 0.5),
                Verdict::GiveUp,
                "{code}"
            );
        }
        assert_eq!(
            p.next(Failure::Permanent, Read, 1, Duration::ZERO, 0.5),
            Verdict::GiveUp
        );
    }

    #[test]
    fn unsafe_requests_are_retried_only_when_they_cannot_have_been_processed() {
        let p = policy();
        let retried = |f| matches!(p.next(f, Write, 1, Duration::ZERO, 0.5), Verdict::Retry(_));
        assert!(retried(status(429)));
        assert!(retried(Failure::NotConnected));
        assert!(!retried(status(500)));
        assert!(!retried(status(502)));
        assert!(!retried(status(503)));
        assert!(!retried(status(504)));
        assert!(!retried(Failure::NoAnswer));
    }

    #[test]
    fn idempotent_writes_are_retried_after_a_gateway_error_but_not_after_a_500() {
        let p = policy();
        let retried = |f| {
            matches!(
                p.next(f, IdempotentWrite, 1, Duration::ZERO, 0.5),
                Verdict::Retry(_)
            )
        };
        for failure in [
            status(429),
            status(502),
            status(503),
            status(504),
            Failure::NotConnected,
            Failure::NoAnswer,
        ] {
            assert!(retried(failure), "{failure:?}");
        }
        // A 500 may come from a write that acted half-way: only reads repeat it.
        assert!(!retried(status(500)));
    }

    #[test]
    fn attempts_are_bounded() {
        let p = policy();
        assert!(matches!(
            p.next(status(503), Read, 4, Duration::ZERO, 0.5),
            Verdict::Retry(_)
        ));
        assert_eq!(
            p.next(status(503), Read, 5, Duration::ZERO, 0.5),
            Verdict::GiveUp
        );
        let once = RetryPolicy {
            max_attempts: 1,
            ..p
        };
        assert_eq!(
            once.next(status(503), Read, 1, Duration::ZERO, 0.0),
            Verdict::GiveUp
        );
    }

    #[test]
    fn retry_after_is_a_minimum_and_counts_against_the_total_wait() {
        let p = policy();
        let limited = |secs| Failure::Status {
            status: 429,
            retry_after: Some(Duration::from_secs(secs)),
        };
        assert_eq!(
            p.next(limited(3), Read, 1, Duration::ZERO, 0.9),
            Verdict::Retry(3 * SEC)
        );
        // A backoff longer than Retry-After wins.
        assert_eq!(
            p.next(limited(0), Read, 4, Duration::ZERO, 0.5),
            Verdict::Retry(Duration::from_millis(400))
        );
        // Waiting 3 s more after 8 s would exceed the 10 s budget: give up now, not later.
        assert_eq!(p.next(limited(3), Read, 2, 8 * SEC, 0.5), Verdict::GiveUp);
        assert_eq!(
            p.next(limited(60), Read, 1, Duration::ZERO, 0.5),
            Verdict::GiveUp
        );
        assert_eq!(
            p.next(limited(2), Read, 2, 8 * SEC, 0.5),
            Verdict::Retry(2 * SEC)
        );
    }

    #[test]
    fn the_suggested_wait_after_giving_up_is_whole_seconds() {
        let p = policy();
        assert_eq!(p.suggested_wait(Some(Duration::from_secs(30)), 5), 30);
        assert_eq!(p.suggested_wait(Some(Duration::ZERO), 5), 1);
        assert_eq!(p.suggested_wait(None, 2), 1);
        assert_eq!(
            RetryPolicy {
                max_backoff: Duration::from_millis(2500),
                ..p
            }
            .suggested_wait(None, 9),
            3
        );
        assert_eq!(whole_seconds(Duration::from_millis(1001)), 2);
        assert_eq!(whole_seconds(Duration::MAX), u32::MAX);
    }

    #[test]
    fn retry_after_in_seconds() {
        let now = SystemTime::now();
        assert_eq!(parse_retry_after("120", now), Some(120 * SEC));
        assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after("99999999999999999999999", now),
            Some(Duration::from_secs(u64::from(u32::MAX)))
        );
        for bad in ["", "-1", "1.5", "soon", "12 s", "0x10"] {
            assert_eq!(parse_retry_after(bad, now), None, "{bad:?}");
        }
    }

    #[test]
    fn retry_after_as_an_http_date_in_all_three_formats() {
        // 1994-11-06T08:49:07Z, 30 s before the date in the headers below.
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_747);
        for value in [
            "Sun, 06 Nov 1994 08:49:37 GMT",
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
        ] {
            assert_eq!(parse_retry_after(value, now), Some(30 * SEC), "{value}");
        }
        // A date in the past means now.
        let later = now + Duration::from_secs(3600);
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", later),
            Some(Duration::ZERO)
        );
        for bad in [
            "Sun, 06 Nov 1994 08:49:37",
            "Sun, 06 Nov 1994 08:49:37 CET",
            "Sun, 32 Nov 1994 08:49:37 GMT",
            "yesterday",
        ] {
            assert_eq!(parse_retry_after(bad, now), None, "{bad}");
        }
    }
}
