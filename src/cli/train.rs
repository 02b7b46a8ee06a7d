//! `audio-slicer train`.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use audio_slicer::engine::model::{Autoencoder, ModelConfig};
use audio_slicer::engine::novelty::{NoveltyScorer, DEFAULT_PERCENTILE};
use audio_slicer::engine::pairs::{
    learn_from_files, learn_from_pairs, unmatched_files, ClassifierTraining, LabelSource,
};
use audio_slicer::engine::report::percent;
use audio_slicer::engine::slicer::{ContextScorer, Scorer, Slicer};
use audio_slicer::engine::timeline::total_duration;
use audio_slicer::engine::training::{
    check_model_destination, edited_files, load_features, save_model_atomically, train,
    TrainOptions,
};
use clap::Args;

use crate::options::{non_negative, open_share, percentile, positive, positive_count, MethodArg};
use crate::progress::ProgressOptions;

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
    #[arg(long, default_value_t = TrainOptions::default().epochs, value_parser = positive_count)]
    pub epochs: usize,
    /// Random segments per epoch.
    #[arg(long, default_value_t = TrainOptions::default().segments_per_epoch, value_parser = positive_count)]
    pub segments_per_epoch: usize,
    /// Segments per optimiser step.
    #[arg(long, default_value_t = TrainOptions::default().batch_size, value_parser = positive_count)]
    pub batch_size: usize,
    /// AdamW learning rate.
    #[arg(long, default_value_t = TrainOptions::default().learning_rate, value_parser = positive, allow_negative_numbers = true)]
    pub learning_rate: f64,
    /// Share of files held out for validation and calibration.
    #[arg(long, default_value_t = TrainOptions::default().validation_share, value_parser = open_share, allow_negative_numbers = true)]
    pub validation_share: f64,
    /// Random seed; the same seed and data give the same model.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Frames per segment (a multiple of 2^len(hidden-dims)).
    #[arg(long, default_value_t = TrainOptions::default().segment_frames, value_parser = positive_count)]
    pub segment_frames: usize,
    /// Encoder channels, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "32,64,128", value_parser = positive_count)]
    pub hidden_dims: Vec<usize>,
    /// Bottleneck size.
    #[arg(long, default_value_t = TrainOptions::default().latent_dim, value_parser = positive_count)]
    pub latent_dim: usize,
    /// Mel bands (a multiple of 2^len(hidden-dims)).
    #[arg(long, default_value_t = TrainOptions::default().features.n_mels, value_parser = positive_count)]
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
    #[arg(long, default_value_t = ClassifierTraining::default().hidden, value_parser = positive_count)]
    pub classifier_hidden: usize,
    /// Training epochs of the keep/cut classifier.
    #[arg(long, default_value_t = ClassifierTraining::default().epochs, value_parser = positive_count)]
    pub classifier_epochs: usize,
    /// Weight decay of the keep/cut classifier.
    #[arg(long, default_value_t = ClassifierTraining::default().weight_decay, value_parser = non_negative, allow_negative_numbers = true)]
    pub classifier_weight_decay: f64,
    /// Replace the model in an existing output folder (its other files are kept).
    #[arg(long)]
    pub force: bool,
    /// Percentile of validation errors used as the default threshold.
    #[arg(long, default_value_t = TrainOptions::default().calibration_percentile, value_parser = percentile, allow_negative_numbers = true)]
    pub calibration_percentile: f64,
    #[command(flatten)]
    pub progress: ProgressOptions,
}

