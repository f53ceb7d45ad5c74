//! `report.html`: the report as one self-contained page a person bookmarks (`latest/report.html`
//! of a schedule's output). Charts are SVG drawn with `plotters` (its SVG backend only, no font
//! files: text is laid out by an estimate and drawn by the browser), tables are plain HTML. No
//! script, stylesheet, font or image is loaded from anywhere, and the page's
//! Content-Security-Policy forbids it.
//!
//! The page is also well-formed XML (void elements closed with `/>`), so a test can check it
//! with a strict parser.
//!
//! Names are typed into Pleo by people: every one passes through [`display_name`] (control and
//! bidirectional formatting characters become U+FFFD, so a name cannot reorder the text around
//! it) and then [`escape`] (HTML), or plotters' own SVG escaping for chart labels.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use pleo_plugin::Employee;
use pleo_plugin::money::{exponent, format_minor_units_grouped};
use plotters::coord::ranged1d::SegmentValue;
use plotters::prelude::*;

use crate::report::{Period, Report, Totals};

/// Employees shown in the chart and table of top spenders.
pub const TOP_EMPLOYEES: usize = 10;
/// Currencies that get their own charts (the ones with the most entries).
const CHARTED_CURRENCIES: usize = 3;
/// Longest name in a chart label; the table shows names whole.
const LABEL_CHARS: usize = 28;

/// What the page says about the run beyond the numbers.
pub struct Context<'a> {
    /// `scheduled_for` of a scheduled run; `None` when run by hand.
    pub scheduled_for: Option<&'a str>,
    /// How the period was chosen (`previous-month`, or `from/to` for explicit dates).
    pub period_name: &'a str,
}

/// The whole page.
pub fn render(
    report: &Report,
    period: &Period,
    employees: &BTreeMap<String, Employee>,
    context: &Context<'_>,
) -> Result<String, String> {
    let mut page = String::with_capacity(64 << 10);
    let title = format!("Spend report {period}");
    page.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n");
    page.push_str(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
         style-src 'unsafe-inline'\"/>\n",
    );
    page.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n");
    let _ = writeln!(page, "<title>{}</title>", escape(&title));
    page.push_str(STYLE);
    page.push_str("</head>\n<body>\n");
    let _ = writeln!(page, "<h1>{}</h1>", escape(&title));
    let mut facts = format!(
        "{} entries counted ({}), {} not spend",
        report.counted,
        escape(context.period_name),
        report.not_spend
    );
    if let Some(at) = context.scheduled_for {
        let _ = write!(facts, "; scheduled for {}", escape(at));
    }
    let _ = writeln!(page, "<p class=\"facts\">{facts}</p>");

    page.push_str(
        "<h2>Totals</h2>\n<table>\n<tr><th>Currency</th><th>Entries</th><th>Amount</th></tr>\n",
    );
    for (currency, totals) in &report.by_currency {
        let _ = writeln!(
            page,
            "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            escape(currency),
            totals.entries,
            amount(currency, totals)
        );
    }
    if report.by_currency.is_empty() {
        page.push_str("<tr><td colspan=\"3\">No spend in this period.</td></tr>\n");
    }
    page.push_str("</table>\n");

    for currency in charted_currencies(report) {
        let months = months(report, period, &currency);
        let _ = writeln!(page, "<h2>Spend by month, {}</h2>", escape(&currency));
        page.push_str(&month_chart(&months, &currency)?);
        let top = top_employees(report, employees, &currency);
        if top.is_empty() {
            continue;
        }
        let _ = writeln!(page, "<h2>Top employees, {}</h2>", escape(&currency));
        page.push_str(&employee_chart(&top, &currency)?);
        page.push_str("<table>\n<tr><th>Employee</th><th>Entries</th><th>Amount</th></tr>\n");
        for row in &top {
            let _ = writeln!(
                page,
                "<tr><td><bdi>{}</bdi></td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
                escape(&row.name),
                row.totals.entries,
                amount(&currency, &row.totals)
            );
        }
        page.push_str("</table>\n");
    }
    page.push_str("</body>\n</html>\n");
    Ok(page)
}

