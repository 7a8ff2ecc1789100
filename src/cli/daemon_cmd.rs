//! `motcua daemon`: run the appliance's background service until SIGTERM/SIGINT (a second
//! signal stops it at once). Parsing only; the service is `crate::daemon`.

use super::Context;
use crate::daemon::{run_until_signal, DaemonOptions};

pub fn run(ctx: &Context, config_path: Option<&std::path::Path>) -> anyhow::Result<()> {
    let mut opts = DaemonOptions::from_config(&ctx.config, &ctx.data_dir)?;
    if let Some(p) = config_path {
        opts.system.config_path = p.to_owned();
    }
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(run_until_signal(opts))
}
