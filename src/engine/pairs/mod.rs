//! Learning what to cut from the user's raw/edited pairs.
//!
//! Aligning each raw recording with its edit tells, with no human labels, which raw spans were
//! kept and which were cut. A small classifier learns from those spans, over descriptors that
//! combine the autoencoder's view of a segment (trained on edited audio only) with its spectral
//! envelope, dynamics and context.

pub mod classifier;
pub mod dataset;
pub mod descriptors;
pub mod median;
pub mod whole_files;

use anyhow::Result;
use serde::{Deserialize, Serialize};

use crate::engine::cut_plan::{CutOptions, CutPlan};
use crate::engine::features::LogMel;
use crate::engine::model::Autoencoder;
use crate::engine::scoring::ScoreTimeline;
use crate::engine::takes::LABEL_RESOLUTION_SECONDS;
use crate::engine::timeline::{overlap_seconds, total_duration, TimeRange};

pub use classifier::{
    backstop_limit, ClassifierConfig, ClassifierTraining, CrossValidation, PairClassifier,
    CLASSIFIER_WEIGHTS_FILE,
};
pub use dataset::{label_pair, session_pairs, unmatched_files, SessionPair, UnmatchedFiles};
pub use descriptors::{
    column_medians, local_descriptors_reporting, segment_starts, with_context, ContextRows,
    MedianPrior, SegmentDescriptors,
};
pub use median::RunningMedian;
pub use whole_files::{learn_from_files, FILE_CLASSIFIER_THRESHOLD};

/// Where a classifier's keep/cut labels came from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LabelSource {
    /// Each raw segment labelled by the share of it the user's edit cut, found by aligning the
    /// raw recording with its edit (the pair classifier).
    #[default]
    AlignedSpans,
    /// Every segment of an edited file labelled keep and every segment of a raw file labelled
    /// cut, with no alignment (the seed's binary file classifier, a baseline).
    WholeFiles,
}

/// Radii of the classifier's short and long context windows, in seconds.
pub const CONTEXT_SECONDS: (f64, f64) = (0.75, 6.0);

/// How much the classifier's median prior counts for when joined with a recording's segments.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PriorWeight {
    /// Copies of the prior per recording segment.
    pub share: f64,
    /// Seconds of audio it counts for at least.
    pub min_seconds: f64,
}

impl PriorWeight {
    /// No prior: the recording's own median.
    pub const NONE: Self = Self {
        share: 0.0,
        min_seconds: 0.0,
    };
}

/// The weight of the classifier's median prior. Sessions often open with what gets cut
/// (count-ins, talk, tuning) and some are mostly junk; measured against their own median
/// alone, that junk would look normal. Counted as half of the recording's segments, the median
/// is the training sessions' typical median clamped into the recording's quartiles, so the same
/// material gets the same decisions in a long file and in the file repeated: a fixed amount of
/// audio alone let a long recording outweigh it (75.9 % kept of a file, 99.7 % of the file
/// repeated to ten minutes). The minute it counts for at least steadies short recordings and
/// the first minutes of a stream: with the share alone, the plugin, whose early decisions rest
/// on the first seconds heard, lost 12.9 % of dev/test's music instead of 3 %. Recordings over
/// two minutes are judged by the share alone.
pub const PRIOR_WEIGHT: PriorWeight = PriorWeight {
    share: 0.5,
    min_seconds: 60.0,
};

/// Segments per classifier step: an eighth of a segment (about 93 ms) places cut points finer
/// than the autoencoder's quarter-segment hop.
pub const HOP_DIVISOR: usize = 8;

/// Step (frames) and context radii (segments) of the classifier for a model.
pub fn classifier_geometry(model: &Autoencoder) -> (usize, usize, usize) {
    let hop = (model.config().segment_frames / HOP_DIVISOR).max(1);
    let per_second = model.config().features.frame_rate() / hop as f64;
    let radius = |s: f64| ((s * per_second).round() as usize).max(1);
    (hop, radius(CONTEXT_SECONDS.0), radius(CONTEXT_SECONDS.1))
}

