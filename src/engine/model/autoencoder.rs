//! The convolutional autoencoder of the seed design, in candle.
//!
//! Input: a batch of normalised log-mel segments `[batch, 1, n_mels, segment_frames]`.
//! Encoder: conv 3x3 + ReLU + 2x2 max pool per entry of `hidden_dims`, then a linear bottleneck.
//! Decoder: linear, then 2x2 stride-2 transposed convolutions back to one channel.
//!
//! The seed's dual autoencoder is the same network with a second decoder, trained on raw
//! recordings, sharing the encoder (see [`ModelConfig::raw_decoder`]).

use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use candle_core::{DType, Device, Module, Tensor, D};
use candle_nn::{
    conv2d, conv_transpose2d, linear, Conv2d, Conv2dConfig, ConvTranspose2d, ConvTranspose2dConfig,
    Linear, VarBuilder, VarMap,
};

mod overlapping;

use super::config::ModelConfig;
use super::pool::max_pool_2x2;
use super::weights::{he_uniform_init, load_weights};

/// Name of the weights file in a model directory.
pub const WEIGHTS_FILE: &str = "model.safetensors";
/// Name of the config file in a model directory.
pub const CONFIG_FILE: &str = "config.json";

/// Prefix of the edited decoder's weights (the only decoder of the seed autoencoder).
const EDITED_DECODER: &str = "dec";
/// Prefix of the dual autoencoder's raw decoder's weights.
const RAW_DECODER: &str = "raw_dec";

/// What a segment's value is, for scoring and training.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SegmentMeasure {
    /// The model's score, higher = worse: the reconstruction error, or for a dual autoencoder
    /// the edited decoder's error minus the raw decoder's (higher = more raw-like).
    Score,
    /// Mean squared error of the edited decoder's reconstruction.
    EditedError,
    /// Mean squared error of the raw decoder's reconstruction (dual autoencoder only).
    RawError,
}

/// A linear layer from the latent, then transposed convolutions back to one channel.
struct Decoder {
    from_latent: Linear,
    layers: Vec<ConvTranspose2d>,
}

impl Decoder {
    fn build(config: &ModelConfig, flat: usize, vb: VarBuilder) -> Result<Self> {
        let from_latent = linear(config.latent_dim, flat, vb.pp("fc"))?;
        let up_cfg = ConvTranspose2dConfig {
            stride: 2,
            ..Default::default()
        };
        let mut layers = Vec::new();
        let mut channels: Vec<usize> = config.hidden_dims.iter().rev().copied().collect();
        channels.push(1);
        for (i, pair) in channels.windows(2).enumerate() {
            layers.push(conv_transpose2d(
                pair[0],
                pair[1],
                2,
                up_cfg,
                vb.pp(format!("convt{i}")),
            )?);
        }
        Ok(Self {
            from_latent,
            layers,
        })
    }

    fn forward(&self, config: &ModelConfig, z: &Tensor) -> candle_core::Result<Tensor> {
        let b = z.dim(0)?;
        let down = config.downsampling();
        let last = *config.hidden_dims.last().unwrap_or(&1);
        let mut h = self.from_latent.forward(z)?.relu()?.reshape((
            b,
            last,
            config.features.n_mels / down,
            config.segment_frames / down,
        ))?;
        let n = self.layers.len();
        for (i, up) in self.layers.iter().enumerate() {
            h = up.forward(&h)?;
            if i + 1 < n {
                h = h.relu()?;
            }
        }
        Ok(h)
    }
}

/// The autoencoder and the configuration it was built from.
pub struct Autoencoder {
    config: ModelConfig,
    varmap: VarMap,
    device: Device,
    dtype: DType,
    encoder: Vec<Conv2d>,
    to_latent: Linear,
    decoder: Decoder,
    raw_decoder: Option<Decoder>,
}

impl Autoencoder {
    /// A freshly initialised network, reproducible from `seed`.
    pub fn new(config: ModelConfig, dtype: DType, seed: u64) -> Result<Self> {
        config.validate()?;
        let model = Self::build(config, dtype)?;
        // Variables are drawn in name order: the raw decoder's ("raw_dec.*") come after the
        // shared ones, so a dual autoencoder starts from the seed autoencoder's weights.
        he_uniform_init(&model.varmap, seed, model.dtype)?;
        Ok(model)
    }

    fn build(config: ModelConfig, dtype: DType) -> Result<Self> {
        let device = Device::Cpu;
        let varmap = VarMap::new();
        let vb = VarBuilder::from_varmap(&varmap, dtype, &device);
        let conv_cfg = Conv2dConfig {
            padding: 1,
            ..Default::default()
        };
        let mut encoder = Vec::new();
        let mut in_ch = 1;
        for (i, &h) in config.hidden_dims.iter().enumerate() {
            encoder.push(conv2d(
                in_ch,
                h,
                3,
                conv_cfg,
                vb.pp(format!("enc.conv{i}")),
            )?);
            in_ch = h;
        }
        let flat = in_ch * bottleneck_cells(&config);
        let to_latent = linear(flat, config.latent_dim, vb.pp("enc.fc"))?;
        let decoder = Decoder::build(&config, flat, vb.pp(EDITED_DECODER))?;
        let raw_decoder = if config.raw_decoder {
            Some(Decoder::build(&config, flat, vb.pp(RAW_DECODER))?)
        } else {
            None
        };
        Ok(Self {
            config,
            varmap,
            device,
            dtype,
            encoder,
            to_latent,
            decoder,
            raw_decoder,
        })
    }

