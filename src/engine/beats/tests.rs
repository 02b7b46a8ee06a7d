//! Tests of the parent module.
use super::*;

const N_MELS: usize = 64;
const FRAME_RATE: f64 = 22050.0 / 256.0;
/// What ln(power + 1e-6) gives for silence.
const FLOOR: f32 = -13.8;

use crate::synth::Lcg;

/// A synthetic click track and the ground truth it was built from.
struct ClickTrack {
    log_mel: Vec<f32>,
    clicks: Vec<f64>,
    accented: Vec<f64>,
}

/// Log-mel of a noise floor with broadband clicks every 60/bpm seconds from `offset` until
/// `seconds`, where every fourth click starting at click `accent_phase` is louder. Each click
/// decays over a few frames, as a windowed transient does.
fn click_track(bpm: f64, offset: f64, seconds: f64, accent_phase: usize) -> ClickTrack {
    played_track(bpm, offset, seconds, accent_phase, 0.0)
}

/// Like [`click_track`], with each click displaced by up to `jitter` seconds either way, as
/// a human player would.
fn played_track(
    bpm: f64,
    offset: f64,
    seconds: f64,
    accent_phase: usize,
    jitter: f64,
) -> ClickTrack {
    let frames = (seconds * FRAME_RATE) as usize;
    let mut rng = Lcg::new(0x5eed ^ bpm.to_bits());
    let mut log_mel: Vec<f32> = (0..frames * N_MELS)
        .map(|_| FLOOR + 0.5 * (rng.unit() - 0.5))
        .collect();
    let (mut clicks, mut accented) = (Vec::new(), Vec::new());
    for k in 0.. {
        let time = offset + k as f64 * 60.0 / bpm + jitter * f64::from(2.0 * rng.unit() - 1.0);
        let frame = (time * FRAME_RATE).round() as usize;
        if frame + 3 >= frames {
            break;
        }
        let accent = k % 4 == accent_phase;
        let level = if accent { 16.0 } else { 12.0 };
        for (decay, lift) in [1.0f32, 0.6, 0.3].into_iter().enumerate() {
            let row = &mut log_mel[(frame + decay) * N_MELS..(frame + decay + 1) * N_MELS];
            for v in row {
                *v += level * lift;
            }
        }
        clicks.push(time);
        if accent {
            accented.push(time);
        }
    }
    ClickTrack {
        log_mel,
        clicks,
        accented,
    }
}

fn silence(seconds: f64) -> Vec<f32> {
    vec![FLOOR; (seconds * FRAME_RATE) as usize * N_MELS]
}

fn nearest_distance(t: f64, times: &[f64]) -> f64 {
    times
        .iter()
        .map(|x| (x - t).abs())
        .fold(f64::INFINITY, f64::min)
}

/// Fraction of `expected` times that have a `found` time within `tolerance` seconds.
fn hit_rate(expected: &[f64], found: &[f64], tolerance: f64) -> f64 {
    let hits = expected
        .iter()
        .filter(|&&t| nearest_distance(t, found) <= tolerance)
        .count();
    hits as f64 / expected.len().max(1) as f64
}

fn assert_tempo_close(bpm: f64, expected: f64) {
    let error = (bpm - expected).abs() / expected;
    assert!(
        error < 0.02,
        "tempo {bpm:.2} is not within 2% of {expected}"
    );
}

#[test]
fn envelope_has_one_value_per_frame_and_ignores_partial_frame() {
    let mut log_mel = silence(1.0);
    let frames = log_mel.len() / N_MELS;
    log_mel.extend([0.0; N_MELS / 2]);
    assert_eq!(onset_envelope(&log_mel, N_MELS).len(), frames);
}

#[test]
fn envelope_of_steady_input_is_zero() {
    let env = onset_envelope(&silence(2.0), N_MELS);
    assert!(env.iter().all(|&v| v == 0.0));
}

