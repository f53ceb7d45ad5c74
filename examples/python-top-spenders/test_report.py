import datetime as dt
import unittest

from report import Options, Report


def entry(employee, day, minors, status="COMPLETED"):
    return {
        "performedAt": f"{day}T12:00:00Z", "family": "CARD_PURCHASE", "status": status,
        "transactionValue": {"currency": "DKK", "minors": minors}, "employeeId": employee,
    }


class ReportTest(unittest.TestCase):
    def test_ranks_spend_by_employee(self):
        options = Options(dt.date(2026, 1, 1), dt.date(2026, 1, 31), "DKK", 2)
        report = Report()
        report.add(entry("a", "2026-01-02", 1000), options)
        report.add(entry("b", "2026-01-03", 5000), options)
        report.add(entry("b", "2026-01-04", 9999, "REJECTED"), options)
        report.add(entry("c", "2026-02-01", 9999), options)
        report.add(entry("d", "2026-01-05", 5, "PENDING"), options)
        self.assertEqual(report.csv(options),
                         "rank,employee_id,entries,amount\n1,b,1,50.00\n2,a,1,10.00\n")
        self.assertEqual(
            report.summary(options),
            "top 2 of 3 employees by DKK spend, 2026-01-01..2026-01-31: DKK 60.05 over 3 entries")


if __name__ == "__main__":
    unittest.main()
