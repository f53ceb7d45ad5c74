//! spend-report against the mock: its CSVs must match totals computed here, independently,
//! from the mock's seeded data.

use std::collections::BTreeMap;

use pleo_host::mock::{Dataset, MockConfig};

use crate::common::{assert_no_formulas, parse_csv, run_in, tempdir, write_config};

const SEED: u64 = 20261126;
/// Pinned so the test and the host's mock generate the same data whatever the date.
const ANCHOR: &str = "2026-06-30";

/// (currency, key) -> (entries, minor units), by the spend rule the plugin documents:
/// not deleted, status not CANCELLED/REJECTED, not a REIMBURSEMENT (it pays back claims
/// already counted), performedAt within the period.
type Totals = BTreeMap<(String, String), (u64, i128)>;

fn expected(from: &str, to: &str) -> (Totals, Totals) {
    let dataset = Dataset::seed(&MockConfig {
        seed: SEED,
        anchor: ANCHOR.parse().unwrap(),
        ..MockConfig::default()
    });
    let entries = serde_json::to_value(&dataset.entries).unwrap();
    let (mut by_employee, mut by_month) = (Totals::new(), Totals::new());
    for e in entries.as_array().unwrap() {
        let performed = e["performedAt"].as_str().unwrap();
        let day = &performed[..10];
        let deleted = !e["deletedAt"].is_null();
        let status = e["status"].as_str().unwrap();
        let reimbursement = e["family"] == "REIMBURSEMENT";
        if deleted
            || status == "CANCELLED"
            || status == "REJECTED"
            || reimbursement
            || day < from
            || day > to
        {
            continue;
        }
        let currency = e["transactionValue"]["currency"]
            .as_str()
            .unwrap()
            .to_owned();
        let minors = e["transactionValue"]["minors"].as_i64().unwrap() as i128;
        let employee = e["employeeId"].as_str().unwrap_or("").to_owned();
        for (totals, key) in [
            (&mut by_employee, employee),
            (&mut by_month, performed[..7].to_owned()),
        ] {
            let slot = totals.entry((currency.clone(), key)).or_default();
            slot.0 += 1;
            slot.1 += minors;
        }
    }
    (by_employee, by_month)
}

/// Parses a major-unit amount ("-1234.56") into minor units, given the currency's exponent.
fn minors(amount: &str, currency: &str) -> i128 {
    let exponent = match currency {
        "JPY" | "KRW" | "ISK" | "CLP" | "VND" => 0,
        "BHD" | "KWD" | "OMR" | "JOD" | "TND" => 3,
        _ => 2,
    };
    let (int, frac) = amount.split_once('.').unwrap_or((amount, ""));
    assert_eq!(
        frac.len(),
        exponent,
        "{amount} has {exponent} decimals for {currency}"
    );
    let negative = int.starts_with('-');
    let digits = format!("{}{frac}", int.trim_start_matches('-'));
    let value: i128 = digits.parse().unwrap();
    if negative { -value } else { value }
}

fn read_csv(path: &std::path::Path, key_column: &str) -> Totals {
    let records = parse_csv(&std::fs::read_to_string(path).unwrap());
    let (header, rows) = records.split_first().unwrap();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("{name} in {header:?}"))
    };
    let (key, currency, entries, amount) = (
        col(key_column),
        col("currency"),
        col("entries"),
        col("amount"),
    );
    let mut totals = Totals::new();
    for fields in rows {
        assert_eq!(fields.len(), header.len(), "row {fields:?}");
        let cur = fields[currency].clone();
        let previous = totals.insert(
            (cur.clone(), fields[key].clone()),
            (
                fields[entries].parse().unwrap(),
                minors(&fields[amount], &cur),
            ),
        );
        assert!(previous.is_none(), "duplicate row {fields:?}");
    }
    totals
}

/// A `pleo.toml` for the seeded mock with spend-report's scopes.
fn config(dir: &std::path::Path) -> std::path::PathBuf {
    write_config(
        dir,
        &format!(
            "environment = \"mock\"\n[mock]\nseed = {SEED}\nanchor = \"{ANCHOR}\"\n[plugins.spend-report]\nscopes = [\"users:read\", \"accounting-entries:read\"]\n"
        ),
    )
}

