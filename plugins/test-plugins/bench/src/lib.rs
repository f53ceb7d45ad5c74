//! Test-only plugin for the benchmarks (`host/benches/sandbox.rs`). It does one cheap thing per
//! run, chosen by the parameter `mode`:
//!
//! * `noop` (also when `mode` is unset): returns `Ok("")` at once;
//! * `t0`: returns `t0_unix_ns=<N>`, the WASI wall clock read as the first thing after looking
//!   up its mode, so the host's start-up can be measured from outside the process;
//! * `pages`: pages through `search-entries` (`limit` per page, default 100; at most
//!   `max_pages` pages, default all), decoding every page, and returns `<entries> entries in
//!   <pages> pages (calls_ns=<N> total_ns=<N>)`: the time spent in the host calls and in all;
//! * `calls`: runs a loop of `n` iterations (default 100000) that calls the host function named
//!   by `fn` (`params`: `params::get("mode")`, `log`: a trace-level log line, `none`: no call,
//!   the baseline) and returns `ns=<N>`, the loop's time on the WASI monotonic clock.

use std::hint::black_box;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use pleo_plugin::accounting_entries_read::{EntryFilter, search_entries};
use pleo_plugin::{Guest, log, pages, params};
use serde::de::IgnoredAny;

struct Bench;

impl Guest for Bench {
    fn run() -> Result<String, String> {
        match params::get("mode").as_deref() {
            None | Some("noop") => Ok(String::new()),
            Some("t0") => {
                let t0 = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_err(|e| e.to_string())?;
                Ok(format!("t0_unix_ns={}", t0.as_nanos()))
            }
            Some("pages") => page_through(),
            Some("calls") => call_loop(),
            Some(other) => Err(format!(
                "unknown mode {other:?}: use noop, t0, pages or calls"
            )),
        }
    }
}

fn number(name: &str, default: u64) -> Result<u64, String> {
    match params::get(name) {
        None => Ok(default),
        Some(value) => value
            .trim()
            .parse()
            .map_err(|_| format!("parameter `{name}` must be a whole number, not {value:?}")),
    }
}

fn page_through() -> Result<String, String> {
    let limit = u32::try_from(number("limit", 100)?).map_err(|e| e.to_string())?;
    let max_pages = number("max_pages", u64::MAX)?;
    let filter = EntryFilter::default();
    let (mut entries, mut pages_seen) = (0u64, 0u64);
    // Time spent waiting for the host call, and in all of the loop.
    let mut in_calls = std::time::Duration::ZERO;
    let started = Instant::now();
    let all = pages::<IgnoredAny, _>(limit, |page| {
        let call = Instant::now();
        let answer = search_entries(&filter, None, page);
        in_calls += call.elapsed();
        answer
    });
    for page in all {
        let page = page.map_err(|e| e.to_string())?;
        entries += page.len() as u64;
        pages_seen += 1;
        if pages_seen >= max_pages {
            break;
        }
    }
    let total = started.elapsed();
    Ok(format!(
        "{entries} entries in {pages_seen} pages (calls_ns={} total_ns={})",
        in_calls.as_nanos(),
        total.as_nanos()
    ))
}

fn call_loop() -> Result<String, String> {
    let n = number("n", 100_000)?;
    let which = params::get("fn").unwrap_or_else(|| "none".into());
    let started = Instant::now();
    match which.as_str() {
        "none" => {
            for _ in 0..n {
                black_box(black_box("mode").len());
            }
        }
        "params" => {
            for _ in 0..n {
                black_box(params::get(black_box("mode")));
            }
        }
        "log" => {
            for _ in 0..n {
                log::trace(black_box("mode"));
            }
        }
        other => return Err(format!("unknown fn {other:?}: use none, params or log")),
    }
    Ok(format!("ns={}", started.elapsed().as_nanos()))
}

pleo_plugin::export_plugin!(Bench);
