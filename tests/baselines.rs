//! The seed's baselines through the command line, on synthetic sessions: the binary file
//! classifier and the dual autoencoder train, load, report their method, score and edit.

mod common;

use std::path::Path;

use common::*;
use serde_json::Value;

/// Scores `input` with `model` into `dir` and returns the scores file.
fn score(model: &Path, input: &Path, dir: &Path) -> Value {
    let run = cli(&[
        "score",
        input.to_str().unwrap(),
        "-m",
        model.to_str().unwrap(),
        "-o",
        dir.to_str().unwrap(),
    ]);
    assert!(run.status.success(), "{}", stderr(&run));
    read_json(&dir.join("raw.scores.json"))
}

#[test]
fn file_classifier_learns_from_whole_files_and_edits() {
    let out = scratch("train-file-classifier").join("m");
    let run = train_on_tiny_autoencoder(training_folder(), &out, &["--method", "file-classifier"]);
    assert!(run.status.success(), "{}", stderr(&run));
    assert!(String::from_utf8_lossy(&run.stdout).contains("method: file-classifier"));
    let clf = read_json(&out.join("classifier.json"));
    assert_eq!(clf["labels"], "whole-files");
    assert_eq!(clf["threshold"], 0.5);

    let dir = scratch("use-file-classifier");
    let input = noisy_take(&dir, 91);
    let scores = score(&out, &input, &dir);
    assert_eq!(scores["method"], "file-classifier");
    assert_eq!(scores["threshold"], 0.5);
    // Scores are cut probabilities. (Which segments score high is not asserted: on these
    // sessions the classifier learns the recording-level descriptors that tell a raw file
    // from an edit, and scores a whole raw take as "cut", the seed's failure.)
    let segments = scores["segments"].as_array().unwrap();
    assert!(segments.len() > 50);
    assert!(segments
        .iter()
        .all(|s| (0.0..=1.0).contains(&s["score"].as_f64().unwrap())));
    let list = edit_take(&out, &input, &dir);
    assert_eq!(list["threshold"], 0.5);
}

#[test]
fn dual_autoencoder_trains_two_decoders_and_edits() {
    let out = scratch("train-dual").join("m");
    let run = train_tiny(&out, "dual-autoencoder");
    assert!(run.status.success(), "{}", stderr(&run));
    assert!(String::from_utf8_lossy(&run.stdout).contains("method: dual-autoencoder"));
    assert!(!out.join("classifier.json").exists());
    let config = read_json(&out.join("config.json"));
    assert_eq!(config["method"], "dual-autoencoder");
    assert_eq!(config["raw_decoder"], true);
    let info = &config["training"];
    // The raw take of each held-out edit is held out too.
    let stems = |key: &str| -> Vec<String> {
        info[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().trim_end_matches(".wav").to_owned())
            .collect()
    };
    assert_eq!(stems("raw_validation_files"), stems("validation_files"));
    assert_eq!(stems("raw_train_files").len(), 2);
    let threshold = config["calibration"]["percentiles"][7][1].as_f64().unwrap();

    let dir = scratch("use-dual");
    let input = noisy_take(&dir, 91);
    let scores = score(&out, &input, &dir);
    assert_eq!(scores["method"], "dual-autoencoder");
    assert!((scores["threshold"].as_f64().unwrap() - threshold).abs() < 1e-9);
    let list = edit_take(&out, &input, &dir);
    assert!(list["keep"].as_array().is_some());
}

#[test]
fn baselines_reject_folders_and_options_they_cannot_use() {
    // No input/ folder: the file classifier has no raw files to label "cut".
    let edited_only = scratch("edited-only-folder");
    std::fs::create_dir_all(edited_only.join("desired_output")).unwrap();
    write_wav(
        &edited_only.join("desired_output/a.wav"),
        22050,
        &[music(4.0, 22050, 1)],
        false,
    );
    let run = train_on_tiny_autoencoder(
        &edited_only,
        &edited_only.join("m"),
        &["--method", "file-classifier"],
    );
    assert!(!run.status.success());
    let err = stderr(&run);
    assert!(err.contains("no input/ folder"), "{err}");
    assert!(!err.contains("panicked"), "{err}");

    let run = train_on_tiny_autoencoder(
        training_folder(),
        &scratch("dual-from").join("m"),
        &["--method", "dual-autoencoder"],
    );
    assert!(!run.status.success());
    assert!(
        stderr(&run).contains("--autoencoder-from"),
        "{}",
        stderr(&run)
    );

    let run = cli(&[
        "train",
        training_folder().to_str().unwrap(),
        "--method",
        "file-classifier",
        "--edited-only",
    ]);
    assert!(!run.status.success());
    assert!(
        stderr(&run).contains("cannot be used with"),
        "{}",
        stderr(&run)
    );
}

#[test]
fn evaluate_trains_the_method_it_is_given() {
    let bench = bench_with_test_take("bench-method", 31);
    for sub in ["train/input", "train/desired_output"] {
        std::fs::create_dir_all(bench.join(sub)).unwrap();
    }
    for sub in ["input", "desired_output"] {
        for entry in std::fs::read_dir(training_folder().join(sub)).unwrap() {
            let path = entry.unwrap().path();
            std::fs::copy(
                &path,
                bench
                    .join("train")
                    .join(sub)
                    .join(path.file_name().unwrap()),
            )
            .unwrap();
        }
    }
    let out = bench.join("out");
    let run = cli(&[
        "evaluate",
        bench.to_str().unwrap(),
        "--method",
        "file-classifier",
        "--autoencoder-from",
        tiny_model().to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--snap",
        "off",
    ]);
    assert!(run.status.success(), "{}", stderr(&run));
    let clf = read_json(&out.join("model/classifier.json"));
    assert_eq!(clf["labels"], "whole-files");
    let report = read_json(&out.join("report.json"));
    assert_eq!(report["pairs"], 1);

    // Without truth/, evaluate cross-validates the pair classifier only, and says so.
    let run = cli(&[
        "evaluate",
        training_folder().to_str().unwrap(),
        "--method",
        "dual-autoencoder",
        "-o",
        scratch("crossval-dual").to_str().unwrap(),
    ]);
    assert!(!run.status.success());
    let err = stderr(&run);
    assert!(
        err.contains("cross-validates") && err.contains("dual-autoencoder"),
        "{err}"
    );
}
