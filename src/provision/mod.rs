//! First-boot provisioning: apply the technician's `motcua.toml` from the FAT boot partition.
//!
//! Order (each write atomic, so a power cut at any point leaves a consistent device and the
//! next boot simply applies the file again): validate everything → keys and certificate (kept
//! if present) → secret files (network cameras' `camera-N` among them) → network units →
//! `/etc/motcua/motcua.toml` (the commit point) → `provisioned.json` → the FAT copy renamed
//! to `motcua.toml.applied` with secrets blanked → kernel command line (machine id,
//! hostname) → grow the data partition. A bad file changes nothing but the error file
//! ([`mapping::paths::ERROR`]), which the kiosk's technician screen shows. Schema in
//! [`schema`], file mapping in [`mapping`]; see `docs/technician.md`.

pub mod disk;
pub mod fleet;
pub mod fsutil;
pub mod keys;
pub mod mapping;
pub mod schema;

use std::path::{Path, PathBuf};

use mapping::paths;
use schema::{ProvisionFile, SchemaError};

/// What to apply and where.
#[derive(Debug, Clone)]
pub struct Options {
    /// The technician's file, normally `/boot/firmware/motcua.toml`.
    pub from: PathBuf,
    /// Root of the installed system (`/`; a scratch directory in tests).
    pub root: PathBuf,
    /// Run the grow commands (otherwise they are only planned and reported).
    pub execute: bool,
    /// Replace the device key and TLS key/certificate even if they exist.
    pub new_keys: bool,
    /// Timestamp written into the files (RFC 3339).
    pub now: String,
}

/// What was done, for the console and the technician.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Report {
    pub device_name: String,
    pub center_code: String,
    pub hostname: String,
    pub device_public_key: String,
    pub tls_fingerprint_sha256: String,
    pub keys_created: bool,
    /// Sections written as comments because this build's config does not read them yet.
    pub pending_sections: Vec<String>,
    pub applied_copy: PathBuf,
    pub cmdline_changed: bool,
    /// Number of SSH keys installed (0: SSH off).
    pub ssh_keys: usize,
    /// The grow commands (run when `execute`), empty when the partition already fills the disk.
    pub grow_commands: Vec<String>,
    pub grown: bool,
    /// Things that did not stop provisioning but need a look (e.g. the partition not grown).
    pub warnings: Vec<String>,
    pub applied_at: String,
}

/// Why provisioning stopped. Nothing under /etc/motcua was changed for `Schema` errors.
#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    #[error(transparent)]
    Schema(#[from] SchemaError),
    #[error("{what} {path}: {source}")]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Keys(#[from] keys::KeyError),
    #[error("the generated configuration is refused by this build (a bug): {0}")]
    Config(#[from] crate::config::ConfigError),
    #[error("group `motcua` does not exist in {0}/etc/group; is the motcua package installed?")]
    NoGroup(PathBuf),
    #[error("found {found} but no {expected}: rename it to {name} exactly (a laptop may hide the extension .txt), then restart the appliance")]
    Misnamed {
        found: PathBuf,
        expected: PathBuf,
        name: String,
    },
}

/// A file next to `from` that a technician most likely meant as the provisioning file:
/// `motcua.toml.txt`, `Motcua.toml`, `motcua.txt`, `motcua (1).toml`… — its last extension is
/// `.toml` or `.txt`. Never the shipped template, an applied copy, or a leftover whose last
/// extension says it is not meant to be read (`motcua.toml.bak`, `.old`, `.orig`, `~`): those
/// are [`leftovers`], named in the log and otherwise ignored (refusing them failed the first
/// boot unit at every boot).
pub fn misnamed_candidate(from: &Path) -> Option<PathBuf> {
    let mut found: Vec<PathBuf> = siblings(from)
        .into_iter()
        .filter(|(_, n)| n.ends_with(".toml") || n.ends_with(".txt"))
        .map(|(p, _)| p)
        .collect();
    found.sort();
    found.into_iter().next()
}

/// Other `motcua*` files next to `from` that are not read and not refused (backups, editor
/// leftovers): `motcua.toml.bak`, `motcua.toml~`… Sorted.
pub fn leftovers(from: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = siblings(from)
        .into_iter()
        .filter(|(_, n)| !(n.ends_with(".toml") || n.ends_with(".txt")))
        .map(|(p, _)| p)
        .collect();
    found.sort();
    found
}

/// `motcua*` files next to `from` (lower-cased names), but `from` itself, the template and
/// applied copies.
fn siblings(from: &Path) -> Vec<(PathBuf, String)> {
    let (Some(dir), Some(name)) = (from.parent(), from.file_name()) else {
        return Vec::new();
    };
    let want = name.to_string_lossy().to_lowercase();
    let stem = want.split('.').next().unwrap_or("motcua").to_owned();
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    rd.filter_map(|e| e.ok())
        .filter_map(|e| {
            let n = e.file_name().to_string_lossy().to_lowercase();
            let ours = n.starts_with(&stem)
                && n != want
                && !n.contains(".applied")
                && !n.ends_with(".template");
            ours.then(|| (e.path(), n))
        })
        .collect()
}

/// As [`apply`], for the first-boot unit, which runs at every boot: with no provisioning file
/// on the card it does nothing (`Ok(None)`), unless a misnamed one is there, which is refused
/// with an error naming it (shown on the technician screen) instead of being skipped silently.
pub fn apply_if_present(opts: &Options) -> Result<Option<Report>, ProvisionError> {
    if opts.from.exists() {
        return apply(opts).map(Some);
    }
    let Some(found) = misnamed_candidate(&opts.from) else {
        return Ok(None);
    };
    let e = ProvisionError::Misnamed {
        found,
        expected: opts.from.clone(),
        name: opts
            .from
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned(),
    };
    let err_path = opts.root.join(paths::ERROR);
    if let Some(dir) = err_path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let _ = fsutil::write_atomic(
        &err_path,
        format!("{}\n{e}\n", opts.now).as_bytes(),
        0o644,
        None,
    );
    Err(e)
}

fn io<'a>(
    what: &'static str,
    path: &'a Path,
) -> impl FnOnce(std::io::Error) -> ProvisionError + 'a {
    move |source| ProvisionError::Io {
        what,
        path: path.to_owned(),
        source,
    }
}

