//! The report's pure logic: period, spend rule, aggregation and output formats. No host calls,
//! so all of it is unit-tested on the native target.

use std::collections::BTreeMap;

use pleo_plugin::csv::{Cell, Csv, Number};
use pleo_plugin::money::{exponent, format_minor_units_grouped};
use pleo_plugin::{AccountingEntry, Date, Employee, utc_date};

/// The inclusive range of UTC calendar days the report covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Period {
    pub from: Date,
    pub to: Date,
}

/// A period named relative to a reference day (`period = ...`), so a schedule needs no date
/// arithmetic: the reference day is the day of `scheduled_for`, or today when run by hand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Relative {
    /// The whole calendar month before the reference day's month.
    PreviousMonth,
    /// The first of the reference day's month through the reference day.
    MonthToDate,
    /// Twelve monthly buckets ending with the reference day's (partial) month: the default.
    Last12Months,
    /// The day of the last successful scheduled run (`last_success_for`) through the reference
    /// day; without one, as `last-12-months`.
    SinceLastSuccess,
}

impl std::str::FromStr for Relative {
    type Err = String;

    fn from_str(s: &str) -> Result<Relative, String> {
        match s.trim() {
            "previous-month" => Ok(Relative::PreviousMonth),
            "month-to-date" => Ok(Relative::MonthToDate),
            "last-12-months" => Ok(Relative::Last12Months),
            "since-last-success" => Ok(Relative::SinceLastSuccess),
            other => Err(format!(
                "parameter `period`: unknown period {other:?} (one of previous-month, \
                 month-to-date, last-12-months, since-last-success)"
            )),
        }
    }
}

/// The calendar day of a `scheduled_for`/`last_success_for` parameter: an RFC 3339 time as
/// the host writes it, in the schedule's time zone (`2026-12-01T06:00:00+01:00`). The day is
/// the one written there, the schedule's local day, not the UTC day: a monthly run just after
/// midnight in Copenhagen reports on the month that just ended there.
pub fn local_day(name: &str, value: &str) -> Result<Date, String> {
    let value = value.trim();
    let bad = || format!("parameter `{name}`: expected an RFC 3339 time, got {value:?}");
    pleo_plugin::utc_date(value).ok_or_else(bad)?;
    value.get(..10).ok_or_else(bad)?.parse().map_err(|_| bad())
}

impl Period {
    /// `to` defaults to `today`, `from` to the first day of the month 11 months before `to`'s
    /// month: twelve monthly buckets, the last one possibly partial.
    pub fn new(from: Option<Date>, to: Option<Date>, today: Date) -> Result<Period, String> {
        let to = to.unwrap_or(today);
        let from = from.unwrap_or_else(|| to.first_of_month().add_months(-11));
        if from > to {
            return Err(format!("`from` ({from}) is after `to` ({to})"));
        }
        Ok(Period { from, to })
    }

    /// The period `relative` names, seen from `reference`. `last_success` is the day of the
    /// last successful scheduled run, if any.
    pub fn relative(relative: Relative, reference: Date, last_success: Option<Date>) -> Period {
        let month = reference.first_of_month();
        let (from, to) = match relative {
            Relative::PreviousMonth => (month.add_months(-1), month.add_days(-1)),
            Relative::MonthToDate => (month, reference),
            Relative::Last12Months => (month.add_months(-11), reference),
            Relative::SinceLastSuccess => match last_success {
                Some(day) if day <= reference => (day, reference),
                _ => (month.add_months(-11), reference),
            },
        };
        Period { from, to }
    }

    /// `performedAtStart` and `performedAtEnd` for the search. Pleo documents them as "after"
    /// and "before" without saying whether the ends are included, so the range is one
    /// millisecond wider on each side and [`Period::contains`] decides exactly.
    pub fn search_range(&self) -> (String, String) {
        (
            format!("{}T23:59:59.999Z", self.from.add_days(-1)),
            format!("{}T00:00:00.000Z", self.to.add_days(1)),
        )
    }

    pub fn contains(&self, day: Date) -> bool {
        self.from <= day && day <= self.to
    }
}

impl std::fmt::Display for Period {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}..{}", self.from, self.to)
    }
}

/// The spend rule: an entry counts unless it is deleted, cancelled or rejected, or it is a
/// reimbursement (which pays back claims already counted).
pub fn is_spend(entry: &AccountingEntry) -> bool {
    !entry.is_deleted()
        && !matches!(entry.status.as_str(), "CANCELLED" | "REJECTED")
        && entry.family != "REIMBURSEMENT"
}

