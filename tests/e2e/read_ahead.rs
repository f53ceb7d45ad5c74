//! Read-ahead: while a plugin walks a list, the host fetches the next page before the plugin
//! asks. The plugin must see exactly the pages it would without it, each page must be fetched
//! once, the run's API budget must still bound what is sent, and `[client] read_ahead = false`
//! must turn it off.

use std::collections::BTreeSet;

use pleo_host::session::{RunOptions, Session};
use serde_json::Value;

use crate::common::{plugin, tempdir, tokio};

/// What one run of the `bench` plugin's `pages` mode left behind.
struct Walk {
    /// The plugin's summary, or why the run failed.
    result: Result<String, String>,
    /// `after` of every accounting-entries search the mock received, in order (`None`: page 1).
    cursors: Vec<Option<String>>,
    /// The audit's call records and its run-end record.
    calls: Vec<Value>,
    end: Value,
}

const SEARCH: &str = "/v1/accounting-entries:search";

/// Runs `bench` in `pages` mode (`limit` entries a page) against the embedded mock, and waits
/// for the mock to have received `expected(result)` searches (bounded by a deadline).
fn walk(
    params: &str,
    extra_config: &str,
    expected: impl FnOnce(&Result<String, String>) -> usize,
) -> Walk {
    let dir = tempdir();
    let text = format!(
        "state_dir = \"state\"\n{extra_config}\n[mock]\nrecord = true\n\n\
         [plugins.bench]\npath = {:?}\nscopes = [\"accounting-entries:read\"]\n\
         params = {{ mode = \"pages\", {params} }}\n",
        plugin("bench").display().to_string()
    );
    let config = crate::common::config_in(&text, dir.path());
    let (result, exchanges) = tokio().block_on(async {
        let session = Session::open(config).await.unwrap();
        let options = RunOptions {
            out_dir: Some(dir.path().join("out")),
            ..RunOptions::default()
        };
        let result = session
            .run("bench", options)
            .await
            .map(|report| report.summary)
            .map_err(|failure| failure.message);
        // A request sent ahead is cancelled when the run ends, but one already on its way may
        // still arrive. Wait (up to a generous deadline) until the mock has recorded the
        // searches the test expects and has answered every request that reached it.
        let expected = expected(&result);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        let exchanges = loop {
            let arrived = session.mock_requests().unwrap();
            let exchanges = session.mock_exchanges().unwrap();
            let searches = exchanges.iter().filter(|e| e.path == SEARCH).count();
            let settled = exchanges.len() as u64 == arrived;
            if (searches >= expected && settled) || std::time::Instant::now() > deadline {
                break exchanges;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        };
        (result, exchanges)
    });
    let cursors = exchanges
        .iter()
        .filter(|e| e.path == SEARCH)
        .map(|e| {
            form_urlencoded::parse(e.query.as_deref().unwrap_or_default().as_bytes())
                .find(|(name, _)| name == "after")
                .map(|(_, value)| value.into_owned())
        })
        .collect();
    let audit = std::fs::read_to_string(dir.path().join("state/audit.jsonl")).unwrap();
    let records: Vec<Value> = audit
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let calls = records
        .iter()
        .filter(|r| r["record"] == "call" && r["function"] == "search-entries")
        .cloned()
        .collect();
    let end = records.last().unwrap().clone();
    assert_eq!(end["record"], "run-end");
    Walk {
        result,
        cursors,
        calls,
        end,
    }
}

fn read_ahead_calls(walk: &Walk) -> usize {
    walk.calls
        .iter()
        .filter(|c| c["read_ahead"] == true)
        .count()
}

/// The pages the plugin says it walked (the requests of a whole walk, with or without
/// read-ahead).
fn pages_walked(result: &Result<String, String>) -> usize {
    result
        .as_ref()
        .map_or(0, |summary| counts(summary).1 as usize)
}

/// The entry and page counts of the plugin's summary: `<entries> entries in <pages> pages`.
fn counts(summary: &str) -> (u64, u64) {
    let words: Vec<&str> = summary.split_whitespace().collect();
    (words[0].parse().unwrap(), words[3].parse().unwrap())
}

#[test]
fn a_whole_walk_fetches_every_page_once_and_sees_them_all() {
    let on = walk("limit = \"100\"", "", pages_walked);
    let off = walk(
        "limit = \"100\"",
        "[client]\nread_ahead = false\n",
        pages_walked,
    );
    let (entries, pages) = counts(on.result.as_ref().unwrap());
    assert_eq!(
        (entries, pages),
        counts(off.result.as_ref().unwrap()),
        "read-ahead changed what the plugin saw"
    );
    assert!(pages > 5, "the mock's list is long enough to walk: {pages}");

    // Each page was requested exactly once, page 1 first.
    assert_eq!(on.cursors.len() as u64, pages);
    assert_eq!(on.cursors[0], None);
    let distinct: BTreeSet<_> = on.cursors.iter().collect();
    assert_eq!(distinct.len(), on.cursors.len(), "a page was fetched twice");

    // Pages 4.. were read ahead (pages 2 and 3 are the first two asked for by a cursor);
    // nothing was left unused, since the plugin read to the end.
    assert_eq!(read_ahead_calls(&on), pages as usize - 3);
    assert_eq!(on.end["totals"]["read_ahead_unused"], 0);
    assert_eq!(on.end["totals"]["api_calls"], pages);

    assert_eq!(off.cursors, on.cursors, "the same pages, in the same order");
    assert_eq!(read_ahead_calls(&off), 0);
}

#[test]
fn a_plugin_that_stops_early_leaves_at_most_one_page_unused() {
    // The 5th request was sent ahead, but the run's end may cancel it before it leaves, so
    // the mock sees 4 or 5 searches (whether it is still on its way cannot be observed).
    let early = walk("limit = \"10\", max_pages = \"4\"", "", |_| 4);
    assert_eq!(counts(early.result.as_ref().unwrap()), (40, 4));
    assert_eq!(early.end["totals"]["api_calls"], 4);
    // Page 4 came from the read-ahead, page 5 was sent ahead and never asked for.
    assert_eq!(read_ahead_calls(&early), 1);
    assert_eq!(early.end["totals"]["read_ahead_unused"], 1);
    assert!(
        (4..=5).contains(&early.cursors.len()),
        "at most one request beyond the plugin's: {:?}",
        early.cursors
    );

    let off = walk(
        "limit = \"10\", max_pages = \"4\"",
        "[client]\nread_ahead = false\n",
        |_| 4,
    );
    assert_eq!(
        off.cursors.len(),
        4,
        "without read-ahead, only what was asked"
    );
    assert_eq!(off.end["totals"]["read_ahead_unused"], 0);
}

#[test]
fn a_plugin_that_reads_two_pages_causes_no_extra_request() {
    let two = walk("limit = \"10\", max_pages = \"2\"", "", |_| 2);
    assert_eq!(counts(two.result.as_ref().unwrap()), (20, 2));
    assert_eq!(two.cursors.len(), 2, "{:?}", two.cursors);
    assert_eq!(two.end["totals"]["read_ahead_unused"], 0);
}

#[test]
fn the_api_budget_bounds_what_is_read_ahead() {
    // A budget of 4 calls: page 4 is read ahead, the plugin's 5th page is refused, and no
    // request for it is sent.
    let capped = walk("limit = \"10\"", "[limits]\napi_calls = 4\n", |_| 4);
    let message = capped.result.clone().unwrap_err();
    assert!(message.contains("API call budget"), "{message}");
    assert_eq!(read_ahead_calls(&capped), 1);
    assert_eq!(capped.cursors.len(), 4, "{:?}", capped.cursors);
    assert_eq!(capped.end["totals"]["read_ahead_unused"], 0);
}