const STYLE: &str = "<style>\n\
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:60em;color:#222}\n\
table{border-collapse:collapse;margin:1em 0}\n\
td,th{border-bottom:1px solid #ddd;padding:.3em .8em;text-align:left}\n\
td.n{text-align:right;font-variant-numeric:tabular-nums}\n\
.facts{color:#555}\n\
svg{max-width:100%;height:auto}\n\
</style>\n";

/// Text for HTML content or a quoted attribute.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A name as typed by a person, made safe to show: control characters and the
/// bidirectional formatting characters (embeddings, overrides, isolates, marks) become
/// U+FFFD, so a name can neither hide text nor reverse what follows it.
pub fn display_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            let bidi = matches!(c,
                '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}');
            if c.is_control() || bidi {
                '\u{FFFD}'
            } else {
                c
            }
        })
        .collect()
}

fn amount(currency: &str, totals: &Totals) -> String {
    escape(&format_minor_units_grouped(
        totals.minors,
        exponent(currency),
    ))
}

fn major_units(currency: &str, minors: i128) -> f64 {
    minors as f64 / 10f64.powi(exponent(currency) as i32)
}

/// The currencies with the most entries, most first.
fn charted_currencies(report: &Report) -> Vec<String> {
    let mut currencies: Vec<(&String, &Totals)> = report.by_currency.iter().collect();
    currencies.sort_by(|a, b| b.1.entries.cmp(&a.1.entries).then(a.0.cmp(b.0)));
    currencies
        .into_iter()
        .take(CHARTED_CURRENCIES)
        .map(|(c, _)| c.clone())
        .collect()
}

/// Every month of the period (months without spend too), with its spend in `currency`.
fn months(report: &Report, period: &Period, currency: &str) -> Vec<(String, f64)> {
    let mut out = Vec::new();
    let mut month = period.from.first_of_month();
    while month <= period.to {
        let key = month.month_key();
        let minors = report
            .by_month
            .get(&(key.clone(), currency.to_owned()))
            .map_or(0, |t| t.minors);
        out.push((key, major_units(currency, minors)));
        month = month.add_months(1);
    }
    out
}

pub struct TopEmployee {
    pub name: String,
    pub totals: Totals,
}

/// The employees who spent most in `currency`, most first (ties by name).
pub fn top_employees(
    report: &Report,
    employees: &BTreeMap<String, Employee>,
    currency: &str,
) -> Vec<TopEmployee> {
    let mut rows: Vec<TopEmployee> = report
        .by_employee
        .iter()
        .filter(|((_, c), _)| c == currency)
        .map(|((id, _), totals)| {
            let name = match employees.get(id) {
                _ if id.is_empty() => "(no employee)".to_owned(),
                Some(e) => display_name(&e.full_name()),
                None => "(unknown employee)".to_owned(),
            };
            TopEmployee {
                name,
                totals: *totals,
            }
        })
        .collect();
    rows.sort_by(|a, b| {
        b.totals
            .minors
            .cmp(&a.totals.minors)
            .then_with(|| a.name.cmp(&b.name))
    });
    rows.truncate(TOP_EMPLOYEES);
    rows
}

fn label(name: &str) -> String {
    if name.chars().count() <= LABEL_CHARS {
        name.to_owned()
    } else {
        let mut short: String = name.chars().take(LABEL_CHARS - 1).collect();
        short.push('…');
        short
    }
}

/// A value range that holds every value and zero, with some room above the highest bar.
fn value_range(values: impl Iterator<Item = f64>) -> std::ops::Range<f64> {
    let (mut low, mut high) = (0f64, 0f64);
    for v in values.filter(|v| v.is_finite()) {
        low = low.min(v);
        high = high.max(v);
    }
    if high <= low {
        high = low + 1.0;
    }
    let room = (high - low) * 0.05;
    (if low < 0.0 { low - room } else { low })..high + room
}

fn chart_error(e: impl std::fmt::Display) -> String {
    format!("drawing the report's chart: {e}")
}

const BAR: RGBColor = RGBColor(0x2f, 0x6f, 0xb3);

