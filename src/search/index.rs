//! The search index: built once from the catalog's procedures, immutable afterwards.
//!
//! It owns the data layout: a sorted vocabulary of folded words (so a prefix is a contiguous
//! range of term ids), one posting list per term (which documents use it, and in which
//! fields), every procedure's names and keywords as term ids in order (for phrase and
//! position checks),
//! the folded procedure codes (sorted, for code-prefix lookups) and the typo table. It never
//! decides ranking (see `rank.rs`).

use std::collections::HashMap;

use super::fold::{fold, fold_into, strip_markup, words};
use super::fuzzy::FuzzyIndex;
use crate::catalog::Procedure;

/// Where in a procedure a word occurs; a posting stores a bit set of these.
pub(crate) const IN_VI_NAME: u32 = 1;
pub(crate) const IN_EN_NAME: u32 = 2;
pub(crate) const IN_KEYWORDS: u32 = 4;
/// Bits of a posting that hold the field set; the document id is above them.
pub(crate) const FIELD_BITS: u32 = 3;

/// Segments of a document's text, see [`SearchIndex::text`].
pub(crate) const VI_NAME: usize = 0;
pub(crate) const EN_NAME: usize = 1;
pub(crate) const KEYWORDS: usize = 2;
const SEGMENTS: usize = 3;
/// Separates keywords in the keyword segment, so a phrase never spans two keywords.
pub(crate) const BREAK: u32 = u32::MAX;

/// Many published names start with "Thủ tục" ("the procedure of"): "Thủ tục đăng ký khai
/// sinh" is the same name as "Đăng ký khai sinh" to a citizen. The number of such leading
/// words of a folded Vietnamese name (0 or 2), which ranking ignores for length and position;
/// they stay searchable.
fn boilerplate_words(folded: &str) -> usize {
    let mut w = words(folded);
    match (w.next(), w.next(), w.next()) {
        (Some("thu"), Some("tuc"), Some(_)) => 2,
        _ => 0,
    }
}

/// An immutable full-text index over procedures. Document ids are indexes into the slice
/// given to [`SearchIndex::build`].
#[derive(Debug)]
pub struct SearchIndex {
    /// Distinct folded words, sorted bytewise.
    pub(crate) terms: Vec<Box<str>>,
    /// `postings[post_start[t]..post_start[t + 1]]` are the postings of term `t`.
    pub(crate) post_start: Vec<u32>,
    /// `doc << FIELD_BITS | fields`, sorted by document within a term.
    pub(crate) postings: Vec<u32>,
    /// Per document `d`, segment `s` ([`VI_NAME`], [`EN_NAME`] or [`KEYWORDS`]) is
    /// `text_terms[text_start[3d + s]..text_start[3d + s + 1]]`: its words as term ids, in
    /// order, keywords separated by [`BREAK`].
    pub(crate) text_start: Vec<u32>,
    pub(crate) text_terms: Vec<u32>,
    /// Per document: bit `k - 1` is set when its Vietnamese name, English name or one of
    /// its keywords has exactly `k` words (k ≤ 16). Bounds "the query is a whole field"
    /// without scanning.
    pub(crate) segment_lengths: Vec<u16>,
    /// Per document: leading words of the Vietnamese name that ranking does not count for
    /// length and position (see [`boilerplate_words`]).
    pub(crate) vi_boilerplate: Vec<u8>,
    /// (folded code, document), sorted.
    pub(crate) codes: Vec<(Box<str>, u32)>,
    pub(crate) fuzzy: FuzzyIndex,
    docs: usize,
}

