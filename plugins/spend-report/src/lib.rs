//! `spend-report`: spend per employee and per month, as two CSV files and one HTML page.
//!
//! # Parameters
//!
//! * `from`, `to`: the period, inclusive UTC calendar days as `YYYY-MM-DD`. `to` defaults to
//!   today (from the WASI clock); `from` to the first day of the month 11 months before `to`'s
//!   month, so the default is twelve monthly buckets ending with the current, partial month.
//! * `period`: instead of dates, `previous-month`, `month-to-date`, `last-12-months` or
//!   `since-last-success`, relative to the day of `scheduled_for` (which the host's daemon
//!   sets for every scheduled run, in the schedule's time zone), or today when run by hand.
//!   `since-last-success` starts on the day of `last_success_for` (set by the daemon once a
//!   run of the schedule has succeeded), else it is `last-12-months`.
//!
//! # What it does
//!
//! 1. Lists all employees (`users-read`, 100 per page) for their names and e-mail addresses.
//! 2. Pages through `search-entries` (`accounting-entries-read`, 100 per page, sorted by
//!    `performedAt`) for entries performed in the period, reporting progress after each page.
//!    Pleo's `performedAtStart`/`performedAtEnd` are "after"/"before" with unspecified ends, so
//!    the search asks for one millisecond more on each side and the plugin keeps exactly the
//!    entries whose `performedAt`, converted to UTC, falls on a day of the period.
//! 3. Writes `/out/spend-by-employee.csv` (`employee_id,employee_name,email,currency,entries,
//!    amount`, sorted by employee name, id, currency; entries without an employee are under an
//!    empty id and the name `(no employee)`) and `/out/spend-by-month.csv`
//!    (`month,currency,entries,amount`, sorted by month `YYYY-MM`, then currency). Names and
//!    e-mail addresses are text cells of `pleo_plugin::csv`, so one typed as `=HYPERLINK(...)`
//!    stays text in a spreadsheet.
//! 4. Writes `/out/report.html`: totals, an SVG chart of spend by month and one of the top
//!    employees for each of the (up to three) currencies with most entries; see `html`.
//!
//! # Spend rule
//!
//! An entry is spend unless it is deleted, its `status` is `CANCELLED` or `REJECTED` (so
//! drafts, pending and errored entries count), or it is a `REIMBURSEMENT`: that pays an
//! employee back for out-of-pocket claims already counted as spend, and counting both would
//! count the money twice. Its amount is `transactionValue`: the amount in
//! the currency the payment was made in, so totals are per currency and never converted.
//! Amounts are summed exactly in minor units and printed in major units with the currency's
//! ISO 4217 number of decimals (`1500` JPY, `-0.05` EUR, `1.250` KWD).

mod html;
mod report;

use std::collections::BTreeMap;

use pleo_plugin::accounting_entries_read::{
    self as entries, DateField, DateRange, EntryFilter, SortKey, Sorting,
};
use pleo_plugin::users_read::{self, EmployeeQuery};
use pleo_plugin::{AccountingEntry, Date, Employee, Guest, Param, log, pages, params, progress};

use report::{Period, Relative, Report, local_day};

const OUT_DIR: &str = "/out";
const BY_EMPLOYEE: &str = "spend-by-employee.csv";
const BY_MONTH: &str = "spend-by-month.csv";
const HTML: &str = "report.html";
const PAGE_SIZE: u32 = 100;

/// The parameters, as `pleo-host plugin inspect` shows them.
const PARAMS: &[Param] = &[
    Param::date(
        "from",
        "first day of the period, inclusive (default: 1st of the month 11 months before `to`)",
    ),
    Param::date(
        "to",
        "last day of the period, inclusive (default: today, UTC)",
    ),
    Param::one_of(
        "period",
        &[
            "previous-month",
            "month-to-date",
            "last-12-months",
            "since-last-success",
        ],
        "instead of from/to: a period relative to the day of scheduled_for (or today)",
    ),
    Param::string(
        "scheduled_for",
        "set by the daemon: the run's nominal time (RFC 3339 with the schedule's offset)",
    ),
    Param::string(
        "last_success_for",
        "set by the daemon: the nominal time of the schedule's last successful run",
    ),
];

