"""Python SDK for pleo-host plugins: a thin, typed layer over the bindings componentize-py
generates from the project's WIT world (the package `wit_world`).

The same shapes as the Rust SDK (`pleo-plugin`):

* `pages(fetch)` walks any list operation of a Pleo interface page by page (`Pages`, with
  `total` and `seen` for progress, `.items()` for one object at a time); objects are Pleo's
  JSON as dicts, wrapped as `Record` so `entry.transactionValue.minors` works.
  `page_request(before=..., offset=..., sorting=...)` asks for one page backwards, by
  offset or in another order.
* `PleoError`: what a host call failed with (`case`, `status`, `type`, `message`), raised.
* `params`: the run's settings, typed (`date`, `integer`, `boolean`), checked by the host
  against the declaration in `pleo-plugin.toml`.
* `log`, `progress`, `OUT` (the read-write output folder) and `IN` (read-only input, if any).
* `money`: exact formatting of integer minor units.
* `entry_filter(...)`: a search-entries filter with every filter off but the ones named.

Everything except the host calls runs on plain CPython too, so the report's logic can be unit
tested natively (`python3 -m unittest`). The generated bindings are imported only when a host
function is called.
"""

from __future__ import annotations

import datetime as _dt
import json as _json
from typing import Any, Callable, Generic, Iterator, List, Optional, TypeVar

# The bindings exist only inside the component (componentize-py generates them from the
# project's world, which always imports log, progress and params). They are imported here, at
# build time, because componentize-py snapshots the interpreter after the imports: a module
# first imported while the plugin runs is not found.
try:
    from componentize_py_types import Err as _Err
    from wit_world.imports import log as _log_host
    from wit_world.imports import params as _params_host
    from wit_world.imports import progress as _progress_host
    from wit_world.imports.types import PageRequest as _PageRequest
    from wit_world.imports.types import SortBy as _SortBy
    from wit_world.imports.types import SortOrder as _SortOrder
except ImportError:  # plain CPython: unit tests of a plugin's logic

    class _Err(Exception):  # type: ignore[no-redef]
        def __init__(self, value: Any):
            super().__init__(value)
            self.value = value

    _log_host = _params_host = _progress_host = None  # type: ignore[assignment]
    _PageRequest = _SortBy = _SortOrder = None  # type: ignore[assignment]

SDK_VERSION = "0.1.0"

#: The plugin's output folder (read-write); the host lists the files written there.
OUT = "/out"
#: The input folder (read-only), when the operator gives one.
IN = "/in"


class PleoError(Exception):
    """A failed host call: the WIT `pleo-error` case (`not-found`, `scope-denied`, ...),
    and for Pleo's own errors (`conflict`, `invalid-request`) its HTTP status, `type` and
    message. Never carries the key."""

    def __init__(self, case: str, message: str, status: Optional[int] = None,
                 type: Optional[str] = None):
        self.case = case
        self.message = message
        self.status = status
        self.type = type
        super().__init__(str(self))

    def __str__(self) -> str:
        if self.status is not None:
            return f"{self.case}: HTTP {self.status} {self.type}: {self.message}"
        return f"{self.case}: {self.message}"

    @staticmethod
    def from_wit(error: Any) -> "PleoError":
        name = type(error).__name__.split("_", 1)[-1]
        case = "".join("-" + c.lower() if c.isupper() else c for c in name).lstrip("-")
        value = getattr(error, "value", None)
        if hasattr(value, "status"):
            return PleoError(case, value.message, value.status, value.code)
        if case == "rate-limited":
            return PleoError(case, f"retry after {value} s")
        return PleoError(case, str(value))


def call(function: Callable[..., Any], *args: Any) -> Any:
    """Calls a host function, turning its `Err(pleo-error)` into a raised `PleoError`."""
    try:
        return function(*args)
    except _Err as e:
        raise PleoError.from_wit(e.value) from None


