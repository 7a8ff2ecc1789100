//! A synthetic catalog at the real catalog's size and shape, for the kiosk's layout tests and
//! benchmarks (`benches/kiosk.rs` includes this file): 61 fields sized like the commune-level
//! list (one of 130 procedures, one of 111, then 41, 25, … and a long tail of 1–3), five
//! counters as the center will have, long field names, procedure names of 20 to ~300
//! characters and one of exactly 1,094. Procedures copy their channels, fees and documents
//! from the demo catalog, so every screen has real content.

use motcua::catalog::{demo_bundle, CatalogBundle, Counter, Field, Localized, Procedure};

/// Characters in the longest procedure name (the real catalog's longest).
pub const LONGEST_NAME: usize = 1_094;
/// Code of the procedure with the longest name.
pub const LONGEST_CODE: &str = "9.000001";
/// Code of the field with the most procedures (130 at 590 procedures).
pub const BIG_FIELD: &str = "hai-quan";
/// A field whose name is far longer than any tile.
pub const LONG_FIELD_NAME: &str = "Thành lập và hoạt động của tổ hợp tác, hợp tác xã, liên hiệp hợp tác xã, quỹ tín dụng nhân dân và các tổ chức kinh tế tập thể khác trên địa bàn";

/// Field sizes at 590 procedures (sum 590), largest first.
const SIZES: [usize; 61] = [
    130, 111, 41, 25, 21, 17, 17, 17, 15, 13, 12, 12, 11, 10, 9, 8, 7, 7, 7, 7, 6, 5, 5, 5, 5, 5,
    5, 4, 4, 3, 3, 3, 3, 3, 2, 2, 2, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1,
];

const NAMED: [(&str, &str); 14] = [
    ("hai-quan", "Hải quan"),
    ("thue", "Thuế"),
    ("ho-tich", "Hộ tịch"),
    ("hang-hai", "Hàng hải và đường thủy nội địa"),
    ("hop-tac-xa", LONG_FIELD_NAME),
    ("can-cuoc", "Cấp, quản lý căn cước"),
    ("thuy-loi", "Thủy lợi"),
    ("dat-dai", "Đất đai"),
    ("bhxh", "Thực hiện chính sách bảo hiểm xã hội"),
    ("cu-tru", "Đăng ký, quản lý cư trú"),
    (
        "phuong-tien",
        "Đăng ký, quản lý phương tiện giao thông cơ giới, xe máy chuyên dùng",
    ),
    ("chung-thuc", "Chứng thực"),
    ("nong-nghiep", "Nông nghiệp"),
    ("xuat-nhap-canh", "Quản lý xuất nhập cảnh"),
];

const ACTIONS: [&str; 12] = [
    "Đăng ký",
    "Cấp",
    "Cấp lại",
    "Thủ tục cấp đổi",
    "Xác nhận",
    "Thủ tục điều chỉnh",
    "Gia hạn",
    "Thu hồi",
    "Khai",
    "Miễn, giảm",
    "Hoàn trả",
    "Thông báo",
];
const OBJECTS: [&str; 9] = [
    "giấy chứng nhận",
    "giấy phép hoạt động",
    "hồ sơ khai thuế",
    "tờ khai hải quan đối với hàng hóa xuất khẩu, nhập khẩu",
    "thông tin cư trú",
    "văn bản chấp thuận",
    "quyết định hỗ trợ",
    "sổ theo dõi",
    "phương tiện",
];
const QUALIFIERS: [&str; 6] = [
    "",
    " cho cá nhân",
    " đối với hộ kinh doanh, cá nhân kinh doanh nộp thuế theo phương pháp khoán",
    " trong trường hợp bị mất, hư hỏng hoặc có thay đổi thông tin",
    " theo đề nghị của tổ chức, cá nhân có liên quan tại cơ quan có thẩm quyền cấp xã, phường, đặc khu",
    " đối với hàng hóa đưa vào, đưa ra, lưu giữ tại khu vực kho ngoại quan, kho bảo thuế, địa điểm thu gom hàng lẻ và cửa hàng miễn thuế trên địa bàn",
];

/// Field sizes for `total` procedures: the 590 shape scaled, the rounding rest on the largest.
fn sizes(total: usize) -> Vec<usize> {
    let base: usize = SIZES.iter().sum();
    let mut s: Vec<usize> = SIZES.iter().map(|n| (n * total / base).max(1)).collect();
    let sum: usize = s.iter().sum();
    s[0] = (s[0] + total).saturating_sub(sum).max(1);
    s
}

fn name_of(i: usize) -> String {
    let a = ACTIONS[i % ACTIONS.len()];
    let o = OBJECTS[(i / ACTIONS.len()) % OBJECTS.len()];
    let q = QUALIFIERS[(i / 7) % QUALIFIERS.len()];
    format!("{a} {o}{q} (mẫu {i})")
}

/// A name of exactly [`LONGEST_NAME`] characters, of real words.
fn longest_name() -> String {
    let mut s = String::from("Giao đất ở có thu tiền sử dụng đất không thông qua đấu giá");
    let tail = ", không đấu thầu lựa chọn nhà đầu tư thực hiện dự án có sử dụng đất đối với cá nhân là cán bộ, công chức, viên chức, sĩ quan tại ngũ";
    while s.chars().count() < LONGEST_NAME {
        s.push_str(tail);
    }
    s.chars().take(LONGEST_NAME - 1).collect::<String>() + "."
}

/// The catalog with `total` procedures (590 or 2,642 in the benchmarks) in 61 fields.
pub fn big_catalog(total: usize) -> CatalogBundle {
    let mut b = demo_bundle();
    let templates: Vec<Procedure> = b.procedures.clone();
    b.fields = (0..SIZES.len())
        .map(|i| {
            let (code, name) = match NAMED.get(i) {
                Some((c, n)) => (c.to_string(), n.to_string()),
                None => (
                    format!("linh-vuc-{i}"),
                    format!("Lĩnh vực thử nghiệm số {i} về quản lý nhà nước"),
                ),
            };
            Field {
                code,
                name: Localized::vi(name),
            }
        })
        .collect();
    b.procedures.clear();
    let mut n = 0;
    for (f, size) in sizes(total).into_iter().enumerate() {
        for _ in 0..size {
            let mut p = templates[n % templates.len()].clone();
            n += 1;
            p.code = format!("9.{n:06}");
            p.field = b.fields[f].code.clone();
            p.name = Localized::vi(if p.code == LONGEST_CODE {
                longest_name()
            } else {
                name_of(n)
            });
            b.procedures.push(p);
        }
    }
    let names = [
        "Tư pháp – hộ tịch – chứng thực",
        "Văn hóa – xã hội",
        "Kinh tế – kinh doanh",
        "Nông nghiệp – môi trường",
        "Quầy hướng dẫn",
    ];
    b.counters = names
        .iter()
        .enumerate()
        .map(|(i, name)| Counter {
            number: i as u32 + 1,
            name: Localized::vi(*name),
            fields: b
                .fields
                .iter()
                .enumerate()
                .filter(|(f, _)| f % names.len() == i)
                .map(|(_, f)| f.code.clone())
                .collect(),
        })
        .collect();
    for o in &mut b.officials {
        o.counter = o.counter.map(|c| (c - 1) % 5 + 1);
    }
    b
}
