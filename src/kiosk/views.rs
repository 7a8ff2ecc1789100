//! View adapters: copy controller output into the Slint globals (`HomeAdapter`,
//! `SearchAdapter`, …). No decisions here beyond choosing which controller text goes where.

use chrono::NaiveDate;
use slint::{ComponentHandle, Image, SharedString};

use super::field_list::{group_fields, sort_with_index};
use super::info_views;
use super::navigation::Screen;
use super::procedure_view::{key_fee, ProcedureView};
use super::qr::qr_pixels;
use super::queue_board::{board_lines, clock_ict};
use super::rating::counter_options;
use super::record_lookup::{self, present};
use super::search_controller::{results_heading, NotHere};
use super::state::{model, State};
use super::status::status_text;
use super::ui::*;
use crate::appliance::{LookupError, RatingError};
use crate::catalog::Lang;
use crate::record::RecordStatus;

fn s(text: impl AsRef<str>) -> SharedString {
    SharedString::from(text.as_ref())
}

/// Every adapter, e.g. after a language change or the idle reset.
pub(super) fn push_all(w: &KioskWindow, st: &State) {
    w.global::<I18n>().set_english(st.lang == Lang::En);
    let app = w.global::<AppAdapter>();
    // The provisioned name (one name, as the center is known locally) wins over the catalog's.
    match &st.center_name {
        Some(name) => app.set_center_name(s(name)),
        None => app.set_center_name(s(st.bundle.center.name.get(st.lang))),
    }
    push_status(w, st);
    push_home(w, st);
    push_search(w, st);
    push_procedure(w, st);
    push_queue(w, st);
    push_record(w, st);
    push_officials(w, st);
    push_stats(w, st);
    push_rating(w, st);
    push_screen(w, st);
}

pub(super) fn push_screen(w: &KioskWindow, st: &State) {
    w.global::<AppAdapter>()
        .set_screen(s(st.nav.current().as_str()));
    if st.nav.current() == Screen::Search {
        push_search(w, st);
    }
    if st.nav.current() == Screen::Record {
        push_record(w, st);
    }
    if st.nav.current() == Screen::Rating {
        push_rating(w, st);
    }
}

pub(super) fn push_status(w: &KioskWindow, st: &State) {
    let t = status_text(&st.bundle, &st.origin, &st.link, st.now(), st.lang);
    let app = w.global::<AppAdapter>();
    app.set_status_text(s(t.text));
    app.set_status_warning(t.warning);
}

pub(super) fn push_home(w: &KioskWindow, st: &State) {
    let groups = group_fields(&st.bundle, st.search.fields(st.lang), st.lang)
        .into_iter()
        .map(|g| FieldGroup {
            title: s(g.title),
            fields: model(
                g.fields
                    .into_iter()
                    .map(|f| FieldTile {
                        counter: st
                            .bundle
                            .counters_for_field(&f.code)
                            .next()
                            .map_or(0, |c| c.number as i32),
                        code: s(&f.code),
                        name: s(f.name),
                        count: f.count as i32,
                    })
                    .collect(),
            ),
        })
        .collect();
    w.global::<HomeAdapter>().set_groups(model(groups));
}

pub(super) fn push_search(w: &KioskWindow, st: &State) {
    let a = w.global::<SearchAdapter>();
    let q = st.query.as_str();
    let mut index = Vec::new();
    let mut not_here = None;
    let (items, heading) = match (&st.field, q.trim().is_empty()) {
        (Some(field), true) => {
            let (items, letters) = sort_with_index(st.search.field_procedures(field, st.lang));
            index = letters;
            let name = st.search.field_name(field, st.lang);
            let heading = match st.lang {
                Lang::Vi => format!("Lĩnh vực {name}: {} thủ tục", items.len()),
                Lang::En => format!("{name}: {} procedures", items.len()),
            };
            (items, heading)
        }
        (Some(field), false) => {
            let items = st.search.search_in_field(q, field, st.lang);
            let name = st.search.field_name(field, st.lang);
            let heading = match st.lang {
                Lang::Vi => format!("{} kết quả trong {name} cho “{q}”", items.len()),
                Lang::En => format!("{} results in {name} for “{q}”", items.len()),
            };
            (items, heading)
        }
        (None, _) => {
            let view = st.search.answer(q, st.lang);
            not_here = view.not_here;
            let heading = match (&not_here, view.items.is_empty(), st.lang) {
                (Some(_), false, Lang::Vi) => {
                    "Không phải việc của trung tâm; bên dưới: thủ tục gần giống nhất".to_owned()
                }
                (Some(_), false, Lang::En) => {
                    "Not handled here; below: the closest procedures".to_owned()
                }
                (Some(_), true, Lang::Vi) => "Không phải việc của trung tâm".to_owned(),
                (Some(_), true, Lang::En) => "Not handled here".to_owned(),
                (None, _, _) => results_heading(q, view.items.len(), st.lang),
            };
            (view.items, heading)
        }
    };
    let n = not_here.unwrap_or_else(|| NotHere {
        title: String::new(),
        topic: String::new(),
        place: String::new(),
        note: String::new(),
        counter: String::new(),
    });
    a.set_not_here(!n.title.is_empty());
    a.set_not_here_title(s(n.title));
    a.set_not_here_topic(s(n.topic));
    a.set_not_here_place(s(n.place));
    a.set_not_here_note(s(n.note));
    a.set_not_here_counter(s(n.counter));
    a.set_query(s(q));
    a.set_heading(s(heading));
    a.set_in_field(st.field.is_some());
    a.set_index(model(
        index
            .into_iter()
            .map(|(label, row)| IndexEntry {
                label: s(label),
                row: row as i32,
            })
            .collect(),
    ));
    a.set_results(model(
        items
            .into_iter()
            .map(|r| ResultRow {
                code: s(r.code),
                name: s(r.name),
                detail: s(r.detail),
            })
            .collect(),
    ));
    a.set_generation(a.get_generation().wrapping_add(1));
}

