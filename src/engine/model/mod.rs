//! The autoencoder that learns what edited (good) audio looks like, its config and its inputs.

mod autoencoder;
mod config;
mod pool;
mod weights;

pub use autoencoder::{Autoencoder, SegmentMeasure, CONFIG_FILE, WEIGHTS_FILE};
pub use config::{
    percentile_of_sorted, Calibration, ModelConfig, TrainingInfo, MODEL_FORMAT_VERSION,
};
pub use pool::max_pool_2x2;
pub use weights::{he_uniform_init, load_weights};

use candle_core::{DType, Device, Tensor};

use crate::engine::features::{FeatureStats, LogMel};

/// Stacks segments of a (normalised) spectrogram into a model input `[b, 1, n_mels, frames]`.
///
/// Each segment starts at a frame in `starts` and is `segment_frames` long; frames past the end
/// repeat the last frame, so a recording shorter than one segment can still be scored.
pub fn segment_batch(
    spec: &LogMel,
    starts: &[usize],
    segment_frames: usize,
    dtype: DType,
    device: &Device,
) -> candle_core::Result<Tensor> {
    gather_segments(spec, starts, segment_frames, |_, v| v, dtype, device)
}

/// [`segment_batch`] of an unnormalised spectrogram, normalised with `stats` as it is gathered
/// (the same values as normalising a copy of the whole spectrogram first).
pub fn normalised_segment_batch(
    spec: &LogMel,
    stats: &FeatureStats,
    starts: &[usize],
    segment_frames: usize,
    dtype: DType,
    device: &Device,
) -> candle_core::Result<Tensor> {
    let normalise = |band: usize, v: f32| (v - stats.mean[band]) / stats.std[band];
    gather_segments(spec, starts, segment_frames, normalise, dtype, device)
}

fn gather_segments(
    spec: &LogMel,
    starts: &[usize],
    segment_frames: usize,
    value: impl Fn(usize, f32) -> f32,
    dtype: DType,
    device: &Device,
) -> candle_core::Result<Tensor> {
    let n_mels = spec.n_mels;
    let frames = spec.frames();
    let mut data = Vec::with_capacity(starts.len() * n_mels * segment_frames);
    for &start in starts {
        for m in 0..n_mels {
            for t in 0..segment_frames {
                let frame = (start + t).min(frames.saturating_sub(1));
                let v = spec
                    .data
                    .get(frame * n_mels + m)
                    .map_or(0.0, |&v| value(m, v));
                data.push(v);
            }
        }
    }
    Tensor::from_vec(data, (starts.len(), 1, n_mels, segment_frames), device)?.to_dtype(dtype)
}

#[cfg(test)]
mod dual_tests;
#[cfg(test)]
mod gradient_tests;
