//! Which take the editor keeps: a small model over take-level descriptors, learned from the
//! user's pairs. **An experiment (research feature)**: with these descriptors it does not yet
//! separate takes from kept repeats (BENCHMARKS.md, issue #33 step 4), so no model uses it.
//!
//! Every window of a recording that is performed again within the next minute is described by
//! how well and how specifically it matches there, in which key, how soon the other
//! performance starts, how quiet it is around both (a false start stops dead and the take it
//! copies starts again after a breath; a loop runs on), and how much louder and brighter it is
//! than the other performance ([`PerformanceCurves`]). Training pairs label each such
//! window kept or cut (a take, from the alignment, step 1); junk windows teach nothing here. A
//! logistic regression over the standardised descriptors learns the editor's habit: no rule
//! per kind of junk, and copies that all survive in the edits (loops) teach it that a repeat
//! alone is no reason to cut.

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};

use crate::engine::timeline::TimeRange;

use super::matching::static_distance;
use super::pitch_classes::{PitchClasses, FRAME_RATE};
use super::{WINDOW, WINDOW_HOP};

/// Name of the take model's file in a model directory.
pub const TAKE_MODEL_FILE: &str = "takes.json";

/// How the recording sounds, per [`PitchClasses`] frame, as a window is compared with its
/// twin: its level (dB RMS) and its brightness (dB of the first difference's energy against
/// the signal's). A false start tends to be quieter than the take it copies, an overdriven or
/// harsh bad take louder and brighter; which way the editor's habit goes is learned.
pub type PerformanceCurves = [Vec<f32>; 2];

/// Descriptors per window.
pub const DIM: usize = 13;
/// How far (frames) around a run's ends its surroundings are read: two seconds.
const SURROUNDINGS: usize = 20;
/// L2 penalty of the regression, on standardised descriptors.
const L2: f64 = 1e-2;
/// Newton steps of the regression (it converges in a handful).
const NEWTON_STEPS: usize = 25;

/// One window that is performed again elsewhere, described.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TakeWindow {
    /// The window's frames.
    pub at: (usize, usize),
    /// Its descriptors.
    pub descriptors: [f32; DIM],
}

/// How far ahead (frames) a window's retake is looked for: a minute.
const AHEAD: usize = 600;

/// Every window of a recording that is performed again within the next minute, with its
/// descriptors: a retake follows the take it replaces, and the editor keeps the last one.
pub fn take_windows(track: &PitchClasses, sound: &PerformanceCurves) -> Vec<TakeWindow> {
    let n = track.frames.len();
    if n < 2 * WINDOW {
        return Vec::new();
    }
    let starts: Vec<usize> = (0..=n - 2 * WINDOW).step_by(WINDOW_HOP).collect();
    let found = crate::engine::align::parallel_map(
        starts.len(),
        || (),
        |i, _| {
            let s = starts[i];
            if super::mostly_quiet(track, s..s + WINDOW) {
                return None;
            }
            let query = &track.frames[s..s + WINDOW];
            let from = s + WINDOW;
            let to = (from + AHEAD).min(n);
            let m = super::matching::best_match(query, &track.frames[from..to])?;
            if !super::performs_again(query, m.distance) {
                return None;
            }
            let seconds = |f: usize| (f as f64 / FRAME_RATE).ln_1p() as f32;
            let twin_start = from + m.first;
            let twin_end = from + m.last + 1;
            // How the window sounds against the performance after it.
            let mean = |curve: &[f32], a: usize, b: usize| {
                let part = &curve[a.min(curve.len())..b.min(curve.len())];
                part.iter().sum::<f32>() / part.len().max(1) as f32
            };
            let against_twin =
                |curve: &[f32]| mean(curve, s, s + WINDOW) - mean(curve, twin_start, twin_end);
            Some(TakeWindow {
                at: (s, s + WINDOW),
                descriptors: [
                    m.distance,
                    m.distance / m.typical.max(1e-3),
                    static_distance(query),
                    seconds(m.first),
                    track.quiet_share(s + WINDOW, s + WINDOW + SURROUNDINGS),
                    track.quiet_share(s.saturating_sub(SURROUNDINGS), s),
                    track.quiet_share(twin_end, twin_end + SURROUNDINGS),
                    track.quiet_share(twin_start.saturating_sub(SURROUNDINGS), twin_start),
                    m.shift.min(12 - m.shift) as f32,
                    seconds(m.last + 1 - m.first),
                    m.typical,
                    against_twin(&sound[0]),
                    against_twin(&sound[1]),
                ],
            })
        },
    );
    found.into_iter().flatten().collect()
}

