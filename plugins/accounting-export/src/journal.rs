//! Export items to journal lines, and the journal's two file formats. No host calls, so all of
//! it is unit-tested on the native target.
//!
//! One journal line per accounting-entry line of an export item, in the two-account form
//! (account and contra account on the same line) that Pleo's own data has. Amounts keep Pleo's
//! signs and are in the wallet currency, the one the books are kept in; the supplier-currency
//! amount is carried along.

use std::collections::BTreeMap;

use pleo_plugin::csv::{Cell, Csv};
use pleo_plugin::money::{exponent, format_minor_units};
use pleo_plugin::{ExportAccount, ExportItem, MoneyModel, utc_date};
use serde::Serialize;

/// The account number a journal line names: the code, else the accounting system's id.
fn account_number(account: &ExportAccount) -> Option<&str> {
    [&account.code, &account.identifier]
        .into_iter()
        .flatten()
        .map(|s| s.trim())
        .find(|s| !s.is_empty())
}

/// `code name`, or whichever of the two is set (teams, employees, suppliers, vendors).
fn label(code: Option<&str>, name: Option<&str>) -> Option<String> {
    let parts: Vec<&str> = [code, name]
        .into_iter()
        .flatten()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    (!parts.is_empty()).then(|| parts.join(" "))
}

/// Why an item cannot be exported: Pleo's item failure reason type and a message for people.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ItemFailure {
    /// One of Pleo's `ExportJobItemFailureReasonType` values.
    pub reason_type: &'static str,
    pub reason: String,
}

impl ItemFailure {
    fn new(reason_type: &'static str, reason: impl Into<String>) -> ItemFailure {
        ItemFailure {
            reason_type,
            reason: reason.into(),
        }
    }

    pub fn validation(reason: impl Into<String>) -> ItemFailure {
        ItemFailure::new("validation_failure", reason)
    }
}

/// The id the entry gets in the journal, reported to Pleo as its `externalId`. Derived from the
/// accounting entry alone, so a rerun or a later re-export of the same entry yields the same id
/// and an import into an accounting system updates rather than duplicates.
pub fn journal_id(accounting_entry_id: &str) -> String {
    format!("JE-{accounting_entry_id}")
}

/// A tag on a journal line: its group's code and its own.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LineTag {
    pub group: String,
    pub code: String,
}

/// One line of the journal. Amounts are in minor units and, as text, in major units with the
/// currency's ISO 4217 number of decimals.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct JournalLine {
    /// `<journal_id>-<n>`, n counting the entry's lines from 1.
    pub line_id: String,
    pub journal_id: String,
    pub job_id: String,
    pub accounting_entry_id: String,
    pub entry_line_id: String,
    /// `YYYY-MM-DD`, the UTC day of the item's `date`.
    pub date: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub sub_type: Option<String>,
    pub account: String,
    pub account_name: String,
    pub contra_account: Option<String>,
    pub currency: String,
    pub amount_minor: i64,
    pub amount: String,
    pub net_amount_minor: i64,
    pub net_amount: String,
    pub tax_code: Option<String>,
    pub tax_rate: Option<String>,
    pub tax_amount_minor: Option<i64>,
    pub tax_amount: Option<String>,
    pub supplier_currency: String,
    pub supplier_amount_minor: i64,
    pub supplier_amount: String,
    pub tags: Vec<LineTag>,
    pub team: Option<String>,
    pub employee: Option<String>,
    pub supplier: Option<String>,
    pub vendor: Option<String>,
    pub note: Option<String>,
    pub reconciliation_id: Option<String>,
}

