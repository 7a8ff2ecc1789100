//! Cleaning of published text before it enters the store.
//!
//! Real catalog text carries stray HTML (`<p>`, `<br>`, `&nbsp;`), control characters, NFD
//! sequences and runs of blanks. This file turns such text into plain NFC text with single
//! spaces and at most one blank line between paragraphs. It never interprets markup: tags are
//! dropped (and the contents of `<script>`/`<style>` with them), entities decoded to text, so
//! nothing the server sends is ever rendered as markup by the kiosk or the review pages.

use unicode_normalization::UnicodeNormalization;

/// An ASCII identifier from a Vietnamese name: accents dropped, `đ` → `d`, lowercase, words
/// joined by `-`, cut at a word to at most `max` bytes ("Đăng ký, quản lý cư trú" →
/// `dang-ky-quan-ly-cu-tru`).
pub fn slug(name: &str, max: usize) -> String {
    let mut out = String::new();
    let mut pending_dash = false;
    for c in name.nfd() {
        let c = match c {
            'đ' | 'Đ' => 'd',
            c if unicode_normalization::char::is_combining_mark(c) => continue,
            c => c.to_ascii_lowercase(),
        };
        if c.is_ascii_alphanumeric() {
            if pending_dash && !out.is_empty() {
                out.push('-');
            }
            pending_dash = false;
            out.push(c);
        } else {
            pending_dash = true;
        }
    }
    if out.len() > max {
        let cut = out[..=max].rfind('-').unwrap_or(max);
        out.truncate(cut);
    }
    out
}

/// Plain, NFC, trimmed text. Block tags (`<br>`, `<p>`, `<li>`, `<div>`) become line breaks.
pub fn clean(input: &str) -> String {
    let without_tags = if input.contains('<') || input.contains('&') {
        strip_markup(input)
    } else {
        input.to_owned()
    };
    let mut out = String::with_capacity(without_tags.len());
    let mut pending_space = false;
    let mut pending_newlines = 0usize;
    for ch in without_tags.nfc() {
        match ch {
            '\n' => pending_newlines += 1,
            c if c.is_whitespace() => pending_space = true,
            c if c.is_control() => {}
            // Zero-width and BOM characters: invisible, and they break search.
            '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{FEFF}' => {}
            c => {
                if !out.is_empty() {
                    if pending_newlines > 0 {
                        out.push_str(if pending_newlines > 1 { "\n\n" } else { "\n" });
                    } else if pending_space {
                        out.push(' ');
                    }
                }
                pending_space = false;
                pending_newlines = 0;
                out.push(c);
            }
        }
    }
    out
}

fn strip_markup(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    let mut rest = input;
    while let Some(pos) = rest.find(['<', '&']) {
        out.push_str(&rest[..pos]);
        rest = &rest[pos..];
        if rest.starts_with('<') {
            match tag_at(rest) {
                Some((name, len)) => {
                    rest = &rest[len..];
                    let lower = name.to_ascii_lowercase();
                    if lower == "script" || lower == "style" {
                        // Drop everything up to the closing tag (or the end).
                        let close = format!("</{lower}");
                        let idx = find_ascii_ci(rest, &close).unwrap_or(rest.len());
                        rest = &rest[idx..];
                        if let Some(end) = rest.find('>') {
                            rest = &rest[end + 1..];
                        }
                    } else if matches!(
                        lower.trim_start_matches('/'),
                        "br" | "p" | "div" | "li" | "tr" | "h1" | "h2" | "h3" | "ul" | "ol"
                    ) {
                        out.push('\n');
                    }
                }
                None => {
                    out.push('<');
                    rest = &rest[1..];
                }
            }
        } else {
            match entity_at(rest) {
                Some((ch, len)) => {
                    out.push(ch);
                    rest = &rest[len..];
                }
                None => {
                    out.push('&');
                    rest = &rest[1..];
                }
            }
        }
    }
    out.push_str(rest);
    out
}