/// Apply the file and record the outcome for the technician screen: on success remove the
/// error file and leave the this-boot marker ([`paths::APPLIED_THIS_BOOT`]), on failure write
/// the message into the error file. Returns the report or the error.
pub fn apply(opts: &Options) -> Result<Report, ProvisionError> {
    let err_path = opts.root.join(paths::ERROR);
    if let Some(dir) = err_path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    match provision(opts) {
        Ok(report) => {
            let _ = fsutil::remove_if_exists(&err_path);
            let marker = opts.root.join(paths::APPLIED_THIS_BOOT);
            let _ =
                fsutil::write_atomic(&marker, format!("{}\n", opts.now).as_bytes(), 0o644, None);
            Ok(report)
        }
        Err(e) => {
            let text = format!("{}\n{e}\n", opts.now);
            let _ = fsutil::write_atomic(&err_path, text.as_bytes(), 0o644, None);
            Err(e)
        }
    }
}

fn read_opt(path: &Path) -> Result<Option<String>, ProvisionError> {
    match std::fs::read_to_string(path) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io("cannot read", path)(e)),
    }
}

/// The work itself; see the module documentation for the order.
pub fn provision(opts: &Options) -> Result<Report, ProvisionError> {
    let root = &opts.root;
    let at = |rel: &str| root.join(rel);
    let bytes = std::fs::read(&opts.from).map_err(|e| SchemaError::Read {
        path: opts.from.clone(),
        message: e.to_string(),
    })?;
    let file = ProvisionFile::parse(&opts.from, &bytes)?;
    let text = String::from_utf8(bytes).expect("checked by parse");
    let hostname = mapping::hostname(&file.device.name);

    // Render and check the config before touching anything.
    let header = format!(
        "Written by `motcua provision` from {} at {}.\nDo not edit here: edit the provisioning file and apply it again (docs/technician.md).",
        opts.from.display(),
        opts.now
    );
    let pin_hash = match &file.kiosk.technician_pin {
        Some(pin) => Some(keys::hash_password(pin.get_ref())?),
        None => None,
    };
    let (config_text, pending) = mapping::render_config(
        &mapping::config_sections(&file, pin_hash.as_deref()),
        mapping::config_knows,
        &header,
    );
    crate::config::Config::parse(
        Path::new(&mapping::abs(paths::CONFIG)),
        config_text.as_bytes(),
    )?;

    let gid = fsutil::group_id(root, "motcua");
    if gid.is_none() && opts.execute {
        return Err(ProvisionError::NoGroup(root.clone()));
    }
    let dir = |rel: &str, mode, g| {
        fsutil::ensure_dir(&at(rel), mode, g).map_err(io("cannot create", &at(rel)))
    };
    dir(paths::ETC, 0o755, None)?;
    dir(paths::SECRETS, 0o750, gid)?;
    dir(paths::NETWORK_DIR, 0o755, None)?;
    let write = |rel: &str, data: &[u8], mode: u32, g: Option<u32>| {
        fsutil::write_atomic(&at(rel), data, mode, g).map_err(io("cannot write", &at(rel)))
    };

    // Keys: kept across re-provisioning unless --new-keys.
    let keep = |rel: &str| -> Result<Option<String>, ProvisionError> {
        if opts.new_keys {
            Ok(None)
        } else {
            read_opt(&at(rel))
        }
    };
    let old_device_key = keep(paths::DEVICE_KEY)?;
    let old_tls_key = keep(paths::TLS_KEY)?;
    let old_cert = keep(paths::TLS_CERT)?;
    let keys_created = old_device_key.is_none();
    let (device_pem, device_pub) = keys::device_key(old_device_key.as_deref())?;
    write(paths::DEVICE_KEY, device_pem.as_bytes(), 0o640, gid)?;
    write(
        paths::DEVICE_PUB,
        format!("{device_pub}\n").as_bytes(),
        0o644,
        None,
    )?;
    let cert_der = match (
        &old_tls_key,
        old_cert.as_deref().and_then(keys::pem_cert_der),
    ) {
        (Some(_), Some(der)) => der,
        _ => {
            let (kpem, cpem, der) = keys::tls_certificate(
                old_tls_key.as_deref(),
                &hostname,
                &file.device.name,
                &file.center.name,
            )?;
            write(paths::TLS_KEY, kpem.as_bytes(), 0o640, gid)?;
            write(paths::TLS_CERT, cpem.as_bytes(), 0o644, None)?;
            der
        }
    };
    let fingerprint = keys::fingerprint(&cert_der);

    // Secrets.
    let hash = keys::hash_password(file.supervisor.password.get_ref())?;
    write(
        paths::USERS,
        mapping::users_file(&file.supervisor.username, &hash).as_bytes(),
        0o640,
        gid,
    )?;
    match &file.server {
        Some(s) => write(
            paths::TOKEN,
            format!("{}\n", s.token.get_ref()).as_bytes(),
            0o640,
            gid,
        )?,
        None => fsutil::remove_if_exists(&at(paths::TOKEN))
            .map_err(io("cannot remove", &at(paths::TOKEN)))?,
    }
    // The hub's CA (public): only with `[server] ca`, so a device never trusts a CA left over.
    match file.server.as_ref().and_then(|s| s.ca.as_deref()) {
        Some(ca) => {
            let pem = fleet::hub_ca_pem(ca).expect("checked by parse");
            write(paths::HUB_CA, pem.as_bytes(), 0o644, None)?;
        }
        None => fsutil::remove_if_exists(&at(paths::HUB_CA))
            .map_err(io("cannot remove", &at(paths::HUB_CA)))?,
    }

    // Network cameras: `user:password` each in its own file; files of cameras no longer
    // provisioned are removed (the password does not outlive its camera's entry).
    let mut cameras = Vec::new();
    for c in &file.recorder.cameras {
        let password = c.password.as_ref().expect("checked by parse").get_ref();
        let rel = mapping::camera_credentials(c.counter);
        write(
            &rel,
            format!("{}:{password}\n", c.user).as_bytes(),
            0o640,
            gid,
        )?;
        cameras.push(rel);
    }
    remove_stale_camera_credentials(&at(paths::SECRETS), &cameras, root)?;

    // Network.
    write(
        paths::NETWORK_UNIT,
        mapping::network_unit(&file).as_bytes(),
        0o644,
        None,
    )?;
    match &file.network.wifi {
        Some(w) => {
            write(
                paths::WPA_CONF,
                mapping::wpa_conf(w).as_bytes(),
                0o600,
                None,
            )?;
            write(
                mapping::WIFI_NETWORK_UNIT,
                mapping::wifi_network_unit().as_bytes(),
                0o644,
                None,
            )?;
        }
        None => {
            for rel in [paths::WPA_CONF, mapping::WIFI_NETWORK_UNIT] {
                fsutil::remove_if_exists(&at(rel)).map_err(io("cannot remove", &at(rel)))?;
            }
        }
    }

    // SSH: on only with keys (the image's ssh.service runs only while the file exists).
    match &file.ssh {
        Some(ssh) => {
            dir(paths::SSH_DIR, 0o755, None)?;
            let mut keys =
                String::from("# Written by motcua provision from [ssh] authorized_keys.\n");
            for k in &ssh.authorized_keys {
                keys.push_str(k.trim());
                keys.push('\n');
            }
            write(paths::SSH_KEYS, keys.as_bytes(), 0o644, None)?;
        }
        None => fsutil::remove_if_exists(&at(paths::SSH_KEYS))
            .map_err(io("cannot remove", &at(paths::SSH_KEYS)))?,
    }

    // The commit point.
    write(paths::CONFIG, config_text.as_bytes(), 0o644, None)?;

    // The FAT copy: secrets blanked, renamed so the next boot does not apply it again.
    let applied_copy = applied_path(&opts.from);
    let blanked = blank_secrets(&text, &schema::secret_spans(&file), &opts.now);
    fsutil::write_atomic(&applied_copy, blanked.as_bytes(), 0o600, None)
        .map_err(io("cannot write", &applied_copy))?;
    fsutil::remove_if_exists(&opts.from).map_err(io("cannot remove", &opts.from))?;

    let mut warnings = Vec::new();
    let cmdline_changed = update_cmdline(opts, &hostname).unwrap_or_else(|w| {
        warnings.push(w);
        false
    });
    let (grow_commands, grown) = grow(opts, &mut warnings);

    let report = Report {
        device_name: file.device.name.clone(),
        center_code: file.center.code.clone(),
        hostname,
        device_public_key: device_pub,
        tls_fingerprint_sha256: fingerprint,
        keys_created,
        pending_sections: pending,
        applied_copy,
        cmdline_changed,
        ssh_keys: file.ssh.as_ref().map_or(0, |s| s.authorized_keys.len()),
        grow_commands,
        grown,
        warnings,
        applied_at: opts.now.clone(),
    };
    let json = serde_json::to_string_pretty(&report).expect("report serialises");
    write(paths::STATUS, format!("{json}\n").as_bytes(), 0o644, None)?;
    Ok(report)
}

