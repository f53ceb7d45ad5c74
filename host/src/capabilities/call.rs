//! The one path of every Pleo call a plugin makes, driven by its row of the call table
//! (`table`): scope check, the request built from the row (method, template filled with checked
//! ids) and the host function's [`Args`], the owner check, the API budget, read-ahead or the
//! client, the answer decoded by the row's shape and checked for its owners, and the audit
//! record, whose method and path are the row's. A host function only says which row and which
//! arguments: the audit cannot name another request than the one sent.
//!
//! Reads and writes part in one place: [`Caps::send_write`] is the only function that sends an
//! operation that changes Pleo.

use std::time::Instant;

use super::paging::{self, Paging};
use super::read_ahead::{self, Fetched};
use super::table::{Effect, Method, Op, Want};
use super::{Caps, HostError, PageRequest, WitPage, host_outcome, invalid, truncate};
use crate::audit::Call;
use crate::pleo::{self, ApiError, ApiRequest};

/// What a host function adds to its row: the ids for the template's placeholders (in order),
/// query parameters and a body. The first argument found wrong is kept, and [`Caps::call`]
/// reports it after the scope check as a refused call: nothing is sent.
#[derive(Default)]
pub(super) struct Args {
    ids: Vec<String>,
    query: Vec<(&'static str, String)>,
    body: Option<serde_json::Value>,
    /// The fields of each object a page keeps (empty: all); not sent to Pleo.
    fields: Vec<String>,
    refused: Option<HostError>,
}

impl Args {
    pub fn new() -> Args {
        Args::default()
    }

    /// Fills the template's first (next) placeholder.
    pub fn id(mut self, id: String) -> Args {
        self.ids.push(id);
        self
    }

    pub fn query(mut self, name: &'static str, value: impl Into<String>) -> Args {
        self.query.push((name, value.into()));
        self
    }

    pub fn query_opt(self, name: &'static str, value: Option<impl Into<String>>) -> Args {
        match value {
            Some(value) => self.query(name, value),
            None => self,
        }
    }

    /// A query parameter that names an object by id: checked like a path id.
    pub fn query_id(self, name: &'static str, id: String) -> Args {
        match checked_id(&id) {
            Ok(_) => self.query(name, id),
            Err(refusal) => self.refuse(refusal),
        }
    }

    /// The JSON body, or why the host refuses to build it.
    pub fn body(mut self, body: Result<serde_json::Value, HostError>) -> Args {
        match body {
            Ok(body) => self.body = Some(body),
            Err(refusal) => return self.refuse(refusal),
        }
        self
    }

    /// Which page of a list, its size and order, as the operation allows (`paging`).
    pub fn page(mut self, page: &PageRequest, paging: &Paging) -> Args {
        match paging::query(page, paging).and_then(|q| Ok((q, paging::fields(page)?))) {
            Ok((query, fields)) => {
                self.query.extend(query);
                self.fields = fields;
                self
            }
            Err(refusal) => self.refuse(refusal),
        }
    }

    /// Refuses the call with this error (the first refusal wins).
    pub(super) fn refuse(mut self, refusal: HostError) -> Args {
        self.refused.get_or_insert(refusal);
        self
    }

    /// The request of `op` with these arguments. Path ids are checked first, then the rest in
    /// the order the host function gave it.
    fn request(self, op: &Op) -> Result<ApiRequest, HostError> {
        let path = fill(op.template, &self.ids)?;
        if let Some(refusal) = self.refused {
            return Err(refusal);
        }
        Ok(ApiRequest {
            method: op.method.http(),
            path,
            query: self.query,
            body: self.body,
            // A POST that only reads (a search, a tax calculation) is as safe to repeat.
            idempotent: op.effect == Effect::Idempotent
                || (op.effect == Effect::Read && op.method == Method::Post),
        })
    }
}

/// Checks an id a plugin passes (or Pleo returns) before it goes into a URL or a body: 1 to 64
/// ASCII letters, digits, `-` and `_`. These are unreserved characters of RFC 3986, so an id
/// needs no percent-encoding, and none can add a path segment, a query, a fragment, a `..` or
/// a `:action` suffix to the template it fills.
pub(super) fn checked_id(id: &str) -> Result<&str, HostError> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_');
    if ok {
        Ok(id)
    } else {
        Err(invalid(format!("`{}` is not a valid id", truncate(id, 80))))
    }
}

