//! Procedure search for the kiosk: the citizen types, the right procedure comes first, and
//! when the center does not handle it the kiosk says so and where to go.
//!
//! Owns folding (`fold.rs`), Telex/VNI second readings (`telex.rs`), the compiled lexicon
//! (`lexicon.rs`), the immutable index (`index.rs`), typo lookup (`fuzzy.rs`), query
//! planning (`query.rs`), ranking (`rank.rs`) and the verdict (`verdict.rs`). It never reads
//! storage or the network: callers build a [`SearchIndex`] from the catalog and keep it.
//! `docs/search.md` explains it all.

mod fold;
mod fuzzy;
mod index;
mod lexicon;
mod query;
mod rank;
mod telex;
#[cfg(test)]
mod tests;
mod verdict;

pub use fold::fold;
pub use index::SearchIndex;
pub use query::MAX_QUERY_WORDS;
pub use verdict::{SearchOutcome, Verdict, MIN_CONFIDENCE};

/// One search result.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SearchHit {
    /// Index of the procedure in the slice given to [`SearchIndex::build`].
    pub doc: usize,
    /// Ranking score; higher is better. Only comparable within one query.
    pub score: f32,
    pub tier: MatchTier,
    /// Share of the query's meaning this procedure matched, 0 to 1 (1 for a code).
    pub confidence: f32,
}

/// How a procedure matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub enum MatchTier {
    /// Some word only matched with a typo, or not every word matched.
    Fuzzy,
    /// Every word that is not a filler matched, exactly, as a prefix or through the lexicon.
    Words,
    /// The query is the procedure's code or a prefix of it (with or without dots).
    Code,
}
