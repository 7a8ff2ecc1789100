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

    /// The frame interval, from the newest two frames, clamped to 10..=200 ms (100 ms with
    /// fewer than two frames): a camera slower than 5 frames/s counts as stalled.
    fn interval(q: &VecDeque<Frame>) -> Duration {
        let n = q.len();
        if n < 2 {
            return Duration::from_millis(100);
        }
        q[n - 1]
            .captured_mono
            .saturating_duration_since(q[n - 2].captured_mono)
            .clamp(Duration::from_millis(10), Duration::from_millis(200))
    }

    /// A frame fresh enough for a trigger at `trigger`: the newest one taken after
    /// `trigger - interval` (it started after the trigger or within one frame interval before
    /// it), waiting until `trigger + wait` for one to arrive. Two triggers more than one
    /// interval apart therefore never get the same frame. Returns the frame and the interval.
    pub fn fresh_for(&self, trigger: Instant, wait: Duration) -> Option<(Frame, Duration)> {
        let deadline = trigger + wait;
        let mut q = self.frames.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            let interval = Self::interval(&q);
            if let Some(f) = q.back() {
                if f.captured_mono + interval > trigger {
                    return Some((f.clone(), interval));
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
            camera_time_ms: None,
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
    fn a_trigger_gets_a_frame_from_within_one_interval_or_waits_for_the_next() {
        let ring = std::sync::Arc::new(FrameRing::new(4));
        let t0 = Instant::now() - Duration::from_secs(5);
        ring.push(frame(0, t0));
        ring.push(frame(1, t0 + Duration::from_millis(50)));
        // within one interval (50 ms) after frame 1: frame 1
        let (f, i) = ring
            .fresh_for(t0 + Duration::from_millis(90), Duration::ZERO)
            .unwrap();
        assert_eq!((f.seq, i), (1, Duration::from_millis(50)));
        // a second later the same frame is stale: nothing without waiting
        let late = t0 + Duration::from_millis(1090);
        assert!(ring.fresh_for(late, Duration::ZERO).is_none());
        // ... and a waiting trigger gets the next frame
        let r = ring.clone();
        let h = std::thread::spawn(move || r.fresh_for(Instant::now(), Duration::from_secs(2)));
        std::thread::sleep(Duration::from_millis(20));
        ring.push(frame(2, Instant::now()));
        assert_eq!(h.join().unwrap().unwrap().0.seq, 2);
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