/// Entries and their summed amount, in minor units of one currency.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    pub entries: u64,
    pub minors: i128,
}

impl Totals {
    fn add(&mut self, minors: i64) {
        self.entries += 1;
        self.minors += i128::from(minors);
    }
}

/// Spend aggregated by employee, by month and by currency.
#[derive(Debug, Default)]
pub struct Report {
    /// Key: (employee id, `""` for none; currency).
    pub(crate) by_employee: BTreeMap<(String, String), Totals>,
    /// Key: (`YYYY-MM`, currency).
    pub(crate) by_month: BTreeMap<(String, String), Totals>,
    pub(crate) by_currency: BTreeMap<String, Totals>,
    /// Entries counted as spend.
    pub counted: u64,
    /// Entries left out by the spend rule.
    pub not_spend: u64,
    /// Entries whose `performedAt` is outside the period (or unreadable).
    pub outside: u64,
}

impl Report {
    pub fn add(&mut self, entry: &AccountingEntry, period: &Period) {
        let day = match utc_date(&entry.performed_at) {
            Some(day) if period.contains(day) => day,
            _ => {
                self.outside += 1;
                return;
            }
        };
        if !is_spend(entry) {
            self.not_spend += 1;
            return;
        }
        self.counted += 1;
        let value = &entry.transaction_value;
        let employee = entry.employee_id.clone().unwrap_or_default();
        let currency = value.currency.clone();
        self.by_employee
            .entry((employee, currency.clone()))
            .or_default()
            .add(value.minors);
        self.by_month
            .entry((day.month_key(), currency.clone()))
            .or_default()
            .add(value.minors);
        self.by_currency
            .entry(currency)
            .or_default()
            .add(value.minors);
    }

    /// `spend-by-employee.csv`, sorted by employee name, then id, then currency.
    pub fn employee_csv(&self, employees: &BTreeMap<String, Employee>) -> String {
        let mut rows: Vec<_> = self
            .by_employee
            .iter()
            .map(|((id, currency), totals)| {
                let (name, email) = match employees.get(id) {
                    _ if id.is_empty() => ("(no employee)".to_owned(), ""),
                    Some(e) => (e.full_name(), e.email.as_str()),
                    None => ("(unknown employee)".to_owned(), ""),
                };
                (name, id, email, currency, totals)
            })
            .collect();
        rows.sort_by(|a, b| (&a.0, a.1, a.3).cmp(&(&b.0, b.1, b.3)));
        let mut csv = Csv::new([
            "employee_id",
            "employee_name",
            "email",
            "currency",
            "entries",
            "amount",
        ]);
        for (name, id, email, currency, totals) in rows {
            let [entries, amount] = total_cells(currency, totals);
            csv.row([
                Cell::text(id),
                Cell::text(&name),
                Cell::text(email),
                Cell::text(currency),
                entries,
                amount,
            ]);
        }
        csv.finish()
    }

    /// `spend-by-month.csv`, sorted by month, then currency.
    pub fn month_csv(&self) -> String {
        let mut csv = Csv::new(["month", "currency", "entries", "amount"]);
        for ((month, currency), totals) in &self.by_month {
            let [entries, amount] = total_cells(currency, totals);
            csv.row([Cell::text(month), Cell::text(currency), entries, amount]);
        }
        csv.finish()
    }

    /// One line: `4012 entries, 2025-12-01..2026-11-26, DKK 1,234.50; EUR 12.00; wrote a, b`.
    pub fn summary(&self, period: &Period, files: &[&str]) -> String {
        const SHOWN: usize = 8;
        let mut amounts: Vec<String> = self
            .by_currency
            .iter()
            .take(SHOWN)
            .map(|(currency, t)| {
                let amount = format_minor_units_grouped(t.minors, exponent(currency));
                format!("{currency} {amount}")
            })
            .collect();
        if self.by_currency.len() > SHOWN {
            amounts.push(format!(
                "{} more currencies",
                self.by_currency.len() - SHOWN
            ));
        }
        if amounts.is_empty() {
            amounts.push("no spend".to_owned());
        }
        format!(
            "{} entries, {period}, {}; wrote {}",
            self.counted,
            amounts.join("; "),
            files.join(", ")
        )
    }
}