/// Vertical bars, one per month.
fn month_chart(months: &[(String, f64)], currency: &str) -> Result<String, String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (860, 320)).into_drawing_area();
        root.fill(&WHITE).map_err(chart_error)?;
        let n = months.len() as u32;
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(90)
            .build_cartesian_2d(
                (0..n).into_segmented(),
                value_range(months.iter().map(|m| m.1)),
            )
            .map_err(chart_error)?;
        let label_of = |v: &SegmentValue<u32>| match v {
            SegmentValue::CenterOf(i) => months
                .get(*i as usize)
                .map(|m| m.0.clone())
                .unwrap_or_default(),
            _ => String::new(),
        };
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(months.len().max(1))
            .x_label_formatter(&label_of)
            .y_desc(currency)
            .draw()
            .map_err(chart_error)?;
        chart
            .draw_series(months.iter().enumerate().map(|(i, (_, v))| {
                let i = i as u32;
                let mut bar = Rectangle::new(
                    [
                        (SegmentValue::Exact(i), 0.0),
                        (SegmentValue::Exact(i + 1), *v),
                    ],
                    BAR.filled(),
                );
                bar.set_margin(0, 0, 4, 4);
                bar
            }))
            .map_err(chart_error)?;
        root.present().map_err(chart_error)?;
    }
    Ok(svg)
}

