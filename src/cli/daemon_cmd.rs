//! `motcua daemon`: run the appliance's background service until SIGTERM/SIGINT (a second
//! signal stops it at once). Parsing only; the service is `crate::daemon`.

use super::Context;
use crate::daemon::{run_until_signal, DaemonOptions};

pub fn run(ctx: &Context) -> anyhow::Result<()> {
    let opts = DaemonOptions::from_config(&ctx.config, &ctx.data_dir)?;
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(run_until_signal(opts))
}
