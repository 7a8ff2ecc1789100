//! Software updates on the appliance (docs/updates.md): A/B root filesystems managed by RAUC,
//! bundles published on the hub with a staged rollout.
//!
//! `config` is `[update]`; `download` fetches and checks a bundle; `installer` is RAUC (and a
//! fake) behind traits; `machine` is the persisted state machine that decides each step;
//! `agent` runs it in the daemon with the daemon's signals (quiet moment, first frame,
//! health, sync); `release` is the running system's version before RAUC records one. The
//! hub's side is `crate::hub::updates`.

pub mod agent;
pub mod config;
pub mod download;
pub mod installer;
pub mod machine;
pub mod release;
