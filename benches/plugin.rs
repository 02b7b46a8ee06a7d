//! Plugin costs in both analysis modes, measured in one run and printed as figures the issues
//! ask about: `process()` time against copying the same buffers through (a plugin that does
//! nothing; in a tight loop, and paced at real time as `process()` is), the analysis thread's
//! CPU share at 48 kHz stereo, an offline bounce after one pass, the latency in milliseconds, and
//! the memory Lookahead's editor timeline is bounded to (the same after 3 hours as after 20
//! minutes).
//!
//! Run with `cargo bench --bench plugin`. Uses the built-in model.

#[path = "../tests/plugin_support/mod.rs"]
mod plugin_support;

use std::time::{Duration, Instant};

use audio_slicer::plugin::analysis::{HISTORY_BINS, MAX_CUTS};
use audio_slicer::plugin::snapshot::{CutMarker, TimelineBin};
use audio_slicer::plugin::AudioSlicer;
use nice_plug::prelude::*;
use plugin_support::{music, noise, process_timed, render, set_param, HostTransport, Setup};

const RATE: u32 = 48_000;
/// Seconds of audio per measurement: long enough that start-up costs vanish (the process()
/// measurement plays them in real time).
const SECONDS: f64 = 60.0;
const BLOCK: usize = 512;

fn stereo() -> Vec<Vec<f32>> {
    let mut left = music(SECONDS / 2.0, RATE, 1);
    left.extend(noise(5.0, RATE, 2));
    left.extend(music(SECONDS / 2.0 - 5.0, RATE, 3));
    let right = left.iter().map(|x| x * 0.7).collect();
    vec![left, right]
}

/// Time to copy every block in and out, as the host does around a plugin that does nothing.
fn copy_through(input: &[Vec<f32>]) -> Duration {
    let mut scratch = vec![vec![0.0f32; BLOCK]; input.len()];
    let mut out = vec![Vec::with_capacity(input[0].len()); input.len()];
    let started = Instant::now();
    for start in (0..input[0].len()).step_by(BLOCK) {
        let n = BLOCK.min(input[0].len() - start);
        for ((s, i), o) in scratch.iter_mut().zip(input).zip(out.iter_mut()) {
            s[..n].copy_from_slice(&i[start..start + n]);
            o.extend_from_slice(std::hint::black_box(&s[..n]));
        }
    }
    std::hint::black_box(&out);
    started.elapsed()
}

/// The same copies, paced as `process()` is measured: each block waits until real time reaches
/// it and only the copy is timed. A call after a sleep finds colder caches than one in a tight
/// loop, so this is the baseline a paced `process()` compares with.
fn copy_through_paced(input: &[Vec<f32>]) -> Duration {
    let mut scratch = vec![vec![0.0f32; BLOCK]; input.len()];
    let mut out = vec![Vec::with_capacity(input[0].len()); input.len()];
    let started = Instant::now();
    let mut inside = Duration::ZERO;
    for start in (0..input[0].len()).step_by(BLOCK) {
        let due = Duration::from_secs_f64(start as f64 / f64::from(RATE));
        if let Some(wait) = due.checked_sub(started.elapsed()) {
            std::thread::sleep(wait);
        }
        let call = Instant::now();
        let n = BLOCK.min(input[0].len() - start);
        for ((s, i), o) in scratch.iter_mut().zip(input).zip(out.iter_mut()) {
            s[..n].copy_from_slice(&i[start..start + n]);
            o.extend_from_slice(std::hint::black_box(&s[..n]));
        }
        inside += call.elapsed();
    }
    std::hint::black_box(&out);
    inside
}

/// What one analysis mode costs.
struct Figures {
    /// Time inside `process()` over the input, paced as real time.
    process: Duration,
    /// The analysis thread's share of one core (busy time over audio time).
    load: f64,
    /// Seconds the analysis heard.
    analysed: f64,
    /// Reported latency in samples.
    latency: usize,
    /// Wall time of an offline bounce of the track after it was heard once.
    bounce: Duration,
}

