//! The mock's live state: what write calls change. It starts as a copy of the seeded
//! [`Dataset`] (master data and export jobs of every company) and lives behind one mutex; a
//! handler takes the lock, reads or changes, and answers without waiting on anything else.
//! Accounting entries, employees and receipts never change and stay in the dataset.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::clock::Clock;
use super::data::Dataset;
use super::exports::ExportJob;
use super::master::MasterData;

pub(super) struct Store {
    pub clock: Clock,
    data: Arc<Dataset>,
    /// Copied from `data` on first use: its export jobs are made with the ledgers, on demand.
    books: OnceLock<Mutex<Books>>,
}

/// Everything that changes, for every company the key covers.
pub(super) struct Books {
    /// Same order as [`Dataset::companies`].
    pub companies: Vec<CompanyBooks>,
    /// How many times each item was updated: `(job id, accounting entry id)` -> count.
    pub item_updates: BTreeMap<(Uuid, Uuid), u32>,
}

pub(super) struct CompanyBooks {
    pub master: MasterData,
    pub export_jobs: Vec<ExportJob>,
    /// Vendor CSV import jobs, in creation order (none are seeded).
    pub import_jobs: Vec<super::vendor_import::ImportJob>,
}

impl Books {
    /// Where the master-data item with `id` is: `(company index, index in its list)`, the list
    /// being the one `items` picks from each company's master data.
    pub fn locate<T>(
        &self,
        id: Uuid,
        items: impl Fn(&MasterData) -> &[T],
        id_of: impl Fn(&T) -> Uuid,
    ) -> Option<(usize, usize)> {
        self.companies.iter().enumerate().find_map(|(c, books)| {
            items(&books.master)
                .iter()
                .position(|item| id_of(item) == id)
                .map(|i| (c, i))
        })
    }
}

impl Store {
    pub(super) fn new(data: Arc<Dataset>) -> Store {
        Store {
            clock: Clock::new(),
            data,
            books: OnceLock::new(),
        }
    }

    pub(super) fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// The seeded jobs, those still open touched when the mock started: they lie before the
    /// anchor's epoch, which may be long past, and each must still have its hour before it
    /// expires (an hour after `lastUpdatedAt`), as work waiting for the integration.
    fn open_from_start(&self, seeded: &[ExportJob]) -> Vec<ExportJob> {
        let mut jobs = seeded.to_vec();
        for job in jobs.iter_mut().filter(|j| j.status.is_open()) {
            job.last_updated_at = self.clock.started();
        }
        jobs
    }

    /// The state; a panic elsewhere while holding it leaves it usable.
    pub(super) fn lock(&self) -> MutexGuard<'_, Books> {
        let books = self.books.get_or_init(|| {
            let companies = (self.data.companies.iter())
                .map(|c| CompanyBooks {
                    master: c.master.clone(),
                    export_jobs: self.open_from_start(&c.export_jobs),
                    import_jobs: Vec::new(),
                })
                .collect();
            Mutex::new(Books {
                companies,
                item_updates: BTreeMap::new(),
            })
        });
        books.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Books {
    /// Index of the company an export job belongs to, and the job's index there.
    pub(super) fn find_job(&self, id: Uuid) -> Option<(usize, usize)> {
        self.companies.iter().enumerate().find_map(|(c, books)| {
            books
                .export_jobs
                .iter()
                .position(|j| j.id == id)
                .map(|j| (c, j))
        })
    }
}