/// `template` with each `{name}` replaced by the next of `ids`, each checked. A count that
/// differs from the template's placeholders is a bug of the host function: refused, not sent.
pub(super) fn fill(template: &'static str, ids: &[impl AsRef<str>]) -> Result<String, HostError> {
    let mut path = String::with_capacity(template.len() + 40 * ids.len());
    let mut ids = ids.iter();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let close = rest[open..]
            .find('}')
            .map_or(rest.len(), |close| open + close + 1);
        let id = ids.next().ok_or_else(|| wrong_ids(template))?;
        path.push_str(&rest[..open]);
        path.push_str(checked_id(id.as_ref())?);
        rest = &rest[close..];
    }
    if ids.next().is_some() {
        return Err(wrong_ids(template));
    }
    path.push_str(rest);
    Ok(path)
}

fn wrong_ids(template: &str) -> HostError {
    HostError::Trap(wasmtime::Error::msg(format!(
        "host bug: the ids given do not fill {template}"
    )))
}

/// Why a reply does not reach the plugin: Pleo's answer could not be read, or it holds an
/// object of a company the run may not see.
enum Rejected {
    Api(ApiError),
    Owner(HostError),
}

impl From<ApiError> for Rejected {
    fn from(e: ApiError) -> Self {
        Rejected::Api(e)
    }
}

/// What a successful Pleo call returned.
pub(super) enum Answer {
    Page(crate::pleo::Page),
    Text(String),
    Nothing,
}

impl Caps {
    /// A call whose row answers with a page.
    pub(super) async fn page(
        &mut self,
        op: &'static Op,
        mut args: Args,
    ) -> Result<WitPage, HostError> {
        let fields = std::mem::take(&mut args.fields);
        let Answer::Page(page) = self.call(op, args).await? else {
            return Err(shape_bug(op));
        };
        let data = if fields.is_empty() {
            page.data
        } else {
            pleo_scan::project(&page.data, &fields)
                .map_err(|e| self.api_error(ApiError::Decode(e.to_string())))?
        };
        Ok(WitPage {
            data,
            next_cursor: page.next_cursor,
            prev_cursor: page.prev_cursor,
            total: page.total,
        })
    }

    /// A call whose row answers with JSON text (an object, a list, or the whole answer).
    pub(super) async fn text(&mut self, op: &'static Op, args: Args) -> Result<String, HostError> {
        match self.call(op, args).await? {
            Answer::Text(text) => Ok(text),
            _ => Err(shape_bug(op)),
        }
    }

    /// A call whose row answers with nothing but its status (202/204).
    pub(super) async fn nothing(&mut self, op: &'static Op, args: Args) -> Result<(), HostError> {
        match self.call(op, args).await? {
            Answer::Nothing => Ok(()),
            _ => Err(shape_bug(op)),
        }
    }

    /// Scope, arguments, then the request: everything a Pleo call does, from its row.
    async fn call(&mut self, op: &'static Op, args: Args) -> Result<Answer, HostError> {
        self.require(op)?;
        let request = args.request(op);
        let request = self.refused(op, request)?;
        self.send(op, request).await
    }

