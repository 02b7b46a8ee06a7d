//! A small keep/cut classifier over segment descriptors, trained on spans recovered by aligning
//! the user's raw recordings with their edits.

use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use candle_core::{DType, Device, Module, Tensor};
use candle_nn::{linear, AdamW, Linear, Optimizer, ParamsAdamW, VarBuilder, VarMap};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use super::descriptors::SegmentDescriptors;
use super::LabelSource;
use crate::engine::model::{he_uniform_init, load_weights};

/// File holding the classifier's weights in a model directory.
pub const CLASSIFIER_WEIGHTS_FILE: &str = "classifier.safetensors";

/// Normalised inputs are clipped to this many standard deviations: a column that barely varied
/// across the training recordings (a recording-level statistic, with few recordings) must not
/// blow up on a new one.
const CLAMP: f32 = 4.0;

/// Fewest optimiser steps per ensemble member.
const MIN_STEPS: usize = 400;

/// Shape, input normalisation and decision threshold of a [`PairClassifier`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassifierConfig {
    /// Descriptor width.
    pub input_dim: usize,
    /// Hidden units.
    pub hidden: usize,
    /// Step between classified segments, in frames.
    pub hop_frames: usize,
    /// Radius of the short context window, in segments.
    pub short_context: usize,
    /// Radius of the long context window, in segments.
    pub long_context: usize,
    /// Per-column mean of the training descriptors.
    pub mean: Vec<f32>,
    /// Per-column standard deviation of the training descriptors.
    pub std: Vec<f32>,
    /// Cut probability above which a segment is cut.
    pub threshold: f64,
    /// Networks averaged: with few training pairs one network's answer depends on its seed.
    #[serde(default = "one")]
    pub members: usize,
    /// The training recordings' typical median of the local descriptors, joined with each
    /// recording's own (see [`super::PRIOR_WEIGHT`]); older models use their input means.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub median_prior: Option<Vec<f32>>,
    /// How the training segments were labelled; older classifiers were all trained on aligned
    /// spans.
    #[serde(default)]
    pub labels: LabelSource,
    /// How it did on its own training pairs, each fold held out in turn; `None` for a
    /// classifier trained on one recording, or before these were kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cross_validation: Option<CrossValidation>,
    /// Autoencoder reconstruction error above which a segment is cut whatever the networks say
    /// (probability 1): farther from the edited audio than any kept training segment got, by a
    /// margin chosen on the training recordings (see [`backstop_limit`]). The classifier judges
    /// a segment against its recording, so a recording that is junk from end to end (a minute
    /// of white noise) looks normal to it; this does not. `None` in older models.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backstop: Option<f32>,
}

/// The backstop's limit from each training recording's largest reconstruction error over the
/// segments its edit kept whole: the largest of all, times the largest ratio by which one
/// recording's exceeded all the others' (the margin a held-out recording would have needed).
/// `None` without kept segments.
pub fn backstop_limit(kept_maxima: &[f32]) -> Option<f32> {
    let finite: Vec<f32> = kept_maxima
        .iter()
        .copied()
        .filter(|m| m.is_finite())
        .collect();
    let top = finite.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    if !top.is_finite() || top <= 0.0 {
        return None;
    }
    let margin = (0..finite.len())
        .filter_map(|i| {
            let others = (0..finite.len())
                .filter(|&j| j != i)
                .map(|j| finite[j])
                .fold(f32::NEG_INFINITY, f32::max);
            (others > 0.0).then(|| finite[i] / others)
        })
        .fold(1.0f32, f32::max);
    Some(top * margin)
}

/// Held-out figures of a classifier's cross-validation on its training pairs: each held-out
/// recording's edit is planned at the classifier's threshold with the default cut options
/// (without snapping to beats or moving boundaries to spectral changes) and measured against
/// the user's edit, recovered by alignment. They are what a user's few pairs can tell about
/// how the model will edit the next recording.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CrossValidation {
    /// Folds of whole recordings.
    pub folds: usize,
    /// F1 of the time cut, against the time the user's edits cut.
    pub cut_f1: f64,
    /// Share of the music the user's edits kept that the planned edits cut.
    pub music_lost: f64,
    /// The same, fold by fold.
    pub music_lost_per_fold: Vec<f64>,
}

