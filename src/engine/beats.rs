//! The engine's own beat tracker, working from the log-mel spectrogram the features stage already
//! computes, so snapping edits to the musical grid needs no second analysis library.
//!
//! The pipeline is the classic one: spectral-flux onset envelope, autocorrelation tempo estimate
//! under a tempo prior, dynamic-programming beat placement (Ellis 2007), then a bar phase chosen
//! from where the strongest beats fall.
//!
//! Frame `t` of the spectrogram is taken to sit at `t / frame_rate` seconds (centred frames), and
//! every time this module reports is computed that way.

use serde::{Deserialize, Serialize};

/// Frames either side of a flux value that form its local mean. About 0.19 s at 86 fps: long
/// enough that one transient barely raises its own baseline, short enough to follow dynamics.
const LOCAL_MEAN_RADIUS: usize = 16;

/// Slowest tempo considered, in BPM.
const MIN_BPM: f64 = 40.0;
/// Fastest tempo considered, in BPM.
const MAX_BPM: f64 = 240.0;
/// Centre of the log-Gaussian tempo prior: most music a musician records sits near here, and the
/// prior is what settles octave ambiguity (60 vs 120 vs 240) when the correlation alone cannot.
const PRIOR_CENTRE_BPM: f64 = 120.0;
/// Width of the tempo prior, in octaves (one standard deviation).
const PRIOR_OCTAVES: f64 = 1.0;
/// Below this normalised autocorrelation the envelope is treated as having no pulse at all.
const MIN_PERIODICITY: f64 = 0.02;

/// How strongly beat spacing is held to the estimated period (Ellis' alpha). Librosa's default:
/// loose enough to follow a human player's drift, tight enough not to chase every syncopation.
const TIGHTNESS: f64 = 100.0;
/// Leading and trailing beats weaker than this fraction of the median beat strength are phantom
/// beats the grid extended into silence or noise, so they are trimmed.
const EDGE_TRIM_FRACTION: f64 = 0.1;

/// Beats per bar assumed when choosing downbeats.
const BEATS_PER_BAR: usize = 4;

/// An onset must be the largest envelope value within this many seconds either side.
const ONSET_PEAK_SECONDS: f64 = 0.03;
/// Half-width, in seconds, of the local average an onset must rise above.
const ONSET_AVERAGE_SECONDS: f64 = 0.1;
/// How far above its local average, as a fraction of the envelope's maximum, an onset must rise.
const ONSET_DELTA: f32 = 0.07;

/// The rhythmic grid of a recording. All times are in seconds, ascending.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BeatGrid {
    /// Tempo in beats per minute; 0 when no pulse was found.
    pub tempo_bpm: f64,
    /// Beat times.
    pub beats: Vec<f64>,
    /// Bar starts (a subset of `beats`), assuming four beats to the bar.
    pub downbeats: Vec<f64>,
    /// Note onsets found by peak picking, independent of the beat grid.
    pub onsets: Vec<f64>,
}

impl BeatGrid {
    /// A grid with no tempo, beats, bars or onsets.
    pub fn empty() -> Self {
        Self {
            tempo_bpm: 0.0,
            beats: Vec::new(),
            downbeats: Vec::new(),
            onsets: Vec::new(),
        }
    }

    /// Bar start times (the downbeats).
    pub fn bars(&self) -> &[f64] {
        &self.downbeats
    }

    /// Whether the grid holds nothing to snap to.
    pub fn is_empty(&self) -> bool {
        self.beats.is_empty() && self.downbeats.is_empty() && self.onsets.is_empty()
    }
}

/// Onset strength per frame: the spectral flux (rises in each band summed over bands; falls are
/// ignored because only new energy marks a note start), minus its local mean so sustained noisy
/// passages do not read as a wall of onsets, floored at 0.
///
/// `log_mel` is frame-major with `n_mels` bands per frame; a trailing partial frame is ignored.
/// The result has one value per frame, the first always 0. Non-finite band differences count as
/// no rise.
pub fn onset_envelope(log_mel: &[f32], n_mels: usize) -> Vec<f32> {
    if n_mels == 0 {
        return Vec::new();
    }
    let flux = spectral_flux(log_mel, n_mels);
    subtract_local_mean(&flux, LOCAL_MEAN_RADIUS)
}

