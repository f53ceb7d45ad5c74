//! Reads Pleo's JSON answers without building them.
//!
//! The host checks who owns every object a plugin receives (DESIGN.md, non-negotiable 8) and
//! hands a page's `data` to the plugin as text. A page of 100 accounting entries is about
//! 100 KB of JSON: building it as a `serde_json::Value` was most of the host's CPU per page,
//! and reading it once for the envelope and again for the owners was the next largest share.
//! [`page`] does both in one pass of serde_json over the borrowed text: it reads `pagination`,
//! reads each item of `data` as its `id` and owner field (everything else skipped), and learns
//! where `data` lies in the text from the positions of the keys around it, so that the span can
//! be handed on without a second read.
//!
//! It knows JSON and Pleo's page envelope, nothing of plugins, companies or the call table.
//! The workspace builds it optimised in every profile (root `Cargo.toml`): it runs on every
//! answer the host passes to a plugin.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

/// What one object of an answer says of itself: its `id` and its owner field, when they are
/// strings; borrowed from the answer's text where the text has no escapes.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Owned<'a> {
    pub id: Option<Cow<'a, str>>,
    pub owner: Option<Cow<'a, str>>,
}

/// Why an answer could not be read: one line, for the error the caller makes of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Error(String);

impl Error {
    fn json(e: serde_json::Error) -> Error {
        Error(e.to_string())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

/// The message of a page whose `data` is not an array.
pub const DATA_NOT_AN_ARRAY: &str = "`data` of a list response is not an array";

/// The objects of an answer's JSON text (the items of an array, or the one object), each as
/// its `id` and `owner_field`. An item that is not an object has neither.
pub fn objects<'a>(text: &'a str, owner_field: &str) -> Result<Vec<Owned<'a>>, Error> {
    let mut de = serde_json::Deserializer::from_str(text);
    Objects { owner_field }
        .deserialize(&mut de)
        .and_then(|objects| de.end().map(|()| objects))
        .map_err(Error::json)
}

/// A cursor-paginated list (`{"data": [...], "pagination": {...}}`), read in one pass.
#[derive(Debug, PartialEq)]
pub struct Page<'a> {
    /// The text of the `data` array, as it is in the answer.
    pub data: &'a str,
    /// `endCursor` when `hasNextPage` is true.
    pub next_cursor: Option<String>,
    /// `startCursor` when `hasPreviousPage` is true.
    pub prev_cursor: Option<String>,
    pub total: Option<u64>,
    /// Each item of `data` as its `id` and owner field, when [`page`] was given one.
    pub objects: Vec<Owned<'a>>,
}

/// Reads a page: its envelope, and with `owner_field` the `id` and owner of every item.
pub fn page<'a>(body: &'a [u8], owner_field: Option<&str>) -> Result<Page<'a>, Error> {
    let text =
        std::str::from_utf8(body).map_err(|e| Error(format!("the answer is not UTF-8: {e}")))?;
    let mut de = serde_json::Deserializer::from_str(text);
    let top = Envelope { text, owner_field }
        .deserialize(&mut de)
        .and_then(|top| de.end().map(|()| top))
        .map_err(Error::json)?;
    let Some((found, objects)) = top.data else {
        return Err(Error("missing field `data`".into()));
    };
    let Some(pagination) = top.pagination else {
        return Err(Error("missing field `pagination`".into()));
    };
    let data = match found {
        Found::At(span) => &text[span.0..span.1],
        // A key written with escapes has no place in the text to measure from: read again.
        Found::Lost => data_by_second_read(text)?,
    };
    let next_cursor = match (pagination.has_next_page, pagination.end_cursor) {
        (true, Some(cursor)) => Some(cursor),
        (true, None) => return Err(Error("hasNextPage is true but endCursor is missing".into())),
        (false, _) => None,
    };
    let prev_cursor = match (pagination.has_previous_page, pagination.start_cursor) {
        (true, Some(cursor)) => Some(cursor),
        (true, None) => {
            return Err(Error(
                "hasPreviousPage is true but startCursor is missing".into(),
            ));
        }
        (false, _) => None,
    };
    Ok(Page {
        data,
        next_cursor,
        prev_cursor,
        total: pagination.total,
        objects,
    })
}

