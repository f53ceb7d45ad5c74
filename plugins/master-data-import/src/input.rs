//! Reading and validating the CSV files of `/in`: every row is checked before anything is
//! compared with Pleo, and every problem is reported with file, line and column.

use std::collections::{BTreeMap, BTreeSet};

/// Largest input file read (a master-data file is far smaller).
pub const MAX_FILE_BYTES: u64 = 10 << 20;

/// One problem of the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub file: String,
    /// 1-based; 0 when the whole file is at fault.
    pub line: usize,
    /// The column's name, or empty.
    pub column: String,
    pub cause: String,
}

/// The columns of one family's file: (name, required).
pub struct Family {
    pub file: &'static str,
    pub columns: &'static [(&'static str, bool)],
    /// Columns whose values together must be unique (the natural key).
    pub key: &'static [&'static str],
}

pub const VENDORS: Family = Family {
    file: "vendors.csv",
    columns: &[
        ("external_id", true),
        ("name", true),
        ("default_currency", true),
        ("country", false),
        ("code", false),
        ("archived", false),
    ],
    key: &["external_id"],
};
pub const ACCOUNTS: Family = Family {
    file: "accounts.csv",
    columns: &[
        ("external_id", true),
        ("name", true),
        ("code", false),
        ("tax_code_external_id", false),
        ("archived", false),
    ],
    key: &["external_id"],
};
pub const TAG_GROUPS: Family = Family {
    file: "tag-groups.csv",
    columns: &[("code", true), ("name", true), ("archived", false)],
    key: &["code"],
};
pub const TAGS: Family = Family {
    file: "tags.csv",
    columns: &[
        ("group_code", true),
        ("code", true),
        ("name", true),
        ("archived", false),
    ],
    key: &["group_code", "code"],
};
/// Dimensions of tag groups (columns of their tags, e.g. a project's manager).
pub const TAG_DIMENSIONS: Family = Family {
    file: "tag-dimensions.csv",
    columns: &[
        ("group_code", true),
        ("code", true),
        ("name", true),
        ("visible", false),
    ],
    key: &["group_code", "code"],
};
pub const TAX_CODES: Family = Family {
    file: "tax-codes.csv",
    columns: &[
        ("code", true),
        ("name", true),
        ("rate", true),
        ("type", true),
        ("archived", false),
    ],
    key: &["code"],
};

/// Objects to archive or delete: tags and tag dimensions (`group_code` + `code`) and tax
/// codes (`code`).
pub const REMOVE: Family = Family {
    file: "remove.csv",
    columns: &[
        ("kind", true),
        ("group_code", false),
        ("code", true),
        ("action", true),
    ],
    key: &["kind", "group_code", "code"],
};

pub const FAMILIES: [&Family; 7] = [
    &VENDORS,
    &ACCOUNTS,
    &TAG_GROUPS,
    &TAGS,
    &TAG_DIMENSIONS,
    &TAX_CODES,
    &REMOVE,
];

/// A valid row: its cells by column name (empty cells left out), and its line.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub line: usize,
    pub cells: BTreeMap<String, String>,
}

impl Row {
    pub fn get(&self, column: &str) -> Option<&str> {
        self.cells.get(column).map(String::as_str)
    }

    /// A required cell (validation made sure it is there).
    pub fn req(&self, column: &str) -> &str {
        self.get(column).unwrap_or_default()
    }

    pub fn archived(&self) -> bool {
        self.get("archived") == Some("true")
    }
}

/// A CSV record and the line it starts on.
pub type Record = (usize, Vec<String>);

/// Splits CSV text (RFC 4180: quotes, `""`, CRLF, newlines inside quotes) into records with
/// the line each starts on.
pub fn records(text: &str) -> Result<Vec<Record>, (usize, String)> {
    let mut out = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut line = 1;
    let mut start = 1;
    let mut quoted = false;
    let mut was_quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => quoted = false,
                '\n' => {
                    line += 1;
                    field.push(c);
                }
                _ => field.push(c),
            }
            continue;
        }
        match c {
            '"' if field.is_empty() && !was_quoted => {
                quoted = true;
                was_quoted = true;
            }
            '"' => return Err((line, "a quote inside an unquoted cell".into())),
            ',' => {
                record.push(std::mem::take(&mut field));
                was_quoted = false;
            }
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' => {
                record.push(std::mem::take(&mut field));
                was_quoted = false;
                out.push((start, std::mem::take(&mut record)));
                line += 1;
                start = line;
            }
            _ if was_quoted => {
                return Err((line, "text after the closing quote of a cell".into()));
            }
            _ => field.push(c),
        }
    }
    if quoted {
        return Err((start, "a quoted cell is never closed".into()));
    }
    if !field.is_empty() || !record.is_empty() || was_quoted {
        record.push(field);
        out.push((start, record));
    }
    // Blank lines are not rows.
    out.retain(|(_, r)| !(r.len() == 1 && r[0].trim().is_empty()));
    Ok(out)
}

