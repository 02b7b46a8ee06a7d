//! Scoring when a user has edited files only (no raw side to learn from).
//!
//! The autoencoder's plain reconstruction error ranks silence, hum and talk as *good*: simple
//! signals reconstruct well. What edited audio does tell is what kept material looks like in
//! the descriptor space the pair classifier uses (the autoencoder's error and latent code, band
//! envelope and dynamics, relative to the recording and in context). A segment is scored by
//! how far it lies from that distribution: the mean squared z-score of its descriptors against
//! the edited segments'. Anything unlike the kept music scores high, whatever kind of junk it
//! is; nothing here names one. The threshold is a percentile of the edited segments' own
//! scores, as the seed calibrates reconstruction error.

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};

use crate::engine::features::LogMel;
use crate::engine::model::{percentile_of_sorted, Autoencoder};
use crate::engine::pairs::classifier::column_stats;
use crate::engine::pairs::descriptors::local_dim;
use crate::engine::pairs::{
    classifier_geometry, local_descriptors_of, with_typical_prior, SegmentDescriptors,
};

/// Name of the novelty scorer's file in a model directory.
pub const NOVELTY_FILE: &str = "novelty.json";

/// Descriptor blocks compared: the segment relative to its recording's median, and its short
/// context. The long context and the median itself describe the whole session; comparing them
/// made sessions unlike the training ones look junk from end to end (segment AUC 0.83 on
/// dev/test with all four blocks, 0.90 with these two; chosen on dev/train: 0.92 with one
/// block, 0.94 with two, 0.93 with three).
const COMPARED_BLOCKS: usize = 2;

/// Default percentile of the edited segments' own scores used as the threshold. Chosen on
/// dev/train's raw recordings (cut F1 0.45 at p99, 0.84 at p95, 0.87 at p90 with 11 % of the
/// music lost): the distances of kept music spread wider than one segment in a hundred.
pub const DEFAULT_PERCENTILE: f64 = 95.0;

/// z-scores are clipped to this many standard deviations, so one column that barely varied in
/// the edited audio cannot decide alone.
const CLAMP: f32 = 4.0;

/// Distance of segments from the edited audio's descriptors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NoveltyScorer {
    /// Step between scored segments, in frames.
    pub hop_frames: usize,
    /// Radius of the short context window, in segments.
    pub short_context: usize,
    /// Radius of the long context window, in segments.
    pub long_context: usize,
    /// Per-column mean of the edited segments' contextual descriptors.
    pub mean: Vec<f32>,
    /// Per-column standard deviation of the same.
    pub std: Vec<f32>,
    /// The edited recordings' typical median of the local descriptors.
    pub median_prior: Vec<f32>,
    /// Score above which a segment is cut.
    pub threshold: f64,
    /// Percentile of the edited segments' scores the threshold was set at.
    pub percentile: f64,
}

impl NoveltyScorer {
    /// Fits the scorer to edited recordings (unnormalised log-mel), with the threshold at
    /// `percentile` of their own segments' scores.
    pub fn fit(model: &Autoencoder, edited: &[LogMel], percentile: f64) -> Result<Self> {
        let (hop, short, long) = classifier_geometry(model);
        let locals = edited
            .iter()
            .map(|spec| local_descriptors_of(model, spec, hop))
            .collect::<Result<Vec<_>>>()?;
        let (contextual, prior) = with_typical_prior(model, &locals);
        let rows: Vec<f32> = contextual.into_iter().flat_map(|d| d.values).collect();
        let dim = 4 * local_dim(model);
        if rows.is_empty() {
            bail!("no edited segments to learn what kept audio looks like");
        }
        let (mean, std) = column_stats(&rows, dim);
        let mut scorer = Self {
            hop_frames: hop,
            short_context: short,
            long_context: long,
            mean,
            std,
            median_prior: prior.values,
            threshold: 0.0,
            percentile,
        };
        let mut scores = scorer.score_rows(&rows);
        scores.sort_by(f64::total_cmp);
        scorer.threshold = percentile_of_sorted(&scores, percentile);
        Ok(scorer)
    }

    /// The typical median of the edited recordings' local descriptors; `None` if it is not
    /// `local_dim` wide.
    pub fn median_prior_values(&self, local_dim: usize) -> Option<&[f32]> {
        (self.median_prior.len() == local_dim).then_some(self.median_prior.as_slice())
    }

    /// Score of each contextual row (row-major, the scorer's width).
    pub fn score_rows(&self, rows: &[f32]) -> Vec<f64> {
        let dim = self.mean.len().max(1);
        let used = dim / 4 * COMPARED_BLOCKS;
        rows.chunks_exact(dim)
            .map(|row| {
                let sum: f64 = row[..used]
                    .iter()
                    .zip(&self.mean)
                    .zip(&self.std)
                    .map(|((v, m), s)| f64::from(((v - m) / s).clamp(-CLAMP, CLAMP)).powi(2))
                    .sum();
                sum / used as f64
            })
            .collect()
    }

    /// Scores of contextual descriptors.
    pub fn score(&self, descriptors: &SegmentDescriptors) -> Result<Vec<f64>> {
        if descriptors.dim != self.mean.len() {
            bail!(
                "descriptor width {} does not match the novelty scorer's {}",
                descriptors.dim,
                self.mean.len()
            );
        }
        Ok(self.score_rows(&descriptors.values))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scorer(mean: Vec<f32>, std: Vec<f32>) -> NoveltyScorer {
        NoveltyScorer {
            hop_frames: 8,
            short_context: 1,
            long_context: 2,
            median_prior: vec![0.0; mean.len()],
            mean,
            std,
            threshold: 1.0,
            percentile: 99.0,
        }
    }

    #[test]
    fn rows_far_from_the_edited_distribution_score_higher_and_clip() {
        // Four blocks of two columns; the first two blocks are compared.
        let s = scorer(vec![0.0; 8], vec![1.0, 1.0, 1.0, 2.0, 1.0, 1.0, 1.0, 1.0]);
        let typical = [0.0; 8];
        let off = [1.0, 0.0, 0.0, 2.0, 0.0, 0.0, 0.0, 0.0];
        let clipped = [100.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0];
        let session_wide = [0.0, 0.0, 0.0, 0.0, 50.0, 50.0, 50.0, 50.0];
        let rows: Vec<f32> = [typical, off, clipped, session_wide].concat();
        let scores = s.score_rows(&rows);
        assert_eq!(scores[0], 0.0);
        assert!((scores[1] - 0.5).abs() < 1e-9); // (1 + 1) / 4
        assert!((scores[2] - 4.0).abs() < 1e-9); // clipped at 4 sd: 16 / 4
        assert_eq!(scores[3], 0.0); // the long context and the median are not compared
        s.score(&SegmentDescriptors {
            starts: vec![0],
            values: vec![0.0; 4],
            dim: 4,
        })
        .unwrap_err();
    }
}
