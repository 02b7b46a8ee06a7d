//! Scoring a recording: overlapping segments through the autoencoder, one score per segment
//! (the reconstruction error, or a dual autoencoder's edited-minus-raw error).

use anyhow::Result;
use serde::{Deserialize, Serialize};

use super::features::FeatureStats;
use super::features::LogMel;
use super::model::{normalised_segment_batch, segment_batch, Autoencoder, SegmentMeasure};
use super::pairs::descriptors::segment_starts;
use super::timeline::Segment;

/// Segments run through the model at once; large enough to keep the matrix kernels busy,
/// small enough that a long file never needs much memory.
const BATCH: usize = 64;

/// Per-segment scores of one recording, in source seconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoreTimeline {
    /// Scored segments, ascending by start.
    pub segments: Vec<Segment>,
    /// Length of one segment in seconds.
    pub segment_seconds: f64,
    /// Step between segment starts in seconds.
    pub hop_seconds: f64,
    /// Duration of the recording in seconds.
    pub duration: f64,
}

impl ScoreTimeline {
    /// A timeline from `(first frame, score)` pairs of `segment_frames`-long segments taken every
    /// `hop_frames` frames, clipped to the recording's `duration`.
    pub fn from_frames(
        scored: impl IntoIterator<Item = (usize, f64)>,
        segment_frames: usize,
        hop_frames: usize,
        frame_rate: f64,
        duration: f64,
    ) -> Self {
        let frame_seconds = 1.0 / frame_rate;
        let segments = scored
            .into_iter()
            .map(|(start, score)| Segment {
                start: (start as f64 * frame_seconds).min(duration),
                end: ((start + segment_frames) as f64 * frame_seconds).min(duration),
                score,
            })
            .collect();
        Self {
            segments,
            segment_seconds: segment_frames as f64 * frame_seconds,
            hop_seconds: hop_frames as f64 * frame_seconds,
            duration,
        }
    }

    /// Scores of consecutive bins `hop_seconds` long: each bin takes the mean score of the
    /// segments that cover it, so one loud moment in a long segment does not mark its
    /// neighbours bad.
    pub fn bin_scores(&self) -> Vec<f64> {
        if self.hop_seconds <= 0.0 || self.duration <= 0.0 {
            return Vec::new();
        }
        let bins = (self.duration / self.hop_seconds).ceil() as usize;
        let mut sum = vec![0.0; bins];
        let mut count = vec![0usize; bins];
        for seg in &self.segments {
            let first = (seg.start / self.hop_seconds).floor().max(0.0) as usize;
            let last = ((seg.end / self.hop_seconds).ceil() as usize).min(bins);
            for b in first..last {
                sum[b] += seg.score;
                count[b] += 1;
            }
        }
        let mut scores: Vec<f64> = sum
            .iter()
            .zip(&count)
            .map(|(s, &c)| if c > 0 { s / c as f64 } else { f64::NAN })
            .collect();
        // Bins no segment reaches (none, normally) borrow their neighbour's score.
        for b in 1..bins {
            if scores[b].is_nan() {
                scores[b] = scores[b - 1];
            }
        }
        scores
    }
}

/// Scores a normalised spectrogram by the model's score (see [`SegmentMeasure::Score`]).
/// `hop_frames` is the step between segment starts; the last segment is aligned to the end so
/// the tail of the file is always scored.
pub fn score_spectrogram(
    model: &Autoencoder,
    spec: &LogMel,
    hop_frames: usize,
) -> Result<Vec<(usize, f64)>> {
    measure_spectrogram(model, spec, hop_frames, SegmentMeasure::Score)
}

/// `measure` of every segment of a normalised spectrogram, as `(first frame, value)`, with the
/// segments of [`score_spectrogram`].
pub fn measure_spectrogram(
    model: &Autoencoder,
    spec: &LogMel,
    hop_frames: usize,
    measure: SegmentMeasure,
) -> Result<Vec<(usize, f64)>> {
    measure_segments(model, spec, None, hop_frames, measure)
}

/// `measure` of every segment, normalising with `stats` as segments are gathered when the
/// spectrogram is not normalised yet (so no normalised copy of a long recording is made).
fn measure_segments(
    model: &Autoencoder,
    spec: &LogMel,
    stats: Option<&FeatureStats>,
    hop_frames: usize,
    measure: SegmentMeasure,
) -> Result<Vec<(usize, f64)>> {
    let seg = model.config().segment_frames;
    let starts = segment_starts(spec.frames(), seg, hop_frames.max(1));
    let mut out = Vec::with_capacity(starts.len());
    for chunk in starts.chunks(BATCH) {
        let (dtype, device) = (model.dtype(), model.device());
        let batch = match stats {
            Some(stats) => normalised_segment_batch(spec, stats, chunk, seg, dtype, device)?,
            None => segment_batch(spec, chunk, seg, dtype, device)?,
        };
        let values = model
            .measure(&batch, measure)?
            .to_dtype(candle_core::DType::F64)?
            .to_vec1::<f64>()?;
        out.extend(chunk.iter().copied().zip(values));
    }
    Ok(out)
}

/// Scores an unnormalised log-mel spectrogram of a recording lasting `duration` seconds.
pub fn score_log_mel(
    model: &Autoencoder,
    spec: &LogMel,
    duration: f64,
    hop_frames: usize,
) -> Result<ScoreTimeline> {
    let stats = &model.config().stats;
    let scored = measure_segments(model, spec, Some(stats), hop_frames, SegmentMeasure::Score)?;
    Ok(ScoreTimeline::from_frames(
        scored,
        model.config().segment_frames,
        hop_frames.max(1),
        spec.frame_rate,
        duration,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::model::ModelConfig;

    #[test]
    fn scoring_an_unnormalised_spectrogram_equals_scoring_its_normalised_copy() {
        let mut config = ModelConfig::tiny_for_tests(vec![2], 2);
        let n_mels = config.features.n_mels;
        config.stats = FeatureStats {
            mean: (0..n_mels).map(|b| -3.0 + b as f32).collect(),
            std: (0..n_mels).map(|b| 0.5 + 0.25 * b as f32).collect(),
        };
        let model = Autoencoder::new(config, candle_core::DType::F32, 0).unwrap();
        let mut rng = crate::synth::Lcg::new(9);
        let spec = LogMel {
            n_mels,
            frame_rate: 86.0,
            data: (0..n_mels * 150)
                .map(|_| 4.0 * rng.sample() - 2.0)
                .collect(),
        };
        let mut normalised = spec.clone();
        model.config().stats.apply(&mut normalised);
        let copied = score_spectrogram(&model, &normalised, 5).unwrap();
        let timeline = score_log_mel(&model, &spec, 150.0 / 86.0, 5).unwrap();
        let scores: Vec<f64> = timeline.segments.iter().map(|s| s.score).collect();
        assert_eq!(scores, copied.iter().map(|c| c.1).collect::<Vec<_>>());
        assert!(scores.iter().any(|&s| s > 0.0));
    }

    #[test]
    fn bins_average_the_segments_covering_them() {
        let timeline = ScoreTimeline {
            segments: vec![
                Segment {
                    start: 0.0,
                    end: 2.0,
                    score: 1.0,
                },
                Segment {
                    start: 1.0,
                    end: 3.0,
                    score: 3.0,
                },
            ],
            segment_seconds: 2.0,
            hop_seconds: 1.0,
            duration: 3.0,
        };
        assert_eq!(timeline.bin_scores(), vec![1.0, 2.0, 3.0]);
    }
}
