//! Reading a catalog bundle from bytes: size, UTF-8, JSON, schema version, then the full
//! validation in `validate.rs`.
//!
//! Every input path (file import, sync download, the embedded demo) goes through
//! [`parse_bundle`]. It either returns a clean, validated [`CatalogBundle`] or a
//! [`BundleError`] that names where the problem is — the procedure code and the field path
//! wherever there is one — so an operator can fix the file. It never touches the store.

use std::fmt;

use serde::Deserialize;

use super::model::{CatalogBundle, Procedure, MIN_SCHEMA_VERSION, SCHEMA_VERSION};
use super::validate::{self, Problem, Problems};

/// Default largest bundle accepted, in bytes (64 MiB). A converted real catalog is about
/// 9.1 KB of JSON per procedure, so this admits about 7,000 (the whole 2026 portal snapshot,
/// 2,642 procedures of every level, is ~24 MB); see `docs/benchmarks.md` (issue 13).
pub const DEFAULT_MAX_BUNDLE_BYTES: usize = 64 * 1024 * 1024;

/// Why a bundle was refused. Nothing was changed anywhere when this is returned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BundleError {
    #[error("catalog bundle is {size} bytes, over the limit of {limit} bytes")]
    TooLarge { size: usize, limit: usize },
    #[error("catalog bundle is not valid UTF-8 (first bad byte at offset {offset})")]
    NotUtf8 { offset: usize },
    #[error("catalog bundle is not valid JSON at line {line}, column {column}: {message}")]
    Syntax {
        line: usize,
        column: usize,
        message: String,
    },
    #[error(
        "catalog bundle has schema version {found}; this motcua reads schemas {oldest} to \
         {supported} (update motcua, or ask the server for schema {supported})"
    )]
    UnsupportedSchema {
        found: String,
        oldest: u32,
        supported: u32,
    },
    #[error("catalog bundle: {}: {message}", location(.procedure, .path))]
    Shape {
        procedure: Option<String>,
        path: String,
        message: String,
    },
    #[error("{}", InvalidSummary(.0))]
    Invalid(Problems),
}

fn location(procedure: &Option<String>, path: &str) -> String {
    if path == "." || path.is_empty() {
        return "top level".into();
    }
    match procedure {
        Some(code) => format!("procedure {code}: field {path}"),
        None => format!("field {path}"),
    }
}

/// "catalog bundle has 631 problems; the first 50:" and one line each.
struct InvalidSummary<'a>(&'a Problems);

impl fmt::Display for InvalidSummary<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Problems { total, first } = self.0;
        let noun = if *total == 1 { "problem" } else { "problems" };
        if first.len() < *total {
            write!(
                f,
                "catalog bundle has {total} {noun}; the first {}:",
                first.len()
            )?;
        } else {
            write!(f, "catalog bundle has {total} {noun}:")?;
        }
        for p in first {
            write!(f, "\n  - {p}")?;
        }
        Ok(())
    }
}

impl BundleError {
    /// The listed problems, when the bundle parsed but broke rules.
    pub fn problems(&self) -> &[Problem] {
        match self {
            BundleError::Invalid(p) => &p.first,
            _ => &[],
        }
    }
}

/// Parse, check and clean a bundle. `max_bytes` bounds the input before anything is parsed.
pub fn parse_bundle(bytes: &[u8], max_bytes: usize) -> Result<CatalogBundle, BundleError> {
    let mut bundle = deserialize(bytes, max_bytes)?;
    validate::check_and_clean(&mut bundle).map_err(BundleError::Invalid)?;
    Ok(bundle)
}

/// [`parse_bundle`] for bytes the caller is done with: they are freed as soon as they are
/// parsed, before validation, so a full-size catalog's text and its cleaning never overlap.
pub fn parse_bundle_owned(bytes: Vec<u8>, max_bytes: usize) -> Result<CatalogBundle, BundleError> {
    let mut bundle = deserialize(&bytes, max_bytes)?;
    drop(bytes);
    validate::check_and_clean(&mut bundle).map_err(BundleError::Invalid)?;
    Ok(bundle)
}

/// [`parse_bundle_owned`] that also keeps the text and the parsed catalog from ever being in
/// memory together. One pass over the text finds where each procedure is (borrowed, nothing
/// parsed); everything but the procedures is parsed; the bytes go to `spill` (an unnamed
/// scratch file) and are freed; then each procedure is read back and parsed on its own. Any
/// error is exactly [`parse_bundle`]'s (the text is parsed whole to name it); if the scratch
/// file cannot be used, it parses in memory instead.
pub fn parse_bundle_spilled(
    bytes: Vec<u8>,
    max_bytes: usize,
    spill: std::fs::File,
) -> Result<CatalogBundle, BundleError> {
    if bytes.len() > max_bytes || std::str::from_utf8(&bytes).is_err() {
        return parse_bundle_owned(bytes, max_bytes);
    }
    match split_procedures(&bytes) {
        Some((mut head, spans)) => match spill_and_parse(bytes, spill, &spans) {
            Ok(Ok(procedures)) => {
                head.procedures = procedures;
                validate::check_and_clean(&mut head).map_err(BundleError::Invalid)?;
                Ok(head)
            }
            // A procedure did not parse: name the problem as a whole parse does.
            Ok(Err(again)) => parse_bundle_owned(again, max_bytes),
            Err(bytes) => parse_bundle_owned(bytes, max_bytes),
        },
        None => parse_bundle_owned(bytes, max_bytes),
    }
}

