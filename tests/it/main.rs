//! Integration tests, in one binary to keep link time down (Slint makes every test binary
//! heavy). Grouped by area, one module each.

mod catalog_import;
mod kiosk_layout;
mod kiosk_ui;
mod support;
