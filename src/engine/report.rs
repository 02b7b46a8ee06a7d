//! What training measured, written beside a model as `TRAINING.md` so a model directory says
//! how far it can be trusted: the autoencoder's training and calibration, the classifier's
//! threshold, its cross-validation on the user's own pairs fold by fold (with the warning
//! `train` prints), and the backstop. It is part of the model: training again replaces it,
//! while a `MODEL_CARD.md` of the user's own is kept.

use std::fmt::Write as _;

use super::pairs::classifier::CrossValidation;
use super::pairs::LabelSource;
use super::slicer::Slicer;

/// The report's file in a model directory.
pub const REPORT_FILE: &str = "TRAINING.md";

/// The report of `model`, as Markdown.
pub fn training_report(model: &Slicer) -> String {
    let mut out = String::new();
    let config = model.autoencoder().config();
    // Writing to a String cannot fail.
    let _ = writeln!(out, "# {}: what training measured\n", model.name());
    let _ = writeln!(
        out,
        "Written by `audio-slicer train` and replaced when the model is trained again; notes of \
         your own belong in `MODEL_CARD.md`, which is kept.\n"
    );
    let _ = writeln!(out, "- Method: `{}`", model.method());
    if let Some(info) = &config.training {
        let _ = writeln!(
            out,
            "- Autoencoder: trained on {} edited files ({} held out), best epoch {} of {}, validation loss {:.4}, {:.0} s",
            info.train_files.len(),
            info.validation_files.len(),
            info.best_epoch,
            info.epochs,
            info.best_validation_loss,
            info.seconds
        );
    }
    if let Some(c) = &config.calibration {
        let _ = writeln!(
            out,
            "- Calibration: {} held-out segments; p{} of their errors is {:.4}",
            c.segments,
            c.default_percentile,
            c.default_threshold()
        );
    }
    if let Some(c) = model.classifier().map(|c| c.config()) {
        let what = match c.labels {
            LabelSource::AlignedSpans => "learned from the raw/edited pairs",
            LabelSource::WholeFiles => "learned from whole files",
        };
        let _ = writeln!(
            out,
            "- Classifier: {what}, an ensemble of {}, threshold {:.2}",
            c.members, c.threshold
        );
        if let Some(v) = &c.cross_validation {
            let per_fold: Vec<String> = v.music_lost_per_fold.iter().map(|&m| percent(m)).collect();
            let _ = writeln!(
                out,
                "- Cross-validation on the training pairs ({} folds of whole recordings, each held out in turn): cut F1 {:.3}, music the edits kept that was cut {} (per fold: {})",
                v.folds,
                v.cut_f1,
                percent(v.music_lost),
                per_fold.join(", ")
            );
            if v.is_poor() {
                let _ = writeln!(
                    out,
                    "- **Warning**: a fold lost more than {} of the music its edits kept, or the cut F1 is under {:.2}: check this model's edits before trusting it, and add more pairs like the recordings you will edit",
                    percent(CrossValidation::MAX_MUSIC_LOST),
                    CrossValidation::MIN_CUT_F1
                );
            }
        }
        if let Some(limit) = c.backstop {
            let _ = writeln!(
                out,
                "- Backstop: segments the autoencoder reconstructs worse than {limit:.3} are cut whatever the classifier says"
            );
        }
    }
    out
}

/// A share as a percentage with one decimal, as the report and `train` print them.
pub fn percent(share: f64) -> String {
    format!("{:.1} %", 100.0 * share)
}
