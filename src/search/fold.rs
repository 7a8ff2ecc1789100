//! Text folding and tokenising: the one normalisation every part of search agrees on.
//!
//! `fold` turns any Vietnamese (or English) text into lowercase letters without diacritics,
//! so that what a citizen types on a keyboard without Telex/VNI compares equal to the
//! catalog: NFC and NFD input fold the same, old and new tone placement (`hoà`/`hòa`) fold
//! the same, and `đ`/`Đ` (which NFD does *not* decompose) become `d`. Punctuation is kept by
//! `fold` (so callers such as highlighting can map folded text back to the original) and is
//! dropped by [`words`]. This file never looks at the index.

use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

/// Fold `text` for matching: canonical decomposition, combining marks removed, `đ` → `d`,
/// lowercase. Non-letter characters are kept as they are.
///
/// ```
/// use motcua::search::fold;
/// assert_eq!(fold("Đăng ký Khai sinh"), "dang ky khai sinh");
/// assert_eq!(fold("Hoà"), fold("Hòa"));
/// ```
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    fold_into(text, &mut out);
    out
}

/// [`fold`] appending to `out`, to reuse a buffer.
pub(crate) fn fold_into(text: &str, out: &mut String) {
    if text.is_ascii() {
        out.extend(text.chars().map(|c| c.to_ascii_lowercase()));
        return;
    }
    for c in text.nfd() {
        match c {
            c if c.is_ascii() => out.push(c.to_ascii_lowercase()),
            // U+0110/U+0111 are not decomposed by NFD; U+00D0/U+00F0 (Icelandic eth) are a
            // frequent look-alike substitute for Đ in legacy documents.
            'đ' | 'Đ' | 'ð' | 'Ð' => out.push('d'),
            c if is_combining_mark(c) => {}
            c => out.extend(c.to_lowercase().filter(|l| !is_combining_mark(*l))),
        }
    }
}

/// Whether `c` belongs to a word of unfolded text (letters, digits and the combining marks
/// of NFD text).
pub(crate) fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || is_combining_mark(c)
}

/// The words of already-folded text: maximal runs of alphanumeric characters.
pub(crate) fn words(folded: &str) -> impl Iterator<Item = &str> {
    folded
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
}

/// Spelling folds applied to every folded word, in the index and in queries: `y` ending an
/// open syllable after a plain consonant is written `i` (`ký`/`kí`, `lý`/`lí`, `quy`/`qui`,
/// `mỹ`/`mĩ` are the same word spelled two ways by different generations).
///
/// Numbers lose their leading zeros (`09` = `9`).
pub(crate) fn norm_word(word: &str) -> std::borrow::Cow<'_, str> {
    if word.len() > 1 && word.starts_with('0') && word.bytes().all(|b| b.is_ascii_digit()) {
        let t = word.trim_start_matches('0');
        return std::borrow::Cow::Borrowed(if t.is_empty() { "0" } else { t });
    }
    const ONSETS: [&str; 14] = [
        "k", "l", "m", "s", "t", "qu", "h", "n", "v", "d", "b", "ph", "th", "x",
    ];
    if let Some(onset) = word.strip_suffix('y') {
        if ONSETS.contains(&onset) {
            let mut w = String::with_capacity(word.len());
            w.push_str(onset);
            w.push('i');
            return std::borrow::Cow::Owned(w);
        }
    }
    std::borrow::Cow::Borrowed(word)
}

/// Vietnamese tone marks (grave, acute, tilde, hook, dot below). The other combining marks
/// (circumflex, breve, horn) change the vowel itself.
fn is_tone(c: char) -> bool {
    matches!(c, '\u{300}' | '\u{301}' | '\u{303}' | '\u{309}' | '\u{323}')
}

/// What folding threw away from one word, as a number: its vowel marks (by position) and its
/// tone (wherever it was placed). Two spellings of the same folded word have the same
/// signature when they carry the same marks (`hoà`/`hòa`, NFC/NFD, `ký`/`kí` alike); `bán`
/// and `bản` differ. Left out on purpose, because citizens get them wrong far more often
/// than they mean a different word: `đ` (many keyboards cannot type it: `dất` = `đất`) and
/// the hỏi/ngã distinction (merged in Southern speech: `sổ đõ` = `sổ đỏ`). `None` for a word
/// typed without any mark.
pub(crate) fn accent_signature(word: &str) -> Option<u32> {
    if word.is_ascii() {
        return None;
    }
    let mut h: u32 = 0x811c_9dc5;
    let mut mix = |v: u32| h = (h ^ v).wrapping_mul(0x0100_0193);
    let mut tone = 0u32;
    let mut pos = 0u32;
    for c in word.nfd() {
        match c {
            // Ngã (U+0303) counts as hỏi (U+0309).
            '\u{303}' => tone = 0x309,
            c if is_tone(c) => tone = c as u32,
            c if is_combining_mark(c) => mix(pos << 16 | c as u32),
            _ => pos += 1,
        }
    }
    mix(tone | 1 << 31);
    Some(h)
}

