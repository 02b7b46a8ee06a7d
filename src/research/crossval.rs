//! How well a model reproduces a user's own editing, without any truth files: each raw/edited
//! pair is aligned to recover what the user kept, and k-fold cross-validation trains on the
//! other pairs, edits the held-out raw and compares the result with the held-out edit.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

use super::metrics::{score, BenchReport, Prediction, Truth};
use crate::engine::audio_io::read_audio;
use crate::engine::cut_list::CutList;
use crate::engine::edit::{cut_list_of, plan_edit, EditOptions};
use crate::engine::features::FeatureConfig;
use crate::engine::model::Autoencoder;
use crate::engine::pairs::{label_pair, session_pairs, train_classifier, ClassifierTraining};
use crate::engine::slicer::Slicer;

/// Progress of a cross-validation run.
#[derive(Debug, Clone)]
pub enum CrossValStep<'a> {
    /// A pair is being aligned.
    Aligning(&'a str),
    /// Fold `fold` of `folds` is training.
    Training { fold: usize, folds: usize },
    /// A held-out raw recording was edited, keeping this share.
    Edited {
        name: &'a str,
        kept_ratio: f64,
        human_kept_ratio: f64,
        /// The held-out edit, with its segment scores, for the user to inspect.
        list: &'a CutList,
    },
}

/// Runs `folds`-fold cross-validation over the pairs of `data_dir`. `autoencoder_for` trains (or
/// supplies) the autoencoder of a fold from the edited files it may see; `make_options` gives
/// the edit options for a fold's model. `on_step` hears of progress and of each held-out edit;
/// an error from it (a cut list that cannot be written) stops the run at once.
pub fn cross_validate(
    data_dir: &Path,
    folds: usize,
    features: &FeatureConfig,
    classifier: &ClassifierTraining,
    autoencoder_for: &mut dyn FnMut(&[PathBuf]) -> Result<Autoencoder>,
    make_options: &dyn Fn(&Slicer) -> EditOptions,
    on_step: &mut dyn FnMut(CrossValStep) -> Result<()>,
) -> Result<BenchReport> {
    let pairs = session_pairs(data_dir)?;
    if pairs.len() < 2 {
        bail!(
            "{} needs at least two raw/edited pairs (input/NAME.* with desired_output/NAME.*) to cross-validate, found {}",
            data_dir.display(),
            pairs.len()
        );
    }
    let mut labelled = Vec::with_capacity(pairs.len());
    let mut truths = Vec::with_capacity(pairs.len());
    for pair in &pairs {
        on_step(CrossValStep::Aligning(&pair.name))?;
        let rec = label_pair(pair, features)?;
        let raw_duration = rec.spec.frames() as f64 / rec.spec.frame_rate;
        let kept_seconds: f64 = rec.kept.iter().map(|k| k.duration()).sum();
        truths.push(Truth {
            name: pair.name.clone(),
            split: "cv".into(),
            raw_duration,
            kept: rec.kept.iter().map(|k| [k.start, k.end]).collect(),
            kept_ratio: kept_seconds / raw_duration.max(f64::EPSILON),
            defects: Vec::new(),
        });
        labelled.push(rec);
    }
    let folds = folds.clamp(2, pairs.len());
    let mut predictions = BTreeMap::new();
    for fold in 0..folds {
        on_step(CrossValStep::Training {
            fold: fold + 1,
            folds,
        })?;
        let train: Vec<usize> = (0..pairs.len()).filter(|i| i % folds != fold).collect();
        let edited: Vec<PathBuf> = train.iter().map(|&i| pairs[i].edited.clone()).collect();
        let autoencoder = autoencoder_for(&edited)?;
        let recordings: Vec<_> = train.iter().map(|&i| &labelled[i]).collect();
        let clf = train_classifier(&autoencoder, &recordings, classifier)?;
        let model = Slicer::with_classifier(autoencoder, clf);
        let options = make_options(&model);
        for i in (0..pairs.len()).filter(|i| i % folds == fold) {
            let clip = read_audio(&pairs[i].raw)?;
            let decision = plan_edit(&model, &clip, &options)?;
            let list = cut_list_of(&decision, &pairs[i].name, clip.sample_rate, model.name());
            on_step(CrossValStep::Edited {
                name: &pairs[i].name,
                kept_ratio: decision.plan.kept_ratio(),
                human_kept_ratio: truths[i].kept_ratio,
                list: &list,
            })?;
            predictions.insert(pairs[i].name.clone(), Prediction::from(&list));
        }
    }
    Ok(score(&truths, &predictions))
}
