//! Cursor paging over any list operation of the Pleo interfaces.

use std::marker::PhantomData;

use serde::de::DeserializeOwned;

use crate::types::{SortBy, SortOrder};
use crate::{Error, Page, PageRequest, PleoError};

/// The first page in Pleo's default order and page size.
impl Default for PageRequest {
    fn default() -> Self {
        PageRequest {
            after: None,
            before: None,
            offset: None,
            limit: None,
            sorting: Vec::new(),
            fields: Vec::new(),
        }
    }
}

/// Page requests by what they ask for. Keep a list's `sorting` the same from page to page: a
/// cursor belongs to the order it was made in.
impl PageRequest {
    /// The first page, `limit` objects (the host clamps it to what the operation allows).
    pub fn first(limit: u32) -> PageRequest {
        PageRequest {
            limit: Some(limit),
            ..PageRequest::default()
        }
    }

    /// The page after the one whose `next-cursor` is `cursor`.
    pub fn after(cursor: impl Into<String>, limit: u32) -> PageRequest {
        PageRequest {
            after: Some(cursor.into()),
            ..PageRequest::first(limit)
        }
    }

    /// The page before the one whose `prev-cursor` is `cursor` (paging backwards).
    pub fn before(cursor: impl Into<String>, limit: u32) -> PageRequest {
        PageRequest {
            before: Some(cursor.into()),
            ..PageRequest::first(limit)
        }
    }

    /// The page that starts after `offset` objects (not the accounting-entries lists, which
    /// page by cursor only).
    pub fn at_offset(offset: u32, limit: u32) -> PageRequest {
        PageRequest {
            offset: Some(offset),
            ..PageRequest::first(limit)
        }
    }

    /// The same request, also sorted by `key` (after the keys already given).
    pub fn sorted_by(mut self, key: impl Into<String>, order: SortOrder) -> PageRequest {
        self.sorting.push(SortBy {
            key: key.into(),
            order,
        });
        self
    }

    /// The same request, keeping only these top-level fields of each object (the host drops
    /// the others): less to decode. Decode the page into a type with just these fields.
    pub fn only(mut self, fields: &[&str]) -> PageRequest {
        self.fields = fields.iter().map(|f| f.to_string()).collect();
        self
    }
}

/// Pages through a list operation forward: `fetch` is called with `after` = the previous
/// page's `next-cursor` until a page has none. ([`PageRequest::before`] and
/// [`PageRequest::at_offset`] ask for one page backwards or by position.) Each page's `data` is decoded as a JSON array of `T`.
///
/// Iterating yields one `Vec<T>` per page (see [`Pages::total`] and [`Pages::seen`] for
/// progress); [`Pages::items`] yields the items one by one. After an error the iteration ends;
/// a page whose `next-cursor` is the cursor it was asked with is an error, not an endless loop.
///
/// ```no_run
/// use pleo_plugin::{Employee, pages, users_read};
///
/// # fn main() -> Result<(), pleo_plugin::Error> {
/// let query = users_read::EmployeeQuery { email: None, code: None };
/// let mut employees = pages::<Employee, _>(100, |page| users_read::list_employees(&query, page));
/// while let Some(page) = employees.next() {
///     let page = page?;
///     println!("{} of {:?} employees", employees.seen(), employees.total());
/// }
/// # Ok(())
/// # }
/// ```
pub fn pages<T, F>(page_size: u32, fetch: F) -> Pages<T, F>
where
    T: DeserializeOwned,
    F: FnMut(&PageRequest) -> Result<Page, PleoError>,
{
    Pages {
        fetch,
        page_size,
        sorting: Vec::new(),
        fields: Vec::new(),
        next: Some(None),
        total: None,
        seen: 0,
        _item: PhantomData,
    }
}

/// Iterator over the pages of a list operation; see [`pages`].
pub struct Pages<T, F> {
    fetch: F,
    page_size: u32,
    /// The order asked for with every page.
    sorting: Vec<SortBy>,
    /// The fields of each object asked for with every page (empty: all).
    fields: Vec<String>,
    /// `None`: done. `Some(cursor)`: the `after` of the next request.
    next: Option<Option<String>>,
    total: Option<u64>,
    seen: u64,
    _item: PhantomData<fn() -> T>,
}

impl<T, F> Pages<T, F> {
    /// The same walk in another order: every page is asked for sorted by `key` (after the keys
    /// already given), e.g. `.sorted_by("createdAt", SortOrder::Desc)` for newest first.
    pub fn sorted_by(mut self, key: impl Into<String>, order: SortOrder) -> Self {
        self.sorting.push(SortBy {
            key: key.into(),
            order,
        });
        self
    }

    /// The same walk keeping only these top-level fields of each object, e.g.
    /// `.only(&["employeeId", "transactionValue"])`: the host drops the others before a page
    /// reaches the plugin. `T` must then need no other field.
    pub fn only(mut self, fields: &[&str]) -> Self {
        self.fields = fields.iter().map(|f| f.to_string()).collect();
        self
    }

    /// The total number of objects, as last reported by a page (if the operation reports it).
    pub fn total(&self) -> Option<u64> {
        self.total
    }

    /// How many objects the pages fetched so far held.
    pub fn seen(&self) -> u64 {
        self.seen
    }

    /// The same operation, one item at a time.
    pub fn items(self) -> Items<T, F> {
        Items {
            pages: self,
            buffer: Vec::new().into_iter(),
        }
    }
}

