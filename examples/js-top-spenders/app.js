// top-spenders: the employees with the most spend in one currency, as a CSV file.
import { searchEntries } from 'pleo:plugin/accounting-entries-read@0.1.0';

import {
  entryFilter, log, pages, params, progress, runPlugin, writeFile,
} from './pleo-sdk/js/pleo-plugin.js';
import { FIELDS, Report, options as makeOptions, searchRange } from './report.js';

export function run() {
  return runPlugin(() => {
    const options = makeOptions({
      from: params.date('from'),
      to: params.date('to'),
      currency: params.get('currency', 'DKK'),
      top: Math.max(params.integer('top') ?? 5, 0),
    });
    const [start, end] = searchRange(options);
    const filter = entryFilter({
      dateRange: { field: 'performed-at', start, end },
      currencies: [options.currency],
    });
    const report = new Report();
    const walk = pages((page) => searchEntries(filter, undefined, page), 100, [], FIELDS);
    for (const page of walk) {
      for (const entry of page) report.add(entry, options);
      progress(walk.seen, walk.total, `${walk.seen} entries`);
    }
    log.info(`${report.entries()} entries counted`);
    writeFile('top-spenders.csv', report.csv(options));
    return report.summary(options);
  });
}
