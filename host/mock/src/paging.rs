//! Cursor pagination as Pleo documents it (`CursorPageInfo`).
//!
//! Items are sorted by the requested keys plus `id` as a tie-breaker. A cursor
//! holds the sort-key values of one item (keyset pagination), so a page boundary
//! stays put even if other items appear or disappear between requests. Cursors
//! are unpadded base32 (`^[A-Z2-7]+$`), which fits Pleo's `^[A-Z2-7=~]+$`.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use serde::Serialize;
use uuid::Uuid;

use super::error::ApiError;

/// Query parameters that steer paging; all others are echoed as `parameters`.
const PAGING_PARAMS: &[&str] = &[
    "before",
    "after",
    "offset",
    "limit",
    "sorting_keys",
    "sorting_order",
];

/// `PageOrder`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Order {
    Asc,
    AscNullsFirst,
    AscNullsLast,
    Desc,
    DescNullsFirst,
    DescNullsLast,
}

impl Order {
    const ALL: [Order; 6] = [
        Order::Asc,
        Order::AscNullsFirst,
        Order::AscNullsLast,
        Order::Desc,
        Order::DescNullsFirst,
        Order::DescNullsLast,
    ];

    fn as_str(self) -> &'static str {
        match self {
            Order::Asc => "ASC",
            Order::AscNullsFirst => "ASC_NULLS_FIRST",
            Order::AscNullsLast => "ASC_NULLS_LAST",
            Order::Desc => "DESC",
            Order::DescNullsFirst => "DESC_NULLS_FIRST",
            Order::DescNullsLast => "DESC_NULLS_LAST",
        }
    }

    fn parse(s: &str) -> Option<Order> {
        Order::ALL.into_iter().find(|o| o.as_str() == s)
    }

    fn descending(self) -> bool {
        matches!(
            self,
            Order::Desc | Order::DescNullsFirst | Order::DescNullsLast
        )
    }

    /// Like PostgreSQL: nulls are largest unless said otherwise.
    fn nulls_first(self) -> bool {
        match self {
            Order::AscNullsFirst | Order::DescNullsFirst | Order::Desc => true,
            Order::AscNullsLast | Order::DescNullsLast | Order::Asc => false,
        }
    }
}

/// The value of one sort key of one item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum SortValue {
    Null,
    Int(i64),
    Id(Uuid),
    Text(String),
}

impl SortValue {
    fn rank(&self) -> u8 {
        match self {
            SortValue::Null => 0,
            SortValue::Int(_) => 1,
            SortValue::Id(_) => 2,
            SortValue::Text(_) => 3,
        }
    }

    fn compare(&self, other: &SortValue, order: Order) -> Ordering {
        let natural = match (self, other) {
            (SortValue::Null, SortValue::Null) => return Ordering::Equal,
            (SortValue::Null, _) => return nulls(order),
            (_, SortValue::Null) => return nulls(order).reverse(),
            (SortValue::Int(a), SortValue::Int(b)) => a.cmp(b),
            (SortValue::Id(a), SortValue::Id(b)) => a.cmp(b),
            (SortValue::Text(a), SortValue::Text(b)) => a.cmp(b),
            (a, b) => a.rank().cmp(&b.rank()),
        };
        if order.descending() {
            natural.reverse()
        } else {
            natural
        }
    }
}

/// Where a null sorts relative to a value.
fn nulls(order: Order) -> Ordering {
    if order.nulls_first() {
        Ordering::Less
    } else {
        Ordering::Greater
    }
}

fn compare_keys(a: &[SortValue], b: &[SortValue], sort: &[(String, Order)]) -> Ordering {
    a.iter()
        .zip(b)
        .zip(sort)
        .map(|((x, y), (_, order))| x.compare(y, *order))
        .find(|o| o.is_ne())
        .unwrap_or(Ordering::Equal)
}

/// Paging rules of one endpoint.
pub(super) struct Rules {
    pub default_limit: u32,
    /// The export API documents `minimum: 0`; the others take at least 1.
    pub min_limit: u32,
    pub max_limit: u32,
    /// Only some endpoints document `offset`.
    pub allow_offset: bool,
    /// Accepted `sorting_keys` values; must include `id`.
    pub keys: &'static [&'static str],
    pub default_sort: &'static [(&'static str, Order)],
}

#[derive(Debug)]
enum Position {
    First,
    After(Vec<SortValue>),
    Before(Vec<SortValue>),
    Offset(u64),
}

