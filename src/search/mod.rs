//! Procedure search for the kiosk: the citizen types, the right procedure comes first.
//!
//! Owns folding (`fold.rs`), the immutable index (`index.rs`), typo lookup (`fuzzy.rs`),
//! query planning (`query.rs`) and ranking (`rank.rs`). It never reads storage or the
//! network: callers build a [`SearchIndex`] from the catalog's procedures and keep it.
//! `docs/search.md` explains folding and ranking.

mod fold;
mod fuzzy;
mod index;
mod query;
mod rank;
#[cfg(test)]
mod tests;

pub use fold::fold;
pub use index::SearchIndex;
pub use query::MAX_QUERY_WORDS;

/// One search result.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SearchHit {
    /// Index of the procedure in the slice given to [`SearchIndex::build`].
    pub doc: usize,
    /// Secondary score within the tier; higher is better. Only comparable within one query.
    pub score: u32,
    pub tier: MatchTier,
}

/// How a procedure matched. The order is the ranking priority (`Code` best).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub enum MatchTier {
    /// Some word only matched with a typo, or (when no procedure matches every word) not
    /// every word matched.
    Fuzzy,
    /// Every word matched a word of the name, English name or keywords, exactly or as a
    /// prefix.
    Prefix,
    /// The query words appear contiguously and in order in the Vietnamese name, the English
    /// name or one keyword; the last one may be a prefix of a word there.
    Phrase,
    /// The query is the procedure's code or a prefix of it.
    Code,
}
