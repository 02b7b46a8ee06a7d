//! A level gate in the style of a DAW's "Strip Silence": the baseline every learned method has to
//! beat. Audio quieter than a threshold for long enough is cut, with pads kept around the rest.

use serde::{Deserialize, Serialize};

use crate::engine::audio_io::AudioClip;
use crate::engine::cut_plan::CutPlan;
use crate::engine::timeline::{Segment, TimeRange};

/// Strip-silence parameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LevelGate {
    /// Level below which audio counts as silence, in dBFS (RMS over 10 ms windows).
    pub threshold_db: f64,
    /// Shortest silence that is cut, in seconds.
    pub min_silence: f64,
    /// Audio kept on each side of the remaining material, in seconds.
    pub pad: f64,
}

impl Default for LevelGate {
    fn default() -> Self {
        Self {
            threshold_db: -40.0,
            min_silence: 0.5,
            pad: 0.1,
        }
    }
}

/// Length of one level measurement window.
const WINDOW_SECONDS: f64 = 0.01;

impl LevelGate {
    /// RMS level in dBFS of consecutive 10 ms windows of the downmixed clip.
    pub fn levels(clip: &AudioClip) -> Vec<f64> {
        let mono = clip.mono();
        let window = ((f64::from(clip.sample_rate) * WINDOW_SECONDS).round() as usize).max(1);
        mono.chunks(window)
            .map(|w| {
                let power = w.iter().map(|s| f64::from(*s).powi(2)).sum::<f64>() / w.len() as f64;
                10.0 * (power + 1e-20).log10()
            })
            .collect()
    }

    /// The kept ranges of `clip`.
    pub fn plan(&self, clip: &AudioClip) -> CutPlan {
        let duration = clip.duration();
        let quiet: Vec<bool> = Self::levels(clip)
            .iter()
            .map(|&db| db < self.threshold_db)
            .collect();
        let mut cuts = Vec::new();
        let mut i = 0;
        while i < quiet.len() {
            if !quiet[i] {
                i += 1;
                continue;
            }
            let start = i;
            while i < quiet.len() && quiet[i] {
                i += 1;
            }
            let (a, b) = (
                start as f64 * WINDOW_SECONDS,
                (i as f64 * WINDOW_SECONDS).min(duration),
            );
            if b - a >= self.min_silence {
                // Pads protect the material, but not beyond the file's edges.
                let a = if start == 0 { a } else { a + self.pad };
                let b = if i == quiet.len() { b } else { b - self.pad };
                if b > a {
                    cuts.push(TimeRange::new(a, b));
                }
            }
        }
        let mut keep = Vec::new();
        let mut t = 0.0;
        for c in &cuts {
            if c.start > t {
                keep.push(TimeRange::new(t, c.start));
            }
            t = c.end;
        }
        if duration > t {
            keep.push(TimeRange::new(t, duration));
        }
        CutPlan::from_keep(duration, keep)
    }

    /// Segment scores for ranking (higher = worse): the negated level of each `hop`-second
    /// stretch, so quieter audio ranks as worse.
    pub fn segments(clip: &AudioClip, length: f64, hop: f64) -> Vec<Segment> {
        let levels = Self::levels(clip);
        let per = |s: f64| (s / WINDOW_SECONDS).round().max(1.0) as usize;
        let (len, step) = (per(length), per(hop));
        let mut out = Vec::new();
        let mut start = 0;
        while start < levels.len() {
            let end = (start + len).min(levels.len());
            let power: f64 = levels[start..end]
                .iter()
                .map(|db| 10f64.powf(db / 10.0))
                .sum::<f64>()
                / (end - start) as f64;
            out.push(Segment {
                start: start as f64 * WINDOW_SECONDS,
                end: (end as f64 * WINDOW_SECONDS).min(clip.duration()),
                score: -10.0 * (power + 1e-20).log10(),
            });
            if end == levels.len() {
                break;
            }
            start += step;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clip_with_gap() -> AudioClip {
        let sr = 1000;
        let mut s: Vec<f32> = (0..2000)
            .map(|i| if i % 2 == 0 { 0.5 } else { -0.5 })
            .collect();
        s.extend(vec![0.0; 1000]);
        s.extend((0..2000).map(|i| if i % 2 == 0 { 0.5 } else { -0.5 }));
        AudioClip::new(sr, vec![s])
    }

    #[test]
    fn cuts_long_silence_with_pads() {
        let plan = LevelGate::default().plan(&clip_with_gap());
        assert_eq!(plan.keep.len(), 2);
        assert!((plan.keep[0].end - 2.1).abs() < 1e-9);
        assert!((plan.keep[1].start - 2.9).abs() < 1e-9);
    }

    #[test]
    fn short_silence_stays() {
        let gate = LevelGate {
            min_silence: 1.5,
            ..LevelGate::default()
        };
        assert_eq!(gate.plan(&clip_with_gap()).keep.len(), 1);
    }

    #[test]
    fn quiet_segments_score_worse() {
        let segs = LevelGate::segments(&clip_with_gap(), 0.5, 0.5);
        let loud = segs[0].score;
        let quiet = segs
            .iter()
            .find(|s| s.start >= 2.0 && s.end <= 3.0)
            .unwrap()
            .score;
        assert!(quiet > loud);
    }
}