/// Measures the mode that is `analysis` (the Analysis parameter's plain value).
fn measure(analysis: f32, input: &[Vec<f32>]) -> Figures {
    let plugin_in_mode = || {
        let plugin = AudioSlicer::default();
        set_param(&plugin, "analysis", analysis);
        plugin
    };
    let realtime = Setup {
        rate: RATE,
        blocks: vec![BLOCK],
        mode: ProcessMode::Realtime,
        transport: HostTransport::Playing,
    };
    let mut plugin = plugin_in_mode();
    // Warm-up render (loads the model, plans the FFTs; in Timeline also the analysis pass),
    // then the measured one, paced as real time: faster than that the plugin takes the render
    // for an offline bounce and waits for its analysis. Only the time inside process() counts.
    let warm = render(&mut plugin, input, &realtime);
    plugin.reset();
    let (_, process) = process_timed(&mut plugin, input, &realtime, warm.latency, true);
    plugin.deactivate();

    // Analysis load: an offline render waits for the analysis, so all of it is measured.
    let mut plugin = plugin_in_mode();
    let offline = Setup {
        transport: HostTransport::Playing,
        ..Setup::offline(RATE, &[BLOCK])
    };
    let rendered = render(&mut plugin, input, &offline);
    std::thread::sleep(Duration::from_millis(200));
    let snapshot = plugin.status().snapshot();
    // A bounce of the track once it was heard (Timeline gates from its analysis; Lookahead
    // analyses again as it goes), offline as a DAW's export runs.
    let started = Instant::now();
    render(&mut plugin, input, &offline);
    let bounce = started.elapsed();
    plugin.deactivate();
    Figures {
        process,
        load: snapshot.load,
        analysed: snapshot.analysed_seconds,
        latency: rendered.latency,
        bounce,
    }
}

fn main() {
    let input = stereo();
    let copy = copy_through(&input);
    let paced_copy = copy_through_paced(&input);
    println!("audio: {SECONDS} s, {RATE} Hz stereo, blocks of {BLOCK}");
    // The Analysis parameter's variants: Timeline, then Lookahead.
    for (name, analysis, aims) in [
        ("Timeline", 0.0, (1.5, 2.0)),
        ("Lookahead", 1.0, (2.0, 5.0)),
    ] {
        let f = measure(analysis, &input);
        println!("{name} analysis:");
        println!(
            "  process(): {:.1} ms, copy-through: {:.1} ms, ratio {:.2}x (aim < {}x; includes the copy into the analysis queue{})",
            f.process.as_secs_f64() * 1e3,
            copy.as_secs_f64() * 1e3,
            f.process.as_secs_f64() / copy.as_secs_f64().max(1e-9),
            aims.0,
            if analysis == 0.0 { "; the pass after the analysis pass, gating" } else { "" }
        );
        println!(
            "  against the copy-through paced alike ({:.1} ms): {:.2}x",
            paced_copy.as_secs_f64() * 1e3,
            f.process.as_secs_f64() / paced_copy.as_secs_f64().max(1e-9),
        );
        println!(
            "  analysis thread: {:.2} % of one core in real time (aim < {} %), {:.1} s analysed",
            f.load * 100.0,
            aims.1,
            f.analysed
        );
        println!(
            "  bounce after one pass: {:.0}x real time{}",
            SECONDS / f.bounce.as_secs_f64().max(1e-9),
            if analysis == 0.0 {
                " (aim >= 100x)"
            } else {
                " (it analyses again)"
            }
        );
        println!(
            "  latency: {} samples = {:.0} ms",
            f.latency,
            f.latency as f64 * 1e3 / f64::from(RATE)
        );
    }
    let timeline_bytes = HISTORY_BINS * std::mem::size_of::<TimelineBin>()
        + MAX_CUTS * std::mem::size_of::<CutMarker>();
    println!(
        "Lookahead editor timeline: at most {HISTORY_BINS} bins + {MAX_CUTS} cuts = {:.0} KiB per snapshot, whatever the length (3 h included)",
        timeline_bytes as f64 / 1024.0
    );
}