/// The journal lines of one export item, or why it cannot be exported:
///
/// * `validation_failure`: an unreadable date, no lines, an amount that is not a whole number
///   of minor units or has no ISO 4217 currency, lines in another currency than the entry, or
///   lines that do not add up to the entry's amount;
/// * `account_unknown`: a line without an account, or whose account has neither a code nor an
///   accounting-system identifier.
pub fn map_item(job_id: &str, item: &ExportItem) -> Result<Vec<JournalLine>, ItemFailure> {
    let date = utc_date(&item.date)
        .ok_or_else(|| ItemFailure::validation(format!("unreadable date {:?}", item.date)))?;
    if item.accounting_entry_lines.is_empty() {
        return Err(ItemFailure::validation("the entry has no lines"));
    }
    let (currency, total) = minors(&item.amount.in_wallet_currency)?;
    let journal_id = journal_id(&item.accounting_entry_id);
    let contra_account = item
        .contra_account
        .as_ref()
        .and_then(account_number)
        .map(str::to_owned);
    let mut lines = Vec::with_capacity(item.accounting_entry_lines.len());
    let mut sum: i128 = 0;
    for (i, line) in item.accounting_entry_lines.iter().enumerate() {
        let n = i + 1;
        let account = match &line.account {
            None => {
                return Err(ItemFailure::new(
                    "account_unknown",
                    format!("line {n} has no account"),
                ));
            }
            Some(account) => account_number(account).ok_or_else(|| {
                ItemFailure::new(
                    "account_unknown",
                    format!(
                        "line {n}: account {:?} has no code in the accounting system",
                        account.name
                    ),
                )
            })?,
        };
        let amount = in_currency(&line.line_amount.in_wallet_currency, &currency, n)?;
        sum += i128::from(amount);
        let net = in_currency(&line.net_amount.in_wallet_currency, &currency, n)?;
        let tax = line.tax.as_ref();
        let tax_amount = tax
            .map(|t| in_currency(&t.amount.in_wallet_currency, &currency, n))
            .transpose()?;
        let (supplier_currency, supplier_minor) = minors(&line.line_amount.in_supplier_currency)?;
        let major = |minor: i64| format_minor_units(i128::from(minor), exponent(&currency));
        lines.push(JournalLine {
            line_id: format!("{journal_id}-{n}"),
            journal_id: journal_id.clone(),
            job_id: job_id.to_owned(),
            accounting_entry_id: item.accounting_entry_id.clone(),
            entry_line_id: line.accounting_entry_line_id.clone(),
            date: date.to_string(),
            kind: item.kind.clone(),
            sub_type: item.sub_type.clone(),
            account: account.to_owned(),
            account_name: line
                .account
                .as_ref()
                .map(|a| a.name.clone())
                .unwrap_or_default(),
            contra_account: contra_account.clone(),
            currency: currency.clone(),
            amount_minor: amount,
            amount: major(amount),
            net_amount_minor: net,
            net_amount: major(net),
            tax_code: tax.and_then(|t| t.code.clone()),
            tax_rate: tax.map(|t| t.rate.to_string()),
            tax_amount_minor: tax_amount,
            tax_amount: tax_amount.map(major),
            supplier_amount: format_minor_units(
                i128::from(supplier_minor),
                exponent(&supplier_currency),
            ),
            supplier_currency,
            supplier_amount_minor: supplier_minor,
            tags: line
                .tags
                .iter()
                .map(|t| LineTag {
                    group: t.group_code.clone(),
                    code: t.code.clone(),
                })
                .collect(),
            team: (item.team.as_ref()).and_then(|t| label(t.code.as_deref(), Some(&t.name))),
            employee: (item.user.as_ref()).and_then(|u| label(u.code.as_deref(), Some(&u.name))),
            supplier: (item.supplier.as_ref())
                .and_then(|s| label(s.code.as_deref(), s.name.as_deref())),
            vendor: (item.vendor.as_ref()).and_then(|v| label(v.code.as_deref(), Some(&v.name))),
            note: item.note.clone(),
            reconciliation_id: (item.additional_information.as_ref())
                .map(|a| a.reconciliation_id.clone()),
        });
    }
    if sum != i128::from(total) {
        let exp = exponent(&currency);
        return Err(ItemFailure::validation(format!(
            "the lines add up to {currency} {}, the entry is {currency} {}",
            format_minor_units(sum, exp),
            format_minor_units(i128::from(total), exp)
        )));
    }
    Ok(lines)
}