pub(super) fn push_procedure(w: &KioskWindow, st: &State) {
    let Some(p) = st.procedure.and_then(|i| st.bundle.procedures.get(i)) else {
        return;
    };
    let v = ProcedureView::build(&st.bundle, p, st.lang);
    let a = w.global::<ProcedureAdapter>();
    a.set_can_take_number(st.bundle.counters_for_field(&p.field).next().is_some());
    a.set_code(s(&v.code));
    a.set_name(s(&v.name));
    a.set_subtitle(s(&v.subtitle));
    a.set_channels(model(
        v.channels
            .iter()
            .map(|c| ChannelRow {
                label: s(&c.label),
                time: s(&c.time),
                fees: s(&c.fees),
            })
            .collect(),
    ));
    a.set_documents(model(
        v.documents
            .iter()
            .map(|d| DocRow {
                name: s(&d.name),
                counts: s(&d.counts),
            })
            .collect(),
    ));
    // The cards are always shown (see procedure.slint): say when there is nothing.
    let or_unpublished = |items: &[String]| -> Vec<SharedString> {
        if items.is_empty() {
            vec![s(match st.lang {
                Lang::Vi => "(chưa công bố)",
                Lang::En => "(not published)",
            })]
        } else {
            items.iter().map(s).collect()
        }
    };
    a.set_steps(model(or_unpublished(&v.steps)));
    a.set_result(s(&v.result));
    a.set_legal_basis(model(or_unpublished(&v.legal_basis)));
    a.set_counters(s(&v.counters));
    a.set_time_summary(s(&v.time_summary));
    a.set_full_name(s(v.full_name.as_deref().unwrap_or_default()));
    let qr = v.online_url.as_deref().and_then(qr_pixels);
    a.set_has_qr(qr.is_some());
    if let Some(px) = qr {
        a.set_qr(Image::from_rgb8(px));
    }
    a.set_online_url(s(v.online_url.unwrap_or_default()));
    let c = st.calc.view(p, st.lang, st.today());
    a.set_calc_channels(model(c.channels.iter().map(s).collect()));
    a.set_calc_channel(c.channel as i32);
    a.set_calc_pages_used(c.pages_used);
    a.set_calc_copies_used(c.copies_used);
    a.set_pages(c.pages as i32);
    a.set_copies(c.copies as i32);
    a.set_fee_summary(s(key_fee(p, &c, st.lang)));
    a.set_calc_total(s(c.total));
    a.set_calc_working(s(c.working));
}

pub(super) fn push_queue(w: &KioskWindow, st: &State) {
    let lines = board_lines(&st.bundle, &st.board, st.lang);
    let q = w.global::<QueueAdapter>();
    q.set_counters(model(
        lines
            .iter()
            .map(|l| CounterRow {
                number: l.number as i32,
                name: s(&l.name),
                ticket: s(&l.ticket),
                status: s(&l.status),
                kind: l.kind,
                waiting: l.waiting as i32,
            })
            .collect(),
    ));
    let newest = st.board.iter().map(|b| b.updated_at.as_str()).max();
    q.set_updated(s(match (newest, st.lang) {
        (None, Lang::Vi) => "Chưa nhận được dữ liệu hàng đợi".to_owned(),
        (None, Lang::En) => "No queue data received yet".to_owned(),
        (Some(t), lang) => {
            let time = clock_ict(t);
            match lang {
                Lang::Vi => format!("Cập nhật lúc {time}"),
                Lang::En => format!("Updated at {time}"),
            }
        }
    }));
    w.global::<HomeAdapter>().set_serving(model(
        lines
            .iter()
            .filter(|l| l.kind != 5)
            .map(|l| ServingItem {
                counter: l.number as i32,
                ticket: s(&l.ticket),
                kind: l.kind,
            })
            .collect(),
    ));
}