/// Remove `camera-N` files in `secrets` that are not among `keep` (paths relative to `root`).
fn remove_stale_camera_credentials(
    secrets: &Path,
    keep: &[String],
    root: &Path,
) -> Result<(), ProvisionError> {
    let entries = std::fs::read_dir(secrets).map_err(io("cannot read", secrets))?;
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let numbered = name
            .strip_prefix("camera-")
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
        let path = e.path();
        if numbered && !keep.iter().any(|k| root.join(k) == path) {
            fsutil::remove_if_exists(&path).map_err(io("cannot remove", &path))?;
        }
    }
    Ok(())
}

/// `…/motcua.toml` → `…/motcua.toml.applied`.
pub fn applied_path(from: &Path) -> PathBuf {
    let mut name = from.file_name().unwrap_or_default().to_owned();
    name.push(".applied");
    from.with_file_name(name)
}

/// The provisioning text with every secret value replaced by an empty string and a note on top.
pub fn blank_secrets(text: &str, spans: &[std::ops::Range<usize>], now: &str) -> String {
    let mut spans = spans.to_vec();
    spans.sort_by_key(|s| std::cmp::Reverse(s.start));
    let mut out = text.to_owned();
    for s in spans {
        out.replace_range(s, "\"\"");
    }
    format!("# Applied by motcua provision at {now}. Secrets were removed from this copy;\n# to change settings, fill them in again and save it as motcua.toml.\n{out}")
}

