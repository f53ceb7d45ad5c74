//! Generates a company's accounting entries: a year of card purchases, subscriptions, Pleo's
//! invoices, supplier invoices, employee expenses and their reimbursements, each with its
//! timing, status, export and review state, tags, splits and attendees.
//!
//! It draws from the company's rng where its employees left it (see `crate::seed`), in a fixed
//! order and without iterating a hash map, so the same config always gives the same entries.

use std::collections::{BTreeMap, HashMap};

use rand::Rng;
use rand::rngs::StdRng;
use rand::seq::{IndexedRandom, SliceRandom};
use uuid::Uuid;

use super::records::{
    AccountingEntry, Attendee, EntryTag, ExportStatus, Family, Money, ReviewStatus, SplitItem,
    Status, SubFamily, Supplier,
};
use crate::catalog::{self, VendorKind, VendorSpec};
use crate::data::{Account, CompanyData, TagGroup, TaxCode};
use crate::employees::Employee;
use crate::seed::{
    DAY, HOUR, LedgerSeed, Window, between, day_start, month_key, new_id, pick_weighted, ts,
    weight_total, weighted_index,
};

/// What differs between kinds of entries; [`EntryGen::build`] does the rest.
struct Draft {
    family: Family,
    sub_family: Option<SubFamily>,
    performed: i64,
    employee: Option<usize>,
    vendor: Option<usize>,
    value: Money,
    account_code: Option<&'static str>,
    tax_code: Option<&'static str>,
    note: Option<String>,
    receipts: usize,
    /// Seconds from purchase until the entry exists in Pleo.
    created_delay: (i64, i64),
    /// Seconds from purchase until settlement.
    settle_delay: (i64, i64),
    /// Chance and status of an entry that never completes.
    failure: Option<(f64, Status)>,
    /// Chance the entry gets deleted.
    delete_chance: f64,
    /// Book on the purchase date (out of pocket, invoices) instead of settlement.
    books_on_performed: bool,
    /// Whether a reviewer looks at it at all.
    reviewed: bool,
}

impl Draft {
    fn new(family: Family, performed: i64, value: Money) -> Draft {
        Draft {
            family,
            sub_family: None,
            performed,
            employee: None,
            vendor: None,
            value,
            account_code: None,
            tax_code: None,
            note: None,
            receipts: 0,
            created_delay: (60, 30 * 60),
            settle_delay: (DAY, 3 * DAY),
            failure: None,
            delete_chance: 0.0,
            books_on_performed: false,
            reviewed: true,
        }
    }
}

/// Lookups of the reference data the entries point at.
impl CompanyData {
    fn account(&self, code: &str) -> Option<&Account> {
        self.accounts.iter().find(|a| a.code == code)
    }

    fn account_by_id(&self, id: Uuid) -> Option<&Account> {
        self.accounts.iter().find(|a| a.id == id)
    }

    fn tax(&self, code: &str) -> Option<&TaxCode> {
        self.tax_codes.iter().find(|t| t.code == code)
    }

    fn tag_group(&self, code: &str) -> Option<&TagGroup> {
        self.tag_groups.iter().find(|g| g.code == code)
    }
}

/// Vendors of some kinds and their catalog weights, to pick from (made once: the entries pick
/// thousands of times).
struct VendorPool {
    vendors: Vec<usize>,
    weights: Vec<f64>,
    total: f64,
}

impl VendorPool {
    fn new(specs: &[&VendorSpec], kinds: &[VendorKind]) -> VendorPool {
        let vendors: Vec<usize> = (0..specs.len())
            .filter(|&i| kinds.contains(&specs[i].kind))
            .collect();
        let weights: Vec<f64> = vendors
            .iter()
            .map(|&i| f64::from(specs[i].weight))
            .collect();
        let total = weight_total(&weights);
        VendorPool {
            vendors,
            weights,
            total,
        }
    }

