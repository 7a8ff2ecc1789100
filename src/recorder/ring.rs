//! The per-camera RAM ring: the last N frames with their timestamps, so a snapshot is instant
//! and can use a frame from just before the trigger.
//!
//! Holds frames only; never encodes, never blocks a producer for longer than a push.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use super::camera::Frame;

pub struct FrameRing {
    frames: Mutex<VecDeque<Frame>>,
    fresh: Condvar,
    capacity: usize,
}

impl FrameRing {
    pub fn new(capacity: usize) -> FrameRing {
        FrameRing {
            frames: Mutex::new(VecDeque::with_capacity(capacity.max(1))),
            fresh: Condvar::new(),
            capacity: capacity.max(1),
        }
    }

    /// Add the newest frame, dropping the oldest when full.
    pub fn push(&self, frame: Frame) {
        let mut q = self.frames.lock().unwrap_or_else(|p| p.into_inner());
        if q.len() == self.capacity {
            q.pop_front();
        }
        q.push_back(frame);
        drop(q);
        self.fresh.notify_all();
    }

    /// Forget every frame (the camera was lost: old frames must not pass for current ones).
    pub fn clear(&self) {
        self.frames
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }

    /// The newest frame no older than `max_age`, waiting up to `wait` for one to arrive.
    pub fn latest(&self, max_age: Duration, wait: Duration) -> Option<Frame> {
        let deadline = Instant::now() + wait;
        let mut q = self.frames.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if let Some(f) = q.back() {
                if f.captured_mono.elapsed() <= max_age {
                    return Some(f.clone());
                }
            }
            let now = Instant::now();
            if now >= deadline {
                return None;
            }
            q = self
                .fresh
                .wait_timeout(q, deadline - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    /// The newest frame captured at or before `at` (a frame from just before a trigger).
    pub fn at_or_before(&self, at: Instant) -> Option<Frame> {
        let q = self.frames.lock().unwrap_or_else(|p| p.into_inner());
        q.iter().rev().find(|f| f.captured_mono <= at).cloned()
    }

    pub fn len(&self) -> usize {
        self.frames.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recorder::camera::PixelData;

    fn frame(seq: u64, at: Instant) -> Frame {
        Frame {
            seq,
            width: 1,
            height: 1,
            captured_at_ms: seq as i64,
            captured_mono: at,
            data: PixelData::Jpeg(vec![seq as u8].into()),
        }
    }

    #[test]
    fn keeps_the_last_n_and_finds_frames_by_time() {
        let ring = FrameRing::new(3);
        let t0 = Instant::now();
        for i in 0..5 {
            ring.push(frame(i, t0 + Duration::from_millis(i * 10)));
        }
        assert_eq!(ring.len(), 3);
        assert_eq!(
            ring.at_or_before(t0 + Duration::from_millis(35))
                .unwrap()
                .seq,
            3
        );
        assert!(ring.at_or_before(t0 + Duration::from_millis(5)).is_none());
        ring.clear();
        assert!(ring
            .latest(Duration::from_secs(1), Duration::from_millis(10))
            .is_none());
    }

    #[test]
    fn latest_waits_for_a_fresh_frame() {
        let ring = std::sync::Arc::new(FrameRing::new(2));
        ring.push(frame(0, Instant::now() - Duration::from_secs(10)));
        let r = ring.clone();
        let h =
            std::thread::spawn(move || r.latest(Duration::from_secs(1), Duration::from_secs(2)));
        std::thread::sleep(Duration::from_millis(20));
        ring.push(frame(1, Instant::now()));
        assert_eq!(h.join().unwrap().unwrap().seq, 1);
    }
}