#[test]
fn envelope_peaks_on_rises_not_falls() {
    // Loud from frame 40 to 59: only frame 40 (the rise) should stand out.
    let mut log_mel = silence(1.0);
    for v in &mut log_mel[40 * N_MELS..60 * N_MELS] {
        *v = 0.0;
    }
    let env = onset_envelope(&log_mel, N_MELS);
    assert!(env[40] > 0.0);
    assert_eq!(env[60], 0.0, "the fall at frame 60 must not register");
    let strongest = first_argmax(&env.iter().map(|&v| f64::from(v)).collect::<Vec<_>>());
    assert_eq!(strongest, Some(40));
}

#[test]
fn envelope_handles_degenerate_input() {
    assert!(onset_envelope(&[], N_MELS).is_empty());
    assert!(onset_envelope(&[1.0, 2.0, 3.0], 0).is_empty());
    assert!(onset_envelope(&[1.0; 10], 64).is_empty());
    let with_nan = [0.0, f32::NAN, f32::NEG_INFINITY, 1.0];
    assert!(onset_envelope(&with_nan, 1).iter().all(|v| v.is_finite()));
}

#[test]
fn tempo_of_click_envelopes_is_within_two_percent() {
    for bpm in [90.0, 120.0, 140.0, 75.0, 160.0] {
        let track = click_track(bpm, 0.0, 20.0, 0);
        let env = onset_envelope(&track.log_mel, N_MELS);
        let tempo = estimate_tempo(&env, FRAME_RATE);
        assert_tempo_close(tempo.unwrap_or(0.0), bpm);
    }
}

#[test]
fn tempo_is_none_without_periodicity() {
    assert_eq!(estimate_tempo(&[], FRAME_RATE), None);
    assert_eq!(estimate_tempo(&vec![0.0; 2000], FRAME_RATE), None);
    assert_eq!(estimate_tempo(&vec![3.0; 2000], FRAME_RATE), None);
    let mut single_hit = vec![0.0; 2000];
    single_hit[700] = 10.0;
    assert_eq!(estimate_tempo(&single_hit, FRAME_RATE), None);
}

#[test]
fn tempo_is_none_for_bad_frame_rate_or_too_short_envelope() {
    let env = onset_envelope(&click_track(120.0, 0.0, 10.0, 0).log_mel, N_MELS);
    assert_eq!(estimate_tempo(&env, 0.0), None);
    assert_eq!(estimate_tempo(&env, f64::NAN), None);
    assert_eq!(estimate_tempo(&env, -86.0), None);
    assert_eq!(estimate_tempo(&env[..10], FRAME_RATE), None);
}

#[test]
fn beats_follow_clicks_at_several_tempos() {
    for bpm in [90.0, 120.0, 140.0] {
        let track = click_track(bpm, 0.0, 20.0, 0);
        let grid = track_beats(&track.log_mel, N_MELS, FRAME_RATE);
        assert_tempo_close(grid.tempo_bpm, bpm);
        let rate = hit_rate(&track.clicks, &grid.beats, 0.025);
        assert!(
            rate >= 0.9,
            "{bpm} BPM: only {rate:.2} of clicks have a beat"
        );
        let stray = grid
            .beats
            .iter()
            .filter(|&&b| nearest_distance(b, &track.clicks) > 0.025)
            .count();
        assert!(stray <= 1, "{bpm} BPM: {stray} beats away from any click");
    }
}

#[test]
fn beats_follow_a_loosely_played_pulse() {
    let track = played_track(110.0, 0.5, 20.0, 0, 0.012);
    let grid = track_beats(&track.log_mel, N_MELS, FRAME_RATE);
    assert_tempo_close(grid.tempo_bpm, 110.0);
    let rate = hit_rate(&track.clicks, &grid.beats, 0.025);
    assert!(rate >= 0.9, "only {rate:.2} of played notes have a beat");
}

#[test]
fn beats_start_at_an_offset_start_and_skip_the_silence_before_it() {
    let track = click_track(120.0, 1.37, 20.0, 2);
    let grid = track_beats(&track.log_mel, N_MELS, FRAME_RATE);
    assert_tempo_close(grid.tempo_bpm, 120.0);
    assert!(hit_rate(&track.clicks, &grid.beats, 0.025) >= 0.9);
    let first = grid.beats.first().copied().unwrap_or(f64::NAN);
    assert!((first - 1.37).abs() <= 0.025, "first beat at {first}");
}

