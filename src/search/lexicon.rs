//! The lexicon and referral table compiled for the index: every phrase folded into words
//! once, official phrases indexed by their first word so that applying the lexicon to a
//! catalog costs one hash look-up per word of each name. Owns phrase matching on folded
//! words; never scores.

use std::collections::HashMap;

use super::fold::{accent_signature, fold, is_word_char, norm_word, strip_markup, words};
use crate::catalog::lexicon::{Lexicon, Referral};

/// Folded, spelling-normalised words of `text`, each with the [`accent_signature`] it was
/// written with (0: none).
pub(crate) fn accented_words(text: &str) -> Vec<(String, u32)> {
    let mut out = Vec::new();
    for raw in strip_markup(text).split(|c: char| !is_word_char(c)) {
        if raw.is_empty() {
            continue;
        }
        let sig = accent_signature(raw).unwrap_or(0);
        let f = fold(raw);
        out.extend(words(&f).map(|w| (norm_word(w).into_owned(), sig)));
    }
    out
}

/// Folded, spelling-normalised words of `text`.
pub(crate) fn phrase_words(text: &str) -> Vec<String> {
    accented_words(text).into_iter().map(|(w, _)| w).collect()
}

/// Whether `needle` occurs in `hay` as consecutive words (first position).
pub(crate) fn find<S: AsRef<str>>(hay: &[S], needle: &[String]) -> Option<usize> {
    if needle.is_empty() || needle.len() > hay.len() {
        return None;
    }
    (0..=hay.len() - needle.len())
        .find(|&i| needle.iter().zip(&hay[i..]).all(|(n, h)| n == h.as_ref()))
}

struct Term {
    say: Vec<Vec<(String, u32)>>,
    not: Vec<Vec<String>>,
}

/// A compiled lexicon and referral table.
pub(crate) struct Compiled {
    terms: Vec<Term>,
    /// First word of an official phrase → (term, phrase words).
    means_by_first: HashMap<String, Vec<(u32, Vec<String>)>>,
    /// Filler word → (accent signature it is written with, 0: without accents; whether
    /// only that spelling is a filler).
    pub fillers: HashMap<String, Vec<(u32, bool)>>,
    /// Longest first.
    pub boilerplate: Vec<Vec<String>>,
    popular: Vec<(Vec<String>, f32, bool)>,
    field_priors: Vec<(Vec<String>, f32)>,
    pub popularity: std::collections::BTreeMap<String, u64>,
    pub referrals: Vec<(Vec<Vec<String>>, Referral)>,
}

/// Popularity of a procedure without statistics or lexicon match.
pub(crate) const DEFAULT_PRIOR: f32 = 0.2;

impl Compiled {
    pub fn new(lexicon: &Lexicon, referrals: Vec<Referral>) -> Compiled {
        let mut means_by_first: HashMap<String, Vec<(u32, Vec<String>)>> = HashMap::new();
        let mut terms = Vec::with_capacity(lexicon.terms.len());
        for (i, t) in lexicon.terms.iter().enumerate() {
            for m in &t.means {
                let w = phrase_words(m);
                if let Some(first) = w.first() {
                    means_by_first
                        .entry(first.clone())
                        .or_default()
                        .push((i as u32, w));
                }
            }
            terms.push(Term {
                say: t
                    .say
                    .iter()
                    .map(|s| accented_words(s))
                    .filter(|w| !w.is_empty())
                    .collect(),
                not: t
                    .not
                    .iter()
                    .map(|s| phrase_words(s))
                    .filter(|w| !w.is_empty())
                    .collect(),
            });
        }
        let mut fillers: HashMap<String, Vec<(u32, bool)>> = HashMap::new();
        for list in &lexicon.fillers {
            for (w, sig) in list.words.iter().flat_map(|w| accented_words(w)) {
                fillers.entry(w).or_default().push((sig, list.exact));
            }
        }
        let mut boilerplate: Vec<Vec<String>> = lexicon
            .boilerplate
            .iter()
            .flat_map(|l| l.words.iter())
            .map(|w| phrase_words(w))
            .filter(|w| !w.is_empty())
            .collect();
        boilerplate.sort_by_key(|b| std::cmp::Reverse(b.len()));
        Compiled {
            terms,
            means_by_first,
            fillers,
            boilerplate,
            popular: lexicon
                .popular
                .iter()
                .map(|p| (phrase_words(&p.name), p.weight, p.prefix))
                .collect(),
            field_priors: lexicon
                .field_priors
                .iter()
                .map(|p| (phrase_words(&p.field), p.weight))
                .collect(),
            popularity: lexicon.popularity.clone(),
            referrals: referrals
                .into_iter()
                .map(|r| (r.say.iter().map(|s| phrase_words(s)).collect(), r))
                .collect(),
        }
    }

    /// `name` without boilerplate phrases (unless nothing would be left).
    pub fn strip_boilerplate(&self, name: Vec<String>) -> Vec<String> {
        let mut out: Vec<String> = Vec::with_capacity(name.len());
        let mut i = 0;
        'outer: while i < name.len() {
            for b in &self.boilerplate {
                if name.len() - i >= b.len() && b.iter().zip(&name[i..]).all(|(x, y)| x == y) {
                    i += b.len();
                    continue 'outer;
                }
            }
            out.push(name[i].clone());
            i += 1;
        }
        if out.is_empty() {
            name
        } else {
            out
        }
    }

    /// The citizen phrasings the lexicon gives a procedure whose name has `words`.
    pub fn aliases(&self, words: &[String], out: &mut Vec<Vec<(String, u32)>>) {
        let mut hit: Vec<u32> = Vec::new();
        for (i, w) in words.iter().enumerate() {
            if let Some(list) = self.means_by_first.get(w) {
                for (t, phrase) in list {
                    if words.len() - i >= phrase.len()
                        && phrase.iter().zip(&words[i..]).all(|(a, b)| a == b)
                    {
                        hit.push(*t);
                    }
                }
            }
        }
        hit.sort_unstable();
        hit.dedup();
        for t in hit {
            let term = &self.terms[t as usize];
            if term.not.iter().any(|n| find(words, n).is_some()) {
                continue;
            }
            out.extend(term.say.iter().cloned());
        }
    }

    /// Default popularity (0–1) of a procedure from its boilerplate-free name and its
    /// field's name.
    pub fn default_prior(&self, name: &[String], field: &[String]) -> f32 {
        let mut p = self
            .field_priors
            .iter()
            .filter(|(f, _)| find(field, f).is_some())
            .map(|(_, w)| *w)
            .fold(None, |a: Option<f32>, w| Some(a.map_or(w, |a| a.max(w))))
            .unwrap_or(DEFAULT_PRIOR);
        for (phrase, w, prefix) in &self.popular {
            if name == phrase.as_slice() || (*prefix && name.starts_with(phrase)) {
                p = p.max(*w);
            } else if name.starts_with(phrase) {
                p = p.max(w * 0.6);
            }
        }
        p
    }

    /// Whether a query word is a filler. Typed with accents, they must be the filler's
    /// (`thẻ` is not `the`); typed without, the folded word decides unless the filler is
    /// `exact`.
    pub fn is_filler(&self, w: &str, accent: Option<u32>) -> bool {
        self.fillers.get(w).is_some_and(|sigs| {
            sigs.iter().any(|&(sig, exact)| match accent {
                Some(a) => a == sig,
                None => !exact,
            })
        })
    }
}
