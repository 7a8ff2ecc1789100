//! Running a query plan over the index and ranking the matches.
//!
//! Each query word gets a weight from its rarity (IDF over the documents it matches; a
//! filler word a small fraction of it), and each document, per word, the quality of its
//! best match (exact, prefix, typo, second reading) times the weight of the field it was in
//! (name, keywords and lexicon phrasings, English name, field name). A document's score is
//! the weighted sum, plus its popularity prior, minus a little for long names; then, for
//! the documents that can still reach the top, bonuses for query words adjacent in the
//! same order in the text and for accents typed as written. This file never touches raw
//! text.

use super::index::{
    SearchIndex, BREAK, EN_NAME, FIELD_BITS, IN_EN_NAME, IN_FIELD, IN_KEYWORDS, IN_NAME, KEYWORDS,
    NAME,
};
use super::query::{QueryPlan, EXACT, SOLID};

/// Percent of a match's quality kept, by the field it is in.
const FIELD_PERCENT: [(u32, u32); 4] = [
    (IN_NAME, 100),
    (IN_KEYWORDS, 92),
    (IN_EN_NAME, 92),
    (IN_FIELD, 45),
];
/// [`FIELD_PERCENT`] of the best field in each posting field set.
const PERCENT_OF_FIELDS: [u32; 1 << FIELD_BITS] = {
    let mut t = [0u32; 1 << FIELD_BITS];
    let mut bits = 0;
    while bits < t.len() {
        let mut i = 0;
        while i < FIELD_PERCENT.len() {
            let (bit, pc) = FIELD_PERCENT[i];
            if bits as u32 & bit != 0 && pc > t[bits] {
                t[bits] = pc;
            }
            i += 1;
        }
        bits += 1;
    }
    t
};
/// Share of a word's weight a filler word keeps.
const FILLER_SHARE: f32 = 0.12;
/// Weight of the popularity prior.
const PRIOR_WEIGHT: f32 = 1.0;
/// Penalty per ln(1 + words) of a name…
const LENGTH_PENALTY: f32 = 0.3;
/// …counting at most this many words (past it, qualifiers are detail).
const LENGTH_CAP: u8 = 10;
/// Bonus for two query words adjacent and in order in a text, times the smaller weight.
const PHRASE_BONUS: f32 = 0.6;
/// Bonus for a word whose typed accents match the text, times its weight.
const ACCENT_BONUS: f32 = 0.2;
/// Bonus when one keyword (or lexicon phrasing) is the query: every content word of the
/// query is in it and every word of it is in the query (fillers allowed), times the content
/// weights. The citizen said exactly what the lexicon knows.
const WHOLE_KEYWORD_BONUS: f32 = 0.4;

/// Per document, what each query word matched: quality × field percent / 100.
pub(crate) struct Matches {
    pub n: usize,
    /// `best[doc * n + j]`.
    pub best: Vec<u8>,
    /// Whether word `j`'s best match in `doc` is solid (not a typo): bit `j` of `solid[doc]`.
    pub solid: Vec<u8>,
    pub touched: Vec<u32>,
    /// Weight of each query word (0 when it matches nothing).
    pub weight: Vec<f32>,
}

/// A ranked candidate.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scored {
    pub doc: u32,
    pub score: f32,
}

