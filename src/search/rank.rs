//! Running a query plan over the index and ranking the matches.
//!
//! Every query word gets 4 bits of per-document state in one `u32` (8 words max): how it
//! matched (exact, prefix, typo) and where (Vietnamese name, English name, keywords), the
//! best seen. Posting lists of all candidate terms are folded into that state, then each
//! touched document gets a [`MatchTier`] and a secondary score. If some document matches
//! every word only those are returned; otherwise the best partial matches are (tier
//! `Fuzzy`, ranked by how many words they match). This file never touches raw text.

use super::index::{SearchIndex, EN_NAME, FIELD_BITS, IN_EN_NAME, IN_VI_NAME, KEYWORDS, VI_NAME};
use super::query::{QueryPlan, WordPlan};
use super::{MatchTier, SearchHit};

const KIND_FUZZY: u32 = 1;
const KIND_PREFIX: u32 = 2;
const KIND_EXACT: u32 = 3;
/// Rank of the best field in a posting's field set: Vietnamese name 2, English name 1,
/// keywords 0.
const FIELD_RANK: [u32; 8] = {
    let mut t = [0u32; 8];
    let mut bits = 0;
    while bits < 8 {
        t[bits] = if bits as u32 & IN_VI_NAME != 0 {
            2
        } else if bits as u32 & IN_EN_NAME != 0 {
            1
        } else {
            0 // IN_KEYWORDS only
        };
        bits += 1;
    }
    t
};

impl SearchIndex {
    /// The best `limit` procedures for what a citizen typed, best first.
    ///
    /// Never panics and stays cheap on any input: only the first 512 bytes and 8 words of
    /// the query are considered. An empty or punctuation-only query returns nothing.
    pub fn search(&self, query: &str, limit: usize) -> Vec<SearchHit> {
        if limit == 0 || self.is_empty() {
            return Vec::new();
        }
        let plan = QueryPlan::new(self, query);
        let mut hits: Vec<SearchHit> = plan
            .codes
            .iter()
            .map(|&(doc, score)| SearchHit {
                doc: doc as usize,
                score,
                tier: MatchTier::Code,
            })
            .collect();
        if !plan.words.is_empty() {
            self.word_hits(&plan, limit, &mut hits);
        }
        top(&mut hits, limit);
        hits
    }

    /// Appends the documents matched by the query words (except those already in `hits`).
    ///
    /// Typo candidates are only looked at when fewer than `limit` documents match every
    /// word exactly or by prefix: otherwise no fuzzy match could make the top `limit` (a
    /// fuzzy match never improves a word's state over an exact or prefix one), and skipping
    /// them keeps queries of common short words cheap.
    fn word_hits(&self, plan: &QueryPlan, limit: usize, hits: &mut Vec<SearchHit>) {
        let mut state = vec![0u32; self.len()];
        let mut touched: Vec<u32> = Vec::new();
        for (j, word) in plan.words.iter().enumerate() {
            for term in word.prefix.clone() {
                let kind = if word.exact == Some(term) {
                    KIND_EXACT
                } else {
                    KIND_PREFIX
                };
                self.mark(term, kind, 4 * j as u32, &mut state, &mut touched);
            }
        }
        let n = plan.words.len();
        let words_matched = |s: u32| (0..n).filter(|j| (s >> (4 * j)) & 15 != 0).count();
        let full = |state: &[u32], touched: &[u32]| {
            touched
                .iter()
                .filter(|&&d| words_matched(state[d as usize]) == n)
                .count()
        };
        if full(&state, &touched) < limit {
            for (j, word) in plan.words.iter().enumerate() {
                for &(term, _) in &word.fuzzy {
                    self.mark(term, KIND_FUZZY, 4 * j as u32, &mut state, &mut touched);
                }
            }
        }
        for &(doc, _) in &plan.codes {
            // Already a code hit: not listed twice.
            state[doc as usize] = 0;
        }
        let any_full = full(&state, &touched) > 0;
        for &doc in &touched {
            let s = state[doc as usize];
            let matched = words_matched(s);
            if s == 0 || (any_full && matched < n) {
                continue;
            }
            let (tier, score) = self.rank(doc, s, matched, &plan.words);
            hits.push(SearchHit {
                doc: doc as usize,
                score,
                tier,
            });
        }
    }

