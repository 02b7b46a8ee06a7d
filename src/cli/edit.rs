//! `audio-slicer score` and `audio-slicer edit`.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use audio_slicer::engine::cut_list::sidecar_paths;
use audio_slicer::engine::edit::{
    cut_list_of, plan_edit_of_log_mel, render_edit_file, RecordingAnalysis,
};
use audio_slicer::engine::outputs::{require_extension, OutputSet};
use audio_slicer::engine::plot::{plot_scores, PlotInput};
use audio_slicer::engine::scoring::ScoreTimeline;
use audio_slicer::engine::slicer::Slicer;
use audio_slicer::engine::timeline::TimeRange;
use clap::Args;
use serde_json::json;

use crate::batch::{batch_outputs, expand_inputs, has_extension, run_batch};
use crate::options::{at_hop, load_model, positive_count, EditTuning, FormatArg, ModelArg};
use crate::progress::ProgressOptions;

/// Arguments of `score`.
#[derive(Args, Debug)]
pub struct ScoreArgs {
    /// The recording to score.
    pub file: PathBuf,
    #[command(flatten)]
    pub model: ModelArg,
    /// Folder for NAME.scores.json, NAME.scores.csv and NAME.scores.png.
    #[arg(short = 'o', long = "out-dir", default_value = ".")]
    pub out_dir: PathBuf,
    /// Step between scored segments in analysis frames (default: the model's).
    #[arg(long, value_parser = positive_count)]
    pub hop_frames: Option<usize>,
    /// Replace output files that already exist.
    #[arg(long)]
    pub force: bool,
}

/// Arguments of `edit`.
#[derive(Args, Debug)]
pub struct EditArgs {
    /// The raw recordings to edit: files, or folders whose audio files are all edited.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// With one recording: the edited WAV to write (the cut list, labels, regions, REAPER
    /// project and plot go beside it). With several, or a folder: the folder they are written
    /// to, as NAME.wav and so on.
    #[arg(short = 'o', long = "out")]
    pub out: PathBuf,
    /// Recordings edited at once when there are several (default: one per core).
    #[arg(short = 'j', long, value_parser = positive_count)]
    pub jobs: Option<usize>,
    #[command(flatten)]
    pub model: ModelArg,
    #[command(flatten)]
    pub edit: EditTuning,
    /// Sample encoding of the output WAV (rate and channels follow the source).
    #[arg(long, value_enum, default_value = "24")]
    pub format: FormatArg,
    /// Replace output files that already exist.
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub progress: ProgressOptions,
}

/// Sample rates below this lose most of what the model listens to.
const LOW_SAMPLE_RATE: u32 = 16_000;

fn warn_about_input(path: &Path, analysis: &RecordingAnalysis) {
    if analysis.repaired_samples > 0 {
        eprintln!(
            "warning: {}: {} NaN/infinite samples were replaced by silence",
            path.display(),
            analysis.repaired_samples
        );
    }
    if analysis.sample_rate < LOW_SAMPLE_RATE {
        eprintln!(
            "warning: {} is sampled at {} Hz: it holds nothing above {} Hz, which the model expects to hear, so its scores are less reliable",
            path.display(),
            analysis.sample_rate,
            analysis.sample_rate / 2
        );
    }
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .map_or_else(|| "audio".into(), |s| s.to_string_lossy().into_owned())
}

/// Runs `score`.
pub fn run_score(args: ScoreArgs) -> Result<()> {
    let base = args.out_dir.join(stem(&args.file));
    let json_path = base.with_extension("scores.json");
    let csv_path = base.with_extension("scores.csv");
    let png_path = base.with_extension("scores.png");
    let paths = [json_path.clone(), csv_path.clone(), png_path.clone()];
    let outputs = OutputSet::prepare(&paths, &[&args.file], args.force)?;
    let model = at_hop(load_model(args.model.model.as_deref())?, args.hop_frames)?;
    let analysis = RecordingAnalysis::of_file(&args.file, model.features())?;
    warn_about_input(&args.file, &analysis);
    let timeline = model.score_log_mel(&analysis.spec, analysis.duration())?;
    let threshold = model.default_threshold().unwrap_or(f64::NAN);
    write_scores_json(
        outputs.temp_path(&json_path)?,
        &args.file,
        &timeline,
        threshold,
        &model,
    )?;
    write_scores_csv(outputs.temp_path(&csv_path)?, &timeline)?;
    plot_scores(
        outputs.temp_path(&png_path)?,
        &PlotInput {
            title: &format!("{} scores", stem(&args.file)),
            waveform: &analysis.waveform,
            segments: &timeline.segments,
            threshold,
            keep: &[TimeRange::new(0.0, analysis.duration())],
            duration: analysis.duration(),
        },
    )?;
    outputs.commit()?;
    println!(
        "{} segments scored; wrote {}, {}, {}",
        timeline.segments.len(),
        json_path.display(),
        csv_path.display(),
        png_path.display()
    );
    Ok(())
}

fn write_scores_json(
    path: &Path,
    source: &Path,
    timeline: &ScoreTimeline,
    threshold: f64,
    model: &Slicer,
) -> Result<()> {
    let value = json!({
        "source": source.display().to_string(),
        "duration": timeline.duration,
        "segment_seconds": timeline.segment_seconds,
        "hop_seconds": timeline.hop_seconds,
        "threshold": if threshold.is_finite() { json!(threshold) } else { json!(null) },
        "model": model.name(),
        // Scores mean different things by method (an error, a probability, an error difference).
        "method": model.method(),
        "segments": timeline.segments,
    });
    std::fs::write(path, serde_json::to_string_pretty(&value)?)
        .with_context(|| format!("cannot write {}", path.display()))
}

