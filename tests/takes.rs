//! (Ignored) take groups measured on the benchmark's pairs: how much of the truth's false starts
//! and bad takes, and how much of the kept music, falls in a group of repeated passages found
//! in the raw recording alone.
//!
//! `cargo test --release --test takes -- --ignored --nocapture` (reads `../shared/bench/dev` and
//! `../shared/bench/dev-b`, every pair of both splits; the truth only measures).

use std::path::Path;

use audio_slicer::engine::audio_io::read_audio;
use audio_slicer::engine::takes::groups::{repeat_runs, repeats, take_groups};
use audio_slicer::engine::takes::pitch_classes::PitchClasses;
use audio_slicer::engine::timeline::{overlap_seconds, total_duration, TimeRange};

fn ranges(v: &serde_json::Value) -> Vec<TimeRange> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|p| TimeRange::new(p[0].as_f64().unwrap(), p[1].as_f64().unwrap()))
        .collect()
}

/// The truth's false starts and bad takes: the defects that are other takes.
fn truth_takes(truth: &serde_json::Value) -> Vec<TimeRange> {
    truth["defects"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| matches!(d["type"].as_str(), Some("false_start" | "bad_take")))
        .map(|d| TimeRange::new(d["start"].as_f64().unwrap(), d["end"].as_f64().unwrap()))
        .collect()
}

/// The time `ranges` cover, as ascending disjoint ranges.
fn union(mut ranges: Vec<TimeRange>) -> Vec<TimeRange> {
    ranges.sort_by(|a, b| a.start.total_cmp(&b.start));
    let mut out: Vec<TimeRange> = Vec::new();
    for r in ranges {
        match out.last_mut() {
            Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
            _ => out.push(r),
        }
    }
    out
}

