//! The body of `POST /v1/accounting-entries:search` (`AccountingEntryBaseSearchRequest`)
//! and how it selects entries.
//!
//! All list filters are arrays, matched as "any of"; an empty array filters
//! nothing. Date ranges are half-open: `...Start` inclusive, `...End` exclusive,
//! so consecutive windows never count an entry twice.

use std::collections::HashSet;

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use serde::Deserialize;
use uuid::Uuid;

use super::records::{AccountingEntry, ExportStatus, Family, ReviewStatus, Status, SubFamily};
use crate::error::ApiError;

/// The documented `maxItems` of the id arrays.
const MAX_ITEMS: usize = 100;

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SearchBody {
    include_deleted: Option<bool>,
    account_ids: Option<Vec<String>>,
    employee_ids: Option<Vec<String>>,
    team_ids: Option<Vec<String>>,
    tax_code_ids: Option<Vec<String>>,
    tag_row_ids: Option<Vec<String>>,
    tag_group_ids_unset: Option<Vec<String>>,
    foreign_extension_ids: Option<Vec<String>>,
    transaction_value_currencies: Option<Vec<String>>,
    families: Option<Vec<Family>>,
    sub_families: Option<Vec<SubFamily>>,
    status: Option<Vec<Status>>,
    export_status: Option<Vec<ExportStatus>>,
    review_status: Option<Vec<ReviewStatus>>,
    settled: Option<bool>,
    has_account: Option<bool>,
    has_note: Option<bool>,
    has_bookkeeping_date: Option<bool>,
    performed_at_start: Option<String>,
    performed_at_end: Option<String>,
    settled_at_start: Option<String>,
    settled_at_end: Option<String>,
    bookkeeping_date_start: Option<String>,
    bookkeeping_date_end: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum DateField {
    PerformedAt,
    SettledAt,
    BookkeepingDate,
}

#[derive(Debug)]
struct DateRange {
    field: DateField,
    start: Option<DateTime<Utc>>,
    end: Option<DateTime<Utc>>,
}

/// A validated search request.
#[derive(Debug, Default)]
pub(super) struct Filter {
    include_deleted: bool,
    account_ids: Option<HashSet<Uuid>>,
    employee_ids: Option<HashSet<Uuid>>,
    team_ids: Option<HashSet<Uuid>>,
    tax_code_ids: Option<HashSet<Uuid>>,
    tag_row_ids: Option<HashSet<Uuid>>,
    tag_group_ids_unset: Option<HashSet<Uuid>>,
    foreign_extension_ids: Option<HashSet<String>>,
    currencies: Option<HashSet<String>>,
    families: Option<Vec<Family>>,
    sub_families: Option<Vec<SubFamily>>,
    status: Option<Vec<Status>>,
    export_status: Option<Vec<ExportStatus>>,
    review_status: Option<Vec<ReviewStatus>>,
    settled: Option<bool>,
    has_account: Option<bool>,
    has_note: Option<bool>,
    has_bookkeeping_date: Option<bool>,
    dates: Option<DateRange>,
}

impl Filter {
    /// Parses and validates the JSON body; `includeDeleted` is required.
    pub(super) fn from_json(body: &[u8]) -> Result<Filter, ApiError> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Err(ApiError::BadBody(
                "request body with includeDeleted is required".into(),
            ));
        }
        let body: SearchBody = serde_json::from_slice(body)
            .map_err(|e| ApiError::BadBody(format!("invalid search request: {e}")))?;
        let include_deleted = body
            .include_deleted
            .ok_or_else(|| ApiError::BadBody("includeDeleted is required".into()))?;
        let dates = date_range(&body)?;
        Ok(Filter {
            include_deleted,
            account_ids: ids(body.account_ids, "accountIds")?,
            employee_ids: ids(body.employee_ids, "employeeIds")?,
            team_ids: ids(body.team_ids, "teamIds")?,
            tax_code_ids: ids(body.tax_code_ids, "taxCodeIds")?,
            tag_row_ids: ids(body.tag_row_ids, "tagRowIds")?,
            tag_group_ids_unset: ids(body.tag_group_ids_unset, "tagGroupIdsUnset")?,
            foreign_extension_ids: strings(
                body.foreign_extension_ids,
                "foreignExtensionIds",
                false,
            )?,
            currencies: strings(
                body.transaction_value_currencies,
                "transactionValueCurrencies",
                true,
            )?,
            families: non_empty(body.families),
            sub_families: non_empty(body.sub_families),
            status: non_empty(body.status),
            export_status: non_empty(body.export_status),
            review_status: non_empty(body.review_status),
            settled: body.settled,
            has_account: body.has_account,
            has_note: body.has_note,
            has_bookkeeping_date: body.has_bookkeeping_date,
            dates,
        })
    }

    pub(super) fn matches(&self, e: &AccountingEntry) -> bool {
        (self.include_deleted || e.deleted_at.is_none())
            && self.matches_ids(e)
            && self.matches_kinds(e)
            && self.matches_flags(e)
            && self.dates.as_ref().is_none_or(|r| r.contains(e))
    }

    /// Account, tax code and tag filters also look at split lines.
    fn matches_ids(&self, e: &AccountingEntry) -> bool {
        let split_accounts = e.split_items.iter().filter_map(|s| s.account_id);
        let split_taxes = e.split_items.iter().filter_map(|s| s.tax_code_id);
        let all_tags = || {
            e.tags
                .iter()
                .chain(e.split_items.iter().flat_map(|s| &s.tags))
        };
        any_in(&self.account_ids, e.account_id.into_iter().chain(split_accounts))
            && any_in(&self.employee_ids, e.employee_id)
            && any_in(&self.team_ids, e.team_id)
            && any_in(&self.tax_code_ids, e.tax_code_id.into_iter().chain(split_taxes))
            && any_in(&self.tag_row_ids, all_tags().filter_map(|t| t.tag_id))
            && self.tag_group_ids_unset.as_ref().is_none_or(|groups| {
                !all_tags().any(|t| t.tag_id.is_some() && groups.contains(&t.tag_group_id))
            })
            // No generated entry has a foreignExtensionId.
            && self.foreign_extension_ids.is_none()
    }

    fn matches_kinds(&self, e: &AccountingEntry) -> bool {
        one_of(&self.families, Some(e.family))
            && one_of(&self.sub_families, e.sub_family)
            && one_of(&self.status, Some(e.status))
            && one_of(&self.export_status, Some(e.export_status))
            && one_of(&self.review_status, Some(e.review_status))
            && self
                .currencies
                .as_ref()
                .is_none_or(|c| c.contains(&e.transaction_value.currency))
    }

    fn matches_flags(&self, e: &AccountingEntry) -> bool {
        let flag = |want: Option<bool>, has: bool| want.is_none_or(|w| w == has);
        flag(self.settled, e.settled_at.is_some())
            && flag(self.has_account, e.account_id.is_some())
            && flag(
                self.has_note,
                e.note.as_deref().is_some_and(|n| !n.is_empty()),
            )
            && flag(self.has_bookkeeping_date, e.bookkeeping_date.is_some())
    }
}