/// A validated paging request.
#[derive(Debug)]
pub(super) struct PageRequest {
    limit: u32,
    position: Position,
    /// Requested (or default) sort, then `id` if not already there.
    sort: Vec<(String, Order)>,
    echo: CurrentRequest,
}

/// `CursorPageCurrentRequestInfo`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct CurrentRequest {
    parameters: BTreeMap<String, Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    after: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    before: Option<String>,
    limit: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    offset: Option<u64>,
    sorting_keys: Vec<String>,
    sorting_order: Vec<&'static str>,
}

/// `CursorPageInfo`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct PageInfo {
    has_next_page: bool,
    has_previous_page: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    start_cursor: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    end_cursor: Option<String>,
    total: u64,
    current_request_pagination: CurrentRequest,
}

/// `{data: [...], pagination: {...}}`.
#[derive(Debug, Serialize)]
pub(super) struct Page<'a, T> {
    pub data: Vec<&'a T>,
    pagination: PageInfo,
}

/// A page whose items were built for the answer from the sorted ones (e.g. with links signed
/// now), so only the items of the page are built.
#[derive(Debug, Serialize)]
pub(super) struct BuiltPage<U> {
    pub data: Vec<U>,
    pagination: PageInfo,
}

impl<'a, T> Page<'a, T> {
    pub(super) fn map<U>(self, f: impl FnMut(&'a T) -> U) -> BuiltPage<U> {
        BuiltPage {
            data: self.data.into_iter().map(f).collect(),
            pagination: self.pagination,
        }
    }
}

/// The only value of a query parameter; 400 if it is given more than once.
pub(super) fn single<'q>(
    query: &'q [(String, String)],
    name: &str,
) -> Result<Option<&'q str>, ApiError> {
    let mut values = query
        .iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.as_str());
    let first = values.next();
    if values.next().is_some() {
        return Err(ApiError::BadParameter(format!(
            "parameter {name} may only be given once"
        )));
    }
    Ok(first)
}

fn all<'q>(query: &'q [(String, String)], name: &str) -> Vec<&'q str> {
    query
        .iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .collect()
}

impl PageRequest {
    pub(super) fn parse(
        query: &[(String, String)],
        rules: &Rules,
    ) -> Result<PageRequest, ApiError> {
        let limit = parse_limit(single(query, "limit")?, rules)?;
        let (sort, shown_sort) = parse_sort(query, rules)?;
        // An empty cursor counts as none, so clients may send `after=` on page one.
        let after = single(query, "after")?.filter(|s| !s.is_empty());
        let before = single(query, "before")?.filter(|s| !s.is_empty());
        let offset = single(query, "offset")?;
        let given = [after.is_some(), before.is_some(), offset.is_some()];
        if given.iter().filter(|g| **g).count() > 1 {
            return Err(ApiError::BadParameter(
                "before, after and offset cannot be used together".into(),
            ));
        }
        let position = match (after, before, offset) {
            (Some(c), _, _) => Position::After(decode_cursor(c, &sort)?),
            (_, Some(c), _) => Position::Before(decode_cursor(c, &sort)?),
            (_, _, Some(o)) => Position::Offset(parse_offset(o, rules)?),
            _ => Position::First,
        };
        let parameters = query
            .iter()
            .filter(|(k, _)| !PAGING_PARAMS.contains(&k.as_str()))
            .fold(BTreeMap::<String, Vec<String>>::new(), |mut map, (k, v)| {
                map.entry(k.clone()).or_default().push(v.clone());
                map
            });
        let echo = CurrentRequest {
            parameters,
            after: after.map(String::from),
            before: before.map(String::from),
            limit,
            offset: match position {
                Position::Offset(o) => Some(o),
                _ => None,
            },
            sorting_keys: sort[..shown_sort].iter().map(|(k, _)| k.clone()).collect(),
            sorting_order: sort[..shown_sort].iter().map(|(_, o)| o.as_str()).collect(),
        };
        Ok(PageRequest {
            limit,
            position,
            sort,
            echo,
        })
    }

    /// The sort keys in effect, tie-breaker included.
    pub(super) fn sort_keys(&self) -> impl Iterator<Item = &str> {
        self.sort.iter().map(|(k, _)| k.as_str())
    }
}

fn parse_limit(raw: Option<&str>, rules: &Rules) -> Result<u32, ApiError> {
    let Some(raw) = raw else {
        return Ok(rules.default_limit);
    };
    let bad = || {
        ApiError::BadParameter(format!(
            "limit must be an integer from {} to {}",
            rules.min_limit, rules.max_limit
        ))
    };
    let n: i64 = raw.trim().parse().map_err(|_| bad())?;
    u32::try_from(n)
        .ok()
        .filter(|n| (rules.min_limit..=rules.max_limit).contains(n))
        .ok_or_else(bad)
}