    /// Sends one Pleo request for the plugin: owner check, budget, read-ahead or the client,
    /// decoding, owner check of the answer, audit record, error mapping.
    async fn send(&mut self, op: &'static Op, req: ApiRequest) -> Result<Answer, HostError> {
        // The one place a plan run diverts a write (or a read of a planned object).
        if let Some(plan) = &self.plan
            && (op.effect != Effect::Read || plan.mentions_placeholder(&req))
        {
            return self.planned(op, req).await;
        }
        self.check_target(op, &req).await?;
        self.spend_call()?;
        let bytes_out = req.body.as_ref().map_or(0, |b| b.to_string().len() as u64);
        let started = Instant::now();
        let (Fetched { reply, retries }, read_ahead) = match op.effect {
            Effect::Read => self.send_read(op, &req).await,
            Effect::Idempotent | Effect::Once => (self.send_write(op, &req).await, false),
        };
        let latency = started.elapsed();
        let accepted = match reply {
            Ok(reply) => match self.accept(op, &req, &reply.body).await {
                Ok(answer) => Ok((reply.status, answer)),
                Err(Rejected::Owner(refusal)) => {
                    Err((Some(reply.status), Rejected::Owner(refusal)))
                }
                Err(e) => Err((None, e)),
            },
            Err(e) => Err((None, Rejected::Api(e))),
        };
        let mut call = Call {
            interface: op.interface_name(),
            function: op.function,
            scope: Some(op.scope()),
            // The row the request was built from: what the audit says went out, did.
            http: Some((op.method.as_str(), op.template)),
            latency,
            retries,
            read_ahead,
            bytes_out,
            ..Call::default()
        };
        self.totals.api_calls += 1;
        match accepted {
            Ok((status, answer)) => {
                call.status = Some(status);
                call.outcome = "ok";
                if op.effect != Effect::Read {
                    call.object_id = super::planned::written_object(op, &req, &answer);
                }
                call.bytes_in = match &answer {
                    Answer::Page(page) => page.data.len() as u64,
                    Answer::Text(data) => data.len() as u64,
                    Answer::Nothing => 0,
                };
                self.record(call);
                Ok(answer)
            }
            // Another company's object: dropped here, before the plugin sees any of it.
            Err((status, Rejected::Owner(refusal))) => {
                call.status = status;
                call.outcome = host_outcome(&refusal);
                self.record(call);
                Err(refusal)
            }
            Err((_, Rejected::Api(e))) => {
                if let ApiError::Status { status, code, .. } = &e {
                    call.status = Some(*status);
                    call.error_type = Some(code.clone());
                }
                let err = self.api_error(e);
                call.outcome = host_outcome(&err);
                self.record(call);
                Err(err)
            }
        }
    }

    /// What the plugin gets of a successful reply, decoded by the row's shape, once every
    /// object in it is known to belong to an allowed company. A page is read once for its
    /// envelope and its owners together (`pleo_scan`).
    async fn accept(
        &mut self,
        op: &'static Op,
        req: &ApiRequest,
        body: &[u8],
    ) -> Result<Answer, Rejected> {
        let answer = match op.answer {
            Want::Page => {
                let page = pleo::scan_page(body, op.owner_field())?;
                self.read_ahead_from(op, req, page.next_cursor.as_deref());
                self.check_owned(op, page.objects)
                    .await
                    .map_err(Rejected::Owner)?;
                return Ok(Answer::Page(pleo::Page {
                    data: page.data.to_owned(),
                    next_cursor: page.next_cursor,
                    prev_cursor: page.prev_cursor,
                    total: page.total,
                }));
            }
            Want::Object => Answer::Text(pleo::decode_object(body)?),
            Want::List => Answer::Text(pleo::decode_list(body)?),
            Want::Json => Answer::Text(pleo::decode_json_object(body)?),
            // Whatever a 2xx carries here (Pleo documents none) is not the plugin's.
            Want::Nothing => Answer::Nothing,
        };
        self.check_answer(op, &answer)
            .await
            .map_err(Rejected::Owner)?;
        Ok(answer)
    }

    /// A read: the page read ahead for it if there is one, else sent now. `true` when it was
    /// read ahead.
    async fn send_read(&mut self, op: &Op, req: &ApiRequest) -> (Fetched, bool) {
        let ahead = match op.answer {
            Want::Page => self.read_ahead.take(req).await,
            _ => None,
        };
        match ahead {
            Some(fetched) => (fetched, true),
            None => (read_ahead::fetch(&self.client, req).await, false),
        }
    }

    /// Every operation that changes something in Pleo is sent here and nowhere else (the owner
    /// lookups before it are reads). A plan mode, which records each write and answers it
    /// without sending, replaces this one function.
    async fn send_write(&mut self, op: &Op, req: &ApiRequest) -> Fetched {
        debug_assert_ne!(op.effect, Effect::Read, "{} is a read", op.function);
        // What was read ahead may predate this write: dropped, and the walk starts over.
        self.read_ahead.write_coming();
        read_ahead::fetch(&self.client, req).await
    }