impl DateRange {
    /// Entries without the date (e.g. unsettled ones for `settledAt`) never match.
    fn contains(&self, e: &AccountingEntry) -> bool {
        let value = match self.field {
            DateField::PerformedAt => Some(e.performed_at),
            DateField::SettledAt => e.settled_at,
            DateField::BookkeepingDate => e.bookkeeping_date,
        };
        value.is_some_and(|v| {
            self.start.is_none_or(|s| v >= s) && self.end.is_none_or(|end| v < end)
        })
    }
}

fn any_in(wanted: &Option<HashSet<Uuid>>, have: impl IntoIterator<Item = Uuid>) -> bool {
    wanted
        .as_ref()
        .is_none_or(|w| have.into_iter().any(|id| w.contains(&id)))
}

fn one_of<T: PartialEq>(wanted: &Option<Vec<T>>, have: Option<T>) -> bool {
    wanted
        .as_ref()
        .is_none_or(|w| have.is_some_and(|h| w.contains(&h)))
}

fn non_empty<T>(list: Option<Vec<T>>) -> Option<Vec<T>> {
    list.filter(|l| !l.is_empty())
}

fn check_len<T>(list: &[T], name: &str) -> Result<(), ApiError> {
    if list.len() > MAX_ITEMS {
        return Err(ApiError::BadBody(format!(
            "{name} may hold at most {MAX_ITEMS} items"
        )));
    }
    Ok(())
}

