//! CSRF protection: the synchronizer token of a session (or of the login form's pre-login
//! cookie) must come back in the `csrf` field of every POST form, compared in constant time.
//!
//! Checks only; never creates sessions and never reads anything but the two strings given.

/// Why a state-changing request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CsrfError {
    #[error("the form carries no CSRF token")]
    Missing,
    #[error("the form's CSRF token does not match this session")]
    Mismatch,
}

/// `expected` is the server's token; `sent` the form field.
pub fn check(expected: &str, sent: Option<&str>) -> Result<(), CsrfError> {
    let sent = sent.filter(|s| !s.is_empty()).ok_or(CsrfError::Missing)?;
    if expected.is_empty() || !constant_time_eq(expected.as_bytes(), sent.as_bytes()) {
        return Err(CsrfError::Mismatch);
    }
    Ok(())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens() {
        assert_eq!(check("abc", Some("abc")), Ok(()));
        assert_eq!(check("abc", None), Err(CsrfError::Missing));
        assert_eq!(check("abc", Some("")), Err(CsrfError::Missing));
        assert_eq!(check("abc", Some("abd")), Err(CsrfError::Mismatch));
        assert_eq!(check("abc", Some("abcd")), Err(CsrfError::Mismatch));
        assert_eq!(check("", Some("x")), Err(CsrfError::Mismatch));
    }
}
