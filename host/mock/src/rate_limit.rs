//! The mock's per-key rate limit: Pleo's rule as the mock enforces it, written independently
//! of the host client's token bucket so that a test of "the client stays under the limit"
//! compares two implementations, not one with itself.
//!
//! The rule is the generic cell rate algorithm (GCRA) in whole nanoseconds: one request every
//! `60 s / per_minute` on average, with up to `burst` at once. It admits exactly what a token
//! bucket of `burst` tokens refilled at `per_minute / 60` a second admits, but keeps a single
//! "theoretical arrival time" instead of a token count.

use std::time::{Duration, Instant};

/// `per_minute` requests a minute on average, at most `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub per_minute: u32,
    pub burst: u32,
}

impl RateLimit {
    /// The burst a limit gets when none is set: a second's worth, at least 1.
    pub fn with_default_burst(per_minute: u32, burst: Option<u32>) -> RateLimit {
        RateLimit {
            per_minute,
            burst: burst.unwrap_or((per_minute / 60).max(1)),
        }
    }

    /// Time between two requests at the average rate.
    fn interval_ns(self) -> u128 {
        60_000_000_000 / u128::from(self.per_minute.max(1))
    }
}

/// The state of one key's limit.
#[derive(Debug, Clone)]
pub(crate) struct Gcra {
    limit: RateLimit,
    start: Instant,
    /// When the next request would be "on time", in nanoseconds since `start`.
    tat_ns: u128,
}

impl Gcra {
    pub(crate) fn new(limit: RateLimit, now: Instant) -> Gcra {
        Gcra {
            limit,
            start: now,
            tat_ns: 0,
        }
    }

    /// Admits a request arriving at `now`, or says how long until one would be admitted.
    pub(crate) fn admit(&mut self, now: Instant) -> Result<(), Duration> {
        let interval = self.limit.interval_ns();
        // A burst of `b` may arrive up to `(b - 1)` intervals early.
        let tolerance = interval * u128::from(self.limit.burst.max(1) - 1);
        let now_ns = now.saturating_duration_since(self.start).as_nanos();
        let tat = self.tat_ns.max(now_ns);
        let earliest = tat.saturating_sub(tolerance);
        if now_ns < earliest {
            let wait = earliest - now_ns;
            return Err(Duration::from_nanos(
                u64::try_from(wait).unwrap_or(u64::MAX),
            ));
        }
        self.tat_ns = tat + interval;
        Ok(())
    }
}

/// Seconds for a `Retry-After` header: rounded up, at least 1.
pub(crate) fn retry_after_seconds(wait: Duration) -> u64 {
    let whole = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    whole.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limit(per_minute: u32, burst: u32) -> RateLimit {
        RateLimit { per_minute, burst }
    }

    #[test]
    fn a_burst_passes_then_one_request_per_interval() {
        let t0 = Instant::now();
        let mut g = Gcra::new(limit(60, 3), t0);
        for _ in 0..3 {
            assert!(g.admit(t0).is_ok());
        }
        let wait = g.admit(t0).expect_err("the burst is used");
        assert_eq!(wait, Duration::from_secs(1));
        assert!(g.admit(t0 + Duration::from_millis(999)).is_err());
        assert!(g.admit(t0 + Duration::from_secs(1)).is_ok());
        assert!(g.admit(t0 + Duration::from_secs(1)).is_err());
    }

    #[test]
    fn an_idle_key_gets_its_whole_burst_back_and_no_more() {
        let t0 = Instant::now();
        let mut g = Gcra::new(limit(600, 5), t0);
        let later = t0 + Duration::from_secs(3600);
        let admitted = (0..20).filter(|_| g.admit(later).is_ok()).count();
        assert_eq!(admitted, 5);
    }

    #[test]
    fn over_a_minute_at_most_burst_plus_rate_pass() {
        let t0 = Instant::now();
        let mut g = Gcra::new(limit(120, 4), t0);
        // One attempt every 10 ms for 60 s.
        let admitted = (0..6000)
            .filter(|i| g.admit(t0 + Duration::from_millis(i * 10)).is_ok())
            .count();
        assert!((120..=124).contains(&admitted), "{admitted}");
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        assert_eq!(retry_after_seconds(Duration::ZERO), 1);
        assert_eq!(retry_after_seconds(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_seconds(Duration::from_millis(1001)), 2);
        assert_eq!(retry_after_seconds(Duration::from_secs(7)), 7);
    }
}
