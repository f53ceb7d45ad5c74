//! `master-data-import`: brings a company's master data in Pleo in line with CSV files.
//!
//! Reads `/in/vendors.csv`, `/in/accounts.csv`, `/in/tag-groups.csv`, `/in/tags.csv`,
//! `/in/tag-dimensions.csv` and `/in/tax-codes.csv` (any of them; see `input` for the
//! columns). Every row of every file is
//! validated first; if any is invalid, `/out/invalid-rows.csv` lists each problem (file, line,
//! column, cause) and the run fails without a single write. Otherwise each row is matched to
//! what Pleo has by its natural key (vendors and accounts by `external_id`, tag groups and tax
//! codes by `code`, tags by group and `code`) and the plugin creates what is missing, updates
//! what differs and archives rows marked `archived = true` (tag dimensions by group and `code`,
//! created or updated). An empty optional cell keeps what Pleo has. `/in/remove.csv` lists
//! tags to archive or delete and tag dimensions and tax codes to delete; it runs
//! last, and a row whose object is already archived or gone changes nothing. Run it with `pleo-host run master-data-import --input DIR --plan plan.json`, review
//! the plan, then `pleo-host apply plan.json`: planning again afterwards plans no write.
//! `/in/vendor-import.csv` imports vendors in bulk through Pleo's CSV import job instead (see
//! `vendor_import`).

mod input;
mod vendor_import;

use std::collections::BTreeMap;

use pleo_plugin::types::{TaxKind, VendorState};
use pleo_plugin::{
    Account, Guest, Tag, TagGroup, TagGroupDimension, TaxCode, Vendor, accounts_read,
    accounts_write, log, tags_read, tags_write, tax_codes_read, tax_codes_write, vendors_read,
    vendors_write,
};
use serde_json::Value;

use input::{FAMILIES, Family, Invalid, Row};

struct Import;

/// Rows of every family file present, once all are valid.
type Rows = BTreeMap<&'static str, Vec<Row>>;

/// What the run changed, per family.
#[derive(Default)]
struct Counts(BTreeMap<&'static str, [u32; 5]>);

impl Counts {
    fn add(&mut self, family: &'static str, action: usize) {
        self.0.entry(family).or_default()[action] += 1;
    }

    fn summary(&self) -> String {
        let names = ["created", "updated", "archived", "unchanged", "deleted"];
        self.0
            .iter()
            .map(|(family, n)| {
                let parts: Vec<String> = n
                    .iter()
                    .zip(names)
                    .filter(|(n, _)| **n > 0)
                    .map(|(n, name)| format!("{n} {name}"))
                    .collect();
                format!("{family}: {}", parts.join(", "))
            })
            .collect::<Vec<_>>()
            .join("; ")
    }
}

const CREATED: usize = 0;
const UPDATED: usize = 1;
const ARCHIVED: usize = 2;
const SAME: usize = 3;
const DELETED: usize = 4;

impl Guest for Import {
    fn run() -> Result<String, String> {
        let rows = read_input()?;
        let mut counts = Counts::default();
        if let Some(rows) = rows.get(input::TAX_CODES.file) {
            tax_codes(rows, &mut counts)?;
        }
        if let Some(rows) = rows.get(input::ACCOUNTS.file) {
            accounts(rows, &mut counts)?;
        }
        if let Some(rows) = rows.get(input::VENDORS.file) {
            vendors(rows, &mut counts)?;
        }
        tags(
            rows.get(input::TAG_GROUPS.file).map_or(&[][..], |r| r),
            rows.get(input::TAGS.file).map_or(&[][..], |r| r),
            &mut counts,
        )?;
        if let Some(rows) = rows.get(input::TAG_DIMENSIONS.file) {
            dimensions(rows, &mut counts)?;
        }
        if let Some(rows) = rows.get(input::REMOVE.file) {
            remove(rows, &mut counts)?;
        }
        let mut summary = counts.summary();
        if let Some(import) = vendor_import::run()? {
            if !summary.is_empty() {
                summary.push_str("; ");
            }
            summary.push_str(&import);
        }
        Ok(if summary.is_empty() {
            "no rows".into()
        } else {
            summary
        })
    }
}

/// Reads and validates every family file in `/in`; any problem fails the run before a write.
fn read_input() -> Result<Rows, String> {
    let mut rows = Rows::new();
    let mut problems: Vec<Invalid> = Vec::new();
    let mut found = 0;
    for family in FAMILIES {
        match read_file(family) {
            Ok(None) => {}
            Ok(Some(bytes)) => {
                found += 1;
                let (valid, invalid) = input::validate(family, &bytes);
                problems.extend(invalid);
                rows.insert(family.file, valid);
            }
            Err(problem) => {
                found += 1;
                problems.push(problem);
            }
        }
    }
    let bulk = std::path::Path::new("/in")
        .join(vendor_import::FILE)
        .exists();
    if found == 0 && !bulk {
        let mut names: Vec<&str> = FAMILIES.iter().map(|f| f.file).collect();
        names.push(vendor_import::FILE);
        return Err(format!(
            "no input: /in has none of {} (run with --input DIR)",
            names.join(", ")
        ));
    }
    // Tags name their group: by a group of tag-groups.csv, or one Pleo has (checked later).
    if problems.is_empty() {
        log::info(format!("{found} input file(s) valid"));
        return Ok(rows);
    }
    let mut report = pleo_plugin::csv::Csv::new(["file", "line", "column", "cause"]);
    for p in &problems {
        let line = p.line.to_string();
        report.row([
            pleo_plugin::csv::Cell::text(&p.file),
            pleo_plugin::csv::Cell::decimal(&line),
            pleo_plugin::csv::Cell::text(&p.column),
            pleo_plugin::csv::Cell::text(&p.cause),
        ]);
    }
    std::fs::write("/out/invalid-rows.csv", report.finish())
        .map_err(|e| format!("cannot write /out/invalid-rows.csv: {e}"))?;
    let first = &problems[0];
    Err(format!(
        "{} invalid row(s), nothing planned; see invalid-rows.csv (first: {} line {} {}: {})",
        problems.len(),
        first.file,
        first.line,
        first.column,
        first.cause
    ))
}

fn read_file(family: &Family) -> Result<Option<Vec<u8>>, Invalid> {
    let path = format!("/in/{}", family.file);
    let problem = |cause: String| Invalid {
        file: family.file.into(),
        line: 0,
        column: String::new(),
        cause,
    };
    match std::fs::metadata(&path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(problem(format!("cannot read it: {e}"))),
        Ok(meta) if meta.len() > input::MAX_FILE_BYTES => Err(problem(format!(
            "{} bytes, more than the {} a master-data file may have",
            meta.len(),
            input::MAX_FILE_BYTES
        ))),
        Ok(_) => std::fs::read(&path)
            .map(Some)
            .map_err(|e| problem(format!("cannot read it: {e}"))),
    }
}

fn id_of(answer: &str) -> Result<String, String> {
    let value: Value = serde_json::from_str(answer).map_err(|e| e.to_string())?;
    value
        .get("id")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| "Pleo answered without an id".into())
}