fn parse_offset(raw: &str, rules: &Rules) -> Result<u64, ApiError> {
    if !rules.allow_offset {
        return Err(ApiError::BadParameter(
            "offset is not supported here; page with before/after cursors".into(),
        ));
    }
    raw.trim()
        .parse()
        .map_err(|_| ApiError::BadParameter("offset must be a non-negative integer".into()))
}

/// `sorting_keys` and `sorting_order` (repeated parameters, same length, or no
/// order at all, meaning ASC for every key).
fn parse_sort(
    query: &[(String, String)],
    rules: &Rules,
) -> Result<(Vec<(String, Order)>, usize), ApiError> {
    let keys = all(query, "sorting_keys");
    let orders = all(query, "sorting_order");
    if keys.is_empty() && !orders.is_empty() {
        return Err(ApiError::BadParameter(
            "sorting_order needs sorting_keys".into(),
        ));
    }
    if !orders.is_empty() && orders.len() != keys.len() {
        return Err(ApiError::BadParameter(
            "sorting_order must have one value per sorting_keys value".into(),
        ));
    }
    let mut sort = Vec::with_capacity(keys.len() + 1);
    for (i, key) in keys.iter().enumerate() {
        if !rules.keys.contains(key) {
            return Err(ApiError::BadParameter(format!(
                "sorting_keys must be one of {}",
                rules.keys.join(", ")
            )));
        }
        if sort.iter().any(|(k, _)| k == key) {
            return Err(ApiError::BadParameter(format!(
                "sorting key {key} given twice"
            )));
        }
        let order = match orders.get(i) {
            Some(o) => Order::parse(o).ok_or_else(|| {
                let names: Vec<&str> = Order::ALL.iter().map(|o| o.as_str()).collect();
                ApiError::BadParameter(format!("sorting_order must be one of {}", names.join(", ")))
            })?,
            None => Order::Asc,
        };
        sort.push((key.to_string(), order));
    }
    if sort.is_empty() {
        sort = rules
            .default_sort
            .iter()
            .map(|(k, o)| (k.to_string(), *o))
            .collect();
    }
    let shown = sort.len();
    if !sort.iter().any(|(k, _)| k == "id") {
        sort.push(("id".to_string(), Order::Asc));
    }
    Ok((sort, shown))
}

/// Cuts the requested page out of `items` in sort order. `key` gives an item's value for a
/// sort key name.
///
/// Like a database with an index, it does not sort everything for one page: it finds the
/// items past the cursor (or offset) and puts only the page's items in order, so walking a
/// large list costs about the same per page from the first to the last.
pub(super) fn paginate<'a, T>(
    items: Vec<&'a T>,
    req: &PageRequest,
    key: impl Fn(&T, &str) -> SortValue,
) -> Page<'a, T> {
    // Every item's sort-key values in one buffer, `width` per item: one allocation, not one
    // per item.
    let width = req.sort.len();
    let keys: Vec<SortValue> = items
        .iter()
        .flat_map(|item| req.sort_keys().map(|k| key(item, k)))
        .collect();
    let key_of = |i: usize| &keys[i * width..(i + 1) * width];
    let order = |a: &usize, b: &usize| compare_keys(key_of(*a), key_of(*b), &req.sort);
    let len = items.len();
    let limit = req.limit as usize;
    let all = || (0..len).collect::<Vec<usize>>();
    // `lo`: how many items sort before the page.
    let (lo, page) = match &req.position {
        Position::First => (0, smallest(all(), limit, order)),
        Position::Offset(o) => {
            let lo = usize::try_from(*o).unwrap_or(usize::MAX).min(len);
            let mut rest = all();
            if lo > 0 && lo < len {
                rest.select_nth_unstable_by(lo, order);
            }
            (lo, smallest(rest.split_off(lo), limit, order))
        }
        Position::After(c) => {
            let after: Vec<usize> = (0..len)
                .filter(|&i| compare_keys(key_of(i), c, &req.sort).is_gt())
                .collect();
            (len - after.len(), smallest(after, limit, order))
        }
        Position::Before(c) => {
            let mut before: Vec<usize> = (0..len)
                .filter(|&i| compare_keys(key_of(i), c, &req.sort).is_lt())
                .collect();
            let lo = before.len().saturating_sub(limit);
            if lo > 0 {
                before.select_nth_unstable_by(lo, order);
            }
            (lo, smallest(before.split_off(lo), limit, order))
        }
    };
    let hi = lo + page.len();
    let cursor = |i: Option<&usize>| i.map(|&i| encode_cursor(&req.sort, key_of(i)));
    Page {
        data: page.iter().map(|&i| items[i]).collect(),
        pagination: PageInfo {
            has_next_page: hi < len,
            has_previous_page: lo > 0,
            start_cursor: cursor(page.first()),
            end_cursor: cursor(page.last()),
            total: len as u64,
            current_request_pagination: req.echo.clone(),
        },
    }
}

