//! Tests of the parent module, on synthetic sessions built here: music with junk between the
//! takes, and edits made from them the way an editor would (joins with equal-power crossfades,
//! a gain change, a mild low-pass and noise standing in for lossy re-encoding).

use super::*;
use crate::engine::features::resample_mono;

const RATE: u32 = 22_050;
/// The precision the module promises, in seconds.
const TOLERANCE: f64 = 0.02;

use crate::synth::{random_notes as music, Lcg};

fn samples(seconds: f64, rate: u32) -> usize {
    (seconds * f64::from(rate)).round() as usize
}

/// Broadband noise, like handling noise between takes.
fn noise(seconds: f64, rate: u32, seed: u64) -> Vec<f32> {
    let mut rng = Lcg::spread(seed);
    (0..samples(seconds, rate))
        .map(|_| 0.2 * (rng.unit() - 0.5))
        .collect()
}

/// Mains hum with harmonics.
fn hum(seconds: f64, rate: u32) -> Vec<f32> {
    (0..samples(seconds, rate))
        .map(|i| {
            let t = i as f32 / rate as f32;
            (1..4)
                .map(|h| 0.05 * (2.0 * std::f32::consts::PI * 50.0 * h as f32 * t).sin())
                .sum()
        })
        .collect()
}

/// A raw session: parts laid end to end, with the raw range of each part.
struct Session {
    raw: Vec<f32>,
    parts: Vec<TimeRange>,
}

fn session(parts: Vec<Vec<f32>>, rate: u32) -> Session {
    let mut raw = Vec::new();
    let mut ranges = Vec::new();
    for part in parts {
        let start = raw.len() as f64 / f64::from(rate);
        raw.extend_from_slice(&part);
        ranges.push(TimeRange::new(start, raw.len() as f64 / f64::from(rate)));
    }
    Session { raw, parts: ranges }
}

/// The usual session: junk, take A (6 s), noise, take B (5 s), hum, take C (7 s), noise.
/// Returns it with the raw ranges of A, B and C.
fn three_takes(rate: u32) -> (Vec<f32>, [TimeRange; 3]) {
    let s = session(
        vec![
            noise(1.0, rate, 1),
            music(6.0, rate, 10),
            noise(2.0, rate, 2),
            music(5.0, rate, 11),
            hum(1.5, rate),
            music(7.0, rate, 12),
            noise(1.0, rate, 3),
        ],
        rate,
    );
    (s.raw, [s.parts[1], s.parts[3], s.parts[5]])
}

/// Joins the raw `spans` (in edit order) with equal-power crossfades of `crossfade` seconds
/// centred on each join, as an editor does; returns the edit and the true alignment.
fn edit(
    raw: &[f32],
    rate: u32,
    spans: &[TimeRange],
    crossfade: f64,
) -> (Vec<f32>, Vec<AlignedSpan>) {
    let lens: Vec<usize> = spans
        .iter()
        .map(|r| samples(r.end, rate) - samples(r.start, rate))
        .collect();
    let total: usize = lens.iter().sum();
    let half = samples(crossfade / 2.0, rate);
    let mut out = vec![0.0f32; total];
    let mut truth = Vec::new();
    let mut at = 0usize;
    for (i, (span, &len)) in spans.iter().zip(&lens).enumerate() {
        let src = samples(span.start, rate) as i64;
        let fade_in = if i == 0 { 0 } else { half };
        let fade_out = if i + 1 == spans.len() { 0 } else { half };
        let from = at.saturating_sub(fade_in);
        let to = (at + len + fade_out).min(total);
        for (n, o) in out.iter_mut().enumerate().take(to).skip(from) {
            let raw_index = src + n as i64 - at as i64;
            let Some(&x) = usize::try_from(raw_index).ok().and_then(|k| raw.get(k)) else {
                continue;
            };
            let mut w = 1.0f64;
            if fade_in > 0 && n < at + fade_in {
                let phase = (n + fade_in - at) as f64 / (2 * fade_in) as f64;
                w *= (std::f64::consts::FRAC_PI_2 * phase).sin();
            }
            if fade_out > 0 && n + fade_out >= at + len {
                let phase = (n + fade_out - (at + len)) as f64 / (2 * fade_out) as f64;
                w *= (std::f64::consts::FRAC_PI_2 * phase).cos();
            }
            *o += (w as f32) * x;
        }
        let seconds = |s: usize| s as f64 / f64::from(rate);
        truth.push(AlignedSpan {
            raw: TimeRange::new(seconds(src as usize), seconds(src as usize + len)),
            edited: TimeRange::new(seconds(at), seconds(at + len)),
        });
        at += len;
    }
    (out, truth)
}

