//! `audio-slicer align` end to end, and (ignored) the alignment measured on the development
//! pairs of the benchmark.

mod common;

use std::path::{Path, PathBuf};
use std::time::Instant;

use audio_slicer::engine::align::align;
use audio_slicer::engine::audio_io::read_audio;
use audio_slicer::engine::timeline::TimeRange;

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
            .map(|a| to.iter().map(|b| (a - b).abs()).fold(f64::INFINITY, f64::min))
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
            failures.push(format!("{name}: F1 {score:.4}, boundary error {error:.3} s"));
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

#[test]
#[ignore]
fn debug_one() {
    let name = std::env::var("PAIR").unwrap();
    let split = std::env::var("SPLIT").unwrap_or("test".into());
    let bench = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/bench/dev");
    let raw = read_audio(&bench.join(&split).join("input").join(format!("{name}.ogg"))).unwrap();
    let edited = read_audio(&bench.join(&split).join("desired_output").join(format!("{name}.ogg"))).unwrap();
    let a = align(&raw, &edited).unwrap();
    for s in &a.spans {
        println!("raw {:8.3}-{:8.3} edited {:8.3}-{:8.3} off {:.4}", s.raw.start, s.raw.end, s.edited.start, s.edited.end, s.raw.start - s.edited.start);
    }
}

#[test]
#[ignore]
fn debug_offsets() {
    use audio_slicer::engine::features::resample_mono;
    let name = std::env::var("PAIR").unwrap();
    let split = std::env::var("SPLIT").unwrap_or("test".into());
    let v: Vec<f64> = std::env::var("RANGE").unwrap().split(',').map(|x| x.parse().unwrap()).collect();
    let (t0, t1, o0, o1) = (v[0], v[1], v[2], v[3]);
    let bench = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/bench/dev");
    let raw = read_audio(&bench.join(&split).join("input").join(format!("{name}.ogg"))).unwrap();
    let edited = read_audio(&bench.join(&split).join("desired_output").join(format!("{name}.ogg"))).unwrap();
    let sr = 16000.0;
    let r = resample_mono(&raw.mono(), 44100, 16000).unwrap();
    let e = resample_mono(&edited.mono(), 44100, 16000).unwrap();
    let win = (0.25 * sr) as usize;
    let mut t = t0;
    while t < t1 {
        let a = (t * sr) as usize;
        let eb = &e[a..a + win];
        let ee: f64 = eb.iter().map(|x| (*x as f64).powi(2)).sum();
        let mut res = vec![];
        let mut o = o0;
        while o < o1 {
            let p = ((t + o) * sr).round() as usize;
            let rb = &r[p..p + win];
            let dot: f64 = eb.iter().zip(rb).map(|(x, y)| *x as f64 * *y as f64).sum();
            let rr: f64 = rb.iter().map(|x| (*x as f64).powi(2)).sum();
            res.push((o, dot / (ee * rr).sqrt(), (dot / rr)));
            o += 1.0 / sr;
        }
        let best = res.iter().cloned().fold((0.0, -1.0, 0.0), |a, b| if b.1 > a.1 { b } else { a });
        let at = |x: f64| res.iter().min_by(|a, b| (a.0 - x).abs().total_cmp(&(b.0 - x).abs())).unwrap().1;
        println!("{t:6.2} rms {:.4} best {:.5} ncc {:.3} gain {:.3} | at o0+ {:.3}", (ee / win as f64).sqrt(), best.0, best.1, best.2, at(std::env::var("O").ok().and_then(|x| x.parse().ok()).unwrap_or(o0)));
        t += 0.25;
    }
}
