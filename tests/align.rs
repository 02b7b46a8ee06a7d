//! `audio-slicer align` end to end, and (ignored) the alignment measured on the development
//! pairs of the benchmark.

mod common;

use std::path::{Path, PathBuf};
use std::time::Instant;

use common::*;
use serde_json::Value;

use audio_slicer::engine::align::align;
use audio_slicer::engine::audio_io::read_audio;
use audio_slicer::engine::timeline::TimeRange;

#[test]
fn align_writes_the_keep_list_and_flags_a_repeat() {
    let dir = scratch("align-cli");
    let sr = 22_050;
    let take = music(6.0, sr, 5);
    let mut raw = noise(2.0, sr, 6);
    raw.extend_from_slice(&take);
    raw.extend(noise(2.0, sr, 7));
    // The edit: the take 6 dB down, then its first two seconds again.
    let mut edited: Vec<f32> = take.iter().map(|s| 0.5 * s).collect();
    edited.extend(take[..2 * sr as usize].iter().map(|s| 0.5 * s));
    let (raw_path, edited_path) = (dir.join("take.wav"), dir.join("take-edit.wav"));
    write_wav(&raw_path, sr, &[raw.clone(), raw], false);
    write_wav(&edited_path, sr, &[edited], true);
    let out = dir.join("lists/take.cuts.json");

    let run = cli(&[
        "align",
        raw_path.to_str().unwrap(),
        edited_path.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(run.status.success(), "{}", stderr(&run));
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(stdout.contains("span  1: raw"), "{stdout}");
    let second = stdout
        .lines()
        .find(|l| l.starts_with("span  2"))
        .unwrap_or("");
    assert!(second.contains("[repeated]"), "{stdout}");
    assert!(stdout.contains("does not keep the raw's order"), "{stdout}");

    let list: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(list["version"], 1);
    assert_eq!(list["model"], "alignment");
    assert_eq!(list["threshold"], 0.0);
    assert_eq!(list["sample_rate"], sr);
    assert_eq!(list["segments"], serde_json::json!([]));
    assert!((list["duration"].as_f64().unwrap() - 10.0).abs() < 1e-3);
    let keep = list["keep"].as_array().unwrap();
    assert_eq!(keep.len(), 1, "{keep:?}");
    assert!(
        (keep[0][0].as_f64().unwrap() - 2.0).abs() <= 0.02,
        "{keep:?}"
    );
    assert!(
        (keep[0][1].as_f64().unwrap() - 8.0).abs() <= 0.02,
        "{keep:?}"
    );
}

#[test]
fn align_says_why_unrelated_files_do_not_align() {
    let dir = scratch("align-cli-unrelated");
    let sr = 22_050;
    let (raw_path, edited_path) = (dir.join("a.wav"), dir.join("b.wav"));
    write_wav(&raw_path, sr, &[music(5.0, sr, 1)], false);
    write_wav(&edited_path, sr, &[noise(3.0, sr, 2)], false);
    let out = dir.join("a.cuts.json");
    let run = cli(&[
        "align",
        raw_path.to_str().unwrap(),
        edited_path.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(!run.status.success());
    let message = stderr(&run);
    assert!(message.contains("cannot align"), "{message}");
    assert!(
        message.contains("no part of the edited file matches"),
        "{message}"
    );
    assert!(!out.exists());
}

/// Scoring resolution of the benchmark, seconds.
const CELL: f64 = 0.01;

/// Kept-class mask of `ranges` on 10 ms cells of `[0, duration]`.
fn mask(ranges: &[TimeRange], duration: f64) -> Vec<bool> {
    let cells = (duration / CELL).round() as usize;
    let mut m = vec![false; cells];
    for r in ranges {
        let a = ((r.start / CELL).round().max(0.0) as usize).min(cells);
        let b = ((r.end / CELL).round().max(0.0) as usize).min(cells);
        m[a..b.max(a)].iter_mut().for_each(|c| *c = true);
    }
    m
}

/// 2TP / (2TP + FP + FN) over the kept class.
fn f1(truth: &[bool], pred: &[bool]) -> f64 {
    let (mut tp, mut fp, mut fn_) = (0usize, 0usize, 0usize);
    for (&t, &p) in truth.iter().zip(pred) {
        match (t, p) {
            (true, true) => tp += 1,
            (false, true) => fp += 1,
            (true, false) => fn_ += 1,
            _ => {}
        }
    }
    if tp + fp + fn_ == 0 {
        1.0
    } else {
        2.0 * tp as f64 / (2 * tp + fp + fn_) as f64
    }
}

/// Largest distance from any boundary of either list to the nearest boundary of the other.
fn boundary_error(truth: &[TimeRange], pred: &[TimeRange]) -> f64 {
    let edges = |rs: &[TimeRange]| rs.iter().flat_map(|r| [r.start, r.end]).collect::<Vec<_>>();
    let (t, p) = (edges(truth), edges(pred));
    let one_way = |from: &[f64], to: &[f64]| {
        from.iter()
            .map(|a| {
                to.iter()
                    .map(|b| (a - b).abs())
                    .fold(f64::INFINITY, f64::min)
            })
            .fold(0.0, f64::max)
    };
    one_way(&t, &p).max(one_way(&p, &t))
}

/// Aligns every development pair in `ALIGN_BENCH_DIR` (default `../shared/bench/dev`) and checks
/// F1 >= 0.99 and boundaries within 20 ms against the truth. Run with
/// `cargo test --release --test align -- --ignored --nocapture`.
#[test]
#[ignore = "needs the benchmark's development pairs; run explicitly, in release"]
fn dev_pairs_align_with_the_truth() {
    let bench = std::env::var_os("ALIGN_BENCH_DIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/bench/dev"),
        PathBuf::from,
    );
    let mut truths: Vec<PathBuf> = std::fs::read_dir(bench.join("truth"))
        .expect("the benchmark's truth folder")
        .map(|e| e.unwrap().path())
        .collect();
    truths.sort();
    assert!(!truths.is_empty());
    let mut failures = Vec::new();
    println!("pair    split  spans  F1      max boundary error  time");
    for path in truths {
        let truth: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let name = truth["name"].as_str().unwrap();
        let split = truth["split"].as_str().unwrap();
        let kept: Vec<TimeRange> = truth["kept"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| TimeRange::new(p[0].as_f64().unwrap(), p[1].as_f64().unwrap()))
            .collect();
        let raw = read_audio(&bench.join(split).join("input").join(format!("{name}.ogg"))).unwrap();
        let edited = read_audio(
            &bench
                .join(split)
                .join("desired_output")
                .join(format!("{name}.ogg")),
        )
        .unwrap();
        let started = Instant::now();
        let alignment = align(&raw, &edited);
        let seconds = started.elapsed().as_secs_f64();
        let Ok(alignment) = alignment else {
            failures.push(format!("{name}: {:#}", alignment.unwrap_err()));
            continue;
        };
        let pred = alignment.kept_ranges(raw.duration());
        let duration = truth["raw_duration"].as_f64().unwrap();
        let score = f1(&mask(&kept, duration), &mask(&pred, duration));
        let error = boundary_error(&kept, &pred);
        println!(
            "{name}  {split:<5}  {:>5}  {score:.4}  {:>8.1} ms         {seconds:.2} s",
            alignment.spans.len(),
            error * 1000.0
        );
        if score < 0.99 || error > 0.02 {
            failures.push(format!(
                "{name}: F1 {score:.4}, boundary error {error:.3} s"
            ));
            let truth_text: Vec<String> = kept
                .iter()
                .map(|r| format!("{:.3}-{:.3}", r.start, r.end))
                .collect();
            println!("  truth {}", truth_text.join(" "));
            for s in &alignment.spans {
                println!(
                    "  span raw {:8.3}-{:8.3}  edited {:8.3}-{:8.3}",
                    s.raw.start, s.raw.end, s.edited.start, s.edited.end
                );
            }
            println!("  unmatched {:.3} s", alignment.unmatched_seconds);
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}
