//! Generates the dataset from a seed: reference data (teams, accounts, tax codes,
//! tags, vendors), the company, its employees and a year of accounting entries.
//!
//! Everything, ids included, comes from one `StdRng` seeded with `cfg.seed`, and
//! no hash map is iterated, so the same config always gives the same data. A company's
//! entries and what follows them (its [`Ledger`]) are made on first use, from a copy of
//! the rng kept where its employees left it.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::OnceLock;

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, Utc};
use rand::rngs::StdRng;
use rand::seq::{IndexedRandom, SliceRandom};
use rand::{Rng, SeedableRng};
use uuid::Uuid;

use super::MockConfig;
use super::catalog::{self, VendorKind, VendorSpec};
use super::data::{
    Account, AccountingEntry, Address, ApiClient, Attendee, Company, CompanyData, Dataset,
    Employee, EntryTag, ExportStatus, Family, Ledger, Money, ReviewStatus, SplitItem, Status,
    SubFamily, Supplier, Tag, TagGroup, TaxCode, Team, Vendor,
};

const DAY: i64 = 86_400;
const HOUR: i64 = 3_600;

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
    entries: usize,
    /// Catalog entry of each vendor, same order as the company's `vendors`.
    vendor_specs: Vec<&'static VendorSpec>,
    /// How much each employee spends, same order as the company's `employees`.
    activity: Vec<f64>,
    window: Window,
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

fn ts(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap_or(DateTime::UNIX_EPOCH)
}

fn day_start(secs: i64) -> i64 {
    secs.div_euclid(DAY) * DAY
}

/// Uniform in `lo..=hi`, tolerant of `lo > hi`.
fn between(rng: &mut StdRng, lo: i64, hi: i64) -> i64 {
    if hi <= lo {
        lo
    } else {
        rng.random_range(lo..=hi)
    }
}

/// Picks an index with probability proportional to `weights`.
fn weighted_index(rng: &mut StdRng, weights: &[f64]) -> Option<usize> {
    pick_weighted(rng, weights, weight_total(weights))
}

fn weight_total(weights: &[f64]) -> f64 {
    weights.iter().filter(|w| **w > 0.0).sum()
}

/// [`weighted_index`] with the weights' total (from [`weight_total`]) already summed.
fn pick_weighted(rng: &mut StdRng, weights: &[f64], total: f64) -> Option<usize> {
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

/// Lower-case ASCII for e-mail addresses ("Søren Møller" -> "soren.moller").
fn ascii_fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars().flat_map(char::to_lowercase) {
        match c {
            'æ' | 'ä' => out.push_str("ae"),
            'ø' | 'ö' => out.push('o'),
            'å' => out.push_str("aa"),
            'é' | 'è' => out.push('e'),
            'á' | 'à' => out.push('a'),
            'ü' => out.push('u'),
            c if c.is_ascii_alphanumeric() => out.push(c),
            _ => {}
        }
    }
    out
}

/// The 12 months of data: [first day 00:00, anchor 23:59:59] in unix seconds.
#[derive(Clone, Copy, Debug)]
struct Window {
    start: i64,
    end: i64,
}

