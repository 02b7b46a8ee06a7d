//! What the editor shows, as one immutable value the analysis thread publishes, and the marker
//! exports built from it.

use crate::engine::cut_list::CutList;
use crate::engine::timeline::{Segment, TimeRange};

use super::midi_file::{write_smf, TimedMessage};
use super::params::MidiSettings;

/// One scored bin on the song timeline.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TimelineBin {
    /// Start in song seconds (stream seconds when the host gives no position).
    pub start: f64,
    /// Length in seconds.
    pub length: f64,
    /// Start in quarter notes, when the host gives a musical position.
    pub beats: Option<f64>,
    /// Bin score.
    pub score: f64,
    /// Kept or cut; `None` until decided.
    pub keep: Option<bool>,
}

/// A cut on the song timeline.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CutMarker {
    /// Start in song seconds.
    pub start: f64,
    /// End in song seconds.
    pub end: f64,
    /// Start in quarter notes, when known.
    pub start_beats: Option<f64>,
    /// End in quarter notes, when known.
    pub end_beats: Option<f64>,
}

/// The loudness of the analysed song, for its waveform.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Levels {
    /// Seconds each value covers.
    pub block_seconds: f64,
    /// Per stretch heard: where it starts, in song seconds, and the mean square of each block.
    pub runs: Vec<(f64, Vec<f32>)>,
}

/// The model in use.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ModelInfo {
    /// Name from the model's config.
    pub name: String,
    /// "built-in" or the directory it came from.
    pub source: String,
    /// How it scores: reconstruction error or the pair classifier's cut probability.
    pub method: String,
    /// `(percentile, error)` pairs of the calibration.
    pub calibration: Vec<(f64, f64)>,
    /// The calibrated threshold: what the threshold parameter's "model" setting uses.
    pub calibrated_threshold: f64,
}

/// Everything the editor draws, as of one moment of the analysis.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// Recent bins, oldest first (bounded).
    pub bins: Vec<TimelineBin>,
    /// Recent cuts, oldest first (bounded).
    pub cuts: Vec<CutMarker>,
    /// Absolute threshold in use.
    pub threshold: f64,
    /// The model.
    pub model: ModelInfo,
    /// Seconds of input waiting for analysis beyond what the lookahead allows for.
    pub lag_seconds: f64,
    /// Analysis time as a share of the audio time analysed (1 = real time).
    pub load: f64,
    /// Seconds of audio analysed since the last reset.
    pub analysed_seconds: f64,
    /// Timeline analysis: the analysed spans of the song, in song seconds (everything else
    /// passes untouched); empty in lookahead mode.
    pub coverage: Vec<(f64, f64)>,
    /// The loudness of the analysed song (Timeline analysis; empty in lookahead mode).
    pub levels: Levels,
    /// Host tempo, if any.
    pub tempo: Option<f64>,
    /// Host time signature, if any.
    pub time_sig: Option<(i32, i32)>,
    /// Why the plugin is passing audio through untouched, if it is.
    pub fault: Option<String>,
    /// Something the user should know that does not stop the plugin (a saved analysis that
    /// could not be restored).
    pub notice: Option<String>,
}

impl Snapshot {
    /// A snapshot saying only that something is wrong.
    pub fn fault(message: impl Into<String>) -> Self {
        Self {
            fault: Some(message.into()),
            ..Self::default()
        }
    }

    /// Where the song known so far ends: the last bin, or the last stretch heard.
    pub fn song_end(&self) -> f64 {
        let bins = self.bins.last().map_or(0.0, |b| b.start + b.length);
        let heard = self.coverage.last().map_or(0.0, |c| c.1);
        bins.max(heard)
    }

    /// The analysed span as the engine's cut list, in song seconds, so the Audacity and REAPER
    /// exports line up with the DAW's timeline.
    pub fn cut_list(&self, sample_rate: u32) -> CutList {
        let duration = self
            .bins
            .last()
            .map_or(0.0, |b| b.start + b.length)
            .max(0.0);
        let mut keep = Vec::new();
        let mut cursor = 0.0;
        for cut in &self.cuts {
            if cut.start > cursor {
                keep.push(TimeRange::new(cursor, cut.start.min(duration)));
            }
            cursor = cursor.max(cut.end);
        }
        if cursor < duration {
            keep.push(TimeRange::new(cursor, duration));
        }
        let segments = self
            .bins
            .iter()
            .map(|b| Segment {
                start: b.start,
                end: b.start + b.length,
                score: b.score,
            })
            .collect();
        CutList::new(
            "plugin",
            sample_rate,
            duration,
            &keep,
            segments,
            self.threshold,
            self.model.name.clone(),
        )
    }

