//! Timeline analysis driven without a host: the first pass over a track passes it untouched
//! and analyses it; a second pass (after a re-activation, as a host bounces) gates it from the
//! plan of the whole track with no latency, the same edit the command line plans, with no
//! allocation in `process()`; a changed threshold re-plans without re-analysis; the analysis of
//! a played song is saved with the project; a host that never plays (pedalboard) is analysed as
//! a stream kept apart from the song; a change of Analysis, or a project state loaded while the
//! host keeps the plugin active (as Ardour loads one), takes effect without a re-activation;
//! stretches kept or cut by hand are what the bounce renders; a soloed piece is all that sounds.
#![cfg(feature = "plugin")]

mod plugin_support;

use audio_slicer::engine::cut_plan::{CutOptions, Decision, Override, SnapMode};
use audio_slicer::engine::edit::{plan_edit_of_log_mel, EditOptions, ThresholdMode};
use audio_slicer::engine::features::{log_mel_of, LogMelExtractor};
use audio_slicer::engine::slicer::Slicer;
use audio_slicer::engine::timeline::TimeRange;
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

fn seconds(t: f64) -> usize {
    (t * f64::from(RATE)) as usize
}

fn timeline_plugin() -> AudioSlicer {
    let plugin = AudioSlicer::default();
    use_model(&plugin, tiny_model_dir());
    set_param(&plugin, "snap", 0.0);
    // The first variant: Timeline.
    set_param(&plugin, "analysis", 0.0);
    plugin
}

/// Cut spans in samples from the cut notes a render sent.
fn cut_notes(r: &Render) -> Vec<(usize, usize)> {
    let mut cuts = Vec::new();
    let mut on = None;
    for (at, event) in &r.midi {
        match event {
            NoteEvent::NoteOn { .. } => on = Some(*at),
            NoteEvent::NoteOff { .. } => cuts.extend(on.take().map(|a| (a, *at))),
            _ => {}
        }
    }
    cuts
}

/// The command line's plan of the plugin's mono downmix, in samples.
fn offline_cuts(input: &[Vec<f32>], threshold_factor: f64) -> Vec<(usize, usize)> {
    let model = Slicer::from_checkpoint(tiny_model_dir()).unwrap();
    let mono: Vec<f32> = input[0]
        .iter()
        .zip(&input[1])
        .map(|(l, r)| (l + r) * 0.5)
        .collect();
    let mut extractor = LogMelExtractor::new(model.features()).unwrap();
    let spec = log_mel_of(&mut extractor, std::slice::from_ref(&mono), RATE).unwrap();
    let options = EditOptions {
        threshold: ThresholdMode::Absolute(model.default_threshold().unwrap() * threshold_factor),
        cut: CutOptions {
            snap: SnapMode::Off,
            ..CutOptions::default()
        },
        ..EditOptions::default()
    };
    let duration = mono.len() as f64 / f64::from(RATE);
    let edit = plan_edit_of_log_mel(&model, &spec, duration, &options, &mut |_, _| {}).unwrap();
    let mut cuts = Vec::new();
    let mut from = 0.0;
    for kept in edit
        .plan
        .keep
        .iter()
        .chain([&audio_slicer::engine::timeline::TimeRange::new(
            duration, duration,
        )])
    {
        if kept.start > from {
            cuts.push((seconds(from), seconds(kept.start)));
        }
        from = kept.end;
    }
    cuts
}

/// Seconds at the end of a track whose plan may differ from the command line's: the plugin's
/// analysis of a region stays open for more audio, so the resampler's last samples are never
/// flushed into it (see `StreamingLogMel::closing_frames`).
const OPEN_TAIL: f64 = 0.2;

/// Asserts the cut spans agree within `tolerance` samples, up to `OPEN_TAIL` before `end`.
fn assert_near(a: &[(usize, usize)], b: &[(usize, usize)], tolerance: usize, end: usize) {
    let before = |cuts: &[(usize, usize)]| -> Vec<(usize, usize)> {
        let limit = end - seconds(OPEN_TAIL);
        cuts.iter()
            .filter(|c| c.0 < limit)
            .map(|&(a, b)| (a, b.min(limit)))
            .collect()
    };
    let (a, b) = (before(a), before(b));
    assert_eq!(a.len(), b.len(), "{a:?} vs {b:?}");
    for (x, y) in a.iter().zip(&b) {
        assert!(
            x.0.abs_diff(y.0) <= tolerance && x.1.abs_diff(y.1) <= tolerance,
            "{a:?} vs {b:?}"
        );
    }
}

