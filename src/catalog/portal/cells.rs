//! Splitting the portal's concatenated table cells back into rows.
//!
//! The portal's records carry each table as its cells' text run together with no separator:
//! "Hình thức nộpThời gianPhí, lệ phíMô tảTrực tiếp5 Ngày làm việcMiễn phí…". This file finds
//! the rows again from what starts and ends them (a channel name followed by a time; a
//! quantity "1 bản chính"; a document code "85/2019/TT-BTC"). It never drops text: whatever
//! does not fit a row is kept as text of its neighbour. Interpreting a cell (is "5" a number
//! of days?) is `amounts.rs`'s job.

use regex::Regex;
use std::sync::LazyLock;

use crate::catalog::model::Channel;
use crate::catalog::text::clean;

/// Texts the portal puts where it has nothing to say.
pub fn is_placeholder(s: &str) -> bool {
    let t = s.trim().trim_end_matches('.').trim();
    t.is_empty()
        || t.chars().all(|c| matches!(c, '-' | '*' | '.' | ' '))
        || t.eq_ignore_ascii_case("không có thông tin")
        || t == "Không có thông tin"
}

/// Cleaned text, or None for a placeholder.
pub fn text_or_none(s: &str) -> Option<String> {
    let t = clean(s);
    (!is_placeholder(&t)).then_some(t)
}

/// One row of the "how to file" table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelRow {
    pub channel: Channel,
    /// The time cell as published ("5 Ngày làm việc", "1", "Không quy định").
    pub time: String,
    /// Fee cells: the amount ("Miễn phí", "2,000 Việt Nam Đồng") and its bracketed note.
    pub fees: Vec<(String, String)>,
    pub description: String,
    /// The time and fee cells ran together so that they have two readings ("120 VNĐ": 1 day
    /// and 20 đồng, or 12 days and 0 đồng); `time` then holds both cells' text.
    pub ambiguous: bool,
}

const CHANNEL_HEADER: &str = "Hình thức nộpThời gianPhí, lệ phíMô tả";

static ROW_START: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(Trực tiếp|Trực tuyến|Dịch vụ bưu chính)(\d+(?:\s*(?:Ngày làm việc|Ngày|Giờ|Tháng|Năm))?|Không có thông tin|Không quy định)",
    )
    .unwrap()
});

static FEE_AMOUNT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:Miễn phí|Không có thông tin|(?:\d{1,3}(?:[.,]\d{3})+|\d+)\s*(?:Việt Nam Đồng|VNĐ|VND|USD|Đồng|đồng))")
        .unwrap()
});

/// The rows of the channel table, in published order.
pub fn channel_rows(text: &str) -> Vec<ChannelRow> {
    let body = text.trim();
    let body = body.strip_prefix(CHANNEL_HEADER).unwrap_or(body);
    let starts: Vec<_> = ROW_START.captures_iter(body).collect();
    let mut rows = Vec::new();
    for (i, c) in starts.iter().enumerate() {
        let whole = c.get(0).unwrap();
        let end = starts
            .get(i + 1)
            .map(|n| n.get(0).unwrap().start())
            .unwrap_or(body.len());
        let channel = match &c[1] {
            "Trực tiếp" => Channel::Direct,
            "Trực tuyến" => Channel::Online,
            _ => Channel::Postal,
        };
        let time = c[2].trim().to_owned();
        let mut rest = &body[whole.end()..end];
        let bare = time.chars().all(|ch| ch.is_ascii_digit());
        // A bare number running into an amount: the split between them is a guess.
        if bare
            && (rest.starts_with(|ch: char| ch.is_ascii_digit() || ch == ',' || ch == '.')
                || rest.trim_start().starts_with("VNĐ")
                || rest.trim_start().starts_with("Việt Nam Đồng")
                || rest.trim_start().starts_with("USD"))
        {
            rows.push(ChannelRow {
                channel,
                time: clean(&format!("{time}{rest}")),
                fees: Vec::new(),
                description: String::new(),
                ambiguous: true,
            });
            continue;
        }
        let mut fees = Vec::new();
        while let Some(m) = FEE_AMOUNT.find(rest) {
            let amount = m.as_str().to_owned();
            rest = &rest[m.end()..];
            let (note, after) = bracketed(rest);
            fees.push((amount, clean(note)));
            rest = after;
        }
        rows.push(ChannelRow {
            channel,
            time: clean(&time),
            fees,
            description: clean(rest),
            ambiguous: false,
        });
    }
    rows
}