/// A raw recording whose kept spans are known (from alignment with its edit).
pub struct LabelledRecording {
    /// Unnormalised log-mel of the raw recording.
    pub spec: LogMel,
    /// Raw spans the edit kept, ascending.
    pub kept: Vec<TimeRange>,
    /// Raw spans the edit cut that perform kept music again (false starts, worse takes),
    /// ascending. They are cut because of the better take, not for how they sound, so the
    /// classifier never learns from them.
    pub takes: Vec<TimeRange>,
}

/// Whether each segment `[start, start + segment)` (frames) is a fair example of kept music or
/// of junk: it lies nowhere near a take (within the take labels' resolution).
pub fn away_from_takes(
    starts: &[usize],
    segment: usize,
    frame_rate: f64,
    takes: &[TimeRange],
) -> Vec<bool> {
    let margin = LABEL_RESOLUTION_SECONDS;
    starts
        .iter()
        .map(|&s| {
            let a = s as f64 / frame_rate - margin;
            let b = (s + segment) as f64 / frame_rate + margin;
            takes.iter().all(|t| t.end <= a || t.start >= b)
        })
        .collect()
}

/// Share of each segment `[start, start + segment)` (frames) that falls outside the kept spans.
pub fn cut_shares(
    starts: &[usize],
    segment: usize,
    frame_rate: f64,
    kept: &[TimeRange],
) -> Vec<f32> {
    starts
        .iter()
        .map(|&s| {
            let a = s as f64 / frame_rate;
            let b = (s + segment) as f64 / frame_rate;
            let inside: f64 = kept
                .iter()
                .map(|k| (k.end.min(b) - k.start.max(a)).max(0.0))
                .sum();
            (1.0 - inside / (b - a)).clamp(0.0, 1.0) as f32
        })
        .collect()
}

/// Local descriptors of every segment of an unnormalised spectrogram (normalised with the
/// autoencoder's feature statistics).
pub fn local_descriptors_of(
    model: &Autoencoder,
    spec: &LogMel,
    hop: usize,
) -> Result<SegmentDescriptors> {
    local_descriptors_reporting(model, spec, hop, &mut |_, _| {})
}

/// Descriptors (with context) of every segment of an unnormalised spectrogram.
pub fn contextual_descriptors(
    model: &Autoencoder,
    spec: &LogMel,
    hop: usize,
    context: (usize, usize),
    prior: Option<&MedianPrior>,
) -> Result<SegmentDescriptors> {
    let local = local_descriptors_of(model, spec, hop)?;
    Ok(with_context(&local, context.0, context.1, prior))
}

/// Puts the local descriptors of a set of training recordings in context the way a model will
/// use them: each recording's median joined with their typical median, counting for
/// [`PRIOR_WEIGHT`]. Returns the contextual descriptors and that prior, which the model keeps.
pub fn with_typical_prior(
    model: &Autoencoder,
    locals: &[SegmentDescriptors],
) -> (Vec<SegmentDescriptors>, MedianPrior) {
    let (hop, short, long) = classifier_geometry(model);
    let prior = MedianPrior::new(
        typical_median(locals),
        PRIOR_WEIGHT,
        hop,
        model.config().features.frame_rate(),
    );
    let contextual = locals
        .iter()
        .map(|local| with_context(local, short, long, Some(&prior)))
        .collect();
    (contextual, prior)
}

/// Aligns every raw/edited pair of `data_dir` and trains the classifier on them; `None` when the
/// folder has no raw recordings matching its edits (the model then scores by reconstruction).
/// `on_pair` hears of each pair once it is aligned.
pub fn learn_from_pairs(
    model: &Autoencoder,
    data_dir: &std::path::Path,
    options: &ClassifierTraining,
    on_pair: &mut dyn FnMut(&SessionPair, &LabelledRecording),
) -> Result<Option<PairClassifier>> {
    let pairs = session_pairs(data_dir)?;
    if pairs.is_empty() {
        return Ok(None);
    }
    let recordings = pairs
        .iter()
        .map(|pair| {
            let recording = label_pair(pair, &model.config().features)?;
            on_pair(pair, &recording);
            Ok(recording)
        })
        .collect::<Result<Vec<_>>>()?;
    let refs: Vec<&LabelledRecording> = recordings.iter().collect();
    Ok(Some(train_classifier(model, &refs, options)?))
}

