//! `motcua hub update publish|list|pause|resume|promote`: software updates for the appliances
//! (docs/updates.md). Publishing copies the bundle into `DIR/updates/<sha256>.raucb` and adds
//! a release row; a running `hub serve` answers devices from the rows at once. Argument
//! parsing and printing only; the judgements are `crate::hub::updates`'.

use std::path::{Path, PathBuf};

use clap::Subcommand;

use super::hub_cmd::{runtime, HubDir};
use crate::hub::updates::{BundleStore, Change, NewRelease, Release};
use crate::hub::Store;

/// Largest bundle the hub takes (a bundle is no larger than the compressed root filesystem).
pub const MAX_HUB_BUNDLE_BYTES: u64 = 4 << 30;

#[derive(Debug, Subcommand)]
pub enum UpdateCommand {
    /// Publish a RAUC bundle as VERSION of CHANNEL, to --percent of the devices and/or the
    /// named --devices.
    Publish {
        #[arg(long)]
        channel: String,
        #[arg(long)]
        version: String,
        /// The signed RAUC bundle (`.raucb`); RAUC checks its signature on the device.
        #[arg(long, value_name = "FILE")]
        bundle: PathBuf,
        /// Share of the devices (0–100) that get it, by a stable hash of device and update.
        #[arg(long, default_value_t = 0)]
        percent: u8,
        /// Devices that get it whatever the percentage (comma-separated names).
        #[arg(long, value_delimiter = ',')]
        devices: Vec<String>,
        #[command(flatten)]
        dir: HubDir,
    },
    /// List the releases, newest first (tab-separated).
    List {
        #[command(flatten)]
        dir: HubDir,
    },
    /// Stop offering release ID (devices that have it keep it).
    Pause {
        id: u64,
        #[command(flatten)]
        dir: HubDir,
    },
    /// Offer a paused release ID again.
    Resume {
        id: u64,
        #[command(flatten)]
        dir: HubDir,
    },
    /// Widen release ID's rollout to --percent (never narrower).
    Promote {
        id: u64,
        #[arg(long)]
        percent: u8,
        #[command(flatten)]
        dir: HubDir,
    },
}

fn line(r: &Release) -> String {
    format!(
        "{}\t{}\t{}\t{} %\t{}\t{}\t{} bytes\tsha256 {}\t{}",
        r.id,
        r.channel,
        r.version,
        r.percent,
        if r.devices.is_empty() {
            "-".into()
        } else {
            r.devices.join(",")
        },
        if r.paused { "paused" } else { "active" },
        r.size,
        r.sha256,
        r.published_at
    )
}

pub fn run(global_data_dir: Option<&Path>, cmd: UpdateCommand) -> anyhow::Result<()> {
    let (dir, change) = match cmd {
        UpdateCommand::Publish {
            channel,
            version,
            bundle,
            percent,
            devices,
            dir,
        } => {
            let w = dir.resolve(global_data_dir)?;
            let r = runtime()?.block_on(async {
                let store = Store::open(&w.db).await?;
                // Judge the names before copying a large file in.
                crate::hub::updates::check_publish(
                    &channel,
                    &version,
                    percent,
                    &devices,
                    &store.updates().await?,
                )?;
                let (sha, size) = BundleStore::new(&w.dir).import(&bundle, MAX_HUB_BUNDLE_BYTES)?;
                store
                    .publish_update(
                        &NewRelease {
                            channel: &channel,
                            version: &version,
                            sha256: &sha,
                            size,
                            percent,
                            devices: &devices,
                        },
                        chrono::Utc::now(),
                    )
                    .await
            })?;
            println!("{}", line(&r));
            return Ok(());
        }
        UpdateCommand::List { dir } => {
            let w = dir.resolve(global_data_dir)?;
            let list = runtime()?.block_on(async { Store::open(&w.db).await?.updates().await })?;
            if list.is_empty() {
                eprintln!("no updates published");
            }
            for r in list {
                println!("{}", line(&r));
            }
            return Ok(());
        }
        UpdateCommand::Pause { id, dir } => (dir, (id, Change::Pause)),
        UpdateCommand::Resume { id, dir } => (dir, (id, Change::Resume)),
        UpdateCommand::Promote { id, percent, dir } => (dir, (id, Change::Percent(percent))),
    };
    let w = dir.resolve(global_data_dir)?;
    let r = runtime()?.block_on(async {
        Store::open(&w.db)
            .await?
            .change_update(change.0, change.1)
            .await
    })?;
    println!("{}", line(&r));
    Ok(())
}
