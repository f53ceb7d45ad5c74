// The report's logic: no host calls, so `node --test` runs it natively.
import { formatMinorUnits, utcDate } from './pleo-sdk/js/pure.js';

export function options({ from, to, currency, top }) {
  return { from, to, currency, top };
}

function addDays(day, n) {
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}

/** performedAtStart/End one millisecond wider than the period; `add` decides exactly. */
export function searchRange(o) {
  return [
    o.from ? `${addDays(o.from, -1)}T23:59:59.999Z` : undefined,
    o.to ? `${addDays(o.to, 1)}T00:00:00.000Z` : undefined,
  ];
}

/**
 * The fields of an accounting entry the report reads: the only ones it asks the host for
 * (`pages(..., FIELDS)`), so each page carries a fifth of the JSON.
 */
export const FIELDS = ['performedAt', 'status', 'family', 'deletedAt', 'transactionValue', 'employeeId'];

export class Report {
  constructor() {
    this.byEmployee = new Map();
  }

  /** Counts spend (not deleted, cancelled, rejected or a reimbursement) in the currency and period. */
  add(entry, o) {
    const spend = !entry.deletedAt && !['CANCELLED', 'REJECTED'].includes(entry.status) &&
      entry.family !== 'REIMBURSEMENT';
    const day = utcDate(entry.performedAt);
    const inPeriod = (!o.from || o.from <= day) && (!o.to || day <= o.to);
    const value = entry.transactionValue;
    if (spend && inPeriod && value.currency === o.currency) {
      const key = entry.employeeId ?? '';
      const totals = this.byEmployee.get(key) ?? [0, 0n];
      this.byEmployee.set(key, [totals[0] + 1, totals[1] + BigInt(value.minors)]);
    }
  }

  entries() {
    let n = 0;
    for (const [count] of this.byEmployee.values()) n += count;
    return n;
  }

  ranked() {
    return [...this.byEmployee.entries()].sort((a, b) =>
      a[1][1] === b[1][1] ? (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0) : a[1][1] > b[1][1] ? -1 : 1);
  }

  csv(o) {
    const lines = ['rank,employee_id,entries,amount'];
    this.ranked().slice(0, o.top).forEach(([id, [n, minors]], i) => {
      lines.push(`${i + 1},${id},${n},${formatMinorUnits(minors, o.currency)}`);
    });
    return `${lines.join('\n')}\n`;
  }

  summary(o) {
    let total = 0n;
    for (const [, minors] of this.byEmployee.values()) total += minors;
    const size = this.byEmployee.size;
    return `top ${Math.min(o.top, size)} of ${size} employees by ${o.currency} spend, ` +
      `${o.from ?? 'any'}..${o.to ?? 'any'}: ${o.currency} ${formatMinorUnits(total, o.currency)} ` +
      `over ${this.entries()} entries`;
  }
}