/// Descriptor rows and cut shares of one labelled recording, and what planning its edit needs.
struct LabelledSegments<'a> {
    rows: Vec<f32>,
    labels: Vec<f32>,
    /// Which segments the classifier learns from and its threshold is chosen on (not takes).
    learn: Vec<bool>,
    /// First frame of each segment.
    starts: Vec<usize>,
    recording: &'a LabelledRecording,
}

/// Trains the keep/cut classifier on labelled raw recordings. With two or more recordings the
/// decision threshold is chosen by cross-validation across recordings (the one that best
/// reproduces the held-out edits), and the held-out figures are kept with the classifier;
/// with one it stays at 0.5.
pub fn train_classifier(
    model: &Autoencoder,
    recordings: &[&LabelledRecording],
    options: &ClassifierTraining,
) -> Result<PairClassifier> {
    let context = classifier_geometry(model);
    let hop = context.0;
    let seg = model.config().segment_frames;
    let locals = recordings
        .iter()
        .map(|rec| local_descriptors_of(model, &rec.spec, hop))
        .collect::<Result<Vec<_>>>()?;
    let (contextual, prior) = with_typical_prior(model, &locals);
    let data: Vec<LabelledSegments> = recordings
        .iter()
        .zip(contextual)
        .map(|(rec, desc)| {
            let labels = cut_shares(&desc.starts, seg, rec.spec.frame_rate, &rec.kept);
            // Wholly kept segments always teach: the opening of the take an editor kept after
            // a false start is exactly the music a classifier must not learn to cut.
            let learn = away_from_takes(&desc.starts, seg, rec.spec.frame_rate, &rec.takes)
                .into_iter()
                .zip(&labels)
                .map(|(away, &label)| away || label == 0.0)
                .collect();
            LabelledSegments {
                labels,
                learn,
                rows: desc.values,
                starts: desc.starts,
                recording: rec,
            }
        })
        .collect();
    let validation = if data.len() >= 2 {
        Some(cross_validate(&data, context, seg, options)?)
    } else {
        None
    };
    let (rows, labels) = pool(data.iter());
    let mut clf = PairClassifier::train(&rows, &labels, context, options)?;
    if let Some((threshold, validation)) = validation {
        clf.set_threshold(threshold);
        clf.set_cross_validation(validation);
    }
    // Kept so the classifier is used as it was trained.
    clf.set_median_prior(prior.values);
    let kept_maxima: Vec<f32> = locals
        .iter()
        .zip(&data)
        .map(|(local, d)| {
            (0..local.len())
                .filter(|&i| d.labels[i] == 0.0)
                .map(|i| local.row(i)[0])
                .fold(f32::NEG_INFINITY, f32::max)
        })
        .collect();
    clf.set_backstop(backstop_limit(&kept_maxima));
    Ok(clf)
}

/// The recordings' column medians, averaged with each recording weighted by its length.
pub fn typical_median(locals: &[SegmentDescriptors]) -> Vec<f32> {
    let dim = locals.first().map_or(0, |l| l.dim);
    let mut sum = vec![0.0f64; dim];
    let mut rows = 0usize;
    for local in locals.iter().filter(|l| !l.is_empty()) {
        for (s, m) in sum.iter_mut().zip(column_medians(local)) {
            *s += f64::from(m) * local.len() as f64;
        }
        rows += local.len();
    }
    sum.into_iter()
        .map(|s| (s / rows.max(1) as f64) as f32)
        .collect()
}

fn pool<'a, 'r: 'a>(parts: impl Iterator<Item = &'a LabelledSegments<'r>>) -> (Vec<f32>, Vec<f32>) {
    let mut rows = Vec::new();
    let mut labels = Vec::new();
    for p in parts {
        let dim = p.rows.len() / p.labels.len().max(1);
        for ((row, &label), _) in p
            .rows
            .chunks_exact(dim.max(1))
            .zip(&p.labels)
            .zip(&p.learn)
            .filter(|(_, &learn)| learn)
        {
            rows.extend_from_slice(row);
            labels.push(label);
        }
    }
    (rows, labels)
}

