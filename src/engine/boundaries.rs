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
    let prefix = prefix_sums(spec);
    let mut refined = bad.clone();
    for (k, &b) in boundaries.iter().enumerate() {
        // Never cross the neighbouring boundaries: refinement moves edges, it does not merge.
        let lo = b
            .saturating_sub(radius)
            .max(k.checked_sub(1).map_or(1, |p| boundaries[p] + 1));
        let hi = (b + radius).min(boundaries.get(k + 1).map_or(frames - 1, |&n| n - 1));
        let best = (lo..=hi)
            .max_by(|&x, &y| {
                change(&prefix, spec.n_mels, x, frames).total_cmp(&change(
                    &prefix,
                    spec.n_mels,
                    y,
                    frames,
                ))
            })
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

/// Per-band running sums: `prefix[t * n_mels + m]` is the sum of band `m` over frames `0..t`.
fn prefix_sums(spec: &LogMel) -> Vec<f64> {
    let n = spec.n_mels;
    let mut prefix = vec![0.0; (spec.frames() + 1) * n];
    for t in 0..spec.frames() {
        for m in 0..n {
            prefix[(t + 1) * n + m] = prefix[t * n + m] + f64::from(spec.data[t * n + m]);
        }
    }
    prefix
}

/// Squared distance between the mean spectra just before and just after frame `t`.
fn change(prefix: &[f64], n_mels: usize, t: usize, frames: usize) -> f64 {
    let w = COMPARE_FRAMES.min(t).min(frames - t);
    if w == 0 {
        return 0.0;
    }
    (0..n_mels)
        .map(|m| {
            let before = (prefix[t * n_mels + m] - prefix[(t - w) * n_mels + m]) / w as f64;
            let after = (prefix[(t + w) * n_mels + m] - prefix[t * n_mels + m]) / w as f64;
            (after - before).powi(2)
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
}