struct SpendReport;

impl Guest for SpendReport {
    fn run() -> Result<String, String> {
        let scheduled_for = params::get("scheduled_for").filter(|v| !v.trim().is_empty());
        let (period, period_name) = choose_period(scheduled_for.as_deref())?;
        log::info(format!("spend report for {period} ({period_name})"));

        let employees = list_employees().map_err(|e| format!("listing employees: {e}"))?;
        log::info(format!("{} employees", employees.len()));

        let report = aggregate(&period).map_err(|e| format!("searching entries: {e}"))?;
        log::info(format!(
            "{} entries counted, {} not spend (deleted, cancelled, rejected or reimbursements), {} outside the period",
            report.counted, report.not_spend, report.outside
        ));

        write_out(BY_EMPLOYEE, &report.employee_csv(&employees))?;
        write_out(BY_MONTH, &report.month_csv())?;
        let context = html::Context {
            scheduled_for: scheduled_for.as_deref(),
            period_name: &period_name,
        };
        write_out(HTML, &html::render(&report, &period, &employees, &context)?)?;
        Ok(report.summary(&period, &[BY_EMPLOYEE, BY_MONTH, HTML]))
    }
}

/// The period from `period`, or from `from`/`to`; and how it was chosen, for the page.
fn choose_period(scheduled_for: Option<&str>) -> Result<(Period, String), String> {
    let (from, to) = (params::date("from")?, params::date("to")?);
    let reference = match scheduled_for {
        Some(at) => local_day("scheduled_for", at)?,
        None => Date::today_utc(),
    };
    match params::get("period").filter(|p| !p.trim().is_empty()) {
        Some(_) if from.is_some() || to.is_some() => {
            Err("give either `period` or `from`/`to`, not both".to_owned())
        }
        Some(name) => {
            let relative: Relative = name.parse()?;
            let last_success = params::get("last_success_for")
                .filter(|v| !v.trim().is_empty())
                .map(|v| local_day("last_success_for", &v))
                .transpose()?;
            let period = Period::relative(relative, reference, last_success);
            Ok((period, name.trim().to_owned()))
        }
        None => {
            let name = if from.is_some() || to.is_some() {
                "from/to"
            } else {
                "last-12-months"
            };
            Ok((Period::new(from, to, reference)?, name.to_owned()))
        }
    }
}

fn list_employees() -> Result<BTreeMap<String, Employee>, pleo_plugin::Error> {
    let query = EmployeeQuery {
        email: None,
        code: None,
    };
    pages::<Employee, _>(PAGE_SIZE, |page| users_read::list_employees(&query, page))
        .items()
        .map(|employee| employee.map(|e| (e.id.clone(), e)))
        .collect()
}

fn aggregate(period: &Period) -> Result<Report, pleo_plugin::Error> {
    let (start, end) = period.search_range();
    let filter = EntryFilter {
        include_deleted: false,
        date_range: Some(DateRange {
            field: DateField::PerformedAt,
            start: Some(start),
            end: Some(end),
        }),
        ..EntryFilter::default()
    };
    let sort = Sorting {
        key: SortKey::PerformedAt,
        descending: false,
        nulls: None,
    };
    let mut report = Report::default();
    let mut pages = pages::<AccountingEntry, _>(PAGE_SIZE, |page| {
        entries::search_entries(&filter, Some(sort), page)
    });
    while let Some(page) = pages.next() {
        for entry in page? {
            report.add(&entry, period);
        }
        let seen = pages.seen();
        progress::report(seen, pages.total(), format!("{seen} entries"));
    }
    Ok(report)
}

fn write_out(name: &str, contents: &str) -> Result<(), String> {
    let path = format!("{OUT_DIR}/{name}");
    std::fs::write(&path, contents).map_err(|e| format!("writing {path}: {e}"))
}

pleo_plugin::export_plugin!(SpendReport, params = PARAMS);
