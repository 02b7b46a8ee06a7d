//! Which model the plugin runs: the default one compiled into the binary, or a model directory
//! the user picked in the editor (saved with the project).

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};

use crate::engine::model::Autoencoder;
use crate::engine::slicer::Slicer;

/// The default model's config, compiled in so the plugin works with nothing installed beside it.
const DEFAULT_CONFIG: &str = include_str!("../../models/default/config.json");
/// The default model's weights.
static DEFAULT_WEIGHTS: &[u8] = include_bytes!("../../models/default/model.safetensors");
/// The default model's keep/cut classifier (learned from raw/edited pairs), config and weights.
const DEFAULT_CLASSIFIER_CONFIG: &str = include_str!("../../models/default/classifier.json");
static DEFAULT_CLASSIFIER_WEIGHTS: &[u8] =
    include_bytes!("../../models/default/classifier.safetensors");

/// Environment variable naming a model directory to use instead of the built-in model when the
/// project has not chosen one: a studio-wide default (and how hosts that cannot edit plugin
/// state, such as batch renderers, pick a model).
pub const MODEL_ENV: &str = "AUDIO_SLICER_MODEL";

/// A loaded model and where it came from.
pub struct LoadedModel {
    /// The autoencoder and, if the model has one, its classifier.
    pub model: Arc<Slicer>,
    /// "built-in" or the directory it was read from.
    pub source: String,
}

/// Loads the model in `dir`; without one, the model named by [`MODEL_ENV`] or else the
/// built-in default model.
pub fn load(dir: Option<&str>) -> Result<LoadedModel> {
    let from_env = std::env::var(MODEL_ENV)
        .ok()
        .filter(|d| !d.trim().is_empty());
    let (model, source) = match dir.or(from_env.as_deref()) {
        None => (
            built_in().context("the built-in model is damaged")?,
            "built-in".to_owned(),
        ),
        Some(dir) => (Slicer::from_checkpoint(Path::new(dir))?, dir.to_owned()),
    };
    if model.default_threshold().is_none() {
        anyhow::bail!(
            "model {source} has no calibration, so it has no absolute threshold: retrain it \
             with this version of audio-slicer"
        );
    }
    Ok(LoadedModel {
        model: Arc::new(model),
        source,
    })
}

fn built_in() -> Result<Slicer> {
    let autoencoder = Autoencoder::from_bytes(DEFAULT_CONFIG, DEFAULT_WEIGHTS)?;
    let classifier =
        Slicer::classifier_from_bytes(DEFAULT_CLASSIFIER_CONFIG, DEFAULT_CLASSIFIER_WEIGHTS)?;
    Ok(Slicer::with_classifier(autoencoder, classifier))
}
