//! Placing cut boundaries on the actual change in the sound.
//!
//! Segment scores locate bad material to within a segment hop; the place where a take starts or
//! talk stops is sharper than that. Each boundary of a per-bin decision is moved, within a small
//! radius, to the frame where the spectrum before and after differ most.
//!
//! The refinement reads the spectrogram only through its [`ChangeCurve`], one value per frame,
//! so a session's analysis can keep (and save) the curve instead of the spectrogram.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use super::features::LogMel;

/// Frames either side compared at a candidate boundary (about 0.19 s at the default rate).
const COMPARE_FRAMES: usize = 16;

/// How much the sound changes at each frame of a recording: the squared distance between the
/// mean spectra of the frames just before and just after it, kept as a 16-bit logarithmic code.
///
/// Refinement only compares values, and codes steps 0.04 % apart keep every comparison but
/// near-ties; a session saves the codes themselves (two bytes a frame, 620 kB an hour), so a
/// restored session refines exactly as the live one and as the command line did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChangeCurve {
    /// One code per frame, ascending with the change (see [`change_code`]).
    pub codes: Vec<u16>,
    /// Frames per second.
    pub frame_rate: f64,
}

/// The natural logarithms of the smallest and largest change the codes tell apart: log-mel
/// distances summed over the bands lie well inside (silence against a full band is ~1e4).
const LOG_CHANGE_RANGE: (f64, f64) = (-14.0, 14.0);

/// The code of a change `value` (0 for no change, saturating at the range's ends).
pub fn change_code(value: f64) -> u16 {
    let (lo, hi) = LOG_CHANGE_RANGE;
    if value <= 0.0 || value.is_nan() {
        return 0;
    }
    let unit = ((value.ln() - lo) / (hi - lo)).clamp(0.0, 1.0);
    (unit * f64::from(u16::MAX)).round() as u16
}

impl ChangeCurve {
    /// The curve of `spec`. Running sums of each band are kept for a window of frames only (a
    /// whole table would be twice the spectrogram, 476 MB for a 3-hour recording), summed from
    /// the first frame in order, so every value is the same whatever the recording's length
    /// beyond the window.
    pub fn of(spec: &LogMel) -> Self {
        let (n, frames) = (spec.n_mels, spec.frames());
        // Row `t`: each band summed over frames `0..t`; rows `t - C ..= t + C` are needed at `t`.
        let mut rows: VecDeque<Vec<f64>> = VecDeque::with_capacity(2 * COMPARE_FRAMES + 2);
        let mut first_row = 0;
        let mut running = vec![0.0f64; n];
        let mut next_row = 0;
        let mut codes = Vec::with_capacity(frames);
        for t in 0..frames {
            while next_row <= (t + COMPARE_FRAMES).min(frames) {
                rows.push_back(running.clone());
                if next_row < frames {
                    for (r, v) in running.iter_mut().zip(spec.frame(next_row)) {
                        *r += f64::from(*v);
                    }
                }
                next_row += 1;
            }
            while first_row + COMPARE_FRAMES < t {
                rows.pop_front();
                first_row += 1;
            }
            let w = COMPARE_FRAMES.min(t).min(frames - t);
            let value = if w == 0 {
                0.0
            } else {
                let row = |k: usize| &rows[k - first_row];
                let (before, at, after) = (row(t - w), row(t), row(t + w));
                (0..n)
                    .map(|m| {
                        let mean_before = (at[m] - before[m]) / w as f64;
                        let mean_after = (after[m] - at[m]) / w as f64;
                        (mean_after - mean_before).powi(2)
                    })
                    .sum()
            };
            codes.push(change_code(value));
        }
        Self {
            codes,
            frame_rate: spec.frame_rate,
        }
    }

    /// Frames in the curve.
    pub fn frames(&self) -> usize {
        self.codes.len()
    }
}

