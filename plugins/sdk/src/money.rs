//! Money as Pleo sends it (integer minor units) and exact decimal formatting, without floats.

use serde::Deserialize;

/// An amount in the smallest unit of its currency: `{"currency": "GBP", "minors": 6580}` is
/// £65.80, and `{"currency": "ISK", "minors": 1500}` is 1500 ISK.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Deserialize)]
pub struct Money {
    /// ISO 4217 code, e.g. `EUR`.
    pub currency: String,
    pub minors: i64,
}

impl Money {
    /// The amount in major units, e.g. `65.80`.
    pub fn to_decimal_string(&self) -> String {
        format_minor_units(i128::from(self.minors), exponent(&self.currency))
    }
}

/// The number of decimals of an ISO 4217 currency (its "minor unit"): 0 for JPY, 3 for KWD,
/// 2 for codes not listed here (which is also what the common ones use).
pub fn exponent(currency: &str) -> u32 {
    match currency {
        "BIF" | "CLP" | "DJF" | "GNF" | "ISK" | "JPY" | "KMF" | "KRW" | "PYG" | "RWF" | "UGX"
        | "UYI" | "VND" | "VUV" | "XAF" | "XOF" | "XPF" => 0,
        "BHD" | "IQD" | "JOD" | "KWD" | "LYD" | "OMR" | "TND" => 3,
        "CLF" | "UYW" => 4,
        _ => 2,
    }
}

/// `minors` as a decimal with `exponent` decimals: `(-5, 2)` is `-0.05`, `(1500, 0)` is `1500`.
pub fn format_minor_units(minors: i128, exponent: u32) -> String {
    format_decimal(minors, exponent, None)
}

/// Like [`format_minor_units`], with the integer part grouped by `,`: `1,234,567.89`.
pub fn format_minor_units_grouped(minors: i128, exponent: u32) -> String {
    format_decimal(minors, exponent, Some(','))
}

fn format_decimal(minors: i128, exponent: u32, separator: Option<char>) -> String {
    let digits = minors.unsigned_abs().to_string();
    let exponent = exponent as usize;
    // At least one digit before the point: pad with zeros on the left.
    let digits = format!("{digits:0>width$}", width = exponent + 1);
    let (int_part, fraction) = digits.split_at(digits.len() - exponent);
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 2);
    if minors < 0 {
        out.push('-');
    }
    for (i, c) in int_part.chars().enumerate() {
        if let Some(sep) = separator
            && i > 0
            && (int_part.len() - i) % 3 == 0
        {
            out.push(sep);
        }
        out.push(c);
    }
    if exponent > 0 {
        out.push('.');
        out.push_str(fraction);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_exactly() {
        assert_eq!(format_minor_units(-5, 2), "-0.05");
        assert_eq!(format_minor_units(5, 3), "0.005");
        assert_eq!(format_minor_units(0, 2), "0.00");
        assert_eq!(format_minor_units(1500, 0), "1500");
        assert_eq!(format_minor_units(-123_456_789, 2), "-1234567.89");
        assert_eq!(
            format_minor_units(i128::from(i64::MIN), 2),
            "-92233720368547758.08"
        );
        assert_eq!(
            format_minor_units(i128::MIN, 0),
            "-170141183460469231731687303715884105728"
        );
    }

    #[test]
    fn groups_thousands() {
        assert_eq!(format_minor_units_grouped(123_456_789, 2), "1,234,567.89");
        assert_eq!(format_minor_units_grouped(-100_000, 2), "-1,000.00");
        assert_eq!(format_minor_units_grouped(99_999, 2), "999.99");
        assert_eq!(format_minor_units_grouped(-1_000_000, 0), "-1,000,000");
        assert_eq!(format_minor_units_grouped(-7, 3), "-0.007");
    }

    #[test]
    fn exponents_and_money() {
        assert_eq!(exponent("JPY"), 0);
        assert_eq!(exponent("KWD"), 3);
        assert_eq!(exponent("DKK"), 2);
        let m: Money = serde_json::from_str(r#"{"currency":"GBP","minors":6580,"x":1}"#).unwrap();
        assert_eq!(m.to_decimal_string(), "65.80");
    }
}
