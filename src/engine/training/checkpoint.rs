//! Keeping the best epoch's weights, and writing a finished model directory atomically.

use std::path::Path;

use anyhow::{anyhow, Context, Result};
use candle_core::Tensor;

use crate::engine::model::Autoencoder;
use crate::engine::slicer::Slicer;

/// Copies of every variable, in a stable order.
pub(super) fn snapshot(model: &Autoencoder) -> Result<Vec<Tensor>> {
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

/// Puts back the variables taken by [`snapshot`].
pub(super) fn restore(model: &Autoencoder, weights: &[Tensor]) -> Result<()> {
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
