//! The seed's binary file classifier, kept as a baseline: the same descriptors and the same
//! network as the pair classifier, but labelled by whole file instead of by aligned span. Every
//! segment of an edited file is "keep" and every segment of a raw file is "cut", with no
//! alignment. Comparing the two isolates what aligned-span labels add.

use std::path::Path;

use anyhow::{Context, Result};

use super::{
    classifier_geometry, local_descriptors_of, with_typical_prior, ClassifierTraining, LabelSource,
    PairClassifier,
};
use crate::engine::model::Autoencoder;
use crate::engine::training::{edited_files, load_features, raw_files};

/// Decision threshold of the file classifier. Whole-file labels give nothing to tune a threshold
/// on: a raw file's music is labelled "cut" like its junk, so any threshold chosen to reproduce
/// held-out labels would be chosen to reproduce file membership, not the user's edits. 0.5 is
/// the even odds the training loss aims at.
pub const FILE_CLASSIFIER_THRESHOLD: f64 = 0.5;

/// Trains the file classifier on every file of `data_dir/desired_output` (label 0, keep) and
/// every file of `data_dir/input` (label 1, cut), over the descriptors `model` gives.
pub fn learn_from_files(
    model: &Autoencoder,
    data_dir: &Path,
    options: &ClassifierTraining,
) -> Result<PairClassifier> {
    let edited = edited_files(data_dir)?;
    let raw = raw_files(data_dir)?;
    let context = classifier_geometry(model);
    let mut locals = Vec::new();
    let mut labels = Vec::new();
    for (files, label) in [(&edited, 0.0f32), (&raw, 1.0)] {
        let specs = load_features(files, &model.config().features)?;
        for (path, spec) in files.iter().zip(&specs) {
            let local = local_descriptors_of(model, spec, context.0)
                .with_context(|| format!("cannot describe the segments of {}", path.display()))?;
            labels.extend(std::iter::repeat_n(label, local.len()));
            locals.push(local);
        }
    }
    // The same recording-median prior as the pair classifier, so only the labels differ.
    let (contextual, prior) = with_typical_prior(model, &locals);
    let rows: Vec<f32> = contextual.into_iter().flat_map(|d| d.values).collect();
    let mut clf = PairClassifier::train(&rows, &labels, context, options)?;
    clf.set_threshold(FILE_CLASSIFIER_THRESHOLD);
    clf.set_labels(LabelSource::WholeFiles);
    clf.set_median_prior(prior.values);
    Ok(clf)
}