/// Training examples from one labelled recording: each repeated window whose middle the edit
/// kept (false) or cut as another take (true); windows in junk are left out.
pub fn examples(
    track: &PitchClasses,
    sound: &PerformanceCurves,
    kept: &[TimeRange],
    takes: &[TimeRange],
) -> Vec<([f32; DIM], bool)> {
    take_windows(track, sound)
        .into_iter()
        .filter_map(|w| {
            let middle = track.frame_time((w.at.0 + w.at.1) / 2).0;
            if kept.iter().any(|k| k.contains(middle)) {
                Some((w.descriptors, false))
            } else if takes.iter().any(|t| t.contains(middle)) {
                Some((w.descriptors, true))
            } else {
                None
            }
        })
        .collect()
}

/// The learned decision: standardisation, weights and the probability above which a window is
/// cut as a take.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TakeModel {
    /// Per-descriptor mean of the training windows.
    pub mean: Vec<f32>,
    /// Per-descriptor standard deviation.
    pub std: Vec<f32>,
    /// Weights of the standardised descriptors.
    pub weights: Vec<f32>,
    /// Intercept.
    pub bias: f32,
    /// Cut probability above which a window is cut.
    pub threshold: f32,
    /// Training windows: kept, cut as takes.
    pub trained_on: (usize, usize),
}

impl TakeModel {
    /// Fits the regression to `examples` (descriptors, cut as a take), weighting the two classes
    /// equally. Fails without examples of both classes.
    pub fn fit(examples: &[([f32; DIM], bool)]) -> Result<Self> {
        let cut = examples.iter().filter(|e| e.1).count();
        let kept = examples.len() - cut;
        if cut == 0 || kept == 0 {
            bail!(
                "the pairs hold {kept} repeated windows kept and {cut} cut as other takes: both are needed to learn which take is kept"
            );
        }
        let (mean, std) = column_stats(examples);
        let x: Vec<[f64; DIM + 1]> = examples
            .iter()
            .map(|(d, _)| {
                let mut row = [1.0f64; DIM + 1];
                for k in 0..DIM {
                    row[k + 1] = f64::from((d[k] - mean[k]) / std[k]);
                }
                row
            })
            .collect();
        let weight = |y: bool| {
            if y {
                examples.len() as f64 / (2.0 * cut as f64)
            } else {
                examples.len() as f64 / (2.0 * kept as f64)
            }
        };
        let mut beta = [0.0f64; DIM + 1];
        for _ in 0..NEWTON_STEPS {
            let mut gradient = [0.0f64; DIM + 1];
            let mut hessian = [[0.0f64; DIM + 1]; DIM + 1];
            for (row, (_, y)) in x.iter().zip(examples) {
                let z: f64 = row.iter().zip(&beta).map(|(a, b)| a * b).sum();
                let p = 1.0 / (1.0 + (-z).exp());
                let w = weight(*y);
                let r = w * (p - f64::from(u8::from(*y)));
                let s = w * p * (1.0 - p);
                for i in 0..=DIM {
                    gradient[i] += r * row[i];
                    for j in 0..=DIM {
                        hessian[i][j] += s * row[i] * row[j];
                    }
                }
            }
            let n = examples.len() as f64;
            for i in 1..=DIM {
                gradient[i] += L2 * n * beta[i];
                hessian[i][i] += L2 * n;
            }
            hessian[0][0] += 1e-9 * n;
            let step = solve(hessian, gradient);
            for (b, s) in beta.iter_mut().zip(step) {
                *b -= s;
            }
        }
        Ok(Self {
            mean: mean.to_vec(),
            std: std.to_vec(),
            weights: beta[1..].iter().map(|&b| b as f32).collect(),
            bias: beta[0] as f32,
            threshold: 0.5,
            trained_on: (kept, cut),
        })
    }

    /// Cut probability of a window's descriptors.
    pub fn probability(&self, d: &[f32; DIM]) -> f32 {
        let z: f32 = self.bias
            + (0..DIM)
                .map(|k| self.weights[k] * (d[k] - self.mean[k]) / self.std[k])
                .sum::<f32>();
        1.0 / (1.0 + (-z).exp())
    }

