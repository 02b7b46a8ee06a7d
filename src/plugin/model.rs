//! Which model the plugin runs: the default one compiled into the binary, or a model directory
//! the user picked in the editor (saved with the project).

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};

use crate::engine::model::Autoencoder;

/// The default model's config, compiled in so the plugin works with nothing installed beside it.
const DEFAULT_CONFIG: &str = include_str!("../../models/default/config.json");
/// The default model's weights.
static DEFAULT_WEIGHTS: &[u8] = include_bytes!("../../models/default/model.safetensors");

/// A loaded model and where it came from.
pub struct LoadedModel {
    /// The network.
    pub model: Arc<Autoencoder>,
    /// "built-in" or the directory it was read from.
    pub source: String,
}

/// Loads the model in `dir`, or the built-in default model when `dir` is `None`.
pub fn load(dir: Option<&str>) -> Result<LoadedModel> {
    let (model, source) = match dir {
        None => (
            Autoencoder::from_bytes(DEFAULT_CONFIG, DEFAULT_WEIGHTS)
                .context("the built-in model is damaged")?,
            "built-in".to_owned(),
        ),
        Some(dir) => (Autoencoder::from_checkpoint(Path::new(dir))?, dir.to_owned()),
    };
    if model.config().calibration.is_none() {
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
