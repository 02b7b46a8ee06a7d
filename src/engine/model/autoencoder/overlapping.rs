//! Encoding overlapping segments without redoing their common work.
//!
//! Segments scored every `hop` frames overlap by most of their length, and the encoder's
//! convolutions are shift-equivariant: run over one wide stretch of the recording, each
//! convolution computes every segment's values at once. When `hop` is a multiple of the
//! encoder's downsampling, the 2x2 pools of every segment line up with those of the stretch, so
//! a segment's maps are a window of the stretch's maps except where the segment's own zero
//! padding reaches: its first and last column at each level. Those are recomputed per segment
//! from narrow slices (two or three columns), so the result is the latents of the stock
//! per-segment encoder, to float rounding, at a fraction of its cost.

use candle_core::{Module, Result, Tensor};

use super::Autoencoder;
use crate::engine::model::max_pool_2x2;

impl Autoencoder {
    /// Whether [`Self::encode_overlapping`] can encode segments taken every `hop` frames.
    pub fn shares_overlapping(&self, hop: usize) -> bool {
        let down = self.config.downsampling();
        hop > 0 && hop % down == 0 && self.config.segment_frames / down >= 2
    }

    /// Latents `[count, latent_dim]` of the `count` segments starting every `hop` columns of
    /// `wide` (`[1, 1, n_mels, hop * (count - 1) + segment_frames]`, normalised): what
    /// [`Self::encode`] gives for the same segments cut out and batched. `hop` must satisfy
    /// [`Self::shares_overlapping`].
    pub fn encode_overlapping(&self, wide: &Tensor, hop: usize, count: usize) -> Result<Tensor> {
        let segment = self.config.segment_frames;
        let mut shared = wide.clone();
        // Each segment's own first and last pooled column at the current level.
        let mut edges: Option<(Tensor, Tensor)> = None;
        for (level, conv) in self.encoder.iter().enumerate() {
            let (step, width) = (hop >> level, segment >> level);
            let columns = |t: &Tensor, from: usize, len: usize| -> Result<Tensor> {
                let parts = (0..count)
                    .map(|j| t.narrow(3, j * step + from, len))
                    .collect::<Result<Vec<_>>>()?;
                Tensor::cat(&parts, 0)
            };
            let maps = conv.forward(&shared)?.relu()?;
            let (left, right) = match &edges {
                // The input's edges: only the outermost output column sees the padding.
                None => {
                    let left = conv.forward(&columns(&shared, 0, 2)?)?.relu()?;
                    let right = conv.forward(&columns(&shared, width - 2, 2)?)?.relu()?;
                    (
                        Tensor::cat(&[left.narrow(3, 0, 1)?, columns(&maps, 1, 1)?], 3)?,
                        Tensor::cat(&[columns(&maps, width - 2, 1)?, right.narrow(3, 1, 1)?], 3)?,
                    )
                }
                // Deeper, the segment's own edge column feeds the outer two output columns.
                Some((first, last)) => {
                    let left = Tensor::cat(&[first.clone(), columns(&shared, 1, 2)?], 3)?;
                    let right = Tensor::cat(&[columns(&shared, width - 3, 2)?, last.clone()], 3)?;
                    (
                        conv.forward(&left)?.relu()?.narrow(3, 0, 2)?,
                        conv.forward(&right)?.relu()?.narrow(3, 1, 2)?,
                    )
                }
            };
            edges = Some((max_pool_2x2(&left)?, max_pool_2x2(&right)?));
            shared = max_pool_2x2(&maps)?;
        }
        let level = self.encoder.len();
        let (step, width) = (hop >> level, segment >> level);
        let Some((first, last)) = edges else {
            // No convolutions: the segments are plain windows of the input.
            let parts = (0..count)
                .map(|j| shared.narrow(3, j * step, width))
                .collect::<Result<Vec<_>>>()?;
            return self
                .to_latent
                .forward(&Tensor::cat(&parts, 0)?.flatten_from(1)?);
        };
        let mut parts = vec![first];
        if width > 2 {
            let middle = (0..count)
                .map(|j| shared.narrow(3, j * step + 1, width - 2))
                .collect::<Result<Vec<_>>>()?;
            parts.push(Tensor::cat(&middle, 0)?);
        }
        parts.push(last);
        self.to_latent
            .forward(&Tensor::cat(&parts, 3)?.flatten_from(1)?)
    }
}

#[cfg(test)]
mod tests {
    use candle_core::{DType, Device};

    use super::*;
    use crate::engine::features::{FeatureStats, LogMel};
    use crate::engine::model::{segment_batch, ModelConfig};

    fn max_difference(model: &Autoencoder, frames: usize, hop: usize) -> f32 {
        let n_mels = model.config().features.n_mels;
        let seg = model.config().segment_frames;
        let spec = LogMel {
            n_mels,
            frame_rate: 86.0,
            data: (0..frames * n_mels)
                .map(|i| ((i * 7919) % 1013) as f32 / 300.0 - 1.7)
                .collect(),
        };
        let starts: Vec<usize> = (0..=frames - seg).step_by(hop).collect();
        let batch = segment_batch(&spec, &starts, seg, DType::F32, &Device::Cpu).unwrap();
        let stock = model.encode(&batch).unwrap();
        let width = hop * (starts.len() - 1) + seg;
        let wide = segment_batch(&spec, &[0], width, DType::F32, &Device::Cpu).unwrap();
        let shared = model.encode_overlapping(&wide, hop, starts.len()).unwrap();
        (stock - shared)
            .unwrap()
            .abs()
            .unwrap()
            .flatten_all()
            .unwrap()
            .max(0)
            .unwrap()
            .to_scalar::<f32>()
            .unwrap()
    }

    #[test]
    fn overlapping_segments_encode_as_the_stock_encoder_encodes_them() {
        // The default architecture (three levels, 64 x 64 segments), randomly initialised.
        let features = crate::engine::features::FeatureConfig::default();
        let stats = FeatureStats {
            mean: vec![0.0; 64],
            std: vec![1.0; 64],
        };
        let config = ModelConfig::seed_design(features, stats);
        let model = Autoencoder::new(config, DType::F32, 5).unwrap();
        assert!(model.shares_overlapping(8) && model.shares_overlapping(16));
        assert!(!model.shares_overlapping(12));
        for hop in [8, 16, 64] {
            let worst = max_difference(&model, 64 + 8 * 20, hop);
            assert!(worst < 1e-4, "hop {hop}: latents differ by {worst}");
        }
        // Two levels and segments of two bottleneck columns (no shared middle).
        let tiny =
            Autoencoder::new(ModelConfig::tiny_for_tests(vec![4, 8], 3), DType::F32, 1).unwrap();
        let worst = max_difference(&tiny, 40, 4);
        assert!(worst < 1e-5, "tiny: latents differ by {worst}");
    }
}
