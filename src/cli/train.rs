//! `audio-slicer train`.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use audio_slicer::engine::model::Autoencoder;
use audio_slicer::engine::novelty::{NoveltyScorer, DEFAULT_PERCENTILE};
use audio_slicer::engine::pairs::{
    learn_from_files, learn_from_pairs, ClassifierTraining, LabelSource,
};
use audio_slicer::engine::slicer::Slicer;
use audio_slicer::engine::training::{
    edited_files, load_features, save_model_atomically, train, TrainOptions,
};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use crate::options::MethodArg;

/// Arguments of `train`.
#[derive(Args, Debug)]
pub struct TrainArgs {
    /// Folder with desired_output/ (your edited files) and input/ (the raw recordings, read by
    /// every method but the autoencoder).
    pub data_dir: PathBuf,
    /// Where to write the model directory.
    #[arg(short = 'o', long = "out", default_value = "models/mine")]
    pub out: PathBuf,
    /// Training epochs.
    #[arg(long, default_value_t = TrainOptions::default().epochs)]
    pub epochs: usize,
    /// Random segments per epoch.
    #[arg(long, default_value_t = TrainOptions::default().segments_per_epoch)]
    pub segments_per_epoch: usize,
    /// Segments per optimiser step.
    #[arg(long, default_value_t = TrainOptions::default().batch_size)]
    pub batch_size: usize,
    /// AdamW learning rate.
    #[arg(long, default_value_t = TrainOptions::default().learning_rate)]
    pub learning_rate: f64,
    /// Share of files held out for validation and calibration.
    #[arg(long, default_value_t = TrainOptions::default().validation_share)]
    pub validation_share: f64,
    /// Random seed; the same seed and data give the same model.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Frames per segment (a multiple of 2^len(hidden-dims)).
    #[arg(long, default_value_t = TrainOptions::default().segment_frames)]
    pub segment_frames: usize,
    /// Encoder channels, comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = TrainOptions::default().hidden_dims)]
    pub hidden_dims: Vec<usize>,
    /// Bottleneck size.
    #[arg(long, default_value_t = TrainOptions::default().latent_dim)]
    pub latent_dim: usize,
    /// Mel bands (a multiple of 2^len(hidden-dims)).
    #[arg(long, default_value_t = TrainOptions::default().features.n_mels)]
    pub n_mels: usize,
    /// What to train (default: pair-classifier).
    #[arg(long, value_enum)]
    pub method: Option<MethodArg>,
    /// Learn only from the edited files, even when DATA_DIR/input/ holds the raw recordings
    /// (the same as --method edited-novelty).
    #[arg(long, conflicts_with = "method")]
    pub edited_only: bool,
    /// Reuse the autoencoder of this model directory instead of training one.
    #[arg(long, value_name = "MODEL_DIR")]
    pub autoencoder_from: Option<PathBuf>,
    /// Hidden units of the keep/cut classifier.
    #[arg(long, default_value_t = ClassifierTraining::default().hidden)]
    pub classifier_hidden: usize,
    /// Training epochs of the keep/cut classifier.
    #[arg(long, default_value_t = ClassifierTraining::default().epochs)]
    pub classifier_epochs: usize,
    /// Weight decay of the keep/cut classifier.
    #[arg(long, default_value_t = ClassifierTraining::default().weight_decay)]
    pub classifier_weight_decay: f64,
    /// Percentile of validation errors used as the default threshold.
    #[arg(long, default_value_t = TrainOptions::default().calibration_percentile)]
    pub calibration_percentile: f64,
}

