//! Semantic validation and cleaning of a parsed catalog bundle.
//!
//! Runs after JSON parsing and before anything is stored. It checks identifiers, references
//! (procedure → field, counter → field, official → counter), limits (text length, list sizes,
//! money), fee formulas and dates, and cleans every text with [`super::text::clean`]. It
//! collects every problem (up to [`MAX_PROBLEMS`]) so one round trip fixes a file. It never
//! touches storage.

use std::collections::HashSet;
use std::fmt;

use chrono::{DateTime, NaiveDate};

use super::model::*;
use super::text::clean;

/// Names, titles and labels. The national portal's longest procedure name is 1,094
/// characters; about twice that leaves room without admitting garbage.
pub const MAX_NAME_CHARS: usize = 2_000;
/// Longer prose: steps, conditions, results, notes, document names. The portal's longest
/// single text, a documents table, is about 51,000 characters.
pub const MAX_TEXT_CHARS: usize = 100_000;
/// Items in one list (documents, steps, keywords…).
pub const MAX_LIST_ITEMS: usize = 300;
pub const MAX_PROCEDURES: usize = 50_000;
/// No published commune-level fee comes near 100 million đồng; more is a data error.
pub const MAX_FEE_VND: u64 = 100_000_000;
pub const MAX_PAGES_TIER: u32 = 100_000;
/// Problems listed at most in one error (all of them are counted).
pub const MAX_PROBLEMS: usize = 50;

/// One thing wrong with a bundle, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Code of the procedure concerned, if any.
    pub procedure: Option<String>,
    /// JSON path inside the procedure (or the bundle when `procedure` is None).
    pub path: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.procedure {
            Some(code) => write!(f, "procedure {code}: field {}: {}", self.path, self.message),
            None => write!(f, "field {}: {}", self.path, self.message),
        }
    }
}

/// Is `code` a well-formed procedure code (`1.001193`, `2.000815`, `BTP-123`)?
pub fn is_procedure_code(code: &str) -> bool {
    let b = code.as_bytes();
    !b.is_empty()
        && b.len() <= 40
        && b[0].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b'_'))
}

/// An `https://` address with no blanks, controls or quotes, at most 2048 bytes.
fn is_https_url(url: &str) -> bool {
    url.len() <= 2048
        && url.starts_with("https://")
        && url.len() > "https://".len()
        && !url
            .chars()
            .any(|ch| ch.is_whitespace() || ch.is_control() || ch == '"')
}

/// Is `code` a well-formed field code (`ho-tich`)?
pub fn is_field_code(code: &str) -> bool {
    let b = code.as_bytes();
    !b.is_empty()
        && b.len() <= 40
        && b[0].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
}

/// A code from untrusted input, safe to print: as-is when well-formed, else escaped and cut.
pub fn quote_code(code: &str) -> String {
    if is_procedure_code(code) {
        code.to_owned()
    } else {
        let cut: String = code.chars().take(40).collect();
        let more = if cut.len() < code.len() { "…" } else { "" };
        format!("{cut:?}{more}")
    }
}

/// Every problem of a bundle: how many there are, and the first [`MAX_PROBLEMS`] of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problems {
    pub total: usize,
    pub first: Vec<Problem>,
}

struct Checker {
    problems: Vec<Problem>,
    total: usize,
    procedure: Option<String>,
}

impl Checker {
    fn problem(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.total += 1;
        if self.problems.len() < MAX_PROBLEMS {
            self.problems.push(Problem {
                procedure: self.procedure.clone(),
                path: path.into(),
                message: message.into(),
            });
        }
    }

    /// Length-check then clean one string. `required` means it may not end up empty.
    fn string(&mut self, path: &str, s: &mut String, max: usize, required: bool) {
        let chars = s.chars().count();
        if chars > max {
            self.problem(
                path,
                format!("text is {chars} characters, over the limit of {max}"),
            );
            s.clear();
            return;
        }
        *s = clean(s);
        if required && s.is_empty() {
            self.problem(path, "must not be empty");
        }
    }

    fn localized(&mut self, path: &str, t: &mut Localized, max: usize, required: bool) {
        self.string(&format!("{path}.vi"), &mut t.vi, max, required);
        if let Some(en) = &mut t.en {
            self.string(&format!("{path}.en"), en, max, false);
            if en.is_empty() {
                t.en = None;
            }
        }
    }

    fn list_len<T>(&mut self, path: &str, list: &[T]) -> bool {
        if list.len() > MAX_LIST_ITEMS {
            self.problem(
                path,
                format!(
                    "has {} items, over the limit of {MAX_LIST_ITEMS}",
                    list.len()
                ),
            );
            return false;
        }
        true
    }

