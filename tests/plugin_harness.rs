//! The plugin driven without a host: `process()` never allocates (nice-plug's
//! `assert_process_allocs` allocator, counting), the reported latency is exact, a bad stretch
//! between music is gated while the music passes bit for bit, offline renders are identical
//! whatever the block sizes, state round-trips, and faults pass audio through.
#![cfg(feature = "plugin")]

mod plugin_support;

use audio_slicer::plugin::view::View;
use audio_slicer::plugin::AudioSlicer;
use nice_plug::prelude::*;
use plugin_support::*;

const RATE: u32 = 44_100;

/// Music, then noise from `noise_at` for `noise_len` seconds, then music again, in stereo.
fn session(noise_at: f64, noise_len: f64, total: f64) -> Vec<Vec<f32>> {
    let mut left = music(noise_at, RATE, 11);
    left.extend(noise(noise_len, RATE, 12));
    left.extend(music(total - noise_at - noise_len, RATE, 13));
    let right: Vec<f32> = left.iter().map(|x| x * 0.8).collect();
    vec![left, right]
}

/// Index of the first sample where `a` and `b` differ (bitwise, so NaN equals NaN).
fn first_difference(a: &[f32], b: &[f32]) -> Option<usize> {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .position(|(x, y)| x.to_bits() != y.to_bits())
}

fn seconds(t: f64) -> usize {
    (t * f64::from(RATE)) as usize
}

fn gated(mode_gate: bool) -> AudioSlicer {
    let plugin = lookahead_plugin();
    use_model(&plugin, tiny_model_dir());
    set_param(&plugin, "snap", 0.0);
    if !mode_gate {
        set_param(&plugin, "mode", 0.0);
    }
    plugin
}

#[test]
fn analyse_mode_is_an_exact_delay_by_the_reported_latency() {
    for (rate, channels, blocks) in [
        (44_100u32, 2usize, vec![512usize]),
        (8_000, 1, vec![1, 16_384, 333]),
        (768_000, 2, vec![16_384, 1, 4_000]),
    ] {
        let mut plugin = gated(false);
        let frames = (5.0 * f64::from(rate)) as usize;
        let input: Vec<Vec<f32>> = (0..channels)
            .map(|c| noise(frames as f64 / f64::from(rate), rate, 40 + c as u64))
            .collect();
        let r = render(&mut plugin, &input, &Setup::offline(rate, &blocks));
        assert!(
            r.latency > 0 && r.latency < frames,
            "{rate} Hz: latency {}",
            r.latency
        );
        for (out, inp) in r.output.iter().zip(&input) {
            assert!(out[..r.latency].iter().all(|&x| x == 0.0));
            let diff = first_difference(&out[r.latency..], &inp[..frames - r.latency]);
            assert!(
                diff.is_none(),
                "{rate} Hz: output differs from the delayed input at {diff:?}"
            );
        }
        assert_eq!(r.allocations, 0, "{rate} Hz: process() allocated");
    }
}

#[test]
fn noise_between_music_is_cut_and_the_music_passes_unchanged() {
    let (noise_at, noise_len, total) = (9.0, 4.0, 24.0);
    let input = session(noise_at, noise_len, total);
    let mut plugin = gated(true);
    let r = render(&mut plugin, &input, &Setup::offline(RATE, &[1024]));
    let l = r.latency;
    assert_eq!(r.allocations, 0);
    // Deep inside the noise: silence.
    let cut = seconds(noise_at + 1.0)..seconds(noise_at + noise_len - 1.0);
    assert!(r.output[0][cut.start + l..cut.end + l]
        .iter()
        .all(|&x| x == 0.0));
    // Well away from it: the music, bit for bit.
    let margin = 2.0;
    for range in [
        0..seconds(noise_at - margin),
        seconds(noise_at + noise_len + margin)..input[0].len() - l,
    ] {
        for (out, inp) in r.output.iter().zip(&input) {
            let diff = first_difference(&out[range.start + l..range.end + l], &inp[range.clone()]);
            assert!(
                diff.is_none(),
                "music changed at {:?} s",
                diff.map(|d| (d + range.start) as f64 / f64::from(RATE))
            );
        }
    }
    // One cut note, latency-aligned around the noise; scores as CCs, high in the noise.
    let notes: Vec<(usize, bool)> = r
        .midi
        .iter()
        .filter_map(|(at, e)| match e {
            NoteEvent::NoteOn { .. } => Some((*at, true)),
            NoteEvent::NoteOff { .. } => Some((*at, false)),
            _ => None,
        })
        .collect();
    assert_eq!(notes.len(), 2, "{notes:?}");
    let (on, off) = (notes[0], notes[1]);
    assert!(on.1 && !off.1);
    let near =
        |at: usize, t: f64| (at as f64 - (seconds(t) + l) as f64).abs() < seconds(1.0) as f64;
    assert!(
        near(on.0, noise_at) && near(off.0, noise_at + noise_len),
        "{notes:?} latency {l}"
    );
    // Output is silent from the note on to the note off, give or take the ramps.
    let ramp = seconds(0.02);
    assert!(r.output[0][on.0 + ramp..off.0 - ramp]
        .iter()
        .all(|&x| x == 0.0));
    let ccs: Vec<(usize, f32)> = r
        .midi
        .iter()
        .filter_map(|(at, e)| match e {
            NoteEvent::MidiCC { value, .. } => Some((*at, *value)),
            _ => None,
        })
        .collect();
    assert!(ccs.len() > 50, "{}", ccs.len());
    let in_noise = ccs.iter().filter(|(at, _)| cut.contains(&(at - l)));
    assert!(in_noise.clone().count() > 5 && in_noise.clone().all(|(_, v)| *v > 0.5));
}

