//! Second reading of a word typed with the Telex or VNI conventions but no input method:
//! `chuwngs` is *chứng*, `d9a8ng` is *đăng*. The result is folded (marks dropped), like
//! every other word the search compares; the query keeps the word as typed as its first
//! reading. This file knows nothing of the index.

/// Vietnamese syllables never end in these; in Telex they put a tone on the syllable.
const TELEX_TONES: &[u8] = b"sfrxj";

fn is_vowel(c: u8) -> bool {
    matches!(c, b'a' | b'e' | b'i' | b'o' | b'u' | b'y')
}

/// The folded word a Telex or VNI keystroke sequence stands for, when `word` (folded,
/// lowercase) has such marks and decoding changes it. `None` otherwise.
pub(crate) fn decode(word: &str) -> Option<String> {
    let b = word.as_bytes();
    if b.len() < 2 || b.len() > 32 || !b.iter().all(u8::is_ascii_alphanumeric) {
        return None;
    }
    let has_letter = b.iter().any(u8::is_ascii_alphabetic);
    let has_digit = b.iter().any(u8::is_ascii_digit);
    let out = if has_letter && has_digit {
        vni(b)?
    } else if has_letter {
        telex(b)?
    } else {
        return None;
    };
    (out != word && !out.is_empty()).then_some(out)
}

/// VNI: digits 1–9 after a letter are marks (1–5 tones, 6 circumflex, 7 horn, 8 breve,
/// 9 đ). A digit first, or two digits in a row, is not VNI.
fn vni(b: &[u8]) -> Option<String> {
    if b[0].is_ascii_digit() {
        return None;
    }
    let mut out = String::with_capacity(b.len());
    let mut prev_digit = false;
    for &c in b {
        if c.is_ascii_digit() {
            if prev_digit || c == b'0' {
                return None;
            }
            prev_digit = true;
        } else {
            prev_digit = false;
            out.push(c as char);
        }
    }
    Some(out)
}

/// Telex: `dd` = đ, `aa`/`ee`/`oo` = â/ê/ô, `aw`/`ow`/`uw` (and a lone `w`) = ă/ơ/ư, and
/// `s f r x j` after the first vowel are tones.
fn telex(b: &[u8]) -> Option<String> {
    let mut out: Vec<u8> = Vec::with_capacity(b.len());
    let mut seen_vowel = false;
    let mut changed = false;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let next = b.get(i + 1).copied();
        match c {
            b'd' if next == Some(b'd') && out.is_empty() => {
                out.push(b'd');
                i += 2;
                changed = true;
                continue;
            }
            b'w' => {
                // ư on its own, or the mark on the vowel before it.
                if !out.last().is_some_and(|&p| is_vowel(p)) {
                    out.push(b'u');
                    seen_vowel = true;
                }
                changed = true;
            }
            c if TELEX_TONES.contains(&c) && seen_vowel => changed = true,
            c if matches!(c, b'a' | b'e' | b'o') && out.last() == Some(&c) => changed = true,
            c => {
                seen_vowel |= is_vowel(c);
                out.push(c);
            }
        }
        i += 1;
    }
    if !changed {
        return None;
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn telex_words_decode_to_their_folded_form() {
        for (typed, folded) in [
            ("chuwngs", "chung"),
            ("thuwcj", "thuc"),
            ("chuwx", "chu"),
            ("kys", "ky"),
            ("ddawng", "dang"),
            ("ddaats", "dat"),
            ("keets", "ket"),
            ("hoon", "hon"),
            ("nhaanj", "nhan"),
            ("tinhf", "tinh"),
            ("giair", "giai"),
            ("cuwowcs", "cuoc"),
            ("theer", "the"),
            ("cawn", "can"),
            ("truws", "tru"),
            ("w", "u"),
        ] {
            if typed.len() >= 2 {
                assert_eq!(decode(typed).as_deref(), Some(folded), "{typed}");
            }
        }
    }

    #[test]
    fn vni_words_decode() {
        assert_eq!(decode("d9a8ng").as_deref(), Some("dang"));
        assert_eq!(decode("ky1").as_deref(), Some("ky"));
        assert_eq!(decode("thu7o7ng2").as_deref(), Some("thuong"));
    }

    #[test]
    fn plain_words_and_codes_have_no_second_reading() {
        for w in ["sinh", "khai", "tru", "xa", "1001193", "1", "ct07"] {
            assert_eq!(decode(w), None, "{w}");
        }
        // Initial s, x, r are consonants, not tones.
        assert_eq!(decode("xac"), None);
        assert_eq!(decode("re"), None);
    }
}
