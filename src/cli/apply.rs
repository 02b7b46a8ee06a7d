//! `audio-slicer apply`: one cut list applied to other recordings of the same session (the
//! stems of a multitrack, a video's audio), so every track is cut at the same samples.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use audio_slicer::engine::audio_io::audio_length;
use audio_slicer::engine::cut_list::CutList;
use audio_slicer::engine::edit::render_edit_file;
use audio_slicer::engine::outputs::OutputSet;
use audio_slicer::engine::render::DEFAULT_CROSSFADE_SECONDS;
use audio_slicer::engine::timeline::total_duration;
use clap::Args;

use crate::batch::{batch_outputs, expand_inputs, run_batch};
use crate::options::{positive_count, seconds, FormatArg};

/// A recording may differ in length from the one the cut list was made for by this much
/// (seconds): decoders disagree by a few milliseconds on compressed files' padding.
const LENGTH_TOLERANCE: f64 = 0.05;

/// Arguments of `apply`.
#[derive(Args, Debug)]
pub struct ApplyArgs {
    /// The cut list to apply (an edit's OUT.cuts.json, or one written by `align`).
    pub cuts: PathBuf,
    /// Recordings of the same session, each as long as the one the cut list was made for;
    /// folders stand for the audio files in them.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Folder the edited recordings are written to, as NAME.wav.
    #[arg(short = 'o', long = "out")]
    pub out: PathBuf,
    /// Crossfade at each join in seconds (equal power), as `edit` renders it.
    #[arg(long, default_value_t = DEFAULT_CROSSFADE_SECONDS, value_parser = seconds, allow_negative_numbers = true)]
    pub crossfade: f64,
    /// Sample encoding of the output WAVs (rate and channels follow each source).
    #[arg(long, value_enum, default_value = "24")]
    pub format: FormatArg,
    /// Recordings processed at once (default: one per core).
    #[arg(short = 'j', long, value_parser = positive_count)]
    pub jobs: Option<usize>,
    /// Replace output files that already exist.
    #[arg(long)]
    pub force: bool,
    /// Print only warnings and errors.
    #[arg(short = 'q', long)]
    pub quiet: bool,
}

/// Runs `apply`.
pub fn run(args: ApplyArgs) -> Result<()> {
    let list = CutList::read_json(&args.cuts)?;
    let inputs = expand_inputs(&args.files)?;
    if args.out.is_file() {
        bail!(
            "{} must be a folder: apply writes NAME.wav there for every recording",
            args.out.display()
        );
    }
    let jobs = batch_outputs(&inputs, &args.out)?;
    run_batch(&jobs, args.jobs, "cut", args.quiet, |input, out| {
        apply_one(&list, &args, input, out)
    })
}

fn apply_one(list: &CutList, args: &ApplyArgs, input: &Path, out: &Path) -> Result<String> {
    let outputs = OutputSet::prepare(&[out.to_path_buf()], &[input, &args.cuts], args.force)?;
    let (sample_rate, frames) = audio_length(input)?;
    let duration = frames as f64 / f64::from(sample_rate);
    if (duration - list.duration).abs() > LENGTH_TOLERANCE {
        bail!(
            "{} lasts {:.3} s but {} was made for {:.3} s of audio: it is not a recording of the same session",
            input.display(),
            duration,
            args.cuts.display(),
            list.duration
        );
    }
    let keep = list.keep_ranges();
    render_edit_file(
        input,
        frames,
        &keep,
        args.crossfade,
        outputs.temp_path(out)?,
        args.format.into(),
    )?;
    outputs.commit()?;
    let kept = total_duration(&keep);
    Ok(format!(
        "kept {:.1} s of {:.1} s in {} pieces; wrote {}",
        kept,
        duration,
        keep.len(),
        out.display()
    ))
}
