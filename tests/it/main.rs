//! Integration tests, in one binary to keep link time down (Slint makes every test binary
//! heavy). Grouped by area, one module each.

mod catalog_crash;
mod catalog_import;
mod cli;
mod provision;
mod support;
