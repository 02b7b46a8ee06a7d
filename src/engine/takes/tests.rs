//! Labelling cuts on a synthetic session: kept music, junk, and a worse take of kept music.

use super::*;
use crate::synth::{random_notes_played, white_noise};

const RATE: u32 = 16_000;

/// Mains hum with harmonics: a drone that matches any sustained A-flat-ish note.
fn hum(seconds: f64) -> Vec<f32> {
    (0..(seconds * f64::from(RATE)) as usize)
        .map(|i| {
            let t = i as f32 / RATE as f32;
            (1..4)
                .map(|h| 0.05 * (std::f32::consts::TAU * 50.0 * h as f32 * t).sin())
                .sum()
        })
        .collect()
}

/// Parts laid end to end, with each part's range.
fn session(parts: Vec<Vec<f32>>) -> (Vec<f32>, Vec<TimeRange>) {
    let mut raw = Vec::new();
    let mut ranges = Vec::new();
    for p in parts {
        let start = raw.len() as f64 / f64::from(RATE);
        raw.extend(p);
        ranges.push(TimeRange::new(start, raw.len() as f64 / f64::from(RATE)));
    }
    (raw, ranges)
}

fn seconds_of(cuts: &[LabelledCut], within: TimeRange, take: bool) -> f64 {
    cuts.iter()
        .filter(|c| matches!(c.kind, CutKind::Take { .. }) == take)
        .map(|c| (c.raw.end.min(within.end) - c.raw.start.max(within.start)).max(0.0))
        .sum()
}

#[test]
fn a_worse_take_of_kept_music_is_a_take_and_noise_and_hum_are_junk() {
    let first = random_notes_played(8.0, RATE, 1, 0.0, 1.0);
    let song = |semitones: f32, tempo: f64| random_notes_played(12.0, RATE, 2, semitones, tempo);
    // The bad take: a semitone sharp, 15 % slower, overdriven, and it breaks off after 6 s.
    let bad: Vec<f32> = song(1.0, 0.85)[..6 * RATE as usize]
        .iter()
        .map(|x| (4.0 * x).tanh() * 0.5)
        .collect();
    let (raw, parts) = session(vec![
        first,
        white_noise(4.0, RATE, 3, 0.3),
        bad,
        song(0.0, 1.0),
        hum(4.0),
    ]);
    let kept = [parts[0], parts[3]];
    let duration = raw.len() as f64 / f64::from(RATE);
    let cuts = label_cuts(&PitchClasses::of(&raw, RATE), &kept, duration);

    // Every cut second is labelled, and nothing kept.
    let labelled: f64 = cuts.iter().map(|c| c.raw.duration()).sum();
    let cut = parts[1].duration() + parts[2].duration() + parts[4].duration();
    assert!((labelled - cut).abs() < 1e-6, "{cuts:#?}");
    // Where take meets junk, labels resolve to about half a window (a window matches when
    // most of it is the take).
    let resolution = LABEL_RESOLUTION_SECONDS;
    assert!(
        seconds_of(&cuts, parts[1], true) <= resolution,
        "noise: {cuts:#?}"
    );
    assert_eq!(seconds_of(&cuts, parts[4], true), 0.0, "hum: {cuts:#?}");
    let take = seconds_of(&cuts, parts[2], true);
    assert!(
        take >= parts[2].duration() - resolution,
        "bad take: {cuts:#?}"
    );
    // It performs the opening of the kept song again.
    let CutKind::Take { of, distance } = cuts
        .iter()
        .find(|c| c.raw.contains(parts[2].start + 3.0))
        .unwrap()
        .kind
    else {
        unreachable!()
    };
    assert!(distance < MAX_DISTANCE);
    assert!((of.start - parts[3].start).abs() < 1.0, "{of:?}");
    assert!(
        of.end > parts[3].start + 3.0 && of.end < parts[3].start + 6.5,
        "{of:?}"
    );
}

#[test]
fn without_kept_audio_or_with_short_gaps_everything_cut_is_junk() {
    let music = random_notes_played(6.0, RATE, 4, 0.0, 1.0);
    let track = PitchClasses::of(&music, RATE);
    let nothing_kept = label_cuts(&track, &[], 6.0);
    assert_eq!(nothing_kept.len(), 1);
    assert_eq!(nothing_kept[0].kind, CutKind::Junk);
    // A 0.3 s gap is too short to identify.
    let kept = [TimeRange::new(0.0, 2.0), TimeRange::new(2.3, 6.0)];
    let cuts = label_cuts(&track, &kept, 6.0);
    assert_eq!(cuts.len(), 1);
    assert_eq!(cuts[0].raw, TimeRange::new(2.0, 2.3));
    assert_eq!(cuts[0].kind, CutKind::Junk);
    assert!(label_cuts(&track, &[TimeRange::new(0.0, 6.0)], 6.0).is_empty());
}

#[test]
fn a_false_start_and_a_worse_take_group_with_the_take_they_repeat() {
    let song = |semitones: f32, tempo: f64| random_notes_played(12.0, RATE, 7, semitones, tempo);
    let worse: Vec<f32> = song(-1.0, 1.1)[..8 * RATE as usize]
        .iter()
        .map(|x| (4.0 * x).tanh() * 0.5)
        .collect();
    let (raw, parts) = session(vec![
        random_notes_played(10.0, RATE, 8, 0.0, 1.0),
        song(0.0, 1.0)[..3 * RATE as usize].to_vec(), // a false start
        vec![0.0; RATE as usize],
        worse,
        white_noise(3.0, RATE, 9, 0.3),
        song(0.0, 1.0),
    ]);
    let track = PitchClasses::of(&raw, RATE);
    let found = groups::repeats(&track);
    let groups = groups::take_groups(&track, &groups::repeat_runs(&found));
    let in_group = |r: TimeRange| -> f64 {
        groups
            .iter()
            .flat_map(|g| &g.members)
            .map(|m| (m.end.min(r.end) - m.start.max(r.start)).max(0.0))
            .sum()
    };
    // Noise is in no group. (Music played once may be: notes of one scale in a free tempo and
    // any key match other notes of it, as produced music matches its own loops and choruses;
    // groups are candidates for the take model, not decisions.)
    assert!(
        in_group(parts[4]) <= LABEL_RESOLUTION_SECONDS,
        "{groups:#?}"
    );
    // The false start, the worse take and the good take's opening are.
    for (part, share) in [(parts[1], 0.9), (parts[3], 0.9)] {
        assert!(
            in_group(part) >= share * part.duration(),
            "{part:?}: {groups:#?}"
        );
    }
    let good_opening = TimeRange::new(parts[5].start, parts[5].start + 6.0);
    assert!(in_group(good_opening) >= 5.0, "{groups:#?}");
    // All three performances of the opening are one group.
    let group_of = |t: f64| {
        groups
            .iter()
            .position(|g| g.members.iter().any(|m| m.contains(t)))
    };
    let g = group_of(parts[1].start + 1.5);
    assert!(
        g.is_some() && g == group_of(parts[3].start + 1.5) && g == group_of(parts[5].start + 1.5)
    );
}
