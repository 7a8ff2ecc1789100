//! The search index: built once from the catalog's procedures, immutable afterwards.
//!
//! It owns the data layout: a sorted vocabulary of folded words (so a prefix is a contiguous
//! range of term ids), one posting list per term (which documents use it, and in which
//! fields), every procedure's name, English name and keywords as term ids in order with the
//! accents they were written with (for phrase and accent checks), each procedure's
//! popularity prior, the procedure codes without dots, the typo table and the compiled
//! lexicon. The lexicon is applied here: a procedure whose name contains an official phrase
//! gets the citizen phrasings for it as extra keywords. It never decides ranking
//! (`rank.rs`).

use std::collections::HashMap;

use super::fold::fold;
use super::fuzzy::FuzzyIndex;
use super::lexicon::{accented_words, phrase_words, Compiled};
use crate::catalog::lexicon::{self, Lexicon, Referral};
use crate::catalog::{CatalogBundle, Field, Procedure};

/// Where in a procedure a word occurs; a posting stores a bit set of these.
pub(crate) const IN_NAME: u32 = 1;
pub(crate) const IN_EN_NAME: u32 = 2;
/// Keywords of the catalog and phrasings from the lexicon.
pub(crate) const IN_KEYWORDS: u32 = 4;
pub(crate) const IN_FIELD: u32 = 8;
/// Bits of a posting that hold the field set; the document id is above them.
pub(crate) const FIELD_BITS: u32 = 4;

/// Segments of a document's text, see [`SearchIndex::text`].
pub(crate) const NAME: usize = 0;
pub(crate) const EN_NAME: usize = 1;
pub(crate) const KEYWORDS: usize = 2;
const SEGMENTS: usize = 3;
/// Separates keywords in the keyword segment, so a phrase never spans two keywords.
pub(crate) const BREAK: u32 = u32::MAX;

/// An immutable full-text index over procedures. Document ids are indexes into the slice
/// given to [`SearchIndex::build`].
pub struct SearchIndex {
    /// Distinct folded words, sorted bytewise.
    pub(crate) terms: Vec<Box<str>>,
    /// `postings[post_start[t]..post_start[t + 1]]` are the postings of term `t`.
    pub(crate) post_start: Vec<u32>,
    /// `doc << FIELD_BITS | fields`, sorted by document within a term.
    pub(crate) postings: Vec<u32>,
    /// Per document `d`, segment `s` is `text_terms[text_start[3d + s]..text_start[3d + s + 1]]`.
    pub(crate) text_start: Vec<u32>,
    pub(crate) text_terms: Vec<u32>,
    /// [`accent_signature`] of each word of `text_terms` as written (0: none).
    pub(crate) text_accents: Vec<u32>,
    /// Words of each boilerplate-free Vietnamese name.
    pub(crate) name_len: Vec<u8>,
    /// Popularity prior of each document, 0 to 1.
    pub(crate) prior: Vec<f32>,
    /// (code without dots and spaces, folded; document), sorted.
    pub(crate) codes: Vec<(Box<str>, u32)>,
    pub(crate) fuzzy: FuzzyIndex,
    pub(crate) lexicon: Compiled,
    docs: usize,
}

impl std::fmt::Debug for SearchIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchIndex")
            .field("docs", &self.docs)
            .field("terms", &self.terms.len())
            .finish_non_exhaustive()
    }
}

/// A code as compared: folded, without dots, spaces or dashes (`1.001193` = `1001193`).
pub(crate) fn code_key(code: &str) -> String {
    fold(code).chars().filter(|c| c.is_alphanumeric()).collect()
}

impl SearchIndex {
    /// Index `procedures` with the embedded default lexicon and referral table, without
    /// field names.
    pub fn build(procedures: &[Procedure]) -> SearchIndex {
        SearchIndex::build_with(
            procedures,
            &[],
            &lexicon::default_lexicon(),
            lexicon::default_referrals(),
        )
    }

    /// Index a bundle's procedures with its field names and the default lexicon and
    /// referrals extended by the bundle's own parts.
    pub fn for_bundle(bundle: &CatalogBundle) -> SearchIndex {
        let (lexicon, referrals) = lexicon::merged(bundle.lexicon.as_ref(), &bundle.referrals);
        SearchIndex::build_with(&bundle.procedures, &bundle.fields, &lexicon, referrals)
    }

