//! Synthetic fixtures shared by the integration tests: nothing outside the repository is read.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use serde_json::Value;

pub use audio_slicer::synth::plucked_loop as music;

/// Broadband noise, the kind of junk the seed model does find.
pub fn noise(seconds: f64, sample_rate: u32, seed: u64) -> Vec<f32> {
    audio_slicer::synth::white_noise(seconds, sample_rate, seed, 0.3)
}

/// Writes planar channels as a WAV (16-bit or 32-bit float).
pub fn write_wav(path: &Path, sample_rate: u32, channels: &[Vec<f32>], float: bool) {
    let spec = hound::WavSpec {
        channels: channels.len() as u16,
        sample_rate,
        bits_per_sample: if float { 32 } else { 16 },
        sample_format: if float {
            hound::SampleFormat::Float
        } else {
            hound::SampleFormat::Int
        },
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for i in 0..channels.first().map_or(0, Vec::len) {
        for ch in channels {
            if float {
                w.write_sample(ch[i]).unwrap();
            } else {
                w.write_sample((ch[i].clamp(-1.0, 1.0) * 32767.0) as i16)
                    .unwrap();
            }
        }
    }
    w.finalize().unwrap();
}

/// Runs the CLI with `args`.
pub fn cli(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_audio-slicer"))
        .args(args)
        .output()
        .expect("the audio-slicer binary runs")
}

/// Runs `audio-slicer edit INPUT -o OUT -m MODEL` with `extra` options.
pub fn run_edit(input: &Path, out: &Path, model: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "edit",
        input.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "-m",
        model.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    cli(&args)
}

/// A JSON file, parsed.
pub fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// A raw take like the fixture's, written as `dir/raw.wav` (mono, 22.05 kHz): 3 s of noise
/// (seed `seed`), then 8 s of music (seed `seed + 1`).
pub fn noisy_take(dir: &Path, seed: u64) -> PathBuf {
    let mut raw = noise(3.0, 22050, seed);
    raw.extend(music(8.0, 22050, seed + 1));
    let input = dir.join("raw.wav");
    write_wav(&input, 22050, &[raw], false);
    input
}

/// Edits `input` with `model` into `dir/edited.wav` (snapping off) and returns the cut list.
pub fn edit_take(model: &Path, input: &Path, dir: &Path) -> Value {
    let out = dir.join("edited.wav");
    let run = run_edit(input, &out, model, &["--snap", "off"]);
    assert!(run.status.success(), "{}", stderr(&run));
    assert!(out.is_file());
    read_json(&dir.join("edited.cuts.json"))
}

/// stderr of a run, as text.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// This test process's own folder under cargo's test scratch space, so that test binaries run at
/// once (a fuzz loop beside the suite, say) never write over each other's fixtures. Folders of
/// processes that have ended are removed.
pub fn process_root() -> &'static Path {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let base = Path::new(env!("CARGO_TARGET_TMPDIR"));
        let ended =
            |pid: u32| cfg!(target_os = "linux") && !Path::new(&format!("/proc/{pid}")).exists();
        for entry in std::fs::read_dir(base).into_iter().flatten().flatten() {
            let name = entry.file_name();
            let pid = name.to_str().and_then(|n| n.strip_prefix("process-"));
            if pid.and_then(|p| p.parse().ok()).is_some_and(ended) {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
        let root = base.join(format!("process-{}", std::process::id()));
        std::fs::create_dir_all(&root).unwrap();
        root
    })
}

/// A fresh, empty folder `name` in this process's scratch space.
pub fn scratch(name: &str) -> PathBuf {
    let dir = process_root().join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A training folder of synthetic edited sessions (music only), with raw files that add noise.
pub fn training_folder() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = process_root().join("fixture-training-data");
        let _ = std::fs::remove_dir_all(&dir);
        for sub in ["input", "desired_output"] {
            std::fs::create_dir_all(dir.join(sub)).unwrap();
        }
        for i in 0..3u64 {
            let good = music(8.0, 22050, i);
            let mut raw = noise(2.0, 22050, 100 + i);
            raw.extend_from_slice(&good);
            write_wav(
                &dir.join(format!("desired_output/s{i}.wav")),
                22050,
                &[good.clone(), good],
                false,
            );
            write_wav(
                &dir.join(format!("input/s{i}.wav")),
                22050,
                &[raw.clone(), raw],
                false,
            );
        }
        dir
    })
}

/// Trains a tiny network (4 epochs, 32 mels, 4/8 channels, seed 3) with `method` on
/// [`training_folder`] into `out`, through the CLI.
pub fn train_tiny(out: &Path, method: &str) -> Output {
    cli(&[
        "train",
        training_folder().to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--epochs",
        "4",
        "--segments-per-epoch",
        "64",
        "--hidden-dims",
        "4,8",
        "--latent-dim",
        "8",
        "--n-mels",
        "32",
        "--seed",
        "3",
        "--method",
        method,
    ])
}

/// Trains on `folder` into `out` through the CLI, reusing [`tiny_model`]'s autoencoder, with
/// `extra` arguments (a method, `--edited-only`...).
pub fn train_on_tiny_autoencoder(folder: &Path, out: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "train",
        folder.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--autoencoder-from",
        tiny_model().to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    cli(&args)
}

/// A benchmark folder `scratch(name)` with one test take, `test/input/take-1.wav` (3 s of
/// noise, seed `seed`, then 9 s of music, seed `seed + 1`), and its truth: the noise cut.
pub fn bench_with_test_take(name: &str, seed: u64) -> PathBuf {
    let bench = scratch(name);
    for sub in ["test/input", "test/desired_output", "truth"] {
        std::fs::create_dir_all(bench.join(sub)).unwrap();
    }
    let mut raw = noise(3.0, 22050, seed);
    raw.extend(music(9.0, 22050, seed + 1));
    write_wav(&bench.join("test/input/take-1.wav"), 22050, &[raw], false);
    let truth = serde_json::json!({
        "name": "take-1", "split": "test", "raw_duration": 12.0, "kept_ratio": 0.75,
        "kept": [[3.0, 12.0]], "defects": [{"type": "noise", "start": 0.0, "end": 3.0}]
    });
    std::fs::write(bench.join("truth/take-1.json"), truth.to_string()).unwrap();
    bench
}

/// A tiny model trained through the CLI once per test binary.
pub fn tiny_model() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let out = process_root().join("fixture-tiny-model");
        let run = train_tiny(&out, "autoencoder");
        assert!(run.status.success(), "training failed: {}", stderr(&run));
        out
    })
}
