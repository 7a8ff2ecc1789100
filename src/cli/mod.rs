//! The `motcua` command line: argument definitions (clap) and dispatch to the library.
//!
//! Each subcommand family lives in its own file and returns `anyhow::Result`; `main.rs` turns
//! an error into a message and an exit code. Nothing here holds domain logic.

mod cameras_cmd;
mod catalog_cmd;
mod convert_cmd;
mod daemon_cmd;
mod doctor_cmd;
mod fee_cmd;
pub mod hub_cmd;
mod hub_update_cmd;
mod kiosk_cmd;
mod printer_cmd;
mod provision_cmd;
mod review_cmd;
mod root_guard;
mod search_cmd;
mod snapshot_cmd;
mod sync_cmd;
mod update_cmd;
mod user_cmd;

use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand};

use crate::catalog::Lang;
use crate::config::{Config, DEFAULT_CONFIG_PATH};

#[derive(Debug, Parser)]
#[command(
    name = "motcua",
    version,
    about = "Kiosk and counter appliance for Public Administration Service Centers",
    long_about = None
)]
pub struct Cli {
    /// Configuration file [default: /etc/motcua/motcua.toml, if present].
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Data directory (catalog.db, footage) [env: MOTCUA_DATA_DIR].
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// More log output (-v info, -vv debug).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Import, inspect and summarise the procedure catalog.
    #[command(subcommand)]
    Catalog(catalog_cmd::CatalogCommand),
    /// Search procedures the way the kiosk does (accents, typos and codes all work).
    Search(search_cmd::SearchArgs),
    /// Compute a procedure's fee and show how it was reached.
    Fee(fee_cmd::FeeArgs),
    /// Check config, stores, cameras, GPIO, display, clock, disk and power (exit 0/1/2).
    Doctor(doctor_cmd::DoctorArgs),
    /// Review UI accounts (supervisors see footage, technicians health and configuration).
    #[command(subcommand)]
    User(user_cmd::UserCommand),
    /// The supervisor review UI: serve it alone, print its certificate fingerprint.
    #[command(subcommand)]
    Review(review_cmd::ReviewCommand),
    /// Network cameras: find the LAN's ONVIF cameras and their URLs.
    #[command(subcommand)]
    Cameras(cameras_cmd::CamerasCommand),
    /// Counter snapshots: capture, list, verify, export (alias `snapshot`).
    #[command(subcommand, alias = "snapshot")]
    Snapshots(snapshot_cmd::SnapshotCommand),
    /// The reference central server: serve, keys, publish catalogs, drive the queue.
    #[command(subcommand)]
    Hub(hub_cmd::HubCommand),
    /// Run the appliance's background service (sync with the central server, local socket).
    Daemon,
    /// Inspect the link to the central server.
    #[command(subcommand)]
    Sync(sync_cmd::SyncCommand),
    /// Apply the technician's provisioning file (first boot); see docs/technician.md.
    Provision(provision_cmd::ProvisionArgs),
    /// The ticket printer: its state, a sample ticket (printed or as a PNG).
    #[command(subcommand)]
    Printer(printer_cmd::PrinterCommand),
    /// Software updates on this device's A/B slots: mark the running slot good, roll back.
    #[command(subcommand)]
    Update(update_cmd::UpdateCommand),
    /// Run the citizen kiosk (touchscreen UI) on this device's display.
    Kiosk(kiosk_cmd::KioskArgs),
    /// The kiosk in a window on the demo catalog, with a queue that advances by itself.
    Demo,
    /// Render one kiosk screen to a PNG file, without a display.
    Screenshot(kiosk_cmd::ScreenshotArgs),
}

impl Command {
    /// A command that prints and exits, as opposed to a service (daemon, kiosk, demo, hub,
    /// review). Such a command may be piped into `head`: when the reader goes away it should
    /// end quietly, as Unix tools do, instead of panicking on a broken pipe.
    pub fn prints_and_exits(&self) -> bool {
        !matches!(
            self,
            Command::Daemon
                | Command::Kiosk(_)
                | Command::Demo
                | Command::Hub(hub_cmd::HubCommand::Serve { .. })
                | Command::Review(review_cmd::ReviewCommand::Serve { .. })
        )
    }
}