/// The bundle without its procedures, and where each procedure's JSON is in `bytes`; None
/// when anything is off (the whole parse then says what).
fn split_procedures(bytes: &[u8]) -> Option<(CatalogBundle, Vec<(usize, usize)>)> {
    #[derive(Deserialize)]
    struct Skeleton<'a> {
        #[serde(borrow)]
        procedures: Vec<&'a serde_json::value::RawValue>,
    }
    let skeleton: Skeleton = serde_json::from_slice(bytes).ok()?;
    let base = bytes.as_ptr() as usize;
    let spans: Vec<(usize, usize)> = skeleton
        .procedures
        .iter()
        .map(|r| (r.get().as_ptr() as usize - base, r.get().len()))
        .collect();
    let (&(first, _), &(last, last_len)) = (spans.first()?, spans.last()?);
    let blank = |b: &u8| matches!(b, b' ' | b'\t' | b'\n' | b'\r');
    let open = first - 1 - bytes[..first].iter().rev().take_while(|b| blank(b)).count();
    let end = last + last_len;
    let close = end + bytes[end..].iter().take_while(|b| blank(b)).count();
    if bytes.get(open) != Some(&b'[') || bytes.get(close) != Some(&b']') {
        return None;
    }
    let mut head = Vec::with_capacity(open + 1 + bytes.len() - close);
    head.extend_from_slice(&bytes[..=open]);
    head.extend_from_slice(&bytes[close..]);
    let bundle: CatalogBundle = serde_json::from_slice(&head).ok()?;
    (schema_ok(bundle.schema) && bundle.procedures.is_empty()).then_some((bundle, spans))
}

/// Write `bytes` to `spill`, free them, parse each span back. Err gives the bytes back when
/// the file failed; Ok(Err) gives them back (read from the file) when a procedure failed.
#[allow(clippy::type_complexity)]
fn spill_and_parse(
    bytes: Vec<u8>,
    mut spill: std::fs::File,
    spans: &[(usize, usize)],
) -> Result<Result<Vec<Procedure>, Vec<u8>>, Vec<u8>> {
    use std::io::{Read, Seek, Write};
    use std::os::unix::fs::FileExt;
    if spill.write_all(&bytes).is_err() {
        return Err(bytes);
    }
    let len = bytes.len();
    drop(bytes);
    let read_back = |mut f: std::fs::File| {
        let mut all = Vec::with_capacity(len);
        f.rewind()
            .and_then(|_| f.read_to_end(&mut all))
            .map(|_| all)
    };
    let mut procedures = Vec::with_capacity(spans.len());
    let mut buf = Vec::new();
    for &(at, n) in spans {
        buf.resize(n, 0);
        let parsed = spill
            .read_exact_at(&mut buf, at as u64)
            .ok()
            .and_then(|_| serde_json::from_slice::<Procedure>(&buf).ok());
        match parsed {
            Some(p) => procedures.push(p),
            None => {
                drop(procedures);
                return Ok(Err(read_back(spill).unwrap_or_default()));
            }
        }
    }
    Ok(Ok(procedures))
}

fn schema_ok(schema: u32) -> bool {
    (MIN_SCHEMA_VERSION..=SCHEMA_VERSION).contains(&schema)
}

/// Size, UTF-8, JSON and shape. The fast path is a plain parse; only when it fails is the
/// text looked at again to name the problem (schema first, then the path of the bad field).
fn deserialize(bytes: &[u8], max_bytes: usize) -> Result<CatalogBundle, BundleError> {
    if bytes.len() > max_bytes {
        return Err(BundleError::TooLarge {
            size: bytes.len(),
            limit: max_bytes,
        });
    }
    let text = std::str::from_utf8(bytes).map_err(|e| BundleError::NotUtf8 {
        offset: e.valid_up_to(),
    })?;
    match serde_json::from_str::<CatalogBundle>(text) {
        Ok(bundle) if schema_ok(bundle.schema) => Ok(bundle),
        Ok(bundle) => Err(BundleError::UnsupportedSchema {
            found: bundle.schema.to_string(),
            oldest: MIN_SCHEMA_VERSION,
            supported: SCHEMA_VERSION,
        }),
        Err(_) => {
            check_schema(text)?;
            let mut de = serde_json::Deserializer::from_str(text);
            let err = match serde_path_to_error::deserialize::<_, CatalogBundle>(&mut de) {
                Ok(_) => match de.end() {
                    Err(e) => syntax(e),
                    Ok(()) => BundleError::Shape {
                        procedure: None,
                        path: ".".into(),
                        message: "could not be read".into(),
                    },
                },
                Err(err) => shape_error(text, err),
            };
            Err(err)
        }
    }
}