class Record(dict):
    """A Pleo object: a dict whose keys can also be read as attributes (`entry.status`)."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    @staticmethod
    def wrap(value: Any) -> Any:
        if isinstance(value, dict):
            return Record({k: Record.wrap(v) for k, v in value.items()})
        if isinstance(value, list):
            return [Record.wrap(v) for v in value]
        return value


def decode(text: str) -> Any:
    """Pleo JSON (an object or a list of them) as `Record`s."""
    # The C decoder builds each object as a Record directly: no second walk in Python.
    return _json.loads(text, object_hook=Record)


T = TypeVar("T")


class Pages(Generic[T]):
    """Iterates the pages of a list operation; see `pages`."""

    def __init__(self, fetch: Callable[[Any], Any], page_size: int,
                 sorting: Optional[List[tuple]] = None, fields: Optional[List[str]] = None):
        self._fetch = fetch
        self._page_size = page_size
        self._sorting = list(sorting or [])
        self._fields = list(fields or [])
        self._next: Optional[Optional[str]] = None
        self._started = False
        self._done = False
        #: Total number of objects, when Pleo reports it.
        self.total: Optional[int] = None
        #: Objects seen so far.
        self.seen = 0

    def __iter__(self) -> Iterator[List[Record]]:
        return self

    def __next__(self) -> List[Record]:
        if self._done:
            raise StopIteration
        after = self._next if self._started else None
        self._started = True
        page = call(self._fetch, page_request(after=after, limit=self._page_size,
                                              sorting=self._sorting, fields=self._fields))
        if page.next_cursor is not None and page.next_cursor == after:
            self._done = True
            raise PleoError("cursor-repeated", f"paging did not advance past {after!r}")
        self._next = page.next_cursor
        self._done = page.next_cursor is None
        if page.total is not None:
            self.total = page.total
        items = decode(page.data)
        self.seen += len(items)
        return items

    def items(self) -> Iterator[Record]:
        """The same operation, one object at a time."""
        for page in self:
            yield from page


def pages(fetch: Callable[[Any], Any], page_size: int = 100,
          sorting: Optional[List[tuple]] = None,
          fields: Optional[List[str]] = None) -> Pages[Record]:
    """Pages through a list operation forward: `fetch(page_request)` is called with each
    page's cursor until a page has none, e.g.
    `pages(lambda page: accounting_entries_read.search_entries(filter, None, page))`.
    `sorting`: `[(key, order)]` asked for with every page, e.g. `[("name", "desc")]`.
    `fields`: only these top-level fields of each object, e.g. `["id", "status"]`; the host
    drops the others, so there is less JSON to decode (the interpreter's largest cost)."""
    return Pages(fetch, page_size, sorting, fields)


#: `sort-order` cases by name; `asc`, `desc`, `asc-nulls-first`, ...
SORT_ORDERS = ("asc", "asc-nulls-first", "asc-nulls-last",
               "desc", "desc-nulls-first", "desc-nulls-last")


def page_request(after: Optional[str] = None, before: Optional[str] = None,
                 offset: Optional[int] = None, limit: Optional[int] = None,
                 sorting: Optional[List[tuple]] = None,
                 fields: Optional[List[str]] = None) -> Any:
    """A `page-request` for one page: at most one of `after` (the `next_cursor` of the page
    before), `before` (the `prev_cursor` of the page after: paging backwards) and `offset`
    (the accounting-entries lists have none); `sorting` as `[(key, order)]` with an order of
    `SORT_ORDERS`; `fields`: only these top-level fields of each object (none: all). The
    host refuses what the operation does not allow."""
    def order(name: str) -> Any:
        if name not in SORT_ORDERS:
            raise ValueError(f"sort order {name!r} is not one of {', '.join(SORT_ORDERS)}")
        return getattr(_SortOrder, name.upper().replace("-", "_"))

    return _PageRequest(after=after, before=before, offset=offset, limit=limit,
                        sorting=[_SortBy(key=key, order=order(o)) for key, o in sorting or []],
                        fields=list(fields or []))


_ENTRY_FILTER = dict(
    include_deleted=False, date_range=None,
    employee_ids=[], account_ids=[], families=[], statuses=[], currencies=[],
    export_statuses=[], review_statuses=[], sub_families=[], team_ids=[], tax_code_ids=[],
    tag_row_ids=[], tag_group_ids_unset=[], foreign_extension_ids=[],
    settled=None, has_account=None, has_note=None, has_bookkeeping_date=None,
)


def entry_filter(**fields: Any) -> Any:
    """An `accounting_entries_read.EntryFilter` with every filter off except `fields`, e.g.
    `entry_filter(currencies=["DKK"])`: name only the filters you use, and keep working when
    the search gains one. A misspelt name raises `TypeError`. The plugin imports
    `wit_world.imports.accounting_entries_read` itself (that import asks for the scope)."""
    from wit_world.imports import accounting_entries_read as entries

    unknown = sorted(set(fields) - set(_ENTRY_FILTER))
    if unknown:
        raise TypeError(f"entry_filter: no filter {', '.join(unknown)}")
    values = {name: list(v) if isinstance(v, list) else v for name, v in _ENTRY_FILTER.items()}
    values.update(fields)
    return entries.EntryFilter(**values)


class _Params:
    """The run's parameters (from pleo.toml and `--param`), already checked by the host
    against the declaration, with declared defaults filled in."""

    def get(self, name: str, default: Optional[str] = None) -> Optional[str]:
        value = _params_host.get(name)
        return default if value is None else value

    def all(self) -> List[tuple]:
        return list(_params_host.all())

    def date(self, name: str) -> Optional[_dt.date]:
        return parse_date(name, self.get(name))

    def integer(self, name: str) -> Optional[int]:
        value = (self.get(name) or "").strip()
        return int(value) if value else None

    def boolean(self, name: str) -> Optional[bool]:
        value = (self.get(name) or "").strip()
        return None if not value else value == "true"


params = _Params()


def parse_date(name: str, value: Optional[str]) -> Optional[_dt.date]:
    """`YYYY-MM-DD` as a date; None when unset or blank."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        return _dt.date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"parameter `{name}`: expected a date as YYYY-MM-DD, got {value!r}")


def utc_date(timestamp: str) -> _dt.date:
    """The UTC calendar day of an RFC 3339 timestamp (`2026-03-01T23:30:00-02:00`)."""
    moment = _dt.datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    if moment.tzinfo is not None:
        moment = moment.astimezone(_dt.timezone.utc)
    return moment.date()


class _Log:
    """Log lines, shown by the host under the plugin's name."""

    def _write(self, level: str, message: str) -> None:
        _log_host.write(getattr(_log_host.Level, level), str(message))

    def trace(self, message: str) -> None:
        self._write("TRACE", message)

    def debug(self, message: str) -> None:
        self._write("DEBUG", message)

    def info(self, message: str) -> None:
        self._write("INFO", message)

    def warn(self, message: str) -> None:
        self._write("WARN", message)

    def error(self, message: str) -> None:
        self._write("ERROR", message)


log = _Log()


def progress(done: int, total: Optional[int], message: str) -> None:
    """`done` units of `total` (None: unknown), drawn by the host as a progress bar."""
    _progress_host.report(done, total, message)


_EXPONENTS = {**{c: 0 for c in "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF".split()},
              **{c: 3 for c in "BHD IQD JOD KWD LYD OMR TND".split()}, "CLF": 4, "UYW": 4}


def exponent(currency: str) -> int:
    """Decimals of an ISO 4217 currency (2 unless listed)."""
    return _EXPONENTS.get(currency, 2)


def format_minor_units(minors: int, currency: str) -> str:
    """Integer minor units as an exact decimal: (-5, "EUR") is "-0.05"."""
    digits = exponent(currency)
    sign = "-" if minors < 0 else ""
    whole, frac = divmod(abs(minors), 10 ** digits)
    return f"{sign}{whole}.{frac:0{digits}d}" if digits else f"{sign}{whole}"


def run_plugin(body: Callable[[], str]) -> str:
    """Runs the plugin's body as the world's `run`: a returned string is the summary; an
    exception becomes the one-line error the host shows (`Err(str)`)."""
    try:
        return body()
    except _Err:
        raise
    except Exception as e:  # the host shows one line
        message = " ".join(str(e).split()) or type(e).__name__
        raise _Err(message)