/// What a lossy re-encode at another level does, roughly: gain, a gentle low-pass, and noise.
fn degrade(signal: &mut [f32], gain: f32, seed: u64) {
    let mut rng = Lcg::spread(seed);
    let mut state = 0.0f32;
    for s in signal.iter_mut() {
        state = 0.7 * *s + 0.3 * state;
        *s = gain * state + 0.001 * (rng.unit() - 0.5);
    }
}

fn clip(rate: u32, mono: Vec<f32>) -> AudioClip {
    AudioClip::new(rate, vec![mono])
}

fn assert_close(got: &[AlignedSpan], want: &[AlignedSpan]) {
    assert_eq!(got.len(), want.len(), "got {got:#?}\nwant {want:#?}");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        let pairs = [
            (g.raw.start, w.raw.start),
            (g.raw.end, w.raw.end),
            (g.edited.start, w.edited.start),
            (g.edited.end, w.edited.end),
        ];
        for (a, b) in pairs {
            assert!(
                (a - b).abs() <= TOLERANCE,
                "span {i}: got {g:?}, want {w:?}"
            );
        }
    }
}

#[test]
fn an_in_order_edit_is_recovered_across_rates_gain_and_crossfades() {
    // Raw at 44.1 kHz stereo; the edit rendered from it, then re-encoded at 22.05 kHz mono,
    // 6 dB down, low-passed and noisy, with 50 ms crossfades.
    let (raw, [a, b, c]) = three_takes(44_100);
    let spans = [
        TimeRange::new(a.start + 0.5, a.end - 0.3),
        TimeRange::new(b.start, b.end - 1.0),
        TimeRange::new(c.start + 0.2, c.end),
    ];
    let (edited, truth) = edit(&raw, 44_100, &spans, 0.05);
    let mut edited = resample_mono(&edited, 44_100, RATE).unwrap();
    degrade(&mut edited, 0.5, 7);
    let raw_clip = AudioClip::new(
        44_100,
        vec![raw.clone(), raw.iter().map(|s| 0.8 * s).collect()],
    );
    let alignment = align(&raw_clip, &clip(RATE, edited)).unwrap();

    assert_close(&alignment.spans, &truth);
    assert!(alignment.in_order && alignment.repeated.is_empty());
    assert!(alignment.out_of_order().is_empty());
    assert!(alignment.unmatched_seconds < TOLERANCE, "{alignment:?}");
    let kept = alignment.kept_ranges(raw_clip.duration());
    assert_eq!(kept.len(), 3);
    for (k, s) in kept.iter().zip(&spans) {
        assert!((k.start - s.start).abs() <= TOLERANCE && (k.end - s.end).abs() <= TOLERANCE);
    }
}

#[test]
fn reordered_and_repeated_spans_are_flagged() {
    let (raw, [a, b, c]) = three_takes(RATE);
    let spans = [a, c, b, TimeRange::new(a.start, a.start + 3.0)];
    let (mut edited, truth) = edit(&raw, RATE, &spans, 0.03);
    degrade(&mut edited, 1.5, 8);
    let alignment = align(&clip(RATE, raw.clone()), &clip(RATE, edited)).unwrap();

    assert_close(&alignment.spans, &truth);
    assert!(!alignment.in_order);
    assert_eq!(alignment.repeated, vec![3]);
    assert_eq!(alignment.out_of_order(), vec![2, 3]);
    // The repeat adds nothing to what was kept, and the keep list is ascending.
    let kept = alignment.kept_ranges(raw.len() as f64 / f64::from(RATE));
    assert_eq!(kept.len(), 3);
    for (k, s) in kept.iter().zip([a, b, c]) {
        assert!((k.start - s.start).abs() <= TOLERANCE && (k.end - s.end).abs() <= TOLERANCE);
    }
}

