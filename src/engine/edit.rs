//! The whole automatic edit of one recording: score, threshold, plan cuts, render.

use anyhow::{anyhow, Result};
use serde::{Deserialize, Serialize};

use super::audio_io::AudioClip;
use super::beats::{track_beats, BeatGrid};
use super::boundaries::refine_to_frames;
use super::cut_list::CutList;
use super::cut_plan::{CutOptions, CutPlan};
use super::features::{log_mel_of, LogMelExtractor};
use super::model::percentile_of_sorted;
use super::render::render_keep;
use super::scoring::ScoreTimeline;
use super::slicer::Slicer;

/// How the keep/cut threshold on segment scores is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "mode", content = "value")]
pub enum ThresholdMode {
    /// From the model's calibration: a percentile of errors on held-out edited audio, so the
    /// same threshold applies to every file (a file that is all good loses nothing).
    Calibrated,
    /// A fixed score.
    Absolute(f64),
    /// The seed's mode: keep segments under the P-th percentile of this file's scores.
    Percentile(f64),
    /// Keep this share (0..1) of the file, cutting the worst-scoring rest.
    KeepRatio(f64),
}

/// Everything that shapes an automatic edit.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EditOptions {
    /// Threshold choice.
    pub threshold: ThresholdMode,
    /// Cut planning (merging, pads, snapping).
    pub cut: CutOptions,
    /// Crossfade at each join of the rendered edit, in seconds.
    pub crossfade: f64,
    /// Step between scored segments, in analysis frames.
    pub hop_frames: usize,
    /// Move cut boundaries to the nearest strong spectral change (within half a segment).
    pub refine_boundaries: bool,
}

impl EditOptions {
    /// Defaults for a model: calibrated threshold, quarter-segment hop, 20 ms crossfades.
    pub fn for_model(model: &Slicer) -> Self {
        Self {
            threshold: ThresholdMode::Calibrated,
            cut: CutOptions::default(),
            crossfade: 0.02,
            hop_frames: model.default_hop_frames(),
            refine_boundaries: true,
        }
    }
}

/// What the analysis found and decided for one recording.
#[derive(Debug, Clone)]
pub struct EditDecision {
    /// Per-segment scores.
    pub timeline: ScoreTimeline,
    /// The score above which audio is cut.
    pub threshold: f64,
    /// Beats, bars and onsets found in the recording.
    pub beats: BeatGrid,
    /// The kept ranges.
    pub plan: CutPlan,
}

/// Scores `clip` with `model` and plans the cuts.
pub fn plan_edit(model: &Slicer, clip: &AudioClip, options: &EditOptions) -> Result<EditDecision> {
    plan_edit_reporting(model, clip, options, &mut |_, _| {})
}

/// [`plan_edit`], calling `report(done, total)` with the segments scored so far: scoring is
/// nearly all of an edit's time.
pub fn plan_edit_reporting(
    model: &Slicer,
    clip: &AudioClip,
    options: &EditOptions,
    report: &mut dyn FnMut(usize, usize),
) -> Result<EditDecision> {
    let mut extractor = LogMelExtractor::new(model.features())?;
    let spec = log_mel_of(&mut extractor, &clip.channels, clip.sample_rate)?;
    let beats = track_beats(&spec.data, spec.n_mels, spec.frame_rate);
    let timeline =
        model.score_log_mel_reporting(&spec, clip.duration(), options.hop_frames, report)?;
    let bins = timeline.bin_scores();
    let threshold = choose_threshold(model, &timeline, &bins, options.threshold)?;
    let bad: Vec<bool> = bins.iter().map(|&s| s > threshold).collect();
    let plan = if options.refine_boundaries {
        let radius = model.segment_frames() / 2;
        let frames = refine_to_frames(&bad, options.hop_frames, &spec, radius);
        let frame_seconds = 1.0 / spec.frame_rate;
        CutPlan::from_bad_mask(
            &frames,
            frame_seconds,
            timeline.duration,
            &options.cut,
            Some(&beats),
        )
    } else {
        CutPlan::from_bad_mask(
            &bad,
            timeline.hop_seconds,
            timeline.duration,
            &options.cut,
            Some(&beats),
        )
    };
    Ok(EditDecision {
        timeline,
        threshold,
        beats,
        plan,
    })
}

/// Resolves a [`ThresholdMode`] to a score.
pub fn choose_threshold(
    model: &Slicer,
    timeline: &ScoreTimeline,
    bins: &[f64],
    mode: ThresholdMode,
) -> Result<f64> {
    let sorted = |values: Vec<f64>| {
        let mut v: Vec<f64> = values.into_iter().filter(|x| x.is_finite()).collect();
        v.sort_by(f64::total_cmp);
        v
    };
    Ok(match mode {
        ThresholdMode::Absolute(t) => t,
        ThresholdMode::Calibrated => model.default_threshold().ok_or_else(|| {
            anyhow!(
                "the model has no calibration: choose --percentile, --keep-ratio or --threshold"
            )
        })?,
        ThresholdMode::Percentile(p) => {
            let scores = sorted(timeline.segments.iter().map(|s| s.score).collect());
            percentile_of_sorted(&scores, p)
        }
        ThresholdMode::KeepRatio(r) => {
            percentile_of_sorted(&sorted(bins.to_vec()), r.clamp(0.0, 1.0) * 100.0)
        }
    })
}

/// Renders the kept ranges of `clip` joined with crossfades.
pub fn render_edit(clip: &AudioClip, plan: &CutPlan, crossfade: f64) -> AudioClip {
    let channels = render_keep(&clip.channels, clip.sample_rate, &plan.keep, crossfade);
    AudioClip::new(clip.sample_rate, channels)
}

/// The cut list describing a decision, in the engine's JSON format.
pub fn cut_list_of(
    decision: &EditDecision,
    source: &str,
    sample_rate: u32,
    model_name: &str,
) -> CutList {
    CutList::new(
        source,
        sample_rate,
        decision.timeline.duration,
        &decision.plan.keep,
        decision.timeline.segments.clone(),
        decision.threshold,
        model_name,
    )
}
