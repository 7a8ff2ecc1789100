//! Turning what a citizen typed into a query plan against the index.
//!
//! Per query word: the accents the citizen typed, whether it is a filler ("làm", "cho"),
//! and the terms it can match with a quality: exact, as a prefix (the word being typed, the
//! last one, most of all), one or two typos away, and the same for its Telex/VNI second
//! reading. Boilerplate ("thủ tục") is dropped. Plus the procedures whose code (with or
//! without dots) starts with the query. Caps keep silly input (a 10 KB paste) cheap. This
//! file never scores documents.

use std::ops::Range;

use super::fold::{accent_signature, fold, is_word_char, norm_word, words};
use super::fuzzy::max_edits;
use super::index::{code_key, SearchIndex};
use super::telex;

/// Only this many bytes of a query are looked at.
pub(crate) const MAX_QUERY_BYTES: usize = 512;
/// Only the first this many words of a query are used.
pub const MAX_QUERY_WORDS: usize = 8;
/// A code query needs at least this many digits.
const MIN_CODE_DIGITS: usize = 3;

/// Match qualities, out of [`EXACT`].
pub(crate) const EXACT: u32 = 100;
const PREFIX_LAST: u32 = 70;
const PREFIX_OTHER: u32 = 40;
/// Added to a prefix match in proportion to how much of the term was typed.
const PREFIX_TYPED: u32 = 20;
const TYPO: [u32; 3] = [EXACT, 62, 46];
/// A second (Telex/VNI) reading scores this share of the first.
const SECOND_READING_PERCENT: u32 = 95;
/// At or above this, a match is not a typo match.
pub(crate) const SOLID: u32 = PREFIX_OTHER;

/// One way of reading a query word: its exact term and the terms it is a prefix of.
#[derive(Debug)]
pub(crate) struct Reading {
    pub len: usize,
    pub exact: Option<u32>,
    /// Terms starting with the word (includes `exact`, which sorts first); empty when the
    /// word may not match as a prefix.
    pub prefix: Range<u32>,
    /// Percent applied to qualities of this reading.
    pub percent: u32,
}

/// How one query word can match vocabulary terms.
#[derive(Debug)]
pub(crate) struct WordPlan {
    /// Folded, spelling-normalised.
    pub word: String,
    pub filler: bool,
    /// Accents typed (see `fold::accent_signature`).
    pub accent: Option<u32>,
    pub last: bool,
    pub readings: Vec<Reading>,
    /// Terms within the typo budget of the first reading, with their quality.
    pub fuzzy: Vec<(u32, u32)>,
}

impl WordPlan {
    /// Quality (0 = no match) of `term`, whose text is `text`, for this word.
    pub fn quality(&self, term: u32, text: &str) -> u32 {
        let mut best = 0;
        for r in &self.readings {
            let q = if r.exact == Some(term) {
                EXACT
            } else if r.prefix.contains(&term) {
                let base = if self.last { PREFIX_LAST } else { PREFIX_OTHER };
                base + PREFIX_TYPED * r.len as u32 / text.len().max(1) as u32
            } else {
                0
            };
            best = best.max(q * r.percent / 100);
        }
        if best == 0 {
            if let Some(&(_, q)) = self.fuzzy.iter().find(|(t, _)| *t == term) {
                best = q;
            }
        }
        best
    }
}

#[derive(Debug)]
pub(crate) struct QueryPlan {
    pub words: Vec<WordPlan>,
    /// Documents whose code starts with the query, with a code-tier score.
    pub codes: Vec<(u32, u32)>,
    /// `qualities[term * words.len() + j]`: [`WordPlan::quality`] of every vocabulary term
    /// for word `j`, computed once so that scanning texts costs a look-up per word.
    qualities: Vec<u8>,
    /// Per vocabulary term: bit `j` set when it matches word `j` at all (`.0`), exactly
    /// (`.1`). Scanning a text costs one look-up per position.
    masks: Vec<(u8, u8)>,
}

