//! motcua: the appliance for Vietnam's commune and ward Public Administration Service Centers.
//!
//! The library holds every capability; `src/main.rs` only parses arguments and calls in here.
//! Map: `catalog` (model, bundle validation, fees, demo), `store` (SQLite), `search`
//! (Vietnamese-aware procedure search), `current` (the catalog being served), `config`,
//! `cli` (subcommands), `sync` + `daemon` (the link to the central server and the kiosk's
//! local socket), `hub` (the reference central server), `update` (A/B software updates through RAUC), `onvif` (finding network cameras). See `docs/` and `README.md`.

pub mod appliance;
pub mod catalog;
pub mod cli;
pub mod clock;
pub mod config;
pub mod current;
pub mod daemon;
pub mod device;
pub mod doctor;
pub mod hub;
pub mod kiosk;
pub mod onvif;
pub mod printer;
pub mod provision;
pub mod queue;
pub mod queue_sim;
pub mod record;
pub mod recorder;
pub mod review;
pub mod search;
pub mod store;
pub mod sync;
pub mod update;