impl SearchIndex {
    /// Folds every candidate term's postings into per-document, per-word best matches and
    /// computes word weights.
    pub(crate) fn match_words(&self, plan: &QueryPlan) -> Matches {
        let n = plan.words.len();
        let mut m = Matches {
            n,
            best: vec![0; self.len() * n],
            solid: vec![0; self.len()],
            touched: Vec::new(),
            weight: vec![0.0; n],
        };
        let mut df = vec![0u32; n];
        let mut seen = vec![false; self.len()];
        for (j, w) in plan.words.iter().enumerate() {
            let mut visit = |term: u32, quality: u32, m: &mut Matches| {
                for &p in self.postings_of(term) {
                    let doc = (p >> FIELD_BITS) as usize;
                    let fields = p & ((1 << FIELD_BITS) - 1);
                    let percent = PERCENT_OF_FIELDS[fields as usize];
                    let v = (quality * percent / 100).min(255) as u8;
                    let slot = &mut m.best[doc * n + j];
                    if *slot == 0 {
                        df[j] += 1;
                        if !seen[doc] {
                            seen[doc] = true;
                            m.touched.push(doc as u32);
                        }
                    }
                    if v > *slot {
                        *slot = v;
                        if quality >= SOLID {
                            m.solid[doc] |= 1 << j;
                        }
                    }
                }
            };
            for r in &w.readings {
                let range = if r.prefix.is_empty() {
                    r.exact.map_or(0..0, |e| e..e + 1)
                } else {
                    r.prefix.clone()
                };
                for term in range {
                    visit(term, plan.quality(term, j), &mut m);
                }
            }
            for &(term, q) in &w.fuzzy {
                visit(term, q, &mut m);
            }
        }
        let docs = self.len() as f32;
        for (j, w) in plan.words.iter().enumerate() {
            if df[j] > 0 {
                let idf = (1.0 + docs / df[j] as f32).ln();
                m.weight[j] = if w.filler { idf * FILLER_SHARE } else { idf };
            }
        }
        m
    }

    /// Score without the text scans: matches, prior, length.
    fn base_score(&self, m: &Matches, doc: u32) -> f32 {
        let d = doc as usize;
        let mut s = 0.0;
        for j in 0..m.n {
            s += m.weight[j] * f32::from(m.best[d * m.n + j]) / EXACT as f32;
        }
        s + PRIOR_WEIGHT * self.prior[d]
            - LENGTH_PENALTY * (1.0 + f32::from(self.name_len[d].min(LENGTH_CAP))).ln()
    }

    /// The most the text bonuses can add to a document matching the words of `matched` (a
    /// bit per word).
    fn max_bonus(m: &Matches, plan: &QueryPlan, matched: u32) -> f32 {
        let has = |j: usize| matched & (1 << j) != 0;
        let content = content_mask(m, plan);
        let whole = if content & matched == content {
            WHOLE_KEYWORD_BONUS * content_weight(m, plan)
        } else {
            0.0
        };
        let pairs: f32 = (1..m.n)
            .filter(|&j| has(j - 1) && has(j))
            .map(|j| m.weight[j - 1].min(m.weight[j]))
            .sum::<f32>()
            * PHRASE_BONUS;
        let accents: f32 = (0..m.n)
            .filter(|&j| has(j) && plan.words[j].accent.is_some())
            .map(|j| m.weight[j] * ACCENT_BONUS)
            .sum();
        pairs + accents + whole
    }

    /// Bit `j` set for each word `doc` matched.
    fn matched(m: &Matches, doc: u32) -> u32 {
        (0..m.n)
            .filter(|&j| m.best[doc as usize * m.n + j] > 0)
            .fold(0, |acc, j| acc | 1 << j)
    }

