//! Log lines, written by the host with the plugin's name and request id.
//!
//! `ministack_sdk::info!("created queue {}", name);` or `log::info("...")`.
//! Natively (unit tests) lines go to stderr.

pub use crate::generated::ministack::plugin::log::Level;

pub fn write(level: Level, message: &str) {
    #[cfg(target_arch = "wasm32")]
    crate::generated::ministack::plugin::log::write(level, message);
    #[cfg(not(target_arch = "wasm32"))]
    eprintln!("[{level:?}] {message}");
}

pub fn trace(message: &str) {
    write(Level::Trace, message)
}
pub fn debug(message: &str) {
    write(Level::Debug, message)
}
pub fn info(message: &str) {
    write(Level::Info, message)
}
pub fn warn(message: &str) {
    write(Level::Warn, message)
}
pub fn error(message: &str) {
    write(Level::Error, message)
}

#[macro_export]
macro_rules! trace {
    ($($arg:tt)*) => { $crate::log::write($crate::log::Level::Trace, &::std::format!($($arg)*)) };
}
#[macro_export]
macro_rules! debug {
    ($($arg:tt)*) => { $crate::log::write($crate::log::Level::Debug, &::std::format!($($arg)*)) };
}
#[macro_export]
macro_rules! info {
    ($($arg:tt)*) => { $crate::log::write($crate::log::Level::Info, &::std::format!($($arg)*)) };
}
#[macro_export]
macro_rules! warn {
    ($($arg:tt)*) => { $crate::log::write($crate::log::Level::Warn, &::std::format!($($arg)*)) };
}
#[macro_export]
macro_rules! error {
    ($($arg:tt)*) => { $crate::log::write($crate::log::Level::Error, &::std::format!($($arg)*)) };
}