/// A song playing from position 0 (without a tempo, so the plan tracks its own beats).
fn playing(blocks: &[usize]) -> Setup {
    Setup {
        transport: HostTransport::Playing,
        ..Setup::offline(RATE, blocks)
    }
}

#[test]
fn the_second_pass_gates_the_command_lines_edit_with_no_latency() {
    let (noise_at, noise_len, total) = (9.0, 4.0, 24.0);
    let input = session(noise_at, noise_len, total);
    let mut plugin = timeline_plugin();
    let setup = Setup::offline(RATE, &[1024, 333, 4096]);
    // First pass: nothing analysed yet, so the track passes bit for bit.
    let first = render(&mut plugin, &input, &setup);
    assert_eq!(first.latency, 0);
    assert_eq!(first.allocations, 0);
    assert!(first.output == input, "the first pass changed the audio");
    assert!(cut_notes(&first).is_empty());

    // Second pass: the plan of the whole track gates it where the audio is.
    let second = render(&mut plugin, &input, &setup);
    assert_eq!(second.latency, 0);
    assert_eq!(second.allocations, 0);
    let expected = offline_cuts(&input, 1.0);
    assert!(!expected.is_empty(), "the command line cuts nothing");
    let cuts = cut_notes(&second);
    assert_near(&cuts, &expected, seconds(0.002), input[0].len());
    let ramp = seconds(0.02);
    for &(a, b) in &cuts {
        assert!(second.output[0][a + ramp..b - ramp]
            .iter()
            .all(|&x| x == 0.0));
    }
    // Away from every cut, the audio passes bit for bit, at the same position.
    let far = |i: usize| cuts.iter().all(|&(a, b)| i + ramp < a || i > b + ramp);
    for (out, inp) in second.output.iter().zip(&input) {
        assert!((0..inp.len()).filter(|&i| far(i)).all(|i| out[i] == inp[i]));
    }
    // The noise is cut.
    let noise_middle = seconds(noise_at + noise_len / 2.0);
    assert!(cuts
        .iter()
        .any(|&(a, b)| a < noise_middle && noise_middle < b));

    // A third pass renders the same edit.
    let third = render(&mut plugin, &input, &Setup::offline(RATE, &[512]));
    assert!(third.output == second.output, "bounces differ");

    // The editor sees the whole track and every cut.
    plugin.deactivate();
    let snapshot = plugin.status().snapshot();
    assert_eq!(snapshot.coverage.len(), 1);
    assert!((snapshot.coverage[0].1 - total).abs() < 1e-3);
    assert_eq!(snapshot.cuts.len(), cuts.len());
}

#[test]
fn a_new_threshold_replans_the_analysed_track() {
    let input = session(6.0, 3.0, 16.0);
    let mut plugin = timeline_plugin();
    let setup = Setup::offline(RATE, &[2048]);
    render(&mut plugin, &input, &setup);
    // Deactivating ends the analysis thread, which publishes its last state.
    plugin.deactivate();
    let analysed = plugin.status().snapshot().analysed_seconds;
    assert!((analysed - 16.0).abs() < 1e-6, "{analysed}");
    let default_cuts = cut_notes(&render(&mut plugin, &input, &setup));
    // An absolute threshold of 0.4 times the model's own.
    let calibrated = Slicer::from_checkpoint(tiny_model_dir())
        .unwrap()
        .default_threshold()
        .unwrap();
    set_param(&plugin, "model-threshold", 0.0);
    set_param(&plugin, "score-threshold", (0.4 * calibrated) as f32);
    let low = render(&mut plugin, &input, &setup);
    assert_near(
        &cut_notes(&low),
        &offline_cuts(&input, 0.4),
        seconds(0.002),
        input[0].len(),
    );
    assert_ne!(
        cut_notes(&low),
        default_cuts,
        "the threshold changed nothing"
    );
    // Nothing was analysed again.
    plugin.deactivate();
    assert_eq!(plugin.status().snapshot().analysed_seconds, analysed);
}

#[test]
fn real_time_timeline_processing_never_allocates() {
    let input = session(4.0, 2.0, 10.0);
    let mut plugin = timeline_plugin();
    let mut setup = Setup::offline(RATE, &[256, 1024, 64]);
    setup.mode = ProcessMode::Realtime;
    for _ in 0..2 {
        let r = render(&mut plugin, &input, &setup);
        assert_eq!(r.allocations, 0);
        assert!(r.output.iter().flatten().all(|x| x.is_finite()));
    }
}

