//! Generates the dataset from a seed: each company's reference data (teams, accounts, tax
//! codes, tags, vendors), then the company (`companies`), its employees (`employees`) and,
//! on first use, its ledger (entries in `entries::seed`, the rest in `master`). Here: the
//! order of those steps, the companies of an organization, and the rng helpers they share.
//!
//! Everything, ids included, comes from one `StdRng` seeded with `cfg.seed`, and
//! no hash map is iterated, so the same config always gives the same data. A company's
//! entries and what follows them (its [`Ledger`]) are made on first use, from a copy of
//! the rng kept where its employees left it.

use std::sync::OnceLock;

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use uuid::Uuid;

use super::MockConfig;
use super::catalog::{self, VendorSpec};
use super::companies::{Company, company_domain, generate_company, generate_member_company};
use super::data::{Account, CompanyData, Dataset, Ledger, Tag, TagGroup, TaxCode, Team, Vendor};
use super::employees::{Staff, generate_employees};
use super::entries::seed::EntryGen;
use super::identity::generate_api_client;

pub(super) const DAY: i64 = 86_400;
pub(super) const HOUR: i64 = 3_600;

pub(super) fn generate(cfg: &MockConfig) -> Dataset {
    let mut rng = StdRng::seed_from_u64(cfg.seed);
    let window = Window::ending(cfg.anchor);
    let refs = Refs::generate(&mut rng);
    let company = generate_company(&mut rng);
    let api_client = generate_api_client(&mut rng, &window);
    let domain = company_domain(&company);
    let staff = generate_employees(&mut rng, cfg.employees, &company, domain, &refs);
    let organization_id = company.organization_id;
    let mut companies = Vec::with_capacity(cfg.companies.max(1));
    companies.push(company_data(cfg, 0, cfg.entries, rng, company, refs, staff));
    companies.extend((1..cfg.companies).map(|index| generate_member(cfg, index, organization_id)));
    Dataset::assemble(api_client, companies, super::clock::epoch(cfg.anchor))
}

/// Company `index` with `entries` entries to come: its ledger is made when first needed (see
/// [`ledger`]), from `rng` as the employees left it.
fn company_data(
    cfg: &MockConfig,
    index: usize,
    entries: usize,
    rng: StdRng,
    company: Company,
    refs: Refs,
    staff: Vec<Staff>,
) -> CompanyData {
    let (employees, activity) = staff.into_iter().map(|s| (s.employee, s.activity)).unzip();
    CompanyData {
        company,
        teams: refs.teams,
        accounts: refs.accounts,
        tax_codes: refs.tax_codes,
        tag_groups: refs.tag_groups,
        vendors: refs.vendors,
        employees,
        ledger: OnceLock::new(),
        seed: LedgerSeed {
            rng,
            entries,
            vendor_specs: refs.vendor_specs,
            activity,
            window: Window::ending(cfg.anchor),
            epoch: super::clock::epoch(cfg.anchor),
            seed: cfg.seed,
            index,
        },
    }
}

/// What a company's [`Ledger`] is made from, kept until it is first needed.
#[derive(Clone)]
pub(super) struct LedgerSeed {
    /// The company's rng as its employees left it: the entries come next.
    rng: StdRng,
    /// How many entries.
    pub(super) entries: usize,
    /// Catalog entry of each vendor, same order as the company's `vendors`.
    pub(super) vendor_specs: Vec<&'static VendorSpec>,
    /// How much each employee spends, same order as the company's `employees`.
    pub(super) activity: Vec<f64>,
    pub(super) window: Window,
    epoch: DateTime<Utc>,
    /// The config's seed and the company's index, for the rng of what follows the entries.
    seed: u64,
    index: usize,
}

impl std::fmt::Debug for LedgerSeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LedgerSeed")
            .field("entries", &self.entries)
            .field("index", &self.index)
            .finish_non_exhaustive()
    }
}

/// Makes `data`'s ledger: the entries, then from an rng of their own (so they never changed
/// the entries) master data, receipts and export jobs. Reads only what `data` has up front.
pub(super) fn ledger(data: &CompanyData) -> Ledger {
    let seed = &data.seed;
    let mut rng = seed.rng.clone();
    let entries = EntryGen::new(&mut rng, data).run();
    super::master::seed_company(seed.seed, seed.index, data, entries, seed.epoch)
}

