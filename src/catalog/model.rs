//! The catalog's domain types, exactly as they travel in a catalog bundle (JSON).
//!
//! This file owns the shape of the data: procedures, their per-channel execution and fees,
//! fields, counters, officials and center statistics. It never validates (see `validate.rs`)
//! and never touches storage (see `crate::store`). `docs/catalog-format.md` documents every
//! field; keep the two in step.

use serde::{Deserialize, Serialize};

/// The bundle schema version this build writes (and the newest it reads).
///
/// Schema 2 added the optional procedure keys that carry the national portal's record whole
/// (`source_url`, `source_id`, `decision`, `procedure_type`, `competent_authority`,
/// `authorized_agency`, `coordinating_agency`, `receiving_address`, `related`) and document
/// groups. A schema 1 bundle is still read: it simply has none of them.
pub const SCHEMA_VERSION: u32 = 2;
/// The oldest bundle schema this build reads.
pub const MIN_SCHEMA_VERSION: u32 = 1;

/// Text in Vietnamese with an optional English translation.
///
/// In JSON either a plain string (Vietnamese only) or `{"vi": "...", "en": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(from = "LocalizedRepr")]
pub struct Localized {
    pub vi: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub en: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum LocalizedRepr {
    Plain(String),
    Both {
        vi: String,
        #[serde(default)]
        en: Option<String>,
    },
}

impl From<LocalizedRepr> for Localized {
    fn from(r: LocalizedRepr) -> Self {
        match r {
            LocalizedRepr::Plain(vi) => Localized { vi, en: None },
            LocalizedRepr::Both { vi, en } => Localized { vi, en },
        }
    }
}

impl Localized {
    pub fn vi(text: impl Into<String>) -> Self {
        Localized {
            vi: text.into(),
            en: None,
        }
    }

    /// The text in `lang` ("vi" or "en"), falling back to Vietnamese.
    pub fn get(&self, lang: Lang) -> &str {
        match (lang, &self.en) {
            (Lang::En, Some(en)) if !en.is_empty() => en,
            _ => &self.vi,
        }
    }
}

/// Display language of the kiosk and the CLI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    #[default]
    Vi,
    En,
}

/// A whole catalog as published by the central server (or shipped as the demo).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogBundle {
    /// Bundle schema version, [`MIN_SCHEMA_VERSION`] to [`SCHEMA_VERSION`].
    pub schema: u32,
    /// Catalog version, increasing with every publication (sync refuses rollbacks).
    pub version: u64,
    /// When it was published, RFC 3339.
    pub issued_at: String,
    /// After this instant (RFC 3339) the kiosk marks the catalog "may be outdated".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    pub center: Center,
    pub fields: Vec<Field>,
    pub procedures: Vec<Procedure>,
    #[serde(default)]
    pub counters: Vec<Counter>,
    #[serde(default)]
    pub officials: Vec<Official>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub statistics: Option<Statistics>,
    /// Additions to the search lexicon (`docs/catalog-format.md`, "Search lexicon and
    /// referrals").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lexicon: Option<super::lexicon::Lexicon>,
    /// Additions to the referral table for what the center does not handle.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub referrals: Vec<super::lexicon::Referral>,
}

/// The service center this catalog is for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Center {
    pub code: String,
    pub name: Localized,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hotline: Option<String>,
}

/// A field (lĩnh vực) grouping procedures, e.g. "Hộ tịch".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Field {
    /// Short stable identifier, `[a-z0-9-]`, e.g. `ho-tich`.
    pub code: String,
    pub name: Localized,
}

/// An administrative procedure (thủ tục hành chính).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Procedure {
    /// National code, e.g. `1.001193`.
    pub code: String,
    pub name: Localized,
    /// Code of a [`Field`] in the same bundle.
    pub field: String,
    /// Administrative level that resolves it (commune, district, province…), free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<Localized>,
    /// Agency that resolves it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agency: Option<Localized>,
    /// Who may file it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subjects: Vec<Localized>,
    /// At least one channel.
    pub channels: Vec<ChannelExecution>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub documents: Vec<RequiredDocument>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<Localized>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Localized>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub legal_basis: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Localized>,
    /// Extra search words (synonyms, common phrasings), Vietnamese or English.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keywords: Vec<String>,
    /// Online-submission page (shown as a QR code on the kiosk). `https://` only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub online_url: Option<String>,
    /// The national portal's page for this procedure (schema 2). `https://` only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_url: Option<String>,
    /// The portal's own identifier of the record (schema 2), kept for tracing a conversion.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_id: Option<String>,
    /// The decision that published the procedure, e.g. `163/QĐ-BTP` (schema 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<String>,
    /// The portal's procedure type, e.g. "TTHC được giao luật quy định chi tiết" (schema 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub procedure_type: Option<Localized>,
    /// Authority that decides (cơ quan có thẩm quyền), when it differs from `agency`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub competent_authority: Option<Localized>,
    /// Agency acting by delegation (cơ quan được ủy quyền).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorized_agency: Option<Localized>,
    /// Agencies that take part (cơ quan phối hợp).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coordinating_agency: Option<Localized>,
    /// Where files are received (địa chỉ tiếp nhận hồ sơ), when the record names a place.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receiving_address: Option<Localized>,
    /// Related procedures, as published (thủ tục hành chính liên quan).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub related: Option<Localized>,
}

