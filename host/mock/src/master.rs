//! A company's master data as Pleo's APIs show them (chart of accounts, tax codes, tag groups
//! and tags, vendors), and the seeding of everything beyond the entries: master data,
//! receipts and export jobs.
//!
//! The records keep the ids of the dataset's reference data, so entries, vendors and export
//! items point at them. They come from an rng of their own (derived from the config's seed and
//! the company's index), so adding them never changed the entries or the employees.

use chrono::{DateTime, Utc};
use rand::SeedableRng;
use rand::rngs::StdRng;

use super::accounts::{self, AccountRecord};
use super::data::{CompanyData, Ledger};
use super::dimensions::{self, TagDimensionRecord, TagDimensionValueRecord};
use super::entries::AccountingEntry;
use super::seed::member_seed;
use super::tags::{self, TagGroupRecord, TagRecord};
use super::tax_codes::{self, TaxCodeRecord};
use super::vendors::{self, VendorRecord};
use super::{exports, receipts};

/// Mixed into the seed of the rng below ("MASTER").
const SALT: u64 = 0x4D41_5354_4552;
/// Mixed into the seed of the tag dimensions' rng ("DIMENS").
const DIMENSION_SALT: u64 = 0x4449_4D45_4E53;

/// Master data of one company.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MasterData {
    /// `BookkeepingAccountRestModelV1`: the expense accounts entries use, the wallet's contra
    /// account, a suspense account and an archived one.
    pub accounts: Vec<AccountRecord>,
    /// `TaxCodeModel`: the codes entries use and an archived one.
    pub tax_codes: Vec<TaxCodeRecord>,
    /// `TagGroupModel`.
    pub tag_groups: Vec<TagGroupRecord>,
    /// `TagModel` of every group, an archived one included.
    pub tags: Vec<TagRecord>,
    /// `TagGroupDimensionModel`: the dimensions of the tag groups (the project group's).
    pub tag_dimensions: Vec<TagDimensionRecord>,
    /// `TagDimensionValueModel`: a tag's value for a dimension of its group.
    pub tag_dimension_values: Vec<TagDimensionValueRecord>,
    /// `VendorResponse`: the merchants and suppliers of the entries (active), two drafts that
    /// still have to be created in the ERP and an archived one.
    pub vendors: Vec<VendorRecord>,
}

/// The ledger of company `index`: its `entries` with their receipts, its master data and export
/// jobs. Reads only `data`'s reference data and employees (its ledger is being made).
pub(super) fn seed_company(
    seed: u64,
    index: usize,
    data: &CompanyData,
    entries: Vec<AccountingEntry>,
    epoch: DateTime<Utc>,
) -> Ledger {
    let mut rng = StdRng::seed_from_u64(member_seed(seed ^ SALT, index));
    let tax_codes = tax_codes::seed(&mut rng, data, epoch);
    let (tag_groups, tags) = tags::seed(&mut rng, data, epoch);
    // An rng of their own, so that adding them changed none of the records seeded after.
    let mut dimension_rng = StdRng::seed_from_u64(member_seed(seed ^ DIMENSION_SALT, index));
    let (tag_dimensions, tag_dimension_values) =
        dimensions::seed(&mut dimension_rng, &tag_groups, &tags);
    let master = MasterData {
        accounts: accounts::seed(&mut rng, data, &tax_codes),
        tax_codes,
        tag_groups,
        tags,
        tag_dimensions,
        tag_dimension_values,
        vendors: vendors::seed(&mut rng, data, epoch),
    };
    let receipts = receipts::seed(&mut rng, &entries);
    let export_jobs = exports::seed(&mut rng, data, &entries, epoch);
    Ledger::new(entries, receipts, master, export_jobs)
}