/// An optional cell: what the row says, else what Pleo has.
fn keep(row: &Row, column: &str, current: Option<&String>) -> Option<String> {
    row.get(column)
        .map(str::to_owned)
        .or_else(|| current.cloned())
}

fn vendors(rows: &[Row], counts: &mut Counts) -> Result<(), String> {
    let filter = vendors_read::VendorFilter {
        ids: vec![],
        codes: vec![],
        external_ids: vec![],
        name: None,
        states: vec![],
        countries: vec![],
        tax_registration_numbers: vec![],
        accounting_systems: vec![],
    };
    let existing: Vec<Vendor> =
        pleo_plugin::pages(100, |page| vendors_read::search_vendors(&filter, page))
            .items()
            .collect::<Result<_, _>>()?;
    let by_key: BTreeMap<&str, &Vendor> = existing
        .iter()
        .filter_map(|v| v.external_id.as_deref().map(|k| (k, v)))
        .collect();
    for row in rows {
        let currency = row.req("default_currency").to_ascii_uppercase();
        let country = row.get("country").map(str::to_ascii_uppercase);
        match by_key.get(row.req("external_id")) {
            None if row.archived() => counts.add("vendors", SAME),
            None => {
                let vendor = vendors_write::NewVendor {
                    name: row.req("name").into(),
                    default_currency: currency,
                    code: row.get("code").map(str::to_owned),
                    external_id: Some(row.req("external_id").into()),
                    country,
                    registration_number: None,
                    tax_registration_number: None,
                };
                vendors_write::create_vendor(&vendor)?;
                counts.add("vendors", CREATED);
            }
            Some(v) => {
                let country = country.or_else(|| v.country.clone());
                let code = keep(row, "code", v.code.as_ref());
                let archived = v.state == "ARCHIVED";
                let differs = v.name != row.req("name")
                    || v.default_currency != currency
                    || v.country != country
                    || v.code != code
                    || (archived && !row.archived());
                if differs {
                    let state = match v.state.as_str() {
                        "DRAFT" => VendorState::Draft,
                        _ => VendorState::Active,
                    };
                    let update = vendors_write::VendorUpdate {
                        name: row.req("name").into(),
                        default_currency: currency,
                        external_id: row.req("external_id").into(),
                        state,
                        code,
                        country,
                        registration_number: v.registration_number.clone(),
                        tax_registration_number: v.tax_registration_number.clone(),
                    };
                    vendors_write::update_vendor(&v.id, &update)?;
                    counts.add("vendors", UPDATED);
                }
                if row.archived() && !archived {
                    vendors_write::archive_vendor(&v.id)?;
                    counts.add("vendors", ARCHIVED);
                } else if !differs {
                    counts.add("vendors", SAME);
                }
            }
        }
    }
    Ok(())
}

