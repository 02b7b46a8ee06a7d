//! The dual autoencoder: its score is the edited decoder's error minus the raw decoder's, on
//! every path that scores, and models without a raw decoder are unchanged.

use candle_core::{DType, Device, Tensor};

use super::{Autoencoder, ModelConfig, SegmentMeasure, CONFIG_FILE, WEIGHTS_FILE};
use crate::engine::features::{FeatureConfig, FeatureStats, LogMel};
use crate::engine::slicer::{Slicer, METHOD_DUAL_AUTOENCODER, METHOD_RECONSTRUCTION};

const MELS: usize = 8;
const FRAMES: usize = 8;

fn config(raw_decoder: bool) -> ModelConfig {
    let features = FeatureConfig {
        n_mels: MELS,
        ..FeatureConfig::default()
    };
    let stats = FeatureStats {
        mean: vec![0.5; MELS],
        std: vec![2.0; MELS],
    };
    let mut config = ModelConfig::seed_design(features, stats);
    config.segment_frames = FRAMES;
    config.hidden_dims = vec![3, 4];
    config.latent_dim = 3;
    config.raw_decoder = raw_decoder;
    config
}

fn values(n: usize) -> Vec<f32> {
    (0..n)
        .map(|i| ((i as f32 * 0.7311).sin() * 1.7 + (i as f32 * 0.1).cos()) * 0.9)
        .collect()
}

/// Mean squared difference of each segment, computed by hand.
fn per_segment_mse(reconstruction: &Tensor, x: &Tensor) -> Vec<f32> {
    let r = reconstruction
        .flatten_all()
        .unwrap()
        .to_vec1::<f32>()
        .unwrap();
    let x = x.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    let cells = MELS * FRAMES;
    r.chunks(cells)
        .zip(x.chunks(cells))
        .map(|(a, b)| a.iter().zip(b).map(|(p, q)| (p - q).powi(2)).sum::<f32>() / cells as f32)
        .collect()
}

fn to_vec(t: Tensor) -> Vec<f32> {
    t.to_vec1::<f32>().unwrap()
}

fn assert_close(a: &[f32], b: &[f32]) {
    assert_eq!(a.len(), b.len());
    for (p, q) in a.iter().zip(b) {
        assert!((p - q).abs() < 1e-4 * (1.0 + q.abs()), "{a:?} vs {b:?}");
    }
}

#[test]
fn score_is_edited_error_minus_raw_error() {
    let model = Autoencoder::new(config(true), DType::F32, 5).unwrap();
    assert!(model.has_raw_decoder());
    let x = Tensor::from_vec(
        values(3 * MELS * FRAMES),
        (3, 1, MELS, FRAMES),
        &Device::Cpu,
    )
    .unwrap();
    let z = model.encode(&x).unwrap();
    let edited = per_segment_mse(&model.decode(&z).unwrap(), &x);
    let raw = per_segment_mse(&model.decode_raw(&z).unwrap(), &x);
    // The two decoders start from different weights, so a score that ignored one of them
    // would not pass.
    assert!(edited.iter().zip(&raw).all(|(e, r)| (e - r).abs() > 1e-3));
    let expected: Vec<f32> = edited.iter().zip(&raw).map(|(e, r)| e - r).collect();
    let measure = |m| to_vec(model.measure(&x, m).unwrap());
    assert_close(&measure(SegmentMeasure::EditedError), &edited);
    assert_close(&measure(SegmentMeasure::RawError), &raw);
    assert_close(&measure(SegmentMeasure::Score), &expected);
}