/// Everything a command needs from the global flags.
pub struct Context {
    pub config: Config,
    pub data_dir: PathBuf,
}

impl Cli {
    /// Load the config named by `--config` (required) or the default path (optional).
    pub fn context(&self) -> anyhow::Result<Context> {
        let config = match &self.config {
            Some(path) => Config::load(path, true)?,
            None => Config::load(DEFAULT_CONFIG_PATH.as_ref(), false)?,
        };
        let data_dir = config.data_dir(self.data_dir.as_deref());
        Ok(Context { config, data_dir })
    }
}

/// Run the parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    if let Command::Doctor(args) = &cli.command {
        return doctor_cmd::run(&cli, args); // before loading the config: a bad one is a check
    }
    // Provisioning must work whatever state the installed config is in.
    if let Command::Provision(args) = &cli.command {
        return provision_cmd::run(args);
    }
    // The printer check needs no config either: the technician names the device.
    if let Command::Printer(cmd) = cli.command {
        return printer_cmd::run(cmd);
    }
    // The slots must be kept bootable and rolled back whatever state the config is in.
    if matches!(cli.command, Command::Update(_)) {
        let data_dir = crate::config::Config::default().data_dir(cli.data_dir.as_deref());
        become_data_dir_owner(&cli.command, &data_dir)?;
        let Command::Update(cmd) = cli.command else {
            unreachable!("matched above")
        };
        return update_cmd::run(&data_dir, cmd);
    }
    // Discovery talks to cameras only.
    if let Command::Cameras(cmd) = cli.command {
        return cameras_cmd::run(cmd);
    }
    let ctx = cli.context()?;
    become_data_dir_owner(&cli.command, &ctx.data_dir)?;
    let global_data_dir = cli.data_dir.clone();
    match cli.command {
        Command::Catalog(cmd) => catalog_cmd::run(&ctx, cmd),
        Command::Search(args) => search_cmd::run(&ctx, args),
        Command::Fee(args) => fee_cmd::run(&ctx, args),
        Command::Doctor(_) => unreachable!("handled above"),
        Command::User(cmd) => user_cmd::run(&ctx, cmd),
        Command::Review(cmd) => review_cmd::run(&ctx, cmd),
        Command::Snapshots(cmd) => snapshot_cmd::run(&ctx, cmd),
        Command::Hub(cmd) => hub_cmd::run(&ctx, global_data_dir.as_deref(), cmd),
        Command::Daemon => daemon_cmd::run(&ctx, cli.config.as_deref()),
        Command::Sync(cmd) => sync_cmd::run(&ctx, cmd),
        Command::Provision(_) | Command::Printer(_) | Command::Cameras(_) | Command::Update(_) => {
            unreachable!("handled above")
        }
        Command::Kiosk(args) => kiosk_cmd::run_kiosk(&ctx, args),
        Command::Demo => kiosk_cmd::run_demo(&ctx),
        Command::Screenshot(args) => kiosk_cmd::run_screenshot(&ctx, args),
    }
}

/// Root on a data directory another user owns becomes that user before `cmd` can write it
/// (`root_guard`).
fn become_data_dir_owner(cmd: &Command, data_dir: &Path) -> anyhow::Result<()> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let euid = unsafe { libc::geteuid() };
    if let Some((name, uid, gid)) = root_guard::owner_to_become(cmd, euid, data_dir, Path::new("/"))
    {
        root_guard::become_owner(&name, uid, gid, data_dir).map_err(anyhow::Error::msg)?;
    }
    Ok(())
}

/// `--lang vi|en` for commands that print catalog text.
#[derive(Debug, Clone, Copy, clap::ValueEnum, Default)]
pub enum LangArg {
    #[default]
    Vi,
    En,
}

impl From<LangArg> for Lang {
    fn from(l: LangArg) -> Lang {
        match l {
            LangArg::Vi => Lang::Vi,
            LangArg::En => Lang::En,
        }
    }
}
