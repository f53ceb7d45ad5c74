//! Test-only plugin for the conformance test: it calls every function of every Pleo interface
//! at least once, with valid inputs taken from the mock's own data (a list first, then a get by
//! an id from that list; writes with plausible bodies; the whole export flow), plus a few calls
//! that must fail (an unknown id, more than 100 item updates, a second job in progress, a
//! finished job, a duplicate vendor, a linked account). The test then checks what went over
//! the wire against Pleo's OpenAPI documents.
//!
//! It writes `/out/tour.json`: `{steps: [{interface, function, note, expect, outcome, status,
//! detail, met}], unexpected}`, where `expect` is `ok` or the `pleo-error` case the call must
//! end in, `outcome` what it ended in, and `met` whether they agree. It returns `ok` even when
//! some step was not as expected, so the test sees every step.

use std::fmt::Display;

use pleo_plugin::bindings::pleo::plugin as wit;
use pleo_plugin::{Guest, Page, PageRequest, PleoError};
use serde::Serialize;
use serde_json::Value;

/// A well-formed id that no mock object has.
const UNKNOWN_ID: &str = "00000000-0000-4000-8000-000000000000";
/// Small pages, so that every list operation is also asked for a second page.
const PAGE: u32 = 3;

#[derive(Serialize)]
struct Step {
    interface: &'static str,
    function: &'static str,
    note: String,
    expect: &'static str,
    outcome: &'static str,
    /// The HTTP status of an `invalid-request` or `conflict`, when the error carries one.
    status: Option<u16>,
    detail: String,
    met: bool,
}

#[derive(Default)]
struct Tour {
    steps: Vec<Step>,
}

impl Tour {
    /// Makes one call that must succeed; its value, if it did.
    fn ok<T>(
        &mut self,
        interface: &'static str,
        function: &'static str,
        note: impl Display,
        call: impl FnOnce() -> Result<T, PleoError>,
    ) -> Option<T> {
        self.call(interface, function, note, "ok", call)
    }

    /// Makes one call that must fail with the `pleo-error` case `expect` (e.g. `not-found`).
    fn fails<T>(
        &mut self,
        interface: &'static str,
        function: &'static str,
        note: impl Display,
        expect: &'static str,
        call: impl FnOnce() -> Result<T, PleoError>,
    ) {
        self.call(interface, function, note, expect, call);
    }

    fn call<T>(
        &mut self,
        interface: &'static str,
        function: &'static str,
        note: impl Display,
        expect: &'static str,
        call: impl FnOnce() -> Result<T, PleoError>,
    ) -> Option<T> {
        let result = call();
        let (outcome, status, detail) = match &result {
            Ok(_) => ("ok", None, String::new()),
            Err(e) => (e.case(), status(e), e.to_string()),
        };
        self.steps.push(Step {
            interface,
            function,
            note: note.to_string(),
            expect,
            outcome,
            status,
            detail,
            met: outcome == expect,
        });
        result.ok()
    }

    /// Checks that the answer of the last call of `function` holds what was written (or read
    /// before): if not, that step is not met. Not a step of its own, as it makes no call.
    fn agrees(&mut self, function: &'static str, what: &str, agree: bool) {
        if agree {
            return;
        }
        match self.steps.iter_mut().rev().find(|s| s.function == function) {
            Some(step) => {
                step.outcome = "differs";
                step.met = false;
                step.detail = format!("the answer differs: {what}");
            }
            None => self.skipped("checks", function, what),
        }
    }

    /// A step that could not be made because an earlier one gave nothing to work with.
    fn skipped(&mut self, interface: &'static str, function: &'static str, why: &str) {
        self.steps.push(Step {
            interface,
            function,
            note: String::new(),
            expect: "ok",
            outcome: "skipped",
            status: None,
            detail: why.to_owned(),
            met: false,
        });
    }

    /// A list operation: the first page, then the second one if there is one, and from the
    /// second the first again, backwards (`before` its `prev-cursor`). The items of the first
    /// two pages.
    fn list(
        &mut self,
        interface: &'static str,
        function: &'static str,
        note: impl Display,
        mut fetch: impl FnMut(&PageRequest) -> Result<Page, PleoError>,
    ) -> Vec<Value> {
        let note = note.to_string();
        let first = PageRequest::first(PAGE);
        let Some(page) = self.ok(interface, function, &note, || fetch(&first)) else {
            return Vec::new();
        };
        let mut items = items(&page.data);
        if let Some(cursor) = page.next_cursor {
            let second = PageRequest::after(cursor, PAGE);
            let second_note = format!("{note}, second page");
            if let Some(page) = self.ok(interface, function, second_note, || fetch(&second)) {
                let more = self::items(&page.data);
                match page.prev_cursor {
                    Some(cursor) => {
                        let back = PageRequest::before(cursor, PAGE);
                        let back_note = format!("{note}, back to the first page");
                        self.same(interface, function, back_note, &items, || fetch(&back));
                    }
                    None => self.held(false, "the second page has no prev-cursor"),
                }
                items.extend(more);
            }
        }
        items
    }

    /// Makes one call that must give a page of the objects `want` (compared by `id`).
    fn same(
        &mut self,
        interface: &'static str,
        function: &'static str,
        note: impl Display,
        want: &[Value],
        call: impl FnOnce() -> Result<Page, PleoError>,
    ) {
        if let Some(page) = self.ok(interface, function, note, call) {
            let (got, want) = (keys(&items(&page.data)), keys(want));
            self.held(got == want, format_args!("got {got:?}, wanted {want:?}"));
        }
    }

    /// Marks the last step `mismatch` unless `held`: what it gave, with the calls before it,
    /// is not what paging promises.
    fn held(&mut self, held: bool, detail: impl Display) {
        if held {
            return;
        }
        if let Some(step) = self.steps.last_mut() {
            step.outcome = "mismatch";
            step.met = false;
            step.detail = detail.to_string();
        }
    }

    /// Every page of a list, from `first` on by each page's `next-cursor` (`next` makes the
    /// request for it); `None` when a call failed or the list did not end.
    fn walk(
        &mut self,
        interface: &'static str,
        function: &'static str,
        note: &str,
        first: PageRequest,
        next: impl Fn(String) -> PageRequest,
        mut fetch: impl FnMut(&PageRequest) -> Result<Page, PleoError>,
    ) -> Option<Vec<Vec<Value>>> {
        let mut pages = Vec::new();
        let mut request = first;
        while pages.len() < MAX_WALK {
            let page_note = format!("{note}, page {}", pages.len() + 1);
            let page = self.ok(interface, function, page_note, || fetch(&request))?;
            pages.push(items(&page.data));
            match page.next_cursor {
                Some(cursor) => request = next(cursor),
                None => return Some(pages),
            }
        }
        self.held(false, format_args!("{note}: the list did not end"));
        None
    }
}

/// Most pages a walk of the tour asks for (the mock's lists are far shorter).
const MAX_WALK: usize = 200;

/// What identifies each object of a page: its `id`, or the whole object if it has none.
fn keys(items: &[Value]) -> Vec<Value> {
    items
        .iter()
        .map(|item| item.get("id").cloned().unwrap_or_else(|| item.clone()))
        .collect()
}

fn status(e: &PleoError) -> Option<u16> {
    match e {
        PleoError::Conflict(api) | PleoError::InvalidRequest(api) => Some(api.status),
        _ => None,
    }
}

/// The objects of a JSON array (a page's `data`, or a list Pleo does not paginate).
fn items(json: &str) -> Vec<Value> {
    match serde_json::from_str(json) {
        Ok(Value::Array(items)) => items,
        _ => Vec::new(),
    }
}

