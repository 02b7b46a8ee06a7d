//! The editor's timeline drawing an hour-long analysed track: the whole song, then zoomed in,
//! each frame laid out and tessellated by egui as the plugin's editor does (the GPU upload is
//! not counted). Run with `cargo bench --bench editor`; the aim is under 4 ms a frame.

use std::time::Instant;

use audio_slicer::plugin::editor::timeline;
use audio_slicer::plugin::params::SlicerParams;
use audio_slicer::plugin::shared::Status;
use audio_slicer::plugin::snapshot::{CutMarker, Levels, Snapshot, TimelineBin};
use audio_slicer::plugin::view::View;

/// The default model's scoring step, seconds.
const HOP: f64 = 8.0 * 512.0 / 22_050.0;
const HOUR: f64 = 3600.0;
const FRAMES: usize = 60;

/// An analysed hour: a score per step, a level per fingerprint block, a cut every 30 s.
fn hour() -> Snapshot {
    let steps = (HOUR / HOP) as usize;
    let cut = |t: f64| t.rem_euclid(30.0) < 4.0;
    let bins = (0..steps)
        .map(|i| {
            let start = i as f64 * HOP;
            TimelineBin {
                start,
                length: HOP,
                beats: Some(start * 2.0),
                score: if cut(start) {
                    0.9
                } else {
                    0.1 + 0.05 * (i % 7) as f64
                },
                keep: Some(!cut(start)),
            }
        })
        .collect();
    let cuts = (0..(HOUR / 30.0) as usize)
        .map(|k| {
            let start = k as f64 * 30.0;
            CutMarker {
                start,
                end: start + 4.0,
                start_beats: Some(start * 2.0),
                end_beats: Some((start + 4.0) * 2.0),
            }
        })
        .collect();
    let block = 4096.0 / 44_100.0;
    let levels = Levels {
        block_seconds: block,
        runs: vec![(
            0.0,
            (0..(HOUR / block) as usize)
                .map(|i| 0.01 + 0.002 * (i % 13) as f32)
                .collect(),
        )],
    };
    Snapshot {
        bins,
        cuts,
        threshold: 0.5,
        coverage: vec![(0.0, HOUR)],
        levels,
        tempo: Some(120.0),
        time_sig: Some((4, 4)),
        ..Snapshot::default()
    }
}

/// Median milliseconds to lay out and tessellate one frame of the timeline in `view`.
fn frame_ms(snapshot: &Snapshot, view: View) -> f64 {
    let params = SlicerParams::default();
    let status = Status::default();
    status.set_playhead(Some(1234.5));
    let ctx = egui::Context::default();
    let mut times = Vec::with_capacity(FRAMES);
    for _ in 0..FRAMES {
        if let Ok(mut e) = params.editor.lock() {
            e.view = view;
        }
        let input = egui::RawInput {
            screen_rect: Some(egui::Rect::from_min_size(
                egui::Pos2::ZERO,
                egui::vec2(650.0, 560.0),
            )),
            ..Default::default()
        };
        let started = Instant::now();
        let output = ctx.run_ui(input, |ui| {
            timeline::show(ui, snapshot, &params, &status);
        });
        let primitives = ctx.tessellate(output.shapes, output.pixels_per_point);
        times.push(started.elapsed().as_secs_f64() * 1e3);
        assert!(!primitives.is_empty());
    }
    times.sort_by(f64::total_cmp);
    times[FRAMES / 2]
}

fn main() {
    let snapshot = hour();
    println!(
        "editor timeline, an hour of analysis ({} score steps, {} level blocks, {} cuts): median ms per frame",
        snapshot.bins.len(),
        snapshot.levels.runs[0].1.len(),
        snapshot.cuts.len()
    );
    for (name, view) in [
        ("whole song", View::Whole),
        (
            "30 s at 20 min",
            View::Fixed {
                start: 1200.0,
                seconds: 30.0,
            },
        ),
    ] {
        println!("  {name:<16} {:>6.2} ms", frame_ms(&snapshot, view));
    }
}
