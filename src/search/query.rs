//! Turning what a citizen typed into a query plan against the index.
//!
//! For every query word: its exact term (if any), the contiguous range of vocabulary terms it
//! is a prefix of, and the terms one or two typos away. Plus the procedure codes the whole
//! query is a prefix of. Caps keep silly input (a 10 KB paste) cheap. This file never scores.

use std::ops::Range;

use super::fold::{fold, words};
use super::index::SearchIndex;

/// Only this many bytes of a query are looked at.
pub(crate) const MAX_QUERY_BYTES: usize = 512;
/// Only the first this many words of a query are used (a [`u32`] holds 8 × 4 bits of state).
pub const MAX_QUERY_WORDS: usize = 8;
/// A code query needs at least this many characters (`1.0` but not `1`).
const MIN_CODE_QUERY: usize = 3;

/// How one query word can match vocabulary terms.
#[derive(Debug)]
pub(crate) struct WordPlan {
    /// Term equal to the word.
    pub exact: Option<u32>,
    /// Terms starting with the word (includes `exact`, which sorts first).
    pub prefix: Range<u32>,
    /// Terms within the typo budget and outside `prefix`, with their distance.
    pub fuzzy: Vec<(u32, u8)>,
}

impl WordPlan {
    /// Whether `term` matches this word exactly, or (when `allow_prefix`) as a prefix.
    pub fn accepts(&self, term: u32, allow_prefix: bool) -> bool {
        if allow_prefix {
            self.prefix.contains(&term)
        } else {
            self.exact == Some(term)
        }
    }
}

#[derive(Debug)]
pub(crate) struct QueryPlan {
    pub words: Vec<WordPlan>,
    /// Documents whose code starts with the query, with a code-tier score.
    pub codes: Vec<(u32, u32)>,
}

impl QueryPlan {
    pub fn new(index: &SearchIndex, query: &str) -> QueryPlan {
        let query = truncate(query, MAX_QUERY_BYTES);
        let folded = fold(query);
        let words = words(&folded)
            .take(MAX_QUERY_WORDS)
            .map(|w| plan_word(index, w))
            .collect();
        QueryPlan {
            words,
            codes: code_matches(index, &folded),
        }
    }
}

fn plan_word(index: &SearchIndex, w: &str) -> WordPlan {
    let terms = &index.terms;
    let lo = terms.partition_point(|t| &**t < w);
    let hi = lo + terms[lo..].partition_point(|t| t.starts_with(w));
    let exact = (lo < hi && &*terms[lo] == w).then_some(lo as u32);
    let mut fuzzy = Vec::new();
    index.fuzzy.candidates(terms, w, &mut fuzzy);
    fuzzy.retain(|(t, _)| !(lo..hi).contains(&(*t as usize)));
    WordPlan {
        exact,
        prefix: lo as u32..hi as u32,
        fuzzy,
    }
}

/// Documents whose folded code starts with the query (spaces removed), when the query looks
/// like a code: starts with a digit, only letters, digits, `.` and `-`.
fn code_matches(index: &SearchIndex, folded: &str) -> Vec<(u32, u32)> {
    let q: String = folded.chars().filter(|c| !c.is_whitespace()).collect();
    let looks_like_code = q.len() >= MIN_CODE_QUERY
        && q.starts_with(|c: char| c.is_ascii_digit())
        && q.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
    if !looks_like_code {
        return Vec::new();
    }
    let codes = &index.codes;
    let lo = codes.partition_point(|(c, _)| &**c < q.as_str());
    codes[lo..]
        .iter()
        .take_while(|(c, _)| c.starts_with(q.as_str()))
        .map(|(c, doc)| {
            // Exact code first, then shorter codes (fewer characters left to type).
            let exact = u32::from(c.len() == q.len()) << 31;
            let shortness = 255 - (c.len() - q.len()).min(255) as u32;
            (*doc, exact | shortness)
        })
        .collect()
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncate_respects_char_boundaries() {
        assert_eq!(truncate("đăng", 3), "đ");
        assert_eq!(truncate("đăng", 2), "đ");
        assert_eq!(truncate("đăng", 1), "");
        assert_eq!(truncate("abc", 10), "abc");
    }
}
