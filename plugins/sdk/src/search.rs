//! Defaults for the search filters, so a plugin names only the filters it uses and keeps
//! compiling when the search gains one:
//!
//! ```no_run
//! use pleo_plugin::accounting_entries_read::EntryFilter;
//!
//! let card_spend = EntryFilter {
//!     families: vec!["CARD_PURCHASE".into()],
//!     settled: Some(true),
//!     ..EntryFilter::default()
//! };
//! ```

use crate::accounting_entries_read::EntryFilter;

/// Every filter off: entries of any kind, deleted ones left out.
impl Default for EntryFilter {
    fn default() -> Self {
        EntryFilter {
            include_deleted: false,
            date_range: None,
            employee_ids: Vec::new(),
            account_ids: Vec::new(),
            families: Vec::new(),
            statuses: Vec::new(),
            currencies: Vec::new(),
            export_statuses: Vec::new(),
            review_statuses: Vec::new(),
            sub_families: Vec::new(),
            team_ids: Vec::new(),
            tax_code_ids: Vec::new(),
            tag_row_ids: Vec::new(),
            tag_group_ids_unset: Vec::new(),
            foreign_extension_ids: Vec::new(),
            settled: None,
            has_account: None,
            has_note: None,
            has_bookkeeping_date: None,
        }
    }
}