#[test]
fn downbeats_land_on_accented_clicks() {
    for (bpm, offset, phase) in [(90.0, 0.0, 0), (120.0, 0.6, 1), (140.0, 1.37, 3)] {
        let track = click_track(bpm, offset, 20.0, phase);
        let grid = track_beats(&track.log_mel, N_MELS, FRAME_RATE);
        assert!(grid.downbeats.len() >= track.accented.len() - 1);
        for &d in &grid.downbeats {
            let miss = nearest_distance(d, &track.accented);
            assert!(miss <= 0.025, "{bpm} BPM: downbeat {d} is not on an accent");
        }
        assert_eq!(grid.bars(), grid.downbeats.as_slice());
    }
}

#[test]
fn onsets_are_found_at_every_click() {
    let track = click_track(120.0, 0.3, 10.0, 0);
    let grid = track_beats(&track.log_mel, N_MELS, FRAME_RATE);
    assert!(hit_rate(&track.clicks, &grid.onsets, 0.012) >= 0.99);
    assert!(
        grid.onsets.len() <= track.clicks.len() + 1,
        "spurious onsets"
    );
}

#[test]
fn grid_times_are_ascending() {
    let track = click_track(140.0, 0.8, 15.0, 1);
    let grid = track_beats(&track.log_mel, N_MELS, FRAME_RATE);
    for times in [&grid.beats, &grid.downbeats, &grid.onsets] {
        assert!(!times.is_empty());
        assert!(times.windows(2).all(|w| w[0] < w[1]));
    }
}

#[test]
fn beat_placement_does_not_run_back_into_leading_silence() {
    let mut strength = vec![0.0; 400];
    for t in (150..400).step_by(40) {
        strength[t] = 5.0;
    }
    let beats = place_beats(&strength, 40.0);
    assert_eq!(beats.first(), Some(&150));
    assert!(beats.windows(2).all(|w| w[1] - w[0] == 40));
}

#[test]
fn silence_and_empty_input_give_an_empty_grid() {
    assert_eq!(
        track_beats(&silence(5.0), N_MELS, FRAME_RATE),
        BeatGrid::empty()
    );
    assert_eq!(track_beats(&[], N_MELS, FRAME_RATE), BeatGrid::empty());
    assert_eq!(track_beats(&[0.0; 64], 0, FRAME_RATE), BeatGrid::empty());
    let track = click_track(120.0, 0.0, 5.0, 0);
    assert_eq!(track_beats(&track.log_mel, N_MELS, 0.0), BeatGrid::empty());
    assert!(BeatGrid::empty().is_empty());
}

#[test]
fn extreme_frame_rates_do_not_panic() {
    let track = click_track(120.0, 0.0, 5.0, 0);
    for rate in [1e-300, 1e-3, 1.0, 1e6, 1e300, f64::INFINITY] {
        let grid = track_beats(&track.log_mel, N_MELS, rate);
        assert!(grid.beats.iter().all(|t| t.is_finite()));
        assert!(grid.tempo_bpm.is_finite());
    }
}

#[test]
fn a_single_hit_gives_an_onset_but_no_beats() {
    let mut log_mel = silence(5.0);
    for v in &mut log_mel[200 * N_MELS..201 * N_MELS] {
        *v = 0.0;
    }
    let grid = track_beats(&log_mel, N_MELS, FRAME_RATE);
    assert!(grid.beats.is_empty());
    assert_eq!(grid.tempo_bpm, 0.0);
    assert_eq!(grid.onsets.len(), 1);
    assert!((grid.onsets[0] - 200.0 / FRAME_RATE).abs() < 1e-9);
}

#[test]
fn grid_survives_a_serde_round_trip() {
    // Exactly representable times, since JSON floats need not round-trip to the last bit.
    let grid = BeatGrid {
        tempo_bpm: 120.0,
        beats: vec![0.5, 1.0, 1.5, 2.0, 2.5],
        downbeats: vec![0.5, 2.5],
        onsets: vec![0.25, 0.5, 1.0],
    };
    let json = serde_json::to_string(&grid).unwrap_or_default();
    let back: Option<BeatGrid> = serde_json::from_str(&json).ok();
    assert_eq!(back, Some(grid));
}