    /// A MIDI file: the score on the settings' controller, each cut as their note, on their
    /// channel.
    pub fn midi_file(&self, midi: MidiSettings) -> Vec<u8> {
        let tempo = self.tempo.unwrap_or(120.0);
        let to_beats = |seconds: f64, beats: Option<f64>| beats.unwrap_or(seconds * tempo / 60.0);
        let MidiSettings {
            channel: ch,
            cc,
            note,
            ..
        } = midi;
        let mut messages: Vec<TimedMessage> = self
            .bins
            .iter()
            .map(|b| TimedMessage {
                beats: to_beats(b.start, b.beats),
                bytes: [0xB0 | ch, cc, cc_value(b.score, self.threshold)],
            })
            .collect();
        for cut in &self.cuts {
            messages.push(TimedMessage {
                beats: to_beats(cut.start, cut.start_beats),
                bytes: [0x90 | ch, note, 100],
            });
            messages.push(TimedMessage {
                beats: to_beats(cut.end, cut.end_beats),
                bytes: [0x80 | ch, note, 0],
            });
        }
        write_smf(tempo, messages)
    }
}

/// A score scaled to 0..=1 with the threshold at one half, the CC mapping used everywhere.
pub fn scaled_score(score: f64, threshold: f64) -> f32 {
    if !(score.is_finite() && threshold > 0.0) {
        return 0.0;
    }
    (score / (2.0 * threshold)).clamp(0.0, 1.0) as f32
}

/// A score as a 7-bit controller value.
pub fn cc_value(score: f64, threshold: f64) -> u8 {
    (scaled_score(score, threshold) * 127.0).round() as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    fn analysed() -> Snapshot {
        let bins = (0..20)
            .map(|i| TimelineBin {
                start: f64::from(i) * 0.5,
                length: 0.5,
                beats: Some(f64::from(i)),
                score: if (8..12).contains(&i) { 9.0 } else { 1.0 },
                keep: Some(!(8..12).contains(&i)),
            })
            .collect();
        Snapshot {
            bins,
            cuts: vec![CutMarker {
                start: 4.0,
                end: 6.0,
                start_beats: Some(8.0),
                end_beats: Some(12.0),
            }],
            threshold: 3.0,
            tempo: Some(120.0),
            ..Snapshot::default()
        }
    }

    #[test]
    fn exports_carry_the_cuts_in_song_time() {
        let snapshot = analysed();
        let list = snapshot.cut_list(48_000);
        assert_eq!(list.duration, 10.0);
        assert!(list.validate().is_ok());
        let labels = list.to_audacity_labels();
        assert_eq!(labels.lines().count(), 1);
        assert!(
            labels.starts_with("4.000000\t6.000000\tcut 1 (score 9"),
            "{labels}"
        );
        assert!(list
            .to_reaper_csv()
            .contains("R1,cut 1,0:00:04.000,0:00:06.000"));
    }

    #[test]
    fn the_midi_file_has_a_note_for_each_cut_and_a_cc_per_bin() {
        let file = snapshot_midi();
        let count = |pattern: &[u8]| {
            file.windows(pattern.len())
                .filter(|w| *w == pattern)
                .count()
        };
        // Channel 2 (0-based 1): note on 0x91 and off 0x81 of key 60, score CC 20 on 0xB1.
        assert_eq!(count(&[0x91, 60, 100]), 1);
        assert_eq!(count(&[0x81, 60, 0]), 1);
        assert_eq!(count(&[0xB1, 20]), 20);
        // The cut's bins sit above the threshold: 9 / (2 * 3) clamps to full scale.
        assert_eq!(count(&[0xB1, 20, 127]), 4);
    }

    fn snapshot_midi() -> Vec<u8> {
        analysed().midi_file(MidiSettings {
            enabled: true,
            channel: 1,
            cc: 20,
            note: 60,
        })
    }

    #[test]
    fn scores_map_to_controller_values_with_the_threshold_at_the_middle() {
        assert_eq!(cc_value(1.5, 1.5), 64);
        assert_eq!(cc_value(0.0, 1.5), 0);
        assert_eq!(cc_value(100.0, 1.5), 127);
        assert_eq!(cc_value(f64::NAN, 1.5), 0);
    }
}