    /// Phrase and accent bonuses of one document (scans its texts).
    fn bonus(&self, m: &Matches, plan: &QueryPlan, doc: u32) -> f32 {
        let n = m.n;
        let matched = SearchIndex::matched(m, doc);
        let accented = (0..n)
            .filter(|&j| plan.words[j].accent.is_some())
            .fold(0u32, |acc, j| acc | 1 << j);
        let mut adjacent = 0u32; // bit j: words j - 1 and j adjacent somewhere
        let mut accent_ok = 0u32;
        let content = content_mask(m, plan);
        let mut whole = false;
        for seg in [NAME, KEYWORDS, EN_NAME] {
            let (text, accents) = self.text(doc, seg);
            let mut prev: u32 = 0; // bit set of words matching the previous position
            let mut in_keyword: u32 = 0; // words matched in the current keyword
            let mut covered = true; // every word of the current keyword matched a query word
            for (i, &t) in text.iter().enumerate() {
                if t == BREAK {
                    whole |= seg == KEYWORDS
                        && covered
                        && content != 0
                        && in_keyword & content == content;
                    prev = 0;
                    in_keyword = 0;
                    covered = true;
                    continue;
                }
                let (any, exact) = plan.masks(t);
                let cur = any & matched;
                adjacent |= cur & (prev << 1);
                let mut check = exact & accented & matched & !accent_ok;
                while check != 0 {
                    let j = check.trailing_zeros() as usize;
                    check &= check - 1;
                    if plan.words[j].accent == Some(accents[i]) {
                        accent_ok |= 1 << j;
                    }
                }
                prev = cur;
                in_keyword |= cur;
                covered &= cur != 0;
            }
            whole |= seg == KEYWORDS && covered && content != 0 && in_keyword & content == content;
        }
        let mut b = if whole {
            WHOLE_KEYWORD_BONUS * content_weight(m, plan)
        } else {
            0.0
        };
        for j in 0..n {
            if adjacent & (1 << j) != 0 {
                b += PHRASE_BONUS * m.weight[j - 1].min(m.weight[j]);
            }
            if accent_ok & (1 << j) != 0 {
                b += ACCENT_BONUS * m.weight[j];
            }
        }
        b
    }

    /// Bit `j` set for each query word typed with accents that `doc` matches only with other
    /// accents.
    pub(crate) fn accent_mismatches(&self, plan: &QueryPlan, m: &Matches, doc: u32) -> u32 {
        (0..m.n)
            .filter(|&j| m.best[doc as usize * m.n + j] > 0 && !self.accents_agree(plan, doc, j))
            .fold(0, |acc, j| acc | 1 << j)
    }

    /// Whether query word `j`, if typed with accents, occurs in `doc` written with the same
    /// accents (or without any): `lái` is not in a name that only has `lại`.
    pub(crate) fn accents_agree(&self, plan: &QueryPlan, doc: u32, j: usize) -> bool {
        let w = &plan.words[j];
        let Some(a) = w.accent else {
            return true;
        };
        [NAME, KEYWORDS, EN_NAME].iter().any(|&seg| {
            let (text, accents) = self.text(doc, seg);
            text.iter()
                .zip(accents)
                .any(|(&t, &sig)| t != BREAK && (sig == a || sig == 0) && plan.quality(t, j) > 0)
        })
    }

    /// The best `limit` documents by score, best first (ties: lower document id).
    pub(crate) fn rank(&self, plan: &QueryPlan, m: &Matches, limit: usize) -> Vec<Scored> {
        if limit == 0 {
            return Vec::new();
        }
        // Only documents matching some word that is not a filler, if the query has one.
        let content = content_mask(m, plan);
        let n = m.n;
        // (base score + the most its bonuses can add, base score, doc).
        let mut cands: Vec<(f32, f32, u32)> = m
            .touched
            .iter()
            .filter(|&&doc| {
                content == 0
                    || (0..n).any(|j| content & (1 << j) != 0 && m.best[doc as usize * n + j] > 0)
            })
            .map(|&doc| {
                let base = self.base_score(m, doc);
                let bound = base + SearchIndex::max_bonus(m, plan, SearchIndex::matched(m, doc));
                (bound, base, doc)
            })
            .collect();
        let by_bound =
            |a: &(f32, f32, u32), b: &(f32, f32, u32)| b.0.total_cmp(&a.0).then(a.2.cmp(&b.2));
        if cands.len() > limit {
            // Bonuses only add: the `limit`-th best final score is at least the `limit`-th
            // best base score, so a candidate whose bound is below it is out.
            let mut bases: Vec<f32> = cands.iter().map(|c| c.1).collect();
            let (_, kth, _) = bases.select_nth_unstable_by(limit - 1, |a, b| b.total_cmp(a));
            let floor = *kth;
            cands.retain(|c| c.0 >= floor);
        }
        cands.sort_unstable_by(by_bound);
        let by_score = |a: &Scored, b: &Scored| b.score.total_cmp(&a.score).then(a.doc.cmp(&b.doc));
        let mut top: Vec<Scored> = Vec::with_capacity(limit.min(cands.len()) + 1);
        for (bound, base, doc) in cands {
            if top.len() == limit && bound < top[limit - 1].score {
                break;
            }
            let s = Scored {
                doc,
                score: base + self.bonus(m, plan, doc),
            };
            let at = top.partition_point(|t| by_score(t, &s).is_lt());
            if at < limit {
                top.insert(at, s);
                top.truncate(limit);
            }
        }
        top
    }
}

