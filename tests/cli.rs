//! The command line end to end, on synthetic sessions: train, score, edit, and bad input.

mod common;

use common::*;

#[test]
fn train_writes_a_calibrated_reproducible_model() {
    let model = tiny_model();
    let config = read_json(&model.join("config.json"));
    assert_eq!(config["method"], "autoencoder-mse");
    assert_eq!(config["hidden_dims"], serde_json::json!([4, 8]));
    let calibration = &config["calibration"];
    assert!(calibration["segments"].as_u64().unwrap() > 0);
    assert_eq!(calibration["percentiles"].as_array().unwrap().len(), 10);
    // Only edited files are read: none of the raw names appear as training files.
    let info = &config["training"];
    let names: Vec<&str> = info["train_files"]
        .as_array()
        .unwrap()
        .iter()
        .chain(info["validation_files"].as_array().unwrap())
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 3);

    // The same seed gives the same weights.
    let again = scratch("train-again").join("m");
    let run = train_tiny(&again, "autoencoder");
    assert!(run.status.success(), "{}", stderr(&run));
    assert_eq!(
        std::fs::read(model.join("model.safetensors")).unwrap(),
        std::fs::read(again.join("model.safetensors")).unwrap()
    );
}

#[test]
fn edit_cuts_the_noise_and_writes_every_sidecar() {
    let dir = scratch("edit");
    let sr = 44100;
    let mut raw = music(6.0, sr, 11);
    let noise_start = raw.len();
    raw.extend(noise(4.0, sr, 12));
    let noise_end = raw.len();
    raw.extend(music(6.0, sr, 13));
    let input = dir.join("raw.wav");
    write_wav(&input, sr, &[raw.clone(), raw.clone()], false);
    let out = dir.join("edited.wav");
    let run = run_edit(
        &input,
        &out,
        tiny_model(),
        &["--keep-ratio", "0.75", "--snap", "off", "--min-keep", "1"],
    );
    assert!(run.status.success(), "{}", stderr(&run));

    let list = read_json(&dir.join("edited.cuts.json"));
    for key in [
        "version",
        "source",
        "sample_rate",
        "duration",
        "keep",
        "segments",
        "threshold",
        "model",
    ] {
        assert!(list.get(key).is_some(), "cut list lacks {key}");
    }
    assert_eq!(list["version"], 1);
    assert_eq!(list["sample_rate"], sr);
    let keep: Vec<(f64, f64)> = list["keep"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| (k[0].as_f64().unwrap(), k[1].as_f64().unwrap()))
        .collect();
    let (ns, ne) = (noise_start as f64 / sr as f64, noise_end as f64 / sr as f64);
    let kept_noise: f64 = keep
        .iter()
        .map(|&(a, b)| (b.min(ne) - a.max(ns)).max(0.0))
        .sum();
    assert!(
        kept_noise < 1.0,
        "kept {kept_noise:.2} s of the 4 s noise burst: {keep:?}"
    );

    // The audio is the kept ranges joined: same rate and channels, matching length.
    let reader = hound::WavReader::open(&out).unwrap();
    let spec = reader.spec();
    assert_eq!(
        (spec.sample_rate, spec.channels, spec.bits_per_sample),
        (44100, 2, 24)
    );
    let kept: f64 = keep.iter().map(|&(a, b)| b - a).sum();
    let frames = reader.duration() as f64 / sr as f64;
    assert!((frames - kept).abs() < 0.01, "{frames} vs {kept}");

    let labels = std::fs::read_to_string(dir.join("edited.labels.txt")).unwrap();
    assert!(labels.lines().count() >= 1 && labels.contains('\t'));
    let regions = std::fs::read_to_string(dir.join("edited.regions.csv")).unwrap();
    assert!(regions.starts_with("#,Name,Start,End,Length"));
    // The REAPER project holds one item per kept piece, each a window onto the raw file.
    let rpp = std::fs::read_to_string(dir.join("edited.rpp")).unwrap();
    assert_eq!(rpp.matches("<ITEM").count(), keep.len());
    let raw = std::fs::canonicalize(&input).unwrap();
    assert!(
        rpp.contains(&format!("FILE \"{}\"", raw.display())),
        "{rpp}"
    );
    let png = std::fs::read(dir.join("edited.png")).unwrap();
    assert_eq!(&png[1..4], b"PNG");
}