    /// Folds the postings of `term` into the per-document state of the word at `shift`.
    fn mark(&self, term: u32, kind: u32, shift: u32, state: &mut [u32], touched: &mut Vec<u32>) {
        for &p in self.postings_of(term) {
            let doc = (p >> FIELD_BITS) as usize;
            let quality = kind << 2 | FIELD_RANK[(p & ((1 << FIELD_BITS) - 1)) as usize];
            let s = state[doc];
            if s == 0 {
                touched.push(doc as u32);
            }
            if quality > (s >> shift) & 15 {
                state[doc] = (s & !(15 << shift)) | quality << shift;
            }
        }
    }

    /// Tier and secondary score (higher is better) of one document.
    ///
    /// Score bits, most significant first: words matched (4), words matched exactly (4),
    /// words matched in the Vietnamese name (4), phrase found in the Vietnamese rather than
    /// the English name (1), shortness of the Vietnamese name (8: a name that is mostly the
    /// query beats one where the query is a detail), earliness of the first match in the
    /// Vietnamese name (7).
    fn rank(&self, doc: u32, state: u32, matched: usize, words: &[WordPlan]) -> (MatchTier, u32) {
        let n = words.len();
        let (mut exact, mut in_vi, mut weakest) = (0u32, 0u32, KIND_EXACT);
        for j in 0..n {
            let q = (state >> (4 * j)) & 15;
            weakest = weakest.min(q >> 2);
            exact += u32::from(q >> 2 == KIND_EXACT);
            in_vi += u32::from(q & 3 == 2);
        }
        let vi = self.text(doc, VI_NAME);
        let (mut tier, mut phrase_vi, mut position) = (MatchTier::Fuzzy, false, None);
        if matched == n {
            let (phrase, first) = scan(vi, words);
            position = phrase.or(first);
            if weakest >= KIND_PREFIX {
                tier = if phrase.is_some() {
                    phrase_vi = true;
                    MatchTier::Phrase
                } else if scan(self.text(doc, EN_NAME), words).0.is_some()
                    || scan(self.text(doc, KEYWORDS), words).0.is_some()
                {
                    MatchTier::Phrase
                } else {
                    MatchTier::Prefix
                };
            }
        }
        let earliness = position.map_or(0, |p| 127 - p.min(127) as u32);
        let shortness = 255 - vi.len().min(255) as u32;
        let score = (matched as u32) << 28
            | exact << 24
            | in_vi << 20
            | u32::from(phrase_vi) << 19
            | shortness << 11
            | earliness << 4;
        (tier, score)
    }
}

/// In a name (as term ids): where the query words first appear contiguously and in order
/// (all exact, the last may be a prefix), and where any query word first appears.
fn scan(name: &[u32], words: &[WordPlan]) -> (Option<usize>, Option<usize>) {
    let n = words.len();
    let mut first = None;
    for i in 0..name.len() {
        if first.is_none() && words.iter().any(|w| w.accepts(name[i], true)) {
            first = Some(i);
        }
        if i + n <= name.len()
            && words
                .iter()
                .enumerate()
                .all(|(j, w)| w.accepts(name[i + j], j == n - 1))
        {
            return (Some(i), first);
        }
    }
    (None, first)
}

/// Keeps the best `limit` hits, sorted best first; ties go to the lower document id.
fn top(hits: &mut Vec<SearchHit>, limit: usize) {
    let order = |a: &SearchHit, b: &SearchHit| {
        b.tier
            .cmp(&a.tier)
            .then(b.score.cmp(&a.score))
            .then(a.doc.cmp(&b.doc))
    };
    if hits.len() > limit {
        hits.select_nth_unstable_by(limit - 1, order);
        hits.truncate(limit);
    }
    hits.sort_unstable_by(order);
}
