//! 2x2 max pooling built from reshape + max.
//!
//! candle 0.11.1's `max_pool2d` backward pass returns a quarter of the true gradient per pooling
//! layer, so an encoder with three of them learns 64x too slowly at its first layer. Reshape and
//! `max` have exact gradients; the tests in `model` check every layer against finite differences.

use candle_core::{Result, Tensor, D};

/// Max over non-overlapping 2x2 windows of a `[batch, channels, height, width]` tensor.
/// Height and width must be even (the model config guarantees it).
pub fn max_pool_2x2(x: &Tensor) -> Result<Tensor> {
    let (b, c, h, w) = x.dims4()?;
    x.reshape((b, c, h / 2, 2, w / 2, 2))?
        .max(D::Minus1)?
        .max(3)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    #[test]
    fn pools_like_max_pool2d() {
        let dev = Device::Cpu;
        let x = Tensor::arange(0f32, 32.0, &dev)
            .unwrap()
            .reshape((1, 2, 4, 4))
            .unwrap();
        let ours = max_pool_2x2(&x).unwrap().flatten_all().unwrap();
        let theirs = x.max_pool2d(2).unwrap().flatten_all().unwrap();
        assert_eq!(
            ours.to_vec1::<f32>().unwrap(),
            theirs.to_vec1::<f32>().unwrap()
        );
    }

    #[test]
    fn gradient_reaches_the_maximum_in_full() {
        let dev = Device::Cpu;
        let x =
            Var::from_tensor(&Tensor::new(&[[[[1f32, 5.0], [2.0, 3.0]]]], &dev).unwrap()).unwrap();
        let y = max_pool_2x2(x.as_tensor()).unwrap().sum_all().unwrap();
        let grads = y.backward().unwrap();
        let g = grads.get(&x).unwrap().flatten_all().unwrap();
        assert_eq!(g.to_vec1::<f32>().unwrap(), vec![0.0, 1.0, 0.0, 0.0]);
    }
}
