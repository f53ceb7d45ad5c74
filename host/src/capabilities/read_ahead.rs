//! Read-ahead for plugins that page through a list.
//!
//! Once a plugin has asked for two pages in a row by the `after` cursor of the page before
//! (it is walking the list forward, not looking at its first page or two), the host sends the
//! request for the following page as soon as it has this one, so Pleo works on page N+1 while
//! the plugin works on page N. A page asked for `before` a cursor or at an `offset` is not
//! part of a forward walk: nothing is read ahead from it. Only lists whose scope is a read
//! scope are read ahead: a list request changes nothing, so one the plugin never asks for
//! costs a request and nothing else. At most one request per run is ahead of the plugin.
//!
//! The plugin sees exactly what it would without read-ahead: the answer (or the error, after
//! the same retries) of the request it asked for, with the same filter, cursor and limit, and
//! never a page fetched before one of its own writes.

use tokio::task::JoinHandle;

use crate::pleo::{ApiError, ApiRequest, PleoClient, Reply};

/// The query parameter that carries a page's cursor.
const CURSOR: &str = "after";
/// Query parameters of a page asked for backwards (`before`) or by position (`offset`): such
/// a page is not part of a forward walk, and nothing is read ahead from it.
const NOT_FORWARD: [&str; 2] = ["before", "offset"];

/// What a request returned, and the retries it took.
pub(super) struct Fetched {
    pub reply: Result<Reply, ApiError>,
    pub retries: u64,
}