/// Bit `j` set for each query word that is not a filler and matches something.
fn content_mask(m: &Matches, plan: &QueryPlan) -> u32 {
    plan.words
        .iter()
        .enumerate()
        .filter(|(j, w)| !w.filler && m.weight[*j] > 0.0)
        .fold(0, |acc, (j, _)| acc | 1 << j)
}

/// Sum of the weights of the content words.
fn content_weight(m: &Matches, plan: &QueryPlan) -> f32 {
    let mask = content_mask(m, plan);
    (0..m.n)
        .filter(|j| mask & (1 << j) != 0)
        .map(|j| m.weight[j])
        .sum()
}

/// Share of its quality a word keeps in [`confidence`] when it was typed with accents and
/// the document only has it with other accents (`vé` typed, `về` found).
const ACCENT_MISMATCH_SHARE: f32 = 0.25;

/// Share (0–1) of the query's meaning a document matched: the weighted match qualities over
/// the weights of all query words, a word that matches nothing anywhere counting as a rare
/// word. Words of `mismatched` (a bit per word) count at [`ACCENT_MISMATCH_SHARE`].
pub(crate) fn confidence(
    m: &Matches,
    plan: &QueryPlan,
    docs: usize,
    doc: u32,
    mismatched: u32,
) -> f32 {
    let unknown = (1.0 + docs as f32).ln() * 0.5;
    let (mut got, mut total) = (0.0, 0.0);
    for (j, w) in plan.words.iter().enumerate() {
        let wt = if m.weight[j] > 0.0 {
            m.weight[j]
        } else if w.filler {
            0.0
        } else {
            unknown
        };
        total += wt;
        let share = if mismatched & (1 << j) != 0 {
            ACCENT_MISMATCH_SHARE
        } else {
            1.0
        };
        got += share * m.weight[j] * f32::from(m.best[doc as usize * m.n + j]) / EXACT as f32;
    }
    if total == 0.0 {
        0.0
    } else {
        (got / total).min(1.0)
    }
}

/// Whether `doc` matched every query word that is not a filler, none only by a typo.
pub(crate) fn covers_all(m: &Matches, plan: &QueryPlan, doc: u32) -> bool {
    plan.words
        .iter()
        .enumerate()
        .filter(|(_, w)| !w.filler)
        .all(|(j, _)| m.solid[doc as usize] & (1 << j) != 0)
}

/// Query words (not fillers) `doc` matched solidly.
pub(crate) fn solid_words(m: &Matches, plan: &QueryPlan, doc: u32) -> usize {
    plan.words
        .iter()
        .enumerate()
        .filter(|(j, w)| !w.filler && m.solid[doc as usize] & (1 << j) != 0)
        .count()
}

/// Query words (not fillers) `doc` matched at all.
pub(crate) fn any_words(m: &Matches, plan: &QueryPlan, doc: u32) -> usize {
    plan.words
        .iter()
        .enumerate()
        .filter(|(j, w)| !w.filler && m.best[doc as usize * m.n + j] > 0)
        .count()
}
