//! Bad input: every case either gets a clear error naming the file, or is handled; none panics.

mod common;

use common::*;

fn edit(input: &std::path::Path, out: &std::path::Path) -> std::process::Output {
    run_edit(input, out, tiny_model(), &["--percentile", "80"])
}

fn assert_clean_error(out: &std::process::Output, names: &str, says: &str) {
    let err = stderr(out);
    assert!(
        !out.status.success(),
        "expected failure, got success: {err}"
    );
    assert!(!err.contains("panicked"), "panicked: {err}");
    assert!(err.contains(names), "error does not name {names}: {err}");
    assert!(
        err.to_lowercase().contains(says),
        "error does not say '{says}': {err}"
    );
}

#[test]
fn missing_file() {
    let dir = scratch("bad-missing");
    let input = dir.join("nope.wav");
    assert_clean_error(
        &edit(&input, &dir.join("o.wav")),
        "nope.wav",
        "no such file",
    );
}

#[test]
fn empty_file() {
    let dir = scratch("bad-empty");
    let input = dir.join("empty.wav");
    std::fs::write(&input, b"").unwrap();
    assert_clean_error(&edit(&input, &dir.join("o.wav")), "empty.wav", "empty");
}

#[test]
fn not_audio() {
    let dir = scratch("bad-text");
    let input = dir.join("notes.flac");
    std::fs::write(&input, "these are my session notes, not audio").unwrap();
    assert_clean_error(
        &edit(&input, &dir.join("o.wav")),
        "notes.flac",
        "not a recognised audio file",
    );
}

#[test]
fn truncated_file() {
    let dir = scratch("bad-truncated");
    let full = dir.join("full.wav");
    let m = music(2.0, 22050, 1);
    write_wav(&full, 22050, &[m.clone(), m], false);
    let bytes = std::fs::read(&full).unwrap();
    let input = dir.join("cut-off.wav");
    std::fs::write(&input, &bytes[..bytes.len() / 2 + 1]).unwrap();
    assert_clean_error(
        &edit(&input, &dir.join("o.wav")),
        "cut-off.wav",
        "truncated",
    );
}

#[test]
fn zero_length_wav() {
    let dir = scratch("bad-zero-length");
    let input = dir.join("zero.wav");
    write_wav(&input, 44100, &[vec![], vec![]], false);
    assert_clean_error(
        &edit(&input, &dir.join("o.wav")),
        "zero.wav",
        "no audio samples",
    );
}

#[test]
fn non_finite_samples_are_repaired_with_a_warning() {
    let dir = scratch("bad-nan");
    let input = dir.join("nan.wav");
    let mut m = music(3.0, 22050, 2);
    for (i, s) in m.iter_mut().enumerate().step_by(97) {
        *s = if i % 2 == 0 { f32::NAN } else { f32::INFINITY };
    }
    write_wav(&input, 22050, &[m], true);
    let out = edit(&input, &dir.join("o.wav"));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("NaN/infinite samples were replaced"));
    let mut reader = hound::WavReader::open(dir.join("o.wav")).unwrap();
    assert!(reader.samples::<i32>().all(|s| s.is_ok()));
}

#[test]
fn odd_lengths_rates_and_channel_counts_are_handled() {
    let dir = scratch("bad-shapes");
    let cases: Vec<(&str, u32, usize, usize)> = vec![
        ("one-sample", 44100, 2, 1),
        ("8k", 8000, 1, 8000 * 3),
        ("384k", 384_000, 2, 384_000 * 2),
        ("mono", 44100, 1, 44100 * 3),
        ("eight-channel", 48000, 8, 48000 * 3),
    ];
    for (name, sr, channels, frames) in cases {
        let input = dir.join(format!("{name}.wav"));
        let m = music(frames as f64 / f64::from(sr) + 0.01, sr, 4);
        let chans: Vec<Vec<f32>> = (0..channels).map(|_| m[..frames].to_vec()).collect();
        write_wav(&input, sr, &chans, false);
        let out_path = dir.join(format!("{name}.out.wav"));
        let out = edit(&input, &out_path);
        assert!(out.status.success(), "{name}: {}", stderr(&out));
        let spec = hound::WavReader::open(&out_path).unwrap().spec();
        assert_eq!(
            (spec.sample_rate, spec.channels as usize),
            (sr, channels),
            "{name}"
        );
    }
}

#[test]
fn missing_or_corrupt_model() {
    let dir = scratch("bad-model");
    let input = dir.join("take.wav");
    write_wav(&input, 22050, &[music(2.0, 22050, 3)], false);
    let out = dir.join("o.wav");
    let missing = dir.join("no-such-model");
    let run = run_edit(&input, &out, &missing, &[]);
    assert_clean_error(&run, "no-such-model", "does not exist");

    let corrupt = dir.join("corrupt-model");
    std::fs::create_dir_all(&corrupt).unwrap();
    std::fs::copy(
        tiny_model().join("config.json"),
        corrupt.join("config.json"),
    )
    .unwrap();
    std::fs::write(
        corrupt.join("model.safetensors"),
        b"\x10\x00\x00\x00garbage",
    )
    .unwrap();
    let run = run_edit(&input, &out, &corrupt, &[]);
    assert_clean_error(&run, "corrupt-model", "safetensors");

    std::fs::write(corrupt.join("config.json"), b"{\"not\": \"a model\"}").unwrap();
    let run = run_edit(&input, &out, &corrupt, &[]);
    assert_clean_error(&run, "corrupt-model", "config");
}

#[test]
fn training_folder_without_edited_files() {
    let dir = scratch("bad-training");
    std::fs::create_dir_all(dir.join("input")).unwrap();
    std::fs::create_dir_all(dir.join("desired_output")).unwrap();
    std::fs::write(dir.join("desired_output/readme.txt"), "nothing here").unwrap();
    let run = cli(&[
        "train",
        dir.to_str().unwrap(),
        "-o",
        dir.join("m").to_str().unwrap(),
    ]);
    assert_clean_error(&run, "desired_output", "no audio files");
    let run = cli(&[
        "train",
        dir.join("input").to_str().unwrap(),
        "-o",
        dir.join("m").to_str().unwrap(),
    ]);
    assert_clean_error(&run, "input", "no desired_output");
}