#[test]
fn score_writes_json_csv_and_plot() {
    let dir = scratch("score");
    let input = dir.join("take.wav");
    let m = music(5.0, 22050, 5);
    write_wav(&input, 22050, &[m], true);
    let run = cli(&[
        "score",
        input.to_str().unwrap(),
        "-m",
        tiny_model().to_str().unwrap(),
        "-o",
        dir.to_str().unwrap(),
    ]);
    assert!(run.status.success(), "{}", stderr(&run));
    let scores = read_json(&dir.join("take.scores.json"));
    let segments = scores["segments"].as_array().unwrap();
    assert!(segments.len() > 10);
    // A quarter-segment hop: consecutive segments overlap by three quarters.
    let (s0, s1) = (&segments[0], &segments[1]);
    let hop = s1["start"].as_f64().unwrap() - s0["start"].as_f64().unwrap();
    let len = s0["end"].as_f64().unwrap() - s0["start"].as_f64().unwrap();
    assert!((hop * 4.0 - len).abs() < 1e-6);
    let csv = std::fs::read_to_string(dir.join("take.scores.csv")).unwrap();
    assert_eq!(csv.lines().count(), segments.len() + 1);
    assert!(dir.join("take.scores.png").is_file());
}

#[test]
fn evaluate_scores_edits_of_a_benchmark_folder() {
    let bench = bench_with_test_take("bench", 21);
    let out = bench.join("out");
    let run = cli(&[
        "evaluate",
        bench.to_str().unwrap(),
        "-m",
        tiny_model().to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--keep-ratio",
        "0.75",
        "--snap",
        "off",
    ]);
    assert!(run.status.success(), "{}", stderr(&run));
    let report = read_json(&out.join("report.json"));
    assert_eq!(report["pairs"], 1);
    // The noise burst is the worst-scoring quarter: most of it is cut.
    assert!(
        report["recall_by_type"]["noise"].as_f64().unwrap() > 0.7,
        "{report}"
    );
    assert!(report["cut_f1"].as_f64().unwrap() > 0.6, "{report}");
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(stdout.contains("cut F1"));
    assert!(out.join("cuts/take-1.cuts.json").is_file());
}

#[test]
fn training_with_raw_files_learns_from_the_pairs() {
    let out = scratch("train-pairs").join("m");
    let run = train_on_tiny_autoencoder(training_folder(), &out, &[]);
    assert!(run.status.success(), "{}", stderr(&run));
    assert!(String::from_utf8_lossy(&run.stdout).contains("method: pair-classifier"));
    let clf = read_json(&out.join("classifier.json"));
    let t = clf["threshold"].as_f64().unwrap();
    assert!(t > 0.0 && t < 1.0);
    // Three pairs, each held out in turn: the figures are printed and kept with the model.
    let validation = &clf["cross_validation"];
    assert_eq!(validation["folds"], 3, "{clf}");
    assert_eq!(
        validation["music_lost_per_fold"].as_array().unwrap().len(),
        3
    );
    let f1 = validation["cut_f1"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&f1), "{f1}");
    assert!(String::from_utf8_lossy(&run.stdout).contains("cross-validated on your pairs (3 folds"));
    assert!(out.join("classifier.safetensors").is_file());
    // The figures are written beside the model too, fold by fold.
    let report = std::fs::read_to_string(out.join("TRAINING.md")).unwrap();
    let per_fold: Vec<String> = validation["music_lost_per_fold"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| format!("{:.1} %", 100.0 * m.as_f64().unwrap()))
        .collect();
    assert!(
        report.contains(&format!("(per fold: {})", per_fold.join(", "))),
        "{report}"
    );
    assert!(report.contains(&format!("cut F1 {f1:.3}")), "{report}");
    // Each raw file opens with 2 s of noise that its edit dropped: the learned model cuts it.
    let dir = scratch("edit-pairs");
    let list = edit_take(&out, &noisy_take(&dir, 77), &dir);
    let first = list["keep"][0][0].as_f64().unwrap();
    assert!(first > 2.0 && first < 3.6, "keep starts at {first}: {list}");
    // A classifier counts its context in segments at the step it was trained at: another
    // step is refused with the reason, and nothing is written.
    let out_wav = dir.join("other-hop.wav");
    let run = run_edit(
        &noisy_take(&dir, 78),
        &out_wav,
        &out,
        &["--hop-frames", "4"],
    );
    assert!(!run.status.success());
    let err = stderr(&run);
    assert!(
        err.contains("--hop-frames 4") && err.contains("the step it was trained at"),
        "{err}"
    );
    assert!(!out_wav.exists() && !dir.join("other-hop.cuts.json").exists());
}