#[test]
fn slicer_scores_a_dual_autoencoder_by_the_difference() {
    let model = Autoencoder::new(config(true), DType::F32, 9).unwrap();
    // Two segments at a hop of FRAMES: frames 0..8 and 8..16 of an unnormalised spectrogram.
    let spec = LogMel {
        n_mels: MELS,
        frame_rate: 10.0,
        data: values(2 * FRAMES * MELS),
    };
    let mut normalised = spec.clone();
    model.config().stats.apply(&mut normalised);
    let segment = |first: usize| {
        // Frame-major spectrogram to the network's [1, 1, mels, frames] layout.
        let v: Vec<f32> = (0..MELS)
            .flat_map(|m| (0..FRAMES).map(move |t| (m, t)))
            .map(|(m, t)| normalised.data[(first + t) * MELS + m])
            .collect();
        Tensor::from_vec(v, (1, 1, MELS, FRAMES), &Device::Cpu).unwrap()
    };
    let expected: Vec<f32> = [0, FRAMES]
        .iter()
        .map(|&first| {
            let x = segment(first);
            let z = model.encode(&x).unwrap();
            per_segment_mse(&model.decode(&z).unwrap(), &x)[0]
                - per_segment_mse(&model.decode_raw(&z).unwrap(), &x)[0]
        })
        .collect();
    let slicer = Slicer::reconstruction_only(model)
        .with_hop_frames(FRAMES)
        .unwrap();
    assert_eq!(slicer.method(), METHOD_DUAL_AUTOENCODER);
    let timeline = slicer.score_log_mel(&spec, 1.6).unwrap();
    let scores: Vec<f32> = timeline.segments.iter().map(|s| s.score as f32).collect();
    assert_close(&scores, &expected);
}

#[test]
fn a_single_decoder_model_scores_by_its_error_and_has_no_raw_decoder() {
    let model = Autoencoder::new(config(false), DType::F32, 5).unwrap();
    assert!(!model.has_raw_decoder());
    assert!(model
        .varmap()
        .data()
        .lock()
        .unwrap()
        .keys()
        .all(|k| !k.starts_with("raw_dec")));
    let x = Tensor::from_vec(
        values(2 * MELS * FRAMES),
        (2, 1, MELS, FRAMES),
        &Device::Cpu,
    )
    .unwrap();
    let errors = to_vec(model.segment_errors(&x).unwrap());
    assert_eq!(
        to_vec(model.measure(&x, SegmentMeasure::Score).unwrap()),
        errors
    );
    assert!(model.measure(&x, SegmentMeasure::RawError).is_err());
    assert_eq!(
        Slicer::reconstruction_only(model).method(),
        METHOD_RECONSTRUCTION
    );
}

#[test]
fn old_configs_load_and_dual_models_round_trip() {
    let dir = std::env::temp_dir().join(format!("audio-slicer-dual-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    // A single-decoder model is saved as before: no raw_decoder field, and it loads back.
    let plain = Autoencoder::new(config(false), DType::F32, 1).unwrap();
    plain.save(&dir).unwrap();
    let text = std::fs::read_to_string(dir.join(CONFIG_FILE)).unwrap();
    assert!(!text.contains("raw_decoder"));
    let plain_weights = std::fs::read(dir.join(WEIGHTS_FILE)).unwrap();
    assert!(!Autoencoder::from_bytes(&text, &plain_weights)
        .unwrap()
        .has_raw_decoder());
    // A dual model keeps its raw decoder through a save and a load.
    let dual = Autoencoder::new(config(true), DType::F32, 1).unwrap();
    dual.save(&dir).unwrap();
    let loaded = Autoencoder::from_checkpoint(&dir).unwrap();
    assert!(loaded.has_raw_decoder());
    let x = Tensor::from_vec(values(MELS * FRAMES), (1, 1, MELS, FRAMES), &Device::Cpu).unwrap();
    assert_eq!(
        to_vec(loaded.measure(&x, SegmentMeasure::Score).unwrap()),
        to_vec(dual.measure(&x, SegmentMeasure::Score).unwrap())
    );
    // A dual config with single-decoder weights fails clearly instead of half-loading.
    let dual_text = std::fs::read_to_string(dir.join(CONFIG_FILE)).unwrap();
    let err = Autoencoder::from_bytes(&dual_text, &plain_weights)
        .err()
        .expect("missing raw decoder weights are an error");
    assert!(format!("{err:#}").contains("raw_dec."), "{err:#}");
    let _ = std::fs::remove_dir_all(&dir);
}
