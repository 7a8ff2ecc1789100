//! Typo tolerance: finds vocabulary terms within a small edit distance of a query word.
//!
//! Scheme: symmetric deletion (as in SymSpell). At build time every term is stored under the
//! hash of itself and of each string obtained by deleting one byte (and two bytes for terms
//! of 6+ bytes). At query time the same deletions of the query word are looked up; any two
//! strings within distance *d* share such a variant, so the lookups give every candidate
//! and few others. Candidates are then checked with a real (bounded) optimal-string-alignment
//! distance, which also removes hash collisions. A lookup costs a handful of binary searches
//! instead of a scan of the whole vocabulary. This file never ranks.

/// Query words shorter than this never match fuzzily (a 1–2 letter word is one edit away
/// from almost everything).
pub(crate) const MIN_FUZZY_LEN: usize = 3;
/// Longer words are only matched exactly or by prefix (bounds work on silly input).
pub(crate) const MAX_FUZZY_LEN: usize = 32;
/// Words of this length and longer tolerate two edits.
pub(crate) const TWO_EDITS_FROM: usize = 8;
/// Terms this long get two-deletion variants, so they can match 8+ byte words at distance 2.
const TWO_DELETES_FROM: usize = TWO_EDITS_FROM - 2;

/// Edits tolerated for a query word of `len` bytes.
pub(crate) fn max_edits(len: usize) -> u8 {
    match len {
        l if !(MIN_FUZZY_LEN..=MAX_FUZZY_LEN).contains(&l) => 0,
        l if l >= TWO_EDITS_FROM => 2,
        _ => 1,
    }
}

/// Deletion-variant table over a sorted vocabulary.
#[derive(Debug, Default)]
pub(crate) struct FuzzyIndex {
    /// (variant hash, term id), sorted.
    variants: Vec<(u64, u32)>,
}

impl FuzzyIndex {
    pub(crate) fn build(terms: &[Box<str>]) -> FuzzyIndex {
        let mut variants = Vec::new();
        for (id, term) in terms.iter().enumerate() {
            let b = term.as_bytes();
            if !(MIN_FUZZY_LEN..=MAX_FUZZY_LEN).contains(&b.len()) {
                continue;
            }
            let depth = if b.len() >= TWO_DELETES_FROM { 2 } else { 1 };
            for_each_variant(b, depth, |h| variants.push((h, id as u32)));
        }
        variants.sort_unstable();
        variants.dedup();
        FuzzyIndex { variants }
    }

    /// Term ids within `max_edits(word.len())` of `word`, excluding `word` itself, with their
    /// distance, appended to `out` (sorted by term id, deduplicated).
    pub(crate) fn candidates(&self, terms: &[Box<str>], word: &str, out: &mut Vec<(u32, u8)>) {
        let w = word.as_bytes();
        let k = max_edits(w.len());
        if k == 0 {
            return;
        }
        let mut ids = Vec::new();
        for_each_variant(w, k, |h| {
            let lo = self.variants.partition_point(|&(v, _)| v < h);
            ids.extend(
                self.variants[lo..]
                    .iter()
                    .take_while(|&&(v, _)| v == h)
                    .map(|&(_, id)| id),
            );
        });
        ids.sort_unstable();
        ids.dedup();
        for id in ids {
            let t = terms[id as usize].as_bytes();
            if t == w {
                continue;
            }
            if let Some(d) = bounded_osa(w, t, k) {
                out.push((id, d));
            }
        }
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        self.variants.capacity() * std::mem::size_of::<(u64, u32)>()
    }
}

/// Calls `f` with the hash of `b` and of every string made by deleting up to `depth` bytes.
fn for_each_variant(b: &[u8], depth: u8, mut f: impl FnMut(u64)) {
    f(hash_skipping(b, usize::MAX, usize::MAX));
    for i in 0..b.len() {
        f(hash_skipping(b, i, usize::MAX));
        if depth >= 2 {
            for j in i + 1..b.len() {
                f(hash_skipping(b, i, j));
            }
        }
    }
}

/// FNV-1a of `b` without the bytes at `skip1` and `skip2`.
fn hash_skipping(b: &[u8], skip1: usize, skip2: usize) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (i, &c) in b.iter().enumerate() {
        if i != skip1 && i != skip2 {
            h = (h ^ u64::from(c)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

/// Optimal string alignment distance (Levenshtein plus adjacent transposition) between `a`
/// and `b`, or `None` when it exceeds `k`. Inputs are at most [`MAX_FUZZY_LEN`] bytes.
pub(crate) fn bounded_osa(a: &[u8], b: &[u8], k: u8) -> Option<u8> {
    let k = usize::from(k);
    if a.len().abs_diff(b.len()) > k || a.len() > MAX_FUZZY_LEN || b.len() > MAX_FUZZY_LEN {
        return None;
    }
    const W: usize = MAX_FUZZY_LEN + 1;
    let mut prev2 = [0usize; W];
    let mut prev: [usize; W] = std::array::from_fn(|j| j);
    let mut cur = [0usize; W];
    for i in 1..=a.len() {
        cur[0] = i;
        let mut row_min = cur[0];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(prev2[j - 2] + 1);
            }
            cur[j] = v;
            row_min = row_min.min(v);
        }
        if row_min > k {
            return None;
        }
        prev2 = prev;
        prev = cur;
    }
    let d = prev[b.len()];
    (d <= k).then_some(d as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vocab(words: &[&str]) -> Vec<Box<str>> {
        let mut v: Vec<Box<str>> = words.iter().map(|w| Box::from(*w)).collect();
        v.sort();
        v
    }

    fn found(terms: &[Box<str>], word: &str) -> Vec<(String, u8)> {
        let mut out = Vec::new();
        FuzzyIndex::build(terms).candidates(terms, word, &mut out);
        out.into_iter()
            .map(|(id, d)| (terms[id as usize].to_string(), d))
            .collect()
    }

    #[test]
    fn distance_counts_edits_and_transpositions() {
        assert_eq!(bounded_osa(b"sinh", b"sjnh", 2), Some(1));
        assert_eq!(bounded_osa(b"sinh", b"sihn", 2), Some(1));
        assert_eq!(bounded_osa(b"sinh", b"sin", 2), Some(1));
        assert_eq!(bounded_osa(b"sinh", b"sinhh", 2), Some(1));
        assert_eq!(bounded_osa(b"sinh", b"xanh", 2), Some(2));
        assert_eq!(bounded_osa(b"sinh", b"xanh", 1), None);
        assert_eq!(bounded_osa(b"abc", b"abcdef", 2), None);
    }

    #[test]
    fn one_edit_for_short_words() {
        let t = vocab(&["sinh", "sanh", "xanh", "sinhs", "in", "sin"]);
        assert_eq!(
            found(&t, "sjnh"),
            [("sanh".to_string(), 1), ("sinh".to_string(), 1)]
        );
    }

    #[test]
    fn two_edits_only_for_long_words() {
        let t = vocab(&["registration", "registraton", "regstraton", "chung"]);
        assert_eq!(
            found(&t, "registrasion"),
            [
                ("registration".to_string(), 1),
                ("registraton".to_string(), 2)
            ]
        );
        assert_eq!(found(&t, "chxnx"), []);
    }

    #[test]
    fn short_words_never_fuzzy() {
        let t = vocab(&["ky", "kt", "ab", "kyy"]);
        assert_eq!(found(&t, "kx"), []);
        assert_eq!(max_edits(2), 0);
        assert_eq!(max_edits(3), 1);
        assert_eq!(max_edits(8), 2);
        assert_eq!(max_edits(33), 0);
    }
}