/// Trains on all recordings but one fold at a time (at most 3 folds of whole recordings, so
/// segments of one recording never train and test at once), scores the held-out fold, and
/// chooses the threshold that best reproduces the held-out edits' segments. Returns that
/// threshold and the figures of the held-out recordings' edits planned at it.
fn cross_validate(
    data: &[LabelledSegments],
    context: (usize, usize, usize),
    segment_frames: usize,
    options: &ClassifierTraining,
) -> Result<(f64, CrossValidation)> {
    let folds = data.len().min(3);
    // Every recording's held-out cut probabilities, from the fold that did not train on it.
    let mut held_out: Vec<Vec<f64>> = vec![Vec::new(); data.len()];
    for fold in 0..folds {
        let (rows, labels) = pool(
            data.iter()
                .enumerate()
                .filter(|(i, _)| i % folds != fold)
                .map(|(_, d)| d),
        );
        let clf = PairClassifier::train(&rows, &labels, context, options)?;
        for (i, d) in data.iter().enumerate().filter(|(i, _)| i % folds == fold) {
            let desc = SegmentDescriptors {
                starts: vec![0; d.labels.len()],
                values: d.rows.clone(),
                dim: clf.config().input_dim,
            };
            held_out[i] = clf.predict(&desc)?;
        }
    }
    let scored: Vec<(f64, bool)> = data
        .iter()
        .zip(&held_out)
        .flat_map(|(d, p)| {
            p.iter()
                .zip(&d.labels)
                .zip(&d.learn)
                .filter(|(_, &learn)| learn)
                .map(|((&p, &l), _)| (p, l > 0.5))
        })
        .collect();
    let threshold = best_f1_threshold(&scored);
    let mut per_fold = vec![EditedTime::default(); folds];
    for (i, (d, p)) in data.iter().zip(&held_out).enumerate() {
        let rec = d.recording;
        let duration = rec.spec.frames().saturating_sub(1) as f64 / rec.spec.frame_rate;
        let timeline = ScoreTimeline::from_frames(
            d.starts.iter().copied().zip(p.iter().copied()),
            segment_frames,
            context.0,
            rec.spec.frame_rate,
            duration,
        );
        let bad: Vec<bool> = timeline
            .bin_scores()
            .iter()
            .map(|&s| s > threshold)
            .collect();
        let plan = CutPlan::from_bad_mask(
            &bad,
            timeline.hop_seconds,
            duration,
            &CutOptions::default(),
            None,
        );
        per_fold[i % folds] = per_fold[i % folds].plus(EditedTime::of(&plan, &rec.kept));
    }
    let all = per_fold
        .iter()
        .fold(EditedTime::default(), |sum, f| sum.plus(*f));
    let validation = CrossValidation {
        folds,
        cut_f1: all.cut_f1(),
        music_lost: all.music_lost(),
        music_lost_per_fold: per_fold.iter().map(EditedTime::music_lost).collect(),
    };
    Ok((threshold, validation))
}

/// Seconds of held-out recordings: kept by the user's edit, by a planned edit, and by both.
#[derive(Debug, Clone, Copy, Default)]
struct EditedTime {
    duration: f64,
    kept: f64,
    planned: f64,
    both: f64,
}

impl EditedTime {
    fn of(plan: &CutPlan, kept: &[TimeRange]) -> Self {
        Self {
            duration: plan.duration,
            kept: total_duration(kept),
            planned: plan.kept_seconds(),
            both: overlap_seconds(&plan.keep, kept),
        }
    }

    fn plus(self, other: Self) -> Self {
        Self {
            duration: self.duration + other.duration,
            kept: self.kept + other.kept,
            planned: self.planned + other.planned,
            both: self.both + other.both,
        }
    }

    /// Share of the music the user kept that the planned edit cuts.
    fn music_lost(&self) -> f64 {
        if self.kept > 0.0 {
            ((self.kept - self.both) / self.kept).max(0.0)
        } else {
            0.0
        }
    }

    /// F1 of cut time: cut by both edits against cut by either.
    fn cut_f1(&self) -> f64 {
        let cut_both = (self.duration - (self.kept + self.planned - self.both)).max(0.0);
        let planned_cut = (self.duration - self.planned).max(0.0);
        let user_cut = (self.duration - self.kept).max(0.0);
        let denominator = planned_cut + user_cut;
        if denominator > 0.0 {
            2.0 * cut_both / denominator
        } else {
            1.0
        }
    }
}

