//! `motcua review serve|fingerprint`: run the supervisor review UI on its own (development,
//! tests, or a device without the daemon), and print the TLS certificate's SHA-256.
//!
//! `serve` takes the footage writer lock, so it refuses to run beside the daemon (which serves
//! the same UI itself). Never creates a certificate or an account.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use anyhow::Context as _;
use clap::Subcommand;

use super::Context;
use crate::recorder::clock::{Clocks, RealClocks};
use crate::recorder::footage::FootageStore;
use crate::review::{self, Endpoint, NoHealth, ReviewOptions, ReviewState};

#[derive(Debug, Subcommand)]
pub enum ReviewCommand {
    /// Serve the review UI until Ctrl-C (HTTPS with [review] tls_cert/tls_key; plain HTTP only
    /// on a loopback address).
    Serve {
        /// Listen here instead of [review] listen, e.g. 127.0.0.1:8080.
        #[arg(long)]
        listen: Option<SocketAddr>,
    },
    /// Print the SHA-256 fingerprint of the review UI's certificate (what browsers show).
    Fingerprint,
}

pub fn run(ctx: &Context, cmd: ReviewCommand) -> anyhow::Result<()> {
    match cmd {
        ReviewCommand::Fingerprint => {
            let cert = ctx
                .config
                .review
                .tls_cert
                .as_deref()
                .ok_or(review::TlsError::NoCertificate)?;
            println!("{}", review::tls::fingerprint_of_file(cert)?);
            Ok(())
        }
        ReviewCommand::Serve { listen } => serve(ctx, listen),
    }
}

fn serve(ctx: &Context, listen: Option<SocketAddr>) -> anyhow::Result<()> {
    let mut cfg = ctx.config.clone();
    if let Some(l) = listen {
        cfg.review.listen = l;
    }
    let endpoint = Endpoint::from_config(&cfg.review)?;
    let clocks: Arc<dyn Clocks> = Arc::new(RealClocks);
    let (store, _) = FootageStore::open_writer(&ctx.data_dir, clocks.now_ms()).context(
        "opening the footage store (is the daemon running? it serves the review UI itself)",
    )?;
    let state = ReviewState::open(ReviewOptions {
        config: cfg,
        data_dir: ctx.data_dir.clone(),
        footage: Arc::new(Mutex::new(store)),
        clocks,
        health: Arc::new(NoHealth),
    })?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    rt.block_on(async move {
        let listener = review::server::bind(&endpoint).await?;
        let addr = listener.local_addr()?;
        eprintln!(
            "review UI on {}://{addr}/ (Ctrl-C to stop)",
            endpoint.scheme()
        );
        review::serve(listener, endpoint.tls.clone(), state, async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
        anyhow::Ok(())
    })
}