/// How a procedure is filed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    /// In person at the center (trực tiếp).
    Direct,
    /// Through the online public service portal (trực tuyến).
    Online,
    /// By post (dịch vụ bưu chính).
    Postal,
}

impl Channel {
    pub const ALL: [Channel; 3] = [Channel::Direct, Channel::Online, Channel::Postal];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Direct => "direct",
            Channel::Online => "online",
            Channel::Postal => "postal",
        }
    }

    pub fn label(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (Channel::Direct, Lang::Vi) => "Trực tiếp",
            (Channel::Online, Lang::Vi) => "Trực tuyến",
            (Channel::Postal, Lang::Vi) => "Bưu chính",
            (Channel::Direct, Lang::En) => "In person",
            (Channel::Online, Lang::En) => "Online",
            (Channel::Postal, Lang::En) => "By post",
        }
    }
}

impl std::str::FromStr for Channel {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "direct" => Ok(Channel::Direct),
            "online" => Ok(Channel::Online),
            "postal" => Ok(Channel::Postal),
            other => Err(format!(
                "unknown channel {other:?}: expected direct, online or postal"
            )),
        }
    }
}

/// Processing time and fees of one channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelExecution {
    pub channel: Channel,
    pub processing_time: ProcessingTime,
    /// Fee items (phí, lệ phí); empty means none published for this channel.
    #[serde(default)]
    pub fees: Vec<Fee>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<Localized>,
}

/// A processing time as published, plus a machine-readable maximum where one is known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProcessingTime {
    pub text: Localized,
    /// Maximum working days; 0 means the same day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_days: Option<u32>,
    /// Maximum calendar days, for times published that way (at most one of the two is set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calendar_days: Option<u32>,
}

/// One fee item: the published text, and where possible a formula the kiosk can compute.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fee {
    /// What it is, e.g. "Lệ phí đăng ký khai sinh".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<Localized>,
    /// As published, e.g. "2.000 đồng/trang; từ trang thứ ba trở lên 1.000 đồng/trang".
    pub text: Localized,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub formula: Option<FeeFormula>,
    /// When it is charged; only `always` items count towards the calculator's total.
    #[serde(default, skip_serializing_if = "FeeApplies::is_always")]
    pub applies: FeeApplies,
    /// The case in which a `conditional` item is charged, e.g. "đăng ký quá hạn".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<Localized>,
    /// First day (YYYY-MM-DD) the fee applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_from: Option<String>,
    /// Last day (YYYY-MM-DD) the fee applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<String>,
}

/// When a fee item is charged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeeApplies {
    /// Every time the procedure is filed through this channel.
    #[default]
    Always,
    /// Only if the citizen asks for it (extra copies of the result…).
    OnRequest,
    /// Only in the case described by `condition` (late registration…).
    Conditional,
}

impl FeeApplies {
    pub fn is_always(&self) -> bool {
        *self == FeeApplies::Always
    }
}

/// A computable fee. All money is integer VND.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum FeeFormula {
    /// No charge.
    Free,
    /// A fixed amount per case (hồ sơ / trường hợp / việc).
    PerCase { amount: u64 },
    /// An amount per copy (bản).
    PerCopy { amount: u64 },
    /// Per page with tiers, optionally capped per copy: each page costs the amount of the
    /// last tier whose `from_page` it reaches.
    PerPage {
        tiers: Vec<PageTier>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_per_copy: Option<u64>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageTier {
    /// 1-based page number where this price starts.
    pub from_page: u32,
    pub amount: u64,
}

/// A document the citizen must bring.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequiredDocument {
    pub name: Localized,
    /// Originals required (bản chính).
    #[serde(default)]
    pub originals: u32,
    /// Copies required (bản sao).
    #[serde(default)]
    pub copies: u32,
    /// Form template name or code, e.g. "Tờ khai đăng ký khai sinh (TT 04/2024/TT-BTP)".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    /// The heading the portal lists it under (schema 2): "Giấy tờ phải nộp", "Giấy tờ phải
    /// xuất trình", or a case ("Trường hợp đăng ký lại khai sinh").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<Localized>,
}

/// A counter (quầy) of the center and the fields it serves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Counter {
    /// 1-based counter number as shown above the desk.
    pub number: u32,
    pub name: Localized,
    /// Field codes served here.
    pub fields: Vec<String>,
}

/// An official serving at the center.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Official {
    pub id: String,
    pub name: String,
    pub title: Localized,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counter: Option<u32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<String>,
}

/// Published results of the center for a period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Statistics {
    /// First day of the period, YYYY-MM-DD.
    pub period_from: String,
    /// Last day of the period, YYYY-MM-DD.
    pub period_to: String,
    pub received: u64,
    pub resolved_ahead: u64,
    pub resolved_on_time: u64,
    pub resolved_overdue: u64,
    /// Still being processed at the end of the period.
    #[serde(default)]
    pub in_progress: u64,
}
