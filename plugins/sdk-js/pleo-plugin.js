// JavaScript SDK for pleo-host plugins: a thin layer over the bindings componentize-js gives
// the project's WIT world (imports named `pleo:plugin/<interface>@0.1.0`).
//
// The same shapes as the Rust SDK (`pleo-plugin`):
//   pages(fetch)     walks a list operation page by page (`.total`, `.seen`, `.items()`)
//   pageRequest(...) one page backwards (`before`), by `offset` or in another order
//   PleoError        a failed host call: `case`, `status`, `type`, `message`
//   params           the run's settings, typed; checked by the host against pleo-plugin.toml
//   log, progress    host services
//   writeFile(name)  a file in /out (the output folder); OUT and IN are the folders
//   formatMinorUnits exact money formatting from integer minor units
//   entryFilter      a search-entries filter with every filter off but the ones named
// The functions that touch the host are only called inside the component; everything else runs
// on Node too, so the report's logic can be unit tested natively (`node --test`).

import * as logHost from 'pleo:plugin/log@0.1.0';
import * as paramsHost from 'pleo:plugin/params@0.1.0';
import * as progressHost from 'pleo:plugin/progress@0.1.0';
import { getDirectories } from 'wasi:filesystem/preopens@0.2.12';

export * from './pure.js';
import { parseDate } from './pure.js';

export const SDK_VERSION = '0.1.0';
export const OUT = '/out';
export const IN = '/in';

/** A failed host call (WIT `pleo-error`); never carries the key. */
export class PleoError extends Error {
  constructor(kase, message, status, type) {
    super(status === undefined ? `${kase}: ${message}` : `${kase}: HTTP ${status} ${type}: ${message}`);
    this.case = kase;
    this.status = status;
    this.type = type;
    this.detail = message;
  }

  static fromWit(payload) {
    const { tag, val } = payload ?? {};
    if (val && typeof val === 'object' && 'status' in val) {
      return new PleoError(tag, val.message, val.status, val.code);
    }
    if (tag === 'rate-limited') return new PleoError(tag, `retry after ${val} s`);
    return new PleoError(tag ?? 'unknown', String(val ?? payload));
  }
}

/** Calls a host function; its `err(pleo-error)` is thrown as a PleoError. */
export function call(fn, ...args) {
  try {
    return fn(...args);
  } catch (e) {
    if (e && typeof e === 'object' && 'payload' in e) throw PleoError.fromWit(e.payload);
    throw e;
  }
}

/** Iterates the pages of a list operation (arrays of Pleo objects); see `pages`. */
export class Pages {
  constructor(fetch, pageSize, sorting = [], fields = []) {
    this.fetch = fetch;
    this.pageSize = pageSize;
    this.sorting = sorting;
    this.fields = fields;
    this.next = undefined;
    this.done = false;
    this.total = undefined;
    this.seen = 0;
  }

  *[Symbol.iterator]() {
    while (!this.done) {
      const after = this.next;
      const page = call(this.fetch, pageRequest({ after, limit: this.pageSize, sorting: this.sorting, fields: this.fields }));
      const cursor = page.nextCursor ?? undefined;
      if (cursor !== undefined && cursor === after) {
        this.done = true;
        throw new PleoError('cursor-repeated', `paging did not advance past ${after}`);
      }
      this.next = cursor;
      this.done = cursor === undefined;
      if (page.total !== undefined && page.total !== null) this.total = Number(page.total);
      const items = JSON.parse(page.data);
      this.seen += items.length;
      yield items;
    }
  }

  /** The same operation, one object at a time. */
  *items() {
    for (const page of this) yield* page;
  }
}

/**
 * Pages through a list operation forward: `fetch(pageRequest)` until a page has no next
 * cursor. `sorting`: `[{ key, order }]` asked for with every page, e.g.
 * `[{ key: 'name', order: 'desc' }]`. `fields`: only these top-level fields of each object,
 * e.g. ['id', 'status']; the host drops the others, so there is less JSON to parse.
 */
export function pages(fetch, pageSize = 100, sorting = [], fields = []) {
  return new Pages(fetch, pageSize, sorting, fields);
}

/**
 * A `page-request` for one page: at most one of `after` (the `nextCursor` of the page before),
 * `before` (the `prevCursor` of the page after: paging backwards) and `offset` (the
 * accounting-entries lists have none); `sorting` as `[{ key, order }]`, an order being 'asc',
 * 'desc', 'asc-nulls-first', ...; `fields`: only these top-level fields of each object, e.g.
 * ['id', 'status'] (none: all). The host refuses what the operation does not allow.
 */
export function pageRequest({ after, before, offset, limit, sorting = [], fields = [] } = {}) {
  return {
    after,
    before,
    offset,
    limit,
    sorting: sorting.map(({ key, order }) => ({ key, order })),
    fields: [...fields],
  };
}

/** The run's parameters, checked by the host against the declaration (defaults filled in). */
export const params = {
  get(name, fallback = undefined) {
    const value = paramsHost.get(name);
    return value === undefined || value === null ? fallback : value;
  },
  all() {
    return paramsHost.all();
  },
  date(name) {
    return parseDate(name, this.get(name));
  },
  integer(name) {
    const value = (this.get(name) ?? '').trim();
    return value === '' ? undefined : Number.parseInt(value, 10);
  },
  boolean(name) {
    const value = (this.get(name) ?? '').trim();
    return value === '' ? undefined : value === 'true';
  },
};

export const log = {
  trace: (m) => logHost.write('trace', String(m)),
  debug: (m) => logHost.write('debug', String(m)),
  info: (m) => logHost.write('info', String(m)),
  warn: (m) => logHost.write('warn', String(m)),
  error: (m) => logHost.write('error', String(m)),
};

/** `done` units of `total` (undefined: unknown), drawn by the host as a progress bar. */
export function progress(done, total, message) {
  progressHost.report(BigInt(done), total === undefined ? undefined : BigInt(total), String(message));
}

/** Writes (creates or replaces) the file `name` in the output folder. */
export function writeFile(name, text) {
  const preopen = getDirectories().find(([, path]) => path === OUT);
  if (!preopen) throw new Error(`no ${OUT} folder`);
  const file = preopen[0].openAt({}, name, { create: true, truncate: true }, { write: true });
  const stream = file.writeViaStream(0n);
  const bytes = new TextEncoder().encode(text);
  for (let at = 0; at < bytes.length; at += 4096) {
    stream.blockingWriteAndFlush(bytes.subarray(at, at + 4096));
  }
}

/** Runs the plugin's body as `run`: the returned string is the summary, a thrown error the
 *  one-line cause the host shows. */
export function runPlugin(body) {
  try {
    return body();
  } catch (e) {
    throw String(e && e.message ? e.message : e).split(/\s+/).join(' ');
  }
}