fn accounts(rows: &[Row], counts: &mut Counts) -> Result<(), String> {
    let filter = accounts_read::AccountFilter {
        ids: vec![],
        codes: vec![],
        external_id: None,
        name: None,
        archived: None,
        exclude_if_assigned_to_category: false,
        exclude_if_assigned_to_contra_account: false,
    };
    let existing: Vec<Account> =
        pleo_plugin::pages(100, |page| accounts_read::search_accounts(&filter, page))
            .items()
            .collect::<Result<_, _>>()?;
    let by_key: BTreeMap<&str, &Account> = existing
        .iter()
        .map(|a| (a.external_id.as_str(), a))
        .collect();
    for row in rows {
        match by_key.get(row.req("external_id")) {
            None if row.archived() => counts.add("accounts", SAME),
            None => {
                let account = accounts_write::NewAccount {
                    external_id: row.req("external_id").into(),
                    name: row.req("name").into(),
                    archived: false,
                    code: row.get("code").map(str::to_owned),
                    tax_code_external_id: row.get("tax_code_external_id").map(str::to_owned),
                    metadata: None,
                };
                accounts_write::create_account(&account)?;
                counts.add("accounts", CREATED);
            }
            Some(a) => {
                let update = accounts_write::AccountUpdate {
                    name: row.req("name").into(),
                    archived: row.archived(),
                    code: keep(row, "code", a.code.as_ref()),
                    tax_code_external_id: keep(
                        row,
                        "tax_code_external_id",
                        a.tax_code_external_id.as_ref(),
                    ),
                    metadata: a.metadata_json(),
                };
                let same = a.name == update.name
                    && a.archived == update.archived
                    && a.code == update.code
                    && a.tax_code_external_id == update.tax_code_external_id;
                if same {
                    counts.add("accounts", SAME);
                    continue;
                }
                accounts_write::update_account(&a.id, &update)?;
                let action = if update.archived && !a.archived {
                    ARCHIVED
                } else {
                    UPDATED
                };
                counts.add("accounts", action);
            }
        }
    }
    Ok(())
}

fn tax_kind(name: &str) -> TaxKind {
    match name {
        "exclusive" => TaxKind::Exclusive,
        "reverse" => TaxKind::Reverse,
        _ => TaxKind::Inclusive,
    }
}

fn tax_codes(rows: &[Row], counts: &mut Counts) -> Result<(), String> {
    let filter = tax_codes_read::TaxCodeFilter {
        archived: None,
        code: None,
        tax_code_ids: vec![],
        kind: None,
    };
    let existing: Vec<TaxCode> =
        pleo_plugin::pages(100, |page| tax_codes_read::search_tax_codes(&filter, page))
            .items()
            .collect::<Result<_, _>>()?;
    let by_key: BTreeMap<&str, &TaxCode> = existing
        .iter()
        .filter_map(|t| t.code.as_deref().map(|c| (c, t)))
        .collect();
    for row in rows {
        let rate: f64 = row.req("rate").parse().unwrap_or_default();
        let fields = |current: Option<&TaxCode>| tax_codes_write::TaxCodeFields {
            name: row.req("name").into(),
            rate,
            kind: tax_kind(row.req("type")),
            archived: row.archived(),
            code: Some(row.req("code").into()),
            ingoing_tax_account: current.and_then(|t| t.ingoing_tax_account.clone()),
            outgoing_tax_account: current.and_then(|t| t.outgoing_tax_account.clone()),
        };
        match by_key.get(row.req("code")) {
            None if row.archived() => counts.add("tax-codes", SAME),
            None => {
                tax_codes_write::create_tax_code(&fields(None))?;
                counts.add("tax-codes", CREATED);
            }
            Some(t) => {
                let same = t.name == row.req("name")
                    && t.rate == rate
                    && t.kind == row.req("type")
                    && t.archived == row.archived();
                if same {
                    counts.add("tax-codes", SAME);
                    continue;
                }
                tax_codes_write::update_tax_code(&t.id, &fields(Some(t)))?;
                let action = if row.archived() && !t.archived {
                    ARCHIVED
                } else {
                    UPDATED
                };
                counts.add("tax-codes", action);
            }
        }
    }
    Ok(())
}

