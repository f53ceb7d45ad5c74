//! Calendar dates (proleptic Gregorian, UTC) on the `time` crate: the SDK's [`Date`] keeps the
//! small API the reports use (`YYYY-MM-DD` only, years 0–9999 from text, months clamped) and
//! converts to and from [`time::Date`] for anything more.

use std::fmt;
use std::str::FromStr;

use time::format_description::well_known::Rfc3339;
use time::{Month, OffsetDateTime, UtcOffset};

/// A calendar date. Orders chronologically; prints and parses as `YYYY-MM-DD`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date(time::Date);

/// 1970-01-01 as a Julian day number.
const UNIX_EPOCH_JULIAN_DAY: i64 = 2_440_588;

impl Date {
    /// The date, if it exists (`month` 1–12, `day` within the month; years 0–9999).
    pub fn new(year: i32, month: u32, day: u32) -> Option<Date> {
        if !(0..=9999).contains(&year) {
            return None;
        }
        let month = Month::try_from(u8::try_from(month).ok()?).ok()?;
        let day = u8::try_from(day).ok()?;
        time::Date::from_calendar_date(year, month, day)
            .ok()
            .map(Date)
    }

    pub fn year(self) -> i32 {
        self.0.year()
    }

    pub fn month(self) -> u32 {
        u8::from(self.0.month()).into()
    }

    pub fn day(self) -> u32 {
        self.0.day().into()
    }

    /// Today in UTC, from the system (in a plugin: the WASI wall clock).
    pub fn today_utc() -> Date {
        Date(OffsetDateTime::now_utc().date())
    }

    /// The date `days` days after 1970-01-01 (negative: before), within `time`'s range of
    /// years ±9999 (beyond it: its first or last day).
    pub fn from_days_since_epoch(days: i64) -> Date {
        let min = i64::from(time::Date::MIN.to_julian_day());
        let max = i64::from(time::Date::MAX.to_julian_day());
        let julian = days.saturating_add(UNIX_EPOCH_JULIAN_DAY).clamp(min, max);
        // In range by the clamp, so the conversion and the constructor cannot fail.
        Date(time::Date::from_julian_day(julian as i32).unwrap_or(time::Date::MIN))
    }

    /// Days since 1970-01-01 (negative: before). Inverse of [`Date::from_days_since_epoch`].
    pub fn days_since_epoch(self) -> i64 {
        i64::from(self.0.to_julian_day()) - UNIX_EPOCH_JULIAN_DAY
    }

    /// The date `days` days later (earlier if negative).
    pub fn add_days(self, days: i64) -> Date {
        Date::from_days_since_epoch(self.days_since_epoch().saturating_add(days))
    }

    /// The first day of this date's month.
    pub fn first_of_month(self) -> Date {
        Date(self.0.replace_day(1).unwrap_or(self.0))
    }

    /// The same day `months` months later (earlier if negative), clamped to the month's end.
    pub fn add_months(self, months: i32) -> Date {
        // Months since year 0, kept within `time`'s years ±9999.
        let index = (i64::from(self.year()) * 12 + i64::from(self.month()) - 1 + i64::from(months))
            .clamp(-9999 * 12, 9999 * 12 + 11);
        let (year, month) = (index.div_euclid(12) as i32, index.rem_euclid(12) as u8 + 1);
        let month = Month::try_from(month).unwrap_or(Month::January);
        let day = self.0.day().min(time::util::days_in_month(month, year));
        Date(time::Date::from_calendar_date(year, month, day).unwrap_or(self.0))
    }

    /// The month as `YYYY-MM`.
    pub fn month_key(self) -> String {
        format!("{:04}-{:02}", self.year(), self.month())
    }
}

impl From<Date> for time::Date {
    fn from(date: Date) -> time::Date {
        date.0
    }
}

impl From<time::Date> for Date {
    fn from(date: time::Date) -> Date {
        Date(date)
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04}-{:02}-{:02}",
            self.year(),
            self.month(),
            self.day()
        )
    }
}

impl FromStr for Date {
    type Err = String;

