//! Initialising and loading the weights of the networks (autoencoder and classifier).

use anyhow::{anyhow, bail, Result};
use candle_core::{DType, Device, Tensor};
use candle_nn::VarMap;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

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
        let values = t.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()?;
        if let Some(bad) = values.iter().find(|v| !v.is_finite()) {
            bail!("{file}: tensor {name} holds {bad}: the weights are damaged; retrain or restore the model");
        }
        var.set(&t.to_dtype(dtype)?)?;
    }
    Ok(())
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