    fn date(&mut self, path: &str, s: &str) -> Option<NaiveDate> {
        match NaiveDate::parse_from_str(s, "%Y-%m-%d") {
            Ok(d) => Some(d),
            Err(_) => {
                self.problem(path, format!("{s:?} is not a date of the form YYYY-MM-DD"));
                None
            }
        }
    }

    fn instant(&mut self, path: &str, s: &str) {
        if DateTime::parse_from_rfc3339(s).is_err() {
            self.problem(
                path,
                format!("{s:?} is not an RFC 3339 time such as 2026-11-01T08:00:00+07:00"),
            );
        }
    }

    fn money(&mut self, path: &str, amount: u64) {
        if amount > MAX_FEE_VND {
            self.problem(
                path,
                format!("{amount} VND is above the plausible limit of {MAX_FEE_VND} VND"),
            );
        }
    }
}

/// Check every rule and clean every text in place. Returns all problems found (counted,
/// and the first [`MAX_PROBLEMS`] listed).
pub fn check_and_clean(bundle: &mut CatalogBundle) -> Result<(), Problems> {
    let mut c = Checker {
        problems: Vec::new(),
        total: 0,
        procedure: None,
    };
    if bundle.version == 0 {
        c.problem("version", "must be 1 or more");
    }
    c.instant("issued_at", &bundle.issued_at);
    if let Some(exp) = &bundle.expires_at {
        c.instant("expires_at", exp);
    }
    c.string("center.code", &mut bundle.center.code, 100, true);
    c.localized("center.name", &mut bundle.center.name, MAX_NAME_CHARS, true);
    if let Some(a) = &mut bundle.center.address {
        c.string("center.address", a, MAX_NAME_CHARS, false);
    }
    if let Some(h) = &mut bundle.center.hotline {
        c.string("center.hotline", h, 100, false);
    }

    let mut fields = HashSet::new();
    for (i, f) in bundle.fields.iter_mut().enumerate() {
        let path = format!("fields[{i}]");
        if !is_field_code(&f.code) {
            c.problem(
                format!("{path}.code"),
                format!(
                    "{} is not a field code (lowercase letters, digits and '-', at most 40)",
                    quote_code(&f.code)
                ),
            );
        } else if !fields.insert(f.code.clone()) {
            c.problem(
                format!("{path}.code"),
                format!("duplicate field code {}", f.code),
            );
        }
        c.localized(&format!("{path}.name"), &mut f.name, MAX_NAME_CHARS, true);
    }
    if bundle.fields.is_empty() {
        c.problem("fields", "a catalog needs at least one field");
    }

    if bundle.procedures.len() > MAX_PROCEDURES {
        c.problem(
            "procedures",
            format!(
                "has {} procedures, over the limit of {MAX_PROCEDURES}",
                bundle.procedures.len()
            ),
        );
        return Err(Problems {
            total: c.total,
            first: c.problems,
        });
    }
    let mut codes = HashSet::new();
    for (i, p) in bundle.procedures.iter_mut().enumerate() {
        c.procedure = Some(if is_procedure_code(&p.code) {
            p.code.clone()
        } else {
            format!("#{}", i + 1)
        });
        if !is_procedure_code(&p.code) {
            c.problem(
                "code",
                format!(
                    "{} is not a procedure code (letters, digits, '.', '-', '_', at most 40)",
                    quote_code(&p.code)
                ),
            );
        } else if !codes.insert(p.code.clone()) {
            c.problem(
                "code",
                "duplicate procedure code: it appears more than once",
            );
        }
        check_procedure(&mut c, p, &fields);
    }
    c.procedure = None;

    let mut numbers = HashSet::new();
    for (i, counter) in bundle.counters.iter_mut().enumerate() {
        let path = format!("counters[{i}]");
        if counter.number == 0 || counter.number > 999 {
            c.problem(format!("{path}.number"), "must be between 1 and 999");
        } else if !numbers.insert(counter.number) {
            c.problem(
                format!("{path}.number"),
                format!("duplicate counter number {}", counter.number),
            );
        }
        c.localized(
            &format!("{path}.name"),
            &mut counter.name,
            MAX_NAME_CHARS,
            true,
        );
        for (j, f) in counter.fields.iter().enumerate() {
            if !fields.contains(f) {
                c.problem(
                    format!("{path}.fields[{j}]"),
                    format!(
                        "counter {} serves unknown field {}",
                        counter.number,
                        quote_code(f)
                    ),
                );
            }
        }
    }

    let mut ids = HashSet::new();
    for (i, o) in bundle.officials.iter_mut().enumerate() {
        let path = format!("officials[{i}]");
        if !is_procedure_code(&o.id) {
            c.problem(
                format!("{path}.id"),
                format!("{} is not a valid id", quote_code(&o.id)),
            );
        } else if !ids.insert(o.id.clone()) {
            c.problem(
                format!("{path}.id"),
                format!("duplicate official id {}", o.id),
            );
        }
        c.string(&format!("{path}.name"), &mut o.name, MAX_NAME_CHARS, true);
        c.localized(&format!("{path}.title"), &mut o.title, MAX_NAME_CHARS, true);
        if let Some(n) = o.counter {
            if !numbers.contains(&n) {
                c.problem(format!("{path}.counter"), format!("unknown counter {n}"));
            }
        }
        for (j, f) in o.fields.iter().enumerate() {
            if !fields.contains(f) {
                c.problem(
                    format!("{path}.fields[{j}]"),
                    format!("unknown field {}", quote_code(f)),
                );
            }
        }
    }

    if let Some(s) = &bundle.statistics {
        let from = c.date("statistics.period_from", &s.period_from);
        let to = c.date("statistics.period_to", &s.period_to);
        if let (Some(from), Some(to)) = (from, to) {
            if from > to {
                c.problem("statistics.period_to", "is before period_from");
            }
        }
        for (name, v) in [
            ("received", s.received),
            ("resolved_ahead", s.resolved_ahead),
            ("resolved_on_time", s.resolved_on_time),
            ("resolved_overdue", s.resolved_overdue),
            ("in_progress", s.in_progress),
        ] {
            if v > 10_000_000 {
                c.problem(
                    format!("statistics.{name}"),
                    format!("{v} is implausibly large"),
                );
            }
        }
    }

    for (path, message) in super::lexicon::check_parts(bundle.lexicon.as_ref(), &bundle.referrals) {
        c.problem(path, message);
    }

    if c.problems.is_empty() {
        Ok(())
    } else {
        Err(Problems {
            total: c.total,
            first: c.problems,
        })
    }
}

