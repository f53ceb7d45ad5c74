// The SDK's pure helpers (no host calls): usable in a plugin's logic and its native tests.

// A new object each time: a plugin may change the lists it gets.
const entryFilterDefaults = () => ({
  includeDeleted: false, dateRange: undefined,
  employeeIds: [], accountIds: [], families: [], statuses: [], currencies: [],
  exportStatuses: [], reviewStatuses: [], subFamilies: [], teamIds: [], taxCodeIds: [],
  tagRowIds: [], tagGroupIdsUnset: [], foreignExtensionIds: [],
  settled: undefined, hasAccount: undefined, hasNote: undefined, hasBookkeepingDate: undefined,
});

/**
 * An `entry-filter` for `searchEntries` with every filter off except `fields`, e.g.
 * `entryFilter({ currencies: ['DKK'] })`: name only the filters you use, and keep working
 * when the search gains one. A misspelt name throws.
 */
export function entryFilter(fields = {}) {
  const filter = entryFilterDefaults();
  for (const [name, value] of Object.entries(fields)) {
    if (!Object.hasOwn(filter, name)) throw new Error(`entryFilter: no filter \`${name}\``);
    filter[name] = value;
  }
  return filter;
}

/** `YYYY-MM-DD` checked and kept as that string (dates compare as strings); undefined if blank. */
export function parseDate(name, value) {
  const v = (value ?? '').trim();
  if (v === '') return undefined;
  if (!/^\d{4}-\d{2}-\d{2}$/.test(v) || Number.isNaN(Date.parse(`${v}T00:00:00Z`)) ||
      new Date(`${v}T00:00:00Z`).toISOString().slice(0, 10) !== v) {
    throw new Error(`parameter \`${name}\`: expected a date as YYYY-MM-DD, got ${JSON.stringify(v)}`);
  }
  return v;
}

/** The UTC day (`YYYY-MM-DD`) of an RFC 3339 timestamp. */
export function utcDate(timestamp) {
  return new Date(timestamp).toISOString().slice(0, 10);
}

const EXPONENTS = Object.fromEntries([
  ...'BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF'.split(' ').map((c) => [c, 0]),
  ...'BHD IQD JOD KWD LYD OMR TND'.split(' ').map((c) => [c, 3]),
  ['CLF', 4], ['UYW', 4],
]);

/** Decimals of an ISO 4217 currency (2 unless listed). */
export function exponent(currency) {
  return EXPONENTS[currency] ?? 2;
}

/** Integer minor units (a Number or BigInt) as an exact decimal: (-5, 'EUR') is '-0.05'. */
export function formatMinorUnits(minors, currency) {
  const digits = exponent(currency);
  const n = BigInt(minors);
  const sign = n < 0n ? '-' : '';
  const abs = (n < 0n ? -n : n).toString().padStart(digits + 1, '0');
  return digits === 0 ? `${sign}${abs}` : `${sign}${abs.slice(0, -digits)}.${abs.slice(-digits)}`;
}

