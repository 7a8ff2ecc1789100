//! Reading a catalog bundle from bytes: size, UTF-8, JSON, schema version, then the full
//! validation in `validate.rs`.
//!
//! Every input path (file import, sync download, the embedded demo) goes through
//! [`parse_bundle`]. It either returns a clean, validated [`CatalogBundle`] or a
//! [`BundleError`] that names where the problem is — the procedure code and the field path
//! wherever there is one — so an operator can fix the file. It never touches the store.

use std::fmt;

use serde::Deserialize;

use super::model::{CatalogBundle, MIN_SCHEMA_VERSION, SCHEMA_VERSION};
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
/// memory together: after the size and UTF-8 checks the bytes go to `spill` (an unnamed
/// scratch file), are freed, and are parsed back from it. Any error is exactly
/// [`parse_bundle`]'s (the file is read back whole to name it); if the scratch file cannot be
/// written or read, it parses in memory instead.
pub fn parse_bundle_spilled(
    bytes: Vec<u8>,
    max_bytes: usize,
    mut spill: std::fs::File,
) -> Result<CatalogBundle, BundleError> {
    use std::io::{Read, Seek, Write};
    if bytes.len() > max_bytes || std::str::from_utf8(&bytes).is_err() {
        return parse_bundle_owned(bytes, max_bytes);
    }
    if spill
        .write_all(&bytes)
        .and_then(|_| spill.rewind())
        .is_err()
    {
        return parse_bundle_owned(bytes, max_bytes);
    }
    let len = bytes.len();
    drop(bytes);
    let reader = std::io::BufReader::with_capacity(1 << 20, &mut spill);
    match serde_json::from_reader::<_, CatalogBundle>(reader) {
        Ok(mut bundle) if schema_ok(bundle.schema) => {
            validate::check_and_clean(&mut bundle).map_err(BundleError::Invalid)?;
            Ok(bundle)
        }
        _ => {
            let mut again = Vec::with_capacity(len);
            match spill.rewind().and_then(|_| spill.read_to_end(&mut again)) {
                Ok(_) => parse_bundle_owned(again, max_bytes),
                Err(e) => Err(BundleError::Shape {
                    procedure: None,
                    path: ".".into(),
                    message: format!("the scratch copy could not be read back: {e}"),
                }),
            }
        }
    }
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