    /// Loads `config.json` and `model.safetensors` from a model directory.
    pub fn from_checkpoint(dir: &Path) -> Result<Self> {
        let config_path = dir.join(CONFIG_FILE);
        let weights_path = dir.join(WEIGHTS_FILE);
        if !dir.is_dir() {
            bail!("model directory {} does not exist", dir.display());
        }
        let config_text = std::fs::read_to_string(&config_path)
            .with_context(|| format!("cannot read model config {}", config_path.display()))?;
        let weights = std::fs::read(&weights_path)
            .with_context(|| format!("cannot read model weights {}", weights_path.display()))?;
        Self::from_bytes(&config_text, &weights)
            .with_context(|| format!("cannot load model {}", dir.display()))
    }

    /// Builds a model from the text of its config and the bytes of its safetensors weights,
    /// e.g. a model compiled into a binary.
    pub fn from_bytes(config_json: &str, weights: &[u8]) -> Result<Self> {
        let config: ModelConfig = serde_json::from_str(config_json)
            .map_err(|e| anyhow!("{CONFIG_FILE} is not a valid model config: {e}"))?;
        config.validate()?;
        let model = Self::build(config, DType::F32)?;
        load_weights(&model.varmap, weights, WEIGHTS_FILE, model.dtype)?;
        Ok(model)
    }

    /// Writes the model into `dir` (created if needed) as `config.json` + `model.safetensors`.
    ///
    /// Both files are written under temporary names and renamed into place, so an interrupted
    /// save never leaves a half-written model behind.
    pub fn save(&self, dir: &Path) -> Result<()> {
        self.save_with_config(dir, &self.config)
    }

    /// [`Self::save`] with `config` in place of the model's own (the same architecture; a
    /// complete model records its whole method there).
    pub fn save_with_config(&self, dir: &Path, config: &ModelConfig) -> Result<()> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create model directory {}", dir.display()))?;
        let tmp_weights = dir.join(format!(".{WEIGHTS_FILE}.tmp"));
        let tmp_config = dir.join(format!(".{CONFIG_FILE}.tmp"));
        self.varmap
            .save(&tmp_weights)
            .with_context(|| format!("cannot write {}", tmp_weights.display()))?;
        std::fs::write(&tmp_config, serde_json::to_string_pretty(config)?)
            .with_context(|| format!("cannot write {}", tmp_config.display()))?;
        std::fs::rename(&tmp_weights, dir.join(WEIGHTS_FILE))?;
        std::fs::rename(&tmp_config, dir.join(CONFIG_FILE))?;
        Ok(())
    }

    /// The configuration.
    pub fn config(&self) -> &ModelConfig {
        &self.config
    }

    /// Mutable configuration, for recording calibration and training facts.
    pub fn config_mut(&mut self) -> &mut ModelConfig {
        &mut self.config
    }

    /// The trainable variables.
    pub fn varmap(&self) -> &VarMap {
        &self.varmap
    }

    /// The device tensors live on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// The dtype of the weights.
    pub fn dtype(&self) -> DType {
        self.dtype
    }

    /// Whether this is a dual autoencoder (a second decoder trained on raw recordings).
    pub fn has_raw_decoder(&self) -> bool {
        self.raw_decoder.is_some()
    }

    /// Encodes a batch `[b, 1, n_mels, frames]` to latents `[b, latent_dim]`.
    pub fn encode(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let mut h = x.clone();
        for conv in &self.encoder {
            h = max_pool_2x2(&conv.forward(&h)?.relu()?)?;
        }
        self.to_latent.forward(&h.flatten_from(1)?)
    }

    /// Decodes latents back to segments with the decoder trained on edited audio.
    pub fn decode(&self, z: &Tensor) -> candle_core::Result<Tensor> {
        self.decoder.forward(&self.config, z)
    }

    /// Decodes latents with the raw decoder of a dual autoencoder.
    pub fn decode_raw(&self, z: &Tensor) -> Result<Tensor> {
        Ok(self.raw_head()?.forward(&self.config, z)?)
    }

    fn raw_head(&self) -> Result<&Decoder> {
        self.raw_decoder
            .as_ref()
            .ok_or_else(|| anyhow!("model {} has no raw decoder", self.config.name))
    }

    /// Reconstruction of a batch of segments (by the edited decoder).
    pub fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        self.decode(&self.encode(x)?)
    }

    /// Mean squared reconstruction error of each segment in a batch (by the edited decoder).
    pub fn segment_errors(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        mean_squared_error(&self.forward(x)?, x)
    }

    /// One value per segment of a batch, see [`SegmentMeasure`].
    pub fn measure(&self, x: &Tensor, measure: SegmentMeasure) -> Result<Tensor> {
        Ok(match (measure, &self.raw_decoder) {
            (SegmentMeasure::EditedError, _) | (SegmentMeasure::Score, None) => {
                self.segment_errors(x)?
            }
            (SegmentMeasure::RawError, _) => mean_squared_error(
                &self.raw_head()?.forward(&self.config, &self.encode(x)?)?,
                x,
            )?,
            (SegmentMeasure::Score, Some(raw)) => {
                // One pass through the shared encoder feeds both decoders.
                let z = self.encode(x)?;
                let edited = mean_squared_error(&self.decode(&z)?, x)?;
                let raw = mean_squared_error(&raw.forward(&self.config, &z)?, x)?;
                (edited - raw)?
            }
        })
    }
}

/// Mean squared difference of each segment of a batch.
fn mean_squared_error(reconstruction: &Tensor, x: &Tensor) -> candle_core::Result<Tensor> {
    (reconstruction - x)?
        .sqr()?
        .flatten_from(1)?
        .mean(D::Minus1)
}

/// Cells per channel at the bottleneck.
fn bottleneck_cells(config: &ModelConfig) -> usize {
    let down = config.downsampling();
    (config.features.n_mels / down) * (config.segment_frames / down)
}
