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

/// Default largest bundle accepted, in bytes (32 MiB).
pub const DEFAULT_MAX_BUNDLE_BYTES: usize = 32 * 1024 * 1024;

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
    if bytes.len() > max_bytes {
        return Err(BundleError::TooLarge {
            size: bytes.len(),
            limit: max_bytes,
        });
    }
    let text = std::str::from_utf8(bytes).map_err(|e| BundleError::NotUtf8 {
        offset: e.valid_up_to(),
    })?;
    check_schema(text)?;
    let mut de = serde_json::Deserializer::from_str(text);
    let mut bundle: CatalogBundle = match serde_path_to_error::deserialize(&mut de) {
        Ok(b) => b,
        Err(err) => return Err(shape_error(text, err)),
    };
    de.end().map_err(syntax)?;
    validate::check_and_clean(&mut bundle).map_err(BundleError::Invalid)?;
    Ok(bundle)
}

/// The schema is checked first so that a bundle from a newer server gets the right message
/// instead of a confusing "unknown field".
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