/// The `entries` and `amount` cells of `totals`, numbers both.
fn total_cells(currency: &str, totals: &Totals) -> [Cell<'static>; 2] {
    [
        Cell::number(totals.entries),
        Cell::number(Number::minor_units(totals.minors, exponent(currency))),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        s.parse().unwrap()
    }

    fn entry(
        employee: Option<&str>,
        at: &str,
        status: &str,
        currency: &str,
        minors: i64,
    ) -> AccountingEntry {
        let json = serde_json::json!({
            "id": "x", "companyId": "c", "createdAt": at, "updatedAt": at, "performedAt": at,
            "family": "CARD_PURCHASE", "status": status, "exportStatus": "NOT_EXPORTED",
            "reviewStatus": "NOT_SET", "receiptIds": [], "tags": [], "splitItems": [],
            "attendees": [], "employeeId": employee,
            "transactionValue": {"currency": currency, "minors": minors},
        });
        serde_json::from_value(json).unwrap()
    }

    fn employee(id: &str, first: &str, last: &str) -> (String, Employee) {
        let json = serde_json::json!({
            "id": id, "companyId": "c", "email": format!("{first}@example.com"),
            "firstName": first, "lastName": last,
        });
        (id.to_owned(), serde_json::from_value(json).unwrap())
    }

    #[test]
    fn default_period_is_twelve_months() {
        let today = d("2026-11-26");
        let p = Period::new(None, None, today).unwrap();
        assert_eq!((p.from, p.to), (d("2025-12-01"), today));
        assert_eq!(p.to_string(), "2025-12-01..2026-11-26");
        let p = Period::new(None, Some(d("2026-01-10")), today).unwrap();
        assert_eq!(p.from, d("2025-02-01"));
        let p = Period::new(Some(d("2026-11-26")), None, today).unwrap();
        assert_eq!((p.from, p.to), (today, today));
        assert_eq!(
            Period::new(Some(d("2026-11-27")), None, today),
            Err("`from` (2026-11-27) is after `to` (2026-11-26)".into())
        );
        assert_eq!(
            Period::new(Some(d("2024-01-01")), Some(d("2024-12-31")), today)
                .unwrap()
                .search_range(),
            (
                "2023-12-31T23:59:59.999Z".to_owned(),
                "2025-01-01T00:00:00.000Z".to_owned()
            )
        );
    }

    #[test]
    fn relative_periods_follow_the_reference_day() {
        let p = |r: &str, day: &str, last: Option<&str>| {
            let p = Period::relative(r.parse().unwrap(), d(day), last.map(d));
            p.to_string()
        };
        assert_eq!(
            p("previous-month", "2026-12-01", None),
            "2026-11-01..2026-11-30"
        );
        assert_eq!(
            p("previous-month", "2026-01-15", None),
            "2025-12-01..2025-12-31"
        );
        assert_eq!(
            p("previous-month", "2024-03-31", None),
            "2024-02-01..2024-02-29"
        );
        assert_eq!(
            p("month-to-date", "2026-03-01", None),
            "2026-03-01..2026-03-01"
        );
        assert_eq!(
            p("month-to-date", "2026-02-28", None),
            "2026-02-01..2026-02-28"
        );
        assert_eq!(
            p("last-12-months", "2026-11-26", None),
            "2025-12-01..2026-11-26"
        );
        assert_eq!(
            p("since-last-success", "2026-11-26", Some("2026-11-19")),
            "2026-11-19..2026-11-26"
        );
        assert_eq!(
            p("since-last-success", "2026-11-26", None),
            "2025-12-01..2026-11-26",
            "no success yet: the default twelve months"
        );
        assert_eq!(
            p("since-last-success", "2026-11-26", Some("2027-01-01")),
            "2025-12-01..2026-11-26",
            "a last success after the reference day is ignored"
        );
        assert!(
            "last-month"
                .parse::<Relative>()
                .unwrap_err()
                .contains("previous-month")
        );
    }

    #[test]
    fn the_reference_day_is_the_schedules_local_day() {
        assert_eq!(
            local_day("scheduled_for", "2026-12-01T00:30:00+01:00"),
            Ok(d("2026-12-01")),
            "still November in UTC, but the schedule's day is December 1"
        );
        assert_eq!(
            local_day("scheduled_for", " 2026-06-30T23:00:00Z "),
            Ok(d("2026-06-30"))
        );
        for bad in ["2026-12-01", "tomorrow", "2026-12-01T25:00:00Z", ""] {
            assert!(local_day("scheduled_for", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn aggregates_by_rule_employee_and_month() {
        let period = Period::new(
            Some(d("2025-01-01")),
            Some(d("2025-02-28")),
            d("2026-01-01"),
        )
        .unwrap();
        let mut report = Report::default();
        let entries = [
            entry(
                Some("e1"),
                "2025-01-05T10:00:00Z",
                "COMPLETED",
                "DKK",
                12_345,
            ),
            entry(Some("e1"), "2025-01-06T10:00:00Z", "PENDING", "DKK", -350),
            entry(
                Some("e1"),
                "2025-02-01T00:30:00+01:00",
                "COMPLETED",
                "DKK",
                100,
            ),
            entry(Some("e2"), "2025-02-10T10:00:00Z", "CANCELLED", "DKK", 999),
            entry(Some("e2"), "2025-02-10T10:00:00Z", "REJECTED", "DKK", 999),
            entry(Some("e2"), "2025-02-11T10:00:00Z", "DRAFT", "JPY", 1500),
            entry(None, "2025-02-28T23:59:59.999Z", "COMPLETED", "KWD", -5),
            entry(Some("gone"), "2025-02-12T10:00:00Z", "COMPLETED", "EUR", 5),
            entry(Some("e1"), "2025-03-01T00:00:00Z", "COMPLETED", "DKK", 7),
            entry(Some("e1"), "2024-12-31T23:59:59Z", "COMPLETED", "DKK", 7),
            entry(Some("e1"), "yesterday", "COMPLETED", "DKK", 7),
        ];
        for e in &entries {
            report.add(e, &period);
        }
        let mut deleted = entry(Some("e1"), "2025-01-05T10:00:00Z", "COMPLETED", "DKK", 1);
        deleted.deleted_at = Some("2025-01-06T00:00:00Z".into());
        report.add(&deleted, &period);
        let mut payback = entry(Some("e1"), "2025-01-07T10:00:00Z", "COMPLETED", "DKK", 350);
        payback.family = "REIMBURSEMENT".into();
        report.add(&payback, &period);

        assert_eq!(
            (report.counted, report.not_spend, report.outside),
            (6, 4, 3)
        );
        let employees: BTreeMap<_, _> = [
            employee("e1", "Zoe", "Berg"),
            employee("e2", "Ana", "Lind, Jr."),
        ]
        .into_iter()
        .collect();
        assert_eq!(
            report.employee_csv(&employees),
            "employee_id,employee_name,email,currency,entries,amount\n\
             ,(no employee),,KWD,1,-0.005\n\
             gone,(unknown employee),,EUR,1,0.05\n\
             e2,\"Ana Lind, Jr.\",Ana@example.com,JPY,1,1500\n\
             e1,Zoe Berg,Zoe@example.com,DKK,3,120.95\n"
        );
        // 2025-02-01T00:30+01:00 is still January in UTC.
        assert_eq!(
            report.month_csv(),
            "month,currency,entries,amount\n\
             2025-01,DKK,3,120.95\n\
             2025-02,EUR,1,0.05\n\
             2025-02,JPY,1,1500\n\
             2025-02,KWD,1,-0.005\n"
        );
        assert_eq!(
            report.summary(&period, &["a.csv", "b.csv"]),
            "6 entries, 2025-01-01..2025-02-28, DKK 120.95; EUR 0.05; JPY 1,500; KWD -0.005; \
             wrote a.csv, b.csv"
        );
    }

    #[test]
    fn sums_beyond_i64_and_summarises_empty_reports() {
        let period = Period::new(None, None, d("2025-06-15")).unwrap();
        let mut report = Report::default();
        for _ in 0..3 {
            report.add(
                &entry(None, "2025-06-01T00:00:00Z", "COMPLETED", "EUR", i64::MAX),
                &period,
            );
        }
        assert!(
            report
                .month_csv()
                .ends_with(",EUR,3,276701161105643274.21\n")
        );
        assert_eq!(
            Report::default().summary(&period, &["a.csv"]),
            "0 entries, 2024-07-01..2025-06-15, no spend; wrote a.csv"
        );
    }

    #[test]
    fn names_cannot_become_formulas() {
        let period = Period::new(None, None, d("2025-06-15")).unwrap();
        let mut report = Report::default();
        report.add(
            &entry(
                Some("e1"),
                "2025-06-01T00:00:00Z",
                "COMPLETED",
                "EUR",
                -1250,
            ),
            &period,
        );
        let employees: BTreeMap<_, _> = [employee("e1", "=HYPERLINK(\"http://x\")", "Berg")]
            .into_iter()
            .collect();
        assert_eq!(
            report.employee_csv(&employees),
            "employee_id,employee_name,email,currency,entries,amount\n\
             e1,\"'=HYPERLINK(\"\"http://x\"\") Berg\",\
             \"'=HYPERLINK(\"\"http://x\"\")@example.com\",EUR,1,-12.50\n"
        );
    }
}
