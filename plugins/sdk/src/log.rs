//! Log lines, shown in the host's log under the plugin's name (`log` in `wit/host.wit`).

pub use crate::bindings::pleo::plugin::log::Level;

use crate::bindings::pleo::plugin::log::write as host_write;

/// Writes one log line at `level`.
pub fn write(level: Level, message: impl AsRef<str>) {
    host_write(level, message.as_ref());
}

pub fn trace(message: impl AsRef<str>) {
    write(Level::Trace, message);
}

pub fn debug(message: impl AsRef<str>) {
    write(Level::Debug, message);
}

pub fn info(message: impl AsRef<str>) {
    write(Level::Info, message);
}

pub fn warn(message: impl AsRef<str>) {
    write(Level::Warn, message);
}

pub fn error(message: impl AsRef<str>) {
    write(Level::Error, message);
}
