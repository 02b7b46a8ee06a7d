//! The command line never loses what the user has: no output over an input, no output named
//! for something it is not, no model folder replaced unasked, no half-written set of outputs,
//! and no silent wrong result from a damaged model or an out-of-range option.

mod common;

use std::path::Path;

use common::*;

fn assert_refused(out: &std::process::Output, says: &str) {
    let err = stderr(out);
    assert!(!out.status.success(), "expected a refusal: {err}");
    assert!(!err.contains("panicked"), "panicked: {err}");
    assert!(err.contains(says), "error does not say '{says}': {err}");
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn an_edit_never_writes_over_its_input() {
    let dir = scratch("safety-input");
    let input = noisy_take(&dir, 1);
    let before = std::fs::read(&input).unwrap();
    for force in [false, true] {
        let extra: &[&str] = if force { &["--force"] } else { &[] };
        let run = run_edit(&input, &input, tiny_model(), extra);
        assert_refused(&run, "is an input");
        // The same file by another spelling of its path.
        let other = dir.join(".").join("raw.wav");
        let run = run_edit(&input, &other, tiny_model(), extra);
        assert_refused(&run, "is an input");
    }
    assert_eq!(std::fs::read(&input).unwrap(), before);
    assert_eq!(files_in(&dir), ["raw.wav"]);
}

#[test]
fn outputs_are_named_for_what_they_hold() {
    let dir = scratch("safety-extension");
    let input = noisy_take(&dir, 2);
    let run = run_edit(&input, &dir.join("x.png"), tiny_model(), &[]);
    assert_refused(&run, "must end in .wav");
    let run = cli(&[
        "align",
        input.to_str().unwrap(),
        input.to_str().unwrap(),
        "-o",
        dir.join("cuts.wav").to_str().unwrap(),
    ]);
    assert_refused(&run, "must end in .json");
    assert_eq!(files_in(&dir), ["raw.wav"]);
}

#[test]
fn existing_outputs_are_replaced_only_with_force() {
    let dir = scratch("safety-existing");
    let input = noisy_take(&dir, 3);
    let out = dir.join("edited.wav");
    std::fs::write(&out, "my earlier edit").unwrap();
    let run = run_edit(&input, &out, tiny_model(), &["--snap", "off"]);
    assert_refused(&run, "--force");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "my earlier edit");
    // Refused before any output was written.
    assert_eq!(files_in(&dir), ["edited.wav", "raw.wav"]);
    let run = run_edit(&input, &out, tiny_model(), &["--snap", "off", "--force"]);
    assert!(run.status.success(), "{}", stderr(&run));
    assert!(hound::WavReader::open(&out).is_ok());
    assert_eq!(
        files_in(&dir),
        [
            "edited.cuts.json",
            "edited.labels.txt",
            "edited.png",
            "edited.regions.csv",
            "edited.rpp",
            "edited.wav",
            "raw.wav"
        ]
    );
}

#[test]
fn an_output_that_cannot_be_written_stops_the_edit_before_anything_is_written() {
    let dir = scratch("safety-unwritable");
    let input = noisy_take(&dir, 4);
    // The plot's name is taken by a folder, so the plot cannot be written.
    std::fs::create_dir(dir.join("edited.png")).unwrap();
    let run = run_edit(&input, &dir.join("edited.wav"), tiny_model(), &["--force"]);
    assert_refused(&run, "edited.png");
    assert_eq!(files_in(&dir), ["edited.png", "raw.wav"]);
}

