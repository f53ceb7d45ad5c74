//! Read-ahead for plugins that page through a list.
//!
//! Once a plugin has asked for two pages in a row by the cursor of the page before (it is
//! walking the list, not looking at its first page or two), the host sends the request for
//! the following page as soon as it has this one, so Pleo works on page N+1 while the plugin
//! works on page N. Only lists whose scope is a read
//! scope are read ahead: a list request changes nothing, so one the plugin never asks for
//! costs a request and nothing else. At most one request per run is ahead of the plugin.
//!
//! The plugin sees exactly what it would without read-ahead: the answer (or the error, after
//! the same retries) of the request it asked for, with the same filter, cursor and limit.

use tokio::task::JoinHandle;

use crate::pleo::{ApiError, ApiRequest, PleoClient, Reply};

/// The query parameter that carries a page's cursor.
const CURSOR: &str = "after";

/// What a request sent ahead of the plugin returned, and the retries it took.
pub(super) struct Fetched {
    pub reply: Result<Reply, ApiError>,
    pub retries: u64,
}

/// The read-ahead state of one run.
#[derive(Default)]
pub(super) struct ReadAhead {
    /// The list the plugin is walking.
    walk: Option<Walk>,
    /// The request sent ahead of the plugin, and the task that sends it.
    pending: Option<Pending>,
    /// Requests sent ahead that the plugin did not ask for.
    unused: u64,
}

struct Walk {
    /// The request without its cursor.
    list: ApiRequest,
    /// The cursor of the page the plugin was given last.
    next: String,
    /// Pages in a row the plugin asked for by the cursor of the page before.
    by_cursor: u32,
}

/// Pages asked for by cursor, in a row, before the host reads ahead.
const WALKING: u32 = 2;

struct Pending {
    /// The list (request without cursor) and the cursor the request was sent for.
    list: ApiRequest,
    after: String,
    task: JoinHandle<Fetched>,
}

impl ReadAhead {
    /// The answer to `req` if it was sent ahead; `None` when it was not (send it now). A
    /// request sent ahead for another page of the same list is abandoned.
    pub async fn take(&mut self, req: &ApiRequest) -> Option<Fetched> {
        let list = without_cursor(req);
        if self.pending.as_ref()?.list != list {
            // Another list: the one read ahead may still be asked for after it.
            return None;
        }
        let pending = self.pending.take()?;
        if cursor(req) != Some(pending.after.as_str()) {
            self.abandon(pending);
            return None;
        }
        Some(pending.task.await.unwrap_or_else(|e| Fetched {
            reply: Err(ApiError::Unreachable(format!(
                "the request sent ahead did not finish: {e}"
            ))),
            retries: 0,
        }))
    }

    /// Called with each page the plugin is given: `req` asked for it, `next` is its cursor
    /// to the following page. Sends the following page's request when the plugin is walking
    /// the list.
    pub fn page_given(&mut self, req: &ApiRequest, next: Option<&str>, client: &PleoClient) {
        let list = without_cursor(req);
        let by_cursor = match (&self.walk, cursor(req)) {
            (Some(walk), Some(asked)) if walk.list == list && walk.next == asked => {
                walk.by_cursor + 1
            }
            _ => 0,
        };
        let Some(next) = next else {
            self.walk = None;
            return;
        };
        if by_cursor >= WALKING && self.pending.is_none() {
            let mut request = list.clone();
            request.query.push((CURSOR, next.to_owned()));
            let client = client.clone();
            let task = tokio::spawn(async move {
                let before = client.run_stats().retries;
                let reply = client.exchange(&request).await;
                let retries = client.run_stats().retries.saturating_sub(before);
                Fetched { reply, retries }
            });
            self.pending = Some(Pending {
                list: list.clone(),
                after: next.to_owned(),
                task,
            });
        }
        self.walk = Some(Walk {
            list,
            next: next.to_owned(),
            by_cursor,
        });
    }

    /// Abandons what is still ahead of the plugin (its run is over); how many requests were
    /// sent ahead and never asked for, in all.
    pub fn stop(&mut self) -> u64 {
        if let Some(pending) = self.pending.take() {
            self.abandon(pending);
        }
        self.unused
    }

    fn abandon(&mut self, pending: Pending) {
        pending.task.abort();
        self.unused += 1;
    }
}

impl Drop for ReadAhead {
    fn drop(&mut self) {
        self.stop();
    }
}

fn cursor(req: &ApiRequest) -> Option<&str> {
    req.query
        .iter()
        .find(|(name, _)| *name == CURSOR)
        .map(|(_, value)| value.as_str())
}

fn without_cursor(req: &ApiRequest) -> ApiRequest {
    let mut list = req.clone();
    list.query.retain(|(name, _)| *name != CURSOR);
    list
}