#[test]
fn a_false_start_is_cut_and_the_later_take_kept() {
    // Take B is preceded by a false start: its first 2.5 s, faded out, then noise.
    let take_b = music(6.0, RATE, 21);
    let mut false_start = take_b[..samples(2.5, RATE)].to_vec();
    let fade = samples(0.3, RATE);
    let len = false_start.len();
    for (i, s) in false_start[len - fade..].iter_mut().enumerate() {
        *s *= 1.0 - i as f32 / fade as f32;
    }
    let s = session(
        vec![
            music(5.0, RATE, 20),
            false_start,
            noise(2.0, RATE, 4),
            take_b,
            noise(1.0, RATE, 5),
        ],
        RATE,
    );
    let (a, b) = (s.parts[0], s.parts[3]);
    let (mut edited, truth) = edit(&s.raw, RATE, &[a, b], 0.0);
    degrade(&mut edited, 0.7, 9);
    let alignment = align(&clip(RATE, s.raw.clone()), &clip(RATE, edited)).unwrap();
    assert_close(&alignment.spans, &truth);
    assert!(alignment.in_order);
}

#[test]
fn a_pause_inside_a_take_stays_inside_its_span() {
    let mut take = music(4.0, RATE, 30);
    take.extend(vec![0.0; samples(2.0, RATE)]);
    take.extend(music(4.0, RATE, 31));
    let s = session(vec![noise(1.5, RATE, 6), take, noise(1.5, RATE, 7)], RATE);
    let (edited, truth) = edit(&s.raw, RATE, &[s.parts[1]], 0.0);
    let alignment = align(&clip(RATE, s.raw.clone()), &clip(RATE, edited)).unwrap();
    assert_close(&alignment.spans, &truth);
}

#[test]
fn foreign_audio_in_the_edit_is_reported_unmatched() {
    let (raw, [a, _, c]) = three_takes(RATE);
    let (first, _) = edit(&raw, RATE, &[a], 0.0);
    let (last, _) = edit(&raw, RATE, &[c], 0.0);
    let mut edited = first.clone();
    edited.extend(music(3.0, RATE, 99));
    edited.extend(&last);
    let alignment = align(&clip(RATE, raw), &clip(RATE, edited)).unwrap();
    assert_eq!(alignment.spans.len(), 2, "{alignment:?}");
    assert!(
        (alignment.unmatched_seconds - 3.0).abs() < 0.1,
        "{alignment:?}"
    );
    let a_len = first.len() as f64 / f64::from(RATE);
    assert!((alignment.spans[0].edited.end - a_len).abs() <= TOLERANCE);
    assert!((alignment.spans[1].edited.start - a_len - 3.0).abs() <= TOLERANCE);
    assert!((alignment.spans[1].raw.start - c.start).abs() <= TOLERANCE);
}

#[test]
fn an_edit_longer_than_its_raw_is_a_repeat() {
    let raw = music(5.0, RATE, 40);
    let mut edited = raw.clone();
    edited.extend_from_slice(&raw);
    let alignment = align(&clip(RATE, raw), &clip(RATE, edited)).unwrap();
    assert_eq!(alignment.spans.len(), 2, "{alignment:?}");
    assert_eq!(alignment.repeated, vec![1]);
    assert!(!alignment.in_order);
    let kept = alignment.kept_ranges(5.0);
    assert_eq!(kept.len(), 1);
    assert!(kept[0].start <= TOLERANCE && kept[0].end >= 5.0 - TOLERANCE);
}

#[test]
fn short_clips_still_align() {
    let raw = music(0.4, RATE, 50);
    let edited = raw[samples(0.1, RATE)..samples(0.35, RATE)].to_vec();
    let alignment = align(&clip(RATE, raw), &clip(RATE, edited)).unwrap();
    assert_eq!(alignment.spans.len(), 1, "{alignment:?}");
    assert!((alignment.spans[0].raw.start - 0.1).abs() <= TOLERANCE);
    assert!((alignment.spans[0].raw.end - 0.35).abs() <= TOLERANCE);
}