/// A leading "( … )" (balanced, possibly doubled) and what follows it.
fn bracketed(s: &str) -> (&str, &str) {
    if !s.starts_with('(') {
        return ("", s);
    }
    let mut depth = 0i32;
    for (i, ch) in s.char_indices() {
        match ch {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return (&s[..=i], &s[i + 1..]);
                }
            }
            _ => {}
        }
    }
    (s, "")
}

/// One row of the documents table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentRow {
    pub group: Option<String>,
    pub name: String,
    pub template: Option<String>,
    pub originals: u32,
    pub copies: u32,
}

const DOCUMENT_HEADER: &str = "Tên giấy tờMẫu đơn, tờ khaiSố lượng";

/// "1 bản chính" or "1 bản chính,1 bản sao", where it ends a row: at the end, or before
/// something that starts one (not a blank and a lowercase word continuing a sentence).
static QUANTITY: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(\d) bản chính(?:,\s*(\d{1,2}) bản sao)?").unwrap());

static TEMPLATE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)\S[^\n]*?\.(?:docx?|pdf|xlsx?|rar|zip|odt)$").unwrap());

/// The rows of the documents table, each with the heading it is listed under.
pub fn document_rows(text: &str) -> Vec<DocumentRow> {
    let chunks: Vec<&str> = text.split(DOCUMENT_HEADER).collect();
    let mut rows = Vec::new();
    if chunks.len() == 1 {
        // No table: the whole text is one document description.
        if let Some(t) = text_or_none(text) {
            rows.push(DocumentRow {
                group: None,
                name: t,
                template: None,
                originals: 0,
                copies: 0,
            });
        }
        return rows;
    }
    let mut group = heading(chunks[0]);
    for (i, chunk) in chunks.iter().enumerate().skip(1) {
        let last = i == chunks.len() - 1;
        let mut start = 0;
        for c in QUANTITY.captures_iter(chunk) {
            let m = c.get(0).unwrap();
            if m.start() < start || !ends_row(&chunk[m.end()..]) {
                continue;
            }
            let (name, template) = split_template(&chunk[start..m.start()]);
            if let Some(name) = text_or_none(unbullet(name)) {
                rows.push(DocumentRow {
                    group: group.clone(),
                    name,
                    template,
                    originals: c[1].parse().unwrap_or(0),
                    copies: c.get(2).map_or(0, |n| n.as_str().parse().unwrap_or(0)),
                });
            }
            start = m.end();
        }
        let tail = &chunk[start..];
        if last {
            if let Some(name) = text_or_none(unbullet(tail)) {
                rows.push(DocumentRow {
                    group: group.clone(),
                    name,
                    template: None,
                    originals: 0,
                    copies: 0,
                });
            }
        } else {
            group = heading(tail);
        }
    }
    rows
}

/// "- Giấy chứng sinh" → "Giấy chứng sinh": the list is drawn with its own bullets.
fn unbullet(s: &str) -> &str {
    s.trim_start()
        .trim_start_matches(['-', '+', '*', '•', '–'])
        .trim_start()
}

fn ends_row(after: &str) -> bool {
    match after.chars().next() {
        None => true,
        Some(c) => !(c.is_whitespace() || c.is_lowercase() || c == ',' || c == ';'),
    }
}

/// "* Giấy tờ phải nộp:" → "Giấy tờ phải nộp"; "--" → None.
fn heading(s: &str) -> Option<String> {
    let t = clean(s);
    let t = t
        .trim_matches(|c: char| matches!(c, '*' | '-' | ':' | ' ' | '–'))
        .to_owned();
    (!is_placeholder(&t)).then_some(t)
}

/// A row's text before its quantity: the name, and the form's file name if one ends it
/// ("… mẫu số 01/TAINMẫu số 01 TAIN.docx"). The file name starts at the last capitalised
/// word glued to the text before it.
fn split_template(s: &str) -> (&str, Option<String>) {
    let s = s.trim_end();
    // A form's file name is short: look only at the row's last 160 bytes.
    let mut from = s.len().saturating_sub(160);
    while !s.is_char_boundary(from) {
        from += 1;
    }
    let Some(m) = TEMPLATE.find(&s[from..]) else {
        return (s, None);
    };
    let m_start = from + m.start();
    let region = &s[m_start..];
    let mut cut = None;
    let chars: Vec<(usize, char)> = region.char_indices().collect();
    for w in 1..chars.len().saturating_sub(1) {
        let (i, c) = chars[w];
        let prev = chars[w - 1].1;
        let next = chars[w + 1].1;
        if c.is_uppercase() && !prev.is_whitespace() && next.is_lowercase() {
            cut = Some(m_start + i);
        }
    }
    let at = match cut {
        Some(at) => at,
        // No glued capital: the file name is the last run without blanks.
        None => s.rfind(char::is_whitespace).map_or(0, |i| i + 1),
    };
    let name = &s[..at];
    if name.trim().is_empty() {
        return (s, None);
    }
    (name, Some(clean(&s[at..])))
}

