//! Log-mel features against a fixture computed once with librosa (see tests/fixtures/features).

use audio_slicer::engine::features::{mel_filterbank, FeatureConfig, LogMelExtractor};
use serde_json::Value;

fn fixture() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/features/mel_reference.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn rows(v: &Value) -> Vec<Vec<f64>> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap())
                .collect()
        })
        .collect()
}

/// The fixture's test signal, evaluated exactly as its generator documents.
fn signal() -> Vec<f32> {
    use std::f64::consts::PI;
    let sr = 22050.0;
    (0..16384)
        .map(|n| {
            let nf = n as f64;
            let t = nf / sr;
            let mut x = 0.5 * (2.0 * PI * 440.0 * nf / sr).sin()
                + 0.25 * (2.0 * PI * 1250.5 * nf / sr + 0.3).sin()
                + 0.1 * (2.0 * PI * (100.0 * t + 2000.0 * t * t)).sin();
            if (8000..8200).contains(&n) {
                x += 0.3 * (2.0 * PI * 5000.0 * t).sin();
            }
            x as f32
        })
        .collect()
}

#[test]
fn signal_matches_the_fixture_generator() {
    let head: Vec<f64> = fixture()["signal_head"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    let ours = signal();
    for (a, b) in ours.iter().zip(&head) {
        assert_eq!(*a, *b as f32);
    }
}

#[test]
fn mel_filterbank_matches_librosa() {
    let reference = rows(&fixture()["mel_filterbank"]);
    let ours = mel_filterbank(&FeatureConfig::default());
    assert_eq!(ours.len(), reference.len());
    for (m, (a, b)) in ours.iter().zip(&reference).enumerate() {
        assert_eq!(a.len(), b.len());
        for (k, (x, y)) in a.iter().zip(b).enumerate() {
            assert!(
                (f64::from(*x) - y).abs() <= 1e-6 * y.abs().max(1e-3),
                "band {m} bin {k}: {x} vs {y}"
            );
        }
    }
}

#[test]
fn log_mel_matches_librosa() {
    let fx = fixture();
    let reference = rows(&fx["log_mel"]);
    let mut extractor = LogMelExtractor::new(&FeatureConfig::default()).unwrap();
    let ours = extractor.compute(&signal());
    assert_eq!(ours.frames(), reference.len());
    let mut worst: f64 = 0.0;
    for (t, row) in reference.iter().enumerate() {
        for (m, y) in row.iter().enumerate() {
            worst = worst.max((f64::from(ours.frame(t)[m]) - y).abs());
        }
    }
    // f32 arithmetic against an f64 reference: values near the log floor differ most.
    assert!(worst < 1e-3, "largest deviation {worst}");
}