fn write_scores_csv(path: &Path, timeline: &ScoreTimeline) -> Result<()> {
    let mut text = String::from("start,end,score\n");
    for s in &timeline.segments {
        text.push_str(&format!("{:.6},{:.6},{:.6}\n", s.start, s.end, s.score));
    }
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

/// Runs `edit`: one recording to `-o OUT.wav`, or several (or folders of them) into the folder
/// `-o DIR`, in parallel, where one failing file does not stop the others.
pub fn run_edit(args: EditArgs) -> Result<()> {
    let inputs = expand_inputs(&args.files)?;
    let single = inputs.len() == 1 && !args.files[0].is_dir() && !args.out.is_dir();
    if single {
        // Every output path is checked before the analysis.
        let outputs = edit_outputs(&inputs[0], &args.out, args.force)?;
        let model = at_hop(
            load_model(args.model.model.as_deref())?,
            args.edit.hop_frames,
        )?;
        let mut progress = args.progress.reporter("segments scored");
        let summary = edit_one(
            &model,
            &inputs[0],
            &args.out,
            outputs,
            &args,
            &mut |d, t| progress.update(d, t),
        )?;
        progress.finish();
        if !args.progress.quiet {
            println!("{summary}");
            for p in edit_paths(&args.out)? {
                println!("wrote {}", p.display());
            }
        }
        return Ok(());
    }
    if args.out.is_file() || has_extension(&args.out, "wav") {
        bail!(
            "{} must be a folder: with several recordings, -o names the folder the edits are written to",
            args.out.display()
        );
    }
    let jobs = batch_outputs(&inputs, &args.out)?;
    let model = at_hop(
        load_model(args.model.model.as_deref())?,
        args.edit.hop_frames,
    )?;
    // Several files at once: the line printed as each finishes is the progress.
    run_batch(
        &jobs,
        args.jobs,
        "edited",
        args.progress.quiet,
        |input, out| {
            let outputs = edit_outputs(input, out, args.force)?;
            edit_one(&model, input, out, outputs, &args, &mut |_, _| {})
        },
    )
}

/// The outputs of an edit written to `out`: the WAV, the cut list, the Audacity labels, the
/// REAPER regions and project, and the plot.
fn edit_paths(out: &Path) -> Result<[PathBuf; 6]> {
    let [json, labels, csv] = sidecar_paths(out)?;
    Ok([
        out.to_path_buf(),
        json,
        labels,
        csv,
        out.with_extension("rpp"),
        out.with_extension("png"),
    ])
}

fn edit_outputs(input: &Path, out: &Path, force: bool) -> Result<OutputSet> {
    require_extension(out, "wav", "the edited audio (WAV)")?;
    OutputSet::prepare(&edit_paths(out)?, &[input], force)
}

/// Edits `input` into `out` (whose outputs are reserved in `outputs`) and says what it kept.
fn edit_one(
    model: &Slicer,
    input: &Path,
    out: &Path,
    outputs: OutputSet,
    args: &EditArgs,
    report: &mut dyn FnMut(usize, usize),
) -> Result<String> {
    let [_, json, labels, csv, rpp, png] = edit_paths(out)?;
    let analysis = RecordingAnalysis::of_file(input, model.features())?;
    warn_about_input(input, &analysis);
    let options = args.edit.to_options();
    let decision =
        plan_edit_of_log_mel(model, &analysis.spec, analysis.duration(), &options, report)?;
    if decision.plan.keep.is_empty() {
        eprintln!(
            "warning: {}: every segment scored above the threshold {:.4}, so the edit keeps nothing and the WAV is empty",
            input.display(),
            decision.threshold
        );
    }
    render_edit_file(
        input,
        analysis.frames,
        &decision.plan.keep,
        options.crossfade,
        outputs.temp_path(out)?,
        args.format.into(),
    )?;
    let list = cut_list_of(
        &decision,
        &input.display().to_string(),
        analysis.sample_rate,
        model.name(),
    );
    list.write_sidecars([
        outputs.temp_path(&json)?,
        outputs.temp_path(&labels)?,
        outputs.temp_path(&csv)?,
    ])?;
    // The project points at the raw recording wherever it is opened from.
    let source = std::fs::canonicalize(input).unwrap_or_else(|_| input.to_path_buf());
    std::fs::write(
        outputs.temp_path(&rpp)?,
        list.to_reaper_project(&source, options.crossfade),
    )
    .with_context(|| format!("cannot write {}", rpp.display()))?;
    plot_scores(
        outputs.temp_path(&png)?,
        &PlotInput {
            title: &format!(
                "{}: kept {:.0} %",
                stem(input),
                100.0 * decision.plan.kept_ratio()
            ),
            waveform: &analysis.waveform,
            segments: &decision.timeline.segments,
            threshold: decision.threshold,
            keep: &decision.plan.keep,
            duration: analysis.duration(),
        },
    )?;
    outputs.commit()?;
    Ok(format!(
        "kept {:.1} s of {:.1} s ({:.1} %) in {} pieces, {} cuts, threshold {:.4}, tempo {:.0} BPM",
        decision.plan.kept_seconds(),
        analysis.duration(),
        100.0 * decision.plan.kept_ratio(),
        decision.plan.keep.len(),
        decision.plan.cuts().len(),
        decision.threshold,
        decision.beats.tempo_bpm
    ))
}
