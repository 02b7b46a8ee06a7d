//! Keeping the best epoch's weights, and writing a finished model directory atomically.

use std::path::Path;

use anyhow::{anyhow, Context, Result};
use candle_core::{Tensor, Var};

use crate::engine::model::Autoencoder;
use crate::engine::slicer::Slicer;

/// Copies of every variable, in a stable order.
pub(super) fn snapshot(model: &Autoencoder) -> Result<Vec<Tensor>> {
    with_sorted_vars(model, |vars| {
        vars.into_iter()
            .map(|v| Ok(v.as_tensor().copy()?))
            .collect()
    })
}

/// Puts back the variables taken by [`snapshot`].
pub(super) fn restore(model: &Autoencoder, weights: &[Tensor]) -> Result<()> {
    with_sorted_vars(model, |vars| {
        for (var, w) in vars.into_iter().zip(weights) {
            var.set(w)?;
        }
        Ok(())
    })
}

/// Runs `f` on the model's variables sorted by name: the order [`snapshot`] and [`restore`]
/// agree on.
fn with_sorted_vars<T>(model: &Autoencoder, f: impl FnOnce(Vec<&Var>) -> Result<T>) -> Result<T> {
    let data = model
        .varmap()
        .data()
        .lock()
        .map_err(|_| anyhow!("poisoned"))?;
    let mut named: Vec<(&String, &Var)> = data.iter().collect();
    named.sort_by_key(|(name, _)| *name);
    f(named.into_iter().map(|(_, var)| var).collect())
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
