//! A minimal CLAP host (clack-host) loading the bundled `Audio Slicer.clap`: it loads a model
//! through the plugin's state, renders offline with a playing transport, and checks the
//! reported latency, the gate, the score CCs and the beat-aligned cut notes.
//!
//! Needs the bundle, so it is ignored by a plain `cargo test`; `.ci/run` bundles first and
//! then runs `cargo test --test clap_host -- --ignored`.
#![cfg(feature = "plugin")]

mod clack_support;
mod plugin_support;

use clack_support::{editor_created_in_a_host_without_gui, ClapSession, TEMPO};
use plugin_support::{music, noise, tiny_model_dir};

const RATE: u32 = 44_100;

fn seconds(t: f64) -> usize {
    (t * f64::from(RATE)) as usize
}

/// Music, noise from `noise_at` for `noise_len` seconds, music to `total`, the same in both
/// channels; `seed` picks the material.
fn stereo_session(noise_at: f64, noise_len: f64, total: f64, seed: u64) -> Vec<Vec<f32>> {
    let mut left = music(noise_at, RATE, seed);
    left.extend(noise(noise_len, RATE, seed + 1));
    left.extend(music(total - noise_at - noise_len, RATE, seed + 2));
    vec![left.clone(), left]
}

#[test]
#[ignore = "needs target/bundled/Audio Slicer.clap (cargo xtask bundle audio_slicer --release)"]
fn lookahead_analysis_marks_and_gates_a_first_pass() {
    let (noise_at, noise_len, total) = (8.0, 4.0, 20.0);
    let input = stereo_session(noise_at, noise_len, total, 21);
    let mut session = ClapSession::open();
    session.use_model(tiny_model_dir());
    session.use_analysis("lookahead");
    let out = session.render(&input, RATE);
    let l = out.latency;
    assert!(l > 0 && l < seconds(5.0), "latency {l}");

    let cut = seconds(noise_at + 1.0)..seconds(noise_at + noise_len - 1.0);
    assert!(
        out.audio[0][cut.start + l..cut.end + l]
            .iter()
            .all(|&x| x == 0.0),
        "noise not cut"
    );
    let margin = 2.0;
    for range in [
        0..seconds(noise_at - margin),
        seconds(noise_at + noise_len + margin)..input[0].len() - l,
    ] {
        let same = out.audio[0][range.start + l..range.end + l] == input[0][range.clone()];
        assert!(same, "music not passed unchanged in {range:?}");
    }

    let notes: Vec<_> = out.midi.iter().filter(|m| m.1 & 0xE0 == 0x80).collect();
    assert_eq!(notes.len(), 2, "{notes:?}");
    let (on, off) = (notes[0], notes[1]);
    assert!(on.1 & 0xF0 == 0x90 && off.1 & 0xF0 == 0x80, "{notes:?}");
    // Cut boundaries snap to the host's beats (every half second at 120 BPM).
    let beat = f64::from(RATE) * 60.0 / TEMPO;
    for at in [on.0, off.0] {
        let t = (at - l) as f64;
        let off_grid = (t / beat - (t / beat).round()).abs() * beat;
        assert!(
            off_grid <= 1.0,
            "boundary at {t} is {off_grid} samples off the beat"
        );
    }
    assert!(on.0 - l < seconds(noise_at + 1.0) && off.0 - l > seconds(noise_at + noise_len - 1.0));
    let ccs: Vec<_> = out.midi.iter().filter(|m| m.1 & 0xF0 == 0xB0).collect();
    assert!(ccs.len() > 50);
    assert!(ccs
        .iter()
        .filter(|m| cut.contains(&(m.0 - l)))
        .all(|m| m.3 > 64));
}

#[test]
#[ignore = "needs target/bundled/Audio Slicer.clap (cargo xtask bundle audio_slicer --release)"]
fn a_host_without_a_gui_extension_is_refused_the_editor_instead_of_aborted() {
    // nice-plug's wrapper would abort this process here (a panic across the C boundary).
    assert!(!editor_created_in_a_host_without_gui());
}

