//! What a conversion adds on top of the portal's records: a center's own setup, and
//! hand-checked facts by procedure code.
//!
//! A [`CenterProfile`] says which counter serves which field (by the field's published name,
//! so it survives a re-conversion), who the officials are and the center's statistics.
//! [`Overrides`] carry what people checked by hand and the portal lacks: English names of
//! fields and procedures, and structured fees and times per channel. Overrides never fork
//! the data: everything they do not name comes from the portal, and where a hand-checked
//! value disagrees with a structured portal value the report says so for a person to look.

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;

use super::ConvertReport;
use crate::catalog::model::*;

/// A center's setup, in terms of published field names.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CenterProfile {
    pub center: Center,
    pub counters: Vec<ProfileCounter>,
    #[serde(default)]
    pub officials: Vec<ProfileOfficial>,
    #[serde(default)]
    pub statistics: Option<Statistics>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileCounter {
    pub number: u32,
    pub name: Localized,
    /// Published field names (`linh_vuc`) served here.
    #[serde(default)]
    pub fields: Vec<String>,
    /// This counter also serves every field no other counter names (the guidance counter).
    #[serde(default)]
    pub rest: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileOfficial {
    pub id: String,
    pub name: String,
    pub title: Localized,
    #[serde(default)]
    pub counter: Option<u32>,
}

impl CenterProfile {
    pub fn parse(bytes: &[u8]) -> Result<Self, String> {
        let mut de = serde_json::Deserializer::from_slice(bytes);
        serde_path_to_error::deserialize(&mut de).map_err(|e| format!("at {}: {}", e.path(), e))
    }

    /// Replace the bundle's center, counters, officials and statistics. Field names the
    /// conversion did not produce are left out (a profile may name fields of other levels).
    pub fn apply(&self, b: &mut CatalogBundle) {
        let code_of: HashMap<&str, &str> = b
            .fields
            .iter()
            .map(|f| (f.name.vi.as_str(), f.code.as_str()))
            .collect();
        let named: std::collections::HashSet<&str> = self
            .counters
            .iter()
            .flat_map(|c| c.fields.iter())
            .filter_map(|n| code_of.get(n.as_str()).copied())
            .collect();
        let counters: Vec<Counter> = self
            .counters
            .iter()
            .map(|c| {
                let mut fields: Vec<String> = c
                    .fields
                    .iter()
                    .filter_map(|n| code_of.get(n.as_str()).map(|s| s.to_string()))
                    .collect();
                if c.rest {
                    fields.extend(
                        b.fields
                            .iter()
                            .filter(|f| !named.contains(f.code.as_str()))
                            .map(|f| f.code.clone()),
                    );
                }
                Counter {
                    number: c.number,
                    name: c.name.clone(),
                    fields,
                }
            })
            .collect();
        let officials = self
            .officials
            .iter()
            .map(|o| Official {
                id: o.id.clone(),
                name: o.name.clone(),
                title: o.title.clone(),
                counter: o.counter,
                fields: o
                    .counter
                    .and_then(|n| counters.iter().find(|c| c.number == n))
                    .map(|c| c.fields.clone())
                    .unwrap_or_default(),
            })
            .collect();
        b.center = self.center.clone();
        b.counters = counters;
        b.officials = officials;
        b.statistics = self.statistics.clone();
    }
}

/// Hand-checked facts, by published field name and by procedure code.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Overrides {
    /// English names of fields, by their published Vietnamese name.
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
    #[serde(default)]
    pub procedures: BTreeMap<String, ProcedureOverride>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProcedureOverride {
    /// Why this entry exists and what it was checked against.
    #[serde(default)]
    pub checked: Option<String>,
    #[serde(default)]
    pub name_en: Option<String>,
    /// Per channel: a hand-checked processing time and/or fee items, replacing the
    /// converted ones of that channel. A channel the portal does not list is not added.
    #[serde(default)]
    pub channels: Vec<ChannelOverride>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelOverride {
    pub channel: Channel,
    #[serde(default)]
    pub processing_time: Option<ProcessingTime>,
    #[serde(default)]
    pub fees: Option<Vec<Fee>>,
}

impl Overrides {
    pub fn parse(bytes: &[u8]) -> Result<Self, String> {
        let mut de = serde_json::Deserializer::from_slice(bytes);
        serde_path_to_error::deserialize(&mut de).map_err(|e| format!("at {}: {}", e.path(), e))
    }

    pub fn apply(&self, b: &mut CatalogBundle, report: &mut ConvertReport) {
        for f in &mut b.fields {
            if let Some(en) = self.fields.get(&f.name.vi) {
                f.name.en = Some(en.clone());
            }
        }
        for p in &mut b.procedures {
            let Some(o) = self.procedures.get(&p.code) else {
                continue;
            };
            report.overridden += 1;
            if let Some(en) = &o.name_en {
                p.name.en = Some(en.clone());
            }
            for c in &o.channels {
                let Some(exec) = p.channels.iter_mut().find(|e| e.channel == c.channel) else {
                    report.override_notes.push(format!(
                        "{}: the portal lists no {} channel; override not applied",
                        p.code,
                        c.channel.as_str()
                    ));
                    continue;
                };
                if let Some(t) = &c.processing_time {
                    let portal = (
                        exec.processing_time.working_days,
                        exec.processing_time.calendar_days,
                    );
                    if portal != (None, None) && portal != (t.working_days, t.calendar_days) {
                        report.override_notes.push(format!(
                            "{} {}: hand-checked time {:?} differs from the portal's {:?} ({})",
                            p.code,
                            c.channel.as_str(),
                            (t.working_days, t.calendar_days),
                            portal,
                            exec.processing_time.text.vi
                        ));
                    }
                    exec.processing_time = t.clone();
                }
                if let Some(fees) = &c.fees {
                    exec.fees = fees.clone();
                }
            }
        }
        let known: std::collections::HashSet<&str> =
            b.procedures.iter().map(|p| p.code.as_str()).collect();
        for code in self.procedures.keys() {
            if !known.contains(code.as_str()) {
                report
                    .override_notes
                    .push(format!("{code}: no such procedure in this conversion"));
            }
        }
    }
}
