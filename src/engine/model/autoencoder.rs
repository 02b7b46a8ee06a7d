//! The convolutional autoencoder of the seed design, in candle.
//!
//! Input: a batch of normalised log-mel segments `[batch, 1, n_mels, segment_frames]`.
//! Encoder: conv 3x3 + ReLU + 2x2 max pool per entry of `hidden_dims`, then a linear bottleneck.
//! Decoder: linear, then 2x2 stride-2 transposed convolutions back to one channel.

use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use candle_core::{DType, Device, Module, Tensor, D};
use candle_nn::{
    conv2d, conv_transpose2d, linear, Conv2d, Conv2dConfig, ConvTranspose2d, ConvTranspose2dConfig,
    Linear, VarBuilder, VarMap,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::config::ModelConfig;
use super::pool::max_pool_2x2;

/// Name of the weights file in a model directory.
pub const WEIGHTS_FILE: &str = "model.safetensors";
/// Name of the config file in a model directory.
pub const CONFIG_FILE: &str = "config.json";

/// The autoencoder and the configuration it was built from.
pub struct Autoencoder {
    config: ModelConfig,
    varmap: VarMap,
    device: Device,
    dtype: DType,
    encoder: Vec<Conv2d>,
    to_latent: Linear,
    from_latent: Linear,
    decoder: Vec<ConvTranspose2d>,
}

impl Autoencoder {
    /// A freshly initialised network, reproducible from `seed`.
    pub fn new(config: ModelConfig, dtype: DType, seed: u64) -> Result<Self> {
        config.validate()?;
        let model = Self::build(config, dtype)?;
        model.initialise(seed)?;
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
        let from_latent = linear(config.latent_dim, flat, vb.pp("dec.fc"))?;
        let up_cfg = ConvTranspose2dConfig {
            stride: 2,
            ..Default::default()
        };
        let mut decoder = Vec::new();
        let mut channels: Vec<usize> = config.hidden_dims.iter().rev().copied().collect();
        channels.push(1);
        for (i, pair) in channels.windows(2).enumerate() {
            decoder.push(conv_transpose2d(
                pair[0],
                pair[1],
                2,
                up_cfg,
                vb.pp(format!("dec.convt{i}")),
            )?);
        }
        Ok(Self {
            config,
            varmap,
            device,
            dtype,
            encoder,
            to_latent,
            from_latent,
            decoder,
        })
    }

    fn initialise(&self, seed: u64) -> Result<()> {
        he_uniform_init(&self.varmap, seed, self.dtype)
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
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create model directory {}", dir.display()))?;
        let tmp_weights = dir.join(format!(".{WEIGHTS_FILE}.tmp"));
        let tmp_config = dir.join(format!(".{CONFIG_FILE}.tmp"));
        self.varmap
            .save(&tmp_weights)
            .with_context(|| format!("cannot write {}", tmp_weights.display()))?;
        std::fs::write(&tmp_config, serde_json::to_string_pretty(&self.config)?)
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

    /// Encodes a batch `[b, 1, n_mels, frames]` to latents `[b, latent_dim]`.
    pub fn encode(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let mut h = x.clone();
        for conv in &self.encoder {
            h = max_pool_2x2(&conv.forward(&h)?.relu()?)?;
        }
        self.to_latent.forward(&h.flatten_from(1)?)
    }

    /// Decodes latents back to segments.
    pub fn decode(&self, z: &Tensor) -> candle_core::Result<Tensor> {
        let b = z.dim(0)?;
        let down = self.config.downsampling();
        let last = *self.config.hidden_dims.last().unwrap_or(&1);
        let mut h = self.from_latent.forward(z)?.relu()?.reshape((
            b,
            last,
            self.config.features.n_mels / down,
            self.config.segment_frames / down,
        ))?;
        let n = self.decoder.len();
        for (i, up) in self.decoder.iter().enumerate() {
            h = up.forward(&h)?;
            if i + 1 < n {
                h = h.relu()?;
            }
        }
        Ok(h)
    }

    /// Reconstruction of a batch of segments.
    pub fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        self.decode(&self.encode(x)?)
    }

    /// Mean squared reconstruction error of each segment in a batch.
    pub fn segment_errors(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let diff = (self.forward(x)? - x)?;
        diff.sqr()?.flatten_from(1)?.mean(D::Minus1)
    }
}

/// He-uniform weights and zero biases for every variable of `varmap`, drawn in name order from
/// a seeded generator: candle's CPU generator cannot be seeded, and training must be
/// reproducible.
pub fn he_uniform_init(varmap: &VarMap, seed: u64, dtype: DType) -> Result<()> {
    let mut rng = StdRng::seed_from_u64(seed);
    let data = varmap.data().lock().map_err(|_| anyhow!("poisoned"))?;
    let mut names: Vec<&String> = data.keys().collect();
    names.sort();
    for name in names {
        let var = &data[name];
        let dims = var.dims().to_vec();
        let count: usize = dims.iter().product();
        let values: Vec<f64> = if name.ends_with(".bias") {
            vec![0.0; count]
        } else {
            let bound = (6.0 / fan_in(name, &dims) as f64).sqrt();
            (0..count)
                .map(|_| rng.random_range(-bound..bound))
                .collect()
        };
        var.set(&Tensor::from_vec(values, dims, &Device::Cpu)?.to_dtype(dtype)?)?;
    }
    Ok(())
}

/// Fills every variable of `varmap` from the safetensors bytes of `file`, checking that each
/// tensor is present with the shape the config needs: a model built from another config must
/// fail clearly, not half-load.
pub fn load_weights(varmap: &VarMap, weights: &[u8], file: &str, dtype: DType) -> Result<()> {
    let tensors = candle_core::safetensors::load_buffer(weights, &Device::Cpu)
        .map_err(|e| anyhow!("{file} is not a valid safetensors file: {e}"))?;
    let data = varmap.data().lock().map_err(|_| anyhow!("poisoned"))?;
    for (name, var) in data.iter() {
        let t = tensors
            .get(name)
            .ok_or_else(|| anyhow!("{file} lacks tensor {name}"))?;
        if t.dims() != var.dims() {
            bail!(
                "{file}: tensor {name} has shape {:?}, the config needs {:?}",
                t.dims(),
                var.dims()
            );
        }
        var.set(&t.to_dtype(dtype)?)?;
    }
    Ok(())
}

/// Cells per channel at the bottleneck.
fn bottleneck_cells(config: &ModelConfig) -> usize {
    let down = config.downsampling();
    (config.features.n_mels / down) * (config.segment_frames / down)
}

/// Inputs feeding one output unit, for He initialisation.
fn fan_in(name: &str, dims: &[usize]) -> usize {
    let product: usize = dims.iter().skip(1).product();
    if name.contains("convt") {
        // Transposed conv weights are [in, out, k, k]; with stride = kernel each output cell
        // sees exactly one kernel tap per input channel.
        dims.first().copied().unwrap_or(1)
    } else {
        product.max(1)
    }
}
