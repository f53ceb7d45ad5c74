"""top-spenders: the employees with the most spend in one currency, as a CSV file."""

import wit_world
from wit_world.imports import accounting_entries_read as entries

from pleo_plugin import OUT, entry_filter, log, pages, params, progress, run_plugin
from report import FIELDS, Options, Report


class WitWorld(wit_world.WitWorld):
    def run(self) -> str:
        return run_plugin(top_spenders)


def top_spenders() -> str:
    options = Options(
        start=params.date("from"),
        end=params.date("to"),
        currency=params.get("currency", "DKK"),
        top=max(params.integer("top") or 5, 0),
    )
    start, end = options.search_range()
    query = entry_filter(
        date_range=entries.DateRange(entries.DateField.PERFORMED_AT, start, end),
        currencies=[options.currency],
    )
    report = Report()
    walk = pages(lambda page: entries.search_entries(query, None, page), fields=FIELDS)
    for page in walk:
        for entry in page:
            report.add(entry, options)
        progress(walk.seen, walk.total, f"{walk.seen} entries")
    log.info(f"{report.entries()} entries counted")
    with open(f"{OUT}/top-spenders.csv", "w", newline="") as f:
        f.write(report.csv(options))
    return report.summary(options)
