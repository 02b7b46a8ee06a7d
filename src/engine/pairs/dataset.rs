//! Turning a user's `input/` + `desired_output/` folders into labelled raw recordings.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::LabelledRecording;
use crate::engine::align::align;
use crate::engine::audio_io::read_audio;
use crate::engine::features::{log_mel_of, FeatureConfig, LogMelExtractor};
use crate::engine::takes::take_ranges;
use crate::engine::training::audio_files_in;

/// A raw recording and the user's edit of it.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionPair {
    /// Name shared by both files (the file stem).
    pub name: String,
    /// The raw recording, in `input/`.
    pub raw: PathBuf,
    /// The edit, in `desired_output/`.
    pub edited: PathBuf,
}

/// Pairs of `DATA_DIR/input/NAME.*` and `DATA_DIR/desired_output/NAME.*`, matched by stem.
/// Edited files without a raw file are left out (they still train the autoencoder).
pub fn session_pairs(data_dir: &Path) -> Result<Vec<SessionPair>> {
    let raw_dir = data_dir.join("input");
    if !raw_dir.is_dir() {
        return Ok(Vec::new());
    }
    let raws = audio_files_in(&raw_dir)?;
    let edits = audio_files_in(&data_dir.join("desired_output"))?;
    let stem = |p: &Path| p.file_stem().map(|s| s.to_string_lossy().into_owned());
    Ok(edits
        .iter()
        .filter_map(|edited| {
            let name = stem(edited)?;
            let raw = raws
                .iter()
                .find(|r| stem(r).as_deref() == Some(name.as_str()))?;
            Some(SessionPair {
                name,
                raw: raw.clone(),
                edited: edited.clone(),
            })
        })
        .collect())
}

/// Files of a training folder that have no partner of the same name: raw recordings in
/// `input/` without an edit, and edits in `desired_output/` without a raw recording. Both are
/// usually a misnamed file, which the user should hear about.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UnmatchedFiles {
    /// Raw recordings nothing in `desired_output/` is named after.
    pub raw_without_edit: Vec<PathBuf>,
    /// Edits with no raw recording of the same name (they still train the autoencoder).
    pub edit_without_raw: Vec<PathBuf>,
}

/// The unmatched files of `data_dir` (nothing when it has no `input/` folder).
pub fn unmatched_files(data_dir: &Path) -> Result<UnmatchedFiles> {
    let (raw_dir, edit_dir) = (data_dir.join("input"), data_dir.join("desired_output"));
    if !raw_dir.is_dir() || !edit_dir.is_dir() {
        return Ok(UnmatchedFiles::default());
    }
    // Whatever [`session_pairs`] does not pair, by its own matching rule.
    let pairs = session_pairs(data_dir)?;
    let unpaired = |files: Vec<PathBuf>, side: fn(&SessionPair) -> &PathBuf| -> Vec<PathBuf> {
        files
            .into_iter()
            .filter(|f| !pairs.iter().any(|p| side(p) == f))
            .collect()
    };
    Ok(UnmatchedFiles {
        raw_without_edit: unpaired(audio_files_in(&raw_dir)?, |p| &p.raw),
        edit_without_raw: unpaired(audio_files_in(&edit_dir)?, |p| &p.edited),
    })
}

/// Aligns a pair and returns the raw recording's features with the spans its edit kept and the
/// cut spans that are other takes of kept music.
pub fn label_pair(pair: &SessionPair, features: &FeatureConfig) -> Result<LabelledRecording> {
    let raw = read_audio(&pair.raw)?;
    let edited = read_audio(&pair.edited)?;
    let alignment = align(&raw, &edited).with_context(|| {
        format!(
            "cannot align {} with its edit {}",
            pair.raw.display(),
            pair.edited.display()
        )
    })?;
    let kept = alignment.kept_ranges(raw.duration());
    let takes = take_ranges(&alignment.cuts);
    let mut extractor = LogMelExtractor::new(features)?;
    let spec = log_mel_of(&mut extractor, &raw.channels, raw.sample_rate)?;
    Ok(LabelledRecording { spec, kept, takes })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_without_a_partner_of_the_same_name_are_listed() {
        let dir = tempfile::tempdir().unwrap();
        for (sub, name) in [
            ("input", "song.wav"),
            ("input", "take 2.wav"),
            ("desired_output", "song.flac"),
            ("desired_output", "take2.wav"),
        ] {
            std::fs::create_dir_all(dir.path().join(sub)).unwrap();
            std::fs::write(dir.path().join(sub).join(name), b"x").unwrap();
        }
        let unmatched = unmatched_files(dir.path()).unwrap();
        assert_eq!(
            unmatched.raw_without_edit,
            vec![dir.path().join("input/take 2.wav")]
        );
        assert_eq!(
            unmatched.edit_without_raw,
            vec![dir.path().join("desired_output/take2.wav")]
        );
    }
}