#[test]
fn edits_at_two_hops_score_and_plan_at_each() {
    let dir = scratch("edit-hops");
    let sr = 22050;
    let mut raw = music(6.0, sr, 21);
    let (ns, ne) = (raw.len() as f64 / f64::from(sr), 10.0);
    raw.extend(noise(4.0, sr, 22));
    raw.extend(music(6.0, sr, 23));
    let input = dir.join("raw.wav");
    write_wav(&input, sr, &[raw], false);
    let mut steps = Vec::new();
    for hop in ["4", "16"] {
        let out = dir.join(format!("hop{hop}.wav"));
        let args = ["--keep-ratio", "0.75", "--snap", "off", "--min-keep", "1"];
        let run = run_edit(
            &input,
            &out,
            tiny_model(),
            &[&args[..], &["--hop-frames", hop]].concat(),
        );
        assert!(run.status.success(), "{}", stderr(&run));
        let list = read_json(&dir.join(format!("hop{hop}.cuts.json")));
        let segments = list["segments"].as_array().unwrap();
        let start = |i: usize| segments[i]["start"].as_f64().unwrap();
        steps.push(start(1) - start(0));
        // The plan follows the scores at either step: the noise burst is cut.
        let kept_noise: f64 = list["keep"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| (k[1].as_f64().unwrap().min(ne) - k[0].as_f64().unwrap().max(ns)).max(0.0))
            .sum();
        assert!(
            kept_noise < 1.0,
            "hop {hop}: kept {kept_noise:.2} s of noise: {list}"
        );
    }
    assert!((steps[1] - 4.0 * steps[0]).abs() < 1e-6, "{steps:?}");
}

#[test]
fn a_take_and_the_same_take_repeated_keep_the_same_share_of_every_copy() {
    let model = scratch("length-model").join("m");
    let run = train_on_tiny_autoencoder(training_folder(), &model, &[]);
    assert!(run.status.success(), "{}", stderr(&run));
    // Mostly junk, so that a median of the recording alone would call the noise normal.
    let mut take = noise(6.0, 22050, 41);
    take.extend(music(5.0, 22050, 42));
    // Whole classifier steps (8 hops of 256 samples), so every copy is cut into the same
    // segments.
    take.truncate(take.len() / 2048 * 2048);
    let copy_seconds = take.len() as f64 / 22050.0;
    // Seconds kept of each copy.
    let kept_per_copy = |copies: usize| -> Vec<f64> {
        let dir = scratch(&format!("length-{copies}"));
        let input = dir.join("raw.wav");
        write_wav(&input, 22050, &[take.repeat(copies)], false);
        let list = edit_take(&model, &input, &dir);
        let keep: Vec<(f64, f64)> = list["keep"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| (k[0].as_f64().unwrap(), k[1].as_f64().unwrap()))
            .collect();
        (0..copies)
            .map(|c| {
                let (lo, hi) = (c as f64 * copy_seconds, (c + 1) as f64 * copy_seconds);
                let kept: f64 = keep
                    .iter()
                    .map(|&(a, b)| (b.min(hi) - a.max(lo)).max(0.0))
                    .sum();
                kept
            })
            .collect()
    };
    // Copies near either end of a recording have other neighbours than those in the middle;
    // a copy the same distance from an end has the same neighbours in a short recording and
    // a long one.
    // Both over two minutes, so the prior counts for half of each recording's segments.
    let short = kept_per_copy(12);
    let long = kept_per_copy(24);
    let middle = short[2] / copy_seconds;
    assert!(
        middle > 0.2 && middle < 0.7,
        "the middle copy keeps {middle}: the noise is cut"
    );
    let same_as = |c: usize| match c {
        0 | 1 => short[c],
        22 | 23 => short[c - 12],
        _ => short[2],
    };
    // Where scores sit at the threshold a boundary may tip by a step either way, even between
    // copies within one recording, so a copy may keep up to one segment (0.74 s) more or less
    // than its counterpart; a median that the noise outweighed would keep all 6 s of it.
    for (c, kept) in long.iter().enumerate() {
        assert!(
            (kept - same_as(c)).abs() <= 0.75,
            "copy {c} of 24 keeps {kept} s, its counterpart of 12 {} s",
            same_as(c)
        );
    }
}