/// Company `index` (1 or more) of a multi-entity organization: its own reference
/// data, half as many employees and a quarter as many entries as company 0, from
/// its own rng, so adding companies never changes company 0.
fn generate_member(cfg: &MockConfig, index: usize, organization_id: Option<Uuid>) -> CompanyData {
    let mut rng = StdRng::seed_from_u64(member_seed(cfg.seed, index));
    let refs = Refs::generate(&mut rng);
    let (company, domain) = generate_member_company(&mut rng, index, organization_id);
    let staff = generate_employees(
        &mut rng,
        cfg.employees.div_ceil(2),
        &company,
        &domain,
        &refs,
    );
    company_data(cfg, index, cfg.entries / 4, rng, company, refs, staff)
}

/// Seed of company `index`'s rng (SplitMix64 of the config's seed and the index), so
/// neighbouring seeds and indexes give unrelated data.
pub(super) fn member_seed(seed: u64, index: usize) -> u64 {
    let mut z = seed ^ (index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

// ---------------------------------------------------------------------------
// Generation: small helpers
// ---------------------------------------------------------------------------

/// A random (version 4) UUID drawn from the seeded rng, so ids are reproducible.
pub(super) fn new_id(rng: &mut StdRng) -> Uuid {
    uuid::Builder::from_random_bytes(rng.random()).into_uuid()
}

pub(super) fn ts(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap_or(DateTime::UNIX_EPOCH)
}

pub(super) fn day_start(secs: i64) -> i64 {
    secs.div_euclid(DAY) * DAY
}

/// Uniform in `lo..=hi`, tolerant of `lo > hi`.
pub(super) fn between(rng: &mut StdRng, lo: i64, hi: i64) -> i64 {
    if hi <= lo {
        lo
    } else {
        rng.random_range(lo..=hi)
    }
}

/// Picks an index with probability proportional to `weights`.
pub(super) fn weighted_index(rng: &mut StdRng, weights: &[f64]) -> Option<usize> {
    pick_weighted(rng, weights, weight_total(weights))
}

pub(super) fn weight_total(weights: &[f64]) -> f64 {
    weights.iter().filter(|w| **w > 0.0).sum()
}

/// [`weighted_index`] with the weights' total (from [`weight_total`]) already summed.
pub(super) fn pick_weighted(rng: &mut StdRng, weights: &[f64], total: f64) -> Option<usize> {
    if total <= 0.0 || !total.is_finite() {
        return None;
    }
    let mut x = rng.random::<f64>() * total;
    for (i, w) in weights.iter().enumerate() {
        if *w > 0.0 {
            if x < *w {
                return Some(i);
            }
            x -= *w;
        }
    }
    weights.iter().rposition(|w| *w > 0.0)
}

/// The 12 months of data: [first day 00:00, anchor 23:59:59] in unix seconds.
#[derive(Clone, Copy, Debug)]
pub(super) struct Window {
    pub(super) start: i64,
    pub(super) end: i64,
}

impl Window {
    pub(super) fn ending(anchor: NaiveDate) -> Window {
        let first = anchor
            .checked_sub_months(chrono::Months::new(12))
            .and_then(|d| d.succ_opt())
            .unwrap_or(anchor);
        let start = first.and_time(NaiveTime::MIN).and_utc().timestamp();
        let end = anchor.and_time(NaiveTime::MIN).and_utc().timestamp() + DAY - 1;
        Window { start, end }
    }

    fn days(&self) -> i64 {
        (self.end - self.start + 1) / DAY
    }

    /// A moment during working hours, mostly on weekdays.
    pub(super) fn work_time(&self, rng: &mut StdRng, hours: (i64, i64)) -> i64 {
        let mut day = self.start + between(rng, 0, self.days() - 1) * DAY;
        for _ in 0..3 {
            if !is_weekend(day) || rng.random_bool(0.25) {
                break;
            }
            day = self.start + between(rng, 0, self.days() - 1) * DAY;
        }
        let t = day + between(rng, hours.0 * HOUR, hours.1 * HOUR - 1);
        t.clamp(self.start, self.end)
    }

    /// Start of each calendar month overlapping the window, as unix seconds.
    pub(super) fn month_starts(&self) -> Vec<i64> {
        let mut out = Vec::new();
        let Some(mut d) = ts(self.start).date_naive().with_day(1) else {
            return out;
        };
        loop {
            let secs = d.and_time(NaiveTime::MIN).and_utc().timestamp();
            if secs > self.end {
                break;
            }
            out.push(secs);
            match d.checked_add_months(chrono::Months::new(1)) {
                Some(next) => d = next,
                None => break,
            }
        }
        out
    }
}

fn is_weekend(secs: i64) -> bool {
    matches!(
        ts(secs).weekday(),
        chrono::Weekday::Sat | chrono::Weekday::Sun
    )
}

/// Year and month of a timestamp as one number, for grouping.
pub(super) fn month_key(secs: i64) -> i64 {
    let d = ts(secs);
    i64::from(d.year()) * 12 + i64::from(d.month0())
}

// ---------------------------------------------------------------------------
// Generation: reference data
// ---------------------------------------------------------------------------

/// Teams, accounts, tax codes, tags and vendors, with ids.
pub(super) struct Refs {
    pub(super) teams: Vec<Team>,
    pub(super) accounts: Vec<Account>,
    pub(super) tax_codes: Vec<TaxCode>,
    pub(super) tag_groups: Vec<TagGroup>,
    pub(super) vendors: Vec<Vendor>,
    /// Catalog entry of each vendor, same order as `vendors`.
    pub(super) vendor_specs: Vec<&'static VendorSpec>,
}

impl Refs {
    fn generate(rng: &mut StdRng) -> Refs {
        let teams = catalog::TEAMS
            .iter()
            .map(|t| Team {
                id: new_id(rng),
                name: t.name.to_string(),
            })
            .collect();
        let accounts: Vec<Account> = catalog::ACCOUNTS
            .iter()
            .map(|(code, name)| Account {
                id: new_id(rng),
                code: code.to_string(),
                name: name.to_string(),
            })
            .collect();
        let tax_codes: Vec<TaxCode> = catalog::TAX_CODES
            .iter()
            .map(|(code, name, rate)| TaxCode {
                id: new_id(rng),
                code: code.to_string(),
                name: name.to_string(),
                rate: *rate,
            })
            .collect();
        let tag_groups = catalog::TAG_GROUPS
            .iter()
            .map(|g| tag_group(rng, g))
            .collect();
        let mut refs = Refs {
            teams,
            accounts,
            tax_codes,
            tag_groups,
            vendors: Vec::new(),
            vendor_specs: Vec::new(),
        };
        let mut side = StdRng::seed_from_u64(rng.clone().random());
        for (i, spec) in catalog::VENDORS.iter().enumerate() {
            let account = refs.accounts.iter().find(|a| a.code == spec.account);
            let tax = refs.tax_codes.iter().find(|t| t.code == spec.tax);
            let (Some(account), Some(tax)) = (account, tax) else {
                continue; // a catalog typo must not break seeding
            };
            let id = if catalog::decimals(spec.currency) == 2 {
                new_id(rng)
            } else {
                new_id(&mut side)
            };
            let vendor = Vendor {
                id,
                name: spec.name.to_string(),
                external_id: format!("V-{}", 1001 + i),
                country: spec.country.to_string(),
                currency: spec.currency.to_string(),
                account_id: account.id,
                tax_code_id: tax.id,
            };
            refs.vendors.push(vendor);
            refs.vendor_specs.push(spec);
        }
        refs
    }
}

fn tag_group(rng: &mut StdRng, spec: &catalog::TagGroupSpec) -> TagGroup {
    let (code, name, tags) = *spec;
    let id = new_id(rng);
    let tags = tags
        .iter()
        .map(|(c, n)| Tag {
            id: new_id(rng),
            group_id: id,
            code: c.to_string(),
            name: n.to_string(),
        })
        .collect();
    TagGroup {
        id,
        code: code.to_string(),
        name: name.to_string(),
        tags,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::entries::{AccountingEntry, Family, Status};

    fn cfg() -> MockConfig {
        MockConfig {
            anchor: NaiveDate::from_ymd_opt(2025, 6, 30).unwrap_or_default(),
            ..MockConfig::default()
        }
    }

    #[test]
    fn same_config_same_data() {
        let a = Dataset::seed(&cfg());
        let b = Dataset::seed(&cfg());
        let ja = serde_json::to_string(&a.entries).unwrap();
        let jb = serde_json::to_string(&b.entries).unwrap();
        assert_eq!(ja, jb);
        assert_eq!(
            serde_json::to_string(&a.employees).unwrap(),
            serde_json::to_string(&b.employees).unwrap()
        );
        let other = Dataset::seed(&MockConfig { seed: 7, ..cfg() });
        assert_ne!(serde_json::to_string(&other.entries).unwrap(), ja);
    }

    #[test]
    fn ledgers_are_the_same_whichever_is_made_first() {
        let c = MockConfig {
            companies: 3,
            entries: 400,
            ..cfg()
        };
        let (a, b) = (Dataset::seed(&c), Dataset::seed(&c));
        for data in &a.companies {
            data.ledger();
        }
        for data in b.companies.iter().rev() {
            data.ledger();
        }
        let show = |ds: &Dataset| -> Vec<String> {
            (ds.companies.iter())
                .map(|c| {
                    let l = c.ledger();
                    format!(
                        "{:?} {:?} {:?} {:?}",
                        l.entries, l.receipts, l.master, l.export_jobs
                    )
                })
                .collect()
        };
        assert_eq!(show(&a), show(&b));
    }

    #[test]
    fn counts_are_exact() {
        for (employees, entries) in [(50, 4000), (3, 200), (0, 30), (1, 1), (0, 0), (2, 10_000)] {
            let ds = Dataset::seed(&MockConfig {
                employees,
                entries,
                ..cfg()
            });
            assert_eq!(ds.employees.len(), employees);
            assert_eq!(ds.entries.len(), entries, "employees={employees}");
        }
    }

    #[test]
    fn data_looks_like_a_company() {
        let ds = Dataset::seed(&cfg());
        let count =
            |f: &dyn Fn(&AccountingEntry) -> bool| ds.entries.iter().filter(|e| f(e)).count();
        let n = ds.entries.len();
        assert!(count(&|e| e.family == Family::CardPurchase) > n / 2);
        for family in [
            Family::OutOfPocket,
            Family::Mileage,
            Family::PerDiem,
            Family::BillInvoice,
            Family::Reimbursement,
            Family::PleoInvoice,
        ] {
            assert!(count(&|e| e.family == family) > 0, "{family:?}");
        }
        for currency in ["DKK", "EUR", "SEK", "GBP", "USD", "JPY", "KWD"] {
            assert!(
                count(&|e| e.transaction_value.currency == currency) > 0,
                "{currency}"
            );
        }
        assert!(count(&|e| e.transaction_value.currency == "DKK") > n / 2);
        assert!(count(&|e| e.status == Status::Completed) > n * 8 / 10);
        for status in [Status::Pending, Status::Cancelled, Status::Rejected] {
            assert!(count(&|e| e.status == status) > 0, "{status:?}");
        }
        assert!(count(&|e| e.deleted_at.is_some()) > 0);
        assert!(count(&|e| e.employee_id.is_none()) > 0);
        assert!(count(&|e| !e.split_items.is_empty()) > 0);
        assert!(count(&|e| !e.attendees.is_empty()) > 0);
        assert!(count(&|e| e.account_id.is_none()) > 0);
        let emails: HashSet<&str> = ds.employees.iter().map(|e| e.email.as_str()).collect();
        assert_eq!(emails.len(), ds.employees.len());
        assert!(ds.employees.iter().all(|e| e.email.is_ascii()));
        // Hostile text for the plugins' CSV files (CSV injection): a formula and an `@` name,
        // a formula merchant, a `+` note.
        let named = |start: char| ds.employees.iter().any(|e| e.first_name.starts_with(start));
        assert!(named('=') && named('@'));
        assert!(ds.vendors.iter().any(|v| v.name.starts_with("=HYPERLINK(")));
        assert!(count(&|e| e.note.as_ref().is_some_and(|n| n.starts_with('+'))) > 0);
    }

    #[test]
    fn odd_anchors_do_not_panic() {
        for anchor in [
            NaiveDate::MIN,
            NaiveDate::MAX,
            NaiveDate::from_ymd_opt(2024, 2, 29).unwrap_or_default(),
        ] {
            let ds = Dataset::seed(&MockConfig {
                anchor,
                entries: 300,
                ..cfg()
            });
            assert_eq!(ds.entries.len(), 300);
        }
    }
}