impl Window {
    fn ending(anchor: NaiveDate) -> Window {
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
    fn work_time(&self, rng: &mut StdRng, hours: (i64, i64)) -> i64 {
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
    fn month_starts(&self) -> Vec<i64> {
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
fn month_key(secs: i64) -> i64 {
    let d = ts(secs);
    i64::from(d.year()) * 12 + i64::from(d.month0())
}

// ---------------------------------------------------------------------------
// Generation: reference data, company, employees
// ---------------------------------------------------------------------------

/// Teams, accounts, tax codes, tags and vendors, with ids.
struct Refs {
    teams: Vec<Team>,
    accounts: Vec<Account>,
    tax_codes: Vec<TaxCode>,
    tag_groups: Vec<TagGroup>,
    vendors: Vec<Vendor>,
    /// Catalog entry of each vendor, same order as `vendors`.
    vendor_specs: Vec<&'static VendorSpec>,
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

fn generate_company(rng: &mut StdRng) -> Company {
    let spec = catalog::COMPANIES
        .choose(rng)
        .unwrap_or(&catalog::COMPANIES[0]);
    Company {
        id: new_id(rng),
        name: spec.name.to_string(),
        organization_id: Some(new_id(rng)),
        registration_number: Some(rng.random_range(10_000_000..100_000_000u32).to_string()),
        address: Address {
            address_line1: Some(spec.line1.to_string()),
            address_line2: spec.line2.map(String::from),
            locality: Some(spec.locality.to_string()),
            region: Some(spec.region.to_string()),
            postal_code: Some(spec.postal_code.to_string()),
            country: Some("DK".to_string()),
        },
    }
}

/// A subsidiary of the organization, named from [`catalog::SUBSIDIARIES`] (with a
/// number once the list is used up); returns the company and its e-mail domain.
fn generate_member_company(
    rng: &mut StdRng,
    index: usize,
    organization_id: Option<Uuid>,
) -> (Company, String) {
    let list = catalog::SUBSIDIARIES;
    let slot = index.saturating_sub(1);
    let spec = &list[slot % list.len()];
    let round = slot / list.len();
    let (name, domain) = if round == 0 {
        (spec.name.to_string(), spec.domain.to_string())
    } else {
        (
            format!("{} {}", spec.name, round + 1),
            format!("entity{}.{}", round + 1, spec.domain),
        )
    };
    let company = Company {
        id: new_id(rng),
        name,
        organization_id,
        registration_number: Some(rng.random_range(10_000_000..100_000_000u32).to_string()),
        address: Address {
            address_line1: Some(spec.line1.to_string()),
            address_line2: spec.line2.map(String::from),
            locality: Some(spec.locality.to_string()),
            region: Some(spec.region.to_string()),
            postal_code: Some(spec.postal_code.to_string()),
            country: Some("DK".to_string()),
        },
    };
    (company, domain)
}

fn company_domain(company: &Company) -> &'static str {
    catalog::COMPANIES
        .iter()
        .find(|c| c.name == company.name)
        .map_or("example.com", |c| c.domain)
}

fn generate_api_client(rng: &mut StdRng, window: &Window) -> ApiClient {
    // The key was made about a month before the end of the data.
    let installed = (window.end - 30 * DAY).max(window.start);
    ApiClient {
        client_id: new_id(rng),
        application_id: new_id(rng),
        installation_id: new_id(rng),
        application_name: "pleo-host".to_string(),
        installed_at: ts(day_start(installed) + 10 * HOUR + 17 * 60),
    }
}

/// An employee plus how much they spend (used only while generating).
struct Staff {
    employee: Employee,
    activity: f64,
}

fn generate_employees(
    rng: &mut StdRng,
    count: usize,
    company: &Company,
    domain: &str,
    refs: &Refs,
) -> Vec<Staff> {
    let mut emails = HashSet::with_capacity(count);
    let mut staff = Vec::with_capacity(count);
    for i in 0..count {
        let team_idx = pick_team(rng, i);
        let team = &catalog::TEAMS[team_idx];
        let title = match i {
            0 => "Chief Executive Officer",
            1 => "Finance Manager",
            _ => team.titles.choose(rng).copied().unwrap_or("Specialist"),
        };
        let first = catalog::FIRST_NAMES.choose(rng).copied().unwrap_or("Alex");
        let last = catalog::LAST_NAMES.choose(rng).copied().unwrap_or("Jensen");
        let email = unique_email(&mut emails, first, last, domain);
        let employee = Employee {
            id: new_id(rng),
            company_id: company.id,
            email,
            first_name: first.to_string(),
            last_name: last.to_string(),
            code: rng.random_bool(0.9).then(|| format!("E{}", 1001 + i)),
            job_title: Some(title.to_string()),
            phone: rng.random_bool(0.85).then(|| danish_phone(rng)),
            team_id: refs.teams.get(team_idx).map(|t| t.id),
            cost_center_tag_id: cost_center(rng, refs),
        };
        let activity = team.activity * (0.3 + rng.random::<f64>() * 1.7);
        staff.push(Staff { employee, activity });
    }
    staff
}

/// First employee runs the company, second runs finance; the rest by headcount.
fn pick_team(rng: &mut StdRng, i: usize) -> usize {
    let by_name = |name: &str| catalog::TEAMS.iter().position(|t| t.name == name);
    let fixed = match i {
        0 => by_name("Management"),
        1 => by_name("Finance & Operations"),
        _ => None,
    };
    let weights: Vec<f64> = catalog::TEAMS
        .iter()
        .map(|t| f64::from(t.headcount))
        .collect();
    fixed.or_else(|| weighted_index(rng, &weights)).unwrap_or(0)
}

fn unique_email(taken: &mut HashSet<String>, first: &str, last: &str, domain: &str) -> String {
    let base = format!("{}.{}", ascii_fold(first), ascii_fold(last));
    let mut candidate = format!("{base}@{domain}");
    let mut n = 2;
    while taken.contains(&candidate) {
        candidate = format!("{base}{n}@{domain}");
        n += 1;
    }
    taken.insert(candidate.clone());
    candidate
}

fn danish_phone(rng: &mut StdRng) -> String {
    format!(
        "+45 {} {:02} {:02} {:02}",
        rng.random_range(20..100),
        rng.random_range(0..100),
        rng.random_range(0..100),
        rng.random_range(0..100)
    )
}

/// Most people sit at HQ, some in Aarhus and Stockholm.
fn cost_center(rng: &mut StdRng, refs: &Refs) -> Option<Uuid> {
    let group = refs.tag_groups.iter().find(|g| g.code == "CC")?;
    let i = weighted_index(rng, &[0.7, 0.2, 0.1])?;
    group.tags.get(i).map(|t| t.id)
}

// ---------------------------------------------------------------------------
// Generation: accounting entries
// ---------------------------------------------------------------------------

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

struct EntryGen<'a> {
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
    fn new(rng: &'a mut StdRng, data: &'a CompanyData) -> EntryGen<'a> {
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
    fn run(mut self) -> Vec<AccountingEntry> {
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

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

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

    #[test]
    fn ascii_fold_handles_danish_letters() {
        assert_eq!(ascii_fold("Søren"), "soren");
        assert_eq!(ascii_fold("Æbelø Åse"), "aebeloaase");
        assert_eq!(ascii_fold("Tomás"), "tomas");
    }
}