fn tags(group_rows: &[Row], tag_rows: &[Row], counts: &mut Counts) -> Result<(), String> {
    if group_rows.is_empty() && tag_rows.is_empty() {
        return Ok(());
    }
    let text = tags_read::list_tag_groups(true, false)?;
    let existing: Vec<TagGroup> = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    // Group code -> (id, archived), for the groups Pleo has and the ones this run creates.
    let mut groups: BTreeMap<String, String> = existing
        .iter()
        .map(|g| (g.code.clone(), g.id.clone()))
        .collect();
    for row in group_rows {
        let current = existing.iter().find(|g| g.code == row.req("code"));
        let fields = tags_write::TagGroupFields {
            code: row.req("code").into(),
            name: row.req("name").into(),
            archived: row.archived(),
            metadata: current
                .map(|g| g.metadata.clone().into_iter().collect())
                .unwrap_or_default(),
        };
        match current {
            None if row.archived() => counts.add("tag-groups", SAME),
            None => {
                let id = id_of(&tags_write::create_tag_group(&fields)?)?;
                groups.insert(fields.code.clone(), id);
                counts.add("tag-groups", CREATED);
            }
            Some(g) if g.name == fields.name && g.archived == fields.archived => {
                counts.add("tag-groups", SAME)
            }
            Some(g) => {
                tags_write::update_tag_group(&g.id, &fields)?;
                let action = if fields.archived && !g.archived {
                    ARCHIVED
                } else {
                    UPDATED
                };
                counts.add("tag-groups", action);
            }
        }
    }
    let mut by_group: BTreeMap<&str, Vec<&Row>> = BTreeMap::new();
    for row in tag_rows {
        by_group.entry(row.req("group_code")).or_default().push(row);
    }
    for (code, rows) in by_group {
        let Some(group_id) = groups.get(code) else {
            return Err(format!(
                "tags.csv line {}: no tag group with code `{code}` in Pleo or tag-groups.csv; nothing planned for tags of it",
                rows[0].line
            ));
        };
        let existing: Vec<Tag> =
            pleo_plugin::pages(100, |page| tags_read::list_tags(group_id, true, page))
                .items()
                .collect::<Result<_, pleo_plugin::Error>>()?;
        for row in rows {
            let fields = tags_write::TagFields {
                code: row.req("code").into(),
                name: row.req("name").into(),
                archived: row.archived(),
            };
            match existing.iter().find(|t| t.code == fields.code) {
                None if row.archived() => counts.add("tags", SAME),
                None => {
                    tags_write::create_tag(group_id, &fields)?;
                    counts.add("tags", CREATED);
                }
                Some(t)
                    if t.name.as_deref() == Some(fields.name.as_str())
                        && t.archived == fields.archived =>
                {
                    counts.add("tags", SAME)
                }
                Some(t) => {
                    tags_write::update_tag(&t.id, &fields)?;
                    let action = if fields.archived && !t.archived {
                        ARCHIVED
                    } else {
                        UPDATED
                    };
                    counts.add("tags", action);
                }
            }
        }
    }
    Ok(())
}

/// The tag groups Pleo has, archived ones too.
fn tag_groups() -> Result<Vec<TagGroup>, String> {
    serde_json::from_str(&tags_read::list_tag_groups(true, false)?).map_err(|e| e.to_string())
}

/// The dimensions of a tag group.
fn dimensions_of(group: &TagGroup) -> Result<Vec<TagGroupDimension>, String> {
    serde_json::from_str(&tags_read::list_tag_group_dimensions(&group.id)?)
        .map_err(|e| e.to_string())
}

