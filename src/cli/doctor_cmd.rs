//! `motcua doctor [--json]`: run the checks of `crate::doctor` and exit with the worst level
//! (0 ok, 1 warn, 2 fail).
//!
//! It loads the config itself so that a broken file is a failed check, not an aborted command.
//! Only argument handling and printing live here; it never changes the system.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;

use crate::config::{Config, DEFAULT_CONFIG_PATH};
use crate::doctor::server::SyncServerCheck;
use crate::doctor::{self, DoctorInputs, RealGpioProbe, SysfsCameras};

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// Hash every footage file (slow on a full card); without it the newest
    /// snapshots' files are hashed and the others checked present.
    #[arg(long)]
    pub full: bool,
    /// Read the system under this directory instead of `/` (tests, inspecting a mounted image).
    #[arg(long, value_name = "DIR", hide = true, default_value = "/")]
    pub root: PathBuf,
}

/// Run the checks, print the report and exit with its code.
pub fn run(cli: &super::Cli, args: &DoctorArgs) -> anyhow::Result<()> {
    let (config_path, required) = match &cli.config {
        Some(p) => (p.clone(), true),
        None => (PathBuf::from(DEFAULT_CONFIG_PATH), false),
    };
    let config_file_exists = config_path.exists();
    let config = Config::load(&config_path, required);
    let data_dir = config
        .as_ref()
        .unwrap_or(&Config::default())
        .data_dir(cli.data_dir.as_deref());
    let real_root = args.root == std::path::Path::new("/");
    let fake_gpio = crate::device::gpio::FakeGpio::new();
    let server = SyncServerCheck {
        config: config.as_ref().ok().cloned(),
        data_dir: data_dir.clone(),
    };
    let inputs = DoctorInputs {
        root: &args.root,
        config_path,
        config,
        config_file_exists,
        data_dir,
        full: args.full,
        // Under a non-/ root there is no hardware to try: pins are probed on a fake.
        gpio: if real_root {
            &RealGpioProbe
        } else {
            &fake_gpio
        },
        cameras: &SysfsCameras { root: &args.root },
        server: &server,
        kernel_clock_synced: if real_root {
            doctor::kernel_clock_synced()
        } else {
            None
        },
        now: chrono::Utc::now(),
    };
    let report = doctor::run(&inputs);
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &report)?;
        writeln!(out)?;
    } else {
        write!(out, "{}", report.to_text())?;
    }
    out.flush()?;
    std::process::exit(i32::from(report.exit_code()));
}