/// Sends `req` with `client` (a run's client, which counts its retries), now.
pub(super) async fn fetch(client: &PleoClient, req: &ApiRequest) -> Fetched {
    let before = client.run_stats().retries;
    let reply = client.exchange(req).await;
    let retries = client.run_stats().retries.saturating_sub(before);
    Fetched { reply, retries }
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
        if !same_list(&self.pending.as_ref()?.list, req) {
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
        // Only `after` pages walk forward: what follows a `before` or `offset` page is not
        // the page a plugin paging that way asks for next.
        if req.query.iter().any(|(name, _)| NOT_FORWARD.contains(name)) {
            self.walk = None;
            return;
        }
        let by_cursor = match (&self.walk, cursor(req)) {
            (Some(walk), Some(asked)) if walk.next == asked && same_list(&walk.list, req) => {
                walk.by_cursor + 1
            }
            _ => 0,
        };
        let Some(next) = next else {
            self.walk = None;
            return;
        };
        let list = without_cursor(req);
        if by_cursor >= WALKING && self.pending.is_none() {
            let mut request = list.clone();
            request.query.push((CURSOR, next.to_owned()));
            let client = client.clone();
            let task = tokio::spawn(async move { fetch(&client, &request).await });
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

    /// The plugin is about to change something in Pleo: what was read ahead may predate the
    /// change, so it is dropped, and the walk starts over, so a plugin that writes as it walks
    /// is not read ahead for (each write would waste the page read ahead).
    pub fn write_coming(&mut self) {
        self.walk = None;
        if let Some(pending) = self.pending.take() {
            self.abandon(pending);
        }
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

/// Whether `req` asks for a page of `list` (a request without its cursor), compared
/// without copying `req`.
fn same_list(list: &ApiRequest, req: &ApiRequest) -> bool {
    let mut query = req.query.iter().filter(|(name, _)| *name != CURSOR);
    list.method == req.method
        && list.path == req.path
        && list.body == req.body
        && list.idempotent == req.idempotent
        && list.query.iter().eq(&mut query)
}

fn without_cursor(req: &ApiRequest) -> ApiRequest {
    let mut list = req.clone();
    list.query.retain(|(name, _)| *name != CURSOR);
    list
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credential::ApiKey;
    use crate::pleo::ClientOptions;

    /// A client whose requests fail at once, without retries (nothing listens on port 9):
    /// only the bookkeeping of the read-ahead is under test here.
    fn client() -> PleoClient {
        let key = ApiKey::new("read-ahead-test-key").unwrap();
        let mut options = ClientOptions::default();
        options.retry.max_attempts = 1;
        PleoClient::with_options("http://127.0.0.1:9", &key, options).unwrap()
    }

    fn page(after: Option<&str>) -> ApiRequest {
        ApiRequest::get("/v2/employees")
            .query("company_id", "c")
            .query_opt("after", after)
            .query("limit", "10")
    }

    #[tokio::test]
    async fn reads_ahead_from_the_third_page_of_a_walk() {
        let (client, mut ahead) = (client(), ReadAhead::default());
        ahead.page_given(&page(None), Some("c1"), &client);
        ahead.page_given(&page(Some("c1")), Some("c2"), &client);
        assert!(ahead.pending.is_none(), "two pages are not a walk yet");
        ahead.page_given(&page(Some("c2")), Some("c3"), &client);
        assert!(ahead.pending.is_some(), "page 4 is on its way");
        // Another list leaves it waiting; the same list at another cursor abandons it.
        let other = ApiRequest::get("/v1/tax-codes").query("company_id", "c");
        assert!(ahead.take(&other).await.is_none());
        assert!(ahead.pending.is_some());
        assert!(ahead.take(&page(Some("c2"))).await.is_none());
        assert_eq!(ahead.stop(), 1);
    }

    /// A server that answers nothing: it reads one request, hands its request line over and
    /// closes the connection, so the request fails at once (attempts: 1) and the test knows
    /// exactly which page went out.
    async fn silent_server() -> (PleoClient, tokio::sync::mpsc::UnboundedReceiver<String>) {
        use tokio::io::AsyncReadExt;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok((mut conn, _)) = listener.accept().await {
                let mut head = Vec::new();
                let mut buf = [0; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match conn.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&head).into_owned();
                let _ = tx.send(head.lines().next().unwrap_or_default().to_owned());
            }
        });
        let key = ApiKey::new("read-ahead-test-key").unwrap();
        let mut options = ClientOptions::default();
        options.retry.max_attempts = 1;
        (PleoClient::with_options(&url, &key, options).unwrap(), rx)
    }

    #[tokio::test]
    async fn the_page_read_ahead_is_the_one_asked_for_next() {
        let (client, mut requests) = silent_server().await;
        let mut ahead = ReadAhead::default();
        ahead.page_given(&page(None), Some("c1"), &client);
        ahead.page_given(&page(Some("c1")), Some("c2"), &client);
        ahead.page_given(&page(Some("c2")), Some("c3"), &client);
        // The request sent ahead is the next page of the same list: the same filter and
        // limit, the cursor of the page the plugin was given last.
        let sent = requests.recv().await.expect("a request was sent ahead");
        assert_eq!(
            sent,
            "GET /v2/employees?company_id=c&limit=10&after=c3 HTTP/1.1"
        );
        let fetched = ahead.take(&page(Some("c3"))).await.expect("read ahead");
        // The plugin gets what asking itself would have got: the same failure.
        let direct = fetch(&client, &page(Some("c3"))).await;
        assert!(requests.recv().await.unwrap().contains("after=c3"));
        match (&fetched.reply, &direct.reply) {
            (Err(ApiError::Unreachable(ahead)), Err(ApiError::Unreachable(asked))) => {
                assert_eq!(ahead, asked)
            }
            other => panic!("expected the same lost answer: {other:?}"),
        }
        assert_eq!((fetched.retries, direct.retries), (0, 0));
        assert_eq!(ahead.stop(), 0);
        assert!(requests.try_recv().is_err(), "nothing else was sent");
    }

    /// A plugin paging backwards (`before` the previous page's start) or by `offset` is
    /// never read ahead for, however long it goes on; forward paging after it is, as usual.
    #[tokio::test]
    async fn only_forward_paging_is_read_ahead() {
        let (client, mut ahead) = (client(), ReadAhead::default());
        let back = |before: &str| {
            ApiRequest::get("/v2/employees")
                .query("company_id", "c")
                .query("before", before)
                .query("limit", "10")
        };
        // Each page backwards still has a next page (the one the plugin came from).
        for (asked, next) in [("c9", "c8"), ("c8", "c7"), ("c7", "c6"), ("c6", "c5")] {
            ahead.page_given(&back(asked), Some(next), &client);
            assert!(ahead.pending.is_none(), "before {asked}");
            assert!(ahead.walk.is_none(), "before {asked}");
        }
        for offset in ["0", "10", "20", "30"] {
            let at = ApiRequest::get("/v2/employees")
                .query("company_id", "c")
                .query("offset", offset)
                .query("limit", "10");
            ahead.page_given(&at, Some("next"), &client);
            assert!(ahead.pending.is_none(), "offset {offset}");
        }
        // A backward page interrupts a walk forward: it starts over.
        ahead.page_given(&page(None), Some("c1"), &client);
        ahead.page_given(&page(Some("c1")), Some("c2"), &client);
        ahead.page_given(&back("c2"), Some("c2"), &client);
        ahead.page_given(&page(Some("c2")), Some("c3"), &client);
        assert!(ahead.pending.is_none(), "the walk started over");
        ahead.page_given(&page(Some("c3")), Some("c4"), &client);
        ahead.page_given(&page(Some("c4")), Some("c5"), &client);
        assert!(ahead.pending.is_some(), "a forward walk again");
        assert_eq!(ahead.stop(), 1);
    }

    #[tokio::test]
    async fn a_write_drops_the_read_ahead_and_the_walk() {
        let (client, mut ahead) = (client(), ReadAhead::default());
        ahead.page_given(&page(None), Some("c1"), &client);
        ahead.page_given(&page(Some("c1")), Some("c2"), &client);
        ahead.page_given(&page(Some("c2")), Some("c3"), &client);
        ahead.write_coming();
        assert!(ahead.pending.is_none());
        assert!(
            ahead.take(&page(Some("c3"))).await.is_none(),
            "fetched anew"
        );
        // A plugin that writes after every page is never read ahead for.
        for (asked, next) in [("c3", "c4"), ("c4", "c5"), ("c5", "c6")] {
            ahead.page_given(&page(Some(asked)), Some(next), &client);
            assert!(ahead.pending.is_none(), "after {asked}");
            ahead.write_coming();
        }
        assert_eq!(ahead.stop(), 1);
    }
}