/// `(currency, minor units)`, if the currency looks like ISO 4217 and the value is whole.
fn minors(money: &MoneyModel) -> Result<(String, i64), ItemFailure> {
    let currency = money.currency.as_str();
    if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(ItemFailure::validation(format!(
            "amount {} has no ISO 4217 currency ({currency:?})",
            money.value
        )));
    }
    money
        .minors()
        .map(|v| (currency.to_owned(), v))
        .ok_or_else(|| {
            ItemFailure::validation(format!(
                "amount {} {currency} is not a whole number of minor units",
                money.value
            ))
        })
}

/// Minor units of a line amount that must be in the entry's `currency`.
fn in_currency(money: &MoneyModel, currency: &str, line: usize) -> Result<i64, ItemFailure> {
    let (found, value) = minors(money)?;
    if found != currency {
        return Err(ItemFailure::validation(format!(
            "line {line} is in {found}, the entry in {currency}"
        )));
    }
    Ok(value)
}

/// The journal of one export job: lines sorted by date, entry and line number.
#[derive(Debug, Default)]
pub struct Journal {
    /// Key: (date, accounting entry id) -> the entry's lines in order.
    entries: BTreeMap<(String, String), Vec<JournalLine>>,
}

#[rustfmt::skip]
pub const CSV_HEADER: [&str; 30] = [
    "line_id", "journal_id", "job_id", "accounting_entry_id", "entry_line_id", "date", "type",
    "sub_type", "account", "account_name", "contra_account", "currency", "amount_minor", "amount",
    "net_amount_minor", "net_amount", "tax_code", "tax_rate", "tax_amount_minor", "tax_amount",
    "supplier_currency", "supplier_amount_minor", "supplier_amount", "tags", "team", "employee",
    "supplier", "vendor", "note", "reconciliation_id",
];

impl Journal {
    /// Adds an entry's lines (all from one [`map_item`]); adding an entry again replaces it.
    pub fn add(&mut self, lines: Vec<JournalLine>) {
        if let Some(first) = lines.first() {
            let key = (first.date.clone(), first.accounting_entry_id.clone());
            self.entries.insert(key, lines);
        }
    }

    /// Entries in the journal.
    pub fn entries(&self) -> usize {
        self.entries.len()
    }

    pub fn lines(&self) -> impl Iterator<Item = &JournalLine> {
        self.entries.values().flatten()
    }

