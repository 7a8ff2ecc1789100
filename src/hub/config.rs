//! `DIR/hub.toml`: the hub's own settings file (optional), so that `motcua hub serve --data DIR`
//! is the whole command line of a deployed hub. Command-line flags win over it.
//!
//! ```toml
//! listen = "0.0.0.0:8443"
//! database = "postgres://motcua@/motcua_hub?host=/run/postgresql"
//! tls_cert = "/etc/motcua-hub/fullchain.pem"
//! tls_key = "/etc/motcua-hub/key.pem"
//! ```

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::HubError;

pub const HUB_CONFIG: &str = "hub.toml";

#[derive(Debug, Default, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HubConfig {
    pub listen: Option<SocketAddr>,
    /// A PostgreSQL URL; unset: `DIR/hub.db`.
    pub database: Option<String>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// The center's time zone: each counter's ticket sequence restarts at its midnight
    /// (default Asia/Ho_Chi_Minh).
    pub time_zone: Option<String>,
    /// Ticket prefixes by counter (`[ticket_prefix]` with `"1" = "A"`); a counter without one
    /// uses its number ("1015").
    #[serde(default)]
    pub ticket_prefix: std::collections::BTreeMap<String, String>,
}

impl HubConfig {
    /// Read `DIR/hub.toml`; no file is the empty config.
    pub fn load(dir: &Path) -> Result<HubConfig, HubError> {
        let path = dir.join(HUB_CONFIG);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(HubConfig::default()),
            Err(e) => return Err(HubError::io(&path, e)),
        };
        let c: HubConfig = toml::from_str(&text)
            .map_err(|e| HubError::Refused(format!("{}: {}", path.display(), e.message())))?;
        if c.tls_cert.is_some() != c.tls_key.is_some() {
            return Err(HubError::Refused(format!(
                "{}: tls_cert and tls_key go together",
                path.display()
            )));
        }
        c.ticket_rules()
            .map_err(|e| HubError::Refused(format!("{}: {e}", path.display())))?;
        Ok(c)
    }

    /// The ticket numbering these settings give.
    pub fn ticket_rules(&self) -> Result<super::tickets::TicketRules, HubError> {
        let mut prefixes = std::collections::BTreeMap::new();
        for (counter, prefix) in &self.ticket_prefix {
            let n: u32 = counter.parse().map_err(|_| {
                HubError::Refused(format!(
                    "ticket_prefix: {counter:?} is not a counter number"
                ))
            })?;
            prefixes.insert(n, prefix.clone());
        }
        super::tickets::TicketRules::new(self.time_zone.as_deref(), prefixes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hub_toml_is_optional_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(HubConfig::load(dir.path()).unwrap(), HubConfig::default());
        std::fs::write(
            dir.path().join(HUB_CONFIG),
            "listen = \"0.0.0.0:8443\"\ntls_cert = \"c.pem\"\ntls_key = \"k.pem\"\n",
        )
        .unwrap();
        let c = HubConfig::load(dir.path()).unwrap();
        assert_eq!(c.listen, Some("0.0.0.0:8443".parse().unwrap()));
        std::fs::write(dir.path().join(HUB_CONFIG), "tls_cert = \"c.pem\"\n").unwrap();
        let err = HubConfig::load(dir.path()).unwrap_err().to_string();
        assert!(
            err.ends_with("hub.toml: tls_cert and tls_key go together"),
            "{err}"
        );
        std::fs::write(
            dir.path().join(HUB_CONFIG),
            "time_zone = \"Asia/Ho_Chi_Minh\"\n[ticket_prefix]\n2 = \"B\"\n",
        )
        .unwrap();
        let rules = HubConfig::load(dir.path()).unwrap().ticket_rules().unwrap();
        assert_eq!(rules.label(2, 7), "B007");
        std::fs::write(dir.path().join(HUB_CONFIG), "[ticket_prefix]\nx = \"B\"\n").unwrap();
        let err = HubConfig::load(dir.path()).unwrap_err().to_string();
        assert!(
            err.ends_with("hub.toml: ticket_prefix: \"x\" is not a counter number"),
            "{err}"
        );
        std::fs::write(dir.path().join(HUB_CONFIG), "lisen = \"x\"\n").unwrap();
        let err = HubConfig::load(dir.path()).unwrap_err().to_string();
        assert!(err.contains("unknown field `lisen`"), "{err}");
    }
}