/// The first `n` of `items` in `order`, sorted.
fn smallest(
    mut items: Vec<usize>,
    n: usize,
    order: impl Fn(&usize, &usize) -> Ordering,
) -> Vec<usize> {
    if items.len() > n {
        items.select_nth_unstable_by(n, &order);
        items.truncate(n);
    }
    items.sort_unstable_by(order);
    items
}

// ---------------------------------------------------------------------------
// Cursors: "<key>,<key>|<value>|<value>" in base32. Values are `n` (null),
// `i<int>`, `u<uuid hex>` or `s<utf-8 as hex>`, so no separator can appear inside.
// ---------------------------------------------------------------------------

fn encode_cursor(sort: &[(String, Order)], values: &[SortValue]) -> String {
    let mut text = sort
        .iter()
        .map(|(k, _)| k.as_str())
        .collect::<Vec<_>>()
        .join(",");
    for v in values {
        text.push('|');
        match v {
            SortValue::Null => text.push('n'),
            SortValue::Int(i) => text.push_str(&format!("i{i}")),
            SortValue::Id(id) => text.push_str(&format!("u{}", id.simple())),
            SortValue::Text(s) => {
                text.push('s');
                text.push_str(&to_hex(s.as_bytes()));
            }
        }
    }
    base32_encode(text.as_bytes())
}

/// Decodes a cursor made for the same sort; anything else is a 400.
fn decode_cursor(cursor: &str, sort: &[(String, Order)]) -> Result<Vec<SortValue>, ApiError> {
    let bad = || ApiError::BadParameter("invalid cursor".into());
    let bytes = base32_decode(cursor).ok_or_else(bad)?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    let mut parts = text.split('|');
    let keys: Vec<&str> = parts.next().ok_or_else(bad)?.split(',').collect();
    if !keys
        .iter()
        .copied()
        .eq(sort.iter().map(|(k, _)| k.as_str()))
    {
        return Err(ApiError::BadParameter(
            "cursor was made for a different sorting".into(),
        ));
    }
    let values = parts
        .map(decode_value)
        .collect::<Option<Vec<_>>>()
        .ok_or_else(bad)?;
    if values.len() != keys.len() {
        return Err(bad());
    }
    Ok(values)
}

fn decode_value(part: &str) -> Option<SortValue> {
    let (tag, rest) = part.split_at_checked(1)?;
    match tag {
        "n" if rest.is_empty() => Some(SortValue::Null),
        "i" => rest.parse().ok().map(SortValue::Int),
        "u" if rest.len() == 32 => Uuid::try_parse(rest).ok().map(SortValue::Id),
        "s" => String::from_utf8(from_hex(rest)?).ok().map(SortValue::Text),
        _ => None,
    }
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn from_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| s.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
        .collect()
}

const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// RFC 4648 base32 without padding.
fn base32_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 8 / 5 + 1);
    let (mut buf, mut bits) = (0u32, 0u32);
    for &b in bytes {
        buf = (buf << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(BASE32[((buf >> bits) & 31) as usize]));
        }
        buf &= (1 << bits) - 1;
    }
    if bits > 0 {
        out.push(char::from(BASE32[((buf << (5 - bits)) & 31) as usize]));
    }
    out
}