#[test]
#[ignore = "needs the benchmark's pairs; run explicitly, in release"]
fn take_groups_cover_the_truths_takes() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/bench");
    for set in ["dev", "dev-b"] {
        let bench = root.join(set);
        let mut truths: Vec<_> = std::fs::read_dir(bench.join("truth"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        truths.sort();
        let (mut takes, mut takes_in, mut kept, mut kept_in) = (0.0, 0.0, 0.0, 0.0);
        let (mut take_distances, mut kept_distances) = (Vec::new(), Vec::new());
        for path in truths {
            let truth: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            let name = truth["name"].as_str().unwrap();
            let split = truth["split"].as_str().unwrap();
            let clip =
                read_audio(&bench.join(split).join("input").join(format!("{name}.ogg"))).unwrap();
            let started = std::time::Instant::now();
            let track = PitchClasses::of(&clip.mono(), clip.sample_rate);
            let found = repeats(&track);
            let groups = take_groups(&track, &repeat_runs(&found));
            let members = union(groups.iter().flat_map(|g| g.members.clone()).collect());
            let true_takes = truth_takes(&truth);
            let kept_music = ranges(&truth["kept"]);
            for r in &found {
                let centre = track.frame_time((r.at.0 + r.at.1) / 2).0;
                let lag = (r.twin.0 as f64 - r.at.0 as f64) / 10.0;
                if true_takes.iter().any(|t| t.contains(centre)) {
                    take_distances.push((r.distance, lag));
                } else if kept_music.iter().any(|t| t.contains(centre)) {
                    kept_distances.push((r.distance, lag));
                }
            }
            let (t, k) = (total_duration(&true_takes), total_duration(&kept_music));
            let (ti, ki) = (
                overlap_seconds(&true_takes, &members),
                overlap_seconds(&kept_music, &members),
            );
            println!(
                "{name}: {} groups; takes {ti:.1} of {t:.1} s in a group, kept music {ki:.1} of \
                 {k:.1} s; {:.2} s",
                groups.len(),
                started.elapsed().as_secs_f64()
            );
            (takes, takes_in, kept, kept_in) = (takes + t, takes_in + ti, kept + k, kept_in + ki);
        }
        for (what, d) in [
            ("takes", &mut take_distances),
            ("kept", &mut kept_distances),
        ] {
            d.sort_by(|a, b| a.0.total_cmp(&b.0));
            let q = |p: f64| d[((d.len() - 1) as f64 * p) as usize].0;
            let later = d.iter().filter(|x| x.1 > 0.0).count() as f64 / d.len() as f64;
            println!(
                "{set} {what}: {} windows, distance p10 {:.3} p50 {:.3} p90 {:.3}; twin later {later:.2}",
                d.len(),
                q(0.1),
                q(0.5),
                q(0.9)
            );
        }
        println!(
            "{set}: share of false starts and bad takes in a group {:.3}, of kept music {:.3}",
            takes_in / f64::max(takes, f64::MIN_POSITIVE),
            kept_in / kept
        );
    }
}

/// How the performance sounds per frame of `track`: its level (dB RMS) and its brightness (the
/// first difference's energy against the signal's, dB: overdrive and harsh playing raise it),
/// each over the audio of the frame's span.
#[cfg(feature = "research")]
fn performance_curves(
    raw: &audio_slicer::engine::audio_io::AudioClip,
    track: &PitchClasses,
) -> audio_slicer::engine::takes::model::PerformanceCurves {
    let mono = raw.mono();
    let rate = f64::from(raw.sample_rate);
    let (mut level, mut bright) = (Vec::new(), Vec::new());
    for t in 0..track.frames.len() {
        let (a, b) = track.frame_time(t);
        let (a, b) = (
            ((a.max(0.0) * rate) as usize).min(mono.len()),
            ((b.max(0.0) * rate) as usize).min(mono.len()),
        );
        let x = &mono[a..b];
        let energy: f64 = x.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() + 1e-12;
        let diff: f64 = x
            .windows(2)
            .map(|w| f64::from(w[1] - w[0]).powi(2))
            .sum::<f64>()
            + 1e-12;
        level.push((10.0 * (energy / x.len().max(1) as f64).log10()) as f32);
        bright.push((10.0 * (diff / energy).log10()) as f32);
    }
    [level, bright]
}

/// The take model trained on a set's training pairs (labels from alignment alone) and applied to
/// its test pairs: how much of the truth's takes it cuts, and how much kept music, at the
/// probability `TAKE_THRESHOLD` (default 0.5; a curve for diagnosis, not a setting). Windows are
/// also compared with their twin on level and brightness (`performance_curves`).
///
/// `cargo test --release --test takes -- --ignored --nocapture take_model`
#[cfg(feature = "research")]
#[test]
#[ignore = "needs the benchmark's pairs; run explicitly, in release"]
fn take_model_on_the_test_pairs() {
    use audio_slicer::engine::align::align;
    use audio_slicer::engine::takes::model::{examples, TakeModel};
    use audio_slicer::engine::takes::take_ranges;
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/bench");
    let sets: Vec<String> = std::env::var("TAKE_SETS")
        .map(|s| s.split(',').map(String::from).collect())
        .unwrap_or_else(|_| vec!["dev".into(), "dev-b".into()]);
    for set in sets {
        let bench = root.join(&set);
        let names = |split: &str| -> Vec<String> {
            let mut v: Vec<String> = std::fs::read_dir(bench.join(split).join("input"))
                .unwrap()
                .map(|e| {
                    e.unwrap()
                        .path()
                        .file_stem()
                        .unwrap()
                        .to_string_lossy()
                        .into_owned()
                })
                .collect();
            v.sort();
            v
        };
        let mut train = Vec::new();
        for name in names("train") {
            let raw = read_audio(&bench.join("train/input").join(format!("{name}.ogg"))).unwrap();
            let edited = read_audio(
                &bench
                    .join("train/desired_output")
                    .join(format!("{name}.ogg")),
            )
            .unwrap();
            let alignment = align(&raw, &edited).unwrap();
            let track = PitchClasses::of(&raw.mono(), raw.sample_rate);
            let sound = performance_curves(&raw, &track);
            train.extend(examples(
                &track,
                &sound,
                &alignment.kept_ranges(raw.duration()),
                &take_ranges(&alignment.cuts),
            ));
        }
        for class in [false, true] {
            let rows: Vec<_> = train.iter().filter(|e| e.1 == class).collect();
            let mean: Vec<String> = (0..rows[0].0.len())
                .map(|k| {
                    format!(
                        "{:.2}",
                        rows.iter().map(|r| r.0[k]).sum::<f32>() / rows.len() as f32
                    )
                })
                .collect();
            println!(
                "{set} class cut={class}: {} windows, means {}",
                rows.len(),
                mean.join(" ")
            );
        }
        let mut take_model = TakeModel::fit(&train).unwrap();
        println!(
            "{set}: trained on {:?} windows (kept, cut); weights {:?}",
            take_model.trained_on, take_model.weights
        );
        let thresholds: Vec<f32> = std::env::var("TAKE_THRESHOLD")
            .map(|t| vec![t.parse().unwrap()])
            .unwrap_or_else(|_| vec![0.5, 0.7, 0.8, 0.9]);
        // Per threshold: seconds of takes, of them cut, of kept music, of it cut.
        let mut totals = vec![[0.0f64; 4]; thresholds.len()];
        for name in names("test") {
            let truth: serde_json::Value = serde_json::from_str(
                &std::fs::read_to_string(bench.join("truth").join(format!("{name}.json"))).unwrap(),
            )
            .unwrap();
            let raw = read_audio(&bench.join("test/input").join(format!("{name}.ogg"))).unwrap();
            let track = PitchClasses::of(&raw.mono(), raw.sample_rate);
            let sound = performance_curves(&raw, &track);
            let true_takes = truth_takes(&truth);
            let kept_music = ranges(&truth["kept"]);
            let (t, k) = (total_duration(&true_takes), total_duration(&kept_music));
            for (threshold, total) in thresholds.iter().zip(&mut totals) {
                take_model.threshold = *threshold;
                let cut = take_model.cut_ranges(&track, &sound);
                let (tc, kc) = (
                    overlap_seconds(&true_takes, &cut),
                    overlap_seconds(&kept_music, &cut),
                );
                println!(
                    "  {name} at {threshold}: cuts {tc:.1} of {t:.1} s of takes, {kc:.1} of {k:.1} s of kept music"
                );
                *total = [total[0] + t, total[1] + tc, total[2] + k, total[3] + kc];
            }
        }
        for (threshold, [takes, takes_cut, kept, kept_cut]) in thresholds.iter().zip(totals) {
            println!(
                "{set}/test at {threshold}: take recall {:.3}, kept music cut {:.2} %",
                takes_cut / takes,
                100.0 * kept_cut / kept
            );
        }
    }
}
