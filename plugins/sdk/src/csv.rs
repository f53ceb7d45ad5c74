//! CSV for people to open in a spreadsheet: RFC 4180 quoting, and text cells that cannot turn
//! into formulas or terminal escape sequences.
//!
//! Names, merchants, notes and tag values come from whoever typed them into Pleo. A merchant
//! called `=HYPERLINK("http://x","refund")` in a plain CSV is a live formula once finance opens
//! the file (CSV injection, OWASP). So a [`Cell`] is either text or a number, and only text is
//! changed:
//!
//! * a text cell that starts with `=`, `+`, `-`, `@`, TAB, CR or LF gets a leading `'` and is
//!   quoted, as OWASP recommends: spreadsheets show it as text and the `'` tells a reader it was
//!   added;
//! * control characters other than TAB, CR and LF (ESC, BEL, DEL, the C1 range with its
//!   one-character CSI) are dropped from text cells, so `cat`ing the file cannot drive the
//!   terminal. Dropped rather than escaped: there is no escape syntax in CSV, and `\x1b` spelled
//!   out would itself be text nobody typed;
//! * a field with a comma, quote, CR or LF is quoted, quotes doubled (RFC 4180).
//!
//! A [`Number`] can only be made from integers, minor units or a string that is a plain
//! decimal (`-12.50`), so it is written as is and a negative amount stays a number. A string
//! that is not a plain decimal passed to [`Cell::decimal`] becomes a text cell, neutralised.
//!
//! Lines end with `\n`. The column count is part of the writer's type, so a row with a missing
//! or extra cell does not compile.
//!
//! ```
//! use pleo_plugin::csv::{Cell, Csv};
//!
//! let mut csv = Csv::new(["merchant", "entries", "amount"]);
//! csv.row([Cell::text("=HYPERLINK(\"http://x\")"), Cell::number(2u64), Cell::decimal("-12.50")]);
//! assert_eq!(
//!     csv.finish(),
//!     "merchant,entries,amount\n\"'=HYPERLINK(\"\"http://x\"\")\",2,-12.50\n"
//! );
//! ```

use crate::money::format_minor_units;

/// A number as it goes into a CSV cell: an optional `-`, digits, optionally `.` and digits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Number(String);

impl Number {
    /// `text` if it is a plain decimal (`12`, `-0.05`), else `None`.
    pub fn parse(text: &str) -> Option<Number> {
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        let unsigned = text.strip_prefix('-').unwrap_or(text);
        let plain = match unsigned.split_once('.') {
            Some((int, fraction)) => digits(int) && digits(fraction),
            None => digits(unsigned),
        };
        plain.then(|| Number(text.to_owned()))
    }

