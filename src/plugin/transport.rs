//! Mapping stream positions to the host's song time and musical grid, from the transport tags
//! the audio thread attaches to each block.

use std::collections::VecDeque;

use crate::engine::beats::BeatGrid;

use super::shared::TransportTag;

/// Seconds of tags kept: the planner and the editor only ask about the recent past and the
/// lookahead.
const KEEP_SECONDS: f64 = 60.0;

/// Recent transport tags by stream position.
pub struct SongClock {
    rate: f64,
    tags: VecDeque<(u64, TransportTag)>,
}

impl SongClock {
    /// A clock for audio at `rate` Hz.
    pub fn new(rate: u32) -> Self {
        Self {
            rate: f64::from(rate.max(1)),
            tags: VecDeque::new(),
        }
    }

    /// Forgets every tag.
    pub fn clear(&mut self) {
        self.tags.clear();
    }

    /// Records the transport at stream position `position`.
    pub fn push(&mut self, position: u64, tag: TransportTag) {
        // Consecutive tags of a playing transport carry no new information, but one per block
        // costs little and follows tempo changes and jumps exactly.
        self.tags.push_back((position, tag));
        let horizon = (KEEP_SECONDS * self.rate) as u64;
        while self
            .tags
            .front()
            .is_some_and(|(p, _)| p + horizon < position)
        {
            self.tags.pop_front();
        }
    }

    /// The tag in force at `position`: the newest at or before it (or the oldest held).
    fn tag_at(&self, position: u64) -> Option<(u64, TransportTag)> {
        let i = self.tags.partition_point(|(p, _)| *p <= position);
        self.tags.get(i.saturating_sub(1)).copied()
    }

    /// The newest tag.
    pub fn latest(&self) -> Option<TransportTag> {
        self.tags.back().map(|(_, t)| *t)
    }

    /// Song time in seconds and quarter notes at stream `position`; without a host position
    /// the stream time stands in.
    pub fn song_time(&self, position: u64) -> (f64, Option<f64>) {
        let stream_seconds = position as f64 / self.rate;
        let Some((at, tag)) = self.tag_at(position) else {
            return (stream_seconds, None);
        };
        let Some(song) = tag.song_samples.filter(|_| tag.playing) else {
            return (stream_seconds, None);
        };
        let offset = (position as f64 - at as f64) / self.rate;
        let seconds = song as f64 / self.rate + offset;
        let beats = match (tag.beats, tag.tempo) {
            (Some(b), Some(t)) => Some(b + offset * t / 60.0),
            _ => None,
        };
        (seconds, beats)
    }

    /// The host's beats and bars between stream seconds `from` and `to`, as stream seconds, or
    /// `None` when the transport is stopped or reports no tempo.
    pub fn grid(&self, from: f64, to: f64) -> Option<BeatGrid> {
        let mid = ((from + to) / 2.0 * self.rate).max(0.0) as u64;
        let (at, tag) = self.tag_at(mid)?;
        host_grid(&tag, at as f64 / self.rate, from, to)
    }
}

/// The beats and bars `tag` describes between `from` and `to` seconds, on a clock where the
/// tag was taken at `at_seconds` (the tempo held constant), or `None` when the transport is
/// stopped or reports no tempo.
pub fn host_grid(tag: &TransportTag, at_seconds: f64, from: f64, to: f64) -> Option<BeatGrid> {
    let (beats, tempo) = (tag.beats?, tag.tempo?);
    if !tag.playing || tempo.is_nan() || tempo <= 0.0 {
        return None;
    }
    let seconds_per_beat = 60.0 / tempo;
    let first = (beats + (from - at_seconds) / seconds_per_beat).floor();
    let last = (beats + (to - at_seconds) / seconds_per_beat).ceil();
    let bar_length = tag
        .time_sig
        .filter(|(n, d)| *n > 0 && *d > 0)
        .map_or(4.0, |(n, d)| f64::from(n) * 4.0 / f64::from(d));
    let bar_origin = tag.bar_start_beats.unwrap_or(0.0);
    let mut grid = BeatGrid::empty();
    grid.tempo_bpm = tempo;
    let mut b = first;
    while b <= last {
        let t = at_seconds + (b - beats) * seconds_per_beat;
        grid.beats.push(t);
        let in_bar = (b - bar_origin).rem_euclid(bar_length);
        if in_bar < 1e-6 || bar_length - in_bar < 1e-6 {
            grid.downbeats.push(t);
        }
        b += 1.0;
    }
    Some(grid)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn playing(song_samples: i64, beats: f64) -> TransportTag {
        TransportTag {
            playing: true,
            song_samples: Some(song_samples),
            beats: Some(beats),
            tempo: Some(120.0),
            bar_start_beats: Some(0.0),
            time_sig: Some((3, 4)),
        }
    }

    #[test]
    fn song_time_follows_the_host_position() {
        let mut clock = SongClock::new(1000);
        clock.push(0, playing(5000, 10.0));
        let (seconds, beats) = clock.song_time(500);
        assert!((seconds - 5.5).abs() < 1e-9);
        assert!((beats.unwrap() - 11.0).abs() < 1e-9);
        let mut stopped = playing(0, 0.0);
        stopped.playing = false;
        clock.push(1000, stopped);
        assert_eq!(clock.song_time(2000), (2.0, None));
    }

    #[test]
    fn grid_has_beats_and_bars_of_the_time_signature() {
        let mut clock = SongClock::new(1000);
        clock.push(0, playing(0, 0.0));
        let grid = clock.grid(0.0, 3.0).unwrap();
        // 120 BPM: a beat every 0.5 s; 3/4: a bar every 1.5 s.
        assert!(grid.beats.iter().any(|&t| (t - 2.5).abs() < 1e-9));
        assert_eq!(
            grid.downbeats.iter().filter(|&&t| t <= 3.0 + 1e-9).count(),
            3
        );
        assert!(grid.downbeats.iter().any(|&t| (t - 1.5).abs() < 1e-9));
    }
}