#[test]
fn the_analysis_is_saved_with_the_project_and_gates_a_new_instance() {
    let total = 20.0;
    let input = session(7.0, 3.0, total);
    let setup = playing(&[1024]);
    let mut heard = timeline_plugin();
    render(&mut heard, &input, &setup);
    let edit = render(&mut heard, &input, &setup);
    assert!(!cut_notes(&edit).is_empty(), "nothing to compare: no cuts");
    heard.deactivate();
    // The project's state, as a host saves it, in another instance (another run of the host).
    let fields = heard.slicer_params().serialize_fields();
    let saved = &fields["timeline-analysis"];
    let bytes_per_hour = saved.len() as f64 / total * 3600.0;
    assert!(bytes_per_hour < 1.5e6, "{bytes_per_hour} bytes an hour");
    let mut reopened = timeline_plugin();
    reopened.slicer_params().deserialize_fields(&fields);
    let bounce = render(&mut reopened, &input, &setup);
    assert!(bounce.output == edit.output, "the reopened bounce differs");
    assert_eq!(cut_notes(&bounce), cut_notes(&edit));
    reopened.deactivate();
    let snapshot = reopened.status().snapshot();
    assert!(snapshot.notice.is_none(), "{:?}", snapshot.notice);
    assert!((snapshot.analysed_seconds - total).abs() < 1e-6);

    // The same positions with other audio (the region moved): analysed again, and the new
    // audio's edit replaces the old one.
    let moved: Vec<Vec<f32>> = input
        .iter()
        .map(|c| {
            let mut c = c.clone();
            c.rotate_right(seconds(5.0));
            c
        })
        .collect();
    let mut fresh = timeline_plugin();
    render(&mut fresh, &moved, &setup);
    let expected = render(&mut fresh, &moved, &setup);
    render(&mut reopened, &moved, &setup);
    let after = render(&mut reopened, &moved, &setup);
    assert_near(
        &cut_notes(&after),
        &cut_notes(&expected),
        seconds(0.002),
        moved[0].len(),
    );

    // A damaged state: the track passes, analysed afresh, and the editor says why.
    let mut damaged = fields.clone();
    let text = damaged["timeline-analysis"].replace("\"packed\":\"", "\"packed\":\"!!");
    damaged.insert("timeline-analysis".into(), text);
    let mut broken = timeline_plugin();
    broken.slicer_params().deserialize_fields(&damaged);
    let first = render(&mut broken, &input, &setup);
    assert!(first.output == input);
    broken.deactivate();
    let notice = broken
        .status()
        .snapshot()
        .notice
        .clone()
        .unwrap_or_default();
    assert!(notice.contains("saved analysis"), "{notice}");
}

#[test]
fn a_host_that_never_plays_is_analysed_as_a_stream_apart_from_the_song() {
    let input = session(6.0, 3.0, 16.0);
    let stopped = Setup {
        transport: HostTransport::Stopped,
        ..Setup::offline(RATE, &[1024])
    };
    let mut plugin = timeline_plugin();
    // A DAW processing silence before its first play: nothing is analysed.
    let silence = vec![vec![0.0; seconds(2.0)]; 2];
    assert!(render(&mut plugin, &silence, &stopped).output == silence);
    plugin.deactivate();
    assert_eq!(plugin.status().snapshot().analysed_seconds, 0.0);

    // pedalboard: stopped at position 0 on every buffer, one pass after another. The first
    // pass is heard on the stream, the second gated with the command line's edit.
    let first = render(&mut plugin, &input, &stopped);
    assert!(first.output == input, "the first pass changed the audio");
    let second = render(&mut plugin, &input, &stopped);
    assert_eq!(second.latency, 0);
    let expected = offline_cuts(&input, 1.0);
    assert!(!expected.is_empty(), "the command line cuts nothing");
    assert_near(
        &cut_notes(&second),
        &expected,
        seconds(0.002),
        input[0].len(),
    );
    // The stream is no song: nothing of it goes into the project.
    plugin.deactivate();
    let fields = plugin.slicer_params().serialize_fields();
    assert!(
        fields.get("timeline-analysis").is_none_or(|s| s == "null"),
        "the stream was saved as the song's analysis"
    );

    // The host plays its song: the stream's plan gates nothing there; the song is heard anew.
    let song = render(&mut plugin, &input, &playing(&[1024]));
    assert!(song.output == input, "the stream's plan gated the song");
    let song_edit = render(&mut plugin, &input, &playing(&[1024]));
    assert_eq!(cut_notes(&song_edit), cut_notes(&second));
    plugin.deactivate();
    let analysed = plugin.status().snapshot().analysed_seconds;
    assert!((analysed - 16.0).abs() < 1e-6, "{analysed}");
    // A stopped song is not a stream: what the host processes then passes, unanalysed.
    let other = session(2.0, 5.0, 10.0);
    assert!(render(&mut plugin, &other, &stopped).output == other);
    plugin.deactivate();
    assert_eq!(plugin.status().snapshot().analysed_seconds, analysed);
}

