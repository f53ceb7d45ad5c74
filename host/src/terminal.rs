//! Text from a plugin (or from Pleo, typed by someone) made safe for the operator's terminal and
//! the audit log. A plugin's summary, log lines, progress messages, error causes and file names
//! could otherwise carry ESC/CSI/OSC sequences (recolour the screen, rewrite earlier lines, set
//! the window title, plant hyperlinks), a bare CR that overwrites what the host printed, or
//! bidirectional overrides that make text read differently from what it is.
//!
//! Every such character is shown as an escape (`\u{1b}`), so it is visible and inert.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Whether a character must not reach a terminal raw.
fn is_unsafe(c: char) -> bool {
    c.is_control() // C0 (ESC, CR, BEL, ...), DEL and C1 (incl. the 8-bit CSI U+009B)
        || matches!(c,
            '\u{061C}' | '\u{200E}' | '\u{200F}' // bidi marks
            | '\u{202A}'..='\u{202E}'            // bidi embeddings and overrides
            | '\u{2066}'..='\u{2069}'            // bidi isolates
            | '\u{2028}' | '\u{2029}'            // line and paragraph separators
        )
}

fn escape(text: &str, keep: impl Fn(char) -> bool) -> Cow<'_, str> {
    if !text.chars().any(|c| is_unsafe(c) && !keep(c)) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if is_unsafe(c) && !keep(c) {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// One line: every control character is escaped, newlines and tabs included (a plugin's log
/// line cannot pose as a second line of the host's own output).
pub fn line(text: &str) -> Cow<'_, str> {
    escape(text, |_| false)
}

/// Several lines: newlines and tabs are content and stay; everything else is escaped.
pub fn text(text: &str) -> Cow<'_, str> {
    escape(text, |c| c == '\n' || c == '\t')
}

/// A JSON document for the audit: serde_json already escapes C0 controls, but leaves DEL, C1
/// controls and bidi characters raw. They can only occur inside JSON strings, where `\uXXXX`
/// is the valid escape. Raw newlines and tabs can only be the layout of pretty JSON: kept.
pub fn json(text: &str) -> Cow<'_, str> {
    let unsafe_here = |c: char| is_unsafe(c) && c != '\n' && c != '\t';
    if !text.chars().any(unsafe_here) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if unsafe_here(c) {
            let _ = write!(out, "\\u{:04x}", c as u32);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_become_visible_text() {
        let hostile = "ok\u{1b}]8;;http://x\u{7}link\u{1b}[2J\rfake\u{9b}31m\u{202e}txt";
        let shown = line(hostile);
        assert!(!shown.chars().any(is_unsafe), "{shown}");
        assert_eq!(
            shown,
            "ok\\u{1b}]8;;http://x\\u{7}link\\u{1b}[2J\\u{d}fake\\u{9b}31m\\u{202e}txt"
        );
        assert_eq!(line("a\nb"), "a\\u{a}b");
        assert_eq!(text("a\nb\tc\u{1b}"), "a\nb\tc\\u{1b}");
        assert!(matches!(line("plain text, ünïcode"), Cow::Borrowed(_)));
    }

    #[test]
    fn json_escapes_stay_valid_json() {
        let encoded = serde_json::to_string(&"x\u{1b}y\u{9b}z\u{7f}\u{202e}").unwrap();
        let safe = json(&encoded);
        assert!(!safe.chars().any(is_unsafe), "{safe}");
        let back: String = serde_json::from_str(&safe).unwrap();
        assert_eq!(back, "x\u{1b}y\u{9b}z\u{7f}\u{202e}");
        let pretty = serde_json::to_string_pretty(&serde_json::json!({"a": "\u{9b}"})).unwrap();
        let safe = json(&pretty);
        assert!(safe.contains('\n'), "layout kept: {safe}");
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&safe).unwrap()["a"],
            "\u{9b}"
        );
    }
}