#[test]
#[ignore = "needs target/bundled/Audio Slicer.clap (cargo xtask bundle audio_slicer --release)"]
fn state_round_trips_every_parameter_and_field_and_drives_processing() {
    let mut first = ClapSession::open();
    first.use_model(tiny_model_dir());
    let mut json = first.state();
    // Every parameter away from its default, as a project saved after editing them holds them.
    let changed = serde_json::json!({
        "model-threshold": {"bool": false}, "score-threshold": {"f32": 2.0}, "min-cut": {"f32": 1.0}, "min-keep": {"f32": 4.0},
        "pre-pad": {"f32": 0.2}, "post-pad": {"f32": 0.3}, "crossfade": {"f32": 0.05},
        "snap": {"string": "bar"}, "mode": {"string": "analyse"}, "midi-out": {"bool": false},
        "midi-channel": {"i32": 5}, "midi-cc": {"i32": 30}, "cut-note": {"i32": 62},
        "analysis": {"string": "timeline"}
    });
    assert_eq!(
        changed.as_object().unwrap().len(),
        json["params"].as_object().unwrap().len(),
        "a parameter is missing from this test"
    );
    json["params"] = changed;
    json["fields"]["editor"] = serde_json::Value::String(
        r#"{"view":{"kind":"fixed","start":3.0,"seconds":12.5},"export_dir":"/tmp/x"}"#.into(),
    );
    // Stretches kept and cut by hand.
    json["fields"]["overrides"] = serde_json::Value::String(
        r#"[{"range":{"start":1.5,"end":2.5},"decision":"keep"},{"range":{"start":4.0,"end":5.0},"decision":"cut"}]"#.into(),
    );
    first.load_state(&json);
    let saved = first.state();
    assert_eq!(saved["fields"]["overrides"], json["fields"]["overrides"]);
    assert_eq!(saved["params"], json["params"]);

    let mut second = ClapSession::open();
    second.load_state(&saved);
    let restored = second.state();
    assert_eq!(restored, saved);
    // Restored "Analyse only" drives processing: the output is the input (Timeline analysis
    // adds no latency, so `l` is 0 here).
    let input = stereo_session(6.0, 3.0, 15.0, 31);
    let out = second.render(&input, RATE);
    let l = out.latency;
    assert_eq!(&out.audio[0][l..], &input[0][..input[0].len() - l]);
    assert!(out.midi.is_empty(), "MIDI out was switched off");
}

#[test]
#[ignore = "needs target/bundled/Audio Slicer.clap (cargo xtask bundle audio_slicer --release)"]
fn timeline_analysis_gates_the_second_pass_and_survives_a_reopened_project() {
    let (noise_at, noise_len, total) = (8.0, 4.0, 20.0);
    let input = stereo_session(noise_at, noise_len, total, 41);
    let mut session = ClapSession::open();
    session.use_model(tiny_model_dir());
    // Timeline analysis is the default. The analysis pass passes the track untouched, with
    // no latency.
    let first = session.render(&input, RATE);
    assert_eq!(first.latency, 0);
    assert!(first.audio == input, "the analysis pass changed the audio");
    // The second pass gates the noise from the plan, still with no latency.
    let second = session.render(&input, RATE);
    assert_eq!(second.latency, 0);
    let cut = seconds(noise_at + 1.0)..seconds(noise_at + noise_len - 1.0);
    assert!(
        second.audio[0][cut].iter().all(|&x| x == 0.0),
        "noise not cut"
    );
    let early = 0..seconds(noise_at - 2.0);
    assert_eq!(second.audio[0][early.clone()], input[0][early]);
    let notes = second.midi.iter().filter(|m| m.1 & 0xE0 == 0x80).count();
    assert!(notes >= 2, "no cut notes");
    // The project as saved, in a new instance: its first bounce is the edit.
    let saved = session.state();
    assert!(saved["fields"]["timeline-analysis"]
        .as_str()
        .is_some_and(|s| s.contains("packed")));
    let mut reopened = ClapSession::open();
    reopened.load_state(&saved);
    let bounce = reopened.render(&input, RATE);
    assert!(
        bounce.audio == second.audio,
        "the reopened project's bounce differs"
    );
    assert_eq!(bounce.midi, second.midi);
}