/// Horizontal bars, one per employee, the biggest spender on top.
fn employee_chart(top: &[TopEmployee], currency: &str) -> Result<String, String> {
    let mut svg = String::new();
    {
        let height = 60 + 28 * top.len() as u32;
        let root = SVGBackend::with_string(&mut svg, (860, height)).into_drawing_area();
        root.fill(&WHITE).map_err(chart_error)?;
        let n = top.len() as u32;
        let values: Vec<f64> = top
            .iter()
            .map(|t| major_units(currency, t.totals.minors))
            .collect();
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .x_label_area_size(30)
            .y_label_area_size(230)
            .build_cartesian_2d(value_range(values.iter().copied()), (0..n).into_segmented())
            .map_err(chart_error)?;
        // Row 0 is drawn at the bottom; the biggest spender goes on top.
        let row_name = |v: &SegmentValue<u32>| match v {
            SegmentValue::CenterOf(i) if *i < n => top
                .get((n - 1 - *i) as usize)
                .map(|t| label(&t.name))
                .unwrap_or_default(),
            _ => String::new(),
        };
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(top.len().max(1))
            .y_label_formatter(&row_name)
            .x_desc(currency)
            .draw()
            .map_err(chart_error)?;
        chart
            .draw_series(values.iter().enumerate().map(|(rank, v)| {
                let row = n - 1 - rank as u32;
                let mut bar = Rectangle::new(
                    [
                        (0.0, SegmentValue::Exact(row)),
                        (*v, SegmentValue::Exact(row + 1)),
                    ],
                    BAR.filled(),
                );
                bar.set_margin(3, 3, 0, 0);
                bar
            }))
            .map_err(chart_error)?;
        root.present().map_err(chart_error)?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_neutralises_bidi() {
        assert_eq!(
            escape("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
        assert_eq!(
            display_name("Eve\u{202E}gnp.exe\u{2066}x\u{1b}[31m"),
            "Eve\u{FFFD}gnp.exe\u{FFFD}x\u{FFFD}[31m"
        );
        assert_eq!(display_name("Zoë Ødegård"), "Zoë Ødegård");
        assert_eq!(label(&"x".repeat(40)).chars().count(), LABEL_CHARS);
    }

    fn entry(
        employee: &str,
        at: &str,
        currency: &str,
        minors: i64,
    ) -> pleo_plugin::AccountingEntry {
        serde_json::from_value(serde_json::json!({
            "id": "x", "companyId": "c", "createdAt": at, "updatedAt": at, "performedAt": at,
            "family": "CARD_PURCHASE", "status": "COMPLETED", "exportStatus": "NOT_EXPORTED",
            "reviewStatus": "NOT_SET", "receiptIds": [], "tags": [], "splitItems": [],
            "attendees": [], "employeeId": employee,
            "transactionValue": {"currency": currency, "minors": minors},
        }))
        .unwrap()
    }

    fn employee(id: &str, first: &str, last: &str) -> (String, Employee) {
        let e = serde_json::json!({
            "id": id, "companyId": "c", "email": "x@example.com",
            "firstName": first, "lastName": last,
        });
        (id.to_owned(), serde_json::from_value(e).unwrap())
    }

    const HOSTILE: &str = "<script>alert(\"x\")</script>'\u{202E}evil&amp;";

    fn page() -> String {
        let d = |s: &str| s.parse().unwrap();
        let period = Period::relative(crate::report::Relative::Last12Months, d("2026-11-26"), None);
        let mut report = Report::default();
        for (who, at, cur, minors) in [
            ("e1", "2026-01-05T10:00:00Z", "DKK", 12_345),
            ("e2", "2026-03-05T10:00:00Z", "DKK", 99_000),
            ("e2", "2026-11-20T10:00:00Z", "DKK", -500),
            ("e3", "2026-06-01T10:00:00Z", "EUR", 1_000),
        ] {
            report.add(&entry(who, at, cur, minors), &period);
        }
        let employees: BTreeMap<_, _> = [
            employee("e1", "Zoe", "Berg"),
            employee("e2", HOSTILE, "\"Q\""),
        ]
        .into_iter()
        .collect();
        let context = Context {
            scheduled_for: Some("2026-11-26T06:00:00+01:00"),
            period_name: "last-12-months",
        };
        render(&report, &period, &employees, &context).unwrap()
    }

    /// Every element of the page and every text node, as the strict parser sees them.
    fn elements_and_text(doc: &roxmltree::Document<'_>) -> (Vec<String>, Vec<String>) {
        let mut elements = Vec::new();
        let mut text = Vec::new();
        for node in doc.descendants() {
            if node.is_element() {
                elements.push(node.tag_name().name().to_owned());
            } else if let Some(t) = node.text() {
                // plotters puts each SVG label on a line of its own.
                text.push(t.trim_matches('\n').to_owned());
            }
        }
        (elements, text)
    }

    #[test]
    fn the_page_is_well_formed_and_names_stay_text() {
        let page = page();
        // Well-formed XML is stricter than HTML: every tag closed, every `<` and `&` escaped.
        let doc = roxmltree::Document::parse_with_options(
            &page,
            roxmltree::ParsingOptions {
                allow_dtd: true,
                ..Default::default()
            },
        )
        .unwrap_or_else(|e| panic!("not well-formed: {e}\n{page}"));
        assert_eq!(doc.root_element().tag_name().name(), "html");
        let (elements, text) = elements_and_text(&doc);
        for forbidden in [
            "script", "iframe", "object", "embed", "link", "img", "image", "use",
        ] {
            assert!(
                !elements.iter().any(|e| e == forbidden),
                "<{forbidden}> in the page"
            );
        }
        assert_eq!(
            elements.iter().filter(|e| *e == "svg").count(),
            4,
            "2 currencies x 2 charts"
        );
        // The hostile name arrives as text, its bidi override neutralised, in the table
        // (whole) and in the chart (as a label, cut to LABEL_CHARS).
        let shown = display_name(&format!("{HOSTILE} \"Q\""));
        assert!(!shown.contains('\u{202E}'));
        assert!(text.iter().any(|t| t == &shown), "table cell: {text:?}");
        assert!(
            text.iter().any(|t| t == &label(&shown)),
            "chart label: {text:?}"
        );
        assert!(!page.contains("<script"), "no raw markup from a name");
        assert!(!page.contains('\u{202E}'));
        // No reference to anything outside the file.
        for outside in ["http://", "https://", "url(", "@import", "src="] {
            let allowed = outside == "http://"
                && page.matches(outside).count()
                    == page.matches("xmlns=\"http://www.w3.org/2000/svg\"").count();
            assert!(allowed || !page.contains(outside), "{outside} in the page");
        }
        // The SVG charts are SVG: the month chart has a bar per month with spend.
        let svg = doc
            .descendants()
            .find(|n| n.tag_name().name() == "svg")
            .unwrap();
        assert_eq!(
            svg.tag_name().namespace(),
            Some("http://www.w3.org/2000/svg")
        );
        assert!(text.iter().any(|t| t == "2026-03"), "month labels");
    }

    #[test]
    fn value_ranges_hold_zero_and_negative_totals() {
        let r = value_range([3.0, 10.0].into_iter());
        assert!(r.start == 0.0 && r.end > 10.0);
        let r = value_range([-5.0, 2.0].into_iter());
        assert!(r.start < -5.0 && r.end > 2.0);
        let r = value_range(std::iter::empty());
        assert!(r.end > r.start);
    }
}