impl SearchIndex {
    /// Index the names (Vietnamese and English), keywords and codes of `procedures`.
    ///
    /// # Panics
    /// With more than 2^29 procedures (a catalog is a few thousand).
    pub fn build(procedures: &[Procedure]) -> SearchIndex {
        assert!(
            procedures.len() < 1 << (32 - FIELD_BITS),
            "too many procedures"
        );
        let mut interner: HashMap<String, u32> = HashMap::new();
        let mut folded = String::new();
        // Per document: (temporary term id, field bit) for every word occurrence.
        let mut occurrences: Vec<(u32, u32, u32)> = Vec::new(); // (term, doc, field)
        let mut text_start = Vec::with_capacity(procedures.len() * SEGMENTS + 1);
        let mut text_terms = Vec::new();
        text_start.push(0);
        let mut segment_lengths = Vec::with_capacity(procedures.len());
        let mut vi_boilerplate = Vec::with_capacity(procedures.len());

        let intern = |w: &str, interner: &mut HashMap<String, u32>| -> u32 {
            if let Some(&id) = interner.get(w) {
                return id;
            }
            let id = interner.len() as u32;
            interner.insert(w.to_owned(), id);
            id
        };

        for (doc, p) in procedures.iter().enumerate() {
            let doc = doc as u32;
            let mut lengths = 0u16;
            let mut note_length = |words: usize| {
                if (1..=16).contains(&words) {
                    lengths |= 1 << (words - 1);
                }
            };
            let texts = [
                (IN_VI_NAME, Some(p.name.vi.as_str())),
                (IN_EN_NAME, p.name.en.as_deref()),
            ];
            for (field, text) in texts {
                folded.clear();
                fold_into(&strip_markup(text.unwrap_or("")), &mut folded);
                if field == IN_VI_NAME {
                    vi_boilerplate.push(boilerplate_words(&folded) as u8);
                }
                for w in words(&folded) {
                    let id = intern(w, &mut interner);
                    occurrences.push((id, doc, field));
                    text_terms.push(id);
                }
                let start = text_start[text_start.len() - 1] as usize;
                note_length(text_terms.len() - start);
                text_start.push(text_terms.len() as u32);
            }
            for (i, kw) in p.keywords.iter().enumerate() {
                if i > 0 {
                    text_terms.push(BREAK);
                }
                folded.clear();
                fold_into(&strip_markup(kw), &mut folded);
                let mut count = 0;
                for w in words(&folded) {
                    let id = intern(w, &mut interner);
                    occurrences.push((id, doc, IN_KEYWORDS));
                    text_terms.push(id);
                    count += 1;
                }
                note_length(count);
            }
            text_start.push(text_terms.len() as u32);
            segment_lengths.push(lengths);
        }

        // Sort the vocabulary and renumber.
        let mut terms: Vec<(Box<str>, u32)> = interner
            .into_iter()
            .map(|(w, id)| (w.into_boxed_str(), id))
            .collect();
        terms.sort_unstable();
        let mut renumber = vec![0u32; terms.len()];
        for (new, (_, old)) in terms.iter().enumerate() {
            renumber[*old as usize] = new as u32;
        }
        let terms: Vec<Box<str>> = terms.into_iter().map(|(w, _)| w).collect();
        for t in text_terms.iter_mut().filter(|t| **t != BREAK) {
            *t = renumber[*t as usize];
        }

        // Postings: one per (term, doc) with the union of its fields.
        for o in &mut occurrences {
            o.0 = renumber[o.0 as usize];
        }
        occurrences.sort_unstable();
        let mut post_start = vec![0u32; terms.len() + 1];
        let mut postings: Vec<u32> = Vec::with_capacity(occurrences.len());
        let mut last: Option<(u32, u32)> = None;
        for &(term, doc, field) in &occurrences {
            if last == Some((term, doc)) {
                *postings.last_mut().expect("pushed before") |= field;
            } else {
                postings.push(doc << FIELD_BITS | field);
                post_start[term as usize + 1] += 1;
                last = Some((term, doc));
            }
        }
        for t in 0..terms.len() {
            post_start[t + 1] += post_start[t];
        }

        let mut codes: Vec<(Box<str>, u32)> = procedures
            .iter()
            .enumerate()
            .map(|(doc, p)| (fold(p.code.trim()).into_boxed_str(), doc as u32))
            .collect();
        codes.sort_unstable();

        let fuzzy = FuzzyIndex::build(&terms);
        SearchIndex {
            terms,
            post_start,
            postings,
            text_start,
            text_terms,
            segment_lengths,
            vi_boilerplate,
            codes,
            fuzzy,
            docs: procedures.len(),
        }
    }

    /// Number of indexed procedures.
    pub fn len(&self) -> usize {
        self.docs
    }

    pub fn is_empty(&self) -> bool {
        self.docs == 0
    }

    /// Number of distinct folded words.
    pub fn vocabulary_len(&self) -> usize {
        self.terms.len()
    }

    /// Approximate heap memory held by the index, in bytes.
    pub fn heap_bytes(&self) -> usize {
        let terms: usize = self.terms.iter().map(|t| t.len() + 16).sum();
        let codes: usize = self.codes.iter().map(|(c, _)| c.len() + 24).sum();
        terms
            + codes
            + 4 * (self.post_start.len()
                + self.postings.len()
                + self.text_start.len()
                + self.text_terms.len())
            + 3 * self.segment_lengths.len()
            + self.fuzzy.heap_bytes()
    }

    pub(crate) fn postings_of(&self, term: u32) -> &[u32] {
        let t = term as usize;
        &self.postings[self.post_start[t] as usize..self.post_start[t + 1] as usize]
    }

    /// Segment `segment` ([`VI_NAME`], [`EN_NAME`], [`KEYWORDS`]) of `doc` as term ids.
    pub(crate) fn text(&self, doc: u32, segment: usize) -> &[u32] {
        let i = doc as usize * SEGMENTS + segment;
        &self.text_terms[self.text_start[i] as usize..self.text_start[i + 1] as usize]
    }
}