    /// An amount in major units: `(-1250, 2)` is `-12.50` (see [`format_minor_units`]).
    pub fn minor_units(minors: i128, exponent: u32) -> Number {
        Number(format_minor_units(minors, exponent))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

macro_rules! number_from_int {
    ($($t:ty),*) => {$(
        impl From<$t> for Number {
            fn from(n: $t) -> Number {
                Number(n.to_string())
            }
        }
    )*};
}
number_from_int!(i32, i64, i128, u32, u64, usize);

/// One cell of a row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cell<'a> {
    /// Text from anywhere: neutralised and quoted as the module describes.
    Text(&'a str),
    /// Written as is.
    Number(Number),
    /// An empty field (an absent value).
    Empty,
}

impl<'a> Cell<'a> {
    pub fn text(text: &'a str) -> Cell<'a> {
        Cell::Text(text)
    }

    /// [`Cell::Text`], or [`Cell::Empty`] for `None`.
    pub fn opt_text(text: Option<&'a str>) -> Cell<'a> {
        text.map_or(Cell::Empty, Cell::Text)
    }

    pub fn number(n: impl Into<Number>) -> Cell<'a> {
        Cell::Number(n.into())
    }

    /// A number if `text` is a plain decimal, else text (and so neutralised): an amount that
    /// was formatted elsewhere cannot smuggle a formula in.
    pub fn decimal(text: &'a str) -> Cell<'a> {
        Number::parse(text).map_or(Cell::Text(text), Cell::Number)
    }
}

/// Characters that make a spreadsheet read a cell as a formula (OWASP's list, plus LF).
const FORMULA_STARTS: [char; 7] = ['=', '+', '-', '@', '\t', '\r', '\n'];

/// A CSV document of `N` columns, header first.
#[derive(Debug)]
pub struct Csv<const N: usize> {
    out: String,
}

impl<const N: usize> Csv<N> {
    pub fn new(header: [&str; N]) -> Csv<N> {
        let mut csv = Csv { out: String::new() };
        csv.row(header.map(Cell::Text));
        csv
    }

    pub fn row(&mut self, cells: [Cell<'_>; N]) {
        for (i, cell) in cells.iter().enumerate() {
            if i > 0 {
                self.out.push(',');
            }
            match cell {
                Cell::Text(text) => push_text(&mut self.out, text),
                Cell::Number(n) => self.out.push_str(&n.0),
                Cell::Empty => {}
            }
        }
        self.out.push('\n');
    }

    /// The document.
    pub fn finish(self) -> String {
        self.out
    }
}

fn push_text(out: &mut String, text: &str) {
    // TAB, CR and LF are kept: notes may have line breaks, and quoting keeps them in the field.
    let kept = |c: &char| !c.is_control() || matches!(c, '\t' | '\r' | '\n');
    let formula = text
        .chars()
        .find(kept)
        .is_some_and(|c| FORMULA_STARTS.contains(&c));
    let quote = formula || text.contains([',', '"', '\r', '\n']);
    if quote {
        out.push('"');
    }
    if formula {
        out.push('\'');
    }
    for c in text.chars().filter(kept) {
        if c == '"' {
            out.push('"');
        }
        out.push(c);
    }
    if quote {
        out.push('"');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One row of one text cell, without the header and line end.
    fn text(value: &str) -> String {
        let mut csv = Csv::new(["h"]);
        csv.row([Cell::text(value)]);
        csv.finish()
            .strip_prefix("h\n")
            .and_then(|s| s.strip_suffix('\n'))
            .unwrap()
            .to_owned()
    }

    #[test]
    fn formula_starts_are_neutralised_and_quoted() {
        assert_eq!(
            text("=HYPERLINK(\"http://evil.example\",\"refund\")"),
            "\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"refund\"\")\""
        );
        assert_eq!(text("+1+1"), "\"'+1+1\"");
        assert_eq!(
            text("-2+3+cmd|' /C calc'!A0"),
            "\"'-2+3+cmd|' /C calc'!A0\""
        );
        assert_eq!(text("@SUM(A1:A9)"), "\"'@SUM(A1:A9)\"");
        assert_eq!(text("\t=1"), "\"'\t=1\"");
        assert_eq!(text("\r=1"), "\"'\r=1\"");
        assert_eq!(text("\n=1"), "\"'\n=1\"");
        // A control character in front does not hide the formula: it is dropped first.
        assert_eq!(text("\u{1b}=1+1"), "\"'=1+1\"");
        // Only the start counts.
        assert_eq!(text("a=b+c@d-e"), "a=b+c@d-e");
        assert_eq!(text(" =1"), " =1");
    }

    #[test]
    fn negative_numbers_stay_numbers() {
        let mut csv = Csv::new(["a", "b", "c", "d", "e", "f"]);
        csv.row([
            Cell::decimal("-12.50"),
            Cell::number(-7i64),
            Cell::number(Number::minor_units(-5, 2)),
            Cell::decimal("1500"),
            Cell::number(u64::MAX),
            Cell::number(i128::MIN),
        ]);
        assert_eq!(
            csv.finish(),
            "a,b,c,d,e,f\n-12.50,-7,-0.05,1500,18446744073709551615,\
             -170141183460469231731687303715884105728\n"
        );
    }

    #[test]
    fn decimals_that_are_not_numbers_are_text() {
        for bad in [
            "-1+1", "=1", "-", "1.", ".5", "-.5", "1e5", "1,5", "--1", " 1", "",
        ] {
            assert_eq!(Number::parse(bad), None, "{bad:?}");
        }
        assert_eq!(Number::parse("-0.005").unwrap().as_str(), "-0.005");
        let mut csv = Csv::new(["a", "b"]);
        csv.row([Cell::decimal("-1+cmd"), Cell::decimal("=1")]);
        assert_eq!(csv.finish(), "a,b\n\"'-1+cmd\",\"'=1\"\n");
    }

    #[test]
    fn quotes_per_rfc_4180() {
        assert_eq!(text("plain"), "plain");
        assert_eq!(text("Lind, Jr."), "\"Lind, Jr.\"");
        assert_eq!(text("a \"b\""), "\"a \"\"b\"\"\"");
        assert_eq!(text("x\ny"), "\"x\ny\"");
        assert_eq!(text("x\r\ny"), "\"x\r\ny\"");
        assert_eq!(text("tab\there"), "tab\there");
        assert_eq!(text(""), "");
    }

    #[test]
    fn control_characters_are_dropped_from_text() {
        assert_eq!(text("red\u{1b}[31mtext\u{1b}[0m"), "red[31mtext[0m");
        assert_eq!(text("bell\u{7}\u{0}\u{7f}"), "bell");
        // The C1 CSI (U+009B) starts an escape sequence on its own in some terminals.
        assert_eq!(text("a\u{9b}2Jb"), "a2Jb");
        assert_eq!(text("Søren Møller"), "Søren Møller");
    }

    #[test]
    fn rows_and_empty_cells() {
        let mut csv = Csv::new(["id", "note", "tax"]);
        csv.row([Cell::text("x"), Cell::opt_text(None), Cell::Empty]);
        csv.row([
            Cell::text("y"),
            Cell::opt_text(Some("ok")),
            Cell::number(0u32),
        ]);
        assert_eq!(csv.finish(), "id,note,tax\nx,,\ny,ok,0\n");
    }
}
