//! Running a query plan over the index and ranking the matches.
//!
//! Every query word gets 4 bits of per-document state in one `u32` (8 words max): how it
//! matched (exact, prefix, typo) and where (Vietnamese name, English name, keywords), the
//! best seen. Posting lists of all candidate terms are folded into that state, then each
//! touched document gets a [`MatchTier`] and a secondary score. If some document matches
//! every word only those are returned; otherwise the best partial matches are (tier
//! `Fuzzy`, ranked by how many words they match). This file never touches raw text.

use super::index::{
    SearchIndex, BREAK, EN_NAME, FIELD_BITS, IN_EN_NAME, IN_VI_NAME, KEYWORDS, VI_NAME,
};
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
    /// Pass 1 finds the documents having every word exactly or by prefix: rarest word first,
    /// and later words only update documents that have all earlier ones, so common words
    /// cost a visit of their postings and little else. When that gives at least `limit`
    /// documents, no typo match could make the top `limit` (a typo match never improves a
    /// word's state over an exact or prefix one, and ranks in a lower tier): done. Otherwise
    /// pass 2 starts over with typo matches and without the every-word filter, for the
    /// fallback to partial matches.
    fn word_hits(&self, plan: &QueryPlan, limit: usize, hits: &mut Vec<SearchHit>) {
        let n = plan.words.len();
        let every_word = (0..n).fold(0u32, |m, j| m | 1 << (4 * j));
        let mut state = vec![0u32; self.len()];
        let mut touched: Vec<u32> = Vec::new();
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by_key(|&j| {
            let r = &plan.words[j].prefix;
            self.post_start[r.end as usize] - self.post_start[r.start as usize]
        });
        let mut required = 0;
        for &j in &order {
            self.mark_exact_and_prefix(&plan.words[j], j, required, &mut state, &mut touched);
            required |= 1 << (4 * j);
        }
        let full = |state: &[u32], touched: &[u32]| {
            touched
                .iter()
                .filter(|&&d| present(state[d as usize]) == every_word)
                .count()
        };
        if full(&state, &touched) < limit {
            state.fill(0);
            touched.clear();
            for (j, word) in plan.words.iter().enumerate() {
                self.mark_exact_and_prefix(word, j, 0, &mut state, &mut touched);
                for &(term, _) in &word.fuzzy {
                    self.mark(term, KIND_FUZZY, j, 0, &mut state, &mut touched);
                }
            }
        }
        for &(doc, _) in &plan.codes {
            // Already a code hit: not listed twice.
            state[doc as usize] = 0;
        }
        let any_full = full(&state, &touched) > 0;
        let words_matched = |s: u32| present(s).count_ones() as usize;

        // Exact ranking needs scans of the document's texts; with a broad query (one letter
        // while typing) thousands of documents match. So: an upper bound of each candidate's
        // key from cheap data, exact keys for the `limit` best bounds, then exact keys only
        // for the rest whose bound can still reach the `limit`-th best exact key.
        let mut candidates: Vec<(u64, u32)> = Vec::new();
        for &doc in &touched {
            let s = state[doc as usize];
            let matched = words_matched(s);
            if s == 0 || (any_full && matched < n) {
                continue;
            }
            let facts = self.facts(doc, s, matched, n);
            candidates.push((facts.bound(), doc));
        }
        let k = limit.min(candidates.len());
        if k == 0 {
            return;
        }
        let by_key = |a: &(u64, u32), b: &(u64, u32)| b.0.cmp(&a.0).then(a.1.cmp(&b.1));
        if candidates.len() > k {
            candidates.select_nth_unstable_by(k - 1, by_key);
        }
        let exact = |doc: u32| {
            let s = state[doc as usize];
            let facts = self.facts(doc, s, words_matched(s), n);
            let (tier, score) = self.rank(doc, &facts, &plan.words);
            SearchHit {
                doc: doc as usize,
                score,
                tier,
            }
        };
        let first = hits.len();
        hits.extend(candidates[..k].iter().map(|&(_, doc)| exact(doc)));
        let threshold = hits[first..].iter().map(key).min().expect("k > 0");
        hits.extend(
            candidates[k..]
                .iter()
                .filter(|&&(bound, _)| bound >= threshold)
                .map(|&(_, doc)| exact(doc)),
        );
    }

    fn mark_exact_and_prefix(
        &self,
        word: &WordPlan,
        j: usize,
        required: u32,
        state: &mut [u32],
        touched: &mut Vec<u32>,
    ) {
        for term in word.prefix.clone() {
            let kind = if word.exact == Some(term) {
                KIND_EXACT
            } else {
                KIND_PREFIX
            };
            self.mark(term, kind, j, required, state, touched);
        }
    }

    /// Folds the postings of `term` into the state of query word `j`, for documents whose
    /// state has every word of `required` (a [`present`] mask).
    fn mark(
        &self,
        term: u32,
        kind: u32,
        j: usize,
        required: u32,
        state: &mut [u32],
        touched: &mut Vec<u32>,
    ) {
        let shift = 4 * j as u32;
        for &p in self.postings_of(term) {
            let doc = (p >> FIELD_BITS) as usize;
            let s = state[doc];
            if present(s) & required != required {
                continue;
            }
            if s == 0 {
                touched.push(doc as u32);
            }
            let quality = kind << 2 | FIELD_RANK[(p & ((1 << FIELD_BITS) - 1)) as usize];
            if quality > (s >> shift) & 15 {
                state[doc] = (s & !(15 << shift)) | quality << shift;
            }
        }
    }

    /// What is known about a candidate without scanning its texts.
    fn facts(&self, doc: u32, state: u32, matched: usize, n: usize) -> Facts {
        let mut f = Facts {
            matched: matched as u32,
            weakest: KIND_EXACT,
            exact: 0,
            in_vi: 0,
            vi_len: self.text(doc, VI_NAME).len() - usize::from(self.vi_boilerplate[doc as usize]),
            may_be_whole: self.segment_lengths[doc as usize] & (1 << (n - 1)) != 0,
            all_words: matched == n,
        };
        for j in 0..n {
            let q = (state >> (4 * j)) & 15;
            f.weakest = f.weakest.min(q >> 2);
            f.exact += u32::from(q >> 2 == KIND_EXACT);
            f.in_vi += u32::from(q & 3 == 2);
        }
        f
    }

    /// Tier and secondary score (higher is better) of one document.
    fn rank(&self, doc: u32, f: &Facts, words: &[WordPlan]) -> (MatchTier, u32) {
        let vi = self.text(doc, VI_NAME);
        let (mut tier, mut phrase_vi, mut whole, mut position) =
            (MatchTier::Fuzzy, false, false, None);
        if f.all_words {
            let in_name = scan(vi, words);
            position = in_name.phrase.or(in_name.first);
            if f.weakest >= KIND_PREFIX {
                let en = scan(self.text(doc, EN_NAME), words);
                let kw = scan(self.text(doc, KEYWORDS), words);
                phrase_vi = in_name.phrase.is_some();
                whole = in_name.whole || en.whole || kw.whole;
                tier = if phrase_vi || en.phrase.is_some() || kw.phrase.is_some() {
                    MatchTier::Phrase
                } else {
                    MatchTier::Prefix
                };
            }
        }
        let skip = usize::from(self.vi_boilerplate[doc as usize]);
        let earliness = position.map_or(0, |p| 127 - p.saturating_sub(skip).min(127) as u32);
        (tier, f.score(whole, phrase_vi, earliness))
    }
}