/// Accepts optional `=` padding; `None` for any other character.
fn base32_decode(s: &str) -> Option<Vec<u8>> {
    let s = s.trim_end_matches('=');
    if s.is_empty() {
        return None;
    }
    let mut out = Vec::with_capacity(s.len() * 5 / 8);
    let (mut buf, mut bits) = (0u32, 0u32);
    for c in s.bytes() {
        let v = BASE32.iter().position(|&x| x == c)? as u32;
        buf = (buf << 5) | v;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push(((buf >> bits) & 0xff) as u8);
        }
        buf &= (1 << bits) - 1;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULES: Rules = Rules {
        default_limit: 3,
        min_limit: 1,
        max_limit: 5,
        allow_offset: true,
        keys: &["id", "n"],
        default_sort: &[("n", Order::Asc)],
    };

    fn q(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// Items (id, n) where n may be null.
    static ITEMS: std::sync::LazyLock<Vec<(Uuid, Option<i64>)>> = std::sync::LazyLock::new(|| {
        (0..11u128)
            .map(|i| {
                (
                    Uuid::from_u128(i * 7919 % 13),
                    if i % 4 == 0 {
                        None
                    } else {
                        Some((i % 3) as i64)
                    },
                )
            })
            .collect()
    });

    fn key(item: &(Uuid, Option<i64>), k: &str) -> SortValue {
        match k {
            "id" => SortValue::Id(item.0),
            _ => item.1.map_or(SortValue::Null, SortValue::Int),
        }
    }

    fn walk(base: &[(&str, &str)], forward: bool) -> Vec<Uuid> {
        let all = &*ITEMS;
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..20 {
            let mut pairs = q(base);
            if let Some(c) = &cursor {
                pairs.push((if forward { "after" } else { "before" }.into(), c.clone()));
            }
            let req = PageRequest::parse(&pairs, &RULES).unwrap();
            let page = paginate(all.iter().collect(), &req, key);
            let ids: Vec<Uuid> = page.data.iter().map(|i| i.0).collect();
            if forward {
                seen.extend(ids)
            } else {
                seen.splice(0..0, ids);
            }
            let more = if forward {
                page.pagination.has_next_page
            } else {
                page.pagination.has_previous_page
            };
            if !more {
                return seen;
            }
            cursor = if forward {
                page.pagination.end_cursor
            } else {
                page.pagination.start_cursor
            };
        }
        panic!("paging did not end");
    }

    /// Every offset gives the same items as cutting the whole sorted list at that offset.
    #[test]
    fn offset_pages_are_slices_of_the_sorted_list() {
        let all_rules = Rules {
            default_limit: 100,
            max_limit: 100,
            ..RULES
        };
        let whole_req = PageRequest::parse(&q(&[]), &all_rules).unwrap();
        let whole: Vec<Uuid> = paginate(ITEMS.iter().collect(), &whole_req, key)
            .data
            .iter()
            .map(|i| i.0)
            .collect();
        for offset in 0..=whole.len() + 1 {
            let o = offset.to_string();
            let req = PageRequest::parse(&q(&[("offset", &o)]), &RULES).unwrap();
            let page = paginate(ITEMS.iter().collect(), &req, key);
            let ids: Vec<Uuid> = page.data.iter().map(|i| i.0).collect();
            let lo = offset.min(whole.len());
            let hi = (lo + 3).min(whole.len());
            assert_eq!(ids, whole[lo..hi], "offset {offset}");
            assert_eq!(page.pagination.has_previous_page, lo > 0);
            assert_eq!(page.pagination.has_next_page, hi < whole.len());
        }
    }

    #[test]
    fn base32_round_trips() {
        for input in [
            &b""[..],
            b"f",
            b"fo",
            b"foo",
            b"foob",
            b"fooba",
            b"foobar",
            &[0, 255, 17, 3],
        ] {
            let enc = base32_encode(input);
            assert!(enc.bytes().all(|c| BASE32.contains(&c)));
            if !input.is_empty() {
                assert_eq!(base32_decode(&enc).unwrap(), input);
            }
        }
        assert_eq!(base32_encode(b"foobar"), "MZXW6YTBOI");
        assert_eq!(base32_decode("MZXW6YTBOI======").unwrap(), b"foobar");
        assert!(base32_decode("mzxw").is_none());
        assert!(base32_decode("AB1").is_none());
    }

    #[test]
    fn forward_paging_sees_every_item_once_in_order() {
        for sort in [
            vec![],
            vec![("sorting_keys", "n"), ("sorting_order", "DESC")],
            vec![("sorting_keys", "id")],
        ] {
            let seen = walk(&sort, true);
            let req = PageRequest::parse(
                &q(&sort),
                &Rules {
                    default_limit: 100,
                    max_limit: 100,
                    ..RULES
                },
            )
            .unwrap();
            let whole: Vec<Uuid> = paginate(ITEMS.iter().collect(), &req, key)
                .data
                .iter()
                .map(|i| i.0)
                .collect();
            assert_eq!(seen, whole, "sort {sort:?}");
            assert_eq!(whole.len(), ITEMS.len());
        }
    }

    #[test]
    fn backward_paging_sees_the_same_items() {
        let forward = walk(&[], true);
        // Start from the end with an after-cursor past everything, then page back.
        let req = PageRequest::parse(&q(&[("offset", "9")]), &RULES).unwrap();
        let last = paginate(ITEMS.iter().collect(), &req, key);
        let mut back: Vec<Uuid> = last.data.iter().map(|i| i.0).collect();
        let mut cursor = last.pagination.start_cursor;
        while let Some(c) = cursor {
            let req = PageRequest::parse(&q(&[("before", &c)]), &RULES).unwrap();
            let page = paginate(ITEMS.iter().collect(), &req, key);
            back.splice(0..0, page.data.iter().map(|i| i.0));
            cursor = page
                .pagination
                .has_previous_page
                .then_some(page.pagination.start_cursor)
                .flatten();
        }
        assert_eq!(back, forward);
    }

    #[test]
    fn nulls_follow_postgres_defaults() {
        let asc = PageRequest::parse(&q(&[("sorting_keys", "n"), ("limit", "5")]), &RULES).unwrap();
        let page = paginate(ITEMS.iter().collect(), &asc, key);
        assert!(page.data.iter().all(|i| i.1.is_some()));
        let desc = PageRequest::parse(
            &q(&[("sorting_keys", "n"), ("sorting_order", "DESC")]),
            &RULES,
        )
        .unwrap();
        let page = paginate(ITEMS.iter().collect(), &desc, key);
        assert!(page.data.iter().all(|i| i.1.is_none()));
    }

    #[test]
    fn bad_requests_are_rejected() {
        let bad = [
            vec![("limit", "0")],
            vec![("limit", "6")],
            vec![("limit", "x")],
            vec![("limit", "1"), ("limit", "2")],
            vec![("after", "NOT-BASE32")],
            vec![("after", "MZXW6YTBOI")],
            vec![("after", "A"), ("before", "A")],
            vec![("offset", "-1")],
            vec![("sorting_keys", "nope")],
            vec![("sorting_order", "ASC")],
            vec![("sorting_keys", "n"), ("sorting_order", "UP")],
            vec![("sorting_keys", "n"), ("sorting_keys", "n")],
        ];
        for pairs in bad {
            assert!(PageRequest::parse(&q(&pairs), &RULES).is_err(), "{pairs:?}");
        }
        let no_offset = Rules {
            allow_offset: false,
            ..RULES
        };
        assert!(PageRequest::parse(&q(&[("offset", "1")]), &no_offset).is_err());
    }

    #[test]
    fn cursor_from_another_sort_is_rejected() {
        let req = PageRequest::parse(&[], &RULES).unwrap();
        let page = paginate(ITEMS.iter().collect(), &req, key);
        let c = page.pagination.end_cursor.unwrap();
        assert!(c.bytes().all(|b| BASE32.contains(&b)));
        let other = q(&[("sorting_keys", "id"), ("after", &c)]);
        assert!(PageRequest::parse(&other, &RULES).is_err());
        assert!(PageRequest::parse(&q(&[("after", &c)]), &RULES).is_ok());
    }

    #[test]
    fn text_values_survive_cursors() {
        let sort = vec![
            ("name".to_string(), Order::Asc),
            ("id".to_string(), Order::Asc),
        ];
        let values = vec![
            SortValue::Text("Søren|,x".into()),
            SortValue::Id(Uuid::from_u128(5)),
        ];
        let c = encode_cursor(&sort, &values);
        assert_eq!(decode_cursor(&c, &sort).unwrap(), values);
    }

    #[test]
    fn echo_lists_other_parameters_and_effective_sort() {
        let req = PageRequest::parse(&q(&[("companyId", "x"), ("limit", "2")]), &RULES).unwrap();
        let page = paginate(ITEMS.iter().collect(), &req, key);
        let v = serde_json::to_value(&page.pagination).unwrap();
        assert_eq!(
            v["currentRequestPagination"]["parameters"]["companyId"][0],
            "x"
        );
        assert_eq!(v["currentRequestPagination"]["limit"], 2);
        assert_eq!(v["currentRequestPagination"]["sortingKeys"][0], "n");
        assert_eq!(v["currentRequestPagination"]["sortingOrder"][0], "ASC");
        assert_eq!(v["total"], 11);
        assert_eq!(v["hasPreviousPage"], false);
        assert_eq!(v["hasNextPage"], true);
    }
}