fn train_autoencoder(
    data_dir: &Path,
    options: &TrainOptions,
    progress: &ProgressOptions,
) -> Result<Autoencoder> {
    let mut bar = progress.reporter("epochs");
    let mut best = f64::INFINITY;
    let mut epoch = 0;
    let model = train(data_dir, options, &mut |report| {
        if report.improved {
            best = report.validation_loss;
        }
        bar.set_message(format!(
            "loss {:.4}  validation {:.4}  best {:.4}",
            report.train_loss, report.validation_loss, best
        ));
        epoch += 1;
        bar.update(epoch, options.epochs);
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
    progress: &ProgressOptions,
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
            train_autoencoder(data_dir, &options, progress)?
        }
    };
    let classifier = match method {
        MethodArg::Autoencoder | MethodArg::DualAutoencoder | MethodArg::EditedNovelty => None,
        MethodArg::PairClassifier => {
            learn_from_pairs(&autoencoder, data_dir, classifier, &mut |pair, labelled| {
                let raw = labelled.spec.frames() as f64 / labelled.spec.frame_rate;
                eprintln!(
                    "aligned {} with its edit: kept {:.1} % of {raw:.1} s; {:.1} s cut as other \
                     takes of kept music, left out of what the classifier learns",
                    pair.name,
                    100.0 * total_duration(&labelled.kept) / raw.max(f64::MIN_POSITIVE),
                    total_duration(&labelled.takes)
                )
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
    let scorer = if edited_only {
        let files = edited_files(data_dir)?;
        let specs = load_features(&files, &autoencoder.config().features)?;
        let novelty = NoveltyScorer::fit(&autoencoder, &specs, DEFAULT_PERCENTILE)?;
        Scorer::Contextual(ContextScorer::Novelty(novelty))
    } else {
        match classifier {
            Some(c) => Scorer::Contextual(ContextScorer::Classifier(c)),
            None => return Ok(Slicer::reconstruction_only(autoencoder)),
        }
    };
    Ok(Slicer::new(autoencoder, scorer))
}

/// Runs `train`.
pub fn run(args: TrainArgs) -> Result<()> {
    // Before hours of training, not after.
    check_model_destination(&args.out, args.force)?;
    warn_unmatched(&args.data_dir)?;
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
        &args.progress,
    )?;
    save_model_atomically(&model, &args.out, args.force)?;
    if !args.progress.quiet {
        print_summary(&model, &args.out);
    }
    warn_if_poorly_calibrated(model.autoencoder().config());
    warn_if_poorly_validated(&model);
    Ok(())
}

/// What was trained and saved, for the end of `train`.
fn print_summary(model: &Slicer, out: &Path) {
    println!("method: {}", model.method());
    if let Some(c) = model.classifier().map(|c| c.config()) {
        match c.labels {
            LabelSource::AlignedSpans => {
                println!(
                    "keep/cut classifier learned from the raw/edited pairs, cross-validated threshold {:.2}",
                    c.threshold
                );
                if let Some(v) = &c.cross_validation {
                    println!(
                        "cross-validated on your pairs ({} folds, each held out in turn): cut F1 {:.3}, music lost {} (per fold: {})",
                        v.folds,
                        v.cut_f1,
                        percent(v.music_lost),
                        v.music_lost_per_fold.iter().map(|&m| percent(m)).collect::<Vec<_>>().join(", ")
                    );
                }
                if let Some(limit) = c.backstop {
                    println!(
                        "backstop: segments the autoencoder reconstructs worse than {limit:.3} (beyond any kept training audio, with margin) are cut whatever the classifier says"
                    );
                }
            }
            LabelSource::WholeFiles => println!(
                "binary file classifier learned from whole files (edited = keep, raw = cut), threshold {:.2}",
                c.threshold
            ),
        }
    }
    let config = model.autoencoder().config();
    if let Some(info) = &config.training {
        println!(
            "saved {} (best epoch {} of {}, validation loss {:.4}, {:.0} s)",
            out.display(),
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
}

/// Warns when too few held-out segments set the model's threshold.
fn warn_if_poorly_calibrated(config: &ModelConfig) {
    if let Some(c) = config
        .calibration
        .as_ref()
        .filter(|c| c.segments < MIN_CALIBRATION_SEGMENTS)
    {
        eprintln!(
            "warning: only {} held-out segments calibrate this model (about {:.0} s of edited audio); its threshold is unreliable: train on a few minutes of edited audio or more",
            c.segments,
            c.segments as f64 * segment_seconds(config)
        );
    }
}

/// Warns when the classifier, cross-validated on the user's own pairs, cut much of the music
/// their edits kept or reproduced their cuts poorly: the pairs are too few or too unlike each
/// other for the model to be trusted unchecked.
fn warn_if_poorly_validated(model: &Slicer) {
    let Some(v) = model
        .classifier()
        .and_then(|c| c.config().cross_validation.as_ref())
    else {
        return;
    };
    if v.is_poor() {
        eprintln!(
            "warning: held out in turn, your pairs were edited poorly (cut F1 {:.3}; up to {} of the music your edits kept was lost in one fold): check this model's edits before trusting it, and add more pairs like the recordings you will edit",
            v.cut_f1,
            percent(v.worst_fold())
        );
    }
}

/// Held-out segments below which calibration is called unreliable: about a minute of audio
/// at the default segment length, 1 % of it above the p99 threshold.
const MIN_CALIBRATION_SEGMENTS: usize = 80;

fn segment_seconds(config: &ModelConfig) -> f64 {
    let f = &config.features;
    config.segment_frames as f64 * f.hop as f64 / f64::from(f.sample_rate)
}

/// Warns about training files whose partner is missing, which is usually a misnamed file.
fn warn_unmatched(data_dir: &Path) -> Result<()> {
    let unmatched = unmatched_files(data_dir)?;
    for raw in &unmatched.raw_without_edit {
        eprintln!(
            "warning: {} has no edit of the same name in desired_output/: it is not learnt from",
            raw.display()
        );
    }
    for edit in &unmatched.edit_without_raw {
        eprintln!(
            "warning: {} has no raw recording of the same name in input/: only the autoencoder learns from it",
            edit.display()
        );
    }
    Ok(())
}