fn ids(list: Option<Vec<String>>, name: &str) -> Result<Option<HashSet<Uuid>>, ApiError> {
    let Some(list) = non_empty(list) else {
        return Ok(None);
    };
    check_len(&list, name)?;
    list.iter()
        .map(|raw| {
            let raw = raw.trim();
            Uuid::try_parse(raw)
                .ok()
                .filter(|_| raw.len() == 36)
                .ok_or_else(|| ApiError::BadBody(format!("{name} must contain UUIDs")))
        })
        .collect::<Result<HashSet<_>, _>>()
        .map(Some)
}

fn strings(
    list: Option<Vec<String>>,
    name: &str,
    upper: bool,
) -> Result<Option<HashSet<String>>, ApiError> {
    let Some(list) = non_empty(list) else {
        return Ok(None);
    };
    check_len(&list, name)?;
    Ok(Some(
        list.into_iter()
            .map(|s| {
                if upper {
                    s.trim().to_ascii_uppercase()
                } else {
                    s
                }
            })
            .collect(),
    ))
}

/// At most one of the three date pairs may be used.
fn date_range(body: &SearchBody) -> Result<Option<DateRange>, ApiError> {
    let pairs = [
        (
            DateField::PerformedAt,
            "performedAt",
            &body.performed_at_start,
            &body.performed_at_end,
        ),
        (
            DateField::SettledAt,
            "settledAt",
            &body.settled_at_start,
            &body.settled_at_end,
        ),
        (
            DateField::BookkeepingDate,
            "bookkeepingDate",
            &body.bookkeeping_date_start,
            &body.bookkeeping_date_end,
        ),
    ];
    let mut used = pairs
        .iter()
        .filter(|(_, _, s, e)| s.is_some() || e.is_some());
    let Some((field, name, start, end)) = used.next() else {
        return Ok(None);
    };
    if used.next().is_some() {
        return Err(ApiError::BadBody(
            "only one of the performedAt, settledAt and bookkeepingDate ranges may be given".into(),
        ));
    }
    Ok(Some(DateRange {
        field: *field,
        start: start
            .as_deref()
            .map(|s| parse_time(s, &format!("{name}Start")))
            .transpose()?,
        end: end
            .as_deref()
            .map(|s| parse_time(s, &format!("{name}End")))
            .transpose()?,
    }))
}