#[test]
fn offline_renders_are_identical_whatever_the_blocks_and_after_reset() {
    let input = session(5.0, 2.0, 12.0);
    let mut a = gated(true);
    let first = render(&mut a, &input, &Setup::offline(RATE, &[512]));
    let second = render(
        &mut a,
        &input,
        &Setup::offline(RATE, &[1, 7, 4096, 16_384, 999]),
    );
    let mut b = gated(true);
    let third = render(&mut b, &input, &Setup::offline(RATE, &[16_384]));
    // Reset without re-activation restarts the stream too.
    b.reset();
    let again = process_all(
        &mut b,
        &input,
        &Setup::offline(RATE, &[2048]),
        third.latency,
    );
    // Events as (absolute position, message), since `timing` is relative to each block.
    let messages = |r: &Render| -> Vec<(usize, Option<[u8; 3]>)> {
        r.midi
            .iter()
            .map(|(at, e)| {
                (
                    *at,
                    e.as_midi().map(|m| match m {
                        nice_plug::midi::MidiResult::Basic(b) => b,
                        _ => [0; 3],
                    }),
                )
            })
            .collect()
    };
    for other in [&second, &third, &again] {
        assert!(first.output == other.output, "offline renders differ");
        assert_eq!(messages(&first), messages(other));
    }
    assert!(first.output[0].contains(&0.0) && first.midi.len() > 10);
}

#[test]
fn a_render_faster_than_real_time_is_exact_even_when_the_host_says_real_time() {
    // Ardour's VST3 export says "offline" only per process call, which nice-plug does not pass
    // on: the plugin is activated for real time and then fed as fast as the host can go.
    let input = session(5.0, 2.0, 12.0);
    let offline = render(&mut gated(true), &input, &Setup::offline(RATE, &[512]));
    let setup = Setup {
        rate: RATE,
        blocks: vec![512],
        mode: ProcessMode::Realtime,
        transport: HostTransport::PlayingAt(120.0),
    };
    let fast = render(&mut gated(true), &input, &setup);
    assert_eq!(fast.latency, offline.latency);
    assert!(fast.output == offline.output, "the fast render differs");
    assert!(fast.output[0].contains(&0.0));
}

#[test]
fn realtime_processing_never_allocates() {
    let input = session(3.0, 2.0, 8.0);
    let mut plugin = gated(true);
    let setup = Setup {
        rate: RATE,
        blocks: vec![64, 1, 16_384, 480],
        mode: ProcessMode::Realtime,
        transport: HostTransport::PlayingAt(120.0),
    };
    let r = render(&mut plugin, &input, &setup);
    assert_eq!(r.allocations, 0);
    assert_eq!(r.output[0].len(), input[0].len());
    assert!(r.output[0].iter().all(|x| x.is_finite()));
}

#[test]
fn state_round_trips() {
    let a = AudioSlicer::default();
    for (id, value) in [
        ("model-threshold", 0.0),
        ("score-threshold", 1.7),
        ("min-cut", 0.8),
        ("mode", 2.0),
        ("midi-cc", 33.0),
        ("snap", 2.0),
    ] {
        set_param(&a, id, value);
    }
    use_model(&a, std::path::Path::new("/some/model"));
    let view = View::Fixed {
        start: 3.0,
        seconds: 77.0,
    };
    a.slicer_params().editor.lock().unwrap().view = view;
    let params = a.params();
    let values: Vec<(String, f32)> = params
        .param_map()
        .into_iter()
        .map(|(id, ptr, _)| (id, unsafe { ptr.unmodulated_normalized_value() }))
        .collect();
    let fields = params.serialize_fields();

    let b = AudioSlicer::default();
    let restored = b.params();
    for (id, ptr, _) in restored.param_map() {
        let v = values.iter().find(|(i, _)| *i == id).unwrap().1;
        unsafe { ptr._internal_set_normalized_value(v) };
    }
    restored.deserialize_fields(&fields);
    let p = b.slicer_params();
    assert!((p.threshold.value() - 1.7).abs() < 1e-4 && (p.min_cut.value() - 0.8).abs() < 1e-4);
    assert!(!p.model_threshold.value());
    assert_eq!((p.midi_cc.value(), p.mode.value() as usize), (33, 2));
    assert_eq!(p.model_dir().as_deref(), Some("/some/model"));
    assert_eq!(p.editor.lock().unwrap().view, view);
}

