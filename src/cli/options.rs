//! Options shared by several commands, and the mapping from them to engine types.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use audio_slicer::engine::audio_io::WavFormat;
use audio_slicer::engine::cut_plan::{CutOptions, SnapMode};
use audio_slicer::engine::edit::{EditOptions, ThresholdMode};
use audio_slicer::engine::render::DEFAULT_CROSSFADE_SECONDS;
use audio_slicer::engine::slicer::Slicer;
use clap::{Args, ValueEnum};

/// Where the shipped default model lives when `-m` is not given.
pub fn default_model_dir() -> PathBuf {
    let local = Path::new("models/default");
    if local.join("config.json").is_file() {
        return local.to_path_buf();
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("models/default")
}

/// Loads `-m DIR`, or the default model.
pub fn load_model(dir: Option<&Path>) -> Result<Slicer> {
    let dir = dir.map_or_else(default_model_dir, Path::to_path_buf);
    Slicer::from_checkpoint(&dir)
}

/// `model` scoring a segment every `hop_frames` frames, when the user chose a step
/// (`--hop-frames`): scores and plans then both follow it, or the choice is refused.
pub fn at_hop(model: Slicer, hop_frames: Option<usize>) -> Result<Slicer> {
    match hop_frames {
        None => Ok(model),
        Some(hop) => model
            .with_hop_frames(hop)
            .with_context(|| format!("--hop-frames {hop}")),
    }
}

/// The model option.
#[derive(Args, Debug, Clone)]
pub struct ModelArg {
    /// Model directory (config.json + model.safetensors); default: the shipped models/default.
    #[arg(short = 'm', long = "model")]
    pub model: Option<PathBuf>,
}

/// What `train` builds (and `evaluate`, when it trains). The three seed methods are kept as
/// baselines for the comparison in BENCHMARKS.md.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum MethodArg {
    /// The seed: an autoencoder on the edited files, scoring by reconstruction error.
    #[value(alias = "autoencoder-mse")]
    Autoencoder,
    /// The default: a keep/cut classifier learned from the spans each edit kept and cut, found
    /// by aligning each raw recording with its edit.
    PairClassifier,
    /// The seed's binary classifier: every segment of an edited file is keep, every segment of
    /// a raw file is cut, no alignment; same descriptors and network as the pair classifier.
    FileClassifier,
    /// The seed's dual autoencoder: one encoder, an edited and a raw decoder; scores by the
    /// edited decoder's error minus the raw decoder's.
    DualAutoencoder,
    /// Edited files only: the autoencoder, scoring by distance from the edited audio's
    /// descriptors (what the default falls back to when there are no raw recordings).
    EditedNovelty,
}

impl MethodArg {
    /// The method asked for: `--method`, or `--edited-only` (edited files only), or the
    /// default pair classifier.
    pub fn resolve(method: Option<Self>, edited_only: bool) -> Self {
        match (method, edited_only) {
            (Some(m), _) => m,
            (None, true) => Self::EditedNovelty,
            (None, false) => Self::PairClassifier,
        }
    }

    /// The name given on the command line.
    pub fn name(self) -> String {
        self.to_possible_value()
            .map_or_else(|| format!("{self:?}"), |v| v.get_name().to_owned())
    }
}

/// How cut points are snapped.
#[derive(ValueEnum, Debug, Clone, Copy)]
pub enum SnapArg {
    /// To the nearest beat.
    Beat,
    /// To the nearest bar line.
    Bar,
    /// To the nearest onset.
    Onset,
    /// No snapping.
    Off,
}

/// Output sample encoding.
#[derive(ValueEnum, Debug, Clone, Copy)]
pub enum FormatArg {
    /// 16-bit integer.
    #[value(name = "16")]
    Int16,
    /// 24-bit integer.
    #[value(name = "24")]
    Int24,
    /// 32-bit float.
    #[value(name = "32f")]
    Float32,
}

impl From<FormatArg> for WavFormat {
    fn from(f: FormatArg) -> Self {
        match f {
            FormatArg::Int16 => WavFormat::Int16,
            FormatArg::Int24 => WavFormat::Int24,
            FormatArg::Float32 => WavFormat::Float32,
        }
    }
}

