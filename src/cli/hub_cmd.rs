//! `motcua hub serve|keygen|publish|device|queue|record|anchors|admin|update`: the central server and
//! its administration. Every command works on the hub's directory (`--data DIR`, or the global
//! `--data-dir DIR`, or `MOTCUA_HUB_DIR`, else `motcua-hub` in the user's data directory) and,
//! with `--database postgres://…`, on PostgreSQL instead of `DIR/hub.db`. A running
//! `hub serve` sees what these commands write (NOTIFY on PostgreSQL, within 200 ms on SQLite).
//! Argument parsing and printing only; logic is in `crate::hub`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::{Args, Subcommand, ValueEnum};

use super::Context;
use crate::hub::config::HubConfig;
use crate::hub::{keys, Database, HubState, Store};
use crate::queue::{QueueEvent, QueueEventKind};
use crate::record::{RecordId, RecordStage};

/// Where the hub keeps its things; every hub command takes these.
#[derive(Debug, Clone, Args)]
pub struct HubDir {
    /// The hub's directory (signing key; hub.db unless --database) [default: --data-dir,
    /// MOTCUA_HUB_DIR, or motcua-hub in the user's data directory].
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    /// A PostgreSQL URL (postgres://USER@HOST/DB) to keep the hub's data in, instead of
    /// DIR/hub.db [env: MOTCUA_HUB_DATABASE; default: hub.toml's database].
    #[arg(long, value_name = "URL")]
    database: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum HubCommand {
    /// Serve protocol v1 and the fleet page, over HTTPS (--tls-cert/--tls-key) or plain HTTP
    /// on a loopback address.
    Serve {
        /// Address to listen on [default: hub.toml's listen, else 127.0.0.1:8780].
        #[arg(long)]
        listen: Option<SocketAddr>,
        #[command(flatten)]
        dir: HubDir,
        /// PEM certificate chain for HTTPS [default: hub.toml's tls_cert].
        #[arg(long, value_name = "PEM", requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// PEM private key for HTTPS [default: hub.toml's tls_key].
        #[arg(long, value_name = "PEM", requires = "tls_cert")]
        tls_key: Option<PathBuf>,
        /// Advance a realistic queue by itself (and publish the demo catalog when none is).
        #[arg(long)]
        simulate: bool,
        /// Seed of the simulator.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// About how many seconds between simulated events (sets the simulator's speed).
        #[arg(long, default_value_t = 4.0)]
        sim_pace_secs: f64,
        /// Number of simulated counters.
        #[arg(long, default_value_t = 4)]
        sim_counters: u32,
    },
    /// Create the catalog signing key pair; prints the public key for [sync] public_keys.
    Keygen {
        #[command(flatten)]
        dir: HubDir,
    },
    /// Validate, version, sign and publish a catalog bundle.
    Publish {
        file: PathBuf,
        #[command(flatten)]
        dir: HubDir,
        /// Set the bundle's expiry this many days from now.
        #[arg(long)]
        expires_in_days: Option<u32>,
    },
    /// Device tokens.
    #[command(subcommand)]
    Device(DeviceCommand),
    /// Drive the queue by hand: append one event.
    Queue {
        #[arg(value_enum)]
        action: QueueAction,
        counter: u32,
        #[command(flatten)]
        dir: HubDir,
        /// Ticket label (call: the next number when omitted).
        #[arg(long)]
        ticket: Option<String>,
        /// Record being served (start).
        #[arg(long)]
        record: Option<String>,
        /// Citizens waiting for this counter.
        #[arg(long)]
        waiting: Option<u32>,
    },
    /// Record statuses.
    #[command(subcommand)]
    Record(RecordCommand),
    /// List anchored footage heads, newest first.
    Anchors {
        /// Only this device's.
        #[arg(long)]
        device: Option<String>,
        #[command(flatten)]
        dir: HubDir,
    },
    /// Fleet page accounts.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Software updates for the appliances: publish a bundle to a channel with a staged
    /// rollout, list, pause, resume, promote (docs/updates.md).
    #[command(subcommand)]
    Update(super::hub_update_cmd::UpdateCommand),
}

#[derive(Debug, Subcommand)]
pub enum DeviceCommand {
    /// Register a device (or replace its token); prints the token once.
    Add {
        name: String,
        /// The center (commune or ward) the device serves, shown on the fleet page.
        #[arg(long, default_value = "")]
        center: String,
        #[command(flatten)]
        dir: HubDir,
    },
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create an admin (or set a new password); reads the password from standard input.
    Add {
        name: String,
        #[command(flatten)]
        dir: HubDir,
    },
}

#[derive(Debug, Subcommand)]
pub enum RecordCommand {
    /// Set a record's status (what appliances show for a lookup).
    Set {
        id: String,
        #[arg(long, value_enum)]
        stage: StageArg,
        /// Due day, YYYY-MM-DD.
        #[arg(long)]
        due: chrono::NaiveDate,
        #[arg(long)]
        completed: Option<chrono::NaiveDate>,
        #[arg(long)]
        procedure: Option<String>,
        #[command(flatten)]
        dir: HubDir,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum QueueAction {
    Call,
    Start,
    Finish,
    NoShow,
    Pause,
    Close,
    Open,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum StageArg {
    Received,
    InProgress,
    NeedsSupplement,
    ReadyForPickup,
    Returned,
}

/// The hub's directory and database for a command.
pub(super) struct Where {
    pub(super) dir: PathBuf,
    pub(super) db: Database,
    config: HubConfig,
}

impl HubDir {
    pub(super) fn resolve(&self, global_data_dir: Option<&Path>) -> anyhow::Result<Where> {
        let dir = self
            .data
            .clone()
            .or_else(|| global_data_dir.map(Path::to_owned))
            .or_else(|| std::env::var_os("MOTCUA_HUB_DIR").map(PathBuf::from))
            .or_else(|| dirs::data_dir().map(|d| d.join("motcua-hub")))
            .context("no hub directory: give --data DIR")?;
        let config = HubConfig::load(&dir)?;
        let database = self
            .database
            .clone()
            .or_else(|| {
                std::env::var("MOTCUA_HUB_DATABASE")
                    .ok()
                    .filter(|s| !s.is_empty())
            })
            .or_else(|| config.database.clone());
        let db = Database::choose(database.as_deref(), &dir)?;
        Ok(Where { dir, db, config })
    }
}

pub(super) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

/// Run one hub command. `global_data_dir` is the global `--data-dir`, when given.
pub fn run(ctx: &Context, global_data_dir: Option<&Path>, cmd: HubCommand) -> anyhow::Result<()> {
    let max_bundle = ctx.config.catalog.max_bundle_bytes;
    match cmd {
        HubCommand::Serve {
            listen,
            dir,
            tls_cert,
            tls_key,
            simulate,
            seed,
            sim_pace_secs,
            sim_counters,
        } => {
            let w = dir.resolve(global_data_dir)?;
            let listen = listen
                .or(w.config.listen)
                .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8780)));
            let (cert, key) = match (tls_cert, tls_key) {
                (Some(c), Some(k)) => (Some(c), Some(k)),
                _ => (w.config.tls_cert.clone(), w.config.tls_key.clone()),
            };
            let tls = cert.as_deref().zip(key.as_deref());
            if tls.is_none() && !listen.ip().is_loopback() {
                anyhow::bail!(
                    "refusing to serve the hub on {listen} without TLS: give --tls-cert and \
                     --tls-key (or tls_cert and tls_key in {}), or listen on a loopback address \
                     such as 127.0.0.1:8780 (development, or behind a TLS proxy)",
                    w.dir.join(crate::hub::config::HUB_CONFIG).display()
                );
            }
            let endpoint = crate::review::tls::Endpoint::new(listen, tls)?;
            let sim = simulate.then(|| Simulate {
                sim: crate::hub::sim::simulator(seed, sim_counters, sim_pace_secs.max(0.05)),
                max_bundle,
            });
            runtime()?.block_on(serve(endpoint, &w, sim))
        }
        HubCommand::Keygen { dir } => {
            let w = dir.resolve(global_data_dir)?;
            let public = keys::keygen(&w.dir)?;
            eprintln!(
                "wrote {} (secret, keep it private) and {}",
                keys::secret_path(&w.dir).display(),
                w.dir.join(keys::PUBLIC_FILE).display()
            );
            eprintln!(
                "pin this key on each appliance, in [sync] public_keys (key id {}):",
                public.id
            );
            println!("{}", public.to_base64());
            Ok(())
        }
        HubCommand::Publish {
            file,
            dir,
            expires_in_days,
        } => {
            let w = dir.resolve(global_data_dir)?;
            let bytes =
                std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let key = keys::load_signing_key(&w.dir)?;
            let p = runtime()?.block_on(async {
                Store::open(&w.db)
                    .await?
                    .publish(
                        &bytes,
                        &key,
                        max_bundle,
                        expires_in_days.map(|d| chrono::Duration::days(d.into())),
                        chrono::Utc::now(),
                    )
                    .await
                    .with_context(|| format!("{} was not published", file.display()))
            })?;
            println!(
                "published catalog version {} ({} procedures, {} bytes signed, {} bytes {} on the wire, etag {})",
                p.version,
                p.procedures,
                p.envelope_bytes,
                p.stored_bytes,
                p.encoding.as_str(),
                p.etag
            );
            Ok(())
        }
        HubCommand::Device(DeviceCommand::Add { name, center, dir }) => {
            let w = dir.resolve(global_data_dir)?;
            let token = runtime()?.block_on(async {
                Store::open(&w.db)
                    .await?
                    .add_device(&name, &center, chrono::Utc::now())
                    .await
            })?;
            eprintln!("device {name} registered; put this token in the appliance's [sync] token_file (it is not shown again):");
            println!("{token}");
            Ok(())
        }
        HubCommand::Queue {
            action,
            counter,
            dir,
            ticket,
            record,
            waiting,
        } => {
            let w = dir.resolve(global_data_dir)?;
            let kind = match action {
                QueueAction::Call => QueueEventKind::Called,
                QueueAction::Start => QueueEventKind::Started,
                QueueAction::Finish => QueueEventKind::Finished,
                QueueAction::NoShow => QueueEventKind::NoShow,
                QueueAction::Pause => QueueEventKind::Paused,
                QueueAction::Close => QueueEventKind::Closed,
                QueueAction::Open => QueueEventKind::Opened,
            };
            let record_id = record
                .map(|r| RecordId::parse(&r).with_context(|| format!("record ID {r:?}")))
                .transpose()?;
            // the center's day by hub.toml's time_zone, as the running hub judges it
            let today = w.config.ticket_rules()?.today(chrono::Utc::now());
            let e = runtime()?.block_on(async {
                let store = Store::open(&w.db).await?;
                let ticket = match (kind, ticket) {
                    (QueueEventKind::Called, None) => {
                        Some(store.next_ticket(counter, &today).await?)
                    }
                    (_, t) => t,
                };
                store
                    .push_event(
                        &QueueEvent {
                            seq: 0,
                            counter,
                            kind,
                            ticket,
                            record_id,
                            waiting,
                            at: chrono::Utc::now()
                                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                        },
                        &today,
                    )
                    .await
            })?;
            println!("{}", serde_json::to_string(&e)?);
            Ok(())
        }
        HubCommand::Record(RecordCommand::Set {
            id,
            stage,
            due,
            completed,
            procedure,
            dir,
        }) => {
            let w = dir.resolve(global_data_dir)?;
            let id = RecordId::parse(&id).with_context(|| format!("record ID {id:?}"))?;
            let stage = match stage {
                StageArg::Received => RecordStage::Received,
                StageArg::InProgress => RecordStage::InProgress,
                StageArg::NeedsSupplement => RecordStage::NeedsSupplement,
                StageArg::ReadyForPickup => RecordStage::ReadyForPickup,
                StageArg::Returned => RecordStage::Returned,
            };
            let s = crate::hub::store::sqlite::record_status(id, stage, due, completed, procedure);
            runtime()?.block_on(async { Store::open(&w.db).await?.set_record(&s).await })?;
            println!("{}", serde_json::to_string(&s)?);
            Ok(())
        }
        HubCommand::Anchors { device, dir } => {
            let w = dir.resolve(global_data_dir)?;
            let list = runtime()?
                .block_on(async { Store::open(&w.db).await?.anchors(device.as_deref()).await })?;
            if list.is_empty() {
                eprintln!("no anchored footage heads");
            }
            for r in list {
                println!(
                    "{}\t{}\tseq {}\t{}\tsigned {}\treceived {}\tkey {}",
                    r.hub_seq, r.device, r.seq, r.hash, r.at, r.received_at, r.key
                );
            }
            Ok(())
        }
        HubCommand::Admin(AdminCommand::Add { name, dir }) => {
            let w = dir.resolve(global_data_dir)?;
            // Asked twice without echo on a terminal, or one line from a pipe; checked as the
            // review UI's passwords are.
            let password = super::user_cmd::read_new_password()?;
            let phc = crate::review::auth::hash_password(&password)?;
            runtime()?
                .block_on(async { Store::open(&w.db).await?.set_admin(&name, &phc).await })?;
            eprintln!("admin {name} can sign in to the fleet page (/fleet)");
            Ok(())
        }
        HubCommand::Update(cmd) => super::hub_update_cmd::run(global_data_dir, cmd),
    }
}

struct Simulate {
    sim: crate::queue_sim::QueueSimulator,
    max_bundle: usize,
}

async fn serve(
    endpoint: crate::review::tls::Endpoint,
    w: &Where,
    sim: Option<Simulate>,
) -> anyhow::Result<()> {
    let key = match (keys::load_signing_key(&w.dir), &sim) {
        (Ok(k), _) => Some(k),
        // The simulator is for trying things out: make the key it needs to publish.
        (Err(_), Some(_)) if !keys::secret_path(&w.dir).exists() => {
            let public = keys::keygen(&w.dir)?;
            eprintln!(
                "made a signing key in {}; pin it in [sync] public_keys: {}",
                w.dir.display(),
                public.to_base64()
            );
            Some(keys::load_signing_key(&w.dir)?)
        }
        (Err(e), _) => {
            eprintln!(
                "note: {e}; heartbeats carrying footage heads will get 503 until there is one"
            );
            None
        }
    };
    let state = HubState::connect(&w.db, key.clone())
        .await?
        .with_ticket_rules(w.config.ticket_rules()?)
        .with_bundle_dir(&w.dir);
    let listener = tokio::net::TcpListener::bind(endpoint.addr)
        .await
        .with_context(|| format!("cannot listen on {}", endpoint.addr))?;
    eprintln!(
        "motcua hub serving protocol v1 on {}://{} ({} store{})",
        endpoint.scheme(),
        listener.local_addr()?,
        state.store().backend(),
        match &w.db {
            Database::Sqlite(d) => format!(" {}", d.join(crate::hub::HUB_DB).display()),
            Database::Postgres(_) => String::new(),
        }
    );
    if let Some(Simulate { sim, max_bundle }) = sim {
        if state.store().latest().await?.is_none() {
            if let Some(key) = &key {
                let p = state
                    .publish(
                        crate::catalog::DEMO_CATALOG_JSON.as_bytes(),
                        key,
                        max_bundle,
                        Some(chrono::Duration::days(365)),
                    )
                    .await
                    .context("publishing the demo catalog")?;
                eprintln!("published the demo catalog as version {}", p.version);
            }
        }
        tokio::spawn(crate::hub::sim::run(state.clone(), sim));
    }
    crate::hub::serve_tls(
        listener,
        endpoint.tls,
        state,
        crate::daemon::shutdown::os_signal(),
    )
    .await?;
    Ok(())
}
