//! Root over SSH uses the appliance's data directory (`/var/lib/motcua`) by default, but a
//! file root creates there (a database, its `-wal`, a footage file) belongs to root, and the
//! daemon (user motcua) then cannot open it. So a command that may write the data directory
//! refuses to run as root when the directory belongs to another user, and says how to run it
//! as that user. Commands that do not touch the data directory run as root as before.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use super::catalog_cmd::CatalogCommand;
use super::snapshot_cmd::SnapshotCommand;
use super::sync_cmd::SyncCommand;
use super::Command;

/// Whether `cmd` never writes the data directory (reads `catalog.db` read-only, as the kiosk
/// does, or does not touch the directory at all). Anything opening `footage.db` or
/// `review.db` may create files (a `-wal`, a migration), so it counts as writing.
fn leaves_data_dir_alone(cmd: &Command) -> bool {
    matches!(
        cmd,
        Command::Search(_)
            | Command::Fee(_)
            | Command::Hub(_)
            | Command::Demo
            | Command::Screenshot(_)
            | Command::Catalog(
                CatalogCommand::Show { .. } | CatalogCommand::Stats { .. } | CatalogCommand::Convert(_)
            )
            | Command::Sync(SyncCommand::Status { .. })
            | Command::Snapshots(SnapshotCommand::CheckExport { .. })
    )
}

/// The user name of `uid` from `<root>/etc/passwd` (None if not listed).
fn user_name(root: &Path, uid: u32) -> Option<String> {
    let text = std::fs::read_to_string(root.join("etc/passwd")).ok()?;
    text.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.len() > 2 && f[2].parse() == Ok(uid)).then(|| f[0].to_owned())
    })
}

/// The refusal for running `cmd` as `euid` on `data_dir`, if any (`root`: `/` on a device).
pub fn refusal(cmd: &Command, euid: u32, data_dir: &Path, root: &Path) -> Option<String> {
    if euid != 0 || leaves_data_dir_alone(cmd) {
        return None;
    }
    let owner = std::fs::metadata(data_dir).ok()?.uid();
    if owner == 0 {
        return None;
    }
    let name = user_name(root, owner).unwrap_or_else(|| format!("#{owner}"));
    let args: Vec<String> = std::env::args().skip(1).collect();
    Some(format!(
        "refusing to run as root on {dir}: files root creates there belong to root, and the \
         daemon (user {name}, the directory's owner) could not open them; run it as that user: \
         sudo -u {name} motcua {args}",
        dir = data_dir.display(),
        args = args.join(" ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn cmd(args: &[&str]) -> Command {
        super::super::Cli::parse_from(std::iter::once("motcua").chain(args.iter().copied()))
            .command
    }

    #[test]
    fn root_is_refused_on_a_data_dir_it_does_not_own_and_told_how() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path();
        std::fs::create_dir_all(root.join("etc")).unwrap();
        std::fs::write(
            root.join("etc/passwd"),
            "root:x:0:0::/root:/bin/sh\nmotcua:x:998:998::/var/lib/motcua:/usr/sbin/nologin\n",
        )
        .unwrap();
        let data = root.join("data");
        std::fs::create_dir(&data).unwrap();
        let import = cmd(&["catalog", "import", "x.json"]);
        // owned by root (as in tests and a laptop): nothing to refuse
        assert_eq!(refusal(&import, 0, &data, root), None);
        std::os::unix::fs::chown(&data, Some(998), Some(998)).unwrap();
        let msg = refusal(&import, 0, &data, root).unwrap();
        assert!(
            msg.starts_with(&format!(
                "refusing to run as root on {}: files root creates there belong to root, and the daemon (user motcua, the directory's owner) could not open them; run it as that user: sudo -u motcua motcua ",
                data.display()
            )),
            "{msg}"
        );
        // the owner itself, and commands that leave the data dir alone, run
        assert_eq!(refusal(&import, 998, &data, root), None);
        assert_eq!(refusal(&cmd(&["search", "khai sinh"]), 0, &data, root), None);
        assert_eq!(refusal(&cmd(&["catalog", "stats"]), 0, &data, root), None);
        assert_eq!(
            refusal(&cmd(&["snapshots", "check-export", "case.zip"]), 0, &data, root),
            None
        );
        for writes in [
            cmd(&["user", "add", "an", "--role", "supervisor"]),
            cmd(&["snapshots", "verify"]),
            cmd(&["daemon"]),
        ] {
            assert!(refusal(&writes, 0, &data, root).is_some(), "{writes:?}");
        }
        // an unknown owner is named by number
        std::os::unix::fs::chown(&data, Some(4321), None).unwrap();
        assert!(refusal(&import, 0, &data, root)
            .unwrap()
            .contains("sudo -u #4321 motcua "));
    }
}