/// `tag-dimensions.csv`: creates the dimensions a group lacks and updates those whose name
/// or visibility differ (keeping their display order). An empty `visible` means visible for a
/// new dimension and unchanged for an existing one. The group must exist in Pleo (run
/// tag-groups.csv first: a group this run only plans to create has no dimensions to read).
fn dimensions(rows: &[Row], counts: &mut Counts) -> Result<(), String> {
    let groups = tag_groups()?;
    let mut of_group: BTreeMap<&str, Vec<TagGroupDimension>> = BTreeMap::new();
    for row in rows {
        let code = row.req("group_code");
        let Some(group) = groups.iter().find(|g| g.code == code) else {
            return Err(format!(
                "tag-dimensions.csv line {}: no tag group with code `{code}` in Pleo",
                row.line
            ));
        };
        if !of_group.contains_key(code) {
            of_group.insert(code, dimensions_of(group)?);
        }
        let current = of_group[code].iter().find(|d| d.code == row.req("code"));
        let visible = row.get("visible").map(|v| v == "true");
        let fields = tags_write::DimensionFields {
            code: row.req("code").into(),
            name: row.req("name").into(),
            visible: visible.or(current.map(|d| d.visible)).unwrap_or(true),
        };
        match current {
            None => {
                tags_write::create_tag_group_dimension(&group.id, &fields)?;
                counts.add("tag-dimensions", CREATED);
            }
            Some(d) if d.name == fields.name && d.visible == fields.visible => {
                counts.add("tag-dimensions", SAME)
            }
            Some(d) => {
                let order = u32::try_from(d.display_order.max(1)).unwrap_or(1);
                tags_write::update_tag_group_dimension(&group.id, &d.id, &fields, order)?;
                counts.add("tag-dimensions", UPDATED);
            }
        }
    }
    Ok(())
}

/// `remove.csv`: deletes the tax codes listed, then the tag dimensions, then archives and
/// deletes the tags listed, in bulk calls of at most [`MAX_BULK`] tags. Objects already
/// archived or gone are left alone, so planning again after an apply plans nothing.
fn remove(rows: &[Row], counts: &mut Counts) -> Result<(), String> {
    let (tax_rows, rest): (Vec<&Row>, Vec<&Row>) =
        rows.iter().partition(|r| r.req("kind") == "tax-code");
    let (dimension_rows, tag_rows): (Vec<&Row>, Vec<&Row>) = rest
        .into_iter()
        .partition(|r| r.req("kind") == "tag-dimension");
    if !tax_rows.is_empty() {
        let all = tax_codes_read::TaxCodeFilter {
            archived: None,
            code: None,
            tax_code_ids: Vec::new(),
            kind: None,
        };
        let existing: Vec<TaxCode> =
            pleo_plugin::pages(100, |page| tax_codes_read::search_tax_codes(&all, page))
                .items()
                .collect::<Result<_, pleo_plugin::Error>>()?;
        for row in tax_rows {
            match existing
                .iter()
                .find(|t| t.code.as_deref() == Some(row.req("code")))
            {
                Some(t) => {
                    tax_codes_write::delete_tax_code(&t.id)?;
                    counts.add("tax-codes", DELETED);
                }
                None => counts.add("tax-codes", SAME),
            }
        }
    }
    if tag_rows.is_empty() && dimension_rows.is_empty() {
        return Ok(());
    }
    let groups = tag_groups()?;
    for row in dimension_rows {
        let group = groups.iter().find(|g| g.code == row.req("group_code"));
        let dimensions = match group {
            Some(group) => dimensions_of(group)?,
            None => Vec::new(),
        };
        match (group, dimensions.iter().find(|d| d.code == row.req("code"))) {
            (Some(group), Some(d)) => {
                tags_write::delete_tag_group_dimension(&group.id, &d.id)?;
                counts.add("tag-dimensions", DELETED);
            }
            _ => counts.add("tag-dimensions", SAME),
        }
    }
    let mut tags_of: BTreeMap<&str, Vec<Tag>> = BTreeMap::new();
    let (mut archive, mut delete) = (Vec::new(), Vec::new());
    for row in tag_rows {
        let code = row.req("group_code");
        let Some(group) = groups.iter().find(|g| g.code == code) else {
            counts.add("tags", SAME);
            continue;
        };
        if !tags_of.contains_key(code) {
            let tags = pleo_plugin::pages(100, |page| tags_read::list_tags(&group.id, true, page))
                .items()
                .collect::<Result<_, pleo_plugin::Error>>()?;
            tags_of.insert(code, tags);
        }
        let tag = tags_of[code].iter().find(|t| t.code == row.req("code"));
        match (tag, row.req("action")) {
            (Some(t), "archive") if !t.archived => archive.push(t.id.clone()),
            (Some(t), "delete") => delete.push(t.id.clone()),
            _ => counts.add("tags", SAME),
        }
    }
    for ids in archive.chunks(MAX_BULK) {
        tags_write::archive_tags(ids, true)?;
        (0..ids.len()).for_each(|_| counts.add("tags", ARCHIVED));
    }
    for ids in delete.chunks(MAX_BULK) {
        tags_write::delete_tags(ids)?;
        (0..ids.len()).for_each(|_| counts.add("tags", DELETED));
    }
    Ok(())
}

/// Pleo's limit of tags per bulk archive or delete.
const MAX_BULK: usize = 100;

pleo_plugin::export_plugin!(Import);