#[test]
fn evaluate_cross_validates_a_users_own_training_folder() {
    let out = scratch("crossval");
    let run = cli(&[
        "evaluate",
        training_folder().to_str().unwrap(),
        "--autoencoder-from",
        tiny_model().to_str().unwrap(),
        "--folds",
        "3",
        "-o",
        out.to_str().unwrap(),
        "--snap",
        "off",
    ]);
    assert!(run.status.success(), "{}", stderr(&run));
    let report = read_json(&out.join("report.json"));
    assert_eq!(report["pairs"], 3);
    // Each held-out raw opens with 2 s of noise its edit dropped; the other pairs teach that.
    assert!(report["cut_recall"].as_f64().unwrap() > 0.7, "{report}");
    assert!(report["music_lost"].as_f64().unwrap() < 0.1, "{report}");
    assert!(String::from_utf8_lossy(&run.stdout).contains("Cross-validation"));
    // Every held-out edit is kept, with its segment scores, for the user to inspect.
    let lists: Vec<_> = std::fs::read_dir(out.join("cuts")).unwrap().collect();
    assert_eq!(lists.len(), 3);
    for entry in lists {
        let list = read_json(&entry.unwrap().path());
        assert!(!list["keep"].as_array().unwrap().is_empty(), "{list}");
        assert!(!list["segments"].as_array().unwrap().is_empty(), "{list}");
    }
}

#[test]
fn edited_files_alone_learn_a_novelty_score_that_cuts_what_edits_never_contain() {
    let out = scratch("train-novelty").join("m");
    let run = train_on_tiny_autoencoder(training_folder(), &out, &["--edited-only"]);
    assert!(run.status.success(), "{}", stderr(&run));
    assert!(String::from_utf8_lossy(&run.stdout).contains("method: edited-novelty"));
    assert!(out.join("novelty.json").is_file());
    assert!(!out.join("classifier.json").exists());
    // Noise never occurs in the edits, so it lies far from them and is cut.
    let dir = scratch("edit-novelty");
    let list = edit_take(&out, &noisy_take(&dir, 91), &dir);
    // Its short context spreads the score, so the cut may run a little into the music.
    let first = list["keep"][0][0].as_f64().unwrap();
    assert!(first > 2.5 && first < 5.0, "keep starts at {first}: {list}");
}

#[test]
fn long_commands_show_progress_when_piped_and_nothing_but_problems_when_quiet() {
    let dir = scratch("progress");
    let input = noisy_take(&dir, 9);
    let run = run_edit(
        &input,
        &dir.join("a.wav"),
        tiny_model(),
        &["--progress", "plain"],
    );
    assert!(run.status.success(), "{}", stderr(&run));
    // Piped output gets plain lines, the last one at the end of scoring.
    let err = stderr(&run);
    let last = err
        .lines()
        .rfind(|l| l.starts_with("segments scored:"))
        .unwrap_or_else(|| panic!("no progress line: {err}"));
    assert!(last.contains("(100 %)"), "{last}");
    let run = run_edit(&input, &dir.join("b.wav"), tiny_model(), &["--quiet"]);
    assert!(run.status.success(), "{}", stderr(&run));
    assert!(run.stdout.is_empty() && run.stderr.is_empty());
    assert!(dir.join("b.wav").is_file());
}
