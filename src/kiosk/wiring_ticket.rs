//! The ticket's half of the wiring: "Lấy số" on a procedure's page and on a field's tile →
//! the limits (`ticket::Limits`) → the number from `ApplianceServices::take_ticket` (off the
//! UI thread in the real kiosk) → printing → the ticket screen (`TicketAdapter`).

use std::path::PathBuf;

use slint::{ComponentHandle, Image, ModelRc, SharedString, VecModel};

use super::navigation::Screen;
use super::procedure_view::ProcedureView;
use super::state::{Shared, Want};
use super::ticket::{self, Gate, Printed};
use super::ui::*;
use super::views;
use crate::appliance::IssuedTicket;
use crate::catalog::Lang;

/// Everything the worker needs, so that it holds nothing of the UI thread's.
struct Job {
    want: Want,
    key: String,
    procedure_code: Option<String>,
    procedure_name: String,
    documents: Vec<String>,
    counter_name: String,
    center: String,
    lang: Lang,
    catalog_db: Option<PathBuf>,
    /// The center's day ("2026-12-06", `[tickets] time_zone`).
    today: String,
    rules: crate::hub::tickets::TicketRules,
    printer: Option<crate::printer::PrinterConfig>,
    printed_at: String,
}

struct Done {
    ticket: IssuedTicket,
    wait: Option<u32>,
    printed: Printed,
}

pub(super) fn connect_ticket(w: &KioskWindow, state: &Shared) {
    let (wk, st) = (w.as_weak(), state.clone());
    w.global::<ProcedureAdapter>().on_take_number(move || {
        if let Some(w) = wk.upgrade() {
            let want = {
                let s = st.borrow();
                s.procedure.and_then(|i| {
                    let p = &s.bundle.procedures[i];
                    let c = s.bundle.counters_for_field(&p.field).next()?;
                    Some(Want {
                        counter: c.number,
                        procedure: Some(i),
                    })
                })
            };
            if let Some(want) = want {
                request(&w, &st, want, false);
            }
        }
    });
    let (wk, st) = (w.as_weak(), state.clone());
    w.global::<HomeAdapter>().on_take_number(move |field| {
        if let Some(w) = wk.upgrade() {
            let counter = st
                .borrow()
                .bundle
                .counters_for_field(&field)
                .next()
                .map(|c| c.number);
            if let Some(counter) = counter {
                let want = Want {
                    counter,
                    procedure: None,
                };
                request(&w, &st, want, false);
            }
        }
    });
    let (wk, st) = (w.as_weak(), state.clone());
    w.global::<TicketAdapter>().on_confirm(move || {
        if let Some(w) = wk.upgrade() {
            let pending = st.borrow_mut().tickets.pending.take();
            if let Some(want) = pending {
                request(&w, &st, want, true);
            }
        }
    });
}

fn request(w: &KioskWindow, state: &Shared, want: Want, confirmed: bool) {
    let a = w.global::<TicketAdapter>();
    let (gate, lang) = {
        let mut s = state.borrow_mut();
        let now = s.clock.now();
        let gate = s.tickets.limits.check(now, confirmed);
        if gate == Gate::Go {
            s.tickets.limits.record(now);
        }
        s.nav.open(Screen::Ticket);
        (gate, s.lang)
    };
    views::push_screen(w, &state.borrow());
    match gate {
        Gate::Confirm => {
            state.borrow_mut().tickets.pending = Some(want);
            a.set_step(2);
            a.set_message(SharedString::from(match lang {
                Lang::Vi => {
                    "Máy vừa cấp một số cách đây ít phút. Bạn có cần thêm một số nữa không?"
                }
                Lang::En => "A number was taken here a few minutes ago. Do you need another one?",
            }));
        }
        Gate::Limited { wait_secs } => {
            a.set_step(3);
            a.set_message(SharedString::from(match lang {
                Lang::Vi => format!("Máy đã cấp nhiều số trong một phút. Vui lòng thử lại sau {wait_secs} giây, hoặc hỏi cán bộ hướng dẫn."),
                Lang::En => format!("Many numbers were taken here in the last minute. Please try again in {wait_secs} s, or ask the staff."),
            }));
        }
        Gate::Go => {
            a.set_step(0);
            let job = job(state, want);
            let services = state.borrow().services.clone();
            if state.borrow().background {
                let weak = w.as_weak();
                std::thread::spawn(move || {
                    let lang = job.lang;
                    let r = run(&*services, &job);
                    let _ = weak.upgrade_in_event_loop(move |w| show(&w, r, &job, lang));
                });
            } else {
                let r = run(&*services, &job);
                let lang = job.lang;
                show(w, r, &job, lang);
            }
        }
    }
}