impl CrossValidation {
    /// Held-out music lost in any fold above which a model is called poorly validated: the
    /// product's goal for music lost.
    pub const MAX_MUSIC_LOST: f64 = 0.015;
    /// Held-out cut F1 below which a model is called poorly validated.
    pub const MIN_CUT_F1: f64 = 0.8;

    /// The most music any fold lost.
    pub fn worst_fold(&self) -> f64 {
        self.music_lost_per_fold.iter().copied().fold(0.0, f64::max)
    }

    /// Whether a fold lost more music than [`Self::MAX_MUSIC_LOST`] or the cuts were poor:
    /// the pairs are too few or too unlike each other for the model to be trusted unchecked.
    pub fn is_poor(&self) -> bool {
        self.worst_fold() > Self::MAX_MUSIC_LOST || self.cut_f1 < Self::MIN_CUT_F1
    }
}

fn one() -> usize {
    1
}

/// How the classifier is trained.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClassifierTraining {
    /// Hidden units.
    pub hidden: usize,
    /// Passes over the training segments.
    pub epochs: usize,
    /// Segments per step.
    pub batch_size: usize,
    /// AdamW learning rate.
    pub learning_rate: f64,
    /// AdamW weight decay: strong, because neighbouring segments are nearly duplicates.
    pub weight_decay: f64,
    /// Seed for initialisation and shuffling.
    pub seed: u64,
    /// Networks trained from different seeds and averaged.
    pub members: usize,
}

impl Default for ClassifierTraining {
    fn default() -> Self {
        Self {
            hidden: 32,
            epochs: 20,
            batch_size: 128,
            learning_rate: 1e-3,
            weight_decay: 0.05,
            seed: 0,
            members: 5,
        }
    }
}

/// One network of the ensemble: a hidden ReLU layer and a logit.
struct Member {
    hidden: Linear,
    out: Linear,
}

/// An average of small one-hidden-layer networks giving each segment's probability of being cut.
pub struct PairClassifier {
    config: ClassifierConfig,
    varmap: VarMap,
    members: Vec<Member>,
}