/// Half-wave rectified frame-to-frame differences, summed over bands.
fn spectral_flux(log_mel: &[f32], n_mels: usize) -> Vec<f32> {
    let rows: Vec<&[f32]> = log_mel.chunks_exact(n_mels).collect();
    if rows.is_empty() {
        return Vec::new();
    }
    let rises = rows.windows(2).map(|pair| band_rise(pair[0], pair[1]));
    std::iter::once(0.0).chain(rises).collect()
}

/// Total rise in energy from one frame to the next.
fn band_rise(previous: &[f32], current: &[f32]) -> f32 {
    previous
        .iter()
        .zip(current)
        .map(|(&p, &c)| c - p)
        .filter(|d| d.is_finite() && *d > 0.0)
        .sum()
}

/// Each value minus the mean of its neighbourhood (`radius` frames each side), floored at 0.
fn subtract_local_mean(values: &[f32], radius: usize) -> Vec<f32> {
    let mut prefix = Vec::with_capacity(values.len() + 1);
    prefix.push(0.0f64);
    let mut total = 0.0f64;
    for &v in values {
        total += f64::from(v);
        prefix.push(total);
    }
    values
        .iter()
        .enumerate()
        .map(|(t, &v)| {
            let lo = t.saturating_sub(radius);
            let hi = (t + radius + 1).min(values.len());
            let mean = (prefix[hi] - prefix[lo]) / (hi - lo) as f64;
            (f64::from(v) - mean).max(0.0) as f32
        })
        .collect()
}

/// Tempo in BPM from an onset envelope sampled at `frame_rate` frames per second.
///
/// Autocorrelates the (mean-removed) envelope over lags for 40–240 BPM, weights each lag by a
/// log-Gaussian prior centred on 120 BPM, and refines the best lag to a fraction of a frame.
/// `None` when there is no periodicity: a silent, constant or too-short envelope, a single
/// isolated hit, or a bad frame rate.
pub fn estimate_tempo(onset_env: &[f32], frame_rate: f64) -> Option<f64> {
    if !(frame_rate.is_finite() && frame_rate > 0.0) {
        return None;
    }
    let n = onset_env.len();
    let min_lag = ((60.0 * frame_rate / MAX_BPM).floor() as usize).max(1);
    let max_lag = ((60.0 * frame_rate / MIN_BPM).ceil() as usize).min(n.saturating_sub(1));
    if max_lag < min_lag {
        return None;
    }

    let centred = mean_removed(onset_env);
    let energy = mean_product(&centred, 0);
    if energy <= f64::EPSILON {
        return None;
    }

    // One lag beyond each end of the search range, so the refinement has neighbours to weigh.
    let lo = (min_lag - 1).max(1);
    let hi = (max_lag + 1).min(n - 1);
    let weighted: Vec<f64> = (lo..=hi)
        .map(|lag| mean_product(&centred, lag) * tempo_prior(60.0 * frame_rate / lag as f64))
        .collect();

    // A period between two whole lags splits its correlation over both, so a peak is judged
    // with its neighbours; otherwise a split true period can lose to an unsplit double period.
    let pooled: Vec<f64> = (0..weighted.len())
        .map(|i| {
            weighted[i.saturating_sub(1)..(i + 2).min(weighted.len())]
                .iter()
                .sum()
        })
        .collect();
    let peak = best_lag(&pooled, min_lag - lo, max_lag - lo)?;
    let peak_lag = lo + peak;
    if mean_product(&centred, peak_lag) < MIN_PERIODICITY * energy {
        return None;
    }
    let lag = lo as f64 + refine_peak(&weighted, peak);
    Some(60.0 * frame_rate / lag)
}

/// The envelope as f64 with its mean removed (non-finite values count as 0), so a steady floor
/// does not correlate with itself at every lag.
fn mean_removed(values: &[f32]) -> Vec<f64> {
    let clean: Vec<f64> = values
        .iter()
        .map(|&v| if v.is_finite() { f64::from(v) } else { 0.0 })
        .collect();
    let mean = clean.iter().sum::<f64>() / clean.len().max(1) as f64;
    clean.into_iter().map(|v| v - mean).collect()
}

