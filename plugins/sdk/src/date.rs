//! Calendar dates (proleptic Gregorian, UTC), without a date-time library.

use std::fmt;
use std::str::FromStr;
use std::time::{SystemTime, UNIX_EPOCH};

/// A calendar date. Orders chronologically; prints and parses as `YYYY-MM-DD`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    year: i32,
    month: u8,
    day: u8,
}

impl Date {
    /// The date, if it exists (`month` 1–12, `day` within the month; years 0–9999).
    pub fn new(year: i32, month: u32, day: u32) -> Option<Date> {
        let valid = (0..=9999).contains(&year)
            && (1..=12).contains(&month)
            && day >= 1
            && day <= days_in_month(year, month as u8) as u32;
        valid.then_some(Date {
            year,
            month: month as u8,
            day: day as u8,
        })
    }

    pub fn year(self) -> i32 {
        self.year
    }

    pub fn month(self) -> u32 {
        self.month as u32
    }

    pub fn day(self) -> u32 {
        self.day as u32
    }

    /// Today in UTC, from the system (in a plugin: the WASI wall clock).
    pub fn today_utc() -> Date {
        let days = match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(since) => (since.as_secs() / 86_400) as i64,
            Err(before) => -(before.duration().as_secs().div_ceil(86_400) as i64),
        };
        Date::from_days_since_epoch(days)
    }

    /// The date `days` days after 1970-01-01 (negative: before).
    pub fn from_days_since_epoch(days: i64) -> Date {
        // Count from 0000-03-01 in 400-year eras, so that leap days fall at the end of a year.
        let days = days + 719_468;
        let era = days.div_euclid(146_097);
        let day_of_era = days.rem_euclid(146_097);
        let year_of_era =
            (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
        let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
        let month_from_march = (5 * day_of_year + 2) / 153;
        let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
        let month = if month_from_march < 10 {
            month_from_march + 3
        } else {
            month_from_march - 9
        };
        let year = year_of_era + era * 400 + i64::from(month <= 2);
        Date {
            year: year as i32,
            month: month as u8,
            day: day as u8,
        }
    }

    /// Days since 1970-01-01 (negative: before). Inverse of [`Date::from_days_since_epoch`].
    pub fn days_since_epoch(self) -> i64 {
        let (month, day) = (i64::from(self.month), i64::from(self.day));
        let year = i64::from(self.year) - i64::from(month <= 2);
        let era = year.div_euclid(400);
        let year_of_era = year.rem_euclid(400);
        let month_from_march = (month + 9) % 12;
        let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
        let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
        era * 146_097 + day_of_era - 719_468
    }

    /// The date `days` days later (earlier if negative).
    pub fn add_days(self, days: i64) -> Date {
        Date::from_days_since_epoch(self.days_since_epoch() + days)
    }

    /// The first day of this date's month.
    pub fn first_of_month(self) -> Date {
        Date { day: 1, ..self }
    }

    /// The same day `months` months later (earlier if negative), clamped to the month's end.
    pub fn add_months(self, months: i32) -> Date {
        let index = self.year * 12 + (self.month as i32 - 1) + months;
        let (year, month) = (index.div_euclid(12), (index.rem_euclid(12) + 1) as u8);
        let day = self.day.min(days_in_month(year, month));
        Date { year, month, day }
    }

    /// The month as `YYYY-MM`.
    pub fn month_key(self) -> String {
        format!("{:04}-{:02}", self.year, self.month)
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl FromStr for Date {
    type Err = String;

    /// Parses exactly `YYYY-MM-DD`.
    fn from_str(s: &str) -> Result<Date, String> {
        let bad = || format!("expected a date as YYYY-MM-DD, got {s:?}");
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
    let date: Date = ts.get(..10)?.parse().ok()?;
    let rest = ts.get(10..)?;
    let rest = rest.strip_prefix(['T', 't', ' '])?;
    let b = rest.as_bytes();
    let two = |i: usize| -> Option<i64> {
        let digits = b.get(i..i + 2)?;
        digits
            .iter()
            .all(u8::is_ascii_digit)
            .then(|| i64::from((digits[0] - b'0') * 10 + (digits[1] - b'0')))
    };
    let (hour, minute, _second) = (two(0)?, two(3)?, two(6)?);
    if b.get(2) != Some(&b':') || b.get(5) != Some(&b':') || hour > 23 || minute > 59 {
        return None;
    }
    let mut zone = &rest[8..];
    if let Some(fraction) = zone.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        zone = &fraction[digits..];
    }
    let offset_minutes = match zone.as_bytes() {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
            let zb = zone.as_bytes();
            let digits = |i: usize| -> Option<i64> {
                zb[i..i + 2]
                    .iter()
                    .all(u8::is_ascii_digit)
                    .then(|| i64::from((zb[i] - b'0') * 10 + (zb[i + 1] - b'0')))
            };
            let minutes = digits(1)? * 60 + digits(4)?;
            if *sign == b'-' { -minutes } else { minutes }
        }
        _ => return None,
    };
    // Local time minus the offset is UTC; only the whole-day carry matters for the date.
    let utc_minutes = hour * 60 + minute - offset_minutes;
    Some(date.add_days(utc_minutes.div_euclid(24 * 60)))
}

fn is_leap(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i32, month: u8) -> u8 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
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
    }
}