fn data_by_second_read(text: &str) -> Result<&str, Error> {
    #[derive(Deserialize)]
    struct Data<'a> {
        #[serde(borrow)]
        data: &'a RawValue,
    }
    let data: Data = serde_json::from_str(text).map_err(Error::json)?;
    Ok(data.data.get())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PageInfo {
    has_next_page: bool,
    end_cursor: Option<String>,
    /// Pleo documents it as always there; an answer without it has no page before.
    #[serde(default)]
    has_previous_page: bool,
    start_cursor: Option<String>,
    total: Option<u64>,
}

/// Where `data` is in the text: a byte range, or lost (a key around it was escaped).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Found {
    At((usize, usize)),
    Lost,
}

/// The top of a page.
struct Envelope<'t, 'f> {
    text: &'t str,
    owner_field: Option<&'f str>,
}

struct Top<'a> {
    data: Option<(Found, Vec<Owned<'a>>)>,
    pagination: Option<PageInfo>,
}

impl<'de, 'f> DeserializeSeed<'de> for Envelope<'de, 'f> {
    type Value = Top<'de>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, 'f> Visitor<'de> for Envelope<'de, 'f> {
    type Value = Top<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object with `data` and `pagination`")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut top = Top {
            data: None,
            pagination: None,
        };
        // `data`'s value starts after its key; it ends before the next key, or before the
        // object's closing brace. `Some(None)` while the end is still to be found.
        let mut open: Option<Option<usize>> = None;
        while let Some(key) = map.next_key_seed(Key { text: self.text })? {
            if let Some(start) = open.take() {
                set_end(&mut top, self.text, start, key.at);
            }
            match key.name.as_ref() {
                "data" => {
                    if top.data.is_some() {
                        return Err(de::Error::duplicate_field("data"));
                    }
                    let objects = map.next_value_seed(Items {
                        owner_field: self.owner_field,
                    })?;
                    top.data = Some((Found::Lost, objects));
                    // Past the key's closing quote.
                    open = Some(key.at.map(|at| at + key.name.len() + 2));
                }
                "pagination" => {
                    if top.pagination.is_some() {
                        return Err(de::Error::duplicate_field("pagination"));
                    }
                    top.pagination = Some(map.next_value()?);
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        if let Some(start) = open {
            // `data` was the last member: it ends before the closing brace.
            let close = self.text.trim_end().len().checked_sub(1);
            set_end(&mut top, self.text, start, close);
        }
        Ok(top)
    }
}

/// Records where `data` is: from after its key (`start`, past the closing quote) to before
/// `next`, the opening quote of the next key or the object's closing brace. Between them lie
/// only whitespace, `:` before and `,` after, as serde_json has just checked.
fn set_end(top: &mut Top<'_>, text: &str, start: Option<usize>, next: Option<usize>) {
    let (Some(start), Some(next), Some((found, _))) = (start, next, top.data.as_mut()) else {
        return;
    };
    let between = |c: char| c.is_ascii_whitespace() || c == ':' || c == ',';
    let Some(region) = text.get(start..next) else {
        return;
    };
    let value = region.trim_start_matches(between).trim_end_matches(between);
    if value.starts_with('[') && value.ends_with(']') {
        let from = start + (region.len() - region.trim_start_matches(between).len());
        *found = Found::At((from, from + value.len()));
    }
}

/// A top-level key and where its opening quote is in the text (`None` when it was written
/// with escapes: then the decoded key is not the text's, and no position is known).
struct Key<'t> {
    text: &'t str,
}

struct KeyAt<'de> {
    name: Cow<'de, str>,
    at: Option<usize>,
}