/// Unbiased autocorrelation at `lag`: the mean product of values `lag` apart. Averaging rather
/// than summing keeps long lags (fewer overlapping pairs) from being penalised.
fn mean_product(values: &[f64], lag: usize) -> f64 {
    if lag >= values.len() {
        return 0.0;
    }
    let pairs = values.len() - lag;
    let sum: f64 = values.iter().zip(&values[lag..]).map(|(a, b)| a * b).sum();
    sum / pairs as f64
}

/// Log-Gaussian weight of a tempo: 1 at the prior centre, falling off per octave.
fn tempo_prior(bpm: f64) -> f64 {
    let octaves = (bpm / PRIOR_CENTRE_BPM).log2() / PRIOR_OCTAVES;
    (-0.5 * octaves * octaves).exp()
}

/// Index of the largest positive value in `values[from..=to]`.
fn best_lag(values: &[f64], from: usize, to: usize) -> Option<usize> {
    let mut best: Option<(usize, f64)> = None;
    for (i, &v) in values.iter().enumerate().take(to + 1).skip(from) {
        if v > 0.0 && best.is_none_or(|(_, b)| v > b) {
            best = Some((i, v));
        }
    }
    best.map(|(i, _)| i)
}

/// Sub-frame position of a peak: the centroid of it and its direct neighbours. A click train's
/// period is rarely a whole number of frames, so its correlation splits between two adjacent lags
/// in proportion to how often each spacing occurs; the centroid recovers the true period.
fn refine_peak(values: &[f64], peak: usize) -> f64 {
    let lo = peak.saturating_sub(1);
    let hi = (peak + 1).min(values.len().saturating_sub(1));
    let (mut weight, mut moment) = (0.0, 0.0);
    for (i, &v) in values.iter().enumerate().take(hi + 1).skip(lo) {
        let w = v.max(0.0);
        weight += w;
        moment += w * i as f64;
    }
    if weight > 0.0 {
        moment / weight
    } else {
        peak as f64
    }
}

/// Onset times (seconds) picked from an onset envelope: frames that are the local maximum within
/// ±30 ms and rise above their ±100 ms average by 7 % of the envelope's maximum.
///
/// The threshold is relative to the loudest onset, so very quiet notes next to a huge transient
/// may be missed; that is the price of needing no absolute level calibration.
pub fn detect_onsets(onset_env: &[f32], frame_rate: f64) -> Vec<f64> {
    if !(frame_rate.is_finite() && frame_rate > 0.0) {
        return Vec::new();
    }
    let max = onset_env
        .iter()
        .copied()
        .filter(|v| v.is_finite())
        .fold(0.0f32, f32::max);
    if max <= 0.0 {
        return Vec::new();
    }
    let peak_radius = frames_for(ONSET_PEAK_SECONDS, frame_rate);
    let average_radius = frames_for(ONSET_AVERAGE_SECONDS, frame_rate);
    let delta = ONSET_DELTA * max;
    (0..onset_env.len())
        .filter(|&t| is_local_peak(onset_env, t, peak_radius))
        .filter(|&t| onset_env[t] >= local_average(onset_env, t, average_radius) + delta)
        .map(|t| t as f64 / frame_rate)
        .collect()
}

/// A duration in whole frames, at least one.
fn frames_for(seconds: f64, frame_rate: f64) -> usize {
    ((seconds * frame_rate).round() as usize).max(1)
}

/// Whether frame `t` is the peak of its neighbourhood. Strictly greater than everything before
/// and at least everything after, so a flat-topped peak yields one onset, not several.
fn is_local_peak(env: &[f32], t: usize, radius: usize) -> bool {
    let v = env[t];
    if !(v.is_finite() && v > 0.0) {
        return false;
    }
    let before = &env[t.saturating_sub(radius)..t];
    let after = &env[t + 1..t.saturating_add(radius).saturating_add(1).min(env.len())];
    before.iter().all(|&b| b < v) && !after.iter().any(|&a| a > v)
}

/// Mean of the finite envelope values within `radius` frames of `t`.
fn local_average(env: &[f32], t: usize, radius: usize) -> f32 {
    let end = t.saturating_add(radius).saturating_add(1).min(env.len());
    let window = &env[t.saturating_sub(radius)..end];
    let (sum, count) = window
        .iter()
        .filter(|v| v.is_finite())
        .fold((0.0f32, 0usize), |(s, n), &v| (s + v, n + 1));
    sum / count.max(1) as f32
}

