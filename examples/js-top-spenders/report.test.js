import assert from 'node:assert/strict';
import { test } from 'node:test';

import { Report, options } from './report.js';

const entry = (employeeId, day, minors, status = 'COMPLETED') => ({
  performedAt: `${day}T12:00:00Z`, family: 'CARD_PURCHASE', status,
  transactionValue: { currency: 'DKK', minors }, employeeId,
});

test('ranks spend by employee', () => {
  const o = options({ from: '2026-01-01', to: '2026-01-31', currency: 'DKK', top: 2 });
  const report = new Report();
  report.add(entry('a', '2026-01-02', 1000), o);
  report.add(entry('b', '2026-01-03', 5000), o);
  report.add(entry('b', '2026-01-04', 9999, 'REJECTED'), o);
  report.add(entry('c', '2026-02-01', 9999), o);
  report.add(entry('d', '2026-01-05', 5, 'PENDING'), o);
  assert.equal(report.csv(o), 'rank,employee_id,entries,amount\n1,b,1,50.00\n2,a,1,10.00\n');
  assert.equal(report.summary(o),
    'top 2 of 3 employees by DKK spend, 2026-01-01..2026-01-31: DKK 60.05 over 3 entries');
});