fn check_procedure(c: &mut Checker, p: &mut Procedure, fields: &HashSet<String>) {
    c.localized("name", &mut p.name, MAX_NAME_CHARS, true);
    if !fields.contains(&p.field) {
        c.problem("field", format!("unknown field {}", quote_code(&p.field)));
    }
    for (path, t) in [
        ("level", &mut p.level),
        ("procedure_type", &mut p.procedure_type),
    ] {
        if let Some(t) = t {
            c.localized(path, t, MAX_NAME_CHARS, false);
        }
    }
    for (path, t) in [
        ("result", &mut p.result),
        ("conditions", &mut p.conditions),
        ("agency", &mut p.agency),
        ("competent_authority", &mut p.competent_authority),
        ("authorized_agency", &mut p.authorized_agency),
        ("coordinating_agency", &mut p.coordinating_agency),
        ("receiving_address", &mut p.receiving_address),
        ("related", &mut p.related),
    ] {
        if let Some(t) = t {
            c.localized(path, t, MAX_TEXT_CHARS, false);
        }
    }
    if c.list_len("subjects", &p.subjects) {
        for (i, s) in p.subjects.iter_mut().enumerate() {
            c.localized(&format!("subjects[{i}]"), s, MAX_NAME_CHARS, true);
        }
    }
    if c.list_len("steps", &p.steps) {
        for (i, s) in p.steps.iter_mut().enumerate() {
            c.localized(&format!("steps[{i}]"), s, MAX_TEXT_CHARS, true);
        }
    }
    if c.list_len("legal_basis", &p.legal_basis) {
        for (i, s) in p.legal_basis.iter_mut().enumerate() {
            c.string(&format!("legal_basis[{i}]"), s, MAX_TEXT_CHARS, true);
        }
    }
    if c.list_len("keywords", &p.keywords) {
        for (i, s) in p.keywords.iter_mut().enumerate() {
            c.string(&format!("keywords[{i}]"), s, MAX_NAME_CHARS, true);
        }
    }
    if c.list_len("documents", &p.documents) {
        for (i, d) in p.documents.iter_mut().enumerate() {
            let path = format!("documents[{i}]");
            c.localized(&format!("{path}.name"), &mut d.name, MAX_TEXT_CHARS, true);
            if let Some(t) = &mut d.template {
                c.string(&format!("{path}.template"), t, MAX_NAME_CHARS, false);
            }
            if let Some(g) = &mut d.group {
                c.localized(&format!("{path}.group"), g, MAX_TEXT_CHARS, false);
            }
            if d.originals > 100 || d.copies > 100 {
                c.problem(&path, "more than 100 originals or copies is not plausible");
            }
        }
    }
    for (path, url) in [("online_url", &p.online_url), ("source_url", &p.source_url)] {
        if url.as_deref().is_some_and(|u| !is_https_url(u)) {
            c.problem(
                path,
                "must be an https:// address without spaces, at most 2048 bytes",
            );
        }
    }
    for (path, s) in [
        ("source_id", &mut p.source_id),
        ("decision", &mut p.decision),
    ] {
        if let Some(s) = s {
            c.string(path, s, MAX_NAME_CHARS, false);
        }
    }
    if p.channels.is_empty() {
        c.problem("channels", "a procedure needs at least one channel");
    }
    let mut seen = HashSet::new();
    for (i, ch) in p.channels.iter_mut().enumerate() {
        let path = format!("channels[{i}]");
        if !seen.insert(ch.channel) {
            c.problem(
                format!("{path}.channel"),
                format!("channel {} appears twice", ch.channel.as_str()),
            );
        }
        c.localized(
            &format!("{path}.processing_time.text"),
            &mut ch.processing_time.text,
            MAX_NAME_CHARS,
            true,
        );
        let time = &ch.processing_time;
        for (key, days) in [
            ("working_days", time.working_days),
            ("calendar_days", time.calendar_days),
        ] {
            if days.is_some_and(|d| d > 365) {
                c.problem(
                    format!("{path}.processing_time.{key}"),
                    "more than 365 days is not plausible",
                );
            }
        }
        if time.working_days.is_some() && time.calendar_days.is_some() {
            c.problem(
                format!("{path}.processing_time"),
                "give working_days or calendar_days, not both",
            );
        }
        if let Some(n) = &mut ch.note {
            c.localized(&format!("{path}.note"), n, MAX_TEXT_CHARS, false);
        }
        if c.list_len(&format!("{path}.fees"), &ch.fees) {
            for (j, fee) in ch.fees.iter_mut().enumerate() {
                check_fee(c, &format!("{path}.fees[{j}]"), fee);
            }
        }
    }
}

