//! The screens' half of the wiring (split from `wiring` to keep files short): the callbacks
//! of search, procedure, record lookup and rating, and the two calls that leave the UI thread
//! (record lookup, rating submission).

use slint::{ComponentHandle, SharedString};

use super::navigation::Screen;
use super::record_lookup;
use super::state::Shared;
use super::ui::*;
use super::views;
use super::wiring::{go, open_procedure};
use crate::appliance::RatingError;

pub(super) fn submit_record(w: &KioskWindow, state: &Shared) {
    let (id, services, lang, background) = {
        let mut s = state.borrow_mut();
        s.record_result = None;
        match record_lookup::validate(s.record_input.as_str(), s.lang) {
            Err(msg) => {
                s.record_error = Some(msg);
                drop(s);
                views::push_record(w, &state.borrow());
                return;
            }
            Ok(id) => {
                s.record_error = None;
                (id, s.services.clone(), s.lang, s.background)
            }
        }
    };
    let today = state.borrow().today();
    let a = w.global::<RecordAdapter>();
    a.set_input(SharedString::from(state.borrow().record_input.as_str()));
    a.set_has_result(false);
    a.set_message(record_lookup::busy_message(lang).into());
    a.set_message_kind(2);
    a.set_keyboard_visible(false);
    if background {
        let weak = w.as_weak();
        std::thread::spawn(move || {
            let r = services.lookup_record(&id);
            let _ = weak.upgrade_in_event_loop(move |w| views::show_lookup(&w, &r, today, lang));
        });
    } else {
        let r = services.lookup_record(&id);
        state.borrow_mut().record_result = Some(r.clone());
        views::show_lookup(w, &r, today, lang);
    }
}

fn rate(w: &KioskWindow, state: &Shared, index: i32) {
    let Some(level) = super::rating::level_from_index(index) else {
        return;
    };
    let (rating, services, background, lang) = {
        let mut s = state.borrow_mut();
        let Some(counter) = s.rating_counter else {
            return;
        };
        s.rating_step = 2;
        let r = super::rating::make_rating(&s.bundle, &s.device, counter, level, s.now());
        (r, s.services.clone(), s.background, s.lang)
    };
    w.global::<RatingAdapter>().set_step(2);
    let done = move |w: &KioskWindow, r: Result<(), RatingError>| {
        views::show_rating_result(w, &r, lang);
    };
    if background {
        let weak = w.as_weak();
        std::thread::spawn(move || {
            let r = services.submit_rating(rating);
            let _ = weak.upgrade_in_event_loop(move |w| done(&w, r));
        });
    } else {
        done(w, services.submit_rating(rating));
    }
    let mut s = state.borrow_mut();
    s.thanks_at = Some(s.clock.now());
    s.rating_step = 3;
}

/// A field's procedures on the search screen (keyboard hidden; typing filters within it).
pub(super) fn open_field(w: &KioskWindow, state: &Shared, field: &str) {
    go(w, state, Screen::Search);
    state.borrow_mut().field = Some(field.to_owned());
    w.global::<SearchAdapter>().set_keyboard_visible(false);
    views::push_search(w, &state.borrow());
}

pub(super) fn connect_screens(w: &KioskWindow, state: &Shared) {
    let home = w.global::<HomeAdapter>();
    let (wk, st) = (w.as_weak(), state.clone());
    home.on_open_search(move || {
        if let Some(w) = wk.upgrade() {
            go(&w, &st, Screen::Search);
            w.global::<SearchAdapter>().set_keyboard_visible(true);
            views::push_search(&w, &st.borrow());
        }
    });
    let (wk, st) = (w.as_weak(), state.clone());
    home.on_open_field(move |field| {
        if let Some(w) = wk.upgrade() {
            open_field(&w, &st, &field);
        }
    });
    let search = w.global::<SearchAdapter>();
    let (wk, st) = (w.as_weak(), state.clone());
    search.on_key(move |k| {
        if let Some(w) = wk.upgrade() {
            if st.borrow_mut().query.apply_name(&k) {
                views::push_search(&w, &st.borrow());
            }
        }
    });
    let (wk, st) = (w.as_weak(), state.clone());
    search.on_open(move |code| {
        if let Some(w) = wk.upgrade() {
            open_procedure(&w, &st, &code);
        }
    });
    let p = w.global::<ProcedureAdapter>();
    let (wk, st) = (w.as_weak(), state.clone());
    p.on_select_channel(move |i| {
        if let Some(w) = wk.upgrade() {
            st.borrow_mut().calc.channel = i.max(0) as usize;
            views::push_procedure(&w, &st.borrow());
        }
    });
    let (wk, st) = (w.as_weak(), state.clone());
    p.on_pages_delta(move |d| {
        if let Some(w) = wk.upgrade() {
            st.borrow_mut().calc.pages_delta(d);
            views::push_procedure(&w, &st.borrow());
        }
    });
    let (wk, st) = (w.as_weak(), state.clone());
    p.on_copies_delta(move |d| {
        if let Some(w) = wk.upgrade() {
            st.borrow_mut().calc.copies_delta(d);
            views::push_procedure(&w, &st.borrow());
        }
    });
    let rec = w.global::<RecordAdapter>();
    let (wk, st) = (w.as_weak(), state.clone());
    rec.on_key(move |k| {
        if let Some(w) = wk.upgrade() {
            if st.borrow_mut().record_input.apply_name(&k) {
                let a = w.global::<RecordAdapter>();
                a.set_input(SharedString::from(st.borrow().record_input.as_str()));
                a.set_message(SharedString::new());
                a.set_has_result(false);
            }
        }
    });
    let (wk, st) = (w.as_weak(), state.clone());
    rec.on_submit(move || {
        if let Some(w) = wk.upgrade() {
            submit_record(&w, &st);
        }
    });
    let rating = w.global::<RatingAdapter>();
    let (wk, st) = (w.as_weak(), state.clone());
    rating.on_choose_counter(move |n| {
        if let Some(w) = wk.upgrade() {
            {
                let mut s = st.borrow_mut();
                s.rating_counter = Some(n.max(0) as u32);
                s.rating_step = 1;
            }
            views::push_rating(&w, &st.borrow());
        }
    });
    let (wk, st) = (w.as_weak(), state.clone());
    rating.on_rate(move |i| {
        if let Some(w) = wk.upgrade() {
            rate(&w, &st, i);
        }
    });
}
