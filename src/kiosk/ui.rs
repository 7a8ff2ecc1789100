//! The Rust side of the Slint views compiled from `ui/kiosk.slint` by `build.rs`: the
//! `KioskWindow` component, its adapter globals and their structs. Generated code only.
#![allow(clippy::all, missing_docs, unused_qualifications)]

slint::include_modules!();
