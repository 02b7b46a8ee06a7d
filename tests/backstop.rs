//! The backstop: what is unlike everything the user kept is cut whatever the classifier says.
//! The shipped default on loud white noise and on music with a burst of it spliced in; and
//! (ignored) how far from the kept audio junk and kept music lie, which sets the limit.
//!
//! `cargo test --release --test backstop -- --ignored --nocapture` prints the limit `train`
//! sets from both sets' training pairs.

mod common;

use std::path::Path;

use common::*;

use audio_slicer::engine::audio_io::read_audio;
use audio_slicer::engine::cut_list::CutList;
use audio_slicer::engine::features::{log_mel_of, LogMelExtractor};
use audio_slicer::engine::pairs::{
    backstop_limit, classifier_geometry, cut_shares, label_pair, local_descriptors_of,
    session_pairs,
};
use audio_slicer::engine::slicer::Slicer;
use audio_slicer::engine::timeline::{overlap_seconds, TimeRange};

/// Full-scale white noise, the same in both channels.
fn loud_noise(seconds: f64, rate: u32, seed: u64) -> Vec<f32> {
    audio_slicer::synth::white_noise(seconds, rate, seed, 1.0)
}

fn shipped() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("models/default")
}

/// The cut ranges of the cut list at `path`.
fn cuts_of(path: &Path) -> Vec<TimeRange> {
    let list: CutList = serde_json::from_value(read_json(path)).unwrap();
    list.cut_ranges()
}

#[test]
fn the_shipped_default_cuts_a_recording_of_loud_noise_whole() {
    let dir = scratch("backstop-noise");
    let input = dir.join("noise.wav");
    let noise = loud_noise(20.0, 22_050, 1);
    write_wav(&input, 22_050, &[noise.clone(), noise], false);
    let run = run_edit(&input, &dir.join("out.wav"), &shipped(), &[]);
    assert!(run.status.success(), "{}", stderr(&run));
    let list = read_json(&dir.join("out.cuts.json"));
    assert!(list["keep"].as_array().unwrap().is_empty(), "{list}");
}

#[test]
fn the_shipped_default_cuts_a_loud_noise_burst_spliced_into_music() {
    let dir = scratch("backstop-burst");
    let rate = 22_050;
    let mut raw = audio_slicer::synth::random_notes(12.0, rate, 2);
    raw.extend(loud_noise(4.0, rate, 3));
    raw.extend(audio_slicer::synth::random_notes(12.0, rate, 4));
    let input = dir.join("burst.wav");
    write_wav(&input, rate, &[raw], false);
    let run = run_edit(&input, &dir.join("out.wav"), &shipped(), &["--snap", "off"]);
    assert!(run.status.success(), "{}", stderr(&run));
    let cuts = cuts_of(&dir.join("out.cuts.json"));
    let burst_cut = overlap_seconds(&cuts, &[TimeRange::new(12.0, 16.0)]);
    assert!(burst_cut >= 3.5, "{cuts:?}");
}

#[test]
#[ignore = "needs the benchmark's pairs; run explicitly, in release"]
fn distances_of_kept_music_and_junk() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let model = Slicer::from_checkpoint(&root.join("models/default")).unwrap();
    let ae = model.autoencoder();
    let (hop, _, _) = classifier_geometry(ae);
    let seg = ae.config().segment_frames;
    let mut kept_rows: Vec<Vec<f32>> = Vec::new();
    let mut cut_rows: Vec<Vec<f32>> = Vec::new();
    let mut kept_maxima: Vec<f32> = Vec::new();
    for set in ["dev", "dev-b"] {
        for pair in session_pairs(&root.join("../shared/bench").join(set).join("train")).unwrap() {
            let rec = label_pair(&pair, &ae.config().features).unwrap();
            let local = local_descriptors_of(ae, &rec.spec, hop).unwrap();
            let shares = cut_shares(&local.starts, seg, rec.spec.frame_rate, &rec.kept);
            // As `train` computes it: the largest error over the segments the edit kept whole.
            kept_maxima.push(
                (0..local.len())
                    .filter(|&i| shares[i] == 0.0)
                    .map(|i| local.row(i)[0])
                    .fold(f32::NEG_INFINITY, f32::max),
            );
            for (i, share) in shares.iter().enumerate() {
                let row = local.row(i).to_vec();
                if *share == 0.0 {
                    kept_rows.push(row);
                } else if *share == 1.0 {
                    cut_rows.push(row);
                }
            }
        }
    }
    println!(
        "per recording, largest kept error: {kept_maxima:?}; backstop limit as train sets it: {:?}",
        backstop_limit(&kept_maxima)
    );
    let dim = kept_rows[0].len();
    let n = kept_rows.len() as f64;
    let mean: Vec<f64> = (0..dim)
        .map(|k| kept_rows.iter().map(|r| f64::from(r[k])).sum::<f64>() / n)
        .collect();
    let std: Vec<f64> = (0..dim)
        .map(|k| {
            (kept_rows
                .iter()
                .map(|r| (f64::from(r[k]) - mean[k]).powi(2))
                .sum::<f64>()
                / n)
                .sqrt()
                .max(1e-6)
        })
        .collect();
    let distance = |r: &[f32]| -> f64 {
        r.iter()
            .enumerate()
            .map(|(k, &x)| ((f64::from(x) - mean[k]) / std[k]).powi(2))
            .sum::<f64>()
            / dim as f64
    };
    let quantiles = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        let q = |p: f64| v[((v.len() - 1) as f64 * p) as usize];
        format!(
            "n {} p50 {:.2} p99 {:.2} p99.9 {:.2} max {:.2}",
            v.len(),
            q(0.5),
            q(0.99),
            q(0.999),
            q(1.0)
        )
    };
    println!(
        "kept: error {}",
        quantiles(kept_rows.iter().map(|r| f64::from(r[0])).collect())
    );
    println!(
        "kept: distance {}",
        quantiles(kept_rows.iter().map(|r| distance(r)).collect())
    );
    println!(
        "cut: error {}",
        quantiles(cut_rows.iter().map(|r| f64::from(r[0])).collect())
    );
    println!(
        "cut: distance {}",
        quantiles(cut_rows.iter().map(|r| distance(r)).collect())
    );
    for probe in std::env::var("BACKSTOP_PROBES")
        .unwrap_or_default()
        .split(',')
    {
        if probe.is_empty() {
            continue;
        }
        let clip = read_audio(Path::new(probe)).unwrap();
        let mut extractor = LogMelExtractor::new(&ae.config().features).unwrap();
        let spec = log_mel_of(&mut extractor, &clip.channels, clip.sample_rate).unwrap();
        let local = local_descriptors_of(ae, &spec, hop).unwrap();
        let rows: Vec<&[f32]> = (0..local.len()).map(|i| local.row(i)).collect();
        println!(
            "{probe}: error {}",
            quantiles(rows.iter().map(|r| f64::from(r[0])).collect())
        );
        println!(
            "{probe}: distance {}",
            quantiles(rows.iter().map(|r| distance(r)).collect())
        );
    }
}