pub(super) fn push_record(w: &KioskWindow, st: &State) {
    let a = w.global::<RecordAdapter>();
    a.set_input(s(st.record_input.as_str()));
    match (&st.record_error, &st.record_result) {
        (Some(err), _) => {
            a.set_has_result(false);
            a.set_message(s(err));
            a.set_message_kind(1);
        }
        (None, Some(r)) => show_lookup(w, r, st.today(), st.lang),
        (None, None) => {
            a.set_has_result(false);
            a.set_message(SharedString::new());
        }
    }
}

/// Show a lookup's outcome (from the worker thread or inline).
pub(super) fn show_lookup(
    w: &KioskWindow,
    r: &Result<RecordStatus, LookupError>,
    today: NaiveDate,
    lang: Lang,
) {
    let a = w.global::<RecordAdapter>();
    match r {
        Ok(status) => {
            let c = present(status, today, lang);
            a.set_result(RecordView {
                id: s(c.id),
                procedure: s(c.procedure),
                stage: s(c.stage),
                received: s(c.received),
                due: s(c.due),
                timeliness: s(c.timeliness),
                timeliness_kind: c.timeliness_kind,
            });
            a.set_has_result(true);
            a.set_message(SharedString::new());
        }
        Err(e) => {
            a.set_has_result(false);
            a.set_message(s(record_lookup::lookup_error_message(e, lang)));
            a.set_message_kind(1);
        }
    }
}

pub(super) fn push_officials(w: &KioskWindow, st: &State) {
    let rows = info_views::officials(&st.bundle, st.lang)
        .into_iter()
        .map(|o| OfficialRow {
            name: s(o.name),
            title: s(o.title),
            counter: s(o.counter),
            fields: s(o.fields),
        })
        .collect();
    w.global::<OfficialsAdapter>().set_officials(model(rows));
}

pub(super) fn push_stats(w: &KioskWindow, st: &State) {
    let a = w.global::<StatsAdapter>();
    match info_views::statistics(&st.bundle, st.lang) {
        Some((period, lines)) => {
            a.set_period(s(period));
            a.set_items(model(
                lines
                    .into_iter()
                    .map(|l| StatItem {
                        label: s(l.label),
                        value: s(l.value),
                        share: l.share,
                        kind: l.kind,
                    })
                    .collect(),
            ));
            a.set_note(s(match st.lang {
                Lang::Vi => "Tỷ lệ tính trên số hồ sơ đã giải quyết trong kỳ.",
                Lang::En => "Shares are of the records resolved in the period.",
            }));
        }
        None => {
            a.set_period(s(match st.lang {
                Lang::Vi => "Trung tâm chưa công bố số liệu.",
                Lang::En => "The center has not published figures yet.",
            }));
            a.set_items(model(Vec::new()));
            a.set_note(SharedString::new());
        }
    }
}

pub(super) fn push_rating(w: &KioskWindow, st: &State) {
    let a = w.global::<RatingAdapter>();
    let options = counter_options(&st.bundle, st.lang);
    a.set_chosen(s(st
        .rating_counter
        .and_then(|n| options.iter().find(|o| o.number == n))
        .map(|o| o.label.clone())
        .unwrap_or_default()));
    a.set_counters(model(
        options
            .into_iter()
            .map(|o| CounterChoice {
                number: o.number as i32,
                label: s(o.label),
            })
            .collect(),
    ));
    a.set_step(st.rating_step);
}

pub(super) fn show_rating_result(w: &KioskWindow, r: &Result<(), RatingError>, lang: Lang) {
    let a = w.global::<RatingAdapter>();
    match r {
        Ok(()) => {
            a.set_step(3);
            a.set_message(s(match lang {
                Lang::Vi => "Ý kiến của bạn giúp chúng tôi phục vụ tốt hơn.",
                Lang::En => "Your opinion helps us serve you better.",
            }));
        }
        Err(e) => {
            tracing::error!("{e}");
            a.set_step(4);
            a.set_message(s(match lang {
                Lang::Vi => "Xin lỗi, vui lòng báo cán bộ tại quầy.",
                Lang::En => "Sorry, please tell an official at a counter.",
            }));
        }
    }
}
