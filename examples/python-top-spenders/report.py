"""The report's logic: no host calls, so `python3 -m unittest` runs it natively."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Dict, Optional, Tuple

from pleo_plugin import format_minor_units, utc_date


@dataclass
class Options:
    start: Optional[dt.date]
    end: Optional[dt.date]
    currency: str
    top: int

    def search_range(self) -> Tuple[Optional[str], Optional[str]]:
        """performedAtStart/End one millisecond wider than the period; `add` decides exactly."""
        day = dt.timedelta(days=1)
        return (
            f"{self.start - day}T23:59:59.999Z" if self.start else None,
            f"{self.end + day}T00:00:00.000Z" if self.end else None,
        )

    def period(self) -> str:
        return f"{self.start or 'any'}..{self.end or 'any'}"


#: The fields of an accounting entry the report reads: the only ones it asks the host for
#: (`pages(..., fields=FIELDS)`), so each page carries a fifth of the JSON.
FIELDS = ["performedAt", "status", "family", "deletedAt", "transactionValue", "employeeId"]


@dataclass
class Report:
    by_employee: Dict[str, list] = field(default_factory=dict)

    def add(self, entry: dict, options: Options) -> None:
        """Counts spend (not deleted, cancelled, rejected or a reimbursement) in the currency
        and period."""
        spend = (
            not entry.get("deletedAt")
            and entry["status"] not in ("CANCELLED", "REJECTED")
            and entry["family"] != "REIMBURSEMENT"
        )
        day = utc_date(entry["performedAt"])
        in_period = (options.start is None or options.start <= day) and (
            options.end is None or day <= options.end)
        value = entry["transactionValue"]
        if spend and in_period and value["currency"] == options.currency:
            totals = self.by_employee.setdefault(entry.get("employeeId") or "", [0, 0])
            totals[0] += 1
            totals[1] += int(value["minors"])

    def entries(self) -> int:
        return sum(n for n, _ in self.by_employee.values())

    def ranked(self):
        return sorted(self.by_employee.items(), key=lambda kv: (-kv[1][1], kv[0]))

    def csv(self, options: Options) -> str:
        lines = ["rank,employee_id,entries,amount"]
        for rank, (employee, (n, minors)) in enumerate(self.ranked()[: options.top], 1):
            lines.append(f"{rank},{employee},{n},{format_minor_units(minors, options.currency)}")
        return "\n".join(lines) + "\n"

    def summary(self, options: Options) -> str:
        total = sum(m for _, m in self.by_employee.values())
        return (
            f"top {min(options.top, len(self.by_employee))} of {len(self.by_employee)} employees "
            f"by {options.currency} spend, {options.period()}: {options.currency} "
            f"{format_minor_units(total, options.currency)} over {self.entries()} entries"
        )
