//! Training the autoencoder: on edited audio only (the user's `desired_output/` files), or, for
//! the seed's dual autoencoder, on edited and raw audio with one decoder for each.

mod checkpoint;
mod files;
mod sampling;
mod split;

use std::time::Instant;

use anyhow::{anyhow, bail, Result};
use candle_core::{DType, Tensor};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use rand::rngs::StdRng;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};

use super::features::{FeatureConfig, FeatureStats, LogMel};
use super::model::{Autoencoder, Calibration, ModelConfig, SegmentMeasure, TrainingInfo};
use super::slicer::METHOD_DUAL_AUTOENCODER;
pub use checkpoint::{check_model_destination, save_model_atomically, MODEL_FILES};
pub use files::{
    audio_files_in, edited_files, file_names, file_with_stem, load_features, raw_files,
    AUDIO_EXTENSIONS,
};
use sampling::{mean, measure_pool, random_batch};
use split::{pools, split_files, split_raw};

/// Everything that shapes a training run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainOptions {
    /// Passes over `segments_per_epoch` random segments.
    pub epochs: usize,
    /// Random segments drawn per epoch.
    pub segments_per_epoch: usize,
    /// Segments per optimiser step.
    pub batch_size: usize,
    /// AdamW learning rate.
    pub learning_rate: f64,
    /// AdamW weight decay.
    pub weight_decay: f64,
    /// Share of files held out for validation and calibration.
    pub validation_share: f64,
    /// Seed for initialisation and sampling; the same seed gives the same model.
    pub seed: u64,
    /// Feature parameters.
    pub features: FeatureConfig,
    /// Frames per segment.
    pub segment_frames: usize,
    /// Encoder channels.
    pub hidden_dims: Vec<usize>,
    /// Bottleneck size.
    pub latent_dim: usize,
    /// Percentile of validation scores used as the default threshold.
    pub calibration_percentile: f64,
    /// A name recorded in the model.
    pub name: String,
    /// Train the seed's dual autoencoder: a second decoder learns the raw recordings
    /// (`input/`), and segments are scored by how much more raw-like than edited they look.
    #[serde(default)]
    pub raw_decoder: bool,
}

impl Default for TrainOptions {
    fn default() -> Self {
        Self {
            epochs: 100,
            segments_per_epoch: 256,
            batch_size: 32,
            learning_rate: 1e-3,
            weight_decay: 1e-4,
            validation_share: 0.2,
            seed: 0,
            features: FeatureConfig::default(),
            segment_frames: 64,
            hidden_dims: vec![32, 64, 128],
            latent_dim: 64,
            calibration_percentile: 99.0,
            name: "audio-slicer".into(),
            raw_decoder: false,
        }
    }
}

/// Progress of one epoch, reported to the caller (the CLI draws it as a progress bar).
#[derive(Debug, Clone, Copy)]
pub struct EpochReport {
    /// 1-based epoch number.
    pub epoch: usize,
    /// Mean training loss over the epoch.
    pub train_loss: f64,
    /// Mean validation loss after the epoch.
    pub validation_loss: f64,
    /// Whether this epoch is the best so far (its weights are kept).
    pub improved: bool,
}

/// Unnormalised spectrograms, one per file, and the file names recorded in the model.
#[derive(Debug, Clone)]
pub struct Corpus {
    /// Unnormalised log-mel of each file.
    pub specs: Vec<LogMel>,
    /// Name of each file.
    pub names: Vec<String>,
}

impl Corpus {
    /// Reads and analyses `files`.
    pub fn load(files: &[std::path::PathBuf], features: &FeatureConfig) -> Result<Self> {
        Ok(Self {
            specs: load_features(files, features)?,
            names: file_names(files),
        })
    }
}

/// Trains a model on the files of `data_dir` and returns it (not yet saved): the edited files,
/// and with `options.raw_decoder` the raw recordings too.
pub fn train(
    data_dir: &std::path::Path,
    options: &TrainOptions,
    on_epoch: &mut dyn FnMut(EpochReport),
) -> Result<Autoencoder> {
    let edited = Corpus::load(&edited_files(data_dir)?, &options.features)?;
    let raw = if options.raw_decoder {
        Some(Corpus::load(&raw_files(data_dir)?, &options.features)?)
    } else {
        None
    };
    train_on_corpora(edited, raw, options, on_epoch)
}

/// Trains on already computed (unnormalised) spectrograms of edited files, one per file.
pub fn train_on_spectrograms(
    specs: Vec<LogMel>,
    names: &[String],
    options: &TrainOptions,
    on_epoch: &mut dyn FnMut(EpochReport),
) -> Result<Autoencoder> {
    let edited = Corpus {
        specs,
        names: names.to_vec(),
    };
    train_on_corpora(edited, None, options, on_epoch)
}

/// Training and validation spectrograms of one side (edited or raw) and the files behind them.
struct Side {
    train: Vec<LogMel>,
    validation: Vec<LogMel>,
    train_files: Vec<String>,
    validation_files: Vec<String>,
}

impl Side {
    fn new(corpus: &Corpus, train: &[usize], val: &[usize]) -> Self {
        let (train_pool, val_pool) = pools(&corpus.specs, train, val);
        let pick = |idx: &[usize]| {
            idx.iter()
                .map(|&i| corpus.names.get(i).cloned().unwrap_or_default())
                .collect()
        };
        Self {
            train: train_pool,
            validation: val_pool,
            train_files: pick(train),
            // With one file its tail is held out: the file is on both sides.
            validation_files: if val.is_empty() {
                pick(train)
            } else {
                pick(val)
            },
        }
    }
}

