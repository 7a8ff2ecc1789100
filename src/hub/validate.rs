//! What the hub accepts, exactly as `docs/api/openapi.yaml` says: the long-poll's query,
//! heartbeats and ratings. Each check returns the message the client gets (422 for a body,
//! 400 for a query), naming the field.

use serde_json::{Map, Value};

use crate::appliance::Rating;

/// Longest long-poll the server grants (the spec's maximum of `wait`).
pub const MAX_WAIT_SECS: u64 = 60;

/// `GET /v1/queue/events` parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventsQuery {
    pub after: u64,
    pub wait: u64,
    /// The catalog version the device holds: a newer one ends the long-poll at once.
    pub catalog: Option<u64>,
}

/// Parse the long-poll's query string (unknown parameters are ignored).
pub fn events_query(query: Option<&str>) -> Result<EventsQuery, String> {
    let mut q = EventsQuery {
        after: 0,
        wait: 0,
        catalog: None,
    };
    for (name, value) in form_urlencoded_pairs(query.unwrap_or("")) {
        let int = |max: u64| -> Result<u64, String> {
            value
                .parse::<u64>()
                .ok()
                .filter(|v| *v <= max && !value.starts_with('+'))
                .ok_or_else(|| {
                    format!("query parameter {name}: expected an integer 0..={max}, got {value:?}")
                })
        };
        match name.as_str() {
            "after" => q.after = int(i64::MAX as u64)?,
            "wait" => q.wait = int(MAX_WAIT_SECS)?,
            "catalog" => q.catalog = Some(int(i64::MAX as u64)?),
            _ => {}
        }
    }
    Ok(q)
}

/// Decode `a=1&b=2` (percent-decoding, `+` as space) as `axum`'s query extractor does.
fn form_urlencoded_pairs(q: &str) -> Vec<(String, String)> {
    axum::extract::Query::<Vec<(String, String)>>::try_from_uri(
        &format!("/?{q}").parse().unwrap_or_default(),
    )
    .map(|axum::extract::Query(v)| v)
    .unwrap_or_default()
}

fn is_rfc3339(s: &str) -> bool {
    s.len() <= 64 && chrono::DateTime::parse_from_rfc3339(s).is_ok()
}

/// A JSON integer in `0..=max` (JSON Schema counts 3.0 as an integer too).
fn uint(v: &Value, max: u64) -> Option<u64> {
    v.as_u64()
        .or_else(|| {
            v.as_f64()
                .filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f <= u64::MAX as f64)
                .map(|f| f as u64)
        })
        .filter(|n| *n <= max)
}

/// Check a heartbeat body against the spec's `Heartbeat` schema; returns the object.
pub fn heartbeat(body: &str) -> Result<Map<String, Value>, String> {
    let v: Value = serde_json::from_str(body).map_err(|e| format!("heartbeat: {e}"))?;
    let Value::Object(o) = v else {
        return Err("heartbeat: expected a JSON object".into());
    };
    let field = |name: &str| o.get(name);
    match field("device") {
        Some(Value::String(d)) if !d.is_empty() && d.chars().count() <= 64 => {}
        Some(_) => return Err("heartbeat: device must be a string of 1-64 characters".into()),
        None => return Err("heartbeat: device is required".into()),
    }
    match field("at") {
        Some(Value::String(t)) if is_rfc3339(t) => {}
        Some(_) => return Err("heartbeat: at must be an RFC 3339 date-time".into()),
        None => return Err("heartbeat: at is required".into()),
    }
    match field("catalog_version") {
        None | Some(Value::Null) => {}
        Some(v) if uint(v, i64::MAX as u64).is_some() => {}
        Some(_) => return Err("heartbeat: catalog_version must be an integer >= 0 or null".into()),
    }
    for name in ["queue_seq", "outbox_depth"] {
        if let Some(v) = field(name) {
            if uint(v, i64::MAX as u64).is_none() {
                return Err(format!("heartbeat: {name} must be an integer >= 0"));
            }
        }
    }
    match field("version") {
        None => {}
        Some(Value::String(s)) if s.chars().count() <= 64 => {}
        Some(_) => {
            return Err("heartbeat: version must be a string of at most 64 characters".into())
        }
    }
    match field("health") {
        None | Some(Value::Object(_)) => {}
        Some(_) => return Err("heartbeat: health must be an object".into()),
    }
    match field("footage_head") {
        None | Some(Value::Object(_)) => {}
        Some(_) => return Err("footage_head: expected a JSON object".into()),
    }
    match field("update") {
        None | Some(Value::Null) => {}
        Some(Value::Object(u)) => {
            for name in ["state", "version"] {
                match u.get(name) {
                    Some(Value::String(s)) if s.chars().count() <= 64 => {}
                    _ => {
                        return Err(format!(
                            "heartbeat: update.{name} must be a string of at most 64 characters"
                        ))
                    }
                }
            }
            for (name, max) in [("slot", 64), ("target", 64), ("error", 1000)] {
                match u.get(name) {
                    None | Some(Value::Null) => {}
                    Some(Value::String(s)) if s.chars().count() <= max => {}
                    _ => {
                        return Err(format!(
                            "heartbeat: update.{name} must be null or a string of at most {max} characters"
                        ))
                    }
                }
            }
            if !matches!(u.get("last"), None | Some(Value::Null | Value::Object(_))) {
                return Err("heartbeat: update.last must be null or an object".into());
            }
        }
        Some(_) => return Err("heartbeat: update must be an object".into()),
    }
    Ok(o)
}

