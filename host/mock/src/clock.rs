//! The mock's own clock. Every timestamp the mock writes (export job events, item updates,
//! created and updated objects, receipt link expiry) and every expiry it checks comes from
//! here, so a test can move time forward ([`MockServer::advance_clock`]) instead of waiting.
//!
//! It is real time (UTC), plus whatever the tests added: an object created through the API
//! carries the moment it was made. The seeded data does not follow it: it lies before
//! [`epoch`], a moment fixed by the anchor (the morning after the last day of data), so the
//! same config always gives the same data whenever the mock runs. The export jobs it seeds
//! open get their hour from the clock's start (see `store`).
//!
//! [`MockServer::advance_clock`]: super::MockServer::advance_clock

use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, NaiveTime, TimeDelta, Utc};

/// What the seeded data is placed before: 08:00 UTC on the day after `anchor` (the last day of
/// data). With an anchor before today, it lies in the clock's past.
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
    /// Real time when the mock started, in whole seconds.
    started: DateTime<Utc>,
    /// Time added by [`Clock::advance`].
    added: Mutex<TimeDelta>,
}

impl Clock {
    pub(super) fn new() -> Clock {
        Clock {
            started: whole_seconds(Utc::now()),
            added: Mutex::new(TimeDelta::zero()),
        }
    }

    /// When the mock started (real time, whole seconds).
    pub(super) fn started(&self) -> DateTime<Utc> {
        self.started
    }

    /// Now, in whole seconds (Pleo's timestamps have no fraction).
    pub(super) fn now(&self) -> DateTime<Utc> {
        let added = *self.added.lock().unwrap_or_else(|e| e.into_inner());
        whole_seconds(shifted(Utc::now(), added))
    }

    /// Moves the clock forward by `by` (saturating).
    pub(super) fn advance(&self, by: Duration) {
        let by = TimeDelta::from_std(by).unwrap_or(TimeDelta::MAX);
        let mut added = self.added.lock().unwrap_or_else(|e| e.into_inner());
        *added = added.checked_add(&by).unwrap_or(TimeDelta::MAX);
    }
}

fn whole_seconds(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(t.timestamp(), 0).unwrap_or(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_at_real_time_and_moves_when_told() {
        let anchor = NaiveDate::from_ymd_opt(2025, 6, 30).unwrap_or_default();
        assert_eq!(epoch(anchor).to_rfc3339(), "2025-07-01T08:00:00+00:00");
        let before = whole_seconds(Utc::now());
        let clock = Clock::new();
        let now = clock.now();
        let after = Utc::now();
        assert!(before <= clock.started() && clock.started() <= now && now <= after);
        assert_eq!(now.timestamp_subsec_nanos(), 0);
        clock.advance(Duration::from_secs(3600));
        let later = clock.now();
        assert!(later - now >= TimeDelta::hours(1));
        clock.advance(Duration::MAX);
        assert!(clock.now() > later);
    }
}