    /// Index the names, keywords, field names and codes of `procedures`, applying `lexicon`.
    ///
    /// # Panics
    /// With more than 2^28 procedures (a catalog is a few thousand).
    pub fn build_with(
        procedures: &[Procedure],
        fields: &[Field],
        lexicon: &Lexicon,
        referrals: Vec<Referral>,
    ) -> SearchIndex {
        assert!(
            procedures.len() < 1 << (32 - FIELD_BITS),
            "too many procedures"
        );
        let compiled = Compiled::new(lexicon, referrals);
        let field_words: HashMap<&str, Vec<String>> = fields
            .iter()
            .map(|f| (f.code.as_str(), phrase_words(&f.name.vi)))
            .collect();
        let mut interner: HashMap<String, u32> = HashMap::new();
        let mut intern = |w: &str| -> u32 {
            if let Some(&id) = interner.get(w) {
                return id;
            }
            let id = interner.len() as u32;
            interner.insert(w.to_owned(), id);
            id
        };
        let mut occurrences: Vec<(u32, u32)> = Vec::new(); // (term, doc << FIELD_BITS | field)
        let mut text_start = Vec::with_capacity(procedures.len() * SEGMENTS + 1);
        let mut text_terms = Vec::new();
        let mut text_accents = Vec::new();
        text_start.push(0);
        let mut name_len = Vec::with_capacity(procedures.len());
        let mut prior = Vec::with_capacity(procedures.len());
        let mut aliases = Vec::new();
        let by_stats = !compiled.popularity.is_empty();
        let max_stat = compiled.popularity.values().copied().max().unwrap_or(0) as f32;

        for (doc, p) in procedures.iter().enumerate() {
            let doc = doc as u32;
            // Vietnamese name: (folded word, accent) without boilerplate.
            let typed = accented_words(&p.name.vi);
            let plain: Vec<String> = typed.iter().map(|(w, _)| w.clone()).collect();
            let kept = compiled.strip_boilerplate(plain.clone());
            // Keep accents aligned: walk `typed` and take the words `kept` has, in order.
            let mut k = 0;
            for (w, sig) in &typed {
                if k < kept.len() && *w == kept[k] {
                    let id = intern(w);
                    occurrences.push((id, doc << FIELD_BITS | IN_NAME));
                    text_terms.push(id);
                    text_accents.push(*sig);
                    k += 1;
                }
            }
            name_len.push(kept.len().min(255) as u8);
            text_start.push(text_terms.len() as u32);

            for w in phrase_words(p.name.en.as_deref().unwrap_or("")) {
                let id = intern(&w);
                occurrences.push((id, doc << FIELD_BITS | IN_EN_NAME));
                text_terms.push(id);
                text_accents.push(0);
            }
            text_start.push(text_terms.len() as u32);

            aliases.clear();
            compiled.aliases(&kept, &mut aliases);
            let mut first = true;
            let keywords = p.keywords.iter().map(|k| accented_words(k));
            for kw in keywords.chain(aliases.iter().cloned()) {
                if kw.is_empty() {
                    continue;
                }
                if !first {
                    text_terms.push(BREAK);
                    text_accents.push(0);
                }
                first = false;
                for (w, sig) in &kw {
                    let id = intern(w);
                    occurrences.push((id, doc << FIELD_BITS | IN_KEYWORDS));
                    text_terms.push(id);
                    text_accents.push(*sig);
                }
            }
            text_start.push(text_terms.len() as u32);

            let field = field_words.get(p.field.as_str());
            for w in field.into_iter().flatten() {
                occurrences.push((intern(w), doc << FIELD_BITS | IN_FIELD));
            }
            prior.push(if by_stats {
                let n = compiled.popularity.get(&p.code).copied().unwrap_or(0) as f32;
                (1.0 + n).ln() / (1.0 + max_stat).ln()
            } else {
                compiled.default_prior(&kept, field.map_or(&[][..], |f| f.as_slice()))
            });
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
        for &(term, p) in &occurrences {
            let doc = p >> FIELD_BITS;
            if last == Some((term, doc)) {
                *postings.last_mut().expect("pushed before") |= p;
            } else {
                postings.push(p);
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
            .map(|(doc, p)| (code_key(&p.code).into_boxed_str(), doc as u32))
            .collect();
        codes.sort_unstable();

        let fuzzy = FuzzyIndex::build(&terms);
        SearchIndex {
            terms,
            post_start,
            postings,
            text_start,
            text_terms,
            text_accents,
            name_len,
            prior,
            codes,
            fuzzy,
            lexicon: compiled,
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
                + self.text_terms.len()
                + self.text_accents.len()
                + self.prior.len())
            + self.name_len.len()
            + self.fuzzy.heap_bytes()
    }

    /// The popularity prior of a document (0 to 1).
    pub fn prior(&self, doc: usize) -> f32 {
        self.prior[doc]
    }

    /// The referrals this index knows (defaults plus the bundle's).
    pub fn referrals(&self) -> impl Iterator<Item = &Referral> {
        self.lexicon.referrals.iter().map(|(_, r)| r)
    }

    pub(crate) fn postings_of(&self, term: u32) -> &[u32] {
        let t = term as usize;
        &self.postings[self.post_start[t] as usize..self.post_start[t + 1] as usize]
    }

    /// Segment `segment` ([`NAME`], [`EN_NAME`], [`KEYWORDS`]) of `doc`: term ids and the
    /// accents they were written with.
    pub(crate) fn text(&self, doc: u32, segment: usize) -> (&[u32], &[u32]) {
        let i = doc as usize * SEGMENTS + segment;
        let r = self.text_start[i] as usize..self.text_start[i + 1] as usize;
        (&self.text_terms[r.clone()], &self.text_accents[r])
    }
}
