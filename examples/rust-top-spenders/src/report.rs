//! The report's logic: no host calls, so `cargo test` runs it natively.

use std::collections::BTreeMap;

use pleo_plugin::money::{exponent, format_minor_units};
use pleo_plugin::{Date, Money, utc_date};
use serde::Deserialize;

/// The fields of an accounting entry the report reads: the only ones it asks the host for
/// (`Pages::only`), so each page carries a fifth of the JSON.
pub const FIELDS: &[&str] = &[
    "performedAt",
    "status",
    "family",
    "deletedAt",
    "transactionValue",
    "employeeId",
];

/// An accounting entry, as much of it as the report reads ([`FIELDS`]).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Spend {
    pub performed_at: String,
    /// `DRAFT`, `PENDING`, `COMPLETED`, `CANCELLED`, `REJECTED`, ...
    pub status: String,
    /// e.g. `CARD_PURCHASE`, `REIMBURSEMENT`.
    pub family: String,
    pub deleted_at: Option<String>,
    pub transaction_value: Money,
    pub employee_id: Option<String>,
}

pub struct Options {
    pub from: Option<Date>,
    pub to: Option<Date>,
    pub currency: String,
    pub top: usize,
}

impl Options {
    /// `performedAtStart`/`End` one millisecond wider than the period; [`Report::add`] decides
    /// exactly by the UTC day.
    pub fn search_range(&self) -> (Option<String>, Option<String>) {
        (
            self.from
                .map(|d| format!("{}T23:59:59.999Z", d.add_days(-1))),
            self.to.map(|d| format!("{}T00:00:00.000Z", d.add_days(1))),
        )
    }

    fn period(&self) -> String {
        let show = |d: Option<Date>| d.map_or("any".to_owned(), |d| d.to_string());
        format!("{}..{}", show(self.from), show(self.to))
    }
}

/// Spend per employee: (entries, minor units).
#[derive(Default)]
pub struct Report {
    by_employee: BTreeMap<String, (u64, i128)>,
}

impl Report {
    /// Counts an entry if it is spend (not deleted, cancelled, rejected or a reimbursement),
    /// in the currency, within the period.
    pub fn add(&mut self, entry: &Spend, options: &Options) {
        let spend = entry.deleted_at.is_none()
            && !matches!(entry.status.as_str(), "CANCELLED" | "REJECTED")
            && entry.family != "REIMBURSEMENT";
        let Some(day) = utc_date(&entry.performed_at) else {
            return;
        };
        let in_period =
            options.from.is_none_or(|f| f <= day) && options.to.is_none_or(|t| day <= t);
        if spend && in_period && entry.transaction_value.currency == options.currency {
            let key = entry.employee_id.clone().unwrap_or_default();
            let totals = self.by_employee.entry(key).or_default();
            totals.0 += 1;
            totals.1 += i128::from(entry.transaction_value.minors);
        }
    }

    pub fn entries(&self) -> u64 {
        self.by_employee.values().map(|t| t.0).sum()
    }

    /// Employees by spend, largest first (ties by id).
    fn ranked(&self) -> Vec<(&String, &(u64, i128))> {
        let mut ranked: Vec<_> = self.by_employee.iter().collect();
        ranked.sort_by(|a, b| b.1.1.cmp(&a.1.1).then(a.0.cmp(b.0)));
        ranked
    }

    pub fn csv(&self, options: &Options) -> String {
        let exp = exponent(&options.currency);
        let mut out = String::from("rank,employee_id,entries,amount\n");
        for (i, (id, (n, minors))) in self.ranked().into_iter().take(options.top).enumerate() {
            out.push_str(&format!(
                "{},{id},{n},{}\n",
                i + 1,
                format_minor_units(*minors, exp)
            ));
        }
        out
    }

    pub fn summary(&self, options: &Options) -> String {
        let total: i128 = self.by_employee.values().map(|t| t.1).sum();
        format!(
            "top {} of {} employees by {} spend, {}: {} {} over {} entries",
            options.top.min(self.by_employee.len()),
            self.by_employee.len(),
            options.currency,
            options.period(),
            options.currency,
            format_minor_units(total, exponent(&options.currency)),
            self.entries()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An entry as the host passes it with only [`FIELDS`] kept.
    fn entry(employee: &str, day: &str, minors: i64, status: &str) -> Spend {
        serde_json::from_value(serde_json::json!({
            "performedAt": format!("{day}T12:00:00Z"), "family": "CARD_PURCHASE",
            "status": status, "transactionValue": {"currency": "DKK", "minors": minors},
            "employeeId": employee,
        }))
        .unwrap()
    }

    #[test]
    fn ranks_spend_by_employee() {
        let options = Options {
            from: Date::new(2026, 1, 1),
            to: Date::new(2026, 1, 31),
            currency: "DKK".into(),
            top: 2,
        };
        let mut report = Report::default();
        report.add(&entry("a", "2026-01-02", 1000, "COMPLETED"), &options);
        report.add(&entry("b", "2026-01-03", 5000, "COMPLETED"), &options);
        report.add(&entry("b", "2026-01-04", 9999, "REJECTED"), &options);
        report.add(&entry("c", "2026-02-01", 9999, "COMPLETED"), &options);
        report.add(&entry("d", "2026-01-05", 5, "PENDING"), &options);
        assert_eq!(
            report.csv(&options),
            "rank,employee_id,entries,amount\n1,b,1,50.00\n2,a,1,10.00\n"
        );
        assert_eq!(
            report.summary(&options),
            "top 2 of 3 employees by DKK spend, 2026-01-01..2026-01-31: DKK 60.05 over 3 entries"
        );
    }
}