#[test]
fn a_missing_model_passes_audio_through_and_says_why() {
    let mut plugin = lookahead_plugin();
    use_model(&plugin, std::path::Path::new("/nonexistent/model"));
    let input = session(1.0, 1.0, 3.0);
    let r = render(&mut plugin, &input, &Setup::offline(RATE, &[256]));
    assert_eq!(r.latency, 0);
    assert!(r.output == input, "audio was not passed through");
    let fault = plugin.status().snapshot().fault.clone().unwrap_or_default();
    assert!(fault.contains("model"), "{fault}");
}

#[test]
fn non_finite_input_leaves_as_silence_and_is_reported() {
    let mut input = session(4.0, 2.0, 10.0);
    let bad = seconds(2.0);
    input[0][bad] = f32::NAN;
    input[1][bad] = f32::INFINITY;
    // A second stretch while the first is still in the delay line: neither may be forgotten.
    input[0][bad + 1000] = f32::NEG_INFINITY;
    let mut plugin = gated(true);
    let r = render(&mut plugin, &input, &Setup::offline(RATE, &[512]));
    assert!(r.output.iter().flatten().all(|x| x.is_finite()));
    assert_eq!(r.output[0][bad + r.latency], 0.0);
    assert_eq!(r.output[1][bad + r.latency], 0.0);
    assert_eq!(r.output[0][bad + 1000 + r.latency], 0.0);
    // The rest of that stretch passes ungated, unchanged.
    assert_eq!(r.output[0][bad + 1 + r.latency], input[0][bad + 1]);
    // The rest of the analysis still works: the noise is still cut.
    let mid = seconds(5.0) + r.latency;
    assert_eq!(r.output[0][mid], 0.0);
    let status = plugin.status();
    // Counted per frame of the downmix the analysis sees.
    assert_eq!(
        status
            .non_finite_samples
            .load(std::sync::atomic::Ordering::Relaxed),
        2
    );
}

#[test]
fn the_built_in_model_loads_and_reactivation_at_another_rate_works() {
    let mut plugin = lookahead_plugin();
    let input = vec![music(3.0, 48_000, 5)];
    let first = render(&mut plugin, &input, &Setup::offline(48_000, &[512]));
    let info = plugin.status().snapshot().model.clone();
    assert!(
        !info.name.is_empty() && info.calibrated_threshold > 0.0,
        "{info:?}"
    );
    let input = vec![music(3.0, 96_000, 5)];
    let second = render(&mut plugin, &input, &Setup::offline(96_000, &[777]));
    assert!(
        second.latency > first.latency,
        "{} vs {}",
        second.latency,
        first.latency
    );
    // The editor's snapshot catches up once the analysis thread is idle.
    let caught_up = (0..200).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(50));
        plugin.status().snapshot().analysed_seconds > 2.5
    });
    assert!(
        caught_up,
        "the analysis never published its progress: {:?} after {} s",
        plugin.status().snapshot().fault,
        plugin.status().snapshot().analysed_seconds
    );
    plugin.deactivate();
}

#[test]
fn the_allocation_check_sees_allocations() {
    // Guards the guard: if the counting allocator were not installed, every `allocations == 0`
    // above would pass vacuously.
    let before = nice_assert_no_alloc::violation_count();
    let v = nice_assert_no_alloc::assert_no_alloc(|| std::hint::black_box(vec![1u8; 64]));
    assert!(nice_assert_no_alloc::violation_count() > before);
    drop(v);
}

#[test]
fn the_fixture_for_other_hosts_is_written() {
    // The pedalboard test (tests/vst3) reads this; writing it here keeps its music identical
    // to what the tiny model was trained on.
    let dir = write_host_fixture(6.0, 4.0, 18.0);
    let info: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("fixture.json")).unwrap()).unwrap();
    let reader = hound::WavReader::open(dir.join("session.wav")).unwrap();
    assert_eq!(reader.spec().channels, 2);
    assert_eq!(reader.duration() as usize, seconds(18.0));
    assert!(std::path::Path::new(info["model_dir"].as_str().unwrap())
        .join("config.json")
        .exists());
}
