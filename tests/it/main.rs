//! Integration tests, in one binary to keep link time down (Slint makes every test binary
//! heavy). Grouped by area, one module each.

mod catalog_import;
mod support;
mod sync_daemon;
mod sync_faults;
mod sync_hub;
mod sync_support;
