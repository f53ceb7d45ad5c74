//! `spend-report`: spend per employee and per month, as two CSV files.
//!
//! # Parameters
//!
//! * `from`, `to`: the period, inclusive UTC calendar days as `YYYY-MM-DD`. `to` defaults to
//!   today (from the WASI clock); `from` to the first day of the month 11 months before `to`'s
//!   month, so the default is twelve monthly buckets ending with the current, partial month.
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

mod report;

use std::collections::BTreeMap;

use pleo_plugin::accounting_entries_read::{
    self as entries, DateField, DateRange, EntryFilter, SortKey, Sorting,
};
use pleo_plugin::users_read::{self, EmployeeQuery};
use pleo_plugin::{AccountingEntry, Date, Employee, Guest, Param, log, pages, params, progress};

use report::{Period, Report};

const OUT_DIR: &str = "/out";
const BY_EMPLOYEE: &str = "spend-by-employee.csv";
const BY_MONTH: &str = "spend-by-month.csv";
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
];

struct SpendReport;

impl Guest for SpendReport {
    fn run() -> Result<String, String> {
        let period = Period::new(
            params::date("from")?,
            params::date("to")?,
            Date::today_utc(),
        )?;
        log::info(format!("spend report for {period}"));

        let employees = list_employees().map_err(|e| format!("listing employees: {e}"))?;
        log::info(format!("{} employees", employees.len()));

        let report = aggregate(&period).map_err(|e| format!("searching entries: {e}"))?;
        log::info(format!(
            "{} entries counted, {} not spend (deleted, cancelled, rejected or reimbursements), {} outside the period",
            report.counted, report.not_spend, report.outside
        ));

        write_out(BY_EMPLOYEE, &report.employee_csv(&employees))?;
        write_out(BY_MONTH, &report.month_csv())?;
        Ok(report.summary(&period, &[BY_EMPLOYEE, BY_MONTH]))
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
        employee_ids: Vec::new(),
        account_ids: Vec::new(),
        families: Vec::new(),
        statuses: Vec::new(),
        currencies: Vec::new(),
    };
    let sort = Sorting {
        key: SortKey::PerformedAt,
        descending: false,
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