impl PairClassifier {
    fn build(config: ClassifierConfig) -> Result<Self> {
        let varmap = VarMap::new();
        let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
        let members = (0..config.members.max(1))
            .map(|i| {
                let vb = vb.pp(format!("clf.m{i}"));
                Ok(Member {
                    hidden: linear(config.input_dim, config.hidden, vb.pp("hidden"))?,
                    out: linear(config.hidden, 1, vb.pp("out"))?,
                })
            })
            .collect::<Result<_>>()?;
        Ok(Self {
            config,
            varmap,
            members,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &ClassifierConfig {
        &self.config
    }

    /// The typical recording median of the training recordings' local descriptors (for models
    /// from before it was stored, the mean of the inputs' median block); `None` if the input is
    /// not four `local_dim` blocks.
    pub fn median_prior_values(&self, local_dim: usize) -> Option<&[f32]> {
        if self.config.input_dim != 4 * local_dim {
            return None;
        }
        match &self.config.median_prior {
            Some(prior) if prior.len() == local_dim => Some(prior),
            _ => self.config.mean.get(3 * local_dim..4 * local_dim),
        }
    }

    /// Sets the typical recording median the classifier was trained with.
    pub fn set_median_prior(&mut self, prior: Vec<f32>) {
        self.config.median_prior = Some(prior);
    }

    /// Sets the backstop's limit (see [`ClassifierConfig::backstop`]).
    pub fn set_backstop(&mut self, limit: Option<f32>) {
        self.config.backstop = limit;
    }

    /// Sets the decision threshold.
    pub fn set_threshold(&mut self, threshold: f64) {
        self.config.threshold = threshold;
    }

    /// Records the held-out figures of the classifier's cross-validation.
    pub fn set_cross_validation(&mut self, validation: CrossValidation) {
        self.config.cross_validation = Some(validation);
    }

    /// Records how the training segments were labelled.
    pub fn set_labels(&mut self, labels: LabelSource) {
        self.config.labels = labels;
    }

    fn logits(member: &Member, x: &Tensor) -> candle_core::Result<Tensor> {
        member
            .out
            .forward(&member.hidden.forward(x)?.relu()?)?
            .squeeze(1)
    }

    fn normalised(&self, rows: &[f32], n: usize) -> Result<Tensor> {
        let d = self.config.input_dim;
        let data: Vec<f32> = rows
            .chunks_exact(d)
            .flat_map(|r| {
                r.iter()
                    .zip(&self.config.mean)
                    .zip(&self.config.std)
                    .map(|((v, m), s)| ((v - m) / s).clamp(-CLAMP, CLAMP))
            })
            .collect();
        Ok(Tensor::from_vec(data, (n, d), &Device::Cpu)?)
    }

    /// Cut probability of every segment.
    pub fn predict(&self, descriptors: &SegmentDescriptors) -> Result<Vec<f64>> {
        if descriptors.dim != self.config.input_dim {
            bail!(
                "descriptor width {} does not match the classifier's {}",
                descriptors.dim,
                self.config.input_dim
            );
        }
        if descriptors.is_empty() {
            return Ok(Vec::new());
        }
        let x = self.normalised(&descriptors.values, descriptors.len())?;
        let mut sum = vec![0.0f64; descriptors.len()];
        for member in &self.members {
            let p = candle_nn::ops::sigmoid(&Self::logits(member, &x)?)?;
            for (s, v) in sum
                .iter_mut()
                .zip(p.to_dtype(DType::F64)?.to_vec1::<f64>()?)
            {
                *s += v;
            }
        }
        let n = self.members.len() as f64;
        let mut p: Vec<f64> = sum.into_iter().map(|s| s / n).collect();
        if let Some(limit) = self.config.backstop {
            // A contextual row is [local - median, short, long, median]: the local error is
            // the first column of the first block plus that of the last.
            let local = self.config.input_dim / 4;
            for (p, row) in p
                .iter_mut()
                .zip(descriptors.values.chunks_exact(self.config.input_dim))
            {
                if row[0] + row[3 * local] > limit {
                    *p = 1.0;
                }
            }
        }
        Ok(p)
    }

    /// Trains on descriptor rows (one per segment) and soft labels (share of the segment that
    /// the human edit cut).
    pub fn train(
        rows: &[f32],
        labels: &[f32],
        context: (usize, usize, usize),
        options: &ClassifierTraining,
    ) -> Result<Self> {
        let n = labels.len();
        if n == 0 || rows.len() % n != 0 {
            bail!("no labelled segments to train the keep/cut classifier on");
        }
        let d = rows.len() / n;
        let (mean, std) = column_stats(rows, d);
        let (hop_frames, short_context, long_context) = context;
        let model = Self::build(ClassifierConfig {
            input_dim: d,
            hidden: options.hidden,
            hop_frames,
            short_context,
            long_context,
            mean,
            std,
            threshold: 0.5,
            members: options.members.max(1),
            median_prior: None,
            labels: LabelSource::default(),
            cross_validation: None,
            backstop: None,
        })?;
        he_uniform_init(&model.varmap, options.seed, DType::F32)?;
        let x = model.normalised(rows, n)?;
        let y = Tensor::from_vec(labels.to_vec(), n, &Device::Cpu)?;
        for (i, member) in model.members.iter().enumerate() {
            let mut optimiser = AdamW::new(
                model.member_vars(i)?,
                ParamsAdamW {
                    lr: options.learning_rate,
                    weight_decay: options.weight_decay,
                    ..Default::default()
                },
            )?;
            let mut rng = StdRng::seed_from_u64(options.seed ^ 0xc1a5 ^ (i as u64) << 8);
            let mut order: Vec<u32> = (0..n as u32).collect();
            // Few recordings make few batches per epoch: train for at least MIN_STEPS steps so a
            // small training set is not left at the prior.
            let batches = n.div_ceil(options.batch_size.max(1));
            let epochs = options.epochs.max(1).max(MIN_STEPS.div_ceil(batches));
            for _ in 0..epochs {
                for k in (1..n).rev() {
                    order.swap(k, rng.random_range(0..=k));
                }
                for batch in order.chunks(options.batch_size.max(1)) {
                    let idx = Tensor::new(batch, &Device::Cpu)?;
                    let logits = Self::logits(member, &x.index_select(&idx, 0)?)?;
                    let loss = bce_with_logits(&logits, &y.index_select(&idx, 0)?)?;
                    optimiser.backward_step(&loss)?;
                }
            }
        }
        Ok(model)
    }

    /// The variables of ensemble member `i`, so each member trains on its own.
    fn member_vars(&self, i: usize) -> Result<Vec<candle_core::Var>> {
        let prefix = format!("clf.m{i}.");
        let data = self.varmap.data().lock().map_err(|_| anyhow!("poisoned"))?;
        Ok(data
            .iter()
            .filter(|(name, _)| name.starts_with(&prefix))
            .map(|(_, v)| v.clone())
            .collect())
    }

    /// Writes the weights into a model directory.
    pub fn save_weights(&self, dir: &Path) -> Result<()> {
        let path = dir.join(CLASSIFIER_WEIGHTS_FILE);
        self.varmap
            .save(&path)
            .with_context(|| format!("cannot write {}", path.display()))
    }

    /// A classifier from its config and the bytes of its weights file.
    pub fn from_bytes(config: ClassifierConfig, weights: &[u8]) -> Result<Self> {
        if config.mean.len() != config.input_dim || config.std.len() != config.input_dim {
            bail!("classifier normalisation does not match its input width");
        }
        if !config.mean.iter().chain(&config.std).all(|v| v.is_finite())
            || !config.threshold.is_finite()
        {
            bail!("classifier normalisation or threshold holds NaN or infinite values: the config is damaged");
        }
        let model = Self::build(config)?;
        load_weights(&model.varmap, weights, CLASSIFIER_WEIGHTS_FILE, DType::F32)?;
        Ok(model)
    }
}

/// Binary cross-entropy on logits with soft targets, in the numerically stable form.
fn bce_with_logits(logits: &Tensor, targets: &Tensor) -> candle_core::Result<Tensor> {
    // max(x, 0) - x*y + ln(1 + exp(-|x|))
    let relu = logits.relu()?;
    let log_term = (logits.abs()?.neg()?.exp()? + 1.0)?.log()?;
    ((relu - (logits * targets)?)? + log_term)?.mean_all()
}

/// Per-column mean and standard deviation of row-major `rows` of width `d`, the deviation
/// floored so a constant column never divides by zero.
pub fn column_stats(rows: &[f32], d: usize) -> (Vec<f32>, Vec<f32>) {
    let n = (rows.len() / d).max(1) as f64;
    let mut sum = vec![0.0f64; d];
    let mut sq = vec![0.0f64; d];
    for r in rows.chunks_exact(d) {
        for (c, v) in r.iter().enumerate() {
            sum[c] += f64::from(*v);
            sq[c] += f64::from(*v).powi(2);
        }
    }
    let mean: Vec<f32> = sum.iter().map(|s| (s / n) as f32).collect();
    let std = sq
        .iter()
        .zip(&sum)
        .map(|(q, s)| ((q / n - (s / n).powi(2)).max(0.0).sqrt() as f32).max(1e-3))
        .collect();
    (mean, std)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_backstop_limit_has_the_margin_a_held_out_recording_would_have_needed() {
        // The largest recording exceeds the next by 10 %: the limit is 10 % above it.
        let limit = backstop_limit(&[1.0, 1.5, 1.65, f32::NEG_INFINITY]).unwrap();
        assert!((limit - 1.65 * 1.1).abs() < 1e-5, "{limit}");
        assert_eq!(backstop_limit(&[2.0]), Some(2.0));
        assert_eq!(backstop_limit(&[]), None);
        assert_eq!(backstop_limit(&[f32::NEG_INFINITY]), None);
    }

    use super::*;

    #[test]
    fn learns_a_separable_rule_from_soft_labels() {
        // Column 0 decides: above 0.5 is junk. Column 1 is noise.
        let mut rows = Vec::new();
        let mut labels = Vec::new();
        for i in 0..400 {
            let a = (i as f32 * 0.618).fract();
            let b = (i as f32 * 0.377).fract();
            rows.extend([a, b]);
            labels.push(if a > 0.5 { 1.0 } else { 0.0 });
        }
        let options = ClassifierTraining {
            epochs: 200,
            weight_decay: 0.0,
            learning_rate: 1e-2,
            ..ClassifierTraining::default()
        };
        let clf = PairClassifier::train(&rows, &labels, (16, 1, 4), &options).unwrap();
        let test = SegmentDescriptors {
            starts: vec![0, 1],
            values: vec![0.1, 0.5, 0.9, 0.5],
            dim: 2,
        };
        let p = clf.predict(&test).unwrap();
        assert!(p[0] < 0.2 && p[1] > 0.8, "{p:?}");
    }

    #[test]
    fn beyond_the_backstop_a_segment_is_cut_whatever_the_networks_say() {
        // Contextual rows of a one-column local descriptor: [local - median, short, long,
        // median]. The networks learn from the short mean only.
        let mut rows = Vec::new();
        let mut labels = Vec::new();
        for i in 0..200 {
            let short = (i as f32 * 0.618).fract();
            rows.extend([0.0, short, 0.0, 1.0]);
            labels.push(if short > 0.5 { 1.0 } else { 0.0 });
        }
        let options = ClassifierTraining {
            epochs: 100,
            learning_rate: 1e-2,
            ..ClassifierTraining::default()
        };
        let mut clf = PairClassifier::train(&rows, &labels, (16, 1, 4), &options).unwrap();
        let rows = SegmentDescriptors {
            starts: vec![0, 1, 2],
            // Local errors 1.0, 1.5 (under the limit) and 2.5 (over it), all "keep" by the
            // short mean.
            values: vec![0.0, 0.1, 0.0, 1.0, 0.5, 0.1, 0.0, 1.0, 1.5, 0.1, 0.0, 1.0],
            dim: 4,
        };
        let before = clf.predict(&rows).unwrap();
        assert!(before.iter().all(|&p| p < 0.5), "{before:?}");
        clf.set_backstop(Some(2.0));
        let after = clf.predict(&rows).unwrap();
        assert_eq!(&after[..2], &before[..2]);
        assert_eq!(after[2], 1.0);
    }

    #[test]
    fn column_stats_floor_constant_columns() {
        let (mean, std) = column_stats(&[1.0, 5.0, 3.0, 5.0], 2);
        assert_eq!(mean, vec![2.0, 5.0]);
        assert_eq!(std[0], 1.0);
        assert_eq!(std[1], 1e-3);
    }

    #[test]
    fn bce_matches_the_textbook_formula() {
        let x = Tensor::new(&[2.0f32, -1.0], &Device::Cpu).unwrap();
        let y = Tensor::new(&[1.0f32, 0.25], &Device::Cpu).unwrap();
        let ours = bce_with_logits(&x, &y).unwrap().to_scalar::<f32>().unwrap();
        let sig = |v: f32| 1.0 / (1.0 + (-v).exp());
        let textbook =
            -((sig(2.0)).ln() + 0.25 * sig(-1.0).ln() + 0.75 * (1.0 - sig(-1.0)).ln()) / 2.0;
        assert!((ours - textbook).abs() < 1e-5, "{ours} vs {textbook}");
    }
}
