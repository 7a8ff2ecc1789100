//! `motcua cameras discover [--timeout S] [--user U --password-file F] [--target HOST:PORT]`:
//! find the LAN's ONVIF cameras and print what to put in `[[recorder.cameras]]`
//! (`crate::onvif`). Needs no config; the password is read from a file, never an argument.

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand};

use crate::onvif::{self, soap::Login};

#[derive(Debug, Subcommand)]
pub enum CamerasCommand {
    /// Find ONVIF cameras (WS-Discovery) and print make, model, stream and snapshot URLs.
    Discover(DiscoverArgs),
}

#[derive(Debug, Args)]
pub struct DiscoverArgs {
    /// Seconds to wait for answers to the probe.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=60))]
    pub timeout: u64,
    /// ONVIF user name (most cameras ask for one before describing themselves).
    #[arg(long, requires = "password_file")]
    pub user: Option<String>,
    /// A file whose first line is the ONVIF password (keep it in the secrets directory).
    #[arg(long, requires = "user")]
    pub password_file: Option<PathBuf>,
    /// Probe one host instead of the multicast group 239.255.255.250:3702 (a camera on
    /// another subnet).
    #[arg(long, value_name = "HOST:PORT")]
    pub target: Option<String>,
}

pub fn run(cmd: CamerasCommand) -> anyhow::Result<()> {
    let CamerasCommand::Discover(args) = cmd;
    let login = match (&args.user, &args.password_file) {
        (Some(user), Some(path)) => {
            let text = std::fs::read_to_string(path).map_err(|e| {
                anyhow::anyhow!("cannot read --password-file {}: {e}", path.display())
            })?;
            let password = text.lines().next().unwrap_or("").trim_end_matches('\r');
            if password.is_empty() {
                anyhow::bail!(
                    "--password-file {} must hold the password on its first line",
                    path.display()
                );
            }
            Some(Login {
                user: user.clone(),
                password: password.to_owned(),
                camera_offset_ms: 0,
            })
        }
        _ => None,
    };
    let target: SocketAddr = match &args.target {
        None => onvif::probe::MULTICAST.parse().expect("literal"),
        Some(t) => t
            .to_socket_addrs()
            .ok()
            .and_then(|mut a| a.next())
            .ok_or_else(|| anyhow::anyhow!("--target {t:?} is not a HOST:PORT"))?,
    };
    let wait = Duration::from_secs(args.timeout);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let found = runtime
        .block_on(onvif::discover(target, wait, login.as_ref()))
        .map_err(|e| anyhow::anyhow!("cannot send the WS-Discovery probe to {target}: {e}"))?;
    if found.cameras.is_empty() {
        for why in &found.unreadable {
            eprintln!("note: {why}");
        }
        anyhow::bail!(
            "no ONVIF camera answered the WS-Discovery probe sent to {target} within {} s; \
             check that the cameras are on this LAN with ONVIF (and discovery) enabled, or \
             give --target HOST:3702",
            args.timeout
        );
    }
    print!("{}", onvif::render(&found));
    if found.cameras.iter().all(|(_, r)| r.is_err()) {
        anyhow::bail!("no camera could be described (see above)");
    }
    Ok(())
}
