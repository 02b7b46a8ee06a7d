//! Every layer's gradients against central finite differences, in f64 on a tiny network.
//!
//! This is what caught candle's `max_pool2d` backward pass returning a quarter of the gradient.

use candle_core::{DType, Device, Tensor, Var};

use super::{max_pool_2x2, Autoencoder, ModelConfig};

/// A tiny network whose biases are non-zero: with zero biases, a decoder cell fed only by dead
/// ReLUs sits exactly on the next ReLU's kink, where finite differences see half a slope.
fn tiny_model() -> Autoencoder {
    let config = ModelConfig::tiny_for_tests(vec![3, 4, 5], 3);
    let model = Autoencoder::new(config, DType::F64, 7).unwrap();
    for (name, var) in model.varmap().data().lock().unwrap().iter() {
        if name.ends_with(".bias") {
            let n = var.dims()[0];
            let values: Vec<f64> = (0..n)
                .map(|i| 0.05 * (1.3 * i as f64 + 0.4).sin())
                .collect();
            var.set(&Tensor::from_vec(values, n, &Device::Cpu).unwrap())
                .unwrap();
        }
    }
    model
}

fn input(device: &Device) -> Tensor {
    // Deterministic, tie-free values so max pooling and ReLU have no kinks at the test point.
    let values: Vec<f64> = (0..2 * 8 * 8)
        .map(|i| ((i as f64 * 0.7311).sin() * 1.7 + (i as f64 * 0.1).cos()) * 0.9)
        .collect();
    Tensor::from_vec(values, (2, 1, 8, 8), device).unwrap()
}

fn loss(model: &Autoencoder, x: &Tensor) -> Tensor {
    model.segment_errors(x).unwrap().mean_all().unwrap()
}

fn set_element(var: &Var, index: usize, value: f64) {
    let dims = var.dims().to_vec();
    let mut flat = var
        .as_tensor()
        .flatten_all()
        .unwrap()
        .to_vec1::<f64>()
        .unwrap();
    flat[index] = value;
    var.set(&Tensor::from_vec(flat, dims, &Device::Cpu).unwrap())
        .unwrap();
}

#[test]
fn every_layer_matches_finite_differences() {
    let model = tiny_model();
    let x = input(model.device());
    let grads = loss(&model, &x).backward().unwrap();
    let vars = model.varmap().data().lock().unwrap().clone();
    let mut names: Vec<&String> = vars.keys().collect();
    names.sort();
    assert_eq!(
        names.len(),
        2 * (3 + 3 + 2),
        "every layer has weight and bias"
    );
    let h = 1e-6;
    for name in names {
        let var = &vars[name];
        let analytic = grads
            .get(var.as_tensor())
            .unwrap_or_else(|| panic!("no gradient for {name}"))
            .flatten_all()
            .unwrap()
            .to_vec1::<f64>()
            .unwrap();
        let original = var
            .as_tensor()
            .flatten_all()
            .unwrap()
            .to_vec1::<f64>()
            .unwrap();
        let step = (original.len() / 5).max(1);
        for i in (0..original.len()).step_by(step) {
            set_element(var, i, original[i] + h);
            let up = loss(&model, &x).to_scalar::<f64>().unwrap();
            set_element(var, i, original[i] - h);
            let down = loss(&model, &x).to_scalar::<f64>().unwrap();
            set_element(var, i, original[i]);
            let numeric = (up - down) / (2.0 * h);
            let tolerance = 1e-5 + 1e-3 * numeric.abs().max(analytic[i].abs());
            assert!(
                (numeric - analytic[i]).abs() < tolerance,
                "{name}[{i}]: autograd {} vs finite difference {numeric}",
                analytic[i]
            );
        }
    }
}

#[test]
fn our_pooling_gradient_is_exact_where_candles_max_pool2d_is_not() {
    // A canary: when candle fixes max_pool2d's backward pass, this fails and the workaround in
    // `pool.rs` can go.
    let dev = Device::Cpu;
    let x = Var::from_tensor(&input(&dev)).unwrap();
    let ours = max_pool_2x2(x.as_tensor()).unwrap().sum_all().unwrap();
    let theirs = x.as_tensor().max_pool2d(2).unwrap().sum_all().unwrap();
    let g_ours = ours.backward().unwrap();
    let g_theirs = theirs.backward().unwrap();
    let total = |g: &candle_core::backprop::GradStore| {
        g.get(x.as_tensor())
            .unwrap()
            .sum_all()
            .unwrap()
            .to_scalar::<f64>()
            .unwrap()
    };
    // Summing pooled maxima has gradient 1 for each of the 2*4*4 window maxima.
    assert_eq!(total(&g_ours), 32.0);
    assert!(
        (total(&g_theirs) - 32.0).abs() > 1.0,
        "candle's max_pool2d gradient now sums to {}: the workaround may be removable",
        total(&g_theirs)
    );
}