    /// Parses exactly `YYYY-MM-DD`.
    fn from_str(s: &str) -> Result<Date, String> {
        let bad = || format!("expected a date as YYYY-MM-DD, got {s:?}");
        // The shape is checked here: ISO 8601 parsers also take `+YYYYYY`, week dates and more.
        let b = s.as_bytes();
        let shape_ok = b.len() == 10
            && b[4] == b'-'
            && b[7] == b'-'
            && b.iter()
                .enumerate()
                .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
        if !shape_ok {
            return Err(bad());
        }
        let number = |range: std::ops::Range<usize>| s[range].parse::<u32>().map_err(|_| bad());
        Date::new(number(0..4)? as i32, number(5..7)?, number(8..10)?).ok_or_else(bad)
    }
}

/// The UTC calendar date of an RFC 3339 timestamp such as `2025-03-31T23:30:00-02:00` (which
/// is `2025-04-01` in UTC). Fractional seconds are allowed; `None` if `ts` is not RFC 3339.
pub fn utc_date(ts: &str) -> Option<Date> {
    let moment = OffsetDateTime::parse(ts, &Rfc3339).ok()?;
    // `checked_`: 9999-12-31T23:59:59-01:00 is past `time`'s last year in UTC (`None`, no panic).
    Some(Date(moment.checked_to_offset(UtcOffset::UTC)?.date()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        s.parse().unwrap()
    }

    #[test]
    fn parses_and_prints() {
        assert_eq!(d("2024-02-29").to_string(), "2024-02-29");
        for bad in [
            "2023-02-29",
            "2024-13-01",
            "2024-1-01",
            "2024-01-01T00:00:00Z",
            "+024-01-01",
            "",
        ] {
            assert!(bad.parse::<Date>().is_err(), "{bad}");
        }
    }

    #[test]
    fn days_since_epoch_round_trips() {
        assert_eq!(d("1970-01-01").days_since_epoch(), 0);
        assert_eq!(d("2000-03-01").days_since_epoch(), 11_017);
        assert_eq!(Date::from_days_since_epoch(-1), d("1969-12-31"));
        for days in (-800_000..800_000).step_by(997) {
            assert_eq!(Date::from_days_since_epoch(days).days_since_epoch(), days);
        }
        let mut date = d("1899-12-25");
        for _ in 0..200_000 {
            let next = date.add_days(1);
            assert!(next > date);
            date = next;
        }
    }

    #[test]
    fn months() {
        assert_eq!(
            d("2026-11-26").first_of_month().add_months(-11),
            d("2025-12-01")
        );
        assert_eq!(d("2026-01-15").add_months(-1), d("2025-12-15"));
        assert_eq!(d("2024-03-31").add_months(-1), d("2024-02-29"));
        assert_eq!(d("2024-12-31").add_months(2), d("2025-02-28"));
        assert_eq!(d("2024-12-31").month_key(), "2024-12");
    }

    #[test]
    fn utc_dates_of_timestamps() {
        assert_eq!(utc_date("2025-03-31T23:30:00Z"), Some(d("2025-03-31")));
        assert_eq!(utc_date("2025-03-31T23:30:00-02:00"), Some(d("2025-04-01")));
        assert_eq!(
            utc_date("2025-04-01T00:30:00.123456+01:00"),
            Some(d("2025-03-31"))
        );
        assert_eq!(
            utc_date("2024-12-31T22:00:00.5-05:30"),
            Some(d("2025-01-01"))
        );
        for bad in [
            "2025-03-31",
            "2025-03-31T23:30:00",
            "2025-03-31T23:30Z",
            "2025-03-31T24:00:00Z",
            "2025-03-31T23:30:00.Z",
            "2025-03-31T23:30:00+0100",
        ] {
            assert_eq!(utc_date(bad), None, "{bad}");
        }
        // Past the last representable year in UTC: no date, and no panic.
        assert_eq!(utc_date("9999-12-31T23:59:59-01:00"), None);
        assert_eq!(
            utc_date("0000-01-01T00:00:00+01:00"),
            Some(d("0000-01-01").add_days(-1))
        );
    }

    #[test]
    fn arithmetic_saturates_at_the_ends_of_time() {
        let last = d("9999-12-31");
        assert_eq!(last.add_days(i64::MAX), Date::from(time::Date::MAX));
        assert_eq!(last.add_months(i32::MAX), last);
        assert_eq!(last.add_months(1), last);
        assert_eq!(
            d("0000-01-31").add_months(i32::MIN),
            d("0000-01-31").add_months(-9999 * 12)
        );
        assert_eq!(
            d("0000-01-01").add_days(i64::MIN),
            Date::from(time::Date::MIN)
        );
        assert_eq!(time::Date::from(last).year(), 9999);
    }
}