/// Trains the autoencoder on edited spectrograms, and, given raw ones, the dual autoencoder:
/// each step then also puts a batch of raw segments through the raw decoder, and the loss is the
/// sum of both mean squared errors.
pub fn train_on_corpora(
    mut edited: Corpus,
    mut raw: Option<Corpus>,
    options: &TrainOptions,
    on_epoch: &mut dyn FnMut(EpochReport),
) -> Result<Autoencoder> {
    let started = Instant::now();
    if edited.specs.is_empty() {
        bail!("no edited audio to train on");
    }
    if raw.as_ref().is_some_and(|r| r.specs.is_empty()) || (options.raw_decoder && raw.is_none()) {
        bail!("the dual autoencoder needs raw recordings to train its raw decoder on");
    }
    let (train_idx, val_idx) =
        split_files(edited.specs.len(), options.validation_share, options.seed);
    let train_specs: Vec<LogMel> = train_idx.iter().map(|&i| edited.specs[i].clone()).collect();
    let stats = FeatureStats::fit(&train_specs)?;
    for spec in edited
        .specs
        .iter_mut()
        .chain(raw.iter_mut().flat_map(|r| r.specs.iter_mut()))
    {
        stats.apply(spec);
    }
    let mut config = ModelConfig::seed_design(options.features.clone(), stats);
    config.name = options.name.clone();
    config.segment_frames = options.segment_frames;
    config.hidden_dims = options.hidden_dims.clone();
    config.latent_dim = options.latent_dim;
    if raw.is_some() {
        config.raw_decoder = true;
        config.method = METHOD_DUAL_AUTOENCODER.into();
    }
    let mut model = Autoencoder::new(config, DType::F32, options.seed)?;
    let seg = options.segment_frames;

    let edited_side = Side::new(&edited, &train_idx, &val_idx);
    let raw_side = raw.as_ref().map(|r| {
        let (t, v) = split_raw(
            &r.names,
            &edited_side.validation_files,
            options.validation_share,
            options.seed,
        );
        Side::new(r, &t, &v)
    });

    let mut rng = StdRng::seed_from_u64(options.seed ^ 0x5eed);
    let mut optimiser = AdamW::new(
        model.varmap().all_vars(),
        ParamsAdamW {
            lr: options.learning_rate,
            weight_decay: options.weight_decay,
            ..Default::default()
        },
    )?;
    let mut best: Option<(usize, f64, Vec<Tensor>)> = None;
    for epoch in 1..=options.epochs.max(1) {
        let mut total = 0.0;
        let mut steps = 0;
        let mut remaining = options.segments_per_epoch.max(1);
        while remaining > 0 {
            let n = remaining.min(options.batch_size.max(1));
            remaining -= n;
            let batch = random_batch(&model, &edited_side.train, seg, n, &mut rng)?;
            let mut loss = model.segment_errors(&batch)?.mean_all()?;
            if let Some(raw) = &raw_side {
                let batch = random_batch(&model, &raw.train, seg, n, &mut rng)?;
                let raw_loss = model.measure(&batch, SegmentMeasure::RawError)?;
                loss = (loss + raw_loss.mean_all()?)?;
            }
            optimiser.backward_step(&loss)?;
            total += f64::from(loss.to_scalar::<f32>()?);
            steps += 1;
        }
        let mut validation_loss = mean(&measure_pool(
            &model,
            &edited_side.validation,
            seg / 2,
            SegmentMeasure::EditedError,
        )?);
        if let Some(raw) = &raw_side {
            validation_loss += mean(&measure_pool(
                &model,
                &raw.validation,
                seg / 2,
                SegmentMeasure::RawError,
            )?);
        }
        let improved = best.as_ref().is_none_or(|(_, l, _)| validation_loss < *l);
        if improved {
            best = Some((epoch, validation_loss, checkpoint::snapshot(&model)?));
        }
        on_epoch(EpochReport {
            epoch,
            train_loss: total / steps.max(1) as f64,
            validation_loss,
            improved,
        });
    }
    let (best_epoch, best_loss, weights) = best.ok_or_else(|| anyhow!("no epoch ran"))?;
    checkpoint::restore(&model, &weights)?;
    // The threshold is a percentile of the model's own score over held-out edited audio: the
    // reconstruction error, or for the dual autoencoder the edited-minus-raw error.
    let scores = measure_pool(
        &model,
        &edited_side.validation,
        seg / 4,
        SegmentMeasure::Score,
    )?;
    let calibration = Calibration::from_errors(&scores, options.calibration_percentile);
    let (raw_train_files, raw_validation_files) = raw_side
        .map(|r| (r.train_files, r.validation_files))
        .unwrap_or_default();
    let info = TrainingInfo {
        train_files: edited_side.train_files,
        validation_files: edited_side.validation_files,
        raw_train_files,
        raw_validation_files,
        epochs: options.epochs.max(1),
        segments_per_epoch: options.segments_per_epoch,
        best_epoch,
        best_validation_loss: best_loss,
        seed: options.seed,
        seconds: started.elapsed().as_secs_f64(),
    };
    let config = model.config_mut();
    config.calibration = calibration;
    config.training = Some(info);
    Ok(model)
}
