//! The plugin's own edits of a benchmark's test recordings, scored like `audio-slicer evaluate`.
//!
//! Each raw recording is played once through the plugin in Timeline analysis (the default; the
//! analysis pass, which passes the audio) and then bounced as a DAW would bounce it (offline,
//! stereo or mono as the file is, 512-sample blocks), with the built-in model and default
//! parameters. The cut markers the plugin sends out (MIDI notes) become the cut list and the
//! score controller (MIDI CC, 7-bit) the segment scores, so the figures are those of what a DAW
//! records from the plugin; the size of the analysis the project would save is reported per
//! hour of audio.
//!
//! With `AUDIO_SLICER_ANALYSIS=lookahead` the plugin runs in Lookahead analysis instead: one
//! bounce of each recording, with the latency's worth of tail rendered after the end.
//!
//! Run with `cargo bench --bench plugin_quality`; the benchmark folder is
//! `$AUDIO_SLICER_BENCH` or `../shared/bench/dev`. Cut lists go to
//! `target/plugin-quality/cuts`.

#[path = "../tests/plugin_support/mod.rs"]
mod plugin_support;

use std::path::{Path, PathBuf};
use std::time::Instant;

use audio_slicer::engine::audio_io::read_audio;
use audio_slicer::engine::cut_list::{complement_within, CutList};
use audio_slicer::engine::timeline::{Segment, TimeRange};
use audio_slicer::engine::training::{audio_files_in, file_with_stem};
use audio_slicer::plugin::AudioSlicer;
use audio_slicer::research::metrics::{load_truths, score_dir};
use nice_plug::prelude::*;
use plugin_support::{lookahead_plugin, render, set_param, HostTransport, Setup};

const BLOCK: usize = 512;

fn main() -> anyhow::Result<()> {
    let bench = std::env::var("AUDIO_SLICER_BENCH").map_or_else(
        |_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/bench/dev"),
        PathBuf::from,
    );
    if !bench.join("truth").is_dir() {
        println!(
            "no benchmark at {} (set AUDIO_SLICER_BENCH); skipped",
            bench.display()
        );
        return Ok(());
    }
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/plugin-quality/cuts");
    std::fs::create_dir_all(&out)?;
    let raws = audio_files_in(&bench.join("test/input"))?;
    let timeline = std::env::var("AUDIO_SLICER_ANALYSIS").as_deref() != Ok("lookahead");
    let (mut audio_seconds, mut saved_bytes, started) = (0.0, 0, Instant::now());
    for truth in load_truths(&bench, "test")? {
        let raw = file_with_stem(&raws, &truth.name)
            .ok_or_else(|| anyhow::anyhow!("no raw recording named {}", truth.name))?;
        let clip = read_audio(raw)?;
        let source = raw.display().to_string();
        let list = if timeline {
            let (list, bytes) = bounce_timeline(&clip.channels, clip.sample_rate, &source);
            saved_bytes += bytes;
            list
        } else {
            bounce(&clip.channels, clip.sample_rate, &source)
        };
        audio_seconds += list.duration;
        let kept: f64 = list.keep.iter().map(|k| k[1] - k[0]).sum();
        eprintln!(
            "{}: kept {:.1} % (human {:.1} %)",
            truth.name,
            100.0 * kept / list.duration,
            100.0 * truth.kept_ratio
        );
        list.write_json(&out.join(format!("{}.cuts.json", truth.name)))?;
    }
    let report = score_dir(&bench, &out, "test")?;
    println!("{}", report.to_table());
    println!(
        "bounced {audio_seconds:.0} s of audio at {:.1}x real time",
        audio_seconds / started.elapsed().as_secs_f64()
    );
    if timeline {
        println!(
            "saved analysis: {saved_bytes} bytes for {audio_seconds:.0} s, {:.0} kB an hour",
            saved_bytes as f64 / audio_seconds * 3600.0 / 1000.0
        );
    }
    Ok(())
}

/// Bounces one recording through a fresh plugin and reads its markers back as a cut list.
fn bounce(channels: &[Vec<f32>], rate: u32, source: &str) -> CutList {
    let frames = channels[0].len();
    let mut plugin = lookahead_plugin();
    let setup = Setup::offline(rate, &[BLOCK]);
    // The host renders the latency's worth of tail so the last markers come out; a first
    // render learns the latency.
    let latency = render(&mut plugin, &[vec![0.0; BLOCK]], &setup).latency;
    let input: Vec<Vec<f32>> = channels
        .iter()
        .map(|c| {
            let mut padded = c.clone();
            padded.resize(frames + latency, 0.0);
            padded
        })
        .collect();
    let mut plugin = lookahead_plugin();
    let result = render(&mut plugin, &input, &setup);
    cut_list(&result, frames, rate, source)
}

/// Plays one recording through a fresh plugin in Timeline analysis, then bounces it; returns
/// the bounce's cut list and the bytes of the analysis the project saves.
fn bounce_timeline(channels: &[Vec<f32>], rate: u32, source: &str) -> (CutList, usize) {
    let mut plugin = AudioSlicer::default();
    // The first variant: Timeline.
    set_param(&plugin, "analysis", 0.0);
    // A playing song without a tempo: the plan tracks the recording's own beats, as the
    // command line's edit does.
    let setup = Setup {
        transport: HostTransport::Playing,
        ..Setup::offline(rate, &[BLOCK])
    };
    render(&mut plugin, channels, &setup);
    let result = render(&mut plugin, channels, &setup);
    assert_eq!(result.latency, 0);
    plugin.deactivate();
    let saved = plugin.slicer_params().serialize_fields()["timeline-analysis"].len();
    (cut_list(&result, channels[0].len(), rate, source), saved)
}

/// The cut list a DAW records from a render's MIDI (cut notes and score CC), in the input's
/// seconds.
fn cut_list(result: &plugin_support::Render, frames: usize, rate: u32, source: &str) -> CutList {
    let duration = frames as f64 / f64::from(rate);
    let seconds = |at: usize| at.saturating_sub(result.latency) as f64 / f64::from(rate);
    let mut cuts = Vec::new();
    let mut open: Option<f64> = None;
    let mut scores: Vec<(f64, f64)> = Vec::new();
    for (at, event) in &result.midi {
        match event {
            NoteEvent::NoteOn { .. } => open = Some(seconds(*at)),
            NoteEvent::NoteOff { .. } => {
                if let Some(start) = open.take() {
                    cuts.push(TimeRange::new(start, seconds(*at).min(duration)));
                }
            }
            NoteEvent::MidiCC { value, .. } => scores.push((seconds(*at), f64::from(*value))),
            _ => {}
        }
    }
    if let Some(start) = open {
        cuts.push(TimeRange::new(start, duration));
    }
    let segments = scores
        .windows(2)
        .filter(|w| w[0].0 < duration)
        .map(|w| Segment {
            start: w[0].0,
            end: w[1].0.min(duration),
            score: w[0].1,
        })
        .collect();
    let keep = complement_within(&cuts, duration);
    // The CC maps the threshold to the middle of its range.
    CutList::new(
        source,
        rate,
        duration,
        &keep,
        segments,
        63.5,
        "built-in (plugin)",
    )
}