    fn pick(&self, rng: &mut StdRng) -> Option<usize> {
        pick_weighted(rng, &self.weights, self.total).map(|i| self.vendors[i])
    }
}

pub(crate) struct EntryGen<'a> {
    rng: &'a mut StdRng,
    /// The company's reference data and employees.
    data: &'a CompanyData,
    seed: &'a LedgerSeed,
    /// Sum of the employees' `activity`, their weights as spenders (summed once).
    activity_total: f64,
    window: Window,
    /// Where card purchases and out-of-pocket expenses happen.
    shops: VendorPool,
    bills: VendorPool,
    out: Vec<AccountingEntry>,
    target: usize,
}

impl<'a> EntryGen<'a> {
    pub(crate) fn new(rng: &'a mut StdRng, data: &'a CompanyData) -> EntryGen<'a> {
        let seed = &data.seed;
        let specs = &seed.vendor_specs;
        EntryGen {
            rng,
            data,
            seed,
            activity_total: weight_total(&seed.activity),
            window: seed.window,
            shops: VendorPool::new(specs, &[VendorKind::InStore, VendorKind::Online]),
            bills: VendorPool::new(specs, &[VendorKind::Bill]),
            out: Vec::with_capacity(seed.entries),
            target: seed.entries,
        }
    }

    /// Generates exactly `target` entries: fixed monthly charges first, then
    /// invoices and employee expenses, reimbursements of those, and card
    /// purchases to fill up.
    pub(crate) fn run(mut self) -> Vec<AccountingEntry> {
        let n = self.target;
        self.subscriptions(n / 6);
        self.pleo_invoices(n / 50);
        self.bill_invoices(n * 3 / 100);
        self.employee_expenses(n * 7 / 100, n * 3 / 100, n * 3 / 200);
        self.reimbursements(n * 3 / 100);
        self.card_purchases();
        // Without employees there can be no card purchases: fill with invoices.
        self.bill_invoices(self.room());
        let mut out = self.out;
        // By key, so the big entries move once rather than at every step of the sort.
        out.sort_by_cached_key(|e| (e.performed_at, e.id));
        out
    }

    fn room(&self) -> usize {
        self.target.saturating_sub(self.out.len())
    }

    fn finance_payer(&self) -> Option<usize> {
        if self.data.employees.len() > 1 {
            Some(1)
        } else {
            self.data.employees.first().map(|_| 0)
        }
    }

    fn pick_employee(&mut self) -> Option<usize> {
        pick_weighted(self.rng, &self.seed.activity, self.activity_total)
    }

    fn vendor_money(&mut self, vendor: usize) -> Money {
        let spec = self.seed.vendor_specs[vendor];
        Money {
            currency: spec.currency.to_string(),
            minors: price(
                self.rng,
                spec.min,
                spec.max,
                catalog::decimals(spec.currency),
            ),
        }
    }

    /// A draft for a purchase at `vendor`, with its account, tax code and receipt.
    fn vendor_draft(&mut self, family: Family, vendor: usize, performed: i64) -> Draft {
        let spec = self.seed.vendor_specs[vendor];
        let value = self.vendor_money(vendor);
        let mut d = Draft::new(family, performed, value);
        d.vendor = Some(vendor);
        d.account_code = Some(spec.account);
        d.tax_code = Some(spec.tax);
        d.receipts = 1;
        d.note = self.maybe_note(spec.account, 0.3);
        d
    }

    fn maybe_note(&mut self, account_code: &str, chance: f64) -> Option<String> {
        let notes = catalog::NOTES
            .iter()
            .find(|(code, _)| *code == account_code)?
            .1;
        if !self.rng.random_bool(chance) {
            return None;
        }
        notes.choose(self.rng).map(|s| s.to_string())
    }

    /// Monthly SaaS charges on the finance manager's card, same day and price each month.
    fn subscriptions(&mut self, cap: usize) {
        let Some(payer) = self.finance_payer() else {
            return;
        };
        let vendors = VendorPool::new(&self.seed.vendor_specs, &[VendorKind::Subscription]).vendors;
        let plans: Vec<(usize, i64, Money)> = vendors
            .iter()
            .map(|&v| (v, between(self.rng, 0, 27), self.vendor_money(v)))
            .collect();
        let mut budget = cap.min(self.room());
        for month in self.window.month_starts() {
            for (vendor, day, money) in &plans {
                let performed = month + day * DAY + between(self.rng, 2 * HOUR, 6 * HOUR);
                if budget == 0 || performed < self.window.start || performed > self.window.end {
                    continue;
                }
                let mut d = self.vendor_draft(Family::CardPurchase, *vendor, performed);
                d.value = money.clone();
                d.sub_family = Some(SubFamily::Online);
                d.employee = Some(payer);
                d.note = None;
                d.failure = Some((0.01, Status::Cancelled));
                self.push(d);
                budget -= 1;
            }
        }
    }

    /// Pleo's own fee, on the first of each month.
    fn pleo_invoices(&mut self, cap: usize) {
        let pool = VendorPool::new(&self.seed.vendor_specs, &[VendorKind::Pleo]);
        let Some(vendor) = pool.pick(self.rng) else {
            return;
        };
        let money = self.vendor_money(vendor);
        let mut budget = cap.min(12).min(self.room());
        for month in self.window.month_starts() {
            let performed = month + 6 * HOUR;
            if budget == 0 || performed < self.window.start {
                continue;
            }
            let mut d = self.vendor_draft(Family::PleoInvoice, vendor, performed);
            d.value = money.clone();
            d.sub_family = Some(SubFamily::PleoInvoice);
            d.settle_delay = (0, 2 * HOUR);
            d.reviewed = false;
            d.note = None;
            self.push(d);
            budget -= 1;
        }
    }

    /// Supplier invoices: no employee, paid two to four weeks after the invoice date.
    fn bill_invoices(&mut self, count: usize) {
        for _ in 0..count.min(self.room()) {
            let Some(vendor) = self.bills.pick(self.rng) else {
                return;
            };
            let performed = self.window.work_time(self.rng, (8, 16));
            let mut d = self.vendor_draft(Family::BillInvoice, vendor, performed);
            d.created_delay = (HOUR, 4 * DAY);
            d.settle_delay = (14 * DAY, 30 * DAY);
            d.failure = Some((0.03, Status::Rejected));
            d.books_on_performed = true;
            d.reviewed = false;
            d.note = None;
            self.push(d);
        }
    }

    fn employee_expenses(&mut self, out_of_pocket: usize, mileage: usize, per_diem: usize) {
        if self.data.employees.is_empty() {
            return;
        }
        for _ in 0..out_of_pocket.min(self.room()) {
            self.out_of_pocket();
        }
        for _ in 0..mileage.min(self.room()) {
            self.mileage();
        }
        for _ in 0..per_diem.min(self.room()) {
            self.per_diem();
        }
    }

    /// Shared timing of expenses employees file and get paid back for.
    fn employee_claim(d: &mut Draft) {
        d.created_delay = (10 * 60, 3 * DAY);
        d.settle_delay = (4 * DAY, 20 * DAY);
        d.failure = Some((0.03, Status::Rejected));
        d.books_on_performed = true;
    }

    fn out_of_pocket(&mut self) {
        let Some(vendor) = self.shops.pick(self.rng) else {
            return;
        };
        let performed = self.window.work_time(self.rng, (7, 22));
        let mut d = self.vendor_draft(Family::OutOfPocket, vendor, performed);
        d.employee = self.pick_employee();
        d.delete_chance = 0.03; // duplicates people remove again
        Self::employee_claim(&mut d);
        self.push(d);
    }

    fn mileage(&mut self) {
        let (trip, km) = *catalog::MILEAGE_TRIPS
            .choose(self.rng)
            .unwrap_or(&("Client visit", 50));
        let km = if self.rng.random_bool(0.8) {
            km * 2
        } else {
            km
        };
        let performed = self.window.work_time(self.rng, (7, 18));
        let value = Money {
            currency: "DKK".into(),
            minors: km * catalog::MILEAGE_ORE_PER_KM,
        };
        let mut d = Draft::new(Family::Mileage, performed, value);
        d.employee = self.pick_employee();
        d.account_code = Some("2250");
        d.tax_code = Some("DK0");
        d.note = Some(format!("{trip}, {km} km"));
        Self::employee_claim(&mut d);
        self.push(d);
    }

    fn per_diem(&mut self) {
        let trip = catalog::PER_DIEM_TRIPS
            .choose(self.rng)
            .copied()
            .unwrap_or("Business trip");
        let days = between(self.rng, 1, 5);
        let performed = self.window.work_time(self.rng, (7, 18));
        let value = Money {
            currency: "DKK".into(),
            minors: days * catalog::PER_DIEM_ORE_PER_DAY,
        };
        let mut d = Draft::new(Family::PerDiem, performed, value);
        d.employee = self.pick_employee();
        d.account_code = Some("2260");
        d.tax_code = Some("DK0");
        d.note = Some(format!(
            "{trip}, {days} day{}",
            if days == 1 { "" } else { "s" }
        ));
        Self::employee_claim(&mut d);
        self.push(d);
    }

    /// Pays each employee, early in the next month, what their completed claims of a
    /// month came to (sum of `totalBillValue`).
    fn reimbursements(&mut self, cap: usize) {
        let index: HashMap<Uuid, usize> = (self.data.employees.iter().enumerate())
            .map(|(i, e)| (e.id, i))
            .collect();
        // A BTreeMap keeps the order (and so the data) the same on every run.
        let mut owed: BTreeMap<(i64, usize), i64> = BTreeMap::new();
        for e in &self.out {
            let claim = matches!(
                e.family,
                Family::OutOfPocket | Family::Mileage | Family::PerDiem
            );
            if !claim || e.status != Status::Completed || e.deleted_at.is_some() {
                continue;
            }
            let (Some(emp), Some(bill)) = (e.employee_id, &e.total_bill_value) else {
                continue;
            };
            if let Some(&idx) = index.get(&emp) {
                *owed
                    .entry((month_key(e.performed_at.timestamp()), idx))
                    .or_default() += bill.minors;
            }
        }
        let mut owed: Vec<((i64, usize), i64)> = owed.into_iter().collect();
        owed.shuffle(self.rng);
        let months = self.window.month_starts();
        let mut budget = cap.min(self.room());
        for ((month, employee), minors) in owed {
            let Some(payday) = payday_after(&months, month) else {
                continue;
            };
            if budget == 0 || payday > self.window.end {
                continue;
            }
            let value = Money {
                currency: "DKK".into(),
                minors,
            };
            let mut d = Draft::new(Family::Reimbursement, payday, value);
            d.sub_family = Some(SubFamily::ReimbursementToEmployee);
            d.employee = Some(employee);
            d.settle_delay = (HOUR, DAY);
            d.reviewed = false;
            self.push(d);
            budget -= 1;
        }
    }

    /// Everyday card spending until the target count is reached.
    fn card_purchases(&mut self) {
        if self.data.employees.is_empty() {
            return;
        }
        for _ in 0..self.room() {
            let Some(vendor) = self.shops.pick(self.rng) else {
                return;
            };
            let performed = self.window.work_time(self.rng, (7, 22));
            let mut d = self.vendor_draft(Family::CardPurchase, vendor, performed);
            d.sub_family = Some(match self.seed.vendor_specs[vendor].kind {
                VendorKind::InStore => SubFamily::InStore,
                _ => SubFamily::Online,
            });
            d.employee = self.pick_employee();
            d.failure = Some((0.015, Status::Cancelled));
            d.delete_chance = 0.004;
            if self.rng.random_bool(0.07) {
                d.receipts = 0; // missing receipt
            }
            self.push(d);
        }
    }

    fn push(&mut self, d: Draft) {
        let entry = self.build(d);
        self.out.push(entry);
    }

    /// Turns a draft into an entry: timing, status, export/review state, money in
    /// the company currency, tags, splits and attendees.
    fn build(&mut self, d: Draft) -> AccountingEntry {
        let (w, data) = (self.window, self.data);
        let performed = d.performed.clamp(w.start, w.end);
        let created = (performed + between(self.rng, d.created_delay.0, d.created_delay.1))
            .clamp(performed, w.end);
        let (status, settled) = self.settle(&d, performed);
        let deleted = self
            .rng
            .random_bool(d.delete_chance.clamp(0.0, 1.0))
            .then(|| (created + between(self.rng, HOUR, 3 * DAY)).clamp(created, w.end));
        let export_status = self.export_status(status, settled, deleted.is_some());
        let exported = (export_status == ExportStatus::Exported)
            .then(|| settled.map(|s| (s + between(self.rng, DAY, 5 * DAY)).min(w.end)))
            .flatten();
        let updated = [Some(created), settled, deleted, exported]
            .into_iter()
            .flatten()
            .max()
            .unwrap_or(created);
        let books = match status {
            Status::Cancelled | Status::Rejected => None,
            _ if d.books_on_performed => Some(performed),
            _ => settled,
        };
        let employee = d.employee.and_then(|i| data.employees.get(i));
        let total = Money {
            currency: "DKK".into(),
            minors: self.in_dkk(&d.value),
        };
        // Recent entries are sometimes still uncategorised.
        let categorised = export_status == ExportStatus::Exported || self.rng.random_bool(0.93);
        let account = d
            .account_code
            .filter(|_| categorised)
            .and_then(|c| data.account(c));
        let tax = d.tax_code.filter(|_| categorised).and_then(|c| data.tax(c));
        // Only spending is tagged; transfers such as reimbursements are not.
        let tags = if d.account_code.is_some() {
            self.tags(employee)
        } else {
            Vec::new()
        };
        let receipt_ids = (0..d.receipts).map(|_| new_id(self.rng)).collect();
        let mut entry = AccountingEntry {
            id: new_id(self.rng),
            company_id: data.company.id,
            created_at: ts(created),
            updated_at: ts(updated),
            performed_at: ts(performed),
            settled_at: settled.map(ts),
            bookkeeping_date: books.map(|b| ts(day_start(b))),
            deleted_at: deleted.map(ts),
            family: d.family,
            sub_family: d.sub_family,
            status,
            export_status,
            review_status: self.review_status(status, export_status, d.reviewed),
            employee_id: employee.map(|e| e.id),
            team_id: employee.and_then(|e| e.team_id),
            account_id: account.map(|a| a.id),
            account_code: account.map(|a| a.code.clone()),
            tax_code_id: tax.map(|t| t.id),
            transaction_value: d.value,
            total_bill_value: Some(total),
            note: d.note,
            supplier: None,
            receipt_ids,
            tags,
            split_items: Vec::new(),
            attendees: Vec::new(),
            vendor_id: d.vendor.and_then(|v| data.vendors.get(v)).map(|v| v.id),
        };
        self.decorate(&mut entry);
        entry
    }

    /// Whether and when the money moved. Entries that would settle after the end of
    /// the data are still pending.
    fn settle(&mut self, d: &Draft, performed: i64) -> (Status, Option<i64>) {
        if let Some((chance, failed)) = d.failure
            && self.rng.random_bool(chance.clamp(0.0, 1.0))
        {
            return (failed, None);
        }
        let settled = performed + between(self.rng, d.settle_delay.0, d.settle_delay.1);
        if settled > self.window.end {
            (Status::Pending, None)
        } else {
            (Status::Completed, Some(settled))
        }
    }

    /// Older settled entries have been exported; recent ones wait for the next export.
    fn export_status(
        &mut self,
        status: Status,
        settled: Option<i64>,
        deleted: bool,
    ) -> ExportStatus {
        if deleted {
            return ExportStatus::NotCreated;
        }
        match (status, settled) {
            (Status::Cancelled | Status::Rejected, _) => ExportStatus::NotCreated,
            (Status::Completed, Some(s)) if s < self.window.end - 30 * DAY => {
                if self.rng.random_bool(0.02) {
                    ExportStatus::NotExported
                } else {
                    ExportStatus::Exported
                }
            }
            (Status::Completed, _) if self.rng.random_bool(0.1) => ExportStatus::Queued,
            _ => ExportStatus::Created,
        }
    }

    fn review_status(
        &mut self,
        status: Status,
        export: ExportStatus,
        reviewed: bool,
    ) -> ReviewStatus {
        match status {
            Status::Rejected => return ReviewStatus::NotOk,
            Status::Cancelled => return ReviewStatus::NotRequired,
            _ => {}
        }
        if !reviewed {
            return ReviewStatus::NotRequired;
        }
        if matches!(export, ExportStatus::Exported | ExportStatus::NotExported) {
            return if self.rng.random_bool(0.75) {
                ReviewStatus::Ok
            } else {
                ReviewStatus::NotRequired
            };
        }
        let options = [
            (ReviewStatus::NotSet, 0.5),
            (ReviewStatus::Ok, 0.25),
            (ReviewStatus::WaitingForReviewer, 0.2),
            (ReviewStatus::WaitingForExpenseOwner, 0.05),
        ];
        weighted_index(self.rng, &options.map(|o| o.1))
            .map_or(ReviewStatus::NotSet, |i| options[i].0)
    }

    /// The amount in DKK at a rate that moves a little from day to day.
    fn in_dkk(&mut self, value: &Money) -> i64 {
        let rate = catalog::FX_TO_DKK
            .iter()
            .find(|(c, _)| *c == value.currency)
            .map_or(1.0, |(_, r)| *r);
        if rate == 1.0 {
            return value.minors;
        }
        let jitter = 1.0 + (self.rng.random::<f64>() - 0.5) * 0.03;
        // Øre from minor units of a currency that may have 0 or 3 decimals.
        let major = value.minors as f64 / 10_f64.powi(catalog::decimals(&value.currency) as i32);
        (major * 100.0 * rate * jitter).round() as i64
    }

    /// Cost-center tag from the employee, a project tag now and then.
    fn tags(&mut self, employee: Option<&Employee>) -> Vec<EntryTag> {
        let mut tags = Vec::new();
        if let (Some(group), Some(tag)) = (
            self.data.tag_group("CC"),
            employee.and_then(|e| e.cost_center_tag_id),
        ) && self.rng.random_bool(0.7)
        {
            tags.push(EntryTag {
                tag_group_id: group.id,
                tag_id: Some(tag),
            });
        }
        if let Some(group) = self.data.tag_group("PRJ")
            && self.rng.random_bool(0.25)
            && let Some(tag) = group.tags.choose(self.rng)
        {
            tags.push(EntryTag {
                tag_group_id: group.id,
                tag_id: Some(tag.id),
            });
        }
        tags
    }

    /// Supplier details on invoices, attendees on bigger meals, splits now and then.
    fn decorate(&mut self, entry: &mut AccountingEntry) {
        if entry.family == Family::BillInvoice {
            let external = entry
                .vendor_id
                .and_then(|id| self.data.vendors.iter().find(|v| v.id == id))
                .map(|v| v.external_id.clone());
            entry.supplier = Some(Supplier {
                document_number: Some(format!("INV-{}", between(self.rng, 10_000, 99_999))),
                external_supplier_id: external,
                ..Supplier::default()
            });
        }
        let dkk = entry.total_bill_value.as_ref().map_or(0, |m| m.minors);
        if entry.account_code.as_deref() == Some("2220")
            && dkk > 40_000
            && self.rng.random_bool(0.4)
        {
            entry.attendees = self.attendees(entry.employee_id);
        }
        let splittable = entry.family == Family::CardPurchase
            && entry.status == Status::Completed
            && entry.account_id.is_some()
            && dkk >= 20_000;
        if splittable && self.rng.random_bool(0.04) {
            entry.split_items = self.split(entry);
        }
    }

    fn attendees(&mut self, host: Option<Uuid>) -> Vec<Attendee> {
        let count = between(self.rng, 1, 4);
        let mut out = Vec::new();
        for _ in 0..count {
            let colleague = (self.data.employees)
                .choose(self.rng)
                .map(|e| e.id)
                .filter(|id| Some(*id) != host);
            let (kind, who) = match colleague {
                Some(id) if self.rng.random_bool(0.6) => ("EMPLOYEE", id),
                _ => ("CONTACT", new_id(self.rng)),
            };
            out.push(Attendee {
                id: new_id(self.rng).to_string(),
                attendable_id: who.to_string(),
                attendable_type: kind.to_string(),
            });
        }
        out
    }

    /// Two lines: most of it on the entry's account, the rest on another.
    fn split(&mut self, entry: &AccountingEntry) -> Vec<SplitItem> {
        let Some(total) = entry.total_bill_value.clone() else {
            return Vec::new();
        };
        let share = 0.55 + self.rng.random::<f64>() * 0.35;
        let tx_first = (entry.transaction_value.minors as f64 * share).round() as i64;
        let bill_first = (total.minors as f64 * share).round() as i64;
        let others: Vec<&Account> = (self.data.accounts)
            .iter()
            .filter(|a| Some(a.id) != entry.account_id)
            .collect();
        let other = others.choose(self.rng).copied();
        let lines = [
            (entry.account_id, tx_first, bill_first),
            (
                other.map(|a| a.id),
                entry.transaction_value.minors - tx_first,
                total.minors - bill_first,
            ),
        ];
        lines
            .into_iter()
            .map(|(account_id, tx, bill)| SplitItem {
                id: new_id(self.rng),
                created_at: entry.created_at,
                updated_at: entry.updated_at,
                account_id,
                account_code: account_id
                    .and_then(|id| self.data.account_by_id(id))
                    .map(|a| a.code.clone()),
                tax_code_id: entry.tax_code_id,
                tags: entry.tags.clone(),
                transaction_value: Money {
                    currency: entry.transaction_value.currency.clone(),
                    minors: tx,
                },
                total_bill_value: Money {
                    currency: total.currency.clone(),
                    minors: bill,
                },
            })
            .collect()
    }
}

