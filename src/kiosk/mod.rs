//! The citizen kiosk: controllers in plain Rust (tested without a window), the view adapters
//! that copy their output into the Slint globals, and the wiring that connects both.
//!
//! Controllers: `navigation`, `keyboard`, `search_controller` (+ `field_list`: home groups,
//! a field's letter index), `procedure_view`, `queue_board`,
//! `record_lookup`, `rating`, `info_views`, `status`, `idle`, `technician` (gesture and PIN;
//! what the technician screen shows: `tech_info`). Views: `views` (adapters) and
//! `ui` (generated from `ui/*.slint`). Wiring: `wiring`. Rendering without a display:
//! `headless`. Changes to `catalog.db` (queue board, a new catalog): `store_watch`. The
//! in-process services for the demo: `demo_services`; the daemon's on a device:
//! `daemon_link`. Motion from the daemon: `motion`. systemd READY/WATCHDOG/STOPPING: `service`. See `docs/kiosk.md`.

pub mod daemon_link;
pub mod demo_services;
pub mod demo_tickets;
pub mod field_list;
pub mod headless;
pub mod idle;
pub mod info_views;
pub mod keyboard;
pub mod motion;
pub mod navigation;
pub mod procedure_view;
pub mod qr;
pub mod queue_board;
pub mod rating;
pub mod record_lookup;
pub mod search_controller;
pub mod service;
mod state;
pub mod status;
pub mod store_watch;
pub mod tech_info;
pub mod technician;
pub mod ticket;
pub mod ui;
mod views;
pub mod wiring;
mod wiring_screens;
mod wiring_tech;
mod wiring_ticket;

pub use wiring::{Kiosk, KioskDeps};

/// A screen to open directly (`motcua screenshot --screen …`, tests).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScreenTarget {
    Home,
    Search(String),
    /// A field's list of procedures, as after a tap on its home tile.
    Field(String),
    Procedure(String),
    Queue,
    Record(String),
    Officials,
    Stats,
    Rating,
    /// The technician PIN pad (as after the hidden gesture).
    Pin,
    /// The technician screen, without asking the PIN.
    Technician,
    /// The dim attract screen over home, as after `attract_after_secs` without a touch.
    Attract,
    /// "Lấy số" on a procedure's page: the ticket screen.
    Ticket(String),
}

impl std::str::FromStr for ScreenTarget {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (name, arg) = match s.split_once(':') {
            Some((n, a)) => (n, Some(a.to_owned())),
            None => (s, None),
        };
        Ok(match (name, arg) {
            ("home", None) => ScreenTarget::Home,
            ("search", a) => ScreenTarget::Search(a.unwrap_or_default()),
            ("field", Some(c)) => ScreenTarget::Field(c),
            ("procedure", Some(c)) => ScreenTarget::Procedure(c),
            ("queue", None) => ScreenTarget::Queue,
            ("record", a) => ScreenTarget::Record(a.unwrap_or_default()),
            ("officials", None) => ScreenTarget::Officials,
            ("stats", None) => ScreenTarget::Stats,
            ("rating", None) => ScreenTarget::Rating,
            ("pin", None) => ScreenTarget::Pin,
            ("technician", None) => ScreenTarget::Technician,
            ("attract", None) => ScreenTarget::Attract,
            ("ticket", Some(c)) => ScreenTarget::Ticket(c),
            _ => {
                return Err(format!(
                "unknown screen {s:?}: use home, search:QUERY, field:CODE, procedure:CODE, queue, \
                     record:ID, officials, stats, rating, pin, technician, attract or ticket:CODE"
            ))
            }
        })
    }
}
