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
        UpdateCommand::Settle => {
            if let Err(e) = give_back(data_dir, &dir) {
                eprintln!("motcua: warning: {e}");
            }
            match mark_if_settled(&dir, &Rauc::default()) {
                Ok(Settle::Marked(m)) | Ok(Settle::Left(m)) => println!("{m}"),
                Err(e) => anyhow::bail!("cannot mark the running slot: {e}"),
            }
        }
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

/// Give the update directory and its files back to the data directory's owner when root owns
/// them (a rollback by hand as root before it became the owner first left them so, and the
/// daemon could then never record an update again). `settle` runs as root at every boot.
fn give_back(data_dir: &Path, dir: &Path) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    let (Ok(owner), Ok(meta)) = (std::fs::metadata(data_dir), std::fs::symlink_metadata(dir))
    else {
        return Ok(());
    };
    if owner.uid() == 0 || meta.uid() != 0 || !meta.is_dir() {
        return Ok(());
    }
    let give = |p: &Path| {
        std::os::unix::fs::lchown(p, Some(owner.uid()), Some(owner.gid())).map_err(|e| {
            format!(
                "cannot give {} back to uid {}: {e}",
                p.display(),
                owner.uid()
            )
        })
    };
    give(dir)?;
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for entry in entries.flatten() {
        give(&entry.path())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn a_root_owned_update_dir_is_given_back_to_the_data_dirs_owner() {
        let t = tempfile::tempdir().unwrap();
        let data = t.path().join("data");
        let dir = data.join("update");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("state.json"), b"{}").unwrap();
        if unsafe { libc::geteuid() } != 0 {
            // not root: nothing can be owned by root here; only "leave it" can be checked
            give_back(&data, &dir).unwrap();
            return;
        }
        // all root's (a laptop, tests): left alone
        give_back(&data, &dir).unwrap();
        assert_eq!(std::fs::metadata(dir.join("state.json")).unwrap().uid(), 0);
        std::os::unix::fs::chown(&data, Some(998), Some(997)).unwrap();
        give_back(&data, &dir).unwrap();
        for p in [&dir, &dir.join("state.json")] {
            let m = std::fs::metadata(p).unwrap();
            assert_eq!((m.uid(), m.gid()), (998, 997), "{}", p.display());
        }
    }
}
