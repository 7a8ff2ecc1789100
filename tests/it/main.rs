//! Integration tests, in one binary to keep link time down (Slint makes every test binary
//! heavy). Grouped by area, one module each.

mod catalog_import;
mod recorder_cli;
mod recorder_crash;
mod recorder_flow;
mod review_browser;
mod review_http;
mod review_support;
mod support;