/// ISO-8601 date-time; without an offset it is taken as UTC, and a bare date as
/// midnight UTC.
fn parse_time(raw: &str, name: &str) -> Result<DateTime<Utc>, ApiError> {
    let raw = raw.trim();
    DateTime::parse_from_rfc3339(raw)
        .map(|t| t.with_timezone(&Utc))
        .or_else(|_| {
            NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S%.f").map(|t| t.and_utc())
        })
        .or_else(|_| {
            NaiveDate::parse_from_str(raw, "%Y-%m-%d").map(|d| d.and_time(NaiveTime::MIN).and_utc())
        })
        .map_err(|_| ApiError::BadBody(format!("{name} must be an ISO-8601 date-time")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Dataset, MockConfig};

    fn data() -> Dataset {
        Dataset::seed(&MockConfig {
            anchor: NaiveDate::from_ymd_opt(2025, 3, 31).unwrap_or_default(),
            entries: 1500,
            employees: 20,
            ..MockConfig::default()
        })
    }

    fn filter(json: &str) -> Filter {
        Filter::from_json(json.as_bytes()).unwrap()
    }

    fn count(ds: &Dataset, f: &Filter) -> usize {
        ds.entries.iter().filter(|e| f.matches(e)).count()
    }

    #[test]
    fn include_deleted_is_required() {
        for body in [
            "",
            "  ",
            "{}",
            "null",
            "[]",
            r#"{"includeDeleted":null}"#,
            r#"{"includeDeleted":"yes"}"#,
        ] {
            assert!(Filter::from_json(body.as_bytes()).is_err(), "{body}");
        }
        let ds = data();
        let deleted = ds.entries.iter().filter(|e| e.deleted_at.is_some()).count();
        assert!(deleted > 0);
        assert_eq!(
            count(&ds, &filter(r#"{"includeDeleted":true}"#)),
            ds.entries.len()
        );
        assert_eq!(
            count(&ds, &filter(r#"{"includeDeleted":false}"#)),
            ds.entries.len() - deleted
        );
    }

    #[test]
    fn bad_values_are_rejected() {
        for body in [
            r#"{"includeDeleted":false,"families":["NOPE"]}"#,
            r#"{"includeDeleted":false,"families":"CARD_PURCHASE"}"#,
            r#"{"includeDeleted":false,"employeeIds":["x"]}"#,
            r#"{"includeDeleted":false,"performedAtStart":"yesterday"}"#,
            r#"{"includeDeleted":false,"performedAtStart":"2025-01-01T00:00:00Z","settledAtEnd":"2025-02-01T00:00:00Z"}"#,
        ] {
            assert!(Filter::from_json(body.as_bytes()).is_err(), "{body}");
        }
        let many: Vec<String> = (0..101)
            .map(|i| format!("\"{}\"", Uuid::from_u128(i)))
            .collect();
        let body = format!(
            r#"{{"includeDeleted":false,"accountIds":[{}]}}"#,
            many.join(",")
        );
        assert!(Filter::from_json(body.as_bytes()).is_err());
    }

    #[test]
    fn date_ranges_are_half_open() {
        let ds = data();
        let t = ds.entries[100].performed_at.to_rfc3339();
        let at = |body: String| count(&ds, &filter(&body));
        let from = at(format!(
            r#"{{"includeDeleted":true,"performedAtStart":"{t}"}}"#
        ));
        let until = at(format!(
            r#"{{"includeDeleted":true,"performedAtEnd":"{t}"}}"#
        ));
        assert_eq!(from + until, ds.entries.len());
        let only = at(format!(
            r#"{{"includeDeleted":true,"performedAtStart":"{t}","performedAtEnd":"{t}"}}"#
        ));
        assert_eq!(only, 0);
        let settled = at(r#"{"includeDeleted":true,"settledAtStart":"2000-01-01"}"#.into());
        assert_eq!(
            settled,
            ds.entries.iter().filter(|e| e.settled_at.is_some()).count()
        );
    }

    #[test]
    fn list_filters_match_any_value() {
        let ds = data();
        let f = filter(
            r#"{"includeDeleted":true,"families":["MILEAGE","PER_DIEM"],"transactionValueCurrencies":["dkk"]}"#,
        );
        let expected = ds
            .entries
            .iter()
            .filter(|e| matches!(e.family, Family::Mileage | Family::PerDiem))
            .count();
        assert!(expected > 0);
        assert_eq!(count(&ds, &f), expected);
        let emp = ds.employees[0].id;
        let f = filter(&format!(
            r#"{{"includeDeleted":false,"employeeIds":["{emp}"],"status":["COMPLETED"]}}"#
        ));
        let expected = ds
            .entries
            .iter()
            .filter(|e| {
                e.employee_id == Some(emp)
                    && e.status == Status::Completed
                    && e.deleted_at.is_none()
            })
            .count();
        assert!(expected > 0);
        assert_eq!(count(&ds, &f), expected);
        assert_eq!(
            count(&ds, &filter(r#"{"includeDeleted":true,"families":[]}"#)),
            ds.entries.len()
        );
    }

    #[test]
    fn flags_and_tags() {
        let ds = data();
        let no_account = count(
            &ds,
            &filter(r#"{"includeDeleted":true,"hasAccount":false}"#),
        );
        assert_eq!(
            no_account,
            ds.entries.iter().filter(|e| e.account_id.is_none()).count()
        );
        let group = &ds.tag_groups[1];
        let unset = count(
            &ds,
            &filter(&format!(
                r#"{{"includeDeleted":true,"tagGroupIdsUnset":["{}"]}}"#,
                group.id
            )),
        );
        let tagged = ds
            .entries
            .iter()
            .filter(|e| e.tags.iter().any(|t| t.tag_group_id == group.id))
            .count();
        assert_eq!(unset + tagged, ds.entries.len());
        let rows: Vec<String> = group.tags.iter().map(|t| format!("\"{}\"", t.id)).collect();
        let body = format!(
            r#"{{"includeDeleted":true,"tagRowIds":[{}]}}"#,
            rows.join(",")
        );
        assert_eq!(count(&ds, &filter(&body)), tagged);
    }

    /// Each filter of Pleo's search body, against the same predicate written out here: the
    /// expected count is neither zero nor everything, so an ignored filter fails.
    #[test]
    fn every_filter_filters() {
        let ds = data();
        let total = ds.entries.len();
        let team = ds
            .teams
            .iter()
            .find(|t| ds.entries.iter().any(|e| e.team_id == Some(t.id)));
        let team = team.map(|t| t.id).unwrap_or_default();
        let tax = ds.tax_codes[0].id;
        type Check<'a> = (String, Box<dyn Fn(&AccountingEntry) -> bool + 'a>);
        let checks: Vec<Check> = vec![
            (
                r#""exportStatus":["EXPORTED","QUEUED"]"#.into(),
                Box::new(|e| {
                    matches!(
                        e.export_status,
                        ExportStatus::Exported | ExportStatus::Queued
                    )
                }),
            ),
            (
                r#""reviewStatus":["NOT_REQUIRED"]"#.into(),
                Box::new(|e| e.review_status == ReviewStatus::NotRequired),
            ),
            (
                format!(r#""teamIds":["{team}"]"#),
                Box::new(move |e| e.team_id == Some(team)),
            ),
            (
                format!(r#""taxCodeIds":["{tax}"]"#),
                Box::new(move |e| {
                    e.tax_code_id == Some(tax)
                        || e.split_items.iter().any(|s| s.tax_code_id == Some(tax))
                }),
            ),
            (
                r#""subFamilies":["ONLINE"]"#.into(),
                Box::new(|e| e.sub_family == Some(SubFamily::Online)),
            ),
            (
                r#""settled":true"#.into(),
                Box::new(|e| e.settled_at.is_some()),
            ),
            (
                r#""settled":false"#.into(),
                Box::new(|e| e.settled_at.is_none()),
            ),
            (
                r#""hasNote":true"#.into(),
                Box::new(|e| e.note.as_deref().is_some_and(|n| !n.is_empty())),
            ),
            (
                r#""hasBookkeepingDate":false"#.into(),
                Box::new(|e| e.bookkeeping_date.is_none()),
            ),
            (
                r#""hasAccount":true"#.into(),
                Box::new(|e| e.account_id.is_some()),
            ),
        ];
        for (field, want) in &checks {
            let expected = ds.entries.iter().filter(|e| want(e)).count();
            assert!(
                0 < expected && expected < total,
                "{field}: {expected} of {total}"
            );
            let body = format!(r#"{{"includeDeleted":true,{field}}}"#);
            assert_eq!(count(&ds, &filter(&body)), expected, "{field}");
        }
        // No seeded entry came through another Pleo API, so none has a foreignExtensionId.
        let body = r#"{"includeDeleted":true,"foreignExtensionIds":["ext-1"]}"#;
        assert_eq!(count(&ds, &filter(body)), 0);
    }
}
