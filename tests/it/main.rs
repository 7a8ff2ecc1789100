//! Integration tests, in one binary to keep link time down (Slint makes every test binary
//! heavy). Grouped by area, one module each.

mod catalog_crash;
mod catalog_import;
mod cli;
mod daemon_wiring;
mod device_doctor;
mod device_io;
mod device_shutdown;
mod kiosk_big_catalog;
mod kiosk_daemon;
mod kiosk_layout;
mod kiosk_layout_big;
mod kiosk_tech;
mod kiosk_ui;
mod provision;
mod recorder_cli;
mod recorder_crash;
mod recorder_evidence;
mod recorder_export;
mod recorder_flow;
mod review_browser;
mod review_http;
mod review_support;
mod search_eval;
mod support;
mod sync_daemon;
mod sync_faults;
mod sync_hub;
mod sync_support;
mod sync_wire;
