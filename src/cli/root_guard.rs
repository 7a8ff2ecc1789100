//! Root over SSH uses the appliance's data directory (`/var/lib/motcua`) by default, but a
//! file root creates there (the `private/` directory, a database, a footage file) would belong
//! to root, and the daemon (user motcua) could then not open it. So a command that may write
//! the data directory, run as root on a directory another user owns, first becomes that user
//! (its group and supplementary groups, as `sudo -u motcua` would): the technician types
//! `motcua snapshots verify` and every file it makes belongs to the daemon's user. If the switch
//! fails the command is refused, saying how to run it. Commands that do not touch the data
//! directory run as root as before.

use std::ffi::CString;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use super::catalog_cmd::CatalogCommand;
use super::snapshot_cmd::SnapshotCommand;
use super::sync_cmd::SyncCommand;
use super::update_cmd::UpdateCommand;
use super::Command;

/// Whether `cmd` never writes the data directory (reads `catalog.db` read-only, as the kiosk
/// does, or does not touch the directory at all). Anything opening `footage.db` or
/// `review.db` may create files (a `-wal`, a migration), so it counts as writing. `update
/// settle` (a root service at boot) only reads the update state; `update rollback` writes it.
fn leaves_data_dir_alone(cmd: &Command) -> bool {
    matches!(
        cmd,
        Command::Search(_)
            | Command::Fee(_)
            | Command::Hub(_)
            | Command::Demo
            | Command::Screenshot(_)
            | Command::Catalog(
                CatalogCommand::Show { .. }
                    | CatalogCommand::Stats { .. }
                    | CatalogCommand::Convert(_)
            )
            | Command::Sync(SyncCommand::Status { .. })
            | Command::Snapshots(SnapshotCommand::CheckExport { .. })
            | Command::Update(UpdateCommand::Settle)
    )
}

/// The user `cmd` must run as: `Some((name, uid, gid))` when `euid` is root, `cmd` may write
/// `data_dir` and another user owns it (`root`: `/` on a device; the name from its
/// `etc/passwd`, or `#uid`).
pub fn owner_to_become(
    cmd: &Command,
    euid: u32,
    data_dir: &Path,
    root: &Path,
) -> Option<(String, u32, u32)> {
    if euid != 0 || leaves_data_dir_alone(cmd) {
        return None;
    }
    let meta = std::fs::metadata(data_dir).ok()?;
    if meta.uid() == 0 {
        return None;
    }
    let name = user_name(root, meta.uid()).unwrap_or_else(|| format!("#{}", meta.uid()));
    Some((name, meta.uid(), meta.gid()))
}

/// The user name of `uid` from `<root>/etc/passwd` (None if not listed).
fn user_name(root: &Path, uid: u32) -> Option<String> {
    passwd_entry(root, uid).map(|(name, _)| name)
}

/// `(name, home)` of `uid` from `<root>/etc/passwd`.
fn passwd_entry(root: &Path, uid: u32) -> Option<(String, String)> {
    let text = std::fs::read_to_string(root.join("etc/passwd")).ok()?;
    text.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.len() > 5 && f[2].parse() == Ok(uid)).then(|| (f[0].to_owned(), f[5].to_owned()))
    })
}