impl<T, F> Iterator for Pages<T, F>
where
    T: DeserializeOwned,
    F: FnMut(&PageRequest) -> Result<Page, PleoError>,
{
    type Item = Result<Vec<T>, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        let after = self.next.take()?;
        let request = PageRequest {
            after: after.clone(),
            sorting: self.sorting.clone(),
            fields: self.fields.clone(),
            ..PageRequest::first(self.page_size)
        };
        let page = match (self.fetch)(&request) {
            Ok(page) => page,
            Err(e) => return Some(Err(e.into())),
        };
        let items: Vec<T> = match serde_json::from_str(&page.data) {
            Ok(items) => items,
            Err(e) => return Some(Err(e.into())),
        };
        if page.next_cursor.is_some() && page.next_cursor == after {
            // Asking again would return this page again, forever.
            return Some(Err(Error::CursorRepeated(after.unwrap_or_default())));
        }
        self.seen += items.len() as u64;
        self.total = page.total.or(self.total);
        self.next = page.next_cursor.map(Some);
        Some(Ok(items))
    }
}

/// Iterator over the items of a list operation; see [`Pages::items`].
pub struct Items<T, F> {
    pages: Pages<T, F>,
    buffer: std::vec::IntoIter<T>,
}

impl<T, F> Items<T, F> {
    /// See [`Pages::total`].
    pub fn total(&self) -> Option<u64> {
        self.pages.total()
    }
}

impl<T, F> Iterator for Items<T, F>
where
    T: DeserializeOwned,
    F: FnMut(&PageRequest) -> Result<Page, PleoError>,
{
    type Item = Result<T, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(item) = self.buffer.next() {
                return Some(Ok(item));
            }
            match self.pages.next()? {
                Ok(items) => self.buffer = items.into_iter(),
                Err(e) => return Some(Err(e)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A list of `n` numbers served `per_page` at a time, with cursors `c<offset>`.
    fn server(n: u32, per_page: usize) -> impl FnMut(&PageRequest) -> Result<Page, PleoError> {
        move |req| {
            let start: usize = match &req.after {
                None => 0,
                Some(c) => c[1..].parse().unwrap(),
            };
            assert_eq!(req.limit, Some(100));
            assert_eq!((&req.before, req.offset), (&None, None));
            let all: Vec<u32> = (0..n).collect();
            let end = (start + per_page).min(all.len());
            Ok(Page {
                data: serde_json::to_string(&all[start..end]).unwrap(),
                next_cursor: (end < all.len()).then(|| format!("c{end}")),
                prev_cursor: (start > 0).then(|| format!("p{start}")),
                total: Some(n as u64),
            })
        }
    }

    #[test]
    fn pages_until_no_cursor() {
        let mut pages = pages::<u32, _>(100, server(7, 3));
        assert_eq!(pages.next().unwrap().unwrap(), vec![0, 1, 2]);
        assert_eq!((pages.seen(), pages.total()), (3, Some(7)));
        assert_eq!(pages.next().unwrap().unwrap(), vec![3, 4, 5]);
        assert_eq!(pages.next().unwrap().unwrap(), vec![6]);
        assert!(pages.next().is_none());
        let items: Vec<u32> = super::pages(100, server(7, 3))
            .items()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(items, (0..7).collect::<Vec<_>>());
        assert_eq!(super::pages::<u32, _>(100, server(0, 3)).items().count(), 0);
    }

    /// Every page of a sorted walk asks for the same order.
    #[test]
    fn a_sorted_walk_asks_every_page_in_its_order() {
        let mut serve = server(5, 2);
        let mut orders = Vec::new();
        let items: Vec<u32> = pages(100, |req: &PageRequest| {
            let order: Vec<(String, SortOrder)> = req
                .sorting
                .iter()
                .map(|by| (by.key.clone(), by.order))
                .collect();
            orders.push(order);
            serve(req)
        })
        .sorted_by("name", SortOrder::Desc)
        .items()
        .collect::<Result<_, _>>()
        .unwrap();
        assert_eq!(items.len(), 5);
        let want = vec![("name".to_owned(), SortOrder::Desc)];
        assert_eq!(orders, vec![want.clone(), want.clone(), want]);
    }

    #[test]
    fn requests_ask_for_one_position() {
        let back = PageRequest::before("p4", 2).sorted_by("id", SortOrder::Asc);
        assert_eq!(
            (back.after, back.before, back.offset, back.limit),
            (None, Some("p4".into()), None, Some(2))
        );
        assert_eq!(back.sorting.len(), 1);
        let at = PageRequest::at_offset(40, 20);
        assert_eq!((at.after, at.before, at.offset), (None, None, Some(40)));
        assert_eq!(PageRequest::after("c1", 5).after.as_deref(), Some("c1"));
        assert_eq!(PageRequest::default().limit, None);
    }

    #[test]
    fn stops_after_errors_and_stuck_cursors() {
        let mut calls = 0;
        let failing = |_: &PageRequest| {
            calls += 1;
            Err(PleoError::RateLimited(1))
        };
        let results: Vec<_> = pages::<u32, _>(100, failing).items().collect();
        assert!(matches!(
            results[..],
            [Err(Error::Pleo(PleoError::RateLimited(1)))]
        ));
        assert_eq!(calls, 1);

        let stuck = |_: &PageRequest| {
            Ok(Page {
                data: "[1]".into(),
                next_cursor: Some("same".into()),
                prev_cursor: None,
                total: None,
            })
        };
        let results: Vec<_> = pages::<u32, _>(100, stuck).items().collect();
        assert!(matches!(&results[..], [Ok(1), Err(Error::CursorRepeated(c))] if c == "same"));

        let garbage = |_: &PageRequest| {
            Ok(Page {
                data: "{".into(),
                next_cursor: None,
                prev_cursor: None,
                total: None,
            })
        };
        let results: Vec<_> = pages::<u32, _>(100, garbage).collect();
        assert!(matches!(results[..], [Err(Error::Decode(_))]));
    }
}