/// Runs spend-report for `from..=to` into `dir/report`, which it returns.
fn run_report(dir: &std::path::Path, from: &str, to: &str) -> std::path::PathBuf {
    let config = config(dir);
    let out = dir.join("report");
    let run = run_in(
        dir,
        &[
            "run",
            "spend-report",
            "--config",
            config.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--param",
            &format!("from={from}"),
            "--param",
            &format!("to={to}"),
        ],
        &[],
    );
    assert_eq!(
        run.code, 0,
        "stdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    assert!(
        run.stdout.contains("spend-by-employee.csv") && run.stdout.contains("spend-by-month.csv"),
        "{}",
        run.stdout
    );
    out
}

#[test]
fn csv_totals_match_the_seeded_data() {
    let dir = tempdir();
    // A period inside the data that starts and ends mid-month.
    let (from, to) = ("2025-11-17".to_owned(), "2026-05-09".to_owned());
    let out = run_report(dir.path(), &from, &to);

    let (by_employee, by_month) = expected(&from, &to);
    assert!(
        by_month.len() >= 6,
        "the period covers several months and currencies: {by_month:?}"
    );
    assert_eq!(read_csv(&out.join("spend-by-month.csv"), "month"), by_month);
    assert_eq!(
        read_csv(&out.join("spend-by-employee.csv"), "employee_id"),
        by_employee
    );
    // The 0- and 3-decimal currencies are in the period and print in their own units: whole
    // yen, dinar with three decimals (`read_csv` parsed each amount with its exponent).
    for currency in ["JPY", "KWD"] {
        assert!(
            by_month.keys().any(|(c, _)| c == currency),
            "{currency} in the period: {by_month:?}"
        );
    }
    let records = parse_csv(&std::fs::read_to_string(out.join("spend-by-month.csv")).unwrap());
    for record in &records[1..] {
        let (currency, amount) = (record[1].as_str(), record[3].as_str());
        let (_, expected) = by_month[&(currency.to_owned(), record[0].clone())];
        let printed = match currency {
            "JPY" => expected.to_string(),
            "KWD" => format!("{}.{:03}", expected / 1000, expected % 1000),
            _ => format!("{}.{:02}", expected / 100, expected % 100),
        };
        assert_eq!(amount, printed, "{record:?}");
    }
}

/// The mock's employees include `=HYPERLINK(...)` and `@SUM(...)` first names: the report must
/// write them as text a spreadsheet does not evaluate.
#[test]
fn names_typed_into_pleo_cannot_become_formulas() {
    let dir = tempdir();
    let out = run_report(dir.path(), "2025-07-01", ANCHOR);
    for file in ["spend-by-employee.csv", "spend-by-month.csv"] {
        assert_no_formulas(file, &std::fs::read_to_string(out.join(file)).unwrap());
    }
    let records = parse_csv(&std::fs::read_to_string(out.join("spend-by-employee.csv")).unwrap());
    let names: Vec<&str> = records.iter().skip(1).map(|r| r[1].as_str()).collect();
    for hostile in [
        r#"'=HYPERLINK("http://evil.example","refund") "#,
        "'@SUM(1+1)",
    ] {
        assert!(
            names.iter().any(|n| n.starts_with(hostile)),
            "{hostile} neutralised among {names:?}"
        );
    }
    // Amounts stay numbers (a `'` in front would not parse).
    for record in &records[1..] {
        assert!(record[5].parse::<f64>().is_ok(), "{record:?}");
    }
}