/// A field of a JSON object as text.
fn text(object: &Value, field: &str) -> Option<String> {
    object.get(field)?.as_str().map(str::to_owned)
}

/// The `id` of a JSON object given as text (what the get/create functions return).
fn id_of(json: &str) -> Option<String> {
    text(&serde_json::from_str::<Value>(json).ok()?, "id")
}

fn first_id(items: &[Value]) -> Option<String> {
    items.iter().find_map(|item| text(item, "id"))
}

/// `field` (`tagId`, `tagGroupId`) of each of an entry's tags that has it.
fn tag_ids(entry: &Value, field: &str) -> Vec<String> {
    let tags = entry.get("tags").and_then(Value::as_array);
    tags.into_iter()
        .flatten()
        .filter_map(|tag| text(tag, field))
        .collect()
}

fn export_status(name: &str) -> Option<wit::accounting_entries_read::ExportStatus> {
    use wit::accounting_entries_read::ExportStatus as S;
    let all = [
        ("CREATED", S::Created),
        ("EXPORTED", S::Exported),
        ("EXPORTING", S::Exporting),
        ("NOT_CREATED", S::NotCreated),
        ("NOT_EXPORTED", S::NotExported),
        ("QUEUED", S::Queued),
    ];
    all.into_iter().find(|(n, _)| *n == name).map(|(_, s)| s)
}

fn review_status(name: &str) -> Option<wit::accounting_entries_read::ReviewStatus> {
    use wit::accounting_entries_read::ReviewStatus as S;
    let all = [
        ("NOT_OK", S::NotOk),
        ("NOT_REQUIRED", S::NotRequired),
        ("NOT_SET", S::NotSet),
        ("OK", S::Ok),
        ("WAITING_FOR_EXPENSE_OWNER", S::WaitingForExpenseOwner),
        ("WAITING_FOR_REVIEWER", S::WaitingForReviewer),
        ("WAITING_FOR_COMPANY_REVIEWER", S::WaitingForCompanyReviewer),
        ("WAITING_FOR_TEAM_REVIEWER", S::WaitingForTeamReviewer),
        ("WAITING_FOR_TAG_REVIEWER", S::WaitingForTagReviewer),
    ];
    all.into_iter().find(|(n, _)| *n == name).map(|(_, s)| s)
}

fn sub_family(name: &str) -> Option<wit::accounting_entries_read::SubFamily> {
    use wit::accounting_entries_read::SubFamily as S;
    let all = [
        ("ATM", S::Atm),
        ("IN_STORE", S::InStore),
        ("ONLINE", S::Online),
        ("PLEO_INVOICE", S::PleoInvoice),
        ("PLEO_INVOICE_REFUND", S::PleoInvoiceRefund),
        ("REIMBURSEMENT_TO_COMPANY", S::ReimbursementToCompany),
        ("REIMBURSEMENT_TO_EMPLOYEE", S::ReimbursementToEmployee),
        (
            "REIMBURSEMENT_TO_EMPLOYEE_REFUND",
            S::ReimbursementToEmployeeRefund,
        ),
        ("LOAD", S::Load),
        ("UNLOAD", S::Unload),
        ("WITHDRAWAL", S::Withdrawal),
        ("FEE", S::Fee),
        ("INTEREST", S::Interest),
        (
            "BILL_INVOICE_PAYMENT_RETURNED",
            S::BillInvoicePaymentReturned,
        ),
        (
            "BILL_INVOICE_PAYMENT_RECEIVED",
            S::BillInvoicePaymentReceived,
        ),
    ];
    all.into_iter().find(|(n, _)| *n == name).map(|(_, s)| s)
}

struct ApiTour;

impl Guest for ApiTour {
    fn run() -> Result<String, String> {
        let mut tour = Tour::default();
        users(&mut tour);
        paging(&mut tour);
        companies(&mut tour);
        let entries = accounting_entries(&mut tour);
        receipts(&mut tour, &entries);
        export(&mut tour, &entries);
        vendors(&mut tour);
        accounts(&mut tour, &entries);
        tags(&mut tour);
        tag_dimensions(&mut tour);
        tax_codes(&mut tour);

        let unexpected = tour.steps.iter().filter(|s| !s.met).count();
        let report = serde_json::json!({ "steps": tour.steps, "unexpected": unexpected });
        let text = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
        std::fs::write("/out/tour.json", text).map_err(|e| format!("writing tour.json: {e}"))?;
        Ok(format!(
            "api tour: {} calls, {unexpected} not as expected",
            tour.steps.len()
        ))
    }
}

pleo_plugin::export_plugin!(ApiTour);

fn users(tour: &mut Tour) {
    use wit::users_read::{self as api, EmployeeQuery};
    const I: &str = "users-read";
    let all = EmployeeQuery {
        email: None,
        code: None,
    };
    let employees = tour.list(I, "list-employees", "all", |page| {
        api::list_employees(&all, page)
    });
    let Some(employee) = employees.first() else {
        return tour.skipped(I, "get-employee", "no employees listed");
    };
    if let Some(id) = text(employee, "id") {
        tour.ok(I, "get-employee", &id, || api::get_employee(&id));
    }
    if let Some(email) = text(employee, "email") {
        let by_email = EmployeeQuery {
            email: Some(email.clone()),
            code: None,
        };
        tour.list(I, "list-employees", format!("email {email}"), |page| {
            api::list_employees(&by_email, page)
        });
    }
    tour.fails(I, "get-employee", "unknown id", "not-found", || {
        api::get_employee(UNKNOWN_ID)
    });
}

