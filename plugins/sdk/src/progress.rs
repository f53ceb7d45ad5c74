//! Progress of the run, drawn by the host as a progress bar (`progress` in `wit/host.wit`).

/// `done` units of `total` (`None`: unknown), with a short status line.
pub fn report(done: u64, total: Option<u64>, message: impl AsRef<str>) {
    crate::bindings::pleo::plugin::progress::report(done, total, message.as_ref());
}
