//! `top-spenders`: the employees with the most spend in one currency, as a CSV file.

mod report;

use pleo_plugin::accounting_entries_read::{self as entries, DateField, DateRange, EntryFilter};
use pleo_plugin::{Guest, Param, log, pages, params, progress};

use report::{FIELDS, Options, Report, Spend};

const PARAMS: &[Param] = &[
    Param::date(
        "from",
        "first day of the period, inclusive (default: no limit)",
    ),
    Param::date(
        "to",
        "last day of the period, inclusive (default: no limit)",
    ),
    Param::string("currency", "ISO 4217 code of the spend to rank").default("DKK"),
    Param::integer("top", "how many employees to list").default("5"),
];

struct TopSpenders;

impl Guest for TopSpenders {
    fn run() -> Result<String, String> {
        let options = Options {
            from: params::date("from")?,
            to: params::date("to")?,
            currency: params::get_or("currency", "DKK"),
            top: params::integer("top")?.unwrap_or(5).max(0) as usize,
        };
        let (start, end) = options.search_range();
        let filter = EntryFilter {
            include_deleted: false,
            date_range: Some(DateRange {
                field: DateField::PerformedAt,
                start,
                end,
            }),
            currencies: vec![options.currency.clone()],
            ..EntryFilter::default()
        };
        let mut report = Report::default();
        let mut pages =
            pages::<Spend, _>(100, |page| entries::search_entries(&filter, None, page))
                .only(FIELDS);
        while let Some(page) = pages.next() {
            for entry in page.map_err(|e| format!("searching entries: {e}"))? {
                report.add(&entry, &options);
            }
            progress::report(
                pages.seen(),
                pages.total(),
                format!("{} entries", pages.seen()),
            );
        }
        log::info(format!("{} entries counted", report.entries()));
        let path = "/out/top-spenders.csv";
        std::fs::write(path, report.csv(&options)).map_err(|e| format!("writing {path}: {e}"))?;
        Ok(report.summary(&options))
    }
}

pleo_plugin::export_plugin!(TopSpenders, params = PARAMS);