/// Expands per-bin bad flags (`bin_frames` frames per bin) to per-frame flags, moving every
/// boundary to the strongest change of `curve` within `radius` frames of it.
pub fn refine_to_frames(
    bad_bins: &[bool],
    bin_frames: usize,
    curve: &ChangeCurve,
    radius: usize,
) -> Vec<bool> {
    let frames = curve.frames();
    let mut bad = vec![false; frames];
    for (i, &b) in bad_bins.iter().enumerate() {
        let lo = (i * bin_frames).min(frames);
        let hi = ((i + 1) * bin_frames).min(frames);
        bad[lo..hi].iter_mut().for_each(|f| *f = b);
    }
    let boundaries: Vec<usize> = (1..frames).filter(|&t| bad[t] != bad[t - 1]).collect();
    let mut refined = bad.clone();
    for (k, &b) in boundaries.iter().enumerate() {
        // Never cross the neighbouring boundaries: refinement moves edges, it does not merge.
        let lo = b
            .saturating_sub(radius)
            .max(k.checked_sub(1).map_or(1, |p| boundaries[p] + 1));
        let hi = (b + radius).min(boundaries.get(k + 1).map_or(frames - 1, |&n| n - 1));
        let best = (lo..=hi).max_by_key(|&x| curve.codes[x]).unwrap_or(b);
        let value = bad[b];
        // Frames between the old and new boundary take the side they now belong to.
        if best < b {
            refined[best..b].iter_mut().for_each(|f| *f = value);
        } else {
            refined[b..best].iter_mut().for_each(|f| *f = !value);
        }
    }
    refined
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec_with_change_at(frames: usize, at: usize) -> LogMel {
        let data = (0..frames)
            .flat_map(|t| if t < at { [0.0f32, 0.0] } else { [5.0, -3.0] })
            .collect();
        LogMel {
            n_mels: 2,
            frame_rate: 100.0,
            data,
        }
    }

    #[test]
    fn boundary_moves_to_the_spectral_change() {
        let spec = spec_with_change_at(160, 70);
        // Bins of 16 frames: the decision says bad from bin 5 (frame 80), the sound changes at 70.
        let bins: Vec<bool> = (0..10).map(|i| i >= 5).collect();
        let frames = refine_to_frames(&bins, 16, &ChangeCurve::of(&spec), 20);
        assert!(!frames[69] && frames[70], "{:?}", &frames[60..85]);
        assert!(frames[159]);
    }

    #[test]
    fn refinement_never_merges_or_crosses_neighbours() {
        let spec = spec_with_change_at(160, 100);
        let bins = [
            false, false, true, false, false, false, false, false, false, false,
        ];
        let frames = refine_to_frames(&bins, 16, &ChangeCurve::of(&spec), 40);
        let runs = frames.windows(2).filter(|w| w[0] != w[1]).count();
        assert_eq!(runs, 2, "still one cut");
        assert!(frames.iter().any(|&b| b));
    }

    #[test]
    fn empty_and_uniform_inputs_pass_through() {
        let spec = spec_with_change_at(32, 100);
        assert_eq!(
            refine_to_frames(&[false, false], 16, &ChangeCurve::of(&spec), 8),
            vec![false; 32]
        );
        assert_eq!(
            refine_to_frames(&[true, true], 16, &ChangeCurve::of(&spec), 8),
            vec![true; 32]
        );
        let empty = LogMel {
            n_mels: 2,
            frame_rate: 100.0,
            data: vec![],
        };
        assert!(refine_to_frames(&[], 16, &ChangeCurve::of(&empty), 8).is_empty());
    }

    #[test]
    fn codes_keep_the_order_of_changes() {
        let values = [0.0, 1e-6, 1e-3, 0.5, 0.5005, 1.0, 40.0, 1e4, 1e9];
        let codes: Vec<u16> = values.iter().map(|&v| change_code(v)).collect();
        assert!(codes.windows(2).all(|w| w[0] < w[1]), "{codes:?}");
        assert_eq!(change_code(f64::NAN), 0);
        assert_eq!(change_code(1e30), u16::MAX);
    }

    #[test]
    fn the_curve_is_the_whole_tables_change() {
        let (n, frames) = (3, 500);
        let spec = LogMel {
            n_mels: n,
            frame_rate: 100.0,
            data: (0..frames * n)
                .map(|i| ((i * 37) % 101) as f32 / 7.0)
                .collect(),
        };
        let mut table = vec![0.0f64; (frames + 1) * n];
        for t in 0..frames {
            for m in 0..n {
                table[(t + 1) * n + m] = table[t * n + m] + f64::from(spec.data[t * n + m]);
            }
        }
        let row = |t: usize| &table[t * n..(t + 1) * n];
        let curve = ChangeCurve::of(&spec);
        assert_eq!(curve.frames(), frames);
        for t in 0..frames {
            let w = COMPARE_FRAMES.min(t).min(frames - t);
            let expected: f64 = if w == 0 {
                0.0
            } else {
                (0..n)
                    .map(|m| {
                        let before = (row(t)[m] - row(t - w)[m]) / w as f64;
                        let after = (row(t + w)[m] - row(t)[m]) / w as f64;
                        (after - before).powi(2)
                    })
                    .sum()
            };
            assert_eq!(curve.codes[t], change_code(expected), "frame {t}");
        }
    }
}
