//! What is stored in a model's `config.json` beside its weights.

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};

use crate::engine::features::{FeatureConfig, FeatureStats};

/// Version of the on-disk model format; bumped when old readers could misread new files.
pub const MODEL_FORMAT_VERSION: u32 = 1;

/// Architecture, features, normalisation and calibration of an autoencoder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelConfig {
    /// On-disk format version, see [`MODEL_FORMAT_VERSION`].
    pub format_version: u32,
    /// A short human-readable name.
    pub name: String,
    /// How segments are scored; `"autoencoder-mse"` is the seed method.
    pub method: String,
    /// Feature parameters the model was trained on.
    pub features: FeatureConfig,
    /// Frames per scored segment (64 frames is about 0.75 s at the default analysis rate).
    pub segment_frames: usize,
    /// Channels of the encoder's conv blocks; the decoder mirrors them.
    pub hidden_dims: Vec<usize>,
    /// Whether a second decoder, trained on raw recordings, shares the encoder (the seed's
    /// dual autoencoder). Its score is then the edited decoder's error minus the raw decoder's.
    /// Absent in older models, which have one decoder.
    #[serde(default, skip_serializing_if = "is_false")]
    pub raw_decoder: bool,
    /// Size of the bottleneck.
    pub latent_dim: usize,
    /// Per-band normalisation learned from the training set.
    pub stats: FeatureStats,
    /// Distribution of validation errors, for absolute thresholds.
    #[serde(default)]
    pub calibration: Option<Calibration>,
    /// How the model was trained, for the model card and reproducibility.
    #[serde(default)]
    pub training: Option<TrainingInfo>,
}

impl ModelConfig {
    /// A config with the seed design's architecture for the given features and statistics.
    pub fn seed_design(features: FeatureConfig, stats: FeatureStats) -> Self {
        Self {
            format_version: MODEL_FORMAT_VERSION,
            name: "audio-slicer".into(),
            method: "autoencoder-mse".into(),
            features,
            segment_frames: 64,
            hidden_dims: vec![32, 64, 128],
            raw_decoder: false,
            latent_dim: 64,
            stats,
            calibration: None,
            training: None,
        }
    }

    /// A tiny network for tests: 8 mel bands with identity normalisation, 8-frame segments,
    /// the given encoder channels and bottleneck.
    #[cfg(test)]
    pub fn tiny_for_tests(hidden_dims: Vec<usize>, latent_dim: usize) -> Self {
        let features = FeatureConfig {
            n_mels: 8,
            ..FeatureConfig::default()
        };
        let stats = FeatureStats {
            mean: vec![0.0; 8],
            std: vec![1.0; 8],
        };
        Self {
            segment_frames: 8,
            hidden_dims,
            latent_dim,
            ..Self::seed_design(features, stats)
        }
    }

    /// The factor by which the encoder shrinks each spatial axis.
    pub fn downsampling(&self) -> usize {
        1 << self.hidden_dims.len()
    }

    /// Rejects configs the network cannot be built from, with the reason.
    pub fn validate(&self) -> Result<()> {
        if self.format_version != MODEL_FORMAT_VERSION {
            bail!(
                "model format version {} is not supported (expected {MODEL_FORMAT_VERSION})",
                self.format_version
            );
        }
        self.features.validate()?;
        let down = self.downsampling();
        if self.hidden_dims.is_empty() || self.hidden_dims.contains(&0) || self.latent_dim == 0 {
            bail!("hidden_dims and latent_dim must be non-empty and positive");
        }
        if self.segment_frames == 0
            || self.segment_frames % down != 0
            || self.features.n_mels % down != 0
        {
            bail!(
                "segment_frames ({}) and n_mels ({}) must be multiples of {down} for {} pooling layers",
                self.segment_frames,
                self.features.n_mels,
                self.hidden_dims.len()
            );
        }
        if self.stats.mean.len() != self.features.n_mels
            || self.stats.std.len() != self.features.n_mels
        {
            bail!("normalisation statistics do not match n_mels");
        }
        if !self
            .stats
            .mean
            .iter()
            .chain(&self.stats.std)
            .all(|v| v.is_finite())
        {
            bail!("normalisation statistics hold NaN or infinite values: the config is damaged");
        }
        Ok(())
    }
}

