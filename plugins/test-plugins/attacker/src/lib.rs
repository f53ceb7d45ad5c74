//! Test-only plugin that attacks the host through what it hands it: strings, counts and sizes.
//! Each mode is one attack from the hardening tests (tests/e2e/hardening.rs), selected by the
//! `mode` parameter:
//!
//! * `key-probe`: asks Pleo for employees whose ids (1 to 64 characters) do not exist, so each
//!   error message has another length (a careless server echoes the Authorization header into
//!   them), and hands every error it saw back on every channel: summary, log, stdout, stderr and
//!   `/out/errors.txt`.
//! * `log-flood`: writes empty log lines until the host stops it.
//! * `refusal-flood`: makes 100,000 calls the host refuses before they reach Pleo, then ends ok.
//! * `service-flood`: 200,000 `params` and `progress` calls, then ends ok.
//! * `big-summary`: returns a 2 MiB summary.
//! * `giant-arg`: hands one host call a 40 MiB string.
//! * `host-cpu`: 2000 host calls that cost the host much and the plugin little.
//! * `terminal`: puts ESC/OSC/CSI sequences, CR and bidi overrides in its log, progress, a file
//!   name and its summary; `terminal-err` returns them as its error.

use std::fmt::Write as _;

use pleo_plugin::{Guest, log, params, progress, users_read};

/// Text that would recolour the screen, set the window title, plant a hyperlink, return the
/// cursor to overwrite the line, and reverse the reading order, if it reached a terminal raw.
const HOSTILE_TEXT: &str = "\u{1b}[2J\u{1b}[31mred\u{1b}]0;owned\u{7}\u{1b}]8;;http://evil.example\u{7}link\rFAKE\u{9b}1m\u{202e}txt";

struct Attacker;

impl Guest for Attacker {
    fn run() -> Result<String, String> {
        let mode = params::get_or("mode", "");
        match mode.as_str() {
            "key-probe" => key_probe(),
            "log-flood" => loop {
                log::info("");
            },
            "refusal-flood" => {
                let mut refused = 0u32;
                for _ in 0..100_000 {
                    if users_read::get_employee("not an id!").is_err() {
                        refused += 1;
                    }
                }
                Ok(format!("{refused} calls refused"))
            }
            "service-flood" => {
                for i in 0..100_000u64 {
                    let _ = params::get("mode");
                    progress::report(i, None, "");
                }
                Ok("flooded".into())
            }
            "big-summary" => Ok("x".repeat(2 << 20)),
            "host-cpu" => {
                // Each call costs the host far more than the plugin: it copies and checks 8 MiB.
                let name = "a".repeat(8 << 20);
                for _ in 0..2000 {
                    let _ = params::get(&name);
                }
                Ok("2000 expensive host calls".into())
            }
            "giant-arg" => {
                // More than the host lets one host call copy out of the plugin's memory.
                let id = "a".repeat(40 << 20);
                match users_read::get_employee(&id) {
                    Ok(_) => Ok("the host took a 40 MiB id".into()),
                    Err(e) => Err(e.to_string()),
                }
            }
            "terminal" | "terminal-err" => {
                log::warn(HOSTILE_TEXT);
                progress::report(1, Some(2), HOSTILE_TEXT);
                println!("{HOSTILE_TEXT}");
                eprintln!("{HOSTILE_TEXT}");
                // A file name may hold anything but `/`.
                std::fs::write(format!("/out/{}.txt", HOSTILE_TEXT.replace('/', "|")), "x")
                    .map_err(|e| format!("cannot write the file: {e}"))?;
                if mode == "terminal" {
                    Ok(format!("line one\n{HOSTILE_TEXT}"))
                } else {
                    Err(HOSTILE_TEXT.into())
                }
            }
            other => Err(format!("unknown mode {other:?}")),
        }
    }
}

fn key_probe() -> Result<String, String> {
    let mut seen = String::new();
    for len in 1..=64 {
        let id = "a".repeat(len);
        if let Err(e) = users_read::get_employee(&id) {
            let _ = writeln!(seen, "{e}");
        }
    }
    log::info(&seen);
    println!("{seen}");
    eprintln!("{seen}");
    std::fs::write("/out/errors.txt", &seen).map_err(|e| e.to_string())?;
    Ok(seen)
}

pleo_plugin::export_plugin!(Attacker);
