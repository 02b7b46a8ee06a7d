//! Training the autoencoder on edited audio only: the user's `desired_output/` files.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{anyhow, bail, Context, Result};
use candle_core::{DType, Tensor};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use super::audio_io::read_audio;
use super::features::{log_mel_of, FeatureConfig, FeatureStats, LogMel, LogMelExtractor};
use super::model::{segment_batch, Autoencoder, Calibration, ModelConfig, TrainingInfo};
use super::scoring::score_spectrogram;
use super::slicer::Slicer;

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
    /// Percentile of validation errors used as the default threshold.
    pub calibration_percentile: f64,
    /// A name recorded in the model.
    pub name: String,
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

/// Audio extensions looked for in training folders.
pub const AUDIO_EXTENSIONS: [&str; 6] = ["wav", "flac", "ogg", "mp3", "oga", "wave"];

/// The audio files directly inside `dir`, sorted by name.
pub fn audio_files_in(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("cannot list folder {}", dir.display()))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_file()
                && p.extension()
                    .and_then(|e| e.to_str())
                    .is_some_and(|e| AUDIO_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
        })
        .collect();
    files.sort();
    Ok(files)
}

/// The edited files of a training folder laid out as `DATA_DIR/desired_output/*`.
pub fn edited_files(data_dir: &Path) -> Result<Vec<PathBuf>> {
    let edited = data_dir.join("desired_output");
    if !edited.is_dir() {
        bail!(
            "{} has no desired_output/ folder: training reads your edited audio from DATA_DIR/desired_output/",
            data_dir.display()
        );
    }
    let files = audio_files_in(&edited)?;
    if files.is_empty() {
        bail!(
            "{} contains no audio files ({})",
            edited.display(),
            AUDIO_EXTENSIONS.join(", ")
        );
    }
    Ok(files)
}

/// Unnormalised log-mel of every file, with a clear error naming any file that fails.
pub fn load_features(files: &[PathBuf], config: &FeatureConfig) -> Result<Vec<LogMel>> {
    let mut extractor = LogMelExtractor::new(config)?;
    files
        .iter()
        .map(|path| {
            let clip = read_audio(path)?;
            log_mel_of(&mut extractor, &clip.channels, clip.sample_rate)
                .with_context(|| format!("cannot analyse {}", path.display()))
        })
        .collect()
}

/// Trains a model on the edited files of `data_dir` and returns it (not yet saved).
pub fn train(
    data_dir: &Path,
    options: &TrainOptions,
    on_epoch: &mut dyn FnMut(EpochReport),
) -> Result<Autoencoder> {
    let files = edited_files(data_dir)?;
    let specs = load_features(&files, &options.features)?;
    let names: Vec<String> = files
        .iter()
        .map(|p| {
            p.file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
        })
        .collect();
    train_on_spectrograms(specs, &names, options, on_epoch)
}

