//! `motcua provision`: apply the technician's provisioning file (first-boot unit) and print
//! what was done — device public key, certificate fingerprint, pending config sections.

use std::path::PathBuf;

use crate::provision::{apply, apply_if_present, Options};

#[derive(Debug, clap::Args)]
pub struct ProvisionArgs {
    /// The provisioning file (on the FAT boot partition).
    #[arg(
        long,
        value_name = "FILE",
        default_value = "/boot/firmware/motcua.toml"
    )]
    pub from: PathBuf,
    /// Install under DIR instead of / (tests); grow commands are then only planned.
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// Plan the data-partition grow commands without running them.
    #[arg(long)]
    pub no_grow: bool,
    /// Replace the device key and the review UI's TLS key and certificate.
    #[arg(long)]
    pub new_keys: bool,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// Do nothing (exit 0) when FILE does not exist, unless a misnamed copy is next to it
    /// (`motcua.toml.txt`…), which is an error (the first-boot unit, run at every boot).
    #[arg(long)]
    pub if_present: bool,
}

pub fn run(args: &ProvisionArgs) -> anyhow::Result<()> {
    let opts = Options {
        from: args.from.clone(),
        root: args.root.clone().unwrap_or_else(|| PathBuf::from("/")),
        execute: args.root.is_none() && !args.no_grow,
        new_keys: args.new_keys,
        now: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    };
    let r = if args.if_present {
        match apply_if_present(&opts)? {
            Some(r) => r,
            None => {
                println!(
                    "MOTCUA_PROVISION: nothing to apply ({} not present)",
                    opts.from.display()
                );
                for f in crate::provision::leftovers(&opts.from) {
                    println!(
                        "MOTCUA_PROVISION: ignoring {} (a leftover: only {} is read)",
                        f.display(),
                        opts.from.display()
                    );
                }
                return Ok(());
            }
        }
    } else {
        apply(&opts)?
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
        return Ok(());
    }
    println!(
        "MOTCUA_PROVISION: applied {} (device {:?}, center {})",
        opts.from.display(),
        r.device_name,
        r.center_code
    );
    println!("  hostname:            {}", r.hostname);
    println!(
        "  device public key:   {}{}",
        r.device_public_key,
        if r.keys_created { " (new)" } else { " (kept)" }
    );
    println!("  TLS SHA-256:         {}", r.tls_fingerprint_sha256);
    println!(
        "  secrets removed:     {} is what remains on the card",
        r.applied_copy.display()
    );
    if !r.pending_sections.is_empty() {
        println!(
            "  not read by this version yet (kept as comments): {}",
            r.pending_sections.join(", ")
        );
    }
    for c in &r.grow_commands {
        println!("  grow{}: {c}", if r.grown { "" } else { " (planned)" });
    }
    println!(
        "  SSH:                 {}",
        if r.ssh_keys == 0 {
            "off (no [ssh] authorized_keys)".to_string()
        } else {
            format!("on, key-only, {} key(s)", r.ssh_keys)
        }
    );
    for w in &r.warnings {
        println!("  warning: {w}");
    }
    Ok(())
}