/// Validates one family's file: header, cell count, required cells, formats, duplicate keys.
/// Returns the valid rows and every problem found.
pub fn validate(family: &Family, bytes: &[u8]) -> (Vec<Row>, Vec<Invalid>) {
    let invalid = |line: usize, column: &str, cause: String| Invalid {
        file: family.file.into(),
        line,
        column: column.into(),
        cause,
    };
    if bytes.contains(&0) {
        return (
            Vec::new(),
            vec![invalid(0, "", "a binary file, not CSV text".into())],
        );
    }
    let Ok(text) = std::str::from_utf8(bytes) else {
        return (Vec::new(), vec![invalid(0, "", "not UTF-8 text".into())]);
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let records = match records(text) {
        Ok(r) => r,
        Err((line, cause)) => return (Vec::new(), vec![invalid(line, "", cause)]),
    };
    let Some((_, header)) = records.first() else {
        return (
            Vec::new(),
            vec![invalid(0, "", "empty file: a header row is needed".into())],
        );
    };
    let header: Vec<String> = header.iter().map(|h| h.trim().to_lowercase()).collect();
    let mut problems = Vec::new();
    let known: Vec<&str> = family.columns.iter().map(|(c, _)| *c).collect();
    for name in &header {
        if !known.contains(&name.as_str()) {
            problems.push(invalid(
                1,
                name,
                format!("unknown column (known: {})", known.join(", ")),
            ));
        }
    }
    let mut seen = BTreeSet::new();
    for name in &header {
        if !seen.insert(name) {
            problems.push(invalid(1, name, "column given twice".into()));
        }
    }
    for (column, required) in family.columns {
        if *required && !header.iter().any(|h| h == column) {
            problems.push(invalid(1, column, "required column missing".into()));
        }
    }
    if !problems.is_empty() {
        return (Vec::new(), problems);
    }
    let mut rows = Vec::new();
    let mut keys: BTreeMap<Vec<String>, usize> = BTreeMap::new();
    for (line, record) in &records[1..] {
        let line = *line;
        if record.len() != header.len() {
            problems.push(invalid(
                line,
                "",
                format!("{} cells, the header has {}", record.len(), header.len()),
            ));
            continue;
        }
        let mut cells = BTreeMap::new();
        for (name, value) in header.iter().zip(record) {
            let value = value.trim();
            if !value.is_empty() {
                cells.insert(name.clone(), value.to_owned());
            }
        }
        let row = Row { line, cells };
        let before = problems.len();
        for (column, required) in family.columns {
            if *required && row.get(column).is_none() {
                problems.push(invalid(line, column, "empty, but required".into()));
            }
        }
        for (column, value) in &row.cells {
            if let Err(cause) = check_cell(column, value) {
                problems.push(invalid(line, column, cause));
            }
        }
        if let Err((column, cause)) = check_row(family, &row) {
            problems.push(invalid(line, column, cause));
        }
        if problems.len() > before {
            continue;
        }
        let key: Vec<String> = family.key.iter().map(|k| row.req(k).to_owned()).collect();
        if let Some(first) = keys.insert(key.clone(), line) {
            problems.push(invalid(
                line,
                family.key.last().copied().unwrap_or_default(),
                format!(
                    "duplicate {} `{}` (first on line {first})",
                    family.key.join("+"),
                    key.join("/")
                ),
            ));
            continue;
        }
        rows.push(row);
    }
    (rows, problems)
}

/// Checks across cells of one row: a tag or dimension to remove names its group; a tax code
/// and a dimension are deleted (archive a tax code with `archived` in tax-codes.csv; a
/// dimension has no archive).
fn check_row(family: &Family, row: &Row) -> Result<(), (&'static str, String)> {
    if family.file != REMOVE.file {
        return Ok(());
    }
    match (row.get("kind"), row.get("group_code"), row.get("action")) {
        (Some("tag"), None, _) => Err(("group_code", "a tag needs its group's code".into())),
        (Some("tag-dimension"), None, _) => Err((
            "group_code",
            "a tag dimension needs its group's code".into(),
        )),
        (Some("tag-dimension"), _, Some("archive")) => Err((
            "action",
            "a tag dimension cannot be archived; here only `delete`".into(),
        )),
        (Some("tax-code"), Some(_), _) => Err(("group_code", "a tax code has no group".into())),
        (Some("tax-code"), _, Some("archive")) => Err((
            "action",
            "archive a tax code with `archived` in tax-codes.csv; here only `delete`".into(),
        )),
        _ => Ok(()),
    }
}

fn check_cell(column: &str, value: &str) -> Result<(), String> {
    let letters = |n: usize, what: &str| {
        if value.len() == n && value.chars().all(|c| c.is_ascii_alphabetic()) {
            Ok(())
        } else {
            Err(format!("`{value}` is not {what}"))
        }
    };
    if value.chars().any(char::is_control) {
        return Err("contains a control character".into());
    }
    if value.chars().count() > 255 {
        return Err("longer than 255 characters".into());
    }
    match column {
        "default_currency" => letters(3, "an ISO 4217 currency code such as EUR"),
        "country" => letters(2, "an ISO 3166 country code such as DK"),
        "archived" | "visible" => match value {
            "true" | "false" => Ok(()),
            _ => Err(format!("`{value}` is not true or false")),
        },
        "rate" => match value.parse::<f64>() {
            Ok(rate) if (0.0..=1.0).contains(&rate) => Ok(()),
            _ => Err(format!(
                "`{value}` is not a rate from 0 to 1 (0.25 is 25 %)"
            )),
        },
        "kind" => match value {
            "tag" | "tag-dimension" | "tax-code" => Ok(()),
            _ => Err(format!("`{value}` is not tag, tag-dimension or tax-code")),
        },
        "action" => match value {
            "archive" | "delete" => Ok(()),
            _ => Err(format!("`{value}` is not archive or delete")),
        },
        "type" => match value {
            "inclusive" | "exclusive" | "reverse" => Ok(()),
            _ => Err(format!("`{value}` is not inclusive, exclusive or reverse")),
        },
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_records_follow_rfc_4180() {
        let r = records("a,b\r\n\"x, y\",\"say \"\"hi\"\"\"\n\"multi\nline\",z\n").unwrap();
        assert_eq!(r.len(), 3);
        assert_eq!(r[1].1, vec!["x, y", "say \"hi\""]);
        assert_eq!((r[2].0, r[2].1[0].as_str()), (3, "multi\nline"));
        assert!(records("a,\"b\n").is_err());
        assert!(records("a,b\"c\n").is_err());
    }

    #[test]
    fn every_problem_is_reported_with_line_and_column() {
        let text = "external_id,name,default_currency,colour\nV1,Acme,EUR,red\n";
        let (_, problems) = validate(&VENDORS, text.as_bytes());
        assert_eq!(problems[0].column, "colour");
        assert_eq!(problems[0].line, 1);

        let text = "external_id,name,default_currency,country\nV1,Acme,EUR,DK\nV2,,Euro,DK\nV1,Other,EUR,\nV3,x\n";
        let (rows, problems) = validate(&VENDORS, text.as_bytes());
        assert_eq!(rows.len(), 1);
        let found: Vec<(usize, &str)> = problems
            .iter()
            .map(|p| (p.line, p.column.as_str()))
            .collect();
        assert_eq!(
            found,
            vec![
                (3, "name"),
                (3, "default_currency"),
                (4, "external_id"),
                (5, "")
            ]
        );
    }

    #[test]
    fn remove_rows_name_a_kind_an_action_and_a_tag_s_group() {
        let text = "kind,group_code,code,action\n\
                    tag,PRJ,P-1,archive\n\
                    tax-code,,V25,delete\n\
                    tag,,P-2,delete\n\
                    tax-code,PRJ,V0,delete\n\
                    tax-code,,V1,archive\n\
                    vendor,,X,delete\n\
                    tag,PRJ,P-3,purge\n\
                    tag-dimension,PRJ,PM,delete\n\
                    tag-dimension,,PM,delete\n\
                    tag-dimension,PRJ,ERP,archive\n";
        let (rows, problems) = validate(&REMOVE, text.as_bytes());
        assert_eq!(rows.len(), 3);
        let found: Vec<(usize, &str)> = problems
            .iter()
            .map(|p| (p.line, p.column.as_str()))
            .collect();
        assert_eq!(
            found,
            vec![
                (4, "group_code"),
                (5, "group_code"),
                (6, "action"),
                (7, "kind"),
                (8, "action"),
                (10, "group_code"),
                (11, "action")
            ]
        );
    }

    #[test]
    fn empty_binary_and_non_utf8_files_are_refused() {
        assert_eq!(
            validate(&TAGS, b"").1[0].cause,
            "empty file: a header row is needed"
        );
        assert!(
            validate(&TAGS, b"\x00\x01\x02").1[0]
                .cause
                .contains("binary")
        );
        assert!(validate(&TAGS, b"code,\xff\n").1[0].cause.contains("UTF-8"));
        let (_, p) = validate(&TAX_CODES, b"code,name,rate,type\nV25,VAT,25,inclusive\n");
        assert_eq!(p[0].column, "rate");
    }
}