impl<'de> DeserializeSeed<'de> for Key<'de> {
    type Value = KeyAt<'de>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key<'de> {
    type Value = KeyAt<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        // Borrowed means unescaped: the key's text is the input's, right after its quote.
        let offset = (v.as_ptr() as usize).wrapping_sub(self.text.as_ptr() as usize);
        let inside = offset > 0 && offset + v.len() <= self.text.len();
        Ok(KeyAt {
            name: Cow::Borrowed(v),
            at: inside.then(|| offset - 1),
        })
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(KeyAt {
            name: Cow::Owned(v.to_owned()),
            at: None,
        })
    }
}

/// `data`: an array, each item read as an [`Item`] when an owner field is asked for.
struct Items<'f> {
    owner_field: Option<&'f str>,
}

impl<'de> DeserializeSeed<'de> for Items<'_> {
    type Value = Vec<Owned<'de>>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Items<'_> {
    type Value = Vec<Owned<'de>>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let Some(owner_field) = self.owner_field else {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            return Ok(Vec::new());
        };
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
        while let Some(owned) = seq.next_element_seed(Item { owner_field })? {
            items.push(owned);
        }
        Ok(items)
    }

    fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> {
        Err(de::Error::custom(DATA_NOT_AN_ARRAY))
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Err(E::custom(DATA_NOT_AN_ARRAY))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Err(E::custom(DATA_NOT_AN_ARRAY))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Err(E::custom(DATA_NOT_AN_ARRAY))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Err(E::custom(DATA_NOT_AN_ARRAY))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Err(E::custom(DATA_NOT_AN_ARRAY))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Err(E::custom(DATA_NOT_AN_ARRAY))
    }
}

/// The message of a page whose items cannot have fields picked from them.
pub const ITEM_NOT_AN_OBJECT: &str = "an item of `data` is not an object: no fields to pick";

/// `data` (a page's JSON array of objects) with only the top-level `fields` of each object,
/// in the order the object has them; a field an object lacks is left out, and a value is
/// passed on as its text. The host asks for every field from Pleo and hands a plugin only
/// the ones it reads: less for its JSON decoder, which in an interpreter is most of a
/// report's time.
pub fn project<F: AsRef<str>>(data: &str, fields: &[F]) -> Result<String, Error> {
    // The output is never longer than the input: every value is copied or dropped, and a
    // kept key is a field name (the host allows only ASCII letters, digits and `_`), which
    // needs no escapes.
    let mut out = String::with_capacity(data.len());
    let mut de = serde_json::Deserializer::from_str(data);
    Projection {
        fields,
        out: &mut out,
    }
    .deserialize(&mut de)
    .and_then(|()| de.end())
    .map_err(Error::json)?;
    Ok(out)
}

/// Writes the projection of an array (or, per item, of one object) to `out`.
struct Projection<'f, 'o, F> {
    fields: &'f [F],
    out: &'o mut String,
}

impl<'de, F: AsRef<str>> DeserializeSeed<'de> for Projection<'_, '_, F> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de, F: AsRef<str>> Visitor<'de> for Projection<'_, '_, F> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of objects")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        self.out.push('[');
        let mut first = true;
        loop {
            // The comma goes before the next item, if there is one.
            let mark = self.out.len();
            if !first {
                self.out.push(',');
            }
            let item = ProjectedObject {
                fields: self.fields,
                out: &mut *self.out,
            };
            if seq.next_element_seed(item)?.is_none() {
                self.out.truncate(mark);
                break;
            }
            first = false;
        }
        self.out.push(']');
        Ok(())
    }
}

/// One object of the array, written with only the fields asked for.
struct ProjectedObject<'f, 'o, F> {
    fields: &'f [F],
    out: &'o mut String,
}