#[test]
fn quick_start_runs_without_any_config() {
    // The README's first command: no pleo.toml, no key; defaults to the last 12 months.
    let dir = tempdir();
    let run = run_in(dir.path(), &["run", "spend-report"], &[]);
    assert_eq!(run.code, 0, "stderr:\n{}", run.stderr);
    for file in ["spend-by-employee.csv", "spend-by-month.csv"] {
        let path = dir.path().join("out/spend-report").join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.lines().count() > 12, "{file} has rows:\n{text}");
    }
    let months =
        std::fs::read_to_string(dir.path().join("out/spend-report/spend-by-month.csv")).unwrap();
    let distinct: std::collections::BTreeSet<&str> =
        months.lines().skip(1).map(|l| &l[..7]).collect();
    assert_eq!(
        distinct.len(),
        12,
        "default period is 12 months: {distinct:?}"
    );
    assert!(
        run.stdout.contains("spend-report finished"),
        "{}",
        run.stdout
    );
}

/// A scheduled run's `period = previous-month` is the month before the schedule's local day of
/// `scheduled_for`: 00:30 on July 1 in Copenhagen is still June 30 in UTC, and the report is
/// for June, not May.
#[test]
fn previous_month_follows_the_schedules_local_day() {
    let dir = tempdir();
    let config = config(dir.path());
    let run = run_in(
        dir.path(),
        &[
            "run",
            "spend-report",
            "--config",
            config.to_str().unwrap(),
            "--param",
            "period=previous-month",
            "--param",
            "scheduled_for=2026-07-01T00:30:00+02:00",
        ],
        &[],
    );
    assert_eq!(run.code, 0, "stderr:\n{}", run.stderr);
    let out = dir.path().join("out/spend-report");
    let (_, by_month) = expected("2026-06-01", "2026-06-30");
    assert_eq!(read_csv(&out.join("spend-by-month.csv"), "month"), by_month);
    assert!(by_month.keys().all(|(_, month)| month == "2026-06"));
    assert!(
        run.stdout.contains("2026-06-01..2026-06-30"),
        "{}",
        run.stdout
    );

    let bad = run_in(
        dir.path(),
        &[
            "run",
            "spend-report",
            "--config",
            config.to_str().unwrap(),
            "-p",
            "period=last-month",
        ],
        &[],
    );
    // The declared enum refuses it before the plugin starts (exit 2, usage).
    let line = bad.assert_clean_failure(2);
    assert!(line.contains("previous-month"), "{line}");
}

/// report.html, written inside the sandbox (no fonts, no network), is one well-formed page:
/// the mock's hostile first names (`=HYPERLINK("http://evil.example",...)`, quotes included)
/// arrive as text, never as markup, and nothing is loaded from elsewhere.
#[test]
fn the_html_report_is_self_contained_and_escapes_names() {
    let dir = tempdir();
    let out = run_report(dir.path(), "2025-07-01", ANCHOR);
    let page = std::fs::read_to_string(out.join("report.html")).unwrap();
    let doc = roxmltree::Document::parse_with_options(
        &page,
        roxmltree::ParsingOptions {
            allow_dtd: true,
            ..Default::default()
        },
    )
    .unwrap_or_else(|e| panic!("report.html is not well-formed: {e}"));
    let elements: Vec<&str> = doc
        .descendants()
        .filter(|n| n.is_element())
        .map(|n| n.tag_name().name())
        .collect();
    for forbidden in [
        "script", "iframe", "object", "embed", "link", "img", "image",
    ] {
        assert!(
            !elements.contains(&forbidden),
            "<{forbidden}> in report.html"
        );
    }
    assert!(
        elements.iter().filter(|e| **e == "svg").count() >= 2,
        "charts"
    );
    let cells: Vec<String> = doc
        .descendants()
        .filter(|n| n.tag_name().name() == "bdi")
        .map(|n| n.text().unwrap_or_default().to_owned())
        .collect();
    assert!(
        cells
            .iter()
            .any(|c| c.starts_with(r#"=HYPERLINK("http://evil.example","refund")"#)),
        "the hostile name is shown as typed, as text: {cells:?}"
    );
    assert!(
        !page.contains(r#"<td><bdi>=HYPERLINK("http"#),
        "quotes escaped"
    );
    assert!(
        !page.contains("src=") && !page.contains("url("),
        "nothing loaded"
    );
}