/// Put the machine id and hostname on the kernel command line, in `motcua-cmdline.env` (the
/// A/B image: U-Boot's boot script reads `motcua_bootargs=` from it) or else `cmdline.txt`
/// (the Pi firmware's own file, images without U-Boot).
fn update_cmdline(opts: &Options, hostname: &str) -> Result<bool, String> {
    let Some(fat) = opts.from.parent() else {
        return Ok(false);
    };
    let id = std::fs::read_to_string(opts.root.join("etc/machine-id")).unwrap_or_default();
    let env_path = fat.join(disk::CMDLINE_ENV);
    let (path, new) = if let Ok(old) = std::fs::read_to_string(&env_path) {
        let new = disk::cmdline_env_with(&old, id.trim(), hostname)
            .map_err(|e| format!("{}: {e}", env_path.display()))?;
        (env_path, new)
    } else {
        let path = fat.join("cmdline.txt");
        let Ok(old) = std::fs::read_to_string(&path) else {
            return Ok(false);
        };
        let new = disk::cmdline_with(&old, id.trim(), hostname);
        (path, new)
    };
    match new {
        None => Ok(false),
        Some(new) => fsutil::write_atomic(&path, new.as_bytes(), 0o644, None)
            .map(|()| true)
            .map_err(|e| format!("cannot update {}: {e}", path.display())),
    }
}

fn grow(opts: &Options, warnings: &mut Vec<String>) -> (Vec<String>, bool) {
    match disk::grow_plan(&opts.root, disk::DATA_LABEL) {
        Ok(None) => (Vec::new(), false),
        Ok(Some(plan)) => {
            let cmds = plan.commands.iter().map(|c| c.to_string()).collect();
            if !opts.execute {
                return (cmds, false);
            }
            match disk::run(&plan.commands) {
                Ok(()) => (cmds, true),
                Err(e) => {
                    warnings.push(format!("data partition not grown: {e}"));
                    (cmds, false)
                }
            }
        }
        Err(e) => {
            warnings.push(format!("data partition not grown: {e}"));
            (Vec::new(), false)
        }
    }
}