/// Check a rating body against the spec's `Rating` schema.
pub fn rating(body: &str) -> Result<Rating, String> {
    let mut v: Value = serde_json::from_str(body).map_err(|e| format!("rating: {e}"))?;
    // JSON Schema counts 3.0 as an integer; serde would not.
    if let Some(c) = v.get_mut("counter") {
        if let Some(n) = uint(c, u32::MAX.into()) {
            *c = n.into();
        }
    }
    let r: Rating = serde_json::from_value(v).map_err(|e| format!("rating: {e}"))?;
    r.check()?;
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_long_poll_query_is_checked_against_the_spec() {
        assert_eq!(
            events_query(Some("after=5&wait=60&x=1")).unwrap(),
            EventsQuery {
                after: 5,
                wait: 60,
                catalog: None
            }
        );
        assert_eq!(
            events_query(Some("wait=61")).unwrap_err(),
            "query parameter wait: expected an integer 0..=60, got \"61\""
        );
        assert_eq!(
            events_query(Some("after=-1")).unwrap_err(),
            "query parameter after: expected an integer 0..=9223372036854775807, got \"-1\""
        );
        assert_eq!(events_query(Some("catalog=3")).unwrap().catalog, Some(3));
        assert_eq!(events_query(None).unwrap().after, 0);
    }

    #[test]
    fn heartbeats_are_checked_field_by_field() {
        let ok = r#"{"device":"k","at":"2026-12-05T10:00:00Z","catalog_version":null,"queue_seq":3,"outbox_depth":0,"version":"0.1.0"}"#;
        assert!(heartbeat(ok).is_ok());
        for (body, err) in [
            (
                r#"{"at":"2026-12-05T10:00:00Z"}"#,
                "heartbeat: device is required",
            ),
            (
                r#"{"device":"k","at":"2026-12-05T10:00:00Z","version":{}}"#,
                "heartbeat: version must be a string of at most 64 characters",
            ),
            (
                r#"{"device":"k","at":"yesterday"}"#,
                "heartbeat: at must be an RFC 3339 date-time",
            ),
            (
                r#"{"device":"k","at":"2026-12-05T10:00:00Z","queue_seq":-1}"#,
                "heartbeat: queue_seq must be an integer >= 0",
            ),
            (
                r#"{"device":"","at":"2026-12-05T10:00:00Z"}"#,
                "heartbeat: device must be a string of 1-64 characters",
            ),
            ("[]", "heartbeat: expected a JSON object"),
        ] {
            assert_eq!(heartbeat(body).unwrap_err(), err, "{body}");
        }
    }

    #[test]
    fn ratings_follow_the_spec() {
        let r = |o: &str| {
            rating(&format!(
                r#"{{"key":"k1","counter":2,"level":"satisfied","at":"2026-11-23T08:00:00+07:00"{o}}}"#
            ))
        };
        assert!(r("").is_ok());
        assert_eq!(
            r(r#","official_id":"""#).unwrap_err(),
            "rating official_id must be 1-64 characters"
        );
        assert!(r(&format!(r#","official_id":"{}""#, "ư".repeat(64))).is_ok());
        let integral = rating(
            r#"{"key":"k","counter":152.0,"level":"satisfied","at":"2026-11-23T08:00:00Z"}"#,
        );
        assert_eq!(integral.unwrap().counter, 152);
    }
}