    /// Lets the read-ahead fetch the page after this one, if the operator allows it, the
    /// list is only read, and the run's budget has room for the plugin to ask for it.
    fn read_ahead_from(&mut self, op: &Op, req: &ApiRequest, next: Option<&str>) {
        let allowed = self.client.options().read_ahead
            && op.effect == Effect::Read
            && self.api_calls < self.api_budget;
        if allowed {
            self.read_ahead.page_given(req, next, &self.client);
        }
    }
}

/// A host function that expects another answer than its row gives: a bug of the host.
fn shape_bug(op: &Op) -> HostError {
    HostError::Trap(wasmtime::Error::msg(format!(
        "host bug: {} answers {:?}, not what its host function expects",
        op.function, op.answer
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_fill_the_template_in_order() {
        assert_eq!(
            fill("/v1/vendors/{id}:archive", &["v-1"]).unwrap(),
            "/v1/vendors/v-1:archive"
        );
        assert_eq!(
            fill(
                "/v1/accounting-entries/{accountingEntryId}/receipts/{receiptId}",
                &["e_1", "R2"]
            )
            .unwrap(),
            "/v1/accounting-entries/e_1/receipts/R2"
        );
        let none: [&str; 0] = [];
        assert_eq!(fill("/v2/employees", &none).unwrap(), "/v2/employees");
    }

    /// An id is the plugin's: whatever it holds, the path keeps the template's segments, and
    /// no id adds a segment, a query, a fragment, a dot segment or an action.
    #[test]
    fn hostile_ids_are_refused() {
        let hostile = [
            "",
            ".",
            "..",
            "../companies",
            "a/b",
            "a\\b",
            "a?b=1",
            "a#b",
            "a b",
            "%2e%2e",
            "a%2Fb",
            "v1:archive",
            "a;b",
            "a\0",
            "a\n",
            "é",
            "\u{202e}abc",
            &"x".repeat(65),
        ];
        for id in hostile {
            match fill("/v1/vendors/{id}", &[id]) {
                Err(HostError::Guest(_)) => {}
                other => panic!("{id:?} was not refused: {:?}", other.map_err(|_| ())),
            }
        }
        assert!(fill("/v1/vendors/{id}", &["x".repeat(64)]).is_ok());
    }

    /// Too few or too many ids for a template is the host's bug: a trap, never a request.
    #[test]
    fn a_wrong_id_count_traps() {
        let none: [&str; 0] = [];
        assert!(matches!(
            fill("/v1/vendors/{id}", &none),
            Err(HostError::Trap(_))
        ));
        assert!(matches!(
            fill("/v1/vendors", &["a"]),
            Err(HostError::Trap(_))
        ));
    }

    /// The first wrong argument is what the plugin hears of, path ids before the rest.
    #[test]
    fn arguments_are_checked_before_a_request_exists() {
        let op = &super::super::table::LIST_RECEIPTS;
        let bad_cursor = PageRequest {
            after: Some("a b".into()),
            before: None,
            offset: None,
            limit: None,
            sorting: Vec::new(),
            fields: Vec::new(),
        };
        let refused = |args: Args| match args.request(op) {
            Err(HostError::Guest(e)) => format!("{e:?}"),
            other => panic!("not refused: {:?}", other.map(|r| r.path)),
        };
        let both = Args::new()
            .id("../x".into())
            .page(&bad_cursor, &paging::RECEIPTS);
        assert!(refused(both).contains("not a valid id"));
        let cursor = Args::new()
            .id("e1".into())
            .page(&bad_cursor, &paging::RECEIPTS);
        assert!(refused(cursor).contains("cursor"));
        let ok = Args::new()
            .id("e1".into())
            .query("file_type", "ORIGINAL")
            .page(
                &PageRequest {
                    after: Some("c1".into()),
                    before: None,
                    offset: None,
                    limit: Some(1000),
                    sorting: Vec::new(),
                    fields: Vec::new(),
                },
                &paging::RECEIPTS,
            )
            .request(op)
            .map_err(|_| ())
            .unwrap();
        assert_eq!(ok.path, "/v1/accounting-entries/e1/receipts");
        assert_eq!(ok.method, reqwest::Method::GET);
        assert_eq!(
            ok.query,
            vec![
                ("file_type", "ORIGINAL".to_owned()),
                ("after", "c1".to_owned()),
                ("limit", "100".to_owned())
            ]
        );
        assert!(!ok.idempotent);
    }
}
