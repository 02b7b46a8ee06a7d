//! Placing cut boundaries on the actual change in the sound.
//!
//! Segment scores locate bad material to within a segment hop; the place where a take starts or
//! talk stops is sharper than that. Each boundary of a per-bin decision is moved, within a small
//! radius, to the frame where the spectrum before and after differ most.

use super::features::LogMel;

/// Frames either side compared at a candidate boundary (about 0.19 s at the default rate).
const COMPARE_FRAMES: usize = 16;

/// Expands per-bin bad flags (`bin_frames` frames per bin) to per-frame flags, moving every
/// boundary to the strongest spectral change within `radius` frames of it.
pub fn refine_to_frames(
    bad_bins: &[bool],
    bin_frames: usize,
    spec: &LogMel,
    radius: usize,
) -> Vec<bool> {
    let frames = spec.frames();
    let mut bad = vec![false; frames];
    for (i, &b) in bad_bins.iter().enumerate() {
        let lo = (i * bin_frames).min(frames);
        let hi = ((i + 1) * bin_frames).min(frames);
        bad[lo..hi].iter_mut().for_each(|f| *f = b);
    }
    let boundaries: Vec<usize> = (1..frames).filter(|&t| bad[t] != bad[t - 1]).collect();
    // Never cross the neighbouring boundaries: refinement moves edges, it does not merge.
    let searched: Vec<(usize, usize)> = boundaries
        .iter()
        .enumerate()
        .map(|(k, &b)| {
            let lo = b
                .saturating_sub(radius)
                .max(k.checked_sub(1).map_or(1, |p| boundaries[p] + 1));
            let hi = (b + radius).min(boundaries.get(k + 1).map_or(frames - 1, |&n| n - 1));
            (lo, hi)
        })
        .collect();
    let prefix = PrefixRows::new(spec, &searched);
    let mut refined = bad.clone();
    for (&b, &(lo, hi)) in boundaries.iter().zip(&searched) {
        let best = (lo..=hi)
            .max_by(|&x, &y| change(&prefix, x, frames).total_cmp(&change(&prefix, y, frames)))
            .unwrap_or(b);
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

/// Per-band running sums of the spectrogram (row `t`: the sum of each band over frames
/// `0..t`) at the frames the refinement reads only: around each searched range, `COMPARE_FRAMES`
/// either side. They are summed in one pass in the order a whole table would be, so they are
/// its values, without a table twice the spectrogram's size (476 MB for a 3-hour recording).
struct PrefixRows {
    n_mels: usize,
    /// `(first row, rows)` of each stored stretch, ascending and disjoint.
    stretches: Vec<(usize, Vec<f64>)>,
}

impl PrefixRows {
    /// Rows around `searched` (inclusive frame ranges, ascending).
    fn new(spec: &LogMel, searched: &[(usize, usize)]) -> Self {
        let (n, frames) = (spec.n_mels, spec.frames());
        let mut wanted: Vec<(usize, usize)> = Vec::new();
        for &(lo, hi) in searched {
            let (first, last) = (
                lo.saturating_sub(COMPARE_FRAMES),
                (hi + COMPARE_FRAMES).min(frames),
            );
            match wanted.last_mut() {
                Some(prev) if first <= prev.1 + 1 => prev.1 = prev.1.max(last),
                _ => wanted.push((first, last)),
            }
        }
        let mut running = vec![0.0f64; n];
        let mut summed = 0;
        let add_through = |running: &mut Vec<f64>, summed: &mut usize, row: usize| {
            while *summed < row.min(frames) {
                for (r, v) in running.iter_mut().zip(spec.frame(*summed)) {
                    *r += f64::from(*v);
                }
                *summed += 1;
            }
        };
        let stretches = wanted
            .into_iter()
            .map(|(first, last)| {
                let mut rows = Vec::with_capacity((last - first + 1) * n);
                for row in first..=last {
                    add_through(&mut running, &mut summed, row);
                    rows.extend_from_slice(&running);
                }
                (first, rows)
            })
            .collect();
        Self {
            n_mels: n,
            stretches,
        }
    }

    /// Row `t` (which must lie in a stored stretch).
    fn row(&self, t: usize) -> &[f64] {
        let i = self.stretches.partition_point(|(first, _)| *first <= t) - 1;
        let (first, rows) = &self.stretches[i];
        &rows[(t - first) * self.n_mels..(t - first + 1) * self.n_mels]
    }
}

/// Squared distance between the mean spectra just before and just after frame `t`.
fn change(prefix: &PrefixRows, t: usize, frames: usize) -> f64 {
    let w = COMPARE_FRAMES.min(t).min(frames - t);
    if w == 0 {
        return 0.0;
    }
    let (before, at, after) = (prefix.row(t - w), prefix.row(t), prefix.row(t + w));
    (0..prefix.n_mels)
        .map(|m| {
            let mean_before = (at[m] - before[m]) / w as f64;
            let mean_after = (after[m] - at[m]) / w as f64;
            (mean_after - mean_before).powi(2)
        })
        .sum()
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
        let frames = refine_to_frames(&bins, 16, &spec, 20);
        assert!(!frames[69] && frames[70], "{:?}", &frames[60..85]);
        assert!(frames[159]);
    }

    #[test]
    fn refinement_never_merges_or_crosses_neighbours() {
        let spec = spec_with_change_at(160, 100);
        let bins = [
            false, false, true, false, false, false, false, false, false, false,
        ];
        let frames = refine_to_frames(&bins, 16, &spec, 40);
        let runs = frames.windows(2).filter(|w| w[0] != w[1]).count();
        assert_eq!(runs, 2, "still one cut");
        assert!(frames.iter().any(|&b| b));
    }

    #[test]
    fn empty_and_uniform_inputs_pass_through() {
        let spec = spec_with_change_at(32, 100);
        assert_eq!(
            refine_to_frames(&[false, false], 16, &spec, 8),
            vec![false; 32]
        );
        assert_eq!(
            refine_to_frames(&[true, true], 16, &spec, 8),
            vec![true; 32]
        );
        let empty = LogMel {
            n_mels: 2,
            frame_rate: 100.0,
            data: vec![],
        };
        assert!(refine_to_frames(&[], 16, &empty, 8).is_empty());
    }

    #[test]
    fn stored_prefix_rows_equal_the_whole_table() {
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
        let searched = [(1, 20), (30, 40), (200, 260), (480, 499)];
        let prefix = PrefixRows::new(&spec, &searched);
        for &(lo, hi) in &searched {
            for t in lo.saturating_sub(COMPARE_FRAMES)..=(hi + COMPARE_FRAMES).min(frames) {
                assert!(prefix.row(t) == &table[t * n..(t + 1) * n], "row {t}");
            }
        }
    }
}