#[test]
fn a_change_of_analysis_takes_effect_while_the_plugin_stays_active() {
    let input = session(6.0, 3.0, 16.0);
    let setup = playing(&[1024]);
    let plugin = &mut timeline_plugin();
    set_param(plugin, "analysis", 1.0);
    let lookahead = render(plugin, &input, &setup);
    assert!(lookahead.latency > 0);

    // The host never re-activates (Ardour ignores restart requests). Offline, the first
    // buffer after the change is already the new mode's: latency 0, the audio analysed and
    // passed bit for bit.
    set_param(plugin, "analysis", 0.0);
    let first = process_all(plugin, &input, &setup, lookahead.latency);
    assert_eq!(first.latency, 0);
    assert_eq!(first.allocations, 0);
    assert!(
        first.output == input,
        "the first Timeline pass changed the audio"
    );
    let second = process_all(plugin, &input, &setup, first.latency);
    assert_eq!(second.allocations, 0);
    assert_near(
        &cut_notes(&second),
        &offline_cuts(&input, 1.0),
        seconds(0.002),
        input[0].len(),
    );

    // And back: the lookahead's latency is reported again.
    set_param(plugin, "analysis", 1.0);
    let back = process_all(plugin, &input, &setup, second.latency);
    assert_eq!(back.latency, lookahead.latency);
    assert_eq!(back.allocations, 0);
}

#[test]
fn a_project_loaded_after_activation_gates_from_its_saved_analysis() {
    let input = session(7.0, 3.0, 20.0);
    let setup = playing(&[1024]);
    let mut heard = timeline_plugin();
    render(&mut heard, &input, &setup);
    let edit = render(&mut heard, &input, &setup);
    assert!(!cut_notes(&edit).is_empty(), "nothing to compare: no cuts");
    heard.deactivate();
    let fields = heard.slicer_params().serialize_fields();

    // Ardour's order: the plugin is created and activated, then the project's state is loaded,
    // and the export follows without another activation.
    let reopened = &mut timeline_plugin();
    let silence = vec![vec![0.0; 4096]; 2];
    render(reopened, &silence, &Setup::offline(RATE, &[1024]));
    reopened.slicer_params().deserialize_fields(&fields);
    let bounce = process_all(reopened, &input, &setup, 0);
    assert_eq!(bounce.allocations, 0);
    assert!(
        bounce.output == edit.output,
        "the loaded analysis did not gate"
    );
    assert_eq!(cut_notes(&bounce), cut_notes(&edit));
}

#[test]
fn a_state_loaded_into_a_running_lookahead_leaves_its_window_alone() {
    let input = session(5.0, 3.0, 14.0);
    let setup = Setup::offline(RATE, &[1024]);
    let plugin = &mut timeline_plugin();
    set_param(plugin, "analysis", 1.0);
    let whole = render(plugin, &input, &setup);
    let fields = plugin.slicer_params().serialize_fields();
    // The same render, with the project's (unchanged) state loaded half way through.
    let split = 1024 * 300;
    let head: Vec<Vec<f32>> = input.iter().map(|c| c[..split].to_vec()).collect();
    let tail: Vec<Vec<f32>> = input.iter().map(|c| c[split..].to_vec()).collect();
    let first = render(plugin, &head, &setup);
    plugin.slicer_params().deserialize_fields(&fields);
    let second = process_all(plugin, &tail, &setup, first.latency);
    assert_eq!(second.latency, whole.latency);
    let joined: Vec<Vec<f32>> = first
        .output
        .iter()
        .zip(&second.output)
        .map(|(a, b)| [a.as_slice(), b].concat())
        .collect();
    assert!(
        joined == whole.output,
        "the state load restarted the lookahead"
    );
}

