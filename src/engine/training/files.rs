//! Finding and reading the audio of a training folder (`input/` raw, `desired_output/` edited).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::engine::audio_io::read_audio;
use crate::engine::features::{log_mel_of, FeatureConfig, LogMel, LogMelExtractor};

/// Audio extensions looked for in training folders.
pub const AUDIO_EXTENSIONS: [&str; 6] = ["wav", "flac", "ogg", "mp3", "oga", "wave"];

/// The audio files directly inside `dir`, sorted by name.
pub fn audio_files_in(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("cannot list folder {}", dir.display()))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_file()
                && p.extension()
                    .and_then(|e| e.to_str())
                    .is_some_and(|e| AUDIO_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
        })
        .collect();
    files.sort();
    Ok(files)
}

/// The file of `files` whose name without extension is `stem` (how a benchmark's truth names
/// its raw recording).
pub fn file_with_stem<'a>(files: &'a [PathBuf], stem: &str) -> Option<&'a Path> {
    files
        .iter()
        .find(|p| p.file_stem().is_some_and(|s| s == stem))
        .map(PathBuf::as_path)
}

/// The edited files of a training folder laid out as `DATA_DIR/desired_output/*`.
pub fn edited_files(data_dir: &Path) -> Result<Vec<PathBuf>> {
    files_of(
        data_dir,
        "desired_output",
        "training reads your edited audio from DATA_DIR/desired_output/",
    )
}

/// The raw recordings of a training folder laid out as `DATA_DIR/input/*`, for the methods
/// that learn from every raw file whether or not it has an edit.
pub fn raw_files(data_dir: &Path) -> Result<Vec<PathBuf>> {
    files_of(
        data_dir,
        "input",
        "this method reads your raw recordings from DATA_DIR/input/",
    )
}

fn files_of(data_dir: &Path, sub: &str, why: &str) -> Result<Vec<PathBuf>> {
    let dir = data_dir.join(sub);
    if !dir.is_dir() {
        bail!("{} has no {sub}/ folder: {why}", data_dir.display());
    }
    let files = audio_files_in(&dir)?;
    if files.is_empty() {
        bail!(
            "{} contains no audio files ({})",
            dir.display(),
            AUDIO_EXTENSIONS.join(", ")
        );
    }
    Ok(files)
}

/// The file names of `files` (without their folders), as recorded in a model.
pub fn file_names(files: &[PathBuf]) -> Vec<String> {
    files
        .iter()
        .map(|p| {
            p.file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
        })
        .collect()
}

/// Unnormalised log-mel of every file, with a clear error naming any file that fails.
pub fn load_features(files: &[PathBuf], config: &FeatureConfig) -> Result<Vec<LogMel>> {
    let mut extractor = LogMelExtractor::new(config)?;
    files
        .iter()
        .map(|path| {
            let clip = read_audio(path)?;
            log_mel_of(&mut extractor, &clip.channels, clip.sample_rate)
                .with_context(|| format!("cannot analyse {}", path.display()))
        })
        .collect()
}