impl QueryPlan {
    pub fn new(index: &SearchIndex, query: &str) -> QueryPlan {
        let query = truncate(query, MAX_QUERY_BYTES);
        let folded = fold(query);
        let codes = code_matches(index, &folded);
        // (folded normalised word, accent) per word as typed.
        let mut typed: Vec<(String, Option<u32>)> = Vec::new();
        for raw in query
            .split(|c: char| !is_word_char(c))
            .filter(|w| !w.is_empty())
        {
            let accent = accent_signature(raw);
            let f = fold(raw);
            for w in words(&f) {
                typed.push((norm_word(w).into_owned(), accent));
            }
            if typed.len() > 4 * MAX_QUERY_WORDS {
                break;
            }
        }
        let ends_in_word = query.ends_with(is_word_char);
        let typed = drop_boilerplate(index, typed);
        let n = typed.len().min(MAX_QUERY_WORDS);
        let words: Vec<WordPlan> = typed
            .into_iter()
            .take(n)
            .enumerate()
            .map(|(i, (w, accent))| plan_word(index, w, accent, i + 1 == n && ends_in_word))
            .collect();
        let mut qualities = vec![0u8; index.terms.len() * words.len()];
        let mut masks = vec![(0u8, 0u8); index.terms.len()];
        for (j, w) in words.iter().enumerate() {
            let mut set = |term: u32| {
                let q = w.quality(term, &index.terms[term as usize]);
                let slot = &mut qualities[term as usize * n + j];
                *slot = (*slot).max(q.min(255) as u8);
                if q > 0 {
                    masks[term as usize].0 |= 1 << j;
                }
                if q == EXACT {
                    masks[term as usize].1 |= 1 << j;
                }
            };
            for r in &w.readings {
                r.exact.into_iter().for_each(&mut set);
                r.prefix.clone().for_each(&mut set);
            }
            w.fuzzy.iter().for_each(|&(t, _)| set(t));
        }
        QueryPlan {
            words,
            codes,
            qualities,
            masks,
        }
    }

    /// Bit `j` set for each query word `term` matches (`.0`), exactly (`.1`).
    pub fn masks(&self, term: u32) -> (u32, u32) {
        let (any, exact) = self.masks[term as usize];
        (u32::from(any), u32::from(exact))
    }

    /// Quality (0: no match) of vocabulary term `term` for query word `j`.
    pub fn quality(&self, term: u32, j: usize) -> u32 {
        u32::from(self.qualities[term as usize * self.words.len() + j])
    }
}

/// Query words without boilerplate phrases, unless nothing else is left.
fn drop_boilerplate(
    index: &SearchIndex,
    typed: Vec<(String, Option<u32>)>,
) -> Vec<(String, Option<u32>)> {
    let plain: Vec<String> = typed.iter().map(|(w, _)| w.clone()).collect();
    let kept = index.lexicon.strip_boilerplate(plain);
    if kept.len() == typed.len() {
        return typed;
    }
    let mut k = 0;
    typed
        .into_iter()
        .filter(|(w, _)| {
            let keep = k < kept.len() && *w == kept[k];
            k += usize::from(keep);
            keep
        })
        .collect()
}

fn reading(index: &SearchIndex, w: &str, allow_prefix: bool, percent: u32) -> Reading {
    let terms = &index.terms;
    let lo = terms.partition_point(|t| &**t < w);
    let exact = (lo < terms.len() && &*terms[lo] == w).then_some(lo as u32);
    let hi = if allow_prefix {
        lo + terms[lo..].partition_point(|t| t.starts_with(w))
    } else {
        lo
    };
    Reading {
        len: w.len(),
        exact,
        prefix: lo as u32..hi as u32,
        percent,
    }
}

fn plan_word(index: &SearchIndex, word: String, accent: Option<u32>, last: bool) -> WordPlan {
    // Any word may be a prefix (a citizen abbreviates), but one letter only while typing.
    let allow_prefix = last || word.len() >= 2;
    let mut readings = vec![reading(index, &word, allow_prefix, 100)];
    if let Some(second) = telex::decode(&word) {
        let second = norm_word(&second).into_owned();
        readings.push(reading(
            index,
            &second,
            allow_prefix,
            SECOND_READING_PERCENT,
        ));
    }
    let solid = readings.iter().any(|r| r.exact.is_some())
        || (last && readings.iter().any(|r| !r.prefix.is_empty()));
    let mut fuzzy = Vec::new();
    if !solid && max_edits(word.len()) > 0 {
        let mut found = Vec::new();
        index.fuzzy.candidates(&index.terms, &word, &mut found);
        fuzzy = found
            .into_iter()
            .map(|(t, d)| (t, TYPO[usize::from(d).min(2)]))
            .collect();
    }
    WordPlan {
        filler: index.lexicon.is_filler(&word, accent),
        word,
        accent,
        last,
        readings,
        fuzzy,
    }
}

/// Documents whose code starts with the query, when the query looks like a code: starts
/// with a digit, only digits, letters, `.`, `-` and spaces, at least 3 digits. Dots are
/// optional (`1000894` = `1.000894`).
fn code_matches(index: &SearchIndex, folded: &str) -> Vec<(u32, u32)> {
    let t = folded.trim();
    let looks_like_code = t.starts_with(|c: char| c.is_ascii_digit())
        && t.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ' '))
        && t.chars().filter(char::is_ascii_digit).count() >= MIN_CODE_DIGITS;
    if !looks_like_code {
        return Vec::new();
    }
    let q = code_key(t);
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