/// Where [`analysed_and_gated`]'s session has its noise: 4 s from 9 s of a 24 s session.
const NOISE: (f64, f64, f64) = (9.0, 4.0, 24.0);

/// A Timeline plugin that has analysed the noisy session and gated it once, with the session,
/// the render setup and that gated pass.
fn analysed_and_gated() -> (AudioSlicer, Vec<Vec<f32>>, Setup, Render) {
    let (noise_at, noise_len, total) = NOISE;
    let input = session(noise_at, noise_len, total);
    let mut plugin = timeline_plugin();
    let setup = Setup::offline(RATE, &[1024]);
    render(&mut plugin, &input, &setup);
    let gated = render(&mut plugin, &input, &setup);
    (plugin, input, setup, gated)
}

/// The cut over the middle of the noise of [`analysed_and_gated`]'s session.
fn noise_cut(cuts: &[(usize, usize)]) -> (usize, usize) {
    let middle = seconds(NOISE.0 + NOISE.1 / 2.0);
    *cuts
        .iter()
        .find(|&&(a, b)| a < middle && middle < b)
        .expect("the model cuts the noise")
}

#[test]
fn stretches_kept_or_cut_by_hand_are_what_the_bounce_renders() {
    let (mut plugin, input, setup, gated) = analysed_and_gated();
    let model_cuts = cut_notes(&gated);
    let noise_cut = noise_cut(&model_cuts);
    // Keep the noise by hand and cut two seconds of music the model kept, as a click in the
    // editor does; saved with the project as song seconds.
    let (cut_from, cut_to) = (2.0, 4.0);
    let by_hand = vec![
        Override {
            range: TimeRange::new(
                noise_cut.0 as f64 / f64::from(RATE),
                noise_cut.1 as f64 / f64::from(RATE),
            ),
            decision: Decision::Keep,
        },
        Override {
            range: TimeRange::new(cut_from, cut_to),
            decision: Decision::Cut,
        },
    ];
    *plugin.slicer_params().overrides.lock().unwrap() = by_hand.clone();
    let fields = plugin.params().serialize_fields();
    let out = render(&mut plugin, &input, &setup);
    assert_eq!(out.allocations, 0);
    let cuts = cut_notes(&out);
    assert!(
        cuts.iter()
            .all(|&(a, b)| b <= noise_cut.0 || a >= noise_cut.1),
        "the noise kept by hand is still cut: {cuts:?}"
    );
    assert!(
        cuts.contains(&(seconds(cut_from), seconds(cut_to))),
        "{cuts:?}"
    );
    let ramp = seconds(0.02);
    for (o, i) in out.output.iter().zip(&input) {
        assert!(o[seconds(cut_from) + ramp..seconds(cut_to) - ramp]
            .iter()
            .all(|&x| x == 0.0));
        assert_eq!(
            o[noise_cut.0 + ramp..noise_cut.1 - ramp],
            i[noise_cut.0 + ramp..noise_cut.1 - ramp]
        );
    }
    // The overrides are saved with the project and come back with it.
    let reopened = AudioSlicer::default();
    reopened.params().deserialize_fields(&fields);
    assert_eq!(*reopened.slicer_params().overrides.lock().unwrap(), by_hand);
    // Given back to the model: its edit again.
    plugin.slicer_params().overrides.lock().unwrap().clear();
    assert_eq!(cut_notes(&render(&mut plugin, &input, &setup)), model_cuts);
}

#[test]
fn a_soloed_piece_is_all_that_sounds_whatever_the_mode() {
    let (mut plugin, input, setup, gated) = analysed_and_gated();
    let cut = noise_cut(&cut_notes(&gated));
    // Solo the cut, as an alt-click in the editor does: it sounds though Gate cuts it.
    let rate = f64::from(RATE);
    plugin
        .status()
        .set_solo(Some((cut.0 as f64 / rate, cut.1 as f64 / rate)));
    let out = render(&mut plugin, &input, &setup);
    assert_eq!(out.allocations, 0);
    let ramp = seconds(0.02);
    for (o, i) in out.output.iter().zip(&input) {
        assert_eq!(o[cut.0 + ramp..cut.1 - ramp], i[cut.0 + ramp..cut.1 - ramp]);
        assert!(o[..cut.0 - ramp]
            .iter()
            .chain(&o[cut.1 + ramp..])
            .all(|&x| x == 0.0));
    }
    // Solo stopped: the gate's edit again.
    plugin.status().set_solo(None);
    assert!(render(&mut plugin, &input, &setup).output == gated.output);
}