/// The threshold in 0.05..0.95 with the best F1 for the positive (cut) class.
fn best_f1_threshold(scored: &[(f64, bool)]) -> f64 {
    let mut best = (0.5, -1.0);
    for step in 1..20 {
        let t = f64::from(step) * 0.05;
        let (mut tp, mut fp, mut fn_) = (0.0f64, 0.0f64, 0.0f64);
        for &(p, cut) in scored {
            match (p > t, cut) {
                (true, true) => tp += 1.0,
                (true, false) => fp += 1.0,
                (false, true) => fn_ += 1.0,
                _ => {}
            }
        }
        let f1 = 2.0 * tp / (2.0 * tp + fp + fn_).max(1.0);
        if f1 > best.1 {
            best = (t, f1);
        }
    }
    best.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn best_threshold_separates_the_classes() {
        let scored = [
            (0.1, false),
            (0.2, false),
            (0.35, false),
            (0.6, true),
            (0.9, true),
        ];
        let t = best_f1_threshold(&scored);
        assert!((0.35..0.6).contains(&t), "{t}");
    }

    #[test]
    fn held_out_time_gives_music_lost_and_cut_f1() {
        // 10 s; the user kept 2..8, the planned edit keeps 3..9.
        let plan = CutPlan {
            duration: 10.0,
            keep: vec![TimeRange::new(3.0, 9.0)],
        };
        let time = EditedTime::of(&plan, &[TimeRange::new(2.0, 8.0)]);
        assert!((time.music_lost() - 1.0 / 6.0).abs() < 1e-12);
        // Cut by both: 0..2 and 9..10 (3 s); cut by the plan 4 s, by the user 4 s.
        assert!((time.cut_f1() - 6.0 / 8.0).abs() < 1e-12);
        let twice = time.plus(time);
        assert!((twice.music_lost() - time.music_lost()).abs() < 1e-12);
        assert!((twice.cut_f1() - time.cut_f1()).abs() < 1e-12);
    }

    #[test]
    fn cut_share_counts_time_outside_kept_spans() {
        let kept = [TimeRange::new(1.0, 3.0)];
        let shares = cut_shares(&[0, 10, 20, 30], 10, 10.0, &kept);
        assert_eq!(shares, vec![1.0, 0.0, 0.0, 1.0]);
        let half = cut_shares(&[5], 10, 10.0, &kept);
        assert!((half[0] - 0.5).abs() < 1e-6);
    }

    #[test]
    fn segments_near_a_take_are_left_out_and_pooling_skips_them() {
        // 1 s segments every second; a take from 10 to 14 s.
        let starts: Vec<usize> = (0..25).map(|s| s * 10).collect();
        let takes = [TimeRange::new(10.0, 14.0)];
        let learn = away_from_takes(&starts, 10, 10.0, &takes);
        let margin = LABEL_RESOLUTION_SECONDS;
        for (s, &l) in learn.iter().enumerate() {
            let (a, b) = (s as f64 - margin, s as f64 + 1.0 + margin);
            assert_eq!(l, b <= 10.0 || a >= 14.0, "segment {s}");
        }
        assert!(learn[0] && !learn[12] && learn[24]);
        assert!(away_from_takes(&starts, 10, 10.0, &[]).iter().all(|&l| l));

        let recording = LabelledRecording {
            spec: LogMel {
                n_mels: 1,
                frame_rate: 10.0,
                data: vec![0.0; 10],
            },
            kept: Vec::new(),
            takes: Vec::new(),
        };
        let segments = LabelledSegments {
            rows: vec![1.0, 1.0, 2.0, 2.0, 3.0, 3.0],
            labels: vec![0.0, 1.0, 1.0],
            learn: vec![true, false, true],
            starts: vec![0, 1, 2],
            recording: &recording,
        };
        let (rows, labels) = pool(std::iter::once(&segments));
        assert_eq!(rows, vec![1.0, 1.0, 3.0, 3.0]);
        assert_eq!(labels, vec![0.0, 1.0]);
    }
}