/// Paging beyond the first two pages, on the employees (50 in the mock, `PAGE` a page): a
/// walk backwards (`before`) from the last page gives the objects of the walk forward, each
/// `offset` page is the cursor walk's page, a walk sorted by `id` descending gives the ids in
/// that order; and the page requests the host refuses before sending.
fn paging(tour: &mut Tour) {
    use pleo_plugin::SortOrder;
    use wit::accounting_entries_read::{self as entries, EntryFilter, SortKey, Sorting};
    use wit::users_read::{self as api, EmployeeQuery};
    const I: &str = "users-read";
    const F: &str = "list-employees";
    let all = EmployeeQuery {
        email: None,
        code: None,
    };
    let fetch = |page: &PageRequest| api::list_employees(&all, page);
    let after = |cursor: String| PageRequest::after(cursor, PAGE);
    let Some(forward) = tour.walk(I, F, "walk forward", PageRequest::first(PAGE), after, fetch)
    else {
        return;
    };
    let forward_keys: Vec<Value> = forward.iter().flat_map(|page| keys(page)).collect();
    tour.held(forward.len() > 2, "the walk forward has fewer than 3 pages");

    // Backwards: from the last page, `before` each page's `prev-cursor` until the first.
    let last = PageRequest::at_offset((forward.len() as u32 - 1) * PAGE, PAGE);
    let Some(page) = tour.ok(I, F, "the last page, by offset", || fetch(&last)) else {
        return;
    };
    let mut backward = vec![items(&page.data)];
    let mut cursor = page.prev_cursor;
    while let Some(c) = cursor.take() {
        let note = format!("walk backwards, page {}", backward.len() + 1);
        let Some(page) = tour.ok(I, F, note, || fetch(&PageRequest::before(c, PAGE))) else {
            return;
        };
        backward.push(items(&page.data));
        if backward.len() < MAX_WALK {
            cursor = page.prev_cursor;
        }
    }
    // Checked on the walk's last step: backwards, the same objects in the same order.
    let backward_keys: Vec<Value> = backward.iter().rev().flat_map(|page| keys(page)).collect();
    tour.held(
        backward_keys == forward_keys,
        format_args!("backwards {backward_keys:?}, forwards {forward_keys:?}"),
    );

    // By offset: the page at `i * PAGE` is the walk's page `i`.
    for (i, page) in forward.iter().enumerate() {
        let at = PageRequest::at_offset(i as u32 * PAGE, PAGE);
        tour.same(I, F, format!("offset {}", i as u32 * PAGE), page, || {
            fetch(&at)
        });
    }

    // Sorted: every page asked by `id` descending.
    let desc = |request: PageRequest| request.sorted_by("id", SortOrder::Desc);
    let first = desc(PageRequest::first(PAGE));
    let next = |cursor: String| desc(PageRequest::after(cursor, PAGE));
    if let Some(sorted) = tour.walk(I, F, "walk by id descending", first, next, fetch) {
        let got: Vec<Value> = sorted.iter().flat_map(|page| keys(page)).collect();
        let mut want = forward_keys.clone();
        want.sort_by(|a, b| b.as_str().cmp(&a.as_str()));
        tour.held(got == want, format_args!("not by id descending: {got:?}"));
    }

    // Only some fields: each object of the first page is the walk's, with just those fields
    // (an object without `email` has none; the others are dropped by the host).
    let only = PageRequest::first(PAGE).only(&["id", "email"]);
    if let Some(page) = tour.ok(I, F, "the first page, only id and email", || fetch(&only)) {
        let got = items(&page.data);
        let want: Vec<Value> = forward[0]
            .iter()
            .map(|item| {
                let kept = ["id", "email"].map(|k| (k, item.get(k)));
                let kept = kept.into_iter().filter_map(|(k, v)| Some((k.to_owned(), v?.clone())));
                Value::Object(kept.collect())
            })
            .collect();
        tour.held(
            got == want && !got.is_empty(),
            format_args!("got {got:?}, wanted {want:?}"),
        );
    }
    let bad_field = PageRequest::first(PAGE).only(&["email\"]"]);
    tour.fails(I, F, "a field that is no field name", "invalid-request", || {
        fetch(&bad_field)
    });

    // Refused by the host, nothing sent: two positions, a key that is no field name.
    let two = PageRequest {
        before: Some("AAAA".into()),
        ..PageRequest::after("AAAA", PAGE)
    };
    tour.fails(I, F, "after and before", "invalid-request", || fetch(&two));
    let two = PageRequest {
        offset: Some(3),
        ..PageRequest::after("AAAA", PAGE)
    };
    tour.fails(I, F, "after and offset", "invalid-request", || fetch(&two));
    let bad_key = PageRequest::first(PAGE).sorted_by("lastName&limit=1000", SortOrder::Asc);
    tour.fails(
        I,
        F,
        "a sort key that is no field name",
        "invalid-request",
        || fetch(&bad_key),
    );

    // The accounting entries page by cursor only and sort by the keys Pleo lists.
    const E: &str = "accounting-entries-read";
    let none = EntryFilter::default();
    let at = PageRequest::at_offset(3, PAGE);
    tour.fails(E, "search-entries", "by offset", "invalid-request", || {
        entries::search_entries(&none, None, &at)
    });
    let by_name = PageRequest::first(PAGE).sorted_by("name", SortOrder::Asc);
    tour.fails(
        E,
        "search-entries",
        "sorted by name",
        "invalid-request",
        || entries::search_entries(&none, None, &by_name),
    );
    let by_id = PageRequest::first(PAGE).sorted_by("id", SortOrder::Desc);
    let sort = Some(Sorting {
        key: SortKey::Id,
        descending: true,
        nulls: None,
    });
    tour.fails(
        E,
        "search-entries",
        "sort and sorting",
        "invalid-request",
        || entries::search_entries(&none, sort, &by_id),
    );
    let Some(page) = tour.ok(E, "search-entries", "sorted by id descending", || {
        entries::search_entries(&none, None, &by_id)
    }) else {
        return;
    };
    let got = keys(&items(&page.data));
    let mut want = got.clone();
    want.sort_by(|a, b| b.as_str().cmp(&a.as_str()));
    tour.held(got == want, format_args!("not by id descending: {got:?}"));
}

fn companies(tour: &mut Tour) {
    use wit::companies_read as api;
    const I: &str = "companies-read";
    let companies = tour.list(I, "list-companies", "all", api::list_companies);
    match first_id(&companies) {
        Some(id) => {
            tour.ok(I, "get-company", &id, || api::get_company(&id));
        }
        None => tour.skipped(I, "get-company", "no companies listed"),
    }
    tour.fails(I, "get-company", "unknown id", "not-found", || {
        api::get_company(UNKNOWN_ID)
    });
}

/// Searches and gets accounting entries; the entries found, for the later families.
fn accounting_entries(tour: &mut Tour) -> Vec<Value> {
    use wit::accounting_entries_read::{
        self as api, DateField, DateRange, EntryFilter, Nulls, SortKey, Sorting,
    };
    const I: &str = "accounting-entries-read";
    let all = EntryFilter::default();
    let newest = Some(Sorting {
        key: SortKey::PerformedAt,
        descending: true,
        nulls: None,
    });
    let mut entries = tour.list(I, "search-entries", "newest first", |page| {
        api::search_entries(&all, newest, page)
    });
    let Some(entry) = entries.first().cloned() else {
        tour.skipped(I, "get-entry", "no entries found");
        return entries;
    };
    if let Some(id) = text(&entry, "id") {
        tour.ok(I, "get-entry", &id, || api::get_entry(&id, false));
        tour.ok(I, "get-entry-core", &id, || api::get_entry_core(&id, true));
    }
    // Every filter the interface has, built from the entry just found, so it matches.
    let performed = text(&entry, "performedAt").unwrap_or_default();
    let day = performed.get(..10).unwrap_or("2025-01-01").to_owned();
    let filtered = EntryFilter {
        include_deleted: true,
        date_range: Some(DateRange {
            field: DateField::PerformedAt,
            start: Some(format!("{day}T00:00:00Z")),
            end: Some(format!("{day}T23:59:59Z")),
        }),
        employee_ids: text(&entry, "employeeId").into_iter().collect(),
        account_ids: text(&entry, "accountId").into_iter().collect(),
        families: text(&entry, "family").into_iter().collect(),
        statuses: text(&entry, "status").into_iter().collect(),
        currencies: entry
            .pointer("/transactionValue/currency")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .into_iter()
            .collect(),
        export_statuses: text(&entry, "exportStatus")
            .and_then(|s| export_status(&s))
            .into_iter()
            .collect(),
        review_statuses: text(&entry, "reviewStatus")
            .and_then(|s| review_status(&s))
            .into_iter()
            .collect(),
        sub_families: text(&entry, "subFamily")
            .and_then(|s| sub_family(&s))
            .into_iter()
            .collect(),
        team_ids: text(&entry, "teamId").into_iter().collect(),
        tax_code_ids: text(&entry, "taxCodeId").into_iter().collect(),
        tag_row_ids: tag_ids(&entry, "tagId"),
        tag_group_ids_unset: Vec::new(),
        foreign_extension_ids: Vec::new(),
        settled: Some(entry.get("settledAt").is_some()),
        has_account: Some(entry.get("accountId").is_some()),
        has_note: Some(entry.get("note").is_some_and(|n| n.as_str() != Some(""))),
        has_bookkeeping_date: Some(entry.get("bookkeepingDate").is_some()),
    };
    let by_id = Some(Sorting {
        key: SortKey::Id,
        descending: false,
        nulls: None,
    });
    let more = tour.list(I, "search-entries", "every filter", |page| {
        api::search_entries(&filtered, by_id, page)
    });
    entries.extend(more);
    // The filters an entry is found by absence, and the orders that place missing values.
    let unset = EntryFilter {
        tag_group_ids_unset: tag_ids(&entry, "tagGroupId"),
        foreign_extension_ids: vec!["api-tour-1".to_owned()],
        ..EntryFilter::default()
    };
    for (case, key, descending, nulls) in [
        (
            "unset, unsettled first",
            SortKey::SettledAt,
            false,
            Nulls::First,
        ),
        (
            "unset, unbooked last",
            SortKey::BookkeepingDate,
            true,
            Nulls::Last,
        ),
    ] {
        let sort = Some(Sorting {
            key,
            descending,
            nulls: Some(nulls),
        });
        tour.list(I, "search-entries", case, |page| {
            api::search_entries(&unset, sort, page)
        });
    }
    // Entries with receipts and accounts, for the receipts and accounts families.
    let with_receipts = Some(Sorting {
        key: SortKey::SettledAt,
        descending: false,
        nulls: None,
    });
    let settled = tour.list(I, "search-entries", "oldest settled first", |page| {
        api::search_entries(&all, with_receipts, page)
    });
    entries.extend(settled);
    tour.fails(I, "get-entry", "unknown id", "not-found", || {
        api::get_entry(UNKNOWN_ID, false)
    });
    entries
}