/// Become `uid`/`gid` (with the user's supplementary groups when it has a name) for the rest
/// of the process; on failure, the refusal naming the directory and how to run the command.
pub fn become_owner(name: &str, uid: u32, gid: u32, data_dir: &Path) -> Result<(), String> {
    let refuse = |why: String| {
        let args: Vec<String> = std::env::args().skip(1).collect();
        format!(
            "refusing to run as root on {dir}: files root creates there would belong to root, \
             and the daemon (user {name}, the directory's owner) could not open them; becoming \
             {name} failed ({why}); run it as that user: sudo -u {name} motcua {args}",
            dir = data_dir.display(),
            args = args.join(" ")
        )
    };
    // SAFETY: plain system calls on integers and a NUL-terminated name; the process is still
    // single-threaded here (before any runtime or worker starts).
    unsafe {
        let groups_set = match CString::new(name) {
            Ok(c) if !name.starts_with('#') => libc::initgroups(c.as_ptr(), gid as _) == 0,
            _ => libc::setgroups(1, &gid) == 0,
        };
        if !groups_set {
            return Err(refuse(format!(
                "groups: {}",
                std::io::Error::last_os_error()
            )));
        }
        if libc::setgid(gid) != 0 {
            return Err(refuse(format!(
                "setgid: {}",
                std::io::Error::last_os_error()
            )));
        }
        if libc::setuid(uid) != 0 {
            return Err(refuse(format!(
                "setuid: {}",
                std::io::Error::last_os_error()
            )));
        }
    }
    // the user's own environment, as `sudo -u` gives (root's HOME would not be writable)
    let home = passwd_entry(Path::new("/"), uid).map(|(_, h)| h);
    // still single-threaded (no runtime or worker has started): nothing reads the
    // environment concurrently
    if !name.starts_with('#') {
        std::env::set_var("USER", name);
        std::env::set_var("LOGNAME", name);
    }
    if let Some(h) = home {
        std::env::set_var("HOME", h);
    }
    std::env::remove_var("XDG_RUNTIME_DIR");
    tracing::info!(user = name, "running as the data directory's owner");
    if std::fs::read_dir(".").is_err() {
        // relative paths (an export's --out, a catalog file) would fail with a bare
        // "permission denied": say why first
        let cwd = std::env::current_dir()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| "the current directory".into());
        eprintln!(
            "motcua: note: running as {name} (the data directory's owner), which cannot read \
             {cwd}; give files in a directory it can read, e.g. /tmp/case.zip"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn cmd(args: &[&str]) -> Command {
        super::super::Cli::parse_from(std::iter::once("motcua").chain(args.iter().copied())).command
    }

    #[test]
    fn which_commands_write_the_data_dir() {
        // checked as any user (the test below needs root for its ownership part)
        assert!(leaves_data_dir_alone(&cmd(&["update", "settle"])));
        assert!(leaves_data_dir_alone(&cmd(&["catalog", "stats"])));
        assert!(!leaves_data_dir_alone(&cmd(&["update", "rollback"])));
        assert!(!leaves_data_dir_alone(&cmd(&["snapshots", "verify"])));
    }

    #[test]
    fn root_becomes_the_owner_of_a_data_dir_it_does_not_own() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path();
        std::fs::create_dir_all(root.join("etc")).unwrap();
        std::fs::write(
            root.join("etc/passwd"),
            "root:x:0:0::/root:/bin/sh\nmotcua:x:998:997::/var/lib/motcua:/usr/sbin/nologin\n",
        )
        .unwrap();
        let data = root.join("data");
        std::fs::create_dir(&data).unwrap();
        let import = cmd(&["catalog", "import", "x.json"]);
        if unsafe { libc::geteuid() } != 0 {
            // not root: only the "not root" rule can be checked
            assert_eq!(owner_to_become(&import, 1000, &data, root), None);
            return;
        }
        // owned by root (as in tests and a laptop): nothing to change
        assert_eq!(owner_to_become(&import, 0, &data, root), None);
        std::os::unix::fs::chown(&data, Some(998), Some(997)).unwrap();
        assert_eq!(
            owner_to_become(&import, 0, &data, root),
            Some(("motcua".to_owned(), 998, 997))
        );
        // the owner itself, and commands that leave the data dir alone, run as they are
        assert_eq!(owner_to_become(&import, 998, &data, root), None);
        for reads in [
            cmd(&["search", "khai sinh"]),
            cmd(&["catalog", "stats"]),
            cmd(&["snapshots", "check-export", "case.zip"]),
            cmd(&["update", "settle"]),
        ] {
            assert_eq!(owner_to_become(&reads, 0, &data, root), None, "{reads:?}");
        }
        for writes in [
            cmd(&["user", "add", "an", "--role", "supervisor"]),
            cmd(&["snapshots", "verify"]),
            cmd(&["daemon"]),
            // the update state must stay the daemon's to write after a rollback by hand
            cmd(&["update", "rollback", "--force"]),
        ] {
            assert!(
                owner_to_become(&writes, 0, &data, root).is_some(),
                "{writes:?}"
            );
        }
        // an unknown owner is named by number
        std::os::unix::fs::chown(&data, Some(4321), None).unwrap();
        assert_eq!(
            owner_to_become(&import, 0, &data, root).map(|o| o.0),
            Some("#4321".to_owned())
        );
    }
}
