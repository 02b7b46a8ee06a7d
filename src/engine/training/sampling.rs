//! Drawing training batches and measuring held-out segments.

use anyhow::Result;
use candle_core::Tensor;
use rand::rngs::StdRng;
use rand::Rng;

use crate::engine::features::LogMel;
use crate::engine::model::{segment_batch, Autoencoder, SegmentMeasure};
use crate::engine::scoring::measure_spectrogram;

/// A batch of random segments, files chosen in proportion to their length.
pub(super) fn random_batch(
    model: &Autoencoder,
    pool: &[LogMel],
    seg: usize,
    n: usize,
    rng: &mut StdRng,
) -> Result<Tensor> {
    let lengths: Vec<usize> = pool.iter().map(|s| s.frames().max(1)).collect();
    let total: usize = lengths.iter().sum();
    let mut specs = Vec::with_capacity(n);
    for _ in 0..n {
        let mut pick = rng.random_range(0..total);
        let file = lengths
            .iter()
            .position(|&l| {
                if pick < l {
                    true
                } else {
                    pick -= l;
                    false
                }
            })
            .unwrap_or(0);
        let max_start = pool[file].frames().saturating_sub(seg);
        let start = rng.random_range(0..=max_start);
        specs.push(segment_batch(
            &pool[file],
            &[start],
            seg,
            model.dtype(),
            model.device(),
        )?);
    }
    Ok(Tensor::cat(&specs, 0)?)
}

/// `measure` of every segment (at `hop` frames) of the validation spectrograms.
pub(super) fn measure_pool(
    model: &Autoencoder,
    pool: &[LogMel],
    hop: usize,
    measure: SegmentMeasure,
) -> Result<Vec<f64>> {
    let mut values = Vec::new();
    for spec in pool {
        values.extend(
            measure_spectrogram(model, spec, hop.max(1), measure)?
                .into_iter()
                .map(|(_, e)| e),
        );
    }
    Ok(values)
}

pub(super) fn mean(v: &[f64]) -> f64 {
    if v.is_empty() {
        f64::NAN
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    }
}
