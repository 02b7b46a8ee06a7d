//! Holding files out for validation and calibration.

use std::path::Path;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::engine::features::LogMel;

/// Splits file indices into training and validation sets, reproducibly shuffled.
/// With a single file the validation set is empty (the caller holds out its tail instead).
pub(super) fn split_files(n: usize, share: f64, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let mut idx: Vec<usize> = (0..n).collect();
    if n < 2 {
        return (idx, Vec::new());
    }
    let mut rng = StdRng::seed_from_u64(seed ^ 0x5b1d);
    for i in (1..n).rev() {
        idx.swap(i, rng.random_range(0..=i));
    }
    let n_val = ((n as f64 * share).round() as usize).clamp(1, n - 1);
    let val = idx.split_off(n - n_val);
    (idx, val)
}

/// Splits raw recordings for the dual autoencoder. The raw recording of a held-out edit is held
/// out too: it holds the same music, and the edited validation files calibrate the threshold,
/// so the network must not have seen their music through its raw decoder. When file names do
/// not pair up (or would leave nothing on one side), the raw files are split on their own.
pub(super) fn split_raw(
    raw_names: &[String],
    held_out_edits: &[String],
    share: f64,
    seed: u64,
) -> (Vec<usize>, Vec<usize>) {
    let stem = |name: &str| {
        Path::new(name)
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
    };
    let held: Vec<String> = held_out_edits.iter().filter_map(|n| stem(n)).collect();
    let (val, train): (Vec<usize>, Vec<usize>) =
        (0..raw_names.len()).partition(|&i| stem(&raw_names[i]).is_some_and(|s| held.contains(&s)));
    if !val.is_empty() && !train.is_empty() {
        return (train, val);
    }
    split_files(raw_names.len(), share, seed ^ 0x4a3)
}

/// Training and validation spectrograms for a split; with no file held out (a single file),
/// the last fifth of the first training file is held out instead.
pub(super) fn pools(
    specs: &[LogMel],
    train: &[usize],
    val: &[usize],
) -> (Vec<LogMel>, Vec<LogMel>) {
    if val.is_empty() {
        let (a, b) = split_tail(&specs[train[0]], 0.2);
        return (vec![a], vec![b]);
    }
    let pick = |idx: &[usize]| idx.iter().map(|&i| specs[i].clone()).collect();
    (pick(train), pick(val))
}

fn split_tail(spec: &LogMel, share: f64) -> (LogMel, LogMel) {
    let frames = spec.frames();
    let cut = ((frames as f64 * (1.0 - share)) as usize).clamp(1.min(frames), frames);
    let at = cut * spec.n_mels;
    let part = |data: &[f32]| LogMel {
        n_mels: spec.n_mels,
        frame_rate: spec.frame_rate,
        data: if data.is_empty() {
            spec.data.clone()
        } else {
            data.to_vec()
        },
    };
    (part(&spec.data[..at]), part(&spec.data[at..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_holds_out_at_least_one_file_and_never_all() {
        let (t, v) = split_files(5, 0.2, 1);
        assert_eq!((t.len(), v.len()), (4, 1));
        let (t, v) = split_files(2, 0.9, 1);
        assert_eq!((t.len(), v.len()), (1, 1));
        let (t, v) = split_files(1, 0.2, 1);
        assert_eq!((t.len(), v.len()), (1, 0));
        let mut all: Vec<usize> = split_files(10, 0.3, 4).0;
        all.extend(split_files(10, 0.3, 4).1);
        all.sort();
        assert_eq!(all, (0..10).collect::<Vec<_>>());
    }

    #[test]
    fn raw_split_follows_the_held_out_edits() {
        let raw: Vec<String> = ["a.wav", "b.flac", "c.wav"].map(String::from).to_vec();
        let (t, v) = split_raw(&raw, &["b.wav".into()], 0.2, 0);
        assert_eq!((t, v), (vec![0, 2], vec![1]));
        // Paths work as well as bare names (cross-validation records paths).
        let (_, v) = split_raw(&raw, &["/x/desired_output/c.ogg".into()], 0.2, 0);
        assert_eq!(v, vec![2]);
        // No pairing: split on their own, still holding out one and keeping the rest.
        let (t, v) = split_raw(&raw, &["z.wav".into()], 0.2, 0);
        assert_eq!((t.len(), v.len()), (2, 1));
    }
}