fn job(state: &Shared, want: Want) -> Job {
    let s = state.borrow();
    let procedure = want.procedure.and_then(|i| s.bundle.procedures.get(i));
    let (procedure_name, documents) = match procedure {
        Some(p) => {
            let v = ProcedureView::build(&s.bundle, p, s.lang);
            (
                v.name,
                v.documents
                    .into_iter()
                    .map(|d| {
                        if d.counts.is_empty() {
                            d.name
                        } else {
                            format!("{} ({})", d.name, d.counts)
                        }
                    })
                    .collect(),
            )
        }
        None => (String::new(), Vec::new()),
    };
    let counter_name = s
        .bundle
        .counters
        .iter()
        .find(|c| c.number == want.counter)
        .map(|c| super::queue_board::counter_display_name(c.name.get(s.lang), c.number))
        .unwrap_or_default();
    let now = s.now().with_timezone(&chrono::Utc);
    let rules = s.tickets.deps.limits.rules();
    Job {
        key: ticket::new_key(),
        procedure_code: procedure.map(|p| p.code.clone()),
        procedure_name,
        documents,
        counter_name,
        center: s
            .center_name
            .clone()
            .unwrap_or_else(|| s.bundle.center.name.get(Lang::Vi).to_owned()),
        lang: s.lang,
        catalog_db: s.catalog_db.clone(),
        today: rules.today(now),
        printer: s.tickets.deps.printer.clone(),
        printed_at: rules.clock_text(now),
        rules,
        want,
    }
}

/// Off the UI thread: the number, the estimate, the print.
fn run(services: &dyn crate::appliance::ApplianceServices, job: &Job) -> Result<Done, String> {
    let t = services.take_ticket(job.want.counter, job.procedure_code.as_deref(), &job.key)?;
    let served = job
        .catalog_db
        .as_deref()
        .map(|db| ticket::served_today(db, t.counter, &job.today, &job.rules))
        .unwrap_or_default();
    let wait = ticket::wait_minutes(t.ahead, ticket::median(&served));
    let printed = match &job.printer {
        None => Printed::NoPrinter,
        Some(cfg) => ticket::print(
            cfg,
            &crate::printer::TicketPrint {
                center: job.center.clone(),
                number: t.ticket.clone(),
                counter: t.counter,
                counter_name: job.counter_name.clone(),
                procedure: (!job.procedure_name.is_empty()).then(|| job.procedure_name.clone()),
                ahead: Some(t.ahead),
                wait_minutes: wait,
                issued_at: job.printed_at.clone(),
                follow_url: t.follow_url.clone(),
            },
        ),
    };
    if let Printed::No(_, why) = &printed {
        tracing::warn!("ticket {} not printed: {why}", t.ticket);
    }
    Ok(Done {
        ticket: t,
        wait,
        printed,
    })
}

fn show(w: &KioskWindow, r: Result<Done, String>, job: &Job, lang: Lang) {
    let a = w.global::<TicketAdapter>();
    let d = match r {
        Ok(d) => d,
        Err(e) => {
            tracing::warn!("ticket for counter {}: {e}", job.want.counter);
            a.set_step(3);
            a.set_message(SharedString::from(match lang {
                Lang::Vi => "Chưa lấy được số: không kết nối được máy chủ và máy không còn số dự phòng. Vui lòng hỏi cán bộ hướng dẫn.",
                Lang::En => "No number could be issued: the central server is unreachable and no spare numbers are left. Please ask the staff.",
            }));
            return;
        }
    };
    a.set_number(SharedString::from(d.ticket.ticket.as_str()));
    let counter = match (lang, job.counter_name.is_empty()) {
        (Lang::Vi, false) => format!("Quầy {} · {}", d.ticket.counter, job.counter_name),
        (Lang::En, false) => format!("Counter {} · {}", d.ticket.counter, job.counter_name),
        (Lang::Vi, true) => format!("Quầy {}", d.ticket.counter),
        (Lang::En, true) => format!("Counter {}", d.ticket.counter),
    };
    a.set_counter(SharedString::from(counter));
    a.set_procedure(SharedString::from(job.procedure_name.as_str()));
    a.set_ahead(SharedString::from(ticket::ahead_text(d.ticket.ahead, lang)));
    a.set_wait(SharedString::from(ticket::wait_text(d.wait, lang)));
    let qr = d
        .ticket
        .follow_url
        .as_deref()
        .and_then(super::qr::qr_pixels)
        .map(Image::from_rgb8);
    a.set_has_qr(qr.is_some());
    a.set_qr(qr.unwrap_or_default());
    let docs: Vec<SharedString> = if job.documents.is_empty() {
        vec![SharedString::from(match lang {
            Lang::Vi => "Xem giấy tờ cần mang ở trang thủ tục, hoặc hỏi cán bộ tại quầy.",
            Lang::En => "See the documents on the procedure's page, or ask at the counter.",
        })]
    } else {
        job.documents.iter().map(SharedString::from).collect()
    };
    a.set_documents(ModelRc::new(VecModel::from(docs)));
    let (printed, ok) = ticket::printed_text(&d.printed, lang);
    a.set_printed(SharedString::from(printed));
    a.set_printed_ok(ok);
    a.set_offline(d.ticket.offline);
    a.set_step(1);
}