fn receipts(tour: &mut Tour, entries: &[Value]) {
    use wit::accounting_entries_read::{self as api, FileType, ReceiptFilter};
    const I: &str = "accounting-entries-read";
    let entry = entries.iter().find(|e| {
        e.get("receiptIds")
            .and_then(Value::as_array)
            .is_some_and(|ids| !ids.is_empty())
    });
    let Some(entry_id) = entry.and_then(|e| text(e, "id")) else {
        tour.skipped(I, "list-receipts", "no entry with receipts found");
        return;
    };
    let receipts = tour.list(I, "list-receipts", &entry_id, |page| {
        api::list_receipts(&entry_id, None, &[], page)
    });
    match first_id(&receipts) {
        Some(receipt_id) => {
            tour.ok(I, "get-receipt", &receipt_id, || {
                api::get_receipt(&entry_id, &receipt_id, Some(FileType::Original))
            });
        }
        None => tour.skipped(I, "get-receipt", "no receipts listed"),
    }
    // The source and MIME type filters, from the first receipt, so they match it.
    if let Some(receipt) = receipts.first() {
        let sources: Vec<String> = text(receipt, "source").into_iter().collect();
        let found = tour.list(I, "list-receipts", "by source", |page| {
            api::list_receipts(&entry_id, None, &sources, page)
        });
        let matched = found
            .iter()
            .all(|r| text(r, "source") == sources.first().cloned());
        if found.is_empty() || !matched {
            tour.skipped(
                I,
                "list-receipts",
                "the source filter did not give that source only",
            );
        }
    }
    let filter = ReceiptFilter {
        include_deleted: false,
        accounting_entry_ids: vec![entry_id.clone()],
        employee_ids: Vec::new(),
        file_type: Some(FileType::Thumbnail),
        mime_types: Vec::new(),
        sources: Vec::new(),
    };
    tour.list(I, "search-receipts", "by entry", |page| {
        api::search_receipts(&filter, page)
    });
    if let Some(receipt) = receipts.first() {
        // Across the company, so that a filter left out would let other kinds through.
        let kind = |r: &Value| (text(r, "mimeType"), text(r, "source"));
        let by_kind = ReceiptFilter {
            accounting_entry_ids: Vec::new(),
            mime_types: text(receipt, "mimeType").into_iter().collect(),
            sources: text(receipt, "source").into_iter().collect(),
            file_type: None,
            ..filter.clone()
        };
        let found = tour.list(I, "search-receipts", "by MIME type and source", |page| {
            api::search_receipts(&by_kind, page)
        });
        if found.is_empty() || !found.iter().all(|r| kind(r) == kind(receipt)) {
            tour.skipped(
                I,
                "search-receipts",
                "the MIME type and source filters did not give that kind only",
            );
        }
    }
    tour.fails(I, "get-receipt", "unknown receipt", "not-found", || {
        api::get_receipt(&entry_id, UNKNOWN_ID, None)
    });
}

