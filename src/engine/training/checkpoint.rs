//! Keeping the best epoch's weights, and writing a finished model directory atomically.

use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use candle_core::{Tensor, Var};

use crate::engine::model::{Autoencoder, CONFIG_FILE, WEIGHTS_FILE};
use crate::engine::novelty::NOVELTY_FILE;
use crate::engine::pairs::CLASSIFIER_WEIGHTS_FILE;
use crate::engine::report::REPORT_FILE;
use crate::engine::slicer::{Slicer, CLASSIFIER_CONFIG_FILE};

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

/// The files a model directory's model consists of; anything else in it (a model card, notes)
/// belongs to the user and is kept when the model is replaced.
pub const MODEL_FILES: [&str; 6] = [
    CONFIG_FILE,
    WEIGHTS_FILE,
    CLASSIFIER_CONFIG_FILE,
    CLASSIFIER_WEIGHTS_FILE,
    NOVELTY_FILE,
    REPORT_FILE,
];

/// Checks, before any training, that a model can be saved to `dir`: it does not exist, or it is
/// a folder and `replace` is set.
pub fn check_model_destination(dir: &Path, replace: bool) -> Result<()> {
    if dir.file_name().is_none() {
        bail!("{} is not a valid model directory name", dir.display());
    }
    if dir.exists() {
        if !dir.is_dir() {
            bail!("{} exists and is not a folder", dir.display());
        }
        if !replace {
            bail!(
                "{} already exists; pass --force to replace the model in it (its other files, such as MODEL_CARD.md, are kept)",
                dir.display()
            );
        }
    }
    Ok(())
}

/// Saves a model directory atomically as a whole: it is written beside the target under a
/// temporary name and swapped in, so an interrupted run leaves the old model (or none) intact.
///
/// An existing `dir` is replaced only with `replace`, and then only the model's own files
/// ([`MODEL_FILES`]): everything else in it is carried over into the new directory.
pub fn save_model_atomically(model: &Slicer, dir: &Path, replace: bool) -> Result<()> {
    check_model_destination(dir, replace)?;
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
    let staged = (|| -> Result<()> {
        model.save(&staging)?;
        if dir.is_dir() {
            carry_over_user_files(dir, &staging)?;
        }
        Ok(())
    })();
    if let Err(e) = staged {
        let _ = std::fs::remove_dir_all(&staging);
        return Err(e);
    }
    if dir.exists() {
        std::fs::rename(dir, &retired)
            .with_context(|| format!("cannot replace {}", dir.display()))?;
    }
    if let Err(e) = std::fs::rename(&staging, dir) {
        let _ = std::fs::rename(&retired, dir);
        return Err(e).with_context(|| format!("cannot write {}", dir.display()));
    }
    let _ = std::fs::remove_dir_all(&retired);
    Ok(())
}

/// Copies every entry of `from` that is not a model file into `to`.
fn carry_over_user_files(from: &Path, to: &Path) -> Result<()> {
    for entry in
        std::fs::read_dir(from).with_context(|| format!("cannot read {}", from.display()))?
    {
        let entry = entry?;
        let name = entry.file_name();
        if MODEL_FILES.iter().any(|m| name == *m) {
            continue;
        }
        copy_recursively(&entry.path(), &to.join(&name))?;
    }
    Ok(())
}

fn copy_recursively(from: &Path, to: &Path) -> Result<()> {
    if from.is_dir() {
        std::fs::create_dir_all(to).with_context(|| format!("cannot create {}", to.display()))?;
        for entry in std::fs::read_dir(from)? {
            let entry = entry?;
            copy_recursively(&entry.path(), &to.join(entry.file_name()))?;
        }
    } else {
        std::fs::copy(from, to)
            .with_context(|| format!("cannot copy {} to {}", from.display(), to.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::model::ModelConfig;

    fn tiny_model() -> Slicer {
        let config = ModelConfig::tiny_for_tests(vec![2], 2);
        Slicer::reconstruction_only(Autoencoder::new(config, candle_core::DType::F32, 0).unwrap())
    }

    #[test]
    fn an_existing_model_folder_is_replaced_only_when_asked_and_keeps_the_users_files() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("mine");
        save_model_atomically(&tiny_model(), &dir, false).unwrap();
        std::fs::write(dir.join("MODEL_CARD.md"), "my notes").unwrap();
        std::fs::write(dir.join(CLASSIFIER_CONFIG_FILE), "{}").unwrap();
        let err = save_model_atomically(&tiny_model(), &dir, false).unwrap_err();
        assert!(format!("{err}").contains("--force"), "{err}");
        assert!(dir.join(CLASSIFIER_CONFIG_FILE).exists());
        save_model_atomically(&tiny_model(), &dir, true).unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.join("MODEL_CARD.md")).unwrap(),
            "my notes"
        );
        // A stale part of the old model would change how the new one scores: it goes.
        assert!(!dir.join(CLASSIFIER_CONFIG_FILE).exists());
        assert!(Slicer::from_checkpoint(&dir).is_ok());
        // Nothing temporary is left beside it.
        assert_eq!(std::fs::read_dir(root.path()).unwrap().count(), 1);
    }
}