/// Trains on already computed (unnormalised) spectrograms, one per file.
pub fn train_on_spectrograms(
    mut specs: Vec<LogMel>,
    names: &[String],
    options: &TrainOptions,
    on_epoch: &mut dyn FnMut(EpochReport),
) -> Result<Autoencoder> {
    let started = Instant::now();
    if specs.is_empty() {
        bail!("no edited audio to train on");
    }
    let (train_idx, val_idx) = split_files(specs.len(), options.validation_share, options.seed);
    let single_file = val_idx.is_empty();
    let train_specs: Vec<LogMel> = train_idx.iter().map(|&i| specs[i].clone()).collect();
    let stats = FeatureStats::fit(&train_specs)?;
    for spec in &mut specs {
        stats.apply(spec);
    }
    let mut config = ModelConfig::seed_design(options.features.clone(), stats);
    config.name = options.name.clone();
    config.segment_frames = options.segment_frames;
    config.hidden_dims = options.hidden_dims.clone();
    config.latent_dim = options.latent_dim;
    let mut model = Autoencoder::new(config, DType::F32, options.seed)?;
    let seg = options.segment_frames;

    // With one file, its last fifth is held out instead of a whole file.
    let (train_pool, val_pool) = if single_file {
        let (a, b) = split_tail(&specs[0], 0.2);
        (vec![a], vec![b])
    } else {
        (
            train_idx
                .iter()
                .map(|&i| specs[i].clone())
                .collect::<Vec<_>>(),
            val_idx
                .iter()
                .map(|&i| specs[i].clone())
                .collect::<Vec<_>>(),
        )
    };

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
            let batch = random_batch(&model, &train_pool, seg, n, &mut rng)?;
            let loss = model.segment_errors(&batch)?.mean_all()?;
            optimiser.backward_step(&loss)?;
            total += f64::from(loss.to_scalar::<f32>()?);
            steps += 1;
        }
        let validation_loss = mean(&validation_errors(&model, &val_pool, seg / 2)?);
        let improved = best.as_ref().is_none_or(|(_, l, _)| validation_loss < *l);
        if improved {
            best = Some((epoch, validation_loss, snapshot(&model)?));
        }
        on_epoch(EpochReport {
            epoch,
            train_loss: total / steps.max(1) as f64,
            validation_loss,
            improved,
        });
    }
    let (best_epoch, best_loss, weights) = best.ok_or_else(|| anyhow!("no epoch ran"))?;
    restore(&model, &weights)?;
    let errors = validation_errors(&model, &val_pool, seg / 4)?;
    let calibration = Calibration::from_errors(&errors, options.calibration_percentile);
    let pick = |idx: &[usize]| {
        idx.iter()
            .map(|&i| names.get(i).cloned().unwrap_or_default())
            .collect()
    };
    let info = TrainingInfo {
        train_files: pick(&train_idx),
        validation_files: if single_file {
            pick(&train_idx)
        } else {
            pick(&val_idx)
        },
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

/// Splits file indices into training and validation sets, reproducibly shuffled.
/// With a single file the validation set is empty (the caller holds out its tail instead).
fn split_files(n: usize, share: f64, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let mut idx: Vec<usize> = (0..n).collect();
    if n < 2 {
        return (idx, Vec::new());
    }
    let mut rng = StdRng::seed_from_u64(seed ^ 0x5b1d);
    for i in (1..n).rev() {
        idx.swap(i, rng.random_range(0..=i));
    }
    let n_val = ((n as f64 * share).round() as usize).clamp(1, n - 1);
    let val = idx.split_off(n - n_val);
    (idx, val)
}

fn split_tail(spec: &LogMel, share: f64) -> (LogMel, LogMel) {
    let frames = spec.frames();
    let cut = ((frames as f64 * (1.0 - share)) as usize).clamp(1.min(frames), frames);
    let at = cut * spec.n_mels;
    let part = |data: &[f32]| LogMel {
        n_mels: spec.n_mels,
        frame_rate: spec.frame_rate,
        data: if data.is_empty() {
            spec.data.clone()
        } else {
            data.to_vec()
        },
    };
    (part(&spec.data[..at]), part(&spec.data[at..]))
}

/// A batch of random segments, files chosen in proportion to their length.
fn random_batch(
    model: &Autoencoder,
    pool: &[LogMel],
    seg: usize,
    n: usize,
    rng: &mut StdRng,
) -> Result<Tensor> {
    let lengths: Vec<usize> = pool.iter().map(|s| s.frames().max(1)).collect();
    let total: usize = lengths.iter().sum();
    let mut specs = Vec::with_capacity(n);
    for _ in 0..n {
        let mut pick = rng.random_range(0..total);
        let file = lengths
            .iter()
            .position(|&l| {
                if pick < l {
                    true
                } else {
                    pick -= l;
                    false
                }
            })
            .unwrap_or(0);
        let max_start = pool[file].frames().saturating_sub(seg);
        let start = rng.random_range(0..=max_start);
        specs.push(segment_batch(
            &pool[file],
            &[start],
            seg,
            model.dtype(),
            model.device(),
        )?);
    }
    Ok(Tensor::cat(&specs, 0)?)
}

/// Errors of every segment (at `hop` frames) of the validation spectrograms.
fn validation_errors(model: &Autoencoder, pool: &[LogMel], hop: usize) -> Result<Vec<f64>> {
    let mut errors = Vec::new();
    for spec in pool {
        errors.extend(
            score_spectrogram(model, spec, hop.max(1))?
                .into_iter()
                .map(|(_, e)| e),
        );
    }
    Ok(errors)
}

fn mean(v: &[f64]) -> f64 {
    if v.is_empty() {
        f64::NAN
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    }
}

/// Copies of every variable, in a stable order.
fn snapshot(model: &Autoencoder) -> Result<Vec<Tensor>> {
    let data = model
        .varmap()
        .data()
        .lock()
        .map_err(|_| anyhow!("poisoned"))?;
    let mut names: Vec<&String> = data.keys().collect();
    names.sort();
    names
        .into_iter()
        .map(|n| Ok(data[n].as_tensor().copy()?))
        .collect()
}

fn restore(model: &Autoencoder, weights: &[Tensor]) -> Result<()> {
    let data = model
        .varmap()
        .data()
        .lock()
        .map_err(|_| anyhow!("poisoned"))?;
    let mut names: Vec<&String> = data.keys().collect();
    names.sort();
    for (name, w) in names.into_iter().zip(weights) {
        data[name].set(w)?;
    }
    Ok(())
}

/// Saves a model directory atomically as a whole: it is written beside the target under a
/// temporary name and swapped in, so an interrupted run leaves the old model (or none) intact.
pub fn save_model_atomically(model: &Slicer, dir: &Path) -> Result<()> {
    let parent = dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent)
        .with_context(|| format!("cannot create folder {}", parent.display()))?;
    let name = dir
        .file_name()
        .ok_or_else(|| anyhow!("{} is not a valid model directory name", dir.display()))?
        .to_string_lossy();
    let staging = parent.join(format!(".{name}.partial-{}", std::process::id()));
    let retired = parent.join(format!(".{name}.old-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    model.save(&staging)?;
    if dir.exists() {
        std::fs::rename(dir, &retired)
            .with_context(|| format!("cannot replace {}", dir.display()))?;
    }
    std::fs::rename(&staging, dir).with_context(|| format!("cannot write {}", dir.display()))?;
    let _ = std::fs::remove_dir_all(&retired);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_holds_out_at_least_one_file_and_never_all() {
        let (t, v) = split_files(5, 0.2, 1);
        assert_eq!((t.len(), v.len()), (4, 1));
        let (t, v) = split_files(2, 0.9, 1);
        assert_eq!((t.len(), v.len()), (1, 1));
        let (t, v) = split_files(1, 0.2, 1);
        assert_eq!((t.len(), v.len()), (1, 0));
        let mut all: Vec<usize> = split_files(10, 0.3, 4).0;
        all.extend(split_files(10, 0.3, 4).1);
        all.sort();
        assert_eq!(all, (0..10).collect::<Vec<_>>());
    }
}