#[test]
fn a_model_folder_is_replaced_only_with_force_and_keeps_the_users_files() {
    let dir = scratch("safety-train");
    let model = dir.join("mine");
    let run = train_on_tiny_autoencoder(training_folder(), &model, &["--method", "autoencoder"]);
    assert!(run.status.success(), "{}", stderr(&run));
    std::fs::write(model.join("MODEL_CARD.md"), "# my model").unwrap();
    let config = std::fs::read(model.join("config.json")).unwrap();
    let run = train_on_tiny_autoencoder(training_folder(), &model, &["--method", "autoencoder"]);
    assert_refused(&run, "--force");
    assert_eq!(std::fs::read(model.join("config.json")).unwrap(), config);
    let run = train_on_tiny_autoencoder(
        training_folder(),
        &model,
        &["--method", "autoencoder", "--force"],
    );
    assert!(run.status.success(), "{}", stderr(&run));
    assert_eq!(
        std::fs::read_to_string(model.join("MODEL_CARD.md")).unwrap(),
        "# my model"
    );
    // What training measured is the model's own file: written again, not carried over.
    let report = std::fs::read_to_string(model.join("TRAINING.md")).unwrap();
    assert!(report.contains("Method: `autoencoder-mse`"), "{report}");
    assert_eq!(files_in(&dir), ["mine"]);
}

#[test]
fn options_outside_their_range_are_refused_with_the_range() {
    let dir = scratch("safety-options");
    let input = noisy_take(&dir, 5);
    let out = dir.join("edited.wav");
    for (args, says) in [
        (vec!["--keep-ratio", "5"], "at most 1"),
        (vec!["--percentile", "500"], "from 0 to 100"),
        (vec!["--min-keep", "-3"], "0 or more"),
        (vec!["--crossfade=-1"], "0 or more"),
        (vec!["--hop-frames", "0"], "at least 1"),
        (vec!["--threshold", "NaN"], "not a finite number"),
    ] {
        let run = run_edit(&input, &out, tiny_model(), &args);
        assert_refused(&run, says);
    }
    assert_eq!(files_in(&dir), ["raw.wav"]);
}

#[test]
fn a_damaged_model_is_an_error_naming_the_file() {
    let dir = scratch("safety-damaged");
    let input = noisy_take(&dir, 6);
    let model = dir.join("model");
    let run = train_on_tiny_autoencoder(training_folder(), &model, &[]);
    assert!(run.status.success(), "{}", stderr(&run));

    // Weights overwritten with NaN: the safetensors header stays, every value becomes NaN.
    let damaged = dir.join("nan-weights");
    copy_dir(&model, &damaged);
    let path = damaged.join("classifier.safetensors");
    let mut bytes = std::fs::read(&path).unwrap();
    let header = 8 + u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    for chunk in bytes[header..].chunks_exact_mut(4) {
        chunk.copy_from_slice(&f32::NAN.to_le_bytes());
    }
    std::fs::write(&path, bytes).unwrap();
    let run = run_edit(&input, &dir.join("a.wav"), &damaged, &[]);
    assert_refused(&run, "classifier.safetensors");

    // A part of the model deleted: an error, not another method.
    let partial = dir.join("no-classifier");
    copy_dir(&model, &partial);
    std::fs::remove_file(partial.join("classifier.json")).unwrap();
    let run = run_edit(&input, &dir.join("b.wav"), &partial, &[]);
    assert_refused(&run, "classifier.json is missing");
    assert!(!dir.join("a.wav").exists() && !dir.join("b.wav").exists());
}

#[test]
fn training_files_without_a_partner_are_named_in_a_warning() {
    let dir = scratch("safety-unmatched");
    let data = dir.join("data");
    for sub in ["input", "desired_output"] {
        std::fs::create_dir_all(data.join(sub)).unwrap();
    }
    let good = music(6.0, 22050, 1);
    let mut raw = noise(2.0, 22050, 2);
    raw.extend_from_slice(&good);
    write_wav(
        &data.join("desired_output/song.wav"),
        22050,
        std::slice::from_ref(&good),
        false,
    );
    write_wav(&data.join("input/song.wav"), 22050, &[raw.clone()], false);
    write_wav(&data.join("input/song take 2.wav"), 22050, &[raw], false);
    let run = train_on_tiny_autoencoder(&data, &dir.join("model"), &["--method", "autoencoder"]);
    assert!(run.status.success(), "{}", stderr(&run));
    let err = stderr(&run);
    assert!(
        err.contains("song take 2.wav has no edit of the same name"),
        "{err}"
    );
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}
