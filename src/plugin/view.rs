//! What stretch of the song the editor's timeline shows (saved with the project), and how the
//! wheel, a drag and a double-click move it: arithmetic on song seconds, apart from drawing.

use serde::{Deserialize, Serialize};

/// The shortest stretch the timeline zooms in to.
pub const MIN_SECONDS: f64 = 1.0;
/// The longest: a whole song, or a long session.
pub const MAX_SECONDS: f64 = 4.0 * 3600.0;
/// What an empty song shows.
const EMPTY_SECONDS: f64 = 30.0;

/// The stretch of the song the timeline shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum View {
    /// Everything analysed, refitted as the song grows: the default.
    #[default]
    Whole,
    /// The newest `seconds`, scrolling as the analysis goes on.
    Follow {
        /// Seconds shown.
        seconds: f64,
    },
    /// A stretch the user zoomed or scrolled to, which stays put.
    Fixed {
        /// Song seconds at the left edge.
        start: f64,
        /// Seconds shown.
        seconds: f64,
    },
}

impl View {
    /// The song seconds `[start, end)` shown when the analysis reaches `song_end`.
    pub fn range(self, song_end: f64) -> (f64, f64) {
        let song_end = song_end.max(0.0);
        match self {
            Self::Whole => (
                0.0,
                if song_end > 0.0 {
                    song_end
                } else {
                    EMPTY_SECONDS
                },
            ),
            Self::Follow { seconds } => {
                let end = song_end.max(seconds);
                (end - seconds, end)
            }
            Self::Fixed { start, seconds } => (start, start + seconds),
        }
    }

    /// Zoomed by `factor` (below 1 zooms in) about song time `at`, which stays under the
    /// pointer.
    pub fn zoomed(self, song_end: f64, at: f64, factor: f64) -> Self {
        let (start, end) = self.range(song_end);
        let seconds = end - start;
        let new = (seconds * factor).clamp(MIN_SECONDS, MAX_SECONDS);
        if new >= song_end {
            return Self::Whole;
        }
        let share = if seconds > 0.0 {
            ((at - start) / seconds).clamp(0.0, 1.0)
        } else {
            0.5
        };
        Self::Fixed {
            start: at - share * new,
            seconds: new,
        }
        .clamped(song_end)
    }

    /// Scrolled later by `by` seconds (earlier when negative).
    pub fn scrolled(self, song_end: f64, by: f64) -> Self {
        let (start, end) = self.range(song_end);
        Self::Fixed {
            start: start + by,
            seconds: end - start,
        }
        .clamped(song_end)
    }

    /// Kept over the song: a fixed view never starts before 0 nor leaves the song's end
    /// behind by more than its own width.
    fn clamped(self, song_end: f64) -> Self {
        match self {
            Self::Fixed { start, seconds } => {
                let last = (song_end - seconds).max(0.0);
                Self::Fixed {
                    start: start.clamp(0.0, last),
                    seconds,
                }
            }
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_whole_song_is_shown_and_refitted_as_it_grows() {
        assert_eq!(View::Whole.range(0.0), (0.0, EMPTY_SECONDS));
        assert_eq!(View::Whole.range(183.0), (0.0, 183.0));
        assert_eq!(View::Whole.range(600.0), (0.0, 600.0));
        assert_eq!(View::Follow { seconds: 30.0 }.range(100.0), (70.0, 100.0));
        assert_eq!(View::Follow { seconds: 30.0 }.range(10.0), (0.0, 30.0));
    }

    #[test]
    fn zooming_keeps_the_time_under_the_pointer() {
        let view = View::Whole.zoomed(200.0, 50.0, 0.5);
        let (start, end) = view.range(200.0);
        assert!((end - start - 100.0).abs() < 1e-9);
        // 50 s was a quarter of the way across, and still is.
        assert!(((50.0 - start) / (end - start) - 0.25).abs() < 1e-9);
        // Zooming out past the song fits the song.
        assert_eq!(view.zoomed(200.0, 50.0, 4.0), View::Whole);
        // Not closer than MIN_SECONDS.
        let close = View::Whole.zoomed(200.0, 10.0, 1e-9);
        let (a, b) = close.range(200.0);
        assert!((b - a - MIN_SECONDS).abs() < 1e-9);
    }

    #[test]
    fn scrolling_stays_within_the_song() {
        let view = View::Fixed {
            start: 20.0,
            seconds: 40.0,
        };
        assert_eq!(view.scrolled(200.0, 10.0).range(200.0), (30.0, 70.0));
        assert_eq!(view.scrolled(200.0, -100.0).range(200.0), (0.0, 40.0));
        assert_eq!(view.scrolled(200.0, 1000.0).range(200.0), (160.0, 200.0));
    }
}