/// On a failed parse the schema is checked first, so that a bundle from a newer server gets
/// the right message instead of a confusing "unknown field".
fn check_schema(text: &str) -> Result<(), BundleError> {
    #[derive(Deserialize)]
    struct Probe {
        schema: Option<serde_json::Value>,
    }
    let probe: Probe = serde_json::from_str(text).map_err(syntax)?;
    match probe.schema {
        Some(serde_json::Value::Number(n))
            if n.as_u64().is_some_and(|v| {
                (MIN_SCHEMA_VERSION as u64..=SCHEMA_VERSION as u64).contains(&v)
            }) =>
        {
            Ok(())
        }
        Some(other) => Err(BundleError::UnsupportedSchema {
            found: other.to_string(),
            oldest: MIN_SCHEMA_VERSION,
            supported: SCHEMA_VERSION,
        }),
        None => Err(BundleError::Shape {
            procedure: None,
            path: "schema".into(),
            message: "missing; a bundle must say which schema it follows".into(),
        }),
    }
}

fn syntax(e: serde_json::Error) -> BundleError {
    BundleError::Syntax {
        line: e.line(),
        column: e.column(),
        message: strip_position(&e.to_string()),
    }
}

/// serde_json appends " at line L column C"; we report those separately.
fn strip_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_owned(),
        None => msg.to_owned(),
    }
}

fn shape_error(text: &str, err: serde_path_to_error::Error<serde_json::Error>) -> BundleError {
    let path = err.path().to_string();
    let inner = err.into_inner();
    if inner.is_syntax() || inner.is_eof() {
        return syntax(inner);
    }
    let message = format!(
        "{} (line {}, column {})",
        strip_position(&inner.to_string()),
        inner.line(),
        inner.column()
    );
    // Name the procedure by its code: find "procedures[N]" and look the code up.
    let procedure = path
        .strip_prefix("procedures[")
        .and_then(|rest| rest.split(']').next())
        .and_then(|n| n.parse::<usize>().ok())
        .map(|index| procedure_code_at(text, index));
    let path = match &procedure {
        Some(_) => path
            .split_once("].")
            .map(|(_, p)| p.to_owned())
            .unwrap_or(path),
        None => path,
    };
    BundleError::Shape {
        procedure,
        path,
        message,
    }
}

/// The code of the procedure at `index`, or "#index" when it cannot be read.
fn procedure_code_at(text: &str, index: usize) -> String {
    let fallback = format!("#{}", index + 1);
    let Ok(value) = serde_json::from_str::<serde_json::Value>(text) else {
        return fallback;
    };
    value
        .get("procedures")
        .and_then(|p| p.get(index))
        .and_then(|p| p.get("code"))
        .and_then(|c| c.as_str())
        .map(validate::quote_code)
        .unwrap_or(fallback)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spilled(bytes: &[u8], max: usize) -> Result<CatalogBundle, BundleError> {
        parse_bundle_spilled(bytes.to_vec(), max, tempfile::tempfile().unwrap())
    }

    #[test]
    fn every_way_of_parsing_gives_the_same_answer() {
        let demo = super::super::DEMO_CATALOG_JSON.as_bytes();
        let good = parse_bundle(demo, 1 << 24).unwrap();
        assert_eq!(spilled(demo, 1 << 24).unwrap(), good);
        assert_eq!(parse_bundle_owned(demo.to_vec(), 1 << 24).unwrap(), good);
        let text = std::str::from_utf8(demo).unwrap();
        let bad: Vec<Vec<u8>> = vec![
            demo.to_vec(),
            text.replacen("\"schema\": 2", "\"schema\": 9", 1)
                .into_bytes(),
            text.replacen("\"schema\": 2,", "", 1).into_bytes(),
            text.replacen("\"working_days\": 1", "\"working_days\": -1", 1)
                .into_bytes(),
            text.replacen("\"code\": \"1.001193\"", "\"code\": \"1 001193\"", 1)
                .into_bytes(),
            format!("{text} x").into_bytes(),
            b"{\"schema\": 1, \xff}".to_vec(),
        ];
        for (i, b) in bad.iter().enumerate() {
            let limit = if i == 0 { 1000 } else { 1 << 24 };
            let expected = parse_bundle(b, limit).unwrap_err();
            assert_eq!(spilled(b, limit).unwrap_err(), expected, "case {i}");
            assert_eq!(
                parse_bundle_owned(b.clone(), limit).unwrap_err(),
                expected,
                "case {i}"
            );
        }
    }
}
