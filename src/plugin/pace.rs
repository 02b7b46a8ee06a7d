//! Telling an offline render from real-time playback by its pace.
//!
//! Hosts say they render offline in different ways: at activation (CLAP's render extension,
//! VST3's `setupProcessing`), or per process call (VST3's `ProcessData::processMode`, which is
//! how Ardour flags an export; nice-plug 0.4 reads the mode only at `setupProcessing`, so the
//! plugin never hears of it). What every offline render has in common is that it runs faster
//! than real time: the host is not waiting for a sound card. Playback can never do that for
//! long, so audio that arrives at several times real time over a window of a second of audio
//! is an offline render, and the plugin then waits for its analysis as a bounce needs.

use std::time::{Duration, Instant};

/// Seconds of audio one pace measurement spans: long enough that the bursts of a host that
/// processes a few buffers back to back (anticipative processing, a prefill at start) average
/// out, short enough that a render is recognised long before its first output leaves the delay.
const WINDOW_SECONDS: f64 = 1.0;
/// A render whose audio arrives at this many times real time or more is offline.
const OFFLINE_SPEED: f64 = 2.0;

/// Measures how fast audio arrives, one window of [`WINDOW_SECONDS`] at a time.
#[derive(Debug, Clone)]
pub struct RenderPace {
    window: usize,
    window_start: Option<Instant>,
    samples: usize,
    offline: bool,
}

impl RenderPace {
    /// A pace meter for audio at `rate` Hz; it starts out calling the render real time.
    pub fn new(rate: f32) -> Self {
        Self {
            window: (WINDOW_SECONDS * f64::from(rate)).round().max(1.0) as usize,
            window_start: None,
            samples: 0,
            offline: false,
        }
    }

    /// Forgets the pace measured so far (the stream restarted).
    pub fn reset(&mut self) {
        self.window_start = None;
        self.samples = 0;
        self.offline = false;
    }

    /// Notes that `frames` samples arrived at `now` and returns whether the render is offline,
    /// judged from the last complete window.
    pub fn observe(&mut self, now: Instant, frames: usize) -> bool {
        let Some(start) = self.window_start else {
            // The first buffer starts the clock; its samples were produced before `now`.
            self.window_start = Some(now);
            return self.offline;
        };
        self.samples += frames;
        if self.samples >= self.window {
            let audio =
                Duration::from_secs_f64(self.samples as f64 / self.window as f64 * WINDOW_SECONDS);
            let wall = now.saturating_duration_since(start);
            self.offline = wall.as_secs_f64() * OFFLINE_SPEED <= audio.as_secs_f64();
            self.window_start = Some(now);
            self.samples = 0;
        }
        self.offline
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `seconds` of audio in buffers of `block` samples at `speed` times real time.
    fn feed(pace: &mut RenderPace, clock: &mut Instant, seconds: f64, block: usize, speed: f64) {
        let rate = 48_000.0;
        let buffers = (seconds * rate / block as f64).round() as usize;
        for _ in 0..buffers {
            *clock += Duration::from_secs_f64(block as f64 / rate / speed);
            pace.observe(*clock, block);
        }
    }

    #[test]
    fn playback_is_real_time_and_a_fast_render_is_offline() {
        let mut pace = RenderPace::new(48_000.0);
        let mut clock = Instant::now();
        feed(&mut pace, &mut clock, 5.0, 512, 1.0);
        assert!(!pace.observe(clock, 0));
        feed(&mut pace, &mut clock, 2.5, 512, 50.0);
        assert!(pace.observe(clock, 0));
        // Back to playback after the export: real time again within a window or two.
        feed(&mut pace, &mut clock, 2.5, 512, 1.0);
        assert!(!pace.observe(clock, 0));
    }

    #[test]
    fn bursts_of_a_real_time_host_are_not_mistaken_for_a_render() {
        let mut pace = RenderPace::new(48_000.0);
        let mut clock = Instant::now();
        let block = 256;
        let period = Duration::from_secs_f64(block as f64 / 48_000.0);
        // Four buffers back to back, then a wait for the four periods they stand for.
        for _ in 0..200 {
            for _ in 0..4 {
                clock += Duration::from_micros(20);
                assert!(!pace.observe(clock, block));
            }
            clock += period * 4 - Duration::from_micros(80);
        }
    }

    #[test]
    fn nothing_counts_as_offline_before_a_window_is_measured() {
        let mut pace = RenderPace::new(44_100.0);
        let clock = Instant::now();
        for _ in 0..10 {
            assert!(!pace.observe(clock, 1024));
        }
        pace.reset();
        assert!(!pace.observe(clock, 1024));
    }
}