fn train_autoencoder(data_dir: &Path, options: &TrainOptions) -> Result<Autoencoder> {
    let bar = ProgressBar::new(options.epochs as u64);
    bar.set_style(
        ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} epochs  {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut best = f64::INFINITY;
    let model = train(data_dir, options, &mut |report| {
        if report.improved {
            best = report.validation_loss;
        }
        bar.set_message(format!(
            "loss {:.4}  validation {:.4}  best {:.4}",
            report.train_loss, report.validation_loss, best
        ));
        bar.inc(1);
    })?;
    bar.finish();
    Ok(model)
}

/// Trains (or loads) the autoencoder, then, for the classifier methods, the classifier on top of
/// it. The pair classifier falls back to the autoencoder alone when no raw file has an edit.
pub fn build_model(
    data_dir: &Path,
    options: &TrainOptions,
    classifier: &ClassifierTraining,
    method: MethodArg,
    autoencoder_from: Option<&Path>,
) -> Result<Slicer> {
    let dual = method == MethodArg::DualAutoencoder;
    let autoencoder = match autoencoder_from {
        Some(_) if dual => bail!(
            "--autoencoder-from cannot be used with --method dual-autoencoder: the dual autoencoder trains its own encoder on edited and raw audio"
        ),
        Some(dir) => Autoencoder::from_checkpoint(dir)?,
        None => {
            let options = TrainOptions {
                raw_decoder: dual,
                ..options.clone()
            };
            train_autoencoder(data_dir, &options)?
        }
    };
    let classifier = match method {
        MethodArg::Autoencoder | MethodArg::DualAutoencoder | MethodArg::EditedNovelty => None,
        MethodArg::PairClassifier => {
            learn_from_pairs(&autoencoder, data_dir, classifier, &mut |pair| {
                eprintln!("aligning {} with its edit", pair.name)
            })?
        }
        MethodArg::FileClassifier => {
            eprintln!("labelling every edited file keep and every raw file cut");
            Some(learn_from_files(&autoencoder, data_dir, classifier)?)
        }
    };
    // With edited files only (asked for, or no raw recordings to learn from), the model scores
    // by distance from the edited audio rather than by reconstruction error.
    let edited_only = method == MethodArg::EditedNovelty
        || (method == MethodArg::PairClassifier && classifier.is_none());
    let novelty = if edited_only {
        let files = edited_files(data_dir)?;
        let specs = load_features(&files, &autoencoder.config().features)?;
        Some(NoveltyScorer::fit(
            &autoencoder,
            &specs,
            DEFAULT_PERCENTILE,
        )?)
    } else {
        None
    };
    Ok(Slicer {
        autoencoder,
        classifier,
        novelty,
    })
}

/// Runs `train`.
pub fn run(args: TrainArgs) -> Result<()> {
    let mut options = TrainOptions {
        epochs: args.epochs,
        segments_per_epoch: args.segments_per_epoch,
        batch_size: args.batch_size,
        learning_rate: args.learning_rate,
        validation_share: args.validation_share,
        seed: args.seed,
        segment_frames: args.segment_frames,
        hidden_dims: args.hidden_dims,
        latent_dim: args.latent_dim,
        calibration_percentile: args.calibration_percentile,
        name: args.out.file_name().map_or_else(
            || "audio-slicer".into(),
            |n| n.to_string_lossy().into_owned(),
        ),
        ..TrainOptions::default()
    };
    options.features.n_mels = args.n_mels;
    let classifier = ClassifierTraining {
        hidden: args.classifier_hidden,
        epochs: args.classifier_epochs,
        weight_decay: args.classifier_weight_decay,
        seed: args.seed,
        ..ClassifierTraining::default()
    };
    let model = build_model(
        &args.data_dir,
        &options,
        &classifier,
        MethodArg::resolve(args.method, args.edited_only),
        args.autoencoder_from.as_deref(),
    )?;
    save_model_atomically(&model, &args.out)?;
    println!("method: {}", model.method());
    if let Some(c) = model.classifier.as_ref().map(|c| c.config()) {
        match c.labels {
            LabelSource::AlignedSpans => println!(
                "keep/cut classifier learned from the raw/edited pairs, cross-validated threshold {:.2}",
                c.threshold
            ),
            LabelSource::WholeFiles => println!(
                "binary file classifier learned from whole files (edited = keep, raw = cut), threshold {:.2}",
                c.threshold
            ),
        }
    }
    let config = model.autoencoder.config();
    if let Some(info) = &config.training {
        println!(
            "saved {} (best epoch {} of {}, validation loss {:.4}, {:.0} s)",
            args.out.display(),
            info.best_epoch,
            info.epochs,
            info.best_validation_loss,
            info.seconds
        );
    }
    if let Some(c) = &config.calibration {
        println!(
            "calibrated on {} held-out segments: default threshold {:.4} (p{})",
            c.segments,
            c.default_threshold(),
            c.default_percentile
        );
    }
    Ok(())
}
