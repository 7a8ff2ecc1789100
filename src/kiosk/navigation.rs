//! Which screen the kiosk shows and how "back" works: a small stack of screens.
//!
//! Pure state, no Slint: the wiring mirrors [`Navigator::current`] into `AppAdapter.screen`.
//! Home is always at the bottom of the stack; going home clears it.

/// A kiosk screen. `as_str` is the name the Slint window switches on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    Home,
    Search,
    Procedure,
    Queue,
    Record,
    Officials,
    Stats,
    Rating,
    /// The technician PIN pad (after the hidden gesture).
    Pin,
    /// The technician screen (after the PIN, or by itself after provisioning).
    Technician,
    /// The ticket just taken ("Lấy số").
    Ticket,
}

impl Screen {
    pub const ALL: [Screen; 11] = [
        Screen::Home,
        Screen::Search,
        Screen::Procedure,
        Screen::Queue,
        Screen::Record,
        Screen::Officials,
        Screen::Stats,
        Screen::Rating,
        Screen::Pin,
        Screen::Technician,
        Screen::Ticket,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Screen::Home => "home",
            Screen::Search => "search",
            Screen::Procedure => "procedure",
            Screen::Queue => "queue",
            Screen::Record => "record",
            Screen::Officials => "officials",
            Screen::Stats => "stats",
            Screen::Rating => "rating",
            Screen::Pin => "pin",
            Screen::Technician => "technician",
            Screen::Ticket => "ticket",
        }
    }

    pub fn parse(name: &str) -> Option<Screen> {
        Screen::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

/// The back stack. Opening the screen already on top does not push it twice.
#[derive(Debug, Clone)]
pub struct Navigator {
    stack: Vec<Screen>,
}

impl Default for Navigator {
    fn default() -> Self {
        Navigator {
            stack: vec![Screen::Home],
        }
    }
}

/// Deepest history kept; older entries are dropped (a citizen rarely goes back 20 steps).
const MAX_DEPTH: usize = 20;

impl Navigator {
    pub fn current(&self) -> Screen {
        *self.stack.last().unwrap_or(&Screen::Home)
    }

    pub fn open(&mut self, screen: Screen) {
        if screen == Screen::Home {
            self.home();
        } else if self.current() != screen {
            self.stack.push(screen);
            if self.stack.len() > MAX_DEPTH {
                self.stack.remove(1);
            }
        }
    }

    /// Go back one screen; on home it stays home.
    pub fn back(&mut self) -> Screen {
        if self.stack.len() > 1 {
            self.stack.pop();
        }
        self.current()
    }

    pub fn home(&mut self) {
        self.stack.truncate(1);
    }

    pub fn depth(&self) -> usize {
        self.stack.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn back_returns_through_the_path_and_stops_at_home() {
        let mut n = Navigator::default();
        n.open(Screen::Search);
        n.open(Screen::Procedure);
        n.open(Screen::Procedure);
        assert_eq!(n.depth(), 3);
        assert_eq!(n.back(), Screen::Search);
        assert_eq!(n.back(), Screen::Home);
        assert_eq!(n.back(), Screen::Home);
        n.open(Screen::Queue);
        n.open(Screen::Home);
        assert_eq!((n.current(), n.depth()), (Screen::Home, 1));
    }

    #[test]
    fn history_is_bounded_and_names_round_trip() {
        let mut n = Navigator::default();
        for i in 0..50 {
            n.open(if i % 2 == 0 {
                Screen::Search
            } else {
                Screen::Procedure
            });
        }
        assert_eq!(n.depth(), MAX_DEPTH);
        for s in Screen::ALL {
            assert_eq!(Screen::parse(s.as_str()), Some(s));
        }
        assert_eq!(Screen::parse("nope"), None);
    }
}
