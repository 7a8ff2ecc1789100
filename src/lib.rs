//! motcua: the appliance for Vietnam's commune and ward Public Administration Service Centers.
//!
//! The library holds every capability; `src/main.rs` only parses arguments and calls in here.
//! See `docs/` and `README.md` for the map.

pub mod catalog;
pub mod search;