/// Beats, downbeats, onsets and tempo of a log-mel spectrogram (frame-major, `n_mels` bands,
/// `frame_rate` frames per second).
///
/// Beats are placed by dynamic programming (Ellis 2007): each frame's cumulative score is its
/// onset strength plus the best score of a previous beat 0.5–2 periods earlier, less a penalty
/// `TIGHTNESS · ln(gap / period)²` for straying from the tempo; the best chain is then traced
/// back. A chain only links back when doing so pays, so beats do not run on into leading
/// silence. Downbeats assume four beats per bar and take the phase whose beats carry the most
/// onset strength. The reported tempo is re-measured from the placed beats.
///
/// Returns [`BeatGrid::empty`] when there is nothing to track (silence, empty input); when
/// onsets exist but no pulse does, the grid carries just the onsets.
pub fn track_beats(log_mel: &[f32], n_mels: usize, frame_rate: f64) -> BeatGrid {
    if !(frame_rate.is_finite() && frame_rate > 0.0) {
        return BeatGrid::empty();
    }
    let env = onset_envelope(log_mel, n_mels);
    let onsets = detect_onsets(&env, frame_rate);
    let Some(tempo) = estimate_tempo(&env, frame_rate) else {
        return BeatGrid {
            onsets,
            ..BeatGrid::empty()
        };
    };

    let period = 60.0 * frame_rate / tempo;
    let strength = beat_strength(&env, period);
    let beat_frames = trim_weak_edges(place_beats(&strength, period), &strength);
    if beat_frames.is_empty() {
        return BeatGrid {
            onsets,
            ..BeatGrid::empty()
        };
    }

    let downbeat_frames = pick_downbeats(&beat_frames, &strength);
    let to_seconds =
        |frames: &[usize]| -> Vec<f64> { frames.iter().map(|&t| t as f64 / frame_rate).collect() };
    BeatGrid {
        tempo_bpm: measured_tempo(&beat_frames, frame_rate).unwrap_or(tempo),
        beats: to_seconds(&beat_frames),
        downbeats: to_seconds(&downbeat_frames),
        onsets,
    }
}