/// How the name of a legal document starts.
const DOCUMENT_KINDS: [&str; 12] = [
    "Nghị định",
    "Nghị quyết",
    "Thông tư",
    "Luật",
    "Quyết định",
    "Pháp lệnh",
    "Văn bản",
    "Chỉ thị",
    "Bộ luật",
    "Hiến pháp",
    "Công văn",
    "Quy định",
];

static DOCUMENT_CODE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\d{1,3}/\d{4}/[A-ZĐ0-9]+(?:-[A-ZĐ0-9]+)*").unwrap());

/// The legal basis table: "name (code)" per document. Where the cells cannot be told apart
/// the text is kept as it is, in order.
pub fn legal_basis(text: &str) -> Vec<String> {
    let body = text.trim();
    let body = body
        .strip_prefix("Tên văn bản pháp lýMã văn bản")
        .unwrap_or(body);
    let mut out: Vec<String> = Vec::new();
    let mut start = 0;
    for m in DOCUMENT_CODE.find_iter(body) {
        // "năm 201601/2016/QH14": a code glued to a number cannot be told apart; leave it in
        // the text.
        if m.start() < start || body[..m.start()].ends_with(|c: char| c.is_ascii_digit()) {
            continue;
        }
        let mut end = m.end();
        // "85/2019/TT-BTCNghị định": the capital glued on belongs to the next name, when
        // that name starts with a kind of document.
        if m.as_str().ends_with(|c: char| c.is_uppercase()) {
            let last = body[..end].chars().next_back().unwrap();
            if DOCUMENT_KINDS
                .iter()
                .any(|k| body[end - last.len_utf8()..].starts_with(k))
            {
                end -= last.len_utf8();
            }
        }
        let after = &body[end..];
        let terminates = after
            .chars()
            .next()
            .is_none_or(|c| !(c.is_whitespace() || ",;:.)]".contains(c)));
        if !terminates {
            continue;
        }
        let name = clean(&body[start..m.start()]);
        let code = &body[m.start()..end];
        let entry = if name.is_empty() || name.ends_with(code) {
            if name.is_empty() {
                code.to_owned()
            } else {
                name
            }
        } else {
            format!("{name} ({code})")
        };
        out.push(entry);
        start = end;
    }
    if let Some(t) = text_or_none(&body[start..]) {
        out.push(t);
    }
    out
}

/// The results: their names, without the portal's result codes and page furniture.
pub fn result(text: &str) -> Option<String> {
    static ENTRY: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"Mã:\s*[A-Za-z0-9._\-]*\d(?:Từ khóa.*?Mô tả(?:Không có thông tin)?)?").unwrap()
    });
    let body = text.split("Chọn cơ quan thực hiện").next().unwrap_or(text);
    let mut names = Vec::new();
    let mut start = 0;
    for m in ENTRY.find_iter(body) {
        names.push(&body[start..m.start()]);
        start = m.end();
    }
    names.push(&body[start..]);
    let names: Vec<String> = names.into_iter().filter_map(text_or_none).collect();
    (!names.is_empty()).then(|| names.join("; "))
}

/// Who may file: "Tổ chức (không bao gồm doanh nghiệp, HTX), Công dân Việt Nam" → two.
pub fn subjects(text: &str) -> Vec<String> {
    split_top_level(text, ',')
        .into_iter()
        .filter_map(text_or_none)
        .collect()
}