/// A tag at the start of `s`: its name (with a leading `/` for closing tags) and byte length.
fn tag_at(s: &str) -> Option<(&str, usize)> {
    let bytes = s.as_bytes();
    let mut i = 1;
    if bytes.get(i) == Some(&b'/') {
        i += 1;
    }
    if bytes.get(1) == Some(&b'!') {
        // Comment or doctype.
        let end = if s.starts_with("<!--") {
            s.find("-->").map(|e| e + 3)
        } else {
            s.find('>').map(|e| e + 1)
        };
        return Some(("!", end.unwrap_or(s.len())));
    }
    let name_start = i;
    while i < bytes.len() && bytes[i].is_ascii_alphanumeric() {
        i += 1;
    }
    if i == name_start {
        return None; // "a < b" is text, not a tag
    }
    let name = &s[1..i];
    let end = s[i..].find('>').map(|e| i + e + 1).unwrap_or(s.len());
    Some((name, end))
}

fn entity_at(s: &str) -> Option<(char, usize)> {
    let end = s[..s.len().min(12)].find(';')?;
    let body = &s[1..end];
    let ch = match body {
        "nbsp" => ' ',
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" | "#39" => '\'',
        _ if body.starts_with("#x") || body.starts_with("#X") => {
            char::from_u32(u32::from_str_radix(&body[2..], 16).ok()?)?
        }
        _ if body.starts_with('#') => char::from_u32(body[1..].parse().ok()?)?,
        _ => return None,
    };
    Some((ch, end + 1))
}

fn find_ascii_ci(haystack: &str, needle: &str) -> Option<usize> {
    let h = haystack.as_bytes();
    let n = needle.as_bytes();
    (0..=h.len().checked_sub(n.len())?).find(|&i| h[i..i + n.len()].eq_ignore_ascii_case(n))
}

#[cfg(test)]
mod tests {
    use super::{clean, slug};

    #[test]
    fn slugs_are_ascii_words_cut_at_a_word() {
        assert_eq!(
            slug("Đăng ký, quản lý cư trú", 40),
            "dang-ky-quan-ly-cu-tru"
        );
        assert_eq!(slug("Hộ tịch", 40), "ho-tich");
        assert_eq!(
            slug(
                "Thành lập và hoạt động của tổ hợp tác, hợp tác xã, liên hiệp hợp tác xã",
                40
            ),
            "thanh-lap-va-hoat-dong-cua-to-hop-tac"
        );
    }

    #[test]
    fn strips_tags_and_decodes_entities() {
        assert_eq!(
            clean("<b>Đăng ký</b>&nbsp;khai&nbsp;&nbsp;sinh"),
            "Đăng ký khai sinh"
        );
        assert_eq!(clean("Phí &amp; lệ phí"), "Phí & lệ phí");
        assert_eq!(clean("a &lt;b&gt; c"), "a <b> c");
    }

    #[test]
    fn drops_script_contents() {
        assert_eq!(
            clean("Tờ khai<script>alert('x')</script> mẫu"),
            "Tờ khai mẫu"
        );
        assert_eq!(clean("x<SCRIPT src=a>evil()</ScRiPt>y"), "xy");
    }

    #[test]
    fn block_tags_become_lines() {
        assert_eq!(
            clean("Bước 1<br/>Bước 2<p>Bước 3</p>"),
            "Bước 1\nBước 2\nBước 3"
        );
    }

    #[test]
    fn nfd_becomes_nfc_and_blanks_fold() {
        let nfd = "Chu\u{031B}\u{0301}ng thu\u{031B}\u{0323}c  \t bản sao";
        assert_eq!(clean(nfd), "Chứng thực bản sao");
        assert_eq!(clean("  a\u{0000}b\u{200B}c  "), "abc");
    }

    #[test]
    fn lone_angle_and_ampersand_stay_text() {
        assert_eq!(clean("1 < 2 & 3 > 2"), "1 < 2 & 3 > 2");
        assert_eq!(clean("AT&T;"), "AT&T;");
    }
}