/// The envelope scaled to unit standard deviation (so the tightness penalty means the same for
/// loud and quiet recordings) and smoothed by a Gaussian of width period/32, which lets a beat
/// a frame off its onset still collect the onset's strength.
fn beat_strength(env: &[f32], period: f64) -> Vec<f64> {
    let values: Vec<f64> = env
        .iter()
        .map(|&v| if v.is_finite() { f64::from(v) } else { 0.0 })
        .collect();
    let n = values.len().max(1) as f64;
    let mean = values.iter().sum::<f64>() / n;
    let std = (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt();
    if std <= f64::EPSILON {
        return vec![0.0; values.len()];
    }
    let scaled: Vec<f64> = values.iter().map(|v| v / std).collect();
    gaussian_smooth(&scaled, (period / 32.0).max(0.5))
}

/// Convolution with a normalised Gaussian of standard deviation `sigma` frames.
fn gaussian_smooth(values: &[f64], sigma: f64) -> Vec<f64> {
    let radius = (3.0 * sigma).ceil() as usize;
    let kernel: Vec<f64> = (0..=2 * radius)
        .map(|i| {
            let x = (i as f64 - radius as f64) / sigma;
            (-0.5 * x * x).exp()
        })
        .collect();
    let total: f64 = kernel.iter().sum();
    (0..values.len())
        .map(|t| {
            let mut acc = 0.0;
            for (k, w) in kernel.iter().enumerate() {
                let Some(src) = (t + k).checked_sub(radius) else {
                    continue;
                };
                if let Some(v) = values.get(src) {
                    acc += w * v;
                }
            }
            acc / total
        })
        .collect()
}

/// Ellis' dynamic programme: beat frames, ascending.
fn place_beats(strength: &[f64], period: f64) -> Vec<usize> {
    let n = strength.len();
    if n == 0 || !(period.is_finite() && period >= 1.0) {
        return Vec::new();
    }
    let nearest_gap = ((period / 2.0).round() as usize).max(1);
    let farthest_gap = ((2.0 * period).round() as usize).max(nearest_gap);
    let mut score = vec![0.0f64; n];
    let mut back: Vec<Option<usize>> = vec![None; n];

    for t in 0..n {
        score[t] = strength[t];
        if t < nearest_gap {
            continue;
        }
        let first = t.saturating_sub(farthest_gap);
        let best = (first..=t - nearest_gap)
            .map(|prev| (prev, score[prev] - transition_penalty(t - prev, period)))
            .fold(None, |best: Option<(usize, f64)>, cand| match best {
                Some(b) if b.1 >= cand.1 => Some(b),
                _ => Some(cand),
            });
        // Linking only when it adds something lets a chain start afresh after silence instead of
        // dragging phantom beats through it.
        if let Some((prev, value)) = best.filter(|b| b.1 > 0.0) {
            score[t] += value;
            back[t] = Some(prev);
        }
    }

    let Some(last) = first_argmax(&score) else {
        return Vec::new();
    };
    let mut beats = vec![last];
    let mut cursor = last;
    while let Some(prev) = back[cursor] {
        beats.push(prev);
        cursor = prev;
    }
    beats.reverse();
    beats
}

/// Cost of a gap between two beats, zero when it equals the period.
fn transition_penalty(gap: usize, period: f64) -> f64 {
    let ratio = (gap as f64 / period).ln();
    TIGHTNESS * ratio * ratio
}

/// Index of the first maximum. The first, because beats extended into trailing silence tie with
/// (or fall just short of) the last real beat's score.
fn first_argmax(values: &[f64]) -> Option<usize> {
    let mut best: Option<(usize, f64)> = None;
    for (i, &v) in values.iter().enumerate() {
        if v.is_finite() && best.is_none_or(|(_, b)| v > b) {
            best = Some((i, v));
        }
    }
    best.map(|(i, _)| i)
}

/// Drops leading and trailing beats that carry almost no onset strength.
fn trim_weak_edges(beats: Vec<usize>, strength: &[f64]) -> Vec<usize> {
    let mut levels: Vec<f64> = beats.iter().map(|&t| strength[t]).collect();
    levels.sort_by(f64::total_cmp);
    let Some(&median) = levels.get(levels.len() / 2) else {
        return beats;
    };
    let floor = EDGE_TRIM_FRACTION * median;
    let strong = |t: &usize| strength[*t] >= floor;
    let Some(first) = beats.iter().position(strong) else {
        return Vec::new();
    };
    let last = beats.iter().rposition(strong).unwrap_or(first);
    beats[first..=last].to_vec()
}

/// The beats that start bars: every fourth beat, at the phase whose beats are strongest on
/// average (average rather than total, so a phase is not favoured for having one more beat).
fn pick_downbeats(beats: &[usize], strength: &[f64]) -> Vec<usize> {
    let phases = BEATS_PER_BAR.min(beats.len());
    let mean_at_phase = |phase: usize| -> f64 {
        let picked: Vec<f64> = beats
            .iter()
            .skip(phase)
            .step_by(BEATS_PER_BAR)
            .map(|&t| strength[t])
            .collect();
        picked.iter().sum::<f64>() / picked.len().max(1) as f64
    };
    let mut best_phase = 0;
    let mut best_mean = f64::NEG_INFINITY;
    for phase in 0..phases {
        let mean = mean_at_phase(phase);
        if mean > best_mean {
            best_phase = phase;
            best_mean = mean;
        }
    }
    beats
        .iter()
        .skip(best_phase)
        .step_by(BEATS_PER_BAR)
        .copied()
        .collect()
}

/// Tempo from the placed beats: the mean of the inter-beat intervals near their median. Whole
/// frame beat positions make single intervals coarse, but their mean is exact to well under 1 %;
/// intervals far from the median (a skipped beat, a pause) are left out.
fn measured_tempo(beats: &[usize], frame_rate: f64) -> Option<f64> {
    let intervals: Vec<f64> = beats.windows(2).map(|w| (w[1] - w[0]) as f64).collect();
    let mut sorted = intervals.clone();
    sorted.sort_by(f64::total_cmp);
    let median = *sorted.get(sorted.len() / 2)?;
    let typical: Vec<f64> = intervals
        .into_iter()
        .filter(|&i| i >= 0.75 * median && i <= 1.25 * median)
        .collect();
    let mean = typical.iter().sum::<f64>() / typical.len().max(1) as f64;
    (mean > 0.0).then(|| 60.0 * frame_rate / mean)
}

#[cfg(test)]
mod tests;