/// Reimbursements are paid on the 5th of the month after the claims (claims of the
/// last month are paid after the end of the data, so not at all here).
fn payday_after(month_starts: &[i64], month: i64) -> Option<i64> {
    month_starts
        .iter()
        .find(|&&m| month_key(m) == month + 1)
        .map(|m| m + 4 * DAY + 9 * HOUR)
}

/// A price in minor units of a currency with `decimals` decimals, skewed towards the cheap end
/// of the range like real spend.
fn price(rng: &mut StdRng, min_major: i64, max_major: i64, decimals: u32) -> i64 {
    let u: f64 = rng.random();
    let span = (max_major - min_major).max(0) as f64;
    let major = min_major as f64 + span * u * u;
    let unit = 10_i64.pow(decimals);
    let fraction = match rng.random_range(0..4) {
        0 => 0,
        1 => unit / 2,
        2 => unit - unit / 20,
        _ => rng.random_range(0..unit),
    };
    (major as i64) * unit + fraction
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use chrono::NaiveDate;

    use super::*;
    use crate::{Dataset, MockConfig};

    fn cfg() -> MockConfig {
        MockConfig {
            anchor: NaiveDate::from_ymd_opt(2025, 6, 30).unwrap_or_default(),
            ..MockConfig::default()
        }
    }

    #[test]
    fn entries_stay_in_window_and_are_consistent() {
        let c = cfg();
        let ds = Dataset::seed(&c);
        let w = Window::ending(c.anchor);
        let first = NaiveDate::from_ymd_opt(2024, 7, 1).unwrap_or_default();
        assert_eq!(ts(w.start).date_naive(), first);
        let accounts: HashSet<Uuid> = ds.accounts.iter().map(|a| a.id).collect();
        let taxes: HashSet<Uuid> = ds.tax_codes.iter().map(|t| t.id).collect();
        let tags: HashSet<Uuid> = ds
            .tag_groups
            .iter()
            .flat_map(|g| &g.tags)
            .map(|t| t.id)
            .collect();
        for e in &ds.entries {
            let p = e.performed_at.timestamp();
            assert!(p >= w.start && p <= w.end);
            assert!(e.created_at >= e.performed_at && e.updated_at >= e.created_at);
            assert!(e.updated_at.timestamp() <= w.end);
            assert_eq!(e.settled_at.is_some(), e.status == Status::Completed);
            if let Some(a) = e.account_id {
                assert!(accounts.contains(&a));
            }
            if let Some(t) = e.tax_code_id {
                assert!(taxes.contains(&t));
            }
            assert!(
                e.tags
                    .iter()
                    .all(|t| t.tag_id.is_some_and(|id| tags.contains(&id)))
            );
            if let Some(emp) = e.employee_id {
                assert!(ds.employee(emp).is_some());
            }
            let total = e.total_bill_value.as_ref().map(|m| m.minors).unwrap_or(0);
            assert!(e.transaction_value.minors > 0 && total > 0);
            if !e.split_items.is_empty() {
                let tx: i64 = e
                    .split_items
                    .iter()
                    .map(|s| s.transaction_value.minors)
                    .sum();
                let bill: i64 = e
                    .split_items
                    .iter()
                    .map(|s| s.total_bill_value.minors)
                    .sum();
                assert_eq!((tx, bill), (e.transaction_value.minors, total));
            }
            assert_eq!(ds.entry(e.id).map(|x| x.id), Some(e.id));
        }
    }

    /// JPY amounts are whole yen and KWD amounts have three decimals: minor units follow each
    /// currency's exponent, and the DKK value converts from the right power of ten.
    #[test]
    fn zero_and_three_decimal_currencies_are_in_their_own_minor_units() {
        let ds = Dataset::seed(&cfg());
        for (currency, rate, scale) in [("JPY", 0.0445, 1.0), ("KWD", 22.4, 1000.0)] {
            let (lo, hi) = catalog::VENDORS
                .iter()
                .filter(|v| v.currency == currency)
                .fold((i64::MAX, 0), |(lo, hi), v| (lo.min(v.min), hi.max(v.max)));
            let entries: Vec<_> = ds
                .entries
                .iter()
                .filter(|e| e.transaction_value.currency == currency)
                .collect();
            assert!(entries.len() > 3, "{currency}: {}", entries.len());
            for e in entries {
                let major = e.transaction_value.minors as f64 / scale;
                assert!(
                    (lo as f64..(hi + 1) as f64).contains(&major),
                    "{currency} {major} outside {lo}..={hi}"
                );
                let dkk = e.total_bill_value.as_ref().unwrap();
                assert_eq!(dkk.currency, "DKK");
                let expected = major * rate * 100.0;
                let off = (dkk.minors as f64 - expected).abs() / expected;
                assert!(off < 0.02, "{currency} {major} -> {} øre", dkk.minors);
            }
        }
        // Some KWD amounts use the third decimal.
        assert!(
            ds.entries
                .iter()
                .any(|e| e.transaction_value.currency == "KWD"
                    && e.transaction_value.minors % 10 != 0)
        );
    }
}