fn check_fee(c: &mut Checker, path: &str, fee: &mut Fee) {
    c.localized(&format!("{path}.text"), &mut fee.text, MAX_TEXT_CHARS, true);
    if let Some(l) = &mut fee.label {
        c.localized(&format!("{path}.label"), l, MAX_NAME_CHARS, false);
    }
    match (&mut fee.condition, fee.applies) {
        (Some(cond), FeeApplies::Conditional) => {
            c.localized(&format!("{path}.condition"), cond, MAX_TEXT_CHARS, true)
        }
        (None, FeeApplies::Conditional) => c.problem(
            format!("{path}.condition"),
            "a conditional fee must say its condition",
        ),
        (Some(_), _) => c.problem(
            format!("{path}.condition"),
            "only a fee with \"applies\": \"conditional\" has a condition",
        ),
        (None, _) => {}
    }
    let from = fee
        .valid_from
        .as_deref()
        .and_then(|d| c.date(&format!("{path}.valid_from"), d));
    let until = fee
        .valid_until
        .as_deref()
        .and_then(|d| c.date(&format!("{path}.valid_until"), d));
    if let (Some(from), Some(until)) = (from, until) {
        if from > until {
            c.problem(format!("{path}.valid_until"), "is before valid_from");
        }
    }
    let fpath = format!("{path}.formula");
    match &fee.formula {
        None | Some(FeeFormula::Free) => {}
        Some(FeeFormula::PerCase { amount }) | Some(FeeFormula::PerCopy { amount }) => {
            c.money(&format!("{fpath}.amount"), *amount)
        }
        Some(FeeFormula::PerPage {
            tiers,
            max_per_copy,
        }) => {
            if tiers.is_empty() {
                c.problem(format!("{fpath}.tiers"), "needs at least one tier");
            } else if tiers[0].from_page != 1 {
                c.problem(
                    format!("{fpath}.tiers[0].from_page"),
                    "the first tier must start at page 1",
                );
            }
            if tiers.len() > 20 {
                c.problem(
                    format!("{fpath}.tiers"),
                    "more than 20 tiers is not plausible",
                );
            }
            for (k, t) in tiers.iter().enumerate() {
                c.money(&format!("{fpath}.tiers[{k}].amount"), t.amount);
                if t.from_page > MAX_PAGES_TIER {
                    c.problem(
                        format!("{fpath}.tiers[{k}].from_page"),
                        "is implausibly large",
                    );
                }
                if k > 0 && t.from_page <= tiers[k - 1].from_page {
                    c.problem(
                        format!("{fpath}.tiers[{k}].from_page"),
                        "tiers must start at increasing pages",
                    );
                }
            }
            if let Some(cap) = max_per_copy {
                c.money(&format!("{fpath}.max_per_copy"), *cap);
            }
        }
    }
}
