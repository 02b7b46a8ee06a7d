//! The whole automatic edit of one recording: score, threshold, plan cuts, render.

use std::path::Path;

use anyhow::{anyhow, Result};
use serde::{Deserialize, Serialize};

use super::audio_io::{downmix_into, AudioClip, AudioReader, WavFormat, WavSink};
use super::beats::{track_beats, BeatGrid};
use super::boundaries::{refine_to_frames, ChangeCurve};
use super::cut_list::CutList;
use super::cut_plan::{CutOptions, CutPlan};
use super::features::{log_mel_of, FeatureConfig, LogMel, LogMelExtractor, StreamingLogMel};
use super::model::percentile_of_sorted;
use super::plot::{OutlineBuilder, WaveformOutline};
use super::render::{StreamingSplice, DEFAULT_CROSSFADE_SECONDS};
use super::scoring::ScoreTimeline;
use super::slicer::Slicer;
use super::timeline::TimeRange;

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
    /// Move cut boundaries to the nearest strong spectral change (within half a segment).
    pub refine_boundaries: bool,
}

impl Default for EditOptions {
    /// The model's calibrated threshold, the default cut rules, 20 ms crossfades, refined
    /// boundaries.
    fn default() -> Self {
        Self {
            threshold: ThresholdMode::Calibrated,
            cut: CutOptions::default(),
            crossfade: DEFAULT_CROSSFADE_SECONDS,
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

/// What one pass over a recording keeps to plan and draw its edit, instead of its audio: the
/// log-mel spectrogram (about 1/170 of the audio's size at 44.1 kHz stereo) and the waveform's
/// outline.
#[derive(Debug, Clone)]
pub struct RecordingAnalysis {
    /// Unnormalised log-mel features.
    pub spec: LogMel,
    /// The outline of the mono mix, for plots.
    pub waveform: WaveformOutline,
    /// Source sample rate in Hz.
    pub sample_rate: u32,
    /// Source length in sample frames.
    pub frames: usize,
    /// NaN or infinite samples read as silence.
    pub repaired_samples: usize,
}

impl RecordingAnalysis {
    /// Decodes and analyses `path` a block at a time, in memory that does not grow with the
    /// audio's length (only with its features').
    pub fn of_file(path: &Path, features: &FeatureConfig) -> Result<Self> {
        let mut reader = AudioReader::open(path)?;
        let sample_rate = reader.sample_rate();
        let mut spec = StreamingLogMel::new(features, sample_rate)?;
        let mut outline = OutlineBuilder::new(sample_rate);
        let mut mono = Vec::new();
        while let Some(block) = reader.next_block()? {
            downmix_into(block, &mut mono);
            spec.push(&mono)?;
            outline.push(&mono);
        }
        Ok(Self {
            spec: spec.finish()?,
            waveform: outline.finish(),
            sample_rate,
            frames: reader.frames_read() as usize,
            repaired_samples: reader.repaired_samples(),
        })
    }

    /// Length in seconds.
    pub fn duration(&self) -> f64 {
        self.frames as f64 / f64::from(self.sample_rate.max(1))
    }
}

/// Renders the kept ranges of the recording at `source` (`frames` long, as analysed) joined
/// with crossfades into the WAV file `out`, decoding and writing a block at a time.
pub fn render_edit_file(
    source: &Path,
    frames: usize,
    keep: &[TimeRange],
    crossfade: f64,
    out: &Path,
    format: WavFormat,
) -> Result<()> {
    let mut reader = AudioReader::open(source)?;
    let mut splice = StreamingSplice::new(
        keep,
        reader.sample_rate(),
        frames,
        reader.channels(),
        crossfade,
    )
    .map_err(|e| anyhow!("cannot render the edit of {}: {e}", source.display()))?;
    let mut sink = WavSink::create(out, reader.sample_rate(), reader.channels(), format)?;
    let mut write = |block: &[Vec<f32>]| sink.write(block);
    while let Some(block) = reader.next_block()? {
        splice.push(block, &mut write)?;
    }
    splice
        .finish(&mut write)
        .map_err(|e| anyhow!("cannot render the edit of {}: {e}", source.display()))?;
    sink.finish()
}

/// Scores `clip` with `model` and plans the cuts.
pub fn plan_edit(model: &Slicer, clip: &AudioClip, options: &EditOptions) -> Result<EditDecision> {
    let mut extractor = LogMelExtractor::new(model.features())?;
    let spec = log_mel_of(&mut extractor, &clip.channels, clip.sample_rate)?;
    plan_edit_of_log_mel(model, &spec, clip.duration(), options, &mut |_, _| {})
}

/// Scores the unnormalised log-mel `spec` of a recording lasting `duration` seconds and plans
/// the cuts, calling `report(done, total)` with the segments scored so far: scoring is nearly
/// all of an edit's time.
pub fn plan_edit_of_log_mel(
    model: &Slicer,
    spec: &LogMel,
    duration: f64,
    options: &EditOptions,
    report: &mut dyn FnMut(usize, usize),
) -> Result<EditDecision> {
    let beats = track_beats(&spec.data, spec.n_mels, spec.frame_rate);
    let timeline = model.score_log_mel_reporting(spec, duration, report)?;
    let curve = ChangeCurve::of(spec);
    let (threshold, plan) = plan_cuts(model, &curve, &timeline, &beats, options)?;
    Ok(EditDecision {
        timeline,
        threshold,
        beats,
        plan,
    })
}

/// Chooses the threshold and plans the cuts of a scored recording: the part of an edit that
/// the threshold and the planning rules change, so a new setting re-plans without scoring
/// again. `curve` is the recording's change curve (for boundary refinement), `grid` the
/// beats to snap to, in the recording's seconds. Returns the threshold and the plan.
pub fn plan_cuts(
    model: &Slicer,
    curve: &ChangeCurve,
    timeline: &ScoreTimeline,
    grid: &BeatGrid,
    options: &EditOptions,
) -> Result<(f64, CutPlan)> {
    let bins = timeline.bin_scores();
    let threshold = choose_threshold(model, timeline, &bins, options.threshold)?;
    let bad: Vec<bool> = bins.iter().map(|&s| s > threshold).collect();
    let plan = if options.refine_boundaries {
        let radius = model.segment_frames() / 2;
        // The scores' own step: the planner never assumes one.
        let hop_frames = (timeline.hop_seconds * curve.frame_rate).round() as usize;
        let frames = refine_to_frames(&bad, hop_frames.max(1), curve, radius);
        let frame_seconds = 1.0 / curve.frame_rate;
        CutPlan::from_bad_mask(
            &frames,
            frame_seconds,
            timeline.duration,
            &options.cut,
            Some(grid),
        )
    } else {
        CutPlan::from_bad_mask(
            &bad,
            timeline.hop_seconds,
            timeline.duration,
            &options.cut,
            Some(grid),
        )
    };
    Ok((threshold, plan))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::audio_io::{read_audio, write_wav};
    use crate::engine::render::render_keep;

    #[test]
    fn the_file_pass_analyses_and_renders_what_the_whole_clip_path_does() {
        let dir = std::env::temp_dir().join(format!("audio_slicer_edit_{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let source = dir.join("raw.wav");
        let channels: Vec<Vec<f32>> = (0..2)
            .map(|c| {
                (0..3 * 44_100 + 17)
                    .map(|i| (((i * (31 + c)) % 997) as f32 / 997.0 - 0.5) * 0.8)
                    .collect()
            })
            .collect();
        write_wav(
            &source,
            &AudioClip::new(44_100, channels),
            WavFormat::Float32,
        )
        .unwrap();
        let clip = read_audio(&source).unwrap();

        let features = FeatureConfig::default();
        let analysis = RecordingAnalysis::of_file(&source, &features).unwrap();
        let mut extractor = LogMelExtractor::new(&features).unwrap();
        let whole = log_mel_of(&mut extractor, &clip.channels, clip.sample_rate).unwrap();
        assert!(analysis.spec == whole);
        assert_eq!(analysis.frames, clip.frames());
        assert!((analysis.waveform.duration() - clip.duration()).abs() < 0.01);

        let keep = [
            TimeRange::new(0.1, 0.9),
            TimeRange::new(1.2, 1.25),
            TimeRange::new(2.0, 9.0),
        ];
        let out = dir.join("edited.wav");
        render_edit_file(
            &source,
            analysis.frames,
            &keep,
            0.02,
            &out,
            WavFormat::Float32,
        )
        .unwrap();
        let expected = render_keep(&clip.channels, clip.sample_rate, &keep, 0.02);
        assert!(read_audio(&out).unwrap().channels == expected);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
