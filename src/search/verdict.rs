//! Knowing when the search does not know: turns ranked matches into hits with a
//! confidence and a verdict, either "found" or "the center does not handle this", with a
//! referral when the referral table names the place. A single weak typo match is never
//! presented as the answer.

use super::index::SearchIndex;
use super::lexicon::find;
use super::query::QueryPlan;
use super::rank::{any_words, confidence, covers_all, solid_words, Matches};
use super::{MatchTier, SearchHit};
use crate::catalog::lexicon::Referral;

/// Below this confidence the best match is not presented as the answer.
pub const MIN_CONFIDENCE: f32 = 0.45;

/// What the kiosk should say.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub enum Verdict {
    /// The hits answer the query.
    Found,
    /// The center does not handle this (or nothing matched well enough). `referral` is the
    /// index of the referral (see [`SearchIndex::referrals`]) naming where to go, if any;
    /// otherwise: ask at the guidance counter.
    NotHere { referral: Option<usize> },
}

/// Hits and the verdict on them.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SearchOutcome {
    /// Best first. With [`Verdict::NotHere`], what matched anyway (may be empty).
    pub hits: Vec<SearchHit>,
    pub verdict: Verdict,
}

impl SearchOutcome {
    pub fn found(&self) -> bool {
        self.verdict == Verdict::Found
    }
}

impl SearchIndex {
    /// The best `limit` procedures for what a citizen typed, best first, whatever the
    /// verdict. Never panics and stays cheap on any input: only the first 512 bytes and
    /// 8 words of the query are considered.
    pub fn search(&self, query: &str, limit: usize) -> Vec<SearchHit> {
        self.answer(query, limit).hits
    }

    /// Hits with the verdict: found, or not handled here (with a referral when known).
    pub fn answer(&self, query: &str, limit: usize) -> SearchOutcome {
        let empty = SearchOutcome {
            hits: Vec::new(),
            verdict: Verdict::NotHere { referral: None },
        };
        if limit == 0 || self.is_empty() {
            return empty;
        }
        let plan = QueryPlan::new(self, query);
        let mut hits: Vec<SearchHit> = plan
            .codes
            .iter()
            .map(|&(doc, score)| SearchHit {
                doc: doc as usize,
                score: score as f32,
                tier: MatchTier::Code,
                confidence: 1.0,
            })
            .collect();
        hits.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.doc.cmp(&b.doc)));
        hits.truncate(limit);
        if !hits.is_empty() {
            return SearchOutcome {
                hits,
                verdict: Verdict::Found,
            };
        }
        if plan.words.is_empty() {
            return empty;
        }
        let m = self.match_words(&plan);
        let ranked = self.rank(&plan, &m, limit);
        let hits: Vec<SearchHit> = ranked
            .iter()
            .map(|s| SearchHit {
                doc: s.doc as usize,
                score: s.score,
                tier: if covers_all(&m, &plan, s.doc) {
                    MatchTier::Words
                } else {
                    MatchTier::Fuzzy
                },
                confidence: confidence(
                    &m,
                    &plan,
                    self.len(),
                    s.doc,
                    self.accent_mismatches(&plan, &m, s.doc),
                ),
            })
            .collect();
        let verdict = self.verdict(&plan, &m, &hits);
        SearchOutcome { hits, verdict }
    }

    fn verdict(&self, plan: &QueryPlan, m: &Matches, hits: &[SearchHit]) -> Verdict {
        let referral = self.referral_for(plan);
        let Some(top) = hits.first() else {
            return Verdict::NotHere { referral };
        };
        let doc = top.doc as u32;
        let solid = solid_words(m, plan, doc);
        // Only typo matches, and on one word at most: a guess, not an answer.
        if solid == 0 && any_words(m, plan, doc) < 2 {
            return Verdict::NotHere { referral };
        }
        if top.confidence < MIN_CONFIDENCE {
            return Verdict::NotHere { referral };
        }
        if let Some((r, inside, outside)) = self.referral_match(plan) {
            // Words outside the referral's phrase that the best hit has, accents agreeing:
            // what the catalog can do about the thing the referral is about.
            let outside_hit: Vec<usize> = outside
                .iter()
                .copied()
                .filter(|&j| {
                    !plan.words[j].filler
                        && m.solid[doc as usize] & (1 << j) != 0
                        && self.accents_agree(plan, doc, j)
                })
                .collect();
            // Here only when the best hit has every word, the phrase as typed, and more
            // ("mất hộ chiếu" is reported here, "làm hộ chiếu" is not done here).
            let here = covers_all(m, plan, doc)
                && inside.iter().all(|&j| self.accents_agree(plan, doc, j))
                && !outside_hit.is_empty();
            if !here {
                return Verdict::NotHere { referral: Some(r) };
            }
        }
        Verdict::Found
    }

    fn referral_for(&self, plan: &QueryPlan) -> Option<usize> {
        self.referral_match(plan).map(|(r, _, _)| r)
    }

    /// The referral whose phrase occurs in the query (the longest phrase wins), the query
    /// words of that phrase and those outside it.
    fn referral_match(&self, plan: &QueryPlan) -> Option<(usize, Vec<usize>, Vec<usize>)> {
        let words: Vec<&str> = plan.words.iter().map(|w| w.word.as_str()).collect();
        let mut best: Option<(usize, usize, usize)> = None; // (len, referral, at)
        for (r, (phrases, _)) in self.lexicon.referrals.iter().enumerate() {
            for p in phrases {
                if let Some(at) = find(&words, p) {
                    if best.is_none_or(|(len, _, _)| p.len() > len) {
                        best = Some((p.len(), r, at));
                    }
                }
            }
        }
        best.map(|(len, r, at)| {
            let (inside, outside) = (0..words.len()).partition(|&j| (at..at + len).contains(&j));
            (r, inside, outside)
        })
    }

    /// Referral `i` (an index from [`Verdict::NotHere`]).
    pub fn referral(&self, i: usize) -> Option<&Referral> {
        self.lexicon.referrals.get(i).map(|(_, r)| r)
    }
}
