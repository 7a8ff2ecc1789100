//! `motcua update settle|rollback`: the device's A/B slots by hand and at boot (docs/updates.md).
//! Neither needs the configuration: a device with a broken or missing `motcua.toml` must still
//! keep its running slot bootable, and a technician must still be able to roll back.

use std::path::Path;

use clap::Subcommand;

use crate::update::agent::{mark_if_settled, rollback, update_dir, Settle};
use crate::update::installer::{Rauc, Rebooter, SystemReboot};

#[derive(Debug, Subcommand)]
pub enum UpdateCommand {
    /// Mark the running slot good if it is the proven one (run at every boot by
    /// motcua-slot-settle.service); a new slot on probation is left to the daemon.
    Settle,
    /// Boot the other slot from now on (it becomes the proven one), then reboot.
    Rollback {
        /// Also to a slot no update wrote (the system the card was flashed with).
        #[arg(long)]
        force: bool,
        /// Do not reboot now; the other slot boots at the next start.
        #[arg(long)]
        no_reboot: bool,
    },
}

pub fn run(data_dir: &Path, cmd: UpdateCommand) -> anyhow::Result<()> {
    if !Path::new(crate::update::agent::RAUC_SYSTEM_CONF).exists() {
        anyhow::bail!(
            "no A/B slots here ({} is missing): updates are installed by flashing a card",
            crate::update::agent::RAUC_SYSTEM_CONF
        );
    }
    let dir = update_dir(data_dir);
    match cmd {
        UpdateCommand::Settle => match mark_if_settled(&dir, &Rauc::default()) {
            Ok(Settle::Marked(m)) | Ok(Settle::Left(m)) => println!("{m}"),
            Err(e) => anyhow::bail!("cannot mark the running slot: {e}"),
        },
        UpdateCommand::Rollback { force, no_reboot } => {
            let slot = rollback(&dir, &Rauc::default(), force).map_err(anyhow::Error::msg)?;
            if no_reboot {
                println!("slot {slot} boots at the next start, and is kept");
            } else {
                println!("slot {slot} is kept from now on; rebooting");
                SystemReboot.reboot().map_err(anyhow::Error::msg)?;
            }
        }
    }
    Ok(())
}