/// The export flow of Pleo's how-to: list pending jobs, claim the oldest with `started`, read
/// its items and export items, report every item, finish with `completed`; then the calls a
/// finished job must refuse, and a job of our own.
fn export(tour: &mut Tour, entries: &[Value]) {
    use wit::export_items_read as items_api;
    use wit::export_jobs_read as read;
    use wit::export_jobs_write::{self as write, ItemUpdate, JobEvent, NewExportJob};
    use wit::types::{ItemStatus, JobEventKind, JobStatus};
    const R: &str = "export-jobs-read";
    const W: &str = "export-jobs-write";
    const X: &str = "export-items-read";

    let event = |job_id: &str, event: JobEventKind| JobEvent {
        job_id: job_id.to_owned(),
        event,
        failure_reason: None,
        failure_reason_type: None,
    };

    let mut jobs = tour.list(R, "list-export-jobs", "pending", |page| {
        read::list_export_jobs(&[JobStatus::Pending], page)
    });
    tour.list(R, "list-export-jobs", "any status", |page| {
        read::list_export_jobs(&[], page)
    });
    // The oldest pending job, as the how-to says.
    jobs.sort_by_key(|job| text(job, "createdAt"));
    let Some(job_id) = first_id(&jobs) else {
        return tour.skipped(R, "get-export-job", "no pending export job");
    };
    tour.ok(R, "get-export-job", &job_id, || {
        read::get_export_job(&job_id)
    });
    tour.ok(W, "post-export-job-event", "started", || {
        write::post_export_job_event(&event(&job_id, JobEventKind::Started))
    });
    // Only one job may be in progress per company.
    let another = NewExportJob {
        accounting_entry_ids: entries
            .iter()
            .filter_map(|e| text(e, "id"))
            .take(1)
            .collect(),
        employee_id: None,
        is_interactive: None,
        vendor_based_bookkeeping: None,
    };
    tour.fails(
        W,
        "create-export-job",
        "while a job is in progress",
        "conflict",
        || write::create_export_job(&another),
    );
    let job_items = tour.list(R, "list-export-job-items", &job_id, |page| {
        read::list_export_job_items(&job_id, None, page)
    });
    tour.list(R, "list-export-job-items", "in progress only", |page| {
        read::list_export_job_items(&job_id, Some(ItemStatus::InProgress), page)
    });
    tour.list(X, "list-export-items", &job_id, |page| {
        items_api::list_export_items(&job_id, page)
    });
    match job_items
        .first()
        .and_then(|item| text(item, "accountingEntryId"))
    {
        Some(entry_id) => {
            tour.ok(R, "get-export-job-item", &entry_id, || {
                read::get_export_job_item(&entry_id)
            });
        }
        None => tour.skipped(R, "get-export-job-item", "the job has no items"),
    }
    tour.fails(
        R,
        "get-export-job-item",
        "an entry in no job",
        "not-found",
        || read::get_export_job_item(UNKNOWN_ID),
    );

    // Every item of the job, through the SDK's pager, so that the job can be completed.
    let mut entry_ids: Vec<String> = job_items
        .iter()
        .filter_map(|item| text(item, "accountingEntryId"))
        .collect();
    let all_items = pleo_plugin::pages::<Value, _>(100, |page| {
        read::list_export_job_items(&job_id, None, page)
    });
    entry_ids.extend(
        all_items
            .items()
            .filter_map(Result::ok)
            .filter_map(|item| text(&item, "accountingEntryId")),
    );
    entry_ids.sort();
    entry_ids.dedup();
    let update = |id: &String| ItemUpdate {
        accounting_entry_id: id.clone(),
        status: ItemStatus::Successful,
        exported_at: Some("2025-06-30T12:00:00Z".into()),
        external_id: Some(format!("JE-{}", id.get(..8).unwrap_or(id))),
        external_url: Some(format!("https://erp.example/journal/{id}")),
        failure_reason: None,
        failure_reason_type: None,
    };
    // One update more than Pleo accepts in one call: refused, by the host or by Pleo.
    let too_many: Vec<ItemUpdate> = (0..101)
        .map(|i| {
            update(
                &entry_ids
                    .get(i % entry_ids.len().max(1))
                    .cloned()
                    .unwrap_or_default(),
            )
        })
        .collect();
    tour.fails(
        W,
        "update-export-job-items",
        "101 updates",
        "invalid-request",
        || write::update_export_job_items(&job_id, &too_many),
    );
    if entry_ids.is_empty() {
        tour.skipped(W, "update-export-job-items", "the job has no items");
    }
    for batch in entry_ids.chunks(100) {
        let updates: Vec<ItemUpdate> = batch.iter().map(update).collect();
        tour.ok(
            W,
            "update-export-job-items",
            format!("{} successful", updates.len()),
            || write::update_export_job_items(&job_id, &updates),
        );
    }
    tour.ok(W, "post-export-job-event", "completed", || {
        write::post_export_job_event(&event(&job_id, JobEventKind::Completed))
    });

    // What a finished job refuses.
    tour.fails(
        W,
        "post-export-job-event",
        "started on a completed job",
        "invalid-request",
        || write::post_export_job_event(&event(&job_id, JobEventKind::Started)),
    );
    if let Some(id) = entry_ids.first() {
        tour.fails(
            W,
            "update-export-job-items",
            "after completed",
            "invalid-request",
            || write::update_export_job_items(&job_id, &[update(id)]),
        );
    }
    let first_page = PageRequest::first(PAGE);
    tour.fails(
        X,
        "list-export-items",
        "of a completed job",
        "invalid-request",
        || items_api::list_export_items(&job_id, &first_page),
    );
    tour.fails(R, "get-export-job", "unknown id", "not-found", || {
        read::get_export_job(UNKNOWN_ID)
    });

    // A job of our own, which the integration then gives up on.
    let ids: Vec<String> = entries
        .iter()
        .filter_map(|e| text(e, "id"))
        .filter(|id| !entry_ids.contains(id))
        .take(3)
        .collect();
    let employee_id = entries.iter().find_map(|e| text(e, "employeeId"));
    let job = NewExportJob {
        accounting_entry_ids: ids,
        employee_id,
        is_interactive: Some(false),
        vendor_based_bookkeeping: Some(false),
    };
    let Some(created) = tour.ok(W, "create-export-job", "3 entries", || {
        write::create_export_job(&job)
    }) else {
        return;
    };
    let Some(own) = id_of(&created) else {
        return tour.skipped(W, "post-export-job-event", "the created job has no id");
    };
    tour.ok(W, "post-export-job-event", "started (own job)", || {
        write::post_export_job_event(&event(&own, JobEventKind::Started))
    });
    tour.ok(W, "post-export-job-event", "failed, with a reason", || {
        write::post_export_job_event(&JobEvent {
            job_id: own.clone(),
            event: JobEventKind::Failed,
            failure_reason: Some("The ERP rejected the credentials".into()),
            failure_reason_type: Some("accounting_system_authentication_failure".into()),
        })
    });
}

fn vendors(tour: &mut Tour) {
    use wit::types::VendorState;
    use wit::vendors_read::{self as read, VendorFilter};
    use wit::vendors_write::{self as write, NewVendor, VendorUpdate};
    const R: &str = "vendors-read";
    const W: &str = "vendors-write";
    let all = VendorFilter {
        ids: Vec::new(),
        codes: Vec::new(),
        external_ids: Vec::new(),
        name: None,
        states: Vec::new(),
        countries: Vec::new(),
        tax_registration_numbers: Vec::new(),
        accounting_systems: Vec::new(),
    };
    let vendors = tour.list(R, "search-vendors", "all", |page| {
        read::search_vendors(&all, page)
    });
    match first_id(&vendors) {
        Some(id) => {
            tour.ok(R, "get-vendor", &id, || read::get_vendor(&id));
        }
        None => tour.skipped(R, "get-vendor", "no vendors found"),
    }
    let active = VendorFilter {
        states: vec![VendorState::Active, VendorState::Draft],
        countries: vec!["DK".into()],
        ..all.clone()
    };
    tour.list(R, "search-vendors", "active or draft, in DK", |page| {
        read::search_vendors(&active, page)
    });
    // The tax-id and accounting-system filters, from a vendor that has both, so they match.
    let synced = vendors.iter().find(|v| {
        text(v, "taxRegistrationNumber").is_some() && text(v, "accountingSystem").is_some()
    });
    match synced {
        Some(v) => {
            let by_tax_and_system = VendorFilter {
                tax_registration_numbers: text(v, "taxRegistrationNumber").into_iter().collect(),
                accounting_systems: text(v, "accountingSystem").into_iter().collect(),
                ..all.clone()
            };
            let found = tour.list(R, "search-vendors", "by tax id and system", |page| {
                read::search_vendors(&by_tax_and_system, page)
            });
            let tax = text(v, "taxRegistrationNumber");
            let matched = found
                .iter()
                .all(|f| text(f, "taxRegistrationNumber") == tax);
            if found.is_empty() || !matched {
                tour.skipped(
                    R,
                    "search-vendors",
                    "the tax id and system filters did not give exactly that vendor's tax id",
                );
            }
        }
        None => tour.skipped(R, "search-vendors", "no vendor with a tax id and a system"),
    }
    tour.fails(R, "get-vendor", "unknown id", "not-found", || {
        read::get_vendor(UNKNOWN_ID)
    });

    let vendor = NewVendor {
        name: "Tour Office Supplies ApS".into(),
        default_currency: "DKK".into(),
        code: Some("TOUR-V1".into()),
        external_id: Some("tour-vendor-1".into()),
        country: Some("DK".into()),
        registration_number: Some("DK12345678".into()),
        tax_registration_number: Some("DK12345678".into()),
    };
    let Some(created) = tour.ok(W, "create-vendor", &vendor.name, || {
        write::create_vendor(&vendor)
    }) else {
        return;
    };
    tour.fails(W, "create-vendor", "the same again", "conflict", || {
        write::create_vendor(&vendor)
    });
    let Some(id) = id_of(&created) else {
        return tour.skipped(W, "update-vendor", "the created vendor has no id");
    };
    tour.ok(W, "activate-vendor", &id, || {
        write::activate_vendor(&id, "tour-vendor-1", Some("TOUR-V1"))
    });
    let update = VendorUpdate {
        name: "Tour Office Supplies A/S".into(),
        default_currency: "DKK".into(),
        external_id: "tour-vendor-1".into(),
        state: VendorState::Active,
        code: Some("TOUR-V1".into()),
        country: Some("DK".into()),
        registration_number: None,
        tax_registration_number: None,
    };
    tour.ok(W, "update-vendor", &id, || {
        write::update_vendor(&id, &update)
    });
    tour.ok(W, "archive-vendor", &id, || write::archive_vendor(&id));
    vendor_import(tour);
}