#[test]
fn unusable_input_is_an_error_not_a_panic() {
    let good = clip(RATE, music(3.0, RATE, 60));
    let message = |raw: &AudioClip, edited: &AudioClip| match align(raw, edited) {
        Ok(a) => panic!("expected an error, got {a:?}"),
        Err(e) => format!("{e:#}"),
    };
    let empty = AudioClip::new(RATE, vec![]);
    assert!(message(&empty, &good).contains("raw recording holds no audio"));
    assert!(message(&good, &clip(RATE, vec![])).contains("edited file holds no audio"));
    let silent = clip(RATE, vec![0.0; samples(2.0, RATE)]);
    assert!(message(&good, &silent).contains("edited file is silent"));
    assert!(message(&silent, &good).contains("raw recording is silent"));
    let tiny = clip(RATE, music(3.0, RATE, 60)[..samples(0.01, RATE)].to_vec());
    assert!(message(&good, &tiny).contains("too short"));
    assert!(message(&AudioClip::new(0, vec![vec![0.1; 100]]), &good).contains("sample rate"));
    let unrelated = clip(RATE, music(3.0, RATE, 61));
    assert!(message(&good, &unrelated).contains("no part of the edited file matches"));
    let hiss = clip(RATE, noise(3.0, RATE, 62));
    assert!(message(&good, &hiss).contains("no part of the edited file matches"));
}

#[test]
fn non_finite_samples_are_treated_as_silence() {
    let raw = music(4.0, RATE, 70);
    let mut edited = raw[samples(1.0, RATE)..samples(3.5, RATE)].to_vec();
    edited[1000] = f32::NAN;
    edited[2000] = f32::INFINITY;
    let alignment = align(&clip(RATE, raw), &clip(RATE, edited)).unwrap();
    assert_eq!(alignment.spans.len(), 1);
    assert!((alignment.spans[0].raw.start - 1.0).abs() <= TOLERANCE);
}

#[test]
fn kept_ranges_merge_clip_and_sort() {
    let span = |raw: (f64, f64), edited: (f64, f64)| AlignedSpan {
        raw: TimeRange::new(raw.0, raw.1),
        edited: TimeRange::new(edited.0, edited.1),
    };
    let alignment = Alignment {
        spans: vec![
            span((5.0, 8.0), (0.0, 3.0)),
            span((1.0, 2.0), (3.0, 4.0)),
            span((7.0, 9.5), (4.0, 6.5)),
            span((8.0, 12.0), (6.5, 10.5)),
        ],
        in_order: false,
        repeated: vec![2],
        unmatched_seconds: 0.0,
        cuts: Vec::new(),
    };
    assert_eq!(
        alignment.kept_ranges(10.0),
        vec![TimeRange::new(1.0, 2.0), TimeRange::new(5.0, 10.0)]
    );
    assert_eq!(alignment.out_of_order(), vec![1, 3]);
    assert!(alignment.kept_ranges(f64::NAN).len() == 2);
    assert_eq!(
        repeated_spans(&alignment.spans),
        vec![2, 3],
        "the last span overlaps the third"
    );
}

#[test]
fn the_search_finds_a_block_at_its_exact_position() {
    let raw = noise(10.0, 4000, 80);
    let index = search::RawIndex::new(&raw, 4000);
    let mut scratch = index.scratch();
    for start in [0usize, 12_345, 36_000] {
        let found = index.search(&raw[start..start + 4000], 3, &mut scratch);
        assert_eq!(found[0].position, start as i64);
        assert!(found[0].score > 0.999 && found[1].score < 0.2, "{found:?}");
    }
    // A silent block has no candidates; a block of the wrong length neither.
    assert!(index.search(&[0.0; 4000], 3, &mut scratch).is_empty());
    assert!(index.search(&raw[..100], 3, &mut scratch).is_empty());
}
