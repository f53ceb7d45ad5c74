//! The mock's own clock. Every timestamp the mock writes (export job events, item updates,
//! created and updated objects, receipt link expiry) and every expiry it checks comes from
//! here, so a test can move time forward ([`MockServer::advance_clock`]) instead of waiting.
//!
//! It starts at [`epoch`], a moment fixed by the config (the morning after the last day of
//! data), so seeded objects can be placed relative to it and the same config always gives the
//! same data. From there it runs with real time, plus whatever the tests added.
//!
//! [`MockServer::advance_clock`]: super::MockServer::advance_clock

use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, NaiveTime, TimeDelta, Utc};

/// When the mock's clock starts: 08:00 UTC on the day after `anchor` (the last day of data),
/// so everything generated lies in the past.
pub(super) fn epoch(anchor: NaiveDate) -> DateTime<Utc> {
    let day = anchor.succ_opt().unwrap_or(anchor);
    let eight = NaiveTime::from_hms_opt(8, 0, 0).unwrap_or(NaiveTime::MIN);
    day.and_time(eight).and_utc()
}

/// `t + by`, held at chrono's limits instead of overflowing (only absurd anchors get there).
pub(super) fn shifted(t: DateTime<Utc>, by: TimeDelta) -> DateTime<Utc> {
    t.checked_add_signed(by)
        .unwrap_or(if by < TimeDelta::zero() {
            DateTime::<Utc>::MIN_UTC
        } else {
            DateTime::<Utc>::MAX_UTC
        })
}

pub(super) struct Clock {
    epoch: DateTime<Utc>,
    started: Instant,
    /// Time added by [`Clock::advance`].
    added: Mutex<TimeDelta>,
}

impl Clock {
    pub(super) fn new(epoch: DateTime<Utc>) -> Clock {
        Clock {
            epoch,
            started: Instant::now(),
            added: Mutex::new(TimeDelta::zero()),
        }
    }

    /// Now, in whole seconds (Pleo's timestamps have no fraction).
    pub(super) fn now(&self) -> DateTime<Utc> {
        let elapsed = TimeDelta::from_std(self.started.elapsed()).unwrap_or(TimeDelta::MAX);
        let added = *self.added.lock().unwrap_or_else(|e| e.into_inner());
        let now = self
            .epoch
            .checked_add_signed(elapsed)
            .and_then(|t| t.checked_add_signed(added))
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        DateTime::from_timestamp(now.timestamp(), 0).unwrap_or(now)
    }

    /// Moves the clock forward by `by` (saturating).
    pub(super) fn advance(&self, by: Duration) {
        let by = TimeDelta::from_std(by).unwrap_or(TimeDelta::MAX);
        let mut added = self.added.lock().unwrap_or_else(|e| e.into_inner());
        *added = added.checked_add(&by).unwrap_or(TimeDelta::MAX);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_at_the_epoch_and_moves_when_told() {
        let anchor = NaiveDate::from_ymd_opt(2025, 6, 30).unwrap_or_default();
        let start = epoch(anchor);
        assert_eq!(start.to_rfc3339(), "2025-07-01T08:00:00+00:00");
        let clock = Clock::new(start);
        let now = clock.now();
        assert!(now >= start && now - start < TimeDelta::minutes(5));
        assert_eq!(now.timestamp_subsec_nanos(), 0);
        clock.advance(Duration::from_secs(3600));
        let later = clock.now();
        assert!(later - now >= TimeDelta::hours(1));
        clock.advance(Duration::MAX);
        assert!(clock.now() > later);
    }
}
