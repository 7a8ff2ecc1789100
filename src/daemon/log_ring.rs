//! The daemon's most recent log lines, kept in memory for the technician screen's doctor view
//! (the kiosk's user may not read the journal). The binary's log writer tees every line to
//! stderr (the journal) and here; at most [`KEEP`] lines, each cut at [`MAX_LINE`] bytes.

use std::collections::VecDeque;
use std::io::{self, Write};
use std::sync::Mutex;

/// Lines kept.
pub const KEEP: usize = 30;
/// Longest line kept (longer ones are cut, with "…").
pub const MAX_LINE: usize = 300;

static RING: Mutex<VecDeque<String>> = Mutex::new(VecDeque::new());

/// Keep `text`'s lines (the newest [`KEEP`]).
pub fn record(text: &str) {
    let mut ring = RING.lock().unwrap_or_else(|p| p.into_inner());
    for l in text.lines().map(str::trim_end).filter(|l| !l.is_empty()) {
        let mut l = l.to_owned();
        if l.len() > MAX_LINE {
            let mut cut = MAX_LINE;
            while !l.is_char_boundary(cut) {
                cut -= 1;
            }
            l.truncate(cut);
            l.push('…');
        }
        if ring.len() == KEEP {
            ring.pop_front();
        }
        ring.push_back(l);
    }
}

/// The kept lines, oldest first.
pub fn recent() -> Vec<String> {
    RING.lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
        .cloned()
        .collect()
}

/// A log writer: stderr, and a copy of each line into the ring.
pub struct TeeStderr;

impl Write for TeeStderr {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        record(&String::from_utf8_lossy(buf));
        io::stderr().write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        io::stderr().flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ring_keeps_the_newest_lines_cut_to_size() {
        record(&format!("{}\n\n", "é".repeat(MAX_LINE)));
        for i in 0..KEEP + 5 {
            record(&format!("WARN line {i}\n"));
        }
        let r = recent();
        assert_eq!(r.len(), KEEP);
        assert_eq!(r.last().unwrap(), &format!("WARN line {}", KEEP + 4));
        assert_eq!(r[0], "WARN line 5");
        record(&"x".repeat(MAX_LINE + 10));
        let long = recent().pop().unwrap();
        assert_eq!(long.len(), MAX_LINE + '…'.len_utf8());
    }
}
