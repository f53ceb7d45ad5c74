//! Client-side rate limiting: one token bucket per API key (and Pleo environment), shared by
//! every client in the process, so that several runs with the same key together stay under the
//! limit Pleo enforces for that key.
//!
//! [`TokenBucket`] is plain state that takes the current time as an argument (testable without
//! sleeping); the mock's per-key limit uses it too. [`RateLimiter`] is the shared, locked bucket
//! the client waits on.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};

/// A rate: `per_minute` requests a minute on average, at most `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub per_minute: u32,
    pub burst: u32,
}

impl RateLimit {
    /// No pacing in practice (for the embedded mock, which has no limit of its own).
    pub const UNLIMITED: RateLimit = RateLimit {
        per_minute: 1_000_000,
        burst: 100_000,
    };
}

impl Default for RateLimit {
    /// 600 a minute: the limit a live integration reports for Pleo (pleo-api.md §5). The burst
    /// is kept small because Pleo's tolerance for bursts is not documented.
    fn default() -> Self {
        RateLimit {
            per_minute: 600,
            burst: 5,
        }
    }
}

impl RateLimit {
    fn per_second(self) -> f64 {
        f64::from(self.per_minute.max(1)) / 60.0
    }

    fn capacity(self) -> f64 {
        f64::from(self.burst.max(1))
    }
}

/// A token bucket holding up to `burst` tokens, refilled at `per_minute / 60` tokens a second;
/// a request takes one token. It starts full.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    limit: RateLimit,
    /// Negative when callers have reserved tokens that are not there yet (they are waiting).
    tokens: f64,
    updated: Instant,
    /// Nobody gets a token before this instant (the server asked us to back off).
    paused_until: Option<Instant>,
}

impl TokenBucket {
    pub fn new(limit: RateLimit, now: Instant) -> TokenBucket {
        TokenBucket {
            limit,
            tokens: limit.capacity(),
            updated: now,
            paused_until: None,
        }
    }

    pub fn limit(&self) -> RateLimit {
        self.limit
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        if elapsed > 0.0 {
            self.tokens =
                (self.tokens + elapsed * self.limit.per_second()).min(self.limit.capacity());
            self.updated = now;
        }
    }

    /// Takes a token for a caller that is prepared to wait, and returns how long it must wait
    /// before sending. Never refuses: a caller that has to wait is queued behind the earlier
    /// ones (the bucket goes negative), so waiting callers are served in order.
    pub fn reserve(&mut self, now: Instant) -> Duration {
        self.refill(now);
        self.tokens -= 1.0;
        let for_token = if self.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-self.tokens / self.limit.per_second())
        };
        let for_pause = self
            .paused_until
            .map_or(Duration::ZERO, |until| until.saturating_duration_since(now));
        for_token.max(for_pause)
    }

    /// Takes a token if one is there now; otherwise says how long until one will be. This is
    /// the rule of a server that answers 429 instead of queueing (the mock's per-key limit).
    pub fn try_take(&mut self, now: Instant) -> Result<(), Duration> {
        self.refill(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64(
                (1.0 - self.tokens) / self.limit.per_second(),
            ))
        }
    }

    /// Hands out no token before `until` (Pleo answered 429 with `Retry-After`).
    pub fn pause_until(&mut self, until: Instant) {
        self.paused_until = Some(self.paused_until.map_or(until, |p| p.max(until)));
    }

    /// Changes the rate from now on, keeping tokens already earned (up to the new burst).
    pub fn set_limit(&mut self, limit: RateLimit, now: Instant) {
        self.refill(now);
        self.limit = limit;
        self.tokens = self.tokens.min(limit.capacity());
    }
}

/// A token bucket shared by every client that uses one key against one Pleo.
#[derive(Debug)]
pub struct RateLimiter {
    bucket: Mutex<TokenBucket>,
}