/// Ranking facts of a candidate that need no scan.
struct Facts {
    matched: u32,
    weakest: u32,
    exact: u32,
    in_vi: u32,
    vi_len: usize,
    /// Some text segment has as many words as the query.
    may_be_whole: bool,
    all_words: bool,
}

impl Facts {
    /// Score bits, most significant first: words matched (4); the query is a whole name or
    /// keyword (1); words matched exactly (4); words matched in the Vietnamese name (4);
    /// phrase in the Vietnamese name rather than elsewhere (1); shortness of the Vietnamese
    /// name (8: a name that is mostly the query beats one where it is a detail); earliness
    /// of the first match in the Vietnamese name (7).
    fn score(&self, whole: bool, phrase_vi: bool, earliness: u32) -> u32 {
        let shortness = 255 - self.vi_len.min(255) as u32;
        self.matched << 28
            | u32::from(whole) << 27
            | self.exact << 23
            | self.in_vi << 19
            | u32::from(phrase_vi) << 18
            | shortness << 10
            | earliness << 3
    }

    /// A key (see [`key`]) no lower than the exact one.
    fn bound(&self) -> u64 {
        let phrase_possible = self.all_words && self.weakest >= KIND_PREFIX;
        let tier = if phrase_possible {
            MatchTier::Phrase
        } else {
            MatchTier::Fuzzy
        };
        let score = self.score(phrase_possible && self.may_be_whole, phrase_possible, 127);
        (tier as u64) << 32 | u64::from(score)
    }
}

/// Bit `4j` set for every query word `j` whose 4-bit state is not zero.
fn present(state: u32) -> u32 {
    (state | state >> 1 | state >> 2 | state >> 3) & 0x1111_1111
}

/// Tier and score as one number: higher ranks first.
fn key(h: &SearchHit) -> u64 {
    (h.tier as u64) << 32 | u64::from(h.score)
}

/// Where the query words occur in one text segment (term ids, keywords split by [`BREAK`]).
#[derive(Debug, Default)]
struct Scan {
    /// First position where all words appear contiguously and in order (all exact, the last
    /// may be a prefix).
    phrase: Option<usize>,
    /// Some such phrase is the whole name or a whole keyword.
    whole: bool,
    /// First position where any word appears (exact or prefix).
    first: Option<usize>,
}

fn scan(text: &[u32], words: &[WordPlan]) -> Scan {
    let n = words.len();
    let mut found = Scan::default();
    for i in 0..text.len() {
        if found.first.is_none() && words.iter().any(|w| w.accepts(text[i], true)) {
            found.first = Some(i);
        }
        if i + n <= text.len()
            && words
                .iter()
                .enumerate()
                .all(|(j, w)| w.accepts(text[i + j], j == n - 1))
        {
            found.phrase.get_or_insert(i);
            let starts = i == 0 || text[i - 1] == BREAK;
            let ends = i + n == text.len() || text[i + n] == BREAK;
            if starts && ends {
                found.whole = true;
                break;
            }
        }
    }
    found
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