fn split_top_level(s: &str, sep: char) -> Vec<&str> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            c if c == sep && depth <= 0 => {
                out.push(&s[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

/// Steps: one per published line; at most `max` (the rest joins the last).
pub fn steps(text: &str, max: usize) -> Vec<String> {
    let mut out: Vec<String> = text.lines().filter_map(text_or_none).collect();
    if out.len() > max {
        let tail = out.split_off(max - 1).join("\n");
        out.push(tail);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_rows_are_found_behind_the_header() {
        let rows = channel_rows("Hình thức nộpThời gianPhí, lệ phíMô tảTrực tuyến5 Ngày làm việcMiễn phí(Không)Nộp qua Cổng Dịch vụ công quốc giaTrực tiếp1Miễn phí");
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].channel, Channel::Online);
        assert_eq!(rows[0].time, "5 Ngày làm việc");
        assert_eq!(
            rows[0].fees,
            vec![("Miễn phí".to_owned(), "(Không)".to_owned())]
        );
        assert_eq!(rows[0].description, "Nộp qua Cổng Dịch vụ công quốc gia");
        assert_eq!(
            (rows[1].channel, rows[1].time.as_str()),
            (Channel::Direct, "1")
        );
    }

    #[test]
    fn a_channel_name_inside_a_description_does_not_start_a_row() {
        let rows = channel_rows("Hình thức nộpThời gianPhí, lệ phíMô tảTrực tuyến1 Ngày làm việcMiễn phí- Nộp hồ sơ Trực tuyến qua Cổng dịch vụ công quốc gia.Trực tuyến3 Ngày làm việcMiễn phí");
        assert_eq!(rows.len(), 2);
        assert_eq!(
            rows[0].description,
            "- Nộp hồ sơ Trực tuyến qua Cổng dịch vụ công quốc gia."
        );
    }

    #[test]
    fn a_bare_number_glued_to_an_amount_is_ambiguous() {
        let rows = channel_rows(
            "Hình thức nộpThời gianPhí, lệ phíMô tảTrực tuyến120 VNĐ(20.000 đ/tờ khai)",
        );
        assert_eq!(rows.len(), 1);
        assert!(rows[0].ambiguous);
        assert_eq!(rows[0].time, "120 VNĐ(20.000 đ/tờ khai)");
    }

    #[test]
    fn documents_keep_groups_templates_and_quantities() {
        let rows = document_rows("* Giấy tờ phải nộp:Tên giấy tờMẫu đơn, tờ khaiSố lượngTờ khai thuế mẫu số 01/TAINMẫu số 01 TAIN.docx1 bản chính- Giấy chứng sinh (01 bản chính và 01 bản sao).1 bản chính,1 bản sao* Giấy tờ phải xuất trình:Tên giấy tờMẫu đơn, tờ khaiSố lượngHộ chiếu hoặc căn cước.0 bản chính");
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].group.as_deref(), Some("Giấy tờ phải nộp"));
        assert_eq!(rows[0].name, "Tờ khai thuế mẫu số 01/TAIN");
        assert_eq!(rows[0].template.as_deref(), Some("Mẫu số 01 TAIN.docx"));
        assert_eq!(
            (rows[1].name.as_str(), rows[1].originals, rows[1].copies),
            ("Giấy chứng sinh (01 bản chính và 01 bản sao).", 1, 1)
        );
        assert_eq!(rows[2].group.as_deref(), Some("Giấy tờ phải xuất trình"));
        assert_eq!(rows[2].originals, 0);
    }

    #[test]
    fn legal_basis_pairs_names_with_codes() {
        let v = legal_basis("Tên văn bản pháp lýMã văn bảnThông tư hướng dẫn về phí và lệ phí85/2019/TT-BTCNghị định số 123/2015/NĐ-CP quy định chi tiết Luật Hộ tịch123/2015/NĐ-CPLuật Hộ tịch 2014");
        assert_eq!(
            v,
            vec![
                "Thông tư hướng dẫn về phí và lệ phí (85/2019/TT-BTC)",
                "Nghị định số 123/2015/NĐ-CP quy định chi tiết Luật Hộ tịch (123/2015/NĐ-CP)",
                "Luật Hộ tịch 2014",
            ]
        );
    }

    #[test]
    fn results_lose_codes_and_page_furniture() {
        assert_eq!(
            result("Giấy khai sinhMã: KQ.G15.000031Từ khóaKhông có thông tinMô tảKhông có thông tinBản sao Giấy khai sinhMã: KQ.G15.000032Từ khóaKhông có thông tinMô tảKhông có thông tinChọn cơ quan thực hiệnTỉnh/ Thành phố"),
            Some("Giấy khai sinh; Bản sao Giấy khai sinh".to_owned())
        );
        assert_eq!(result(""), None);
    }

    #[test]
    fn subjects_split_outside_brackets() {
        assert_eq!(
            subjects("Tổ chức (không bao gồm doanh nghiệp, HTX), Công dân Việt Nam"),
            vec![
                "Tổ chức (không bao gồm doanh nghiệp, HTX)",
                "Công dân Việt Nam"
            ]
        );
    }
}