    /// The journal as CSV (RFC 4180, header line, `\n` line ends, text cells neutralised
    /// against formulas by [`Csv`]). Tags are `group=code` pairs separated by `;`.
    pub fn csv(&self) -> String {
        fn opt(value: &Option<String>) -> Cell<'_> {
            Cell::opt_text(value.as_deref())
        }
        let mut csv = Csv::new(CSV_HEADER);
        for l in self.lines() {
            let tags = l
                .tags
                .iter()
                .map(|t| format!("{}={}", t.group, t.code))
                .collect::<Vec<_>>()
                .join(";");
            let text = Cell::text;
            csv.row([
                text(&l.line_id),
                text(&l.journal_id),
                text(&l.job_id),
                text(&l.accounting_entry_id),
                text(&l.entry_line_id),
                text(&l.date),
                text(&l.kind),
                opt(&l.sub_type),
                text(&l.account),
                text(&l.account_name),
                opt(&l.contra_account),
                text(&l.currency),
                Cell::number(l.amount_minor),
                Cell::decimal(&l.amount),
                Cell::number(l.net_amount_minor),
                Cell::decimal(&l.net_amount),
                opt(&l.tax_code),
                l.tax_rate.as_deref().map_or(Cell::Empty, Cell::decimal),
                l.tax_amount_minor.map_or(Cell::Empty, Cell::number),
                l.tax_amount.as_deref().map_or(Cell::Empty, Cell::decimal),
                text(&l.supplier_currency),
                Cell::number(l.supplier_amount_minor),
                Cell::decimal(&l.supplier_amount),
                text(&tags),
                opt(&l.team),
                opt(&l.employee),
                opt(&l.supplier),
                opt(&l.vendor),
                opt(&l.note),
                opt(&l.reconciliation_id),
            ]);
        }
        csv.finish()
    }

    /// The journal as JSON Lines: one object per line, fields as in the CSV header, absent
    /// values as `null` and tags as `[{"group", "code"}]`.
    pub fn jsonl(&self) -> String {
        let mut out = String::new();
        for line in self.lines() {
            // A struct of strings, numbers and options always serializes.
            out.push_str(&serde_json::to_string(line).expect("journal line serializes"));
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn money(currency: &str, value: Value) -> Value {
        json!({"currency": currency, "value": value})
    }

    fn amounts(wallet: (&str, Value), supplier: (&str, Value)) -> Value {
        json!({
            "inWalletCurrency": money(wallet.0, wallet.1),
            "inSupplierCurrency": money(supplier.0, supplier.1),
        })
    }

    /// A two-line card purchase of DKK -1000.50 (EUR -134.20), the way Pleo sends it.
    fn item_json() -> Value {
        json!({
            "_links": {},
            "accountingEntryId": "e1",
            "companyId": "c1",
            "type": "card_purchase",
            "date": "2025-03-31T23:30:00-02:00",
            "amount": amounts(("DKK", json!(-100050)), ("EUR", json!(-13420))),
            "accountingEntryLines": [
                {
                    "accountingEntryLineId": "l1",
                    "lineAmount": amounts(("DKK", json!(-80000)), ("EUR", json!(-10736))),
                    "netAmount": amounts(("DKK", json!(-64000)), ("EUR", json!(-8589))),
                    "account": {"id": "a1", "name": "Travel", "code": "4010", "identifier": "X9"},
                    "tags": [{"id": "t", "code": "SALES", "groupCode": "DEPT"}],
                    "tax": {"id": "tx", "code": "VAT25", "rate": 0.25, "type": "inclusive",
                            "amount": amounts(("DKK", json!(-16000)), ("EUR", json!(-2147)))}
                },
                {
                    "accountingEntryLineId": "l2",
                    "lineAmount": amounts(("DKK", json!(-20050.0)), ("EUR", json!(-2684))),
                    "netAmount": amounts(("DKK", json!(-20050)), ("EUR", json!(-2684))),
                    "account": {"id": "a2", "name": "Meals", "code": null, "identifier": "MEALS"},
                    "tags": null
                }
            ],
            "additionalInformation": {"reconciliationId": "B-17"},
            "contraAccount": {"id": "ca", "name": "Pleo DKK", "code": "5810"},
            "note": "Client dinner, \"Nordic\" team",
            "user": {"id": "u", "name": "Ana Lind", "code": "E042"},
            "supplier": {"name": "SAS"},
            "team": null,
            "somethingNew": {"x": 1}
        })
    }

    fn item(value: Value) -> ExportItem {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn maps_lines_with_accounts_amounts_and_tax() {
        let lines = map_item("job1", &item(item_json())).unwrap();
        assert_eq!(lines.len(), 2);
        let (a, b) = (&lines[0], &lines[1]);
        assert_eq!(a.line_id, "JE-e1-1");
        assert_eq!(b.line_id, "JE-e1-2");
        assert_eq!(a.journal_id, journal_id("e1"));
        // 23:30 at -02:00 is the next day in UTC.
        assert_eq!(a.date, "2025-04-01");
        assert_eq!((a.account.as_str(), b.account.as_str()), ("4010", "MEALS"));
        assert_eq!(a.contra_account.as_deref(), Some("5810"));
        assert_eq!((a.amount_minor, a.amount.as_str()), (-80000, "-800.00"));
        assert_eq!((b.amount_minor, b.amount.as_str()), (-20050, "-200.50"));
        assert_eq!(a.net_amount, "-640.00");
        assert_eq!(a.tax_code.as_deref(), Some("VAT25"));
        assert_eq!(a.tax_rate.as_deref(), Some("0.25"));
        assert_eq!(a.tax_amount_minor, Some(-16000));
        assert_eq!(b.tax_code, None);
        assert_eq!(
            (a.supplier_currency.as_str(), a.supplier_amount.as_str()),
            ("EUR", "-107.36")
        );
        assert_eq!(
            a.tags,
            vec![LineTag {
                group: "DEPT".into(),
                code: "SALES".into()
            }]
        );
        assert_eq!(a.employee.as_deref(), Some("E042 Ana Lind"));
        assert_eq!(a.supplier.as_deref(), Some("SAS"));
        assert_eq!(a.team, None);
        assert_eq!(a.reconciliation_id.as_deref(), Some("B-17"));
    }

    #[test]
    fn amounts_follow_the_currency_exponent() {
        let mut v = item_json();
        v["amount"] = amounts(("JPY", json!(1500)), ("KWD", json!(-1250)));
        v["accountingEntryLines"] = json!([{
            "accountingEntryLineId": "l9",
            "lineAmount": amounts(("JPY", json!(1500)), ("KWD", json!(-1250))),
            "netAmount": amounts(("JPY", json!(1200)), ("KWD", json!(-1000))),
            "account": {"id": "a", "name": "n", "code": "1"}
        }]);
        let line = &map_item("j", &item(v)).unwrap()[0];
        assert_eq!(line.amount, "1500");
        assert_eq!(line.supplier_amount, "-1.250");
        assert_eq!(line.contra_account.as_deref(), Some("5810"));
        assert_eq!(line.net_amount, "1200");
        assert_eq!(line.tax_code, None);
        assert_eq!(line.tags, vec![]);
    }

    #[test]
    fn unmappable_items_fail_with_a_reason_type() {
        let fail = |edit: &dyn Fn(&mut Value)| {
            let mut v = item_json();
            edit(&mut v);
            map_item("j", &item(v)).unwrap_err()
        };
        let e = fail(&|v| v["accountingEntryLines"][1]["account"] = Value::Null);
        assert_eq!(e.reason_type, "account_unknown");
        assert_eq!(e.reason, "line 2 has no account");
        let e = fail(&|v| {
            v["accountingEntryLines"][0]["account"] =
                json!({"id": "a", "name": "Travel", "code": " "})
        });
        assert_eq!(e.reason_type, "account_unknown");
        assert!(e.reason.contains("\"Travel\""), "{}", e.reason);

        let e = fail(&|v| v["accountingEntryLines"] = json!([]));
        assert_eq!(e, ItemFailure::validation("the entry has no lines"));
        let e = fail(&|v| v["date"] = json!("yesterday"));
        assert_eq!(e.reason_type, "validation_failure");
        let e = fail(&|v| v["amount"]["inWalletCurrency"]["value"] = json!(-100050.5));
        assert!(e.reason.contains("not a whole number"), "{}", e.reason);
        let e = fail(&|v| v["amount"]["inWalletCurrency"]["currency"] = json!("UNDEFINED"));
        assert!(e.reason.contains("ISO 4217"), "{}", e.reason);
        let e = fail(&|v| {
            v["accountingEntryLines"][1]["lineAmount"]["inWalletCurrency"]["currency"] =
                json!("EUR")
        });
        assert_eq!(e.reason, "line 2 is in EUR, the entry in DKK");
        let e = fail(&|v| v["amount"]["inWalletCurrency"]["value"] = json!(-100000));
        assert_eq!(
            e.reason,
            "the lines add up to DKK -1000.50, the entry is DKK -1000.00"
        );
    }

    #[test]
    fn journal_is_sorted_and_formatted() {
        let mut journal = Journal::default();
        let mut later = item_json();
        later["accountingEntryId"] = json!("e0");
        later["date"] = json!("2025-05-01T10:00:00Z");
        journal.add(map_item("job1", &item(later)).unwrap());
        journal.add(map_item("job1", &item(item_json())).unwrap());
        // Adding an entry again replaces it rather than duplicating its lines.
        journal.add(map_item("job1", &item(item_json())).unwrap());
        assert_eq!(journal.entries(), 2);

        let csv = journal.csv();
        let rows: Vec<&str> = csv.lines().collect();
        assert_eq!(rows.len(), 5);
        assert_eq!(rows[0], CSV_HEADER.join(","));
        assert_eq!(
            rows[1],
            "JE-e1-1,JE-e1,job1,e1,l1,2025-04-01,card_purchase,,4010,Travel,5810,DKK,-80000,-800.00,-64000,-640.00,VAT25,0.25,-16000,-160.00,EUR,-10736,-107.36,DEPT=SALES,,E042 Ana Lind,SAS,,\"Client dinner, \"\"Nordic\"\" team\",B-17"
        );
        assert!(rows[2].starts_with("JE-e1-2,"), "{}", rows[2]);
        assert!(rows[3].starts_with("JE-e0-1,"), "{}", rows[3]);
        for row in &rows[1..] {
            // Only the quoted note holds commas of its own.
            let unquoted = row.replace("\"Client dinner, \"\"Nordic\"\" team\"", "note");
            assert_eq!(unquoted.split(',').count(), 30, "{row}");
        }

        let jsonl = journal.jsonl();
        let objects: Vec<Value> = jsonl
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(objects.len(), 4);
        assert_eq!(objects[0]["line_id"], "JE-e1-1");
        assert_eq!(objects[0]["amount_minor"], -80000);
        assert_eq!(objects[0]["amount"], "-800.00");
        assert_eq!(objects[0]["type"], "card_purchase");
        assert_eq!(
            objects[0]["tags"],
            json!([{"group": "DEPT", "code": "SALES"}])
        );
        assert_eq!(objects[1]["tax_code"], Value::Null);
        assert_eq!(objects[0]["note"], "Client dinner, \"Nordic\" team");
        // Every CSV column is a JSON field, and the other way round.
        let keys: Vec<&str> = objects[0]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let mut columns = CSV_HEADER.to_vec();
        columns.sort_unstable();
        let mut keys = keys;
        keys.sort_unstable();
        assert_eq!(keys, columns);
    }

    #[test]
    fn typed_in_text_cannot_become_a_formula() {
        let mut v = item_json();
        v["note"] = json!("=HYPERLINK(\"http://evil.example\",\"refund\")");
        v["supplier"] = json!({"name": "@SUM(1+1)"});
        v["accountingEntryLines"][0]["tags"] =
            json!([{"id": "t", "code": "X", "groupCode": "+CMD"}]);
        let mut journal = Journal::default();
        journal.add(map_item("job1", &item(v)).unwrap());
        let csv = journal.csv();
        let row = csv.lines().nth(1).unwrap();
        assert_eq!(
            row,
            "JE-e1-1,JE-e1,job1,e1,l1,2025-04-01,card_purchase,,4010,Travel,5810,DKK,-80000,-800.00,-64000,-640.00,VAT25,0.25,-16000,-160.00,EUR,-10736,-107.36,\"'+CMD=X\",,E042 Ana Lind,\"'@SUM(1+1)\",,\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"refund\"\")\",B-17"
        );
    }

    #[test]
    fn empty_journal_has_only_the_header() {
        let journal = Journal::default();
        assert_eq!(journal.csv(), format!("{}\n", CSV_HEADER.join(",")));
        assert_eq!(journal.jsonl(), "");
    }
}
