//! `motcua hub serve|keygen|publish|device|queue|record`: the reference central server and
//! its administration. Admin commands write `hub.db` directly (a running `hub serve` notices
//! new queue events within 200 ms). Argument parsing and printing only; logic is in `crate::hub`.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Subcommand, ValueEnum};

use super::Context;
use crate::hub::{keys, HubDb, HubState};
use crate::queue::{QueueEvent, QueueEventKind};
use crate::queue_sim::QueueSimulator;
use crate::record::{RecordId, RecordStage};

#[derive(Debug, Subcommand)]
pub enum HubCommand {
    /// Serve protocol v1 over HTTP (put a TLS proxy in front for real deployments).
    Serve {
        #[arg(long, default_value = "127.0.0.1:8780")]
        listen: SocketAddr,
        /// The hub's directory (hub.db, signing key).
        #[arg(long)]
        data: PathBuf,
        /// Advance a realistic queue by itself.
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
        #[arg(long)]
        data: PathBuf,
    },
    /// Validate, version, sign and publish a catalog bundle.
    Publish {
        file: PathBuf,
        #[arg(long)]
        data: PathBuf,
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
        #[arg(long)]
        data: PathBuf,
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
}

#[derive(Debug, Subcommand)]
pub enum DeviceCommand {
    /// Register a device (or replace its token); prints the token once.
    Add {
        name: String,
        #[arg(long)]
        data: PathBuf,
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
        #[arg(long)]
        data: PathBuf,
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

pub fn run(ctx: &Context, cmd: HubCommand) -> anyhow::Result<()> {
    match cmd {
        HubCommand::Serve {
            listen,
            data,
            simulate,
            seed,
            sim_pace_secs,
            sim_counters,
        } => {
            let sim = simulate
                .then(|| crate::hub::sim::simulator(seed, sim_counters, sim_pace_secs.max(0.05)));
            serve(listen, &data, sim)
        }
        HubCommand::Keygen { data } => {
            let public = keys::keygen(&data)?;
            eprintln!(
                "wrote {} (secret, keep it private) and {}",
                keys::secret_path(&data).display(),
                data.join(keys::PUBLIC_FILE).display()
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
            data,
            expires_in_days,
        } => {
            let bytes =
                std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let key = keys::load_signing_key(&data)?;
            let mut db = HubDb::open(&data)?;
            let p = db
                .publish(
                    &bytes,
                    &key,
                    ctx.config.catalog.max_bundle_bytes,
                    expires_in_days.map(|d| chrono::Duration::days(d.into())),
                    chrono::Utc::now(),
                )
                .with_context(|| format!("{} was not published", file.display()))?;
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
        HubCommand::Device(DeviceCommand::Add { name, data }) => {
            let token = HubDb::open(&data)?.add_device(&name, chrono::Utc::now())?;
            eprintln!("device {name} registered; put this token in the appliance's [sync] token_file (it is not shown again):");
            println!("{token}");
            Ok(())
        }
        HubCommand::Queue {
            action,
            counter,
            data,
            ticket,
            record,
            waiting,
        } => {
            let mut db = HubDb::open(&data)?;
            let kind = match action {
                QueueAction::Call => QueueEventKind::Called,
                QueueAction::Start => QueueEventKind::Started,
                QueueAction::Finish => QueueEventKind::Finished,
                QueueAction::NoShow => QueueEventKind::NoShow,
                QueueAction::Pause => QueueEventKind::Paused,
                QueueAction::Close => QueueEventKind::Closed,
                QueueAction::Open => QueueEventKind::Opened,
            };
            let ticket = match (kind, ticket) {
                (QueueEventKind::Called, None) => Some(db.next_ticket(counter)?),
                (_, t) => t,
            };
            let record_id = record
                .map(|r| RecordId::parse(&r).with_context(|| format!("record ID {r:?}")))
                .transpose()?;
            let e = db.push_event(&QueueEvent {
                seq: 0,
                counter,
                kind,
                ticket,
                record_id,
                waiting,
                at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
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
            data,
        }) => {
            let id = RecordId::parse(&id).with_context(|| format!("record ID {id:?}"))?;
            let stage = match stage {
                StageArg::Received => RecordStage::Received,
                StageArg::InProgress => RecordStage::InProgress,
                StageArg::NeedsSupplement => RecordStage::NeedsSupplement,
                StageArg::ReadyForPickup => RecordStage::ReadyForPickup,
                StageArg::Returned => RecordStage::Returned,
            };
            let s = crate::hub::db::record_status(id, stage, due, completed, procedure);
            HubDb::open(&data)?.set_record(&s)?;
            println!("{}", serde_json::to_string(&s)?);
            Ok(())
        }
    }
}

fn serve(
    listen: SocketAddr,
    data: &std::path::Path,
    sim: Option<QueueSimulator>,
) -> anyhow::Result<()> {
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async {
        let state = HubState::open(data)?;
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen}"))?;
        eprintln!(
            "motcua hub serving protocol v1 on http://{}",
            listener.local_addr()?
        );
        if let Some(sim) = sim {
            tokio::spawn(crate::hub::sim::run(state.clone(), sim));
        }
        crate::hub::serve(listener, state, crate::daemon::shutdown::os_signal()).await?;
        Ok(())
    })
}
