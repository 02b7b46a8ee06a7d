//! `audio-slicer score` and `audio-slicer edit`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use audio_slicer::engine::audio_io::{read_audio, write_wav, AudioClip};
use audio_slicer::engine::edit::{cut_list_of, plan_edit, render_edit};
use audio_slicer::engine::plot::{plot_scores, PlotInput};
use audio_slicer::engine::scoring::ScoreTimeline;
use audio_slicer::engine::slicer::Slicer;
use audio_slicer::engine::timeline::TimeRange;
use clap::Args;
use serde_json::json;

use crate::options::{load_model, EditTuning, FormatArg, ModelArg};

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
    /// Step between scored segments in analysis frames (default: a quarter segment).
    #[arg(long)]
    pub hop_frames: Option<usize>,
}

/// Arguments of `edit`.
#[derive(Args, Debug)]
pub struct EditArgs {
    /// The raw recording to edit.
    pub file: PathBuf,
    /// The edited WAV to write; the cut list, labels, regions and plot go beside it.
    #[arg(short = 'o', long = "out")]
    pub out: PathBuf,
    #[command(flatten)]
    pub model: ModelArg,
    #[command(flatten)]
    pub edit: EditTuning,
    /// Sample encoding of the output WAV (rate and channels follow the source).
    #[arg(long, value_enum, default_value = "24")]
    pub format: FormatArg,
}

fn warn_repaired(path: &Path, clip: &AudioClip) {
    if clip.repaired_samples > 0 {
        eprintln!(
            "warning: {}: {} NaN/infinite samples were replaced by silence",
            path.display(),
            clip.repaired_samples
        );
    }
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .map_or_else(|| "audio".into(), |s| s.to_string_lossy().into_owned())
}

/// Runs `score`.
pub fn run_score(args: ScoreArgs) -> Result<()> {
    let model = load_model(args.model.model.as_deref())?;
    let clip = read_audio(&args.file)?;
    warn_repaired(&args.file, &clip);
    let hop = args.hop_frames.unwrap_or(model.default_hop_frames()).max(1);
    let timeline = model.score_clip(&clip, hop)?;
    let threshold = model.default_threshold().unwrap_or(f64::NAN);
    std::fs::create_dir_all(&args.out_dir)
        .with_context(|| format!("cannot create {}", args.out_dir.display()))?;
    let base = args.out_dir.join(stem(&args.file));
    let json_path = base.with_extension("scores.json");
    let csv_path = base.with_extension("scores.csv");
    let png_path = base.with_extension("scores.png");
    write_scores_json(&json_path, &args.file, &timeline, threshold, &model)?;
    write_scores_csv(&csv_path, &timeline)?;
    plot_scores(
        &png_path,
        &PlotInput {
            title: &format!("{} scores", stem(&args.file)),
            mono: &clip.mono(),
            sample_rate: clip.sample_rate,
            segments: &timeline.segments,
            threshold,
            keep: &[TimeRange::new(0.0, clip.duration())],
            duration: clip.duration(),
        },
    )?;
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

/// Runs `edit`.
pub fn run_edit(args: EditArgs) -> Result<()> {
    let model = load_model(args.model.model.as_deref())?;
    let clip = read_audio(&args.file)?;
    warn_repaired(&args.file, &clip);
    let options = args.edit.to_options(&model);
    let decision = plan_edit(&model, &clip, &options)?;
    let edited = render_edit(&clip, &decision.plan, options.crossfade);
    if let Some(dir) = args.out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    write_wav(&args.out, &edited, args.format.into())?;
    let list = cut_list_of(
        &decision,
        &args.file.display().to_string(),
        clip.sample_rate,
        model.name(),
    );
    let sidecars = list.write_sidecars(&args.out)?;
    let png = args.out.with_extension("png");
    plot_scores(
        &png,
        &PlotInput {
            title: &format!(
                "{}: kept {:.0} %",
                stem(&args.file),
                100.0 * decision.plan.kept_ratio()
            ),
            mono: &clip.mono(),
            sample_rate: clip.sample_rate,
            segments: &decision.timeline.segments,
            threshold: decision.threshold,
            keep: &decision.plan.keep,
            duration: clip.duration(),
        },
    )?;
    println!(
        "kept {:.1} s of {:.1} s ({:.1} %) in {} pieces, {} cuts, threshold {:.4}, tempo {:.0} BPM",
        decision.plan.kept_seconds(),
        clip.duration(),
        100.0 * decision.plan.kept_ratio(),
        decision.plan.keep.len(),
        decision.plan.cuts().len(),
        decision.threshold,
        decision.beats.tempo_bpm
    );
    println!("wrote {}", args.out.display());
    for p in sidecars.iter().chain(std::iter::once(&png)) {
        println!("wrote {}", p.display());
    }
    Ok(())
}
