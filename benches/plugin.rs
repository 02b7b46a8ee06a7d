//! Plugin costs, measured in one run and printed as figures the issue asks about:
//! `process()` time against copying the same buffers through (a plugin that does nothing), the
//! analysis thread's CPU share at 48 kHz stereo, the latency in milliseconds, and the memory
//! the editor's timeline is bounded to (the same after 3 hours as after 20 minutes).
//!
//! Run with `cargo bench --bench plugin`. Uses the built-in model.

#[path = "../tests/plugin_support/mod.rs"]
mod plugin_support;

use std::time::{Duration, Instant};

use audio_slicer::plugin::analysis::{HISTORY_BINS, MAX_CUTS};
use audio_slicer::plugin::snapshot::{CutMarker, TimelineBin};
use audio_slicer::plugin::AudioSlicer;
use nice_plug::prelude::*;
use plugin_support::{music, noise, process_timed, render, HostTransport, Setup};

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

fn main() {
    let input = stereo();
    let setup = Setup {
        rate: RATE,
        blocks: vec![BLOCK],
        mode: ProcessMode::Realtime,
        transport: HostTransport::Absent,
    };
    let mut plugin = AudioSlicer::default();
    // Warm-up render (loads the model, plans the FFTs), then the measured one, paced as real
    // time: faster than that the plugin takes the render for an offline bounce and waits for
    // its analysis. Only the time inside process() counts.
    let warm = render(&mut plugin, &input, &setup);
    plugin.reset();
    let (_, process) = process_timed(&mut plugin, &input, &setup, warm.latency, true);
    let copy = copy_through(&input);
    plugin.deactivate();

    // Analysis load: an offline render waits for the analysis, so all of it is measured.
    let mut plugin = AudioSlicer::default();
    let offline = render(&mut plugin, &input, &Setup::offline(RATE, &[BLOCK]));
    std::thread::sleep(Duration::from_millis(200));
    let snapshot = plugin.status().snapshot();
    plugin.deactivate();

    let timeline_bytes = HISTORY_BINS * std::mem::size_of::<TimelineBin>()
        + MAX_CUTS * std::mem::size_of::<CutMarker>();
    println!("audio: {SECONDS} s, {RATE} Hz stereo, blocks of {BLOCK}");
    println!(
        "process(): {:.1} ms, copy-through: {:.1} ms, ratio {:.2}x (aim < 2x; includes the copy into the analysis queue)",
        process.as_secs_f64() * 1e3,
        copy.as_secs_f64() * 1e3,
        process.as_secs_f64() / copy.as_secs_f64().max(1e-9)
    );
    println!(
        "analysis thread: {:.2} % of one core in real time (aim < 5 %), {:.1} s analysed",
        snapshot.load * 100.0,
        snapshot.analysed_seconds
    );
    println!(
        "latency: {} samples = {:.0} ms",
        offline.latency,
        offline.latency as f64 * 1e3 / f64::from(RATE)
    );
    println!(
        "editor timeline: at most {HISTORY_BINS} bins + {MAX_CUTS} cuts = {:.0} KiB per snapshot, whatever the length (3 h included)",
        timeline_bytes as f64 / 1024.0
    );
}