/// Threshold, cut planning and rendering options of `edit` (and `evaluate`).
#[derive(Args, Debug, Clone)]
pub struct EditTuning {
    /// Keep this share (above 0, at most 1) of the file, cutting the worst-scoring rest.
    #[arg(long, group = "thresh", value_parser = share, allow_negative_numbers = true)]
    pub keep_ratio: Option<f64>,
    /// Keep segments scoring under this percentile (0..100) of the file's own scores.
    #[arg(long, group = "thresh", value_parser = percentile, allow_negative_numbers = true)]
    pub percentile: Option<f64>,
    /// Cut segments scoring above this absolute score.
    #[arg(long, group = "thresh", value_parser = finite, allow_negative_numbers = true)]
    pub threshold: Option<f64>,
    /// Shortest kept piece in seconds; shorter ones are cut.
    #[arg(long, default_value_t = CutOptions::default().min_keep, value_parser = seconds, allow_negative_numbers = true)]
    pub min_keep: f64,
    /// Shortest cut in seconds; shorter ones are left in.
    #[arg(long, default_value_t = CutOptions::default().min_cut, value_parser = seconds, allow_negative_numbers = true)]
    pub min_cut: f64,
    /// Seconds of audio kept before each kept piece.
    #[arg(long, default_value_t = CutOptions::default().pre_pad, value_parser = seconds, allow_negative_numbers = true)]
    pub pre_pad: f64,
    /// Seconds of audio kept after each kept piece.
    #[arg(long, default_value_t = CutOptions::default().post_pad, value_parser = seconds, allow_negative_numbers = true)]
    pub post_pad: f64,
    /// Snap cut points to beats, bars, onsets, or not at all.
    #[arg(long, value_enum, default_value = "beat")]
    pub snap: SnapArg,
    /// How far (seconds) a cut point may move when snapping.
    #[arg(long, default_value_t = CutOptions::default().snap_tolerance, value_parser = seconds, allow_negative_numbers = true)]
    pub snap_tolerance: f64,
    /// Crossfade at each join in seconds (equal power).
    #[arg(long, default_value_t = DEFAULT_CROSSFADE_SECONDS, value_parser = seconds, allow_negative_numbers = true)]
    pub crossfade: f64,
    /// Step between scored segments in analysis frames (default: the model's). Only a model
    /// scored by reconstruction error takes another step than its own.
    #[arg(long, value_parser = positive_count)]
    pub hop_frames: Option<usize>,
    /// Keep cut boundaries where the scores put them instead of moving them to the nearest
    /// strong change in the sound.
    #[arg(long)]
    pub no_refine: bool,
}

impl EditTuning {
    /// The engine options these arguments describe.
    pub fn to_options(&self) -> EditOptions {
        let threshold = if let Some(r) = self.keep_ratio {
            ThresholdMode::KeepRatio(r)
        } else if let Some(p) = self.percentile {
            ThresholdMode::Percentile(p)
        } else if let Some(t) = self.threshold {
            ThresholdMode::Absolute(t)
        } else {
            ThresholdMode::Calibrated
        };
        EditOptions {
            threshold,
            cut: CutOptions {
                min_keep: self.min_keep,
                min_cut: self.min_cut,
                pre_pad: self.pre_pad,
                post_pad: self.post_pad,
                snap: match self.snap {
                    SnapArg::Beat => SnapMode::Beat,
                    SnapArg::Bar => SnapMode::Bar,
                    SnapArg::Onset => SnapMode::Onset,
                    SnapArg::Off => SnapMode::Off,
                },
                snap_tolerance: self.snap_tolerance,
            },
            crossfade: self.crossfade,
            refine_boundaries: !self.no_refine,
        }
    }
}

/// A number of seconds: finite and not negative.
pub fn seconds(text: &str) -> Result<f64, String> {
    number_where(text, |x| x >= 0.0, "is negative: seconds must be 0 or more")
}

/// A share: above 0 and at most 1.
pub fn share(text: &str) -> Result<f64, String> {
    number_where(
        text,
        |x| x > 0.0 && x <= 1.0,
        "is not a share: it must be above 0 and at most 1",
    )
}

/// A share strictly between 0 and 1.
pub fn open_share(text: &str) -> Result<f64, String> {
    number_where(text, |x| x > 0.0 && x < 1.0, "must be above 0 and below 1")
}

/// A percentile: 0 to 100.
pub fn percentile(text: &str) -> Result<f64, String> {
    number_where(
        text,
        |x| (0.0..=100.0).contains(&x),
        "is not a percentile: it must be from 0 to 100",
    )
}

/// A finite number above 0.
pub fn positive(text: &str) -> Result<f64, String> {
    number_where(text, |x| x > 0.0, "must be above 0")
}

/// A finite number not below 0.
pub fn non_negative(text: &str) -> Result<f64, String> {
    number_where(text, |x| x >= 0.0, "must be 0 or more")
}

/// A finite number for which `ok` holds; otherwise "X `why`".
fn number_where(text: &str, ok: impl Fn(f64) -> bool, why: &str) -> Result<f64, String> {
    let x = number(text)?;
    if ok(x) {
        Ok(x)
    } else {
        Err(format!("{x} {why}"))
    }
}

/// Any finite number.
pub fn finite(text: &str) -> Result<f64, String> {
    number(text)
}

/// A count of at least 1.
pub fn positive_count(text: &str) -> Result<usize, String> {
    let n: usize = text
        .trim()
        .parse()
        .map_err(|_| format!("'{text}' is not a whole number of at least 1"))?;
    if n == 0 {
        return Err("0 is not allowed: it must be at least 1".into());
    }
    Ok(n)
}

fn number(text: &str) -> Result<f64, String> {
    let x: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("'{text}' is not a number"))?;
    if !x.is_finite() {
        return Err(format!("'{text}' is not a finite number"));
    }
    Ok(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn option_values_outside_their_range_are_refused_with_the_range() {
        assert_eq!(seconds("0.5"), Ok(0.5));
        assert!(seconds("-3").unwrap_err().contains("0 or more"));
        assert!(share("5").unwrap_err().contains("at most 1"));
        assert!(share("0").is_err());
        assert!(percentile("500").unwrap_err().contains("0 to 100"));
        assert!(finite("NaN").unwrap_err().contains("finite"));
        assert!(finite("inf").is_err());
        assert!(positive_count("0").is_err());
        assert_eq!(positive_count("8"), Ok(8));
        assert!(open_share("1").is_err());
        assert!(positive("0").is_err());
        assert!(non_negative("-0.1").is_err());
    }
}