/// Catalog text as published can carry stray HTML (`<br>`, `&nbsp;`). Replace tags and
/// character entities with a space so they never become searchable words.
pub(crate) fn strip_markup(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains(['<', '&']) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(['<', '&']) {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        let close = if tail.starts_with('<') { '>' } else { ';' };
        // An entity is short and has no spaces; a tag ends at the next '>'.
        let end = tail[1..].find(close).map(|e| e + 1).filter(|&e| {
            let inner = &tail[1..e];
            close == '>'
                || (e <= 10 && inner.chars().all(|c| c.is_ascii_alphanumeric() || c == '#'))
        });
        match end {
            Some(e) => {
                out.push(' ');
                rest = &tail[e + 1..];
            }
            None => {
                out.push_str(&tail[..1]);
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removes_tones_and_vowel_marks() {
        assert_eq!(fold("Đăng ký khai sinh"), "dang ky khai sinh");
        assert_eq!(fold("Chứng thực bản sao"), "chung thuc ban sao");
        assert_eq!(fold("ƯỚC NGUYỆN ơn"), "uoc nguyen on");
    }

    #[test]
    fn d_with_stroke_and_lookalike_eth_become_d() {
        assert_eq!(fold("đất đai ĐẤT ĐAI"), "dat dai dat dai");
        assert_eq!(fold("Ðăng"), "dang");
    }

    #[test]
    fn old_and_new_tone_placement_fold_equal() {
        assert_eq!(fold("hoà"), fold("hòa"));
        assert_eq!(fold("thuỷ"), fold("thủy"));
        assert_eq!(fold("khoẻ"), "khoe");
    }

    #[test]
    fn nfc_and_nfd_fold_equal() {
        let nfc: String = "Hộ tịch Đăng ký".nfc().collect();
        let nfd: String = "Hộ tịch Đăng ký".nfd().collect();
        assert_ne!(nfc, nfd);
        assert_eq!(fold(&nfc), "ho tich dang ky");
        assert_eq!(fold(&nfd), "ho tich dang ky");
    }

    #[test]
    fn words_drop_punctuation() {
        let f = fold("Chứng thực (bản sao), giấy-tờ; 1.001193!");
        assert_eq!(
            words(&f).collect::<Vec<_>>(),
            ["chung", "thuc", "ban", "sao", "giay", "to", "1", "001193"]
        );
        assert_eq!(words("  \u{a0} ,.; ").count(), 0);
    }

    #[test]
    fn i_and_y_fold_in_open_syllables_only() {
        for (a, b) in [
            ("ky", "ki"),
            ("ly", "li"),
            ("quy", "qui"),
            ("my", "mi"),
            ("ty", "ti"),
        ] {
            assert_eq!(norm_word(a), b);
            assert_eq!(norm_word(b), b);
        }
        for w in ["thuy", "tuy", "y", "khuyen", "yeu", "quyet", "hay"] {
            assert_eq!(norm_word(w), w);
        }
        assert_eq!(norm_word("09"), "9");
        assert_eq!(norm_word("00"), "0");
        assert_eq!(norm_word("90"), "90");
    }

    #[test]
    fn accent_signature_keeps_what_folding_drops() {
        assert_eq!(accent_signature("ban"), None);
        assert_ne!(accent_signature("bán"), accent_signature("bản"));
        assert_eq!(accent_signature("đất"), accent_signature("dất"));
        assert_eq!(accent_signature("đỏ"), accent_signature("đõ"));
        assert_ne!(accent_signature("đỏ"), accent_signature("đó"));
        assert_ne!(accent_signature("cơ"), accent_signature("cô"));
        assert_eq!(accent_signature("hoà"), accent_signature("hòa"));
        let nfd: String = "Tiếng".nfd().collect();
        assert_eq!(accent_signature(&nfd), accent_signature("Tiếng"));
        assert_eq!(accent_signature("ĐẤT"), accent_signature("đất"));
    }

    #[test]
    fn markup_is_stripped() {
        assert_eq!(
            strip_markup("Đăng&nbsp;ký<br/>khai sinh"),
            "Đăng ký khai sinh"
        );
        assert_eq!(strip_markup("A & B <c"), "A & B <c");
        assert_eq!(strip_markup("plain"), "plain");
    }
}