fn is_false(b: &bool) -> bool {
    !b
}

/// Percentiles of per-segment scores (reconstruction errors, or a dual autoencoder's
/// edited-minus-raw errors) on held-out edited audio.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// `(percentile, error)` pairs, ascending.
    pub percentiles: Vec<(f64, f64)>,
    /// Mean error.
    pub mean: f64,
    /// Number of validation segments behind the figures.
    pub segments: usize,
    /// The percentile used as the default threshold.
    pub default_percentile: f64,
}

impl Calibration {
    /// Percentiles recorded for every calibrated model.
    pub const RECORDED: [f64; 10] = [1.0, 5.0, 25.0, 50.0, 75.0, 90.0, 95.0, 99.0, 99.5, 100.0];

    /// Calibration from raw validation errors.
    pub fn from_errors(errors: &[f64], default_percentile: f64) -> Option<Self> {
        let mut sorted: Vec<f64> = errors.iter().copied().filter(|e| e.is_finite()).collect();
        if sorted.is_empty() {
            return None;
        }
        sorted.sort_by(f64::total_cmp);
        let percentiles = Self::RECORDED
            .iter()
            .map(|&p| (p, percentile_of_sorted(&sorted, p)))
            .collect();
        Some(Self {
            percentiles,
            mean: sorted.iter().sum::<f64>() / sorted.len() as f64,
            segments: sorted.len(),
            default_percentile,
        })
    }

    /// The error at percentile `p`, interpolated between recorded percentiles.
    pub fn error_at(&self, p: f64) -> f64 {
        let pts = &self.percentiles;
        match pts.iter().position(|&(q, _)| q >= p) {
            None => pts.last().map_or(f64::INFINITY, |&(_, e)| e),
            Some(0) => pts[0].1,
            Some(i) => {
                let ((p0, e0), (p1, e1)) = (pts[i - 1], pts[i]);
                e0 + (e1 - e0) * (p - p0) / (p1 - p0).max(f64::EPSILON)
            }
        }
    }

    /// The default absolute threshold.
    pub fn default_threshold(&self) -> f64 {
        self.error_at(self.default_percentile)
    }
}

/// Linear-interpolated percentile (0..=100) of an ascending slice, as numpy's default.
pub fn percentile_of_sorted(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (p.clamp(0.0, 100.0) / 100.0) * (sorted.len() - 1) as f64;
    let lo = rank.floor() as usize;
    let hi = rank.ceil() as usize;
    sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo as f64)
}

/// Facts about a training run, recorded in the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingInfo {
    /// Files trained on.
    pub train_files: Vec<String>,
    /// Files held out for validation and calibration.
    pub validation_files: Vec<String>,
    /// Raw recordings trained on (dual autoencoder only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub raw_train_files: Vec<String>,
    /// Raw recordings held out for validation (dual autoencoder only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub raw_validation_files: Vec<String>,
    /// Epochs run.
    pub epochs: usize,
    /// Segments drawn per epoch.
    pub segments_per_epoch: usize,
    /// Epoch (1-based) of the kept checkpoint.
    pub best_epoch: usize,
    /// Validation loss of the kept checkpoint.
    pub best_validation_loss: f64,
    /// Random seed.
    pub seed: u64,
    /// Wall-clock training time in seconds.
    pub seconds: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_match_numpy_linear_interpolation() {
        let v = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(percentile_of_sorted(&v, 50.0), 2.5);
        assert_eq!(percentile_of_sorted(&v, 100.0), 4.0);
        assert!((percentile_of_sorted(&v, 90.0) - 3.7).abs() < 1e-12);
    }

    #[test]
    fn calibration_interpolates_between_recorded_points() {
        let errors: Vec<f64> = (0..=1000).map(f64::from).collect();
        let c = Calibration::from_errors(&errors, 99.0).unwrap();
        assert!((c.error_at(50.0) - 500.0).abs() < 1e-9);
        assert!((c.error_at(97.0) - 970.0).abs() < 1e-9);
        assert!((c.default_threshold() - 990.0).abs() < 1e-9);
        assert!(Calibration::from_errors(&[f64::NAN], 99.0).is_none());
    }
}