    /// The stretches of a recording to cut as other takes: each frame follows the repeated
    /// window whose middle is nearest, if any within half a hop.
    pub fn cut_ranges(&self, track: &PitchClasses, sound: &PerformanceCurves) -> Vec<TimeRange> {
        let windows = take_windows(track, sound);
        let n = track.frames.len();
        let mut cut = vec![false; n];
        for w in &windows {
            if self.probability(&w.descriptors) > self.threshold {
                let middle = (w.at.0 + w.at.1) / 2;
                let from = middle.saturating_sub(WINDOW_HOP / 2);
                let to = (middle + WINDOW_HOP.div_ceil(2)).min(n);
                cut[from..to].iter_mut().for_each(|c| *c = true);
            }
        }
        // A run of cut windows covers its frames from the first window's middle to the last's;
        // the outer halves of the first and last windows are the passage too.
        let mut ranges: Vec<TimeRange> = Vec::new();
        let mut f = 0;
        while f < n {
            if !cut[f] {
                f += 1;
                continue;
            }
            let start = f;
            while f < n && cut[f] {
                f += 1;
            }
            let (a, b) = (start.saturating_sub(WINDOW / 4), (f + WINDOW / 4).min(n));
            let range = TimeRange::new(track.frame_time(a).0.max(0.0), track.frame_time(b - 1).1);
            // Widened runs may meet: one range, so nothing is counted twice.
            match ranges.last_mut() {
                Some(last) if range.start <= last.end => last.end = last.end.max(range.end),
                _ => ranges.push(range),
            }
        }
        ranges
    }
}

fn column_stats(examples: &[([f32; DIM], bool)]) -> ([f32; DIM], [f32; DIM]) {
    let n = examples.len().max(1) as f64;
    let mut mean = [0.0f32; DIM];
    let mut std = [1.0f32; DIM];
    for k in 0..DIM {
        let m = examples.iter().map(|e| f64::from(e.0[k])).sum::<f64>() / n;
        let v = examples
            .iter()
            .map(|e| (f64::from(e.0[k]) - m).powi(2))
            .sum::<f64>()
            / n;
        mean[k] = m as f32;
        std[k] = (v.sqrt() as f32).max(1e-3);
    }
    (mean, std)
}

/// Solves `a x = b` by Gaussian elimination with partial pivoting (a is positive definite).
fn solve(mut a: [[f64; DIM + 1]; DIM + 1], mut b: [f64; DIM + 1]) -> [f64; DIM + 1] {
    let n = DIM + 1;
    for col in 0..n {
        let pivot = (col..n)
            .max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))
            .unwrap_or(col);
        a.swap(col, pivot);
        b.swap(col, pivot);
        let d = a[col][col];
        if d.abs() < 1e-12 {
            continue;
        }
        let pivot_row = a[col];
        for row in col + 1..n {
            let f = a[row][col] / d;
            for (x, p) in a[row][col..].iter_mut().zip(&pivot_row[col..]) {
                *x -= f * p;
            }
            b[row] -= f * b[col];
        }
    }
    let mut x = [0.0f64; DIM + 1];
    for row in (0..n).rev() {
        let s: f64 = (row + 1..n).map(|k| a[row][k] * x[k]).sum();
        x[row] = if a[row][row].abs() < 1e-12 {
            0.0
        } else {
            (b[row] - s) / a[row][row]
        };
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_regression_learns_a_separating_descriptor_and_needs_both_classes() {
        let example = |i: usize, cut: bool| {
            let mut d = [0.0f32; DIM];
            d[0] = if cut { 1.0 } else { -1.0 };
            d[1] = (i % 7) as f32 * 0.1; // noise, unrelated to the label
            (d, cut)
        };
        let mut examples: Vec<([f32; DIM], bool)> = (0..200).map(|i| example(i, false)).collect();
        examples.extend((0..20).map(|i| example(i, true)));
        let model = TakeModel::fit(&examples).unwrap();
        assert_eq!(model.trained_on, (200, 20));
        assert!(model.probability(&example(3, true).0) > 0.9);
        assert!(model.probability(&example(3, false).0) < 0.1);
        assert!(model.weights[0] > 10.0 * model.weights[1].abs());
        assert!(TakeModel::fit(&examples[..200]).is_err());
    }
}