impl RateLimiter {
    pub fn new(limit: RateLimit) -> RateLimiter {
        RateLimiter {
            bucket: Mutex::new(TokenBucket::new(limit, Instant::now())),
        }
    }

    fn bucket(&self) -> std::sync::MutexGuard<'_, TokenBucket> {
        // The bucket is consistent after every method; a panic elsewhere cannot corrupt it.
        self.bucket.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn limit(&self) -> RateLimit {
        self.bucket().limit()
    }

    /// Takes a token and returns how long the caller must wait before sending (the caller
    /// sleeps, so that it can report the wait first).
    pub fn reserve(&self) -> Duration {
        self.bucket().reserve(Instant::now())
    }

    /// Nobody sharing this limiter sends before `until`.
    pub fn pause_until(&self, until: Instant) {
        self.bucket().pause_until(until);
    }

    fn set_limit(&self, limit: RateLimit) {
        let mut bucket = self.bucket();
        if bucket.limit() != limit {
            bucket.set_limit(limit, Instant::now());
        }
    }
}

type Registry = Mutex<HashMap<[u8; 32], Weak<RateLimiter>>>;

/// The limiter of `key_id` (a fingerprint of the key and the base URL, never the key itself),
/// shared by every client of this process that uses them. A client configured with another
/// `limit` changes the shared limiter's rate: the latest configuration wins.
pub fn shared(key_id: [u8; 32], limit: RateLimit) -> Arc<RateLimiter> {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    let mut registry = REGISTRY
        .get_or_init(Registry::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    registry.retain(|_, limiter| limiter.strong_count() > 0);
    if let Some(limiter) = registry.get(&key_id).and_then(Weak::upgrade) {
        limiter.set_limit(limit);
        return limiter;
    }
    let limiter = Arc::new(RateLimiter::new(limit));
    registry.insert(key_id, Arc::downgrade(&limiter));
    limiter
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    fn limit(per_minute: u32, burst: u32) -> RateLimit {
        RateLimit { per_minute, burst }
    }

    #[test]
    fn a_full_bucket_lets_a_burst_through_then_paces_at_the_rate() {
        let t0 = Instant::now();
        let mut bucket = TokenBucket::new(limit(600, 3), t0);
        for _ in 0..3 {
            assert_eq!(bucket.reserve(t0), Duration::ZERO);
        }
        // 600/min is one token every 100 ms; callers queue one behind the other.
        let waits: Vec<Duration> = (0..3).map(|_| bucket.reserve(t0)).collect();
        for (got, want) in waits.iter().zip([100, 200, 300]) {
            assert!(got.abs_diff(want * MS) < MS, "{got:?} vs {want} ms");
        }
    }

    #[test]
    fn the_bucket_refills_over_time_but_never_beyond_the_burst() {
        let t0 = Instant::now();
        let mut bucket = TokenBucket::new(limit(60, 2), t0);
        assert_eq!(bucket.reserve(t0), Duration::ZERO);
        assert_eq!(bucket.reserve(t0), Duration::ZERO);
        // One token a second; an hour of idling still leaves only `burst` tokens.
        let later = t0 + Duration::from_secs(3600);
        assert_eq!(bucket.reserve(later), Duration::ZERO);
        assert_eq!(bucket.reserve(later), Duration::ZERO);
        let wait = bucket.reserve(later);
        assert!(wait.abs_diff(Duration::from_secs(1)) < MS, "{wait:?}");
    }

    #[test]
    fn requests_per_minute_stay_within_the_limit_over_a_long_run() {
        // Drive the bucket as a sender would: each request goes out when its wait is over.
        let t0 = Instant::now();
        let mut bucket = TokenBucket::new(limit(600, 5), t0);
        let mut now = t0;
        let mut sent = 0;
        while now < t0 + Duration::from_secs(60) {
            now += bucket.reserve(now);
            sent += 1;
        }
        // 600 in the minute plus the initial burst, give or take the last one.
        assert!((604..=606).contains(&sent), "{sent}");
    }

    #[test]
    fn try_take_refuses_without_queueing_and_says_how_long_to_wait() {
        let t0 = Instant::now();
        let mut bucket = TokenBucket::new(limit(120, 1), t0);
        assert_eq!(bucket.try_take(t0), Ok(()));
        let wait = bucket.try_take(t0).unwrap_err();
        assert!(wait.abs_diff(Duration::from_millis(500)) < MS, "{wait:?}");
        // A refusal does not use up a token.
        assert_eq!(bucket.try_take(t0 + Duration::from_millis(500)), Ok(()));
    }

    /// The wait counts the part of a token already earned: half a token earned halves it.
    #[test]
    fn try_take_counts_a_partly_earned_token() {
        let t0 = Instant::now();
        let mut bucket = TokenBucket::new(limit(60, 1), t0);
        assert_eq!(bucket.try_take(t0), Ok(()));
        let wait = bucket
            .try_take(t0 + Duration::from_millis(250))
            .unwrap_err();
        assert!(wait.abs_diff(Duration::from_millis(750)) < MS, "{wait:?}");
    }

    /// The shared limiter (what clients wait on) queues callers and honours a pause; each
    /// wait is far longer than the test can take, so no clock reading decides the outcome.
    #[test]
    fn the_shared_limiter_queues_callers_and_holds_them_during_a_pause() {
        let limiter = RateLimiter::new(limit(1, 1));
        assert_eq!(limiter.reserve(), Duration::ZERO);
        // One a minute: the second caller waits about a minute.
        assert!(limiter.reserve() > Duration::from_secs(30));
        let limiter = RateLimiter::new(limit(600, 10));
        limiter.pause_until(Instant::now() + Duration::from_secs(3600));
        assert!(limiter.reserve() > Duration::from_secs(3000));
    }

    #[test]
    fn a_pause_holds_every_caller_back_until_it_ends() {
        let t0 = Instant::now();
        let mut bucket = TokenBucket::new(limit(600, 10), t0);
        bucket.pause_until(t0 + Duration::from_secs(2));
        assert_eq!(bucket.reserve(t0), Duration::from_secs(2));
        let later = t0 + Duration::from_millis(1500);
        assert_eq!(bucket.reserve(later), Duration::from_millis(500));
        // A shorter pause does not shorten a longer one.
        bucket.pause_until(t0 + Duration::from_secs(1));
        assert_eq!(bucket.reserve(later), Duration::from_millis(500));
        assert_eq!(bucket.reserve(t0 + Duration::from_secs(3)), Duration::ZERO);
    }

    #[test]
    fn a_new_limit_applies_from_now_and_keeps_at_most_the_new_burst() {
        let t0 = Instant::now();
        let mut bucket = TokenBucket::new(limit(600, 10), t0);
        bucket.set_limit(limit(60, 1), t0);
        assert_eq!(bucket.reserve(t0), Duration::ZERO);
        let wait = bucket.reserve(t0);
        assert!(wait.abs_diff(Duration::from_secs(1)) < MS, "{wait:?}");
    }

    #[test]
    fn clients_of_one_key_share_one_limiter_and_other_keys_do_not() {
        let a = shared([1; 32], limit(600, 5));
        let b = shared([1; 32], limit(600, 5));
        let other = shared([2; 32], limit(600, 5));
        assert!(Arc::ptr_eq(&a, &b));
        assert!(!Arc::ptr_eq(&a, &other));
        // The latest configuration wins for everyone sharing it.
        let c = shared([1; 32], limit(1200, 5));
        assert!(Arc::ptr_eq(&a, &c));
        assert_eq!(a.limit(), limit(1200, 5));
        // Once nobody holds it, the next client starts afresh.
        drop((a, b, c));
        let fresh = shared([1; 32], limit(60, 1));
        assert_eq!(fresh.limit(), limit(60, 1));
    }
}