impl<'de, F: AsRef<str>> DeserializeSeed<'de> for ProjectedObject<'_, '_, F> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, F: AsRef<str>> Visitor<'de> for ProjectedObject<'_, '_, F> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(ITEM_NOT_AN_OBJECT)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        self.out.push('{');
        let mut first = true;
        while let Some(key) = map.next_key_seed(MaybeStr(None))? {
            let Scanned::Str(key) = key else {
                map.next_value::<IgnoredAny>()?;
                continue;
            };
            if !self.fields.iter().any(|f| f.as_ref() == key) {
                map.next_value::<IgnoredAny>()?;
                continue;
            }
            let value: &'de RawValue = map.next_value()?;
            if !first {
                self.out.push(',');
            }
            first = false;
            // The key as JSON again (it was read unescaped), then the value as it was.
            self.out
                .push_str(&serde_json::to_string(key.as_ref()).map_err(de::Error::custom)?);
            self.out.push(':');
            self.out.push_str(value.get());
        }
        self.out.push('}');
        Ok(())
    }
}

/// The top of an answer: an array of objects, or one object.
struct Objects<'f> {
    owner_field: &'f str,
}

impl<'de> DeserializeSeed<'de> for Objects<'_> {
    type Value = Vec<Owned<'de>>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Objects<'_> {
    type Value = Vec<Owned<'de>>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object or array")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        Items {
            owner_field: Some(self.owner_field),
        }
        .visit_seq(seq)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        let item = Item {
            owner_field: self.owner_field,
        };
        Ok(vec![item.visit_map(map)?])
    }
}

/// One item: its `id` and owner field, anything else skipped.
#[derive(Clone, Copy)]
struct Item<'f> {
    owner_field: &'f str,
}

impl<'de> DeserializeSeed<'de> for Item<'_> {
    type Value = Owned<'de>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        // Not an object: nothing to read, and the owner check refuses it.
        Ok(match d.deserialize_any(MaybeStr(Some(self)))? {
            Scanned::Object(owned) => owned,
            Scanned::Str(_) | Scanned::Other => Owned::default(),
        })
    }
}

impl<'de> Item<'_> {
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Owned<'de>, A::Error> {
        let mut owned = Owned::default();
        while let Some(key) = map.next_key_seed(MaybeStr(None))? {
            let Scanned::Str(key) = key else {
                map.next_value::<IgnoredAny>()?;
                continue;
            };
            let (is_id, is_owner) = (key == "id", key == self.owner_field);
            if !is_id && !is_owner {
                map.next_value::<IgnoredAny>()?;
                continue;
            }
            // A repeated key counts as its last value, as a parsed object would keep it.
            let value = match map.next_value_seed(MaybeStr(None))? {
                Scanned::Str(value) => Some(value),
                Scanned::Object(_) | Scanned::Other => None,
            };
            if is_id {
                owned.id = value.clone();
            }
            if is_owner {
                owned.owner = value;
            }
        }
        Ok(owned)
    }
}

/// What a scanned value is: a string (borrowed where the text has no escapes), an object read
/// as an [`Item`] (when scanning items), or anything else, skipped.
enum Scanned<'de> {
    Str(Cow<'de, str>),
    Object(Owned<'de>),
    Other,
}

/// Scans one value; with an [`Item`], an object is read as one.
struct MaybeStr<'f>(Option<Item<'f>>);

impl<'de> DeserializeSeed<'de> for MaybeStr<'_> {
    type Value = Scanned<'de>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for MaybeStr<'_> {
    type Value = Scanned<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Scanned::Str(Cow::Borrowed(v)))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Scanned::Str(Cow::Owned(v.to_owned())))
    }

    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Scanned::Str(Cow::Owned(v)))
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Scanned::Other)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Scanned::Other)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Scanned::Other)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Scanned::Other)
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Scanned::Other)
    }

    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(Scanned::Other)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Scanned::Other)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        match self.0 {
            Some(item) => Ok(Scanned::Object(item.visit_map(map)?)),
            None => {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Scanned::Other)
            }
        }
    }
}

#[cfg(test)]
mod tests;