/// The vendor CSV import: a job, its upload (the host fetches the presigned URL and PUTs the
/// file), metadata, a status change, the run, the job read back until done, its row errors, a
/// search; and the calls that must fail (run before upload, run again, an unknown job).
fn vendor_import(tour: &mut Tour) {
    use wit::types::ImportJobStatus;
    use wit::vendors_read::{self as read, ImportJobFilter};
    use wit::vendors_write::{self as write, CsvFormat, NewImportJob};
    const R: &str = "vendors-read";
    const W: &str = "vendors-write";
    let job = NewImportJob {
        original_filename: "tour-vendors.csv".into(),
        csv_format: Some(CsvFormat {
            delimiter: ";".into(),
            quote_character: Some("\"".into()),
            escape_character: None,
            record_separator: "\n".into(),
            ignore_empty_lines: true,
            skip_header_record: true,
        }),
        metadata_json: Some(r#"{"tour": {"step": 1}}"#.into()),
    };
    let Some(created) = tour.ok(W, "create-import-job", "tour-vendors.csv", || {
        write::create_import_job(&job)
    }) else {
        return;
    };
    let Some(id) = id_of(&created) else {
        return tour.skipped(W, "upload-import-csv", "the created job has no id");
    };
    tour.fails(W, "run-import-job", "before its upload", "conflict", || {
        write::run_import_job(&id)
    });
    let csv = "name;defaultCurrency;externalId\nTour Import One;DKK;tour-import-1\n\
               Tour Import Two;EUR;tour-import-2\n;DKK;tour-import-3\n";
    tour.ok(W, "upload-import-csv", &id, || {
        write::upload_import_csv(&id, csv.as_bytes())
    });
    tour.ok(W, "update-import-job-metadata", "merge", || {
        write::update_import_job_metadata(&id, r#"{"tour": {"step": 2}}"#, true)
    });
    tour.ok(W, "update-import-job-status", "queued", || {
        write::update_import_job_status(&id, ImportJobStatus::Queued, None, None)
    });
    tour.ok(W, "run-import-job", &id, || write::run_import_job(&id));
    tour.fails(W, "run-import-job", "a second time", "conflict", || {
        write::run_import_job(&id)
    });
    tour.ok(R, "get-import-job", &id, || read::get_import_job(&id));
    tour.list(R, "list-import-job-errors", &id, |page| {
        read::list_import_job_errors(&id, page)
    });
    let filter = ImportJobFilter {
        ids: Vec::new(),
        statuses: vec![ImportJobStatus::Completed],
        types: vec!["vendors".into()],
    };
    tour.list(
        R,
        "search-import-jobs",
        "completed vendor imports",
        |page| read::search_import_jobs(&filter, page),
    );
    tour.fails(R, "get-import-job", "unknown id", "not-found", || {
        read::get_import_job(UNKNOWN_ID)
    });
    tour.fails(
        W,
        "update-import-job-status",
        "failed after completed",
        "invalid-request",
        || {
            write::update_import_job_status(
                &id,
                ImportJobStatus::Failed,
                Some("PROCESSING_FAILED"),
                Some("the tour fails it"),
            )
        },
    );
}

fn accounts(tour: &mut Tour, entries: &[Value]) {
    use wit::accounts_read::{self as read, AccountFilter};
    use wit::accounts_write::{self as write, AccountUpdate, NewAccount};
    const R: &str = "accounts-read";
    const W: &str = "accounts-write";
    let all = AccountFilter {
        ids: Vec::new(),
        codes: Vec::new(),
        external_id: None,
        name: None,
        archived: None,
        exclude_if_assigned_to_category: false,
        exclude_if_assigned_to_contra_account: false,
    };
    let accounts = tour.list(R, "search-accounts", "all", |page| {
        read::search_accounts(&all, page)
    });
    match first_id(&accounts) {
        Some(id) => {
            tour.ok(R, "get-account", &id, || read::get_account(&id));
        }
        None => tour.skipped(R, "get-account", "no accounts found"),
    }
    if let Some(code) = accounts.iter().find_map(|a| text(a, "code")) {
        let by_code = AccountFilter {
            codes: vec![code.clone()],
            archived: Some(false),
            ..all
        };
        tour.list(R, "search-accounts", format!("code {code}"), |page| {
            read::search_accounts(&by_code, page)
        });
    }
    tour.fails(R, "get-account", "unknown id", "not-found", || {
        read::get_account(UNKNOWN_ID)
    });

    let account = |n: u32| NewAccount {
        external_id: format!("tour-account-{n}"),
        name: format!("Tour account {n}"),
        archived: false,
        code: Some(format!("99{n:02}")),
        tax_code_external_id: None,
        metadata: Some(format!(r#"{{"tour": {{"account": {n}}}}}"#)),
    };
    let Some(created) = tour.ok(W, "create-account", "tour-account-1", || {
        write::create_account(&account(1))
    }) else {
        return;
    };
    tour.ok(
        W,
        "create-account",
        "the same again: the existing one",
        || write::create_account(&account(1)),
    );
    tour.ok(W, "create-accounts", "2 accounts", || {
        write::create_accounts(&[account(2), account(3)])
    });
    let Some(id) = id_of(&created) else {
        return tour.skipped(W, "update-account", "the created account has no id");
    };
    let renamed = AccountUpdate {
        name: "Tour account 1, renamed".into(),
        archived: false,
        code: account(1).code,
        tax_code_external_id: None,
        metadata: None,
    };
    tour.ok(W, "update-account", &id, || {
        write::update_account(&id, &renamed)
    });
    tour.ok(W, "delete-account", &id, || write::delete_account(&id));
    // An account entries use cannot be deleted (archive it instead).
    match entries.iter().find_map(|e| text(e, "accountId")) {
        Some(linked) => tour.fails(W, "delete-account", "used by entries", "conflict", || {
            write::delete_account(&linked)
        }),
        None => tour.skipped(W, "delete-account", "no entry with an account"),
    }
}

fn tags(tour: &mut Tour) {
    use wit::tags_read as read;
    use wit::tags_write::{self as write, TagFields, TagGroupFields};
    const R: &str = "tags-read";
    const W: &str = "tags-write";
    let groups = tour
        .ok(R, "list-tag-groups", "active", || {
            read::list_tag_groups(false, false)
        })
        .map(|json| items(&json))
        .unwrap_or_default();
    tour.ok(R, "list-tag-groups", "archived too, with counts", || {
        read::list_tag_groups(true, true)
    });
    match first_id(&groups) {
        Some(group) => {
            tour.ok(R, "get-tag-group", &group, || read::get_tag_group(&group));
            let tags = tour.list(R, "list-tags", &group, |page| {
                read::list_tags(&group, true, page)
            });
            match first_id(&tags) {
                Some(tag) => {
                    tour.ok(R, "get-tag", &tag, || read::get_tag(&tag));
                    let by_id = read::TagFilter {
                        tag_group_ids: vec![group.clone()],
                        tag_ids: vec![tag.clone()],
                        text: Some("o".into()),
                        archived: Some(false),
                    };
                    tour.list(R, "search-tags", "by group, id and text", |page| {
                        read::search_tags(&by_id, page)
                    });
                }
                None => tour.skipped(R, "get-tag", "no tags listed"),
            }
            tour.ok(R, "get-tag-group-usage", &group, || {
                read::get_tag_group_usage(&group)
            });
        }
        None => tour.skipped(R, "get-tag-group", "no tag groups listed"),
    }
    tour.fails(R, "get-tag", "unknown id", "not-found", || {
        read::get_tag(UNKNOWN_ID)
    });
    let everything = read::TagFilter {
        tag_group_ids: Vec::new(),
        tag_ids: Vec::new(),
        text: None,
        archived: None,
    };
    tour.list(R, "search-tags", "all", |page| {
        read::search_tags(&everything, page)
    });

    let group = TagGroupFields {
        code: "TOUR".into(),
        name: "Tour projects".into(),
        archived: false,
        metadata: vec![("erp-dimension".into(), "7".into())],
    };
    let Some(created) = tour.ok(W, "create-tag-group", "TOUR", || {
        write::create_tag_group(&group)
    }) else {
        return;
    };
    let Some(group_id) = id_of(&created) else {
        return tour.skipped(W, "update-tag-group", "the created group has no id");
    };
    let renamed = TagGroupFields {
        name: "Tour projects (renamed)".into(),
        ..group
    };
    tour.ok(W, "update-tag-group", &group_id, || {
        write::update_tag_group(&group_id, &renamed)
    });
    let tag = TagFields {
        code: "T-001".into(),
        name: "Tour tag".into(),
        archived: false,
    };
    let Some(tag_json) = tour.ok(W, "create-tag", "T-001", || {
        write::create_tag(&group_id, &tag)
    }) else {
        return;
    };
    let Some(tag_id) = id_of(&tag_json) else {
        return tour.skipped(W, "update-tag", "the created tag has no id");
    };
    let archived = TagFields {
        archived: true,
        ..tag
    };
    tour.ok(W, "update-tag", &tag_id, || {
        write::update_tag(&tag_id, &archived)
    });

    // Bulk archive and delete: a second tag, both archived, restored, then deleted.
    let second = TagFields {
        code: "T-002".into(),
        name: "Tour tag 2".into(),
        archived: false,
    };
    let second_id = tour
        .ok(W, "create-tag", "T-002", || {
            write::create_tag(&group_id, &second)
        })
        .and_then(|json| id_of(&json));
    let both: Vec<String> = [Some(tag_id.clone()), second_id.clone()]
        .into_iter()
        .flatten()
        .collect();
    tour.ok(W, "archive-tags", "archive both", || {
        write::archive_tags(&both, true)
    });
    tour.ok(W, "archive-tags", "restore both", || {
        write::archive_tags(&both, false)
    });
    // Pleo takes at most 100 ids: the host refuses 101 before sending.
    let too_many: Vec<String> = (0..101)
        .map(|i| format!("0b0e4c2e-8a8f-4a55-9d7c-{i:012}"))
        .collect();
    tour.fails(W, "archive-tags", "101 ids", "invalid-request", || {
        write::archive_tags(&too_many, true)
    });
    tour.fails(W, "delete-tags", "unknown id", "not-found", || {
        write::delete_tags(&[UNKNOWN_ID.to_owned()])
    });
    match second_id {
        Some(id) => {
            tour.ok(W, "delete-tags", &id, || {
                write::delete_tags(std::slice::from_ref(&id))
            });
        }
        None => tour.skipped(W, "delete-tags", "the second tag has no id"),
    }
    tour.ok(W, "delete-tag", &tag_id, || write::delete_tag(&tag_id));
    tour.fails(W, "delete-tag", "deleted", "not-found", || {
        write::delete_tag(&tag_id)
    });
    tour.ok(W, "delete-tag-group", &group_id, || {
        write::delete_tag_group(&group_id)
    });
}

/// The field `field` of the JSON object `json`.
fn field(json: &str, field: &str) -> Option<Value> {
    serde_json::from_str::<Value>(json)
        .ok()?
        .get(field)
        .cloned()
}

/// Tag dimensions and the aggregations: the seeded ones read, then a group of the tour's own
/// with a dimension, a tag with a value for it, each changed, read back and removed.
fn tag_dimensions(tour: &mut Tour) {
    use wit::tags_read::{self as read, TagFilter};
    use wit::tags_write::{self as write, DimensionFields, TagFields, TagGroupFields};
    const R: &str = "tags-read";
    const W: &str = "tags-write";
    let groups = tour
        .ok(R, "list-aggregated-tag-groups", "all", || {
            read::list_aggregated_tag_groups(&[])
        })
        .map(|json| items(&json))
        .unwrap_or_default();
    // A group with dimensions (the seed gives the project group two).
    let with_dimensions = groups.iter().find(|g| {
        g.get("dimensions")
            .and_then(Value::as_array)
            .is_some_and(|d| !d.is_empty())
    });
    let Some(group) = with_dimensions.and_then(|g| text(g, "id")) else {
        return tour.skipped(R, "list-tag-group-dimensions", "no group with dimensions");
    };
    let only = tour
        .ok(R, "list-aggregated-tag-groups", "one group by id", || {
            read::list_aggregated_tag_groups(std::slice::from_ref(&group))
        })
        .map(|json| items(&json))
        .unwrap_or_default();
    tour.agrees(
        "list-aggregated-tag-groups",
        "only the group asked for",
        only.len() == 1 && text(&only[0], "id").as_deref() == Some(&group),
    );
    let dimensions = tour
        .ok(R, "list-tag-group-dimensions", &group, || {
            read::list_tag_group_dimensions(&group)
        })
        .map(|json| items(&json))
        .unwrap_or_default();
    match first_id(&dimensions) {
        Some(dimension) => {
            tour.ok(R, "get-tag-group-dimension", &dimension, || {
                read::get_tag_group_dimension(&group, &dimension)
            });
        }
        None => tour.skipped(R, "get-tag-group-dimension", "no dimensions listed"),
    }
    tour.fails(
        R,
        "get-tag-group-dimension",
        "unknown id",
        "not-found",
        || read::get_tag_group_dimension(&group, UNKNOWN_ID),
    );
    let filter = TagFilter {
        tag_group_ids: vec![group.clone()],
        tag_ids: Vec::new(),
        text: None,
        archived: None,
    };
    let tags = tour.list(R, "search-aggregated-tags", "the group's", |page| {
        read::search_aggregated_tags(&filter, page)
    });
    // A tag with a value, as the aggregation shows it; its own list must agree.
    let valued = tags.iter().find_map(|t| {
        let first = t.get("dimensions")?.as_array()?.first()?.clone();
        Some((text(t, "id")?, text(&first, "id")?, text(&first, "value")?))
    });
    match valued {
        Some((tag, dimension, value)) => {
            let values = tour
                .ok(R, "list-tag-dimension-values", &tag, || {
                    read::list_tag_dimension_values(&tag)
                })
                .map(|json| items(&json))
                .unwrap_or_default();
            tour.agrees(
                "list-tag-dimension-values",
                "holds the aggregation's value",
                values.iter().any(|v| {
                    text(v, "dimensionId").as_deref() == Some(&dimension)
                        && text(v, "value").as_deref() == Some(&value)
                }),
            );
            let one = tour.ok(R, "get-tag-dimension-value", &tag, || {
                read::get_tag_dimension_value(&tag, &dimension)
            });
            tour.agrees(
                "get-tag-dimension-value",
                "the aggregation's value",
                one.and_then(|j| field(&j, "value")) == Some(Value::String(value)),
            );
        }
        None => tour.skipped(R, "list-tag-dimension-values", "no tag with a value"),
    }

    // Writes on a group and tag of the tour's own.
    let fields = TagGroupFields {
        code: "TOUR-DIM".into(),
        name: "Tour dimensions".into(),
        archived: false,
        metadata: Vec::new(),
    };
    let Some(group_id) = tour
        .ok(W, "create-tag-group", "TOUR-DIM", || {
            write::create_tag_group(&fields)
        })
        .and_then(|json| id_of(&json))
    else {
        return tour.skipped(W, "create-tag-group-dimension", "no group created");
    };
    let tag = TagFields {
        code: "TD-1".into(),
        name: "Tour dimension tag".into(),
        archived: false,
    };
    let Some(tag_id) = tour
        .ok(W, "create-tag", "TD-1", || {
            write::create_tag(&group_id, &tag)
        })
        .and_then(|json| id_of(&json))
    else {
        return tour.skipped(W, "create-tag-dimension-value", "no tag created");
    };
    let manager = DimensionFields {
        code: "OWNER".into(),
        name: "Owner".into(),
        visible: true,
    };
    let Some(dimension_id) = tour
        .ok(W, "create-tag-group-dimension", "OWNER", || {
            write::create_tag_group_dimension(&group_id, &manager)
        })
        .and_then(|json| id_of(&json))
    else {
        return tour.skipped(W, "update-tag-group-dimension", "no dimension created");
    };
    tour.fails(
        W,
        "create-tag-group-dimension",
        "same code",
        "conflict",
        || write::create_tag_group_dimension(&group_id, &manager),
    );
    let hidden = DimensionFields {
        name: "Owner (hidden)".into(),
        visible: false,
        ..manager
    };
    let updated = tour.ok(W, "update-tag-group-dimension", &dimension_id, || {
        write::update_tag_group_dimension(&group_id, &dimension_id, &hidden, 2)
    });
    let read_back = tour.ok(R, "get-tag-group-dimension", "updated", || {
        read::get_tag_group_dimension(&group_id, &dimension_id)
    });
    tour.agrees(
        "update-tag-group-dimension",
        "read back as written",
        updated.is_some()
            && read_back.as_deref().is_some_and(|j| {
                field(j, "name") == Some(Value::from("Owner (hidden)"))
                    && field(j, "visible") == Some(Value::Bool(false))
                    && field(j, "displayOrder") == Some(Value::from(2))
            }),
    );

    tour.ok(W, "create-tag-dimension-value", &tag_id, || {
        write::create_tag_dimension_value(&tag_id, &dimension_id, "Ada")
    });
    tour.fails(W, "create-tag-dimension-value", "again", "conflict", || {
        write::create_tag_dimension_value(&tag_id, &dimension_id, "Ada")
    });
    tour.ok(W, "update-tag-dimension-value", &tag_id, || {
        write::update_tag_dimension_value(&tag_id, &dimension_id, "Bo")
    });
    let own = TagFilter {
        tag_group_ids: Vec::new(),
        tag_ids: vec![tag_id.clone()],
        text: None,
        archived: None,
    };
    let aggregated = tour.list(R, "search-aggregated-tags", "the tour's tag", |page| {
        read::search_aggregated_tags(&own, page)
    });
    tour.agrees(
        "search-aggregated-tags",
        "shows the value written",
        aggregated.len() == 1
            && aggregated[0]
                .pointer("/dimensions/0/value")
                .and_then(Value::as_str)
                == Some("Bo"),
    );
    let removed = tour.ok(W, "delete-tag-dimension-value", &tag_id, || {
        write::delete_tag_dimension_value(&tag_id, &dimension_id)
    });
    tour.agrees(
        "delete-tag-dimension-value",
        "answers the removed value",
        removed.and_then(|j| field(&j, "value")) == Some(Value::from("Bo")),
    );
    tour.fails(
        W,
        "delete-tag-dimension-value",
        "removed",
        "not-found",
        || write::delete_tag_dimension_value(&tag_id, &dimension_id),
    );
    tour.ok(W, "delete-tag-group-dimension", &dimension_id, || {
        write::delete_tag_group_dimension(&group_id, &dimension_id)
    });
    tour.fails(
        W,
        "delete-tag-group-dimension",
        "deleted",
        "not-found",
        || write::delete_tag_group_dimension(&group_id, &dimension_id),
    );
    tour.ok(W, "delete-tag-group", &group_id, || {
        write::delete_tag_group(&group_id)
    });
}

fn tax_codes(tour: &mut Tour) {
    use wit::tax_codes_read::{self as read, TaxCodeFilter};
    use wit::tax_codes_write::{self as write, TaxCodeFields};
    use wit::types::TaxKind;
    const R: &str = "tax-codes-read";
    const W: &str = "tax-codes-write";
    let all = TaxCodeFilter {
        archived: None,
        code: None,
        tax_code_ids: Vec::new(),
        kind: None,
    };
    let codes = tour.list(R, "search-tax-codes", "all", |page| {
        read::search_tax_codes(&all, page)
    });
    match first_id(&codes) {
        Some(id) => {
            tour.ok(R, "get-tax-code", &id, || read::get_tax_code(&id));
            let by_id = TaxCodeFilter {
                archived: Some(false),
                tax_code_ids: vec![id.clone()],
                kind: Some(TaxKind::Inclusive),
                ..all
            };
            tour.list(R, "search-tax-codes", "by id, inclusive", |page| {
                read::search_tax_codes(&by_id, page)
            });
        }
        None => tour.skipped(R, "get-tax-code", "no tax codes found"),
    }
    tour.fails(R, "get-tax-code", "unknown id", "not-found", || {
        read::get_tax_code(UNKNOWN_ID)
    });
    match codes.iter().find_map(|c| text(c, "id")) {
        Some(id) => {
            let amounts =
                [("gross", 12_500), ("refund", -4_000)].map(|(label, minors)| read::TaxedAmount {
                    tax_code_id: id.clone(),
                    id: label.into(),
                    currency: "DKK".into(),
                    minors,
                });
            tour.ok(R, "calculate-tax-amounts", &id, || {
                read::calculate_tax_amounts(&amounts)
            });
        }
        None => tour.skipped(R, "calculate-tax-amounts", "no tax codes found"),
    }
    let unknown = [read::TaxedAmount {
        tax_code_id: UNKNOWN_ID.into(),
        id: "x".into(),
        currency: "DKK".into(),
        minors: 100,
    }];
    tour.fails(
        R,
        "calculate-tax-amounts",
        "unknown tax code",
        "not-found",
        || read::calculate_tax_amounts(&unknown),
    );

    let code = TaxCodeFields {
        name: "Tour VAT 12.5%".into(),
        rate: 0.125,
        kind: TaxKind::Exclusive,
        archived: false,
        code: Some("TOUR125".into()),
        ingoing_tax_account: None,
        outgoing_tax_account: None,
    };
    let Some(created) = tour.ok(W, "create-tax-code", &code.name, || {
        write::create_tax_code(&code)
    }) else {
        return;
    };
    let Some(id) = id_of(&created) else {
        return tour.skipped(W, "update-tax-code", "the created tax code has no id");
    };
    let updated = TaxCodeFields {
        rate: 0.25,
        name: "Tour VAT 25%".into(),
        ..code
    };
    tour.ok(W, "update-tax-code", &id, || {
        write::update_tax_code(&id, &updated)
    });
    tour.ok(W, "delete-tax-code", &id, || write::delete_tax_code(&id));
    tour.fails(W, "delete-tax-code", "deleted", "not-found", || {
        write::delete_tax_code(&id)
    });
}
