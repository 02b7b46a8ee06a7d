//! Tests of the parent module.
use super::*;

/// Options with every rule switched off, so a test can enable just the one it is about.
fn bare() -> CutOptions {
    CutOptions {
        min_keep: 0.0,
        min_cut: 0.0,
        pre_pad: 0.0,
        post_pad: 0.0,
        snap: SnapMode::Off,
        snap_tolerance: 0.0,
    }
}

/// A mask of `bins` bins, bad where `bad_ranges` (half-open bin index ranges) say.
fn mask(bins: usize, bad_ranges: &[(usize, usize)]) -> Vec<bool> {
    (0..bins)
        .map(|i| bad_ranges.iter().any(|&(a, b)| i >= a && i < b))
        .collect()
}

fn ranges(plan: &CutPlan) -> Vec<(f64, f64)> {
    plan.keep.iter().map(|r| (r.start, r.end)).collect()
}

fn assert_ranges(plan: &CutPlan, expected: &[(f64, f64)]) {
    let got = ranges(plan);
    let same = got.len() == expected.len()
        && got
            .iter()
            .zip(expected)
            .all(|(g, e)| (g.0 - e.0).abs() < 1e-9 && (g.1 - e.1).abs() < 1e-9);
    assert!(same, "kept {got:?}, expected {expected:?}");
}

fn beat_grid(beats: &[f64], downbeats: &[f64], onsets: &[f64]) -> BeatGrid {
    BeatGrid {
        tempo_bpm: 120.0,
        beats: beats.to_vec(),
        downbeats: downbeats.to_vec(),
        onsets: onsets.to_vec(),
    }
}

#[test]
fn defaults_match_the_documented_values() {
    let o = CutOptions::default();
    assert_eq!(
        (o.min_keep, o.min_cut, o.pre_pad, o.post_pad),
        (2.0, 0.5, 0.05, 0.1)
    );
    assert_eq!((o.snap, o.snap_tolerance), (SnapMode::Beat, 0.25));
}

#[test]
fn keep_all_keeps_everything_and_handles_bad_durations() {
    assert_ranges(&CutPlan::keep_all(12.5), &[(0.0, 12.5)]);
    for d in [0.0, -3.0, f64::NAN, f64::INFINITY] {
        let plan = CutPlan::keep_all(d);
        assert!(plan.keep.is_empty());
        assert_eq!(plan.duration, 0.0);
    }
}

#[test]
fn a_clean_mask_keeps_everything() {
    let plan = CutPlan::from_bad_mask(&[false; 40], 0.25, 10.0, &CutOptions::default(), None);
    assert_ranges(&plan, &[(0.0, 10.0)]);
    assert!(plan.cuts().is_empty());
}

#[test]
fn bad_bins_become_cuts() {
    let plan = CutPlan::from_bad_mask(&mask(40, &[(8, 16)]), 0.25, 10.0, &bare(), None);
    assert_ranges(&plan, &[(0.0, 2.0), (4.0, 10.0)]);
    assert_eq!(plan.cuts(), vec![TimeRange::new(2.0, 4.0)]);
}

#[test]
fn bins_are_clipped_to_the_duration_and_missing_bins_are_good() {
    // The last bins run past the end of the 10 s recording.
    let plan = CutPlan::from_bad_mask(&mask(40, &[(36, 40)]), 0.26, 10.0, &bare(), None);
    assert_ranges(&plan, &[(0.0, 36.0 * 0.26)]);
    let short_mask = CutPlan::from_bad_mask(&mask(4, &[(0, 2)]), 1.0, 10.0, &bare(), None);
    assert_ranges(&short_mask, &[(2.0, 10.0)]);
}

#[test]
fn cuts_shorter_than_min_cut_are_dropped() {
    let options = CutOptions {
        min_cut: 0.5,
        ..bare()
    };
    // A 0.25 s glitch and a 0.5 s one: only the second is worth cutting.
    let plan = CutPlan::from_bad_mask(&mask(40, &[(4, 5), (20, 22)]), 0.25, 10.0, &options, None);
    assert_ranges(&plan, &[(0.0, 5.0), (5.5, 10.0)]);
}

#[test]
fn a_glitch_is_not_widened_into_a_cut_by_snapping() {
    // 0.25 s detected between beats at 3.8 and 4.45: snapping outwards would make a 0.65 s
    // cut out of something too short to act on.
    let grid = beat_grid(&[3.8, 4.45], &[], &[]);
    let options = CutOptions {
        min_cut: 0.5,
        snap: SnapMode::Beat,
        snap_tolerance: 0.25,
        ..bare()
    };
    let plan = CutPlan::from_bad_mask(&mask(40, &[(16, 17)]), 0.25, 10.0, &options, Some(&grid));
    assert_ranges(&plan, &[(0.0, 10.0)]);
}

#[test]
fn pads_shrink_cuts() {
    let options = CutOptions {
        pre_pad: 0.05,
        post_pad: 0.1,
        ..bare()
    };
    let plan = CutPlan::from_bad_mask(&mask(40, &[(8, 16)]), 0.25, 10.0, &options, None);
    // The piece before the cut keeps 0.1 s of decay, the one after 0.05 s of lead-in.
    assert_ranges(&plan, &[(0.0, 2.1), (3.95, 10.0)]);
}

#[test]
fn pads_do_not_grow_past_the_recording_edges() {
    let options = CutOptions {
        pre_pad: 0.3,
        post_pad: 0.3,
        ..bare()
    };
    let plan = CutPlan::from_bad_mask(&mask(40, &[(0, 4), (36, 40)]), 0.25, 10.0, &options, None);
    assert_ranges(&plan, &[(0.7, 9.3)]);
}

#[test]
fn a_cut_swallowed_by_pads_vanishes() {
    let options = CutOptions {
        pre_pad: 0.15,
        post_pad: 0.15,
        ..bare()
    };
    let plan = CutPlan::from_bad_mask(&mask(40, &[(8, 9)]), 0.25, 10.0, &options, None);
    assert_ranges(&plan, &[(0.0, 10.0)]);
}

#[test]
fn a_cut_shrunk_below_min_cut_by_pads_is_dropped() {
    let options = CutOptions {
        min_cut: 0.5,
        pre_pad: 0.05,
        post_pad: 0.1,
        ..bare()
    };
    // 0.5 s detected, 0.35 s after padding: too short to be worth a cut.
    let plan = CutPlan::from_bad_mask(&mask(40, &[(8, 10)]), 0.25, 10.0, &options, None);
    assert_ranges(&plan, &[(0.0, 10.0)]);
}

#[test]
fn boundaries_snap_to_beats_within_tolerance() {
    let grid = beat_grid(&[1.0, 1.5, 2.1, 2.5, 3.0, 3.5, 4.2, 4.5], &[], &[]);
    let options = CutOptions {
        snap: SnapMode::Beat,
        snap_tolerance: 0.25,
        ..bare()
    };
    let plan = CutPlan::from_bad_mask(&mask(40, &[(8, 16)]), 0.25, 10.0, &options, Some(&grid));
    assert_ranges(&plan, &[(0.0, 2.1), (4.2, 10.0)]);
}

#[test]
fn boundaries_out_of_reach_stay() {
    let grid = beat_grid(&[1.5, 2.5, 3.5, 4.5], &[], &[]);
    let options = CutOptions {
        snap: SnapMode::Beat,
        snap_tolerance: 0.25,
        ..bare()
    };
    let plan = CutPlan::from_bad_mask(&mask(40, &[(8, 16)]), 0.25, 10.0, &options, Some(&grid));
    assert_ranges(&plan, &[(0.0, 2.0), (4.0, 10.0)]);
}

#[test]
fn snap_uses_the_points_its_mode_names() {
    let grid = beat_grid(&[2.1, 4.1], &[1.9, 3.9], &[2.05, 3.95]);
    let bad = mask(40, &[(8, 16)]);
    let expected = [
        (SnapMode::Off, (2.0, 4.0)),
        (SnapMode::Beat, (2.1, 4.1)),
        (SnapMode::Bar, (1.9, 3.9)),
        (SnapMode::Onset, (2.05, 3.95)),
    ];
    for (snap, (end, start)) in expected {
        let options = CutOptions {
            snap,
            snap_tolerance: 0.25,
            ..bare()
        };
        let plan = CutPlan::from_bad_mask(&bad, 0.25, 10.0, &options, Some(&grid));
        assert_ranges(&plan, &[(0.0, end), (start, 10.0)]);
    }
}

#[test]
fn without_a_grid_nothing_snaps() {
    let options = CutOptions {
        snap: SnapMode::Beat,
        snap_tolerance: 0.25,
        ..bare()
    };
    let plan = CutPlan::from_bad_mask(&mask(40, &[(8, 16)]), 0.25, 10.0, &options, None);
    assert_ranges(&plan, &[(0.0, 2.0), (4.0, 10.0)]);
}

#[test]
fn the_recording_edges_never_snap() {
    let grid = beat_grid(&[0.2, 9.8], &[], &[]);
    let options = CutOptions {
        snap: SnapMode::Beat,
        snap_tolerance: 0.5,
        ..bare()
    };
    let plan = CutPlan::from_bad_mask(&mask(40, &[(8, 16)]), 0.25, 10.0, &options, Some(&grid));
    assert_ranges(&plan, &[(0.0, 2.0), (4.0, 10.0)]);
}

#[test]
fn snapping_never_empties_or_inverts_a_piece() {
    // Keep [2, 2.5) between two cuts; the only beat near its start lies past its end.
    let grid = beat_grid(&[2.6], &[], &[]);
    let options = CutOptions {
        snap: SnapMode::Beat,
        snap_tolerance: 1.0,
        ..bare()
    };
    let bad = mask(40, &[(4, 8), (10, 14)]);
    let plan = CutPlan::from_bad_mask(&bad, 0.25, 10.0, &options, Some(&grid));
    assert!(plan.keep.iter().all(|r| r.end > r.start));
    assert!(plan.is_kept(2.1), "the short piece must survive snapping");
    assert!(
        !plan.is_kept(3.0),
        "snapping must not close the cut after it"
    );
}

#[test]
fn snapping_never_crosses_a_neighbouring_piece() {
    // Cut [2, 2.25): the end of the first piece may not jump past the start of the next.
    let grid = beat_grid(&[2.4], &[], &[]);
    let options = CutOptions {
        snap: SnapMode::Beat,
        snap_tolerance: 0.5,
        ..bare()
    };
    let plan = CutPlan::from_bad_mask(&mask(40, &[(8, 9)]), 0.25, 10.0, &options, Some(&grid));
    assert_ranges(&plan, &[(0.0, 2.0), (2.4, 10.0)]);
}

#[test]
fn pieces_shorter_than_min_keep_are_dropped() {
    let options = CutOptions {
        min_keep: 2.0,
        ..bare()
    };
    // Keeps: [0,2) [3,4) [5,10): the 1 s scrap in the middle goes.
    let plan = CutPlan::from_bad_mask(&mask(40, &[(8, 12), (16, 20)]), 0.25, 10.0, &options, None);
    assert_ranges(&plan, &[(0.0, 2.0), (5.0, 10.0)]);
}

#[test]
fn min_keep_never_drops_everything() {
    let options = CutOptions {
        min_keep: 5.0,
        ..bare()
    };
    // Keeps: [0,1) [2,3.5) [4.5,5): all too short, so the longest alone survives.
    let bad = mask(20, &[(2, 4), (7, 9), (10, 20)]);
    let plan = CutPlan::from_bad_mask(&bad, 0.5, 10.0, &options, None);
    assert_ranges(&plan, &[(2.0, 3.5)]);
}

#[test]
fn a_recording_shorter_than_min_keep_is_kept() {
    let plan = CutPlan::from_bad_mask(&[false; 4], 0.25, 1.0, &CutOptions::default(), None);
    assert_ranges(&plan, &[(0.0, 1.0)]);
}

#[test]
fn an_all_bad_mask_keeps_nothing() {
    let plan = CutPlan::from_bad_mask(&[true; 40], 0.25, 10.0, &CutOptions::default(), None);
    assert!(plan.keep.is_empty());
    assert_eq!(plan.cuts(), vec![TimeRange::new(0.0, 10.0)]);
    assert_eq!(plan.kept_ratio(), 0.0);
}

#[test]
fn rules_combine_in_order() {
    let grid = beat_grid(
        &[0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0, 5.5],
        &[],
        &[],
    );
    // Bad: [2.5,3.0) (0.5 s), [4.0,4.25) (glitch), [6.0,10.0).
    let bad = mask(40, &[(10, 12), (16, 17), (24, 40)]);
    let plan = CutPlan::from_bad_mask(&bad, 0.25, 10.0, &CutOptions::default(), Some(&grid));
    // The glitch is too short to act on. The 0.5 s cut shrinks to [2.6, 2.95) under the
    // pads, and snapping puts it back on the beats at 2.5 and 3.0, so it is long enough to
    // stay. [6, 10) pads to [6.1, 10) and, with no beat within reach of 6.1, stays put.
    assert_ranges(&plan, &[(0.0, 2.5), (3.0, 6.1)]);
}

#[test]
fn degenerate_inputs_do_not_panic() {
    let options = CutOptions {
        min_keep: f64::NAN,
        min_cut: -1.0,
        pre_pad: f64::INFINITY,
        post_pad: f64::NEG_INFINITY,
        snap: SnapMode::Beat,
        snap_tolerance: f64::NAN,
    };
    let grid = beat_grid(&[f64::NAN, 1.0, f64::INFINITY], &[], &[]);
    let bad = mask(10, &[(2, 5)]);
    for bin in [0.0, -1.0, f64::NAN, 1e-12, 1e12] {
        for duration in [0.0, -5.0, f64::NAN, 3.0, 1e9] {
            let plan = CutPlan::from_bad_mask(&bad, bin, duration, &options, Some(&grid));
            assert_normalised(&plan);
        }
    }
    let plan = CutPlan::from_bad_mask(&[], 0.25, 10.0, &CutOptions::default(), None);
    assert_ranges(&plan, &[(0.0, 10.0)]);
}

#[test]
fn enormous_pads_protect_everything() {
    let options = CutOptions {
        pre_pad: 1e308,
        post_pad: 1e308,
        ..bare()
    };
    let plan = CutPlan::from_bad_mask(&mask(40, &[(8, 16)]), 0.25, 10.0, &options, None);
    assert_ranges(&plan, &[(0.0, 10.0)]);
}

#[test]
fn non_positive_bin_size_keeps_everything() {
    let plan = CutPlan::from_bad_mask(&[true; 10], 0.0, 4.0, &bare(), None);
    assert_ranges(&plan, &[(0.0, 4.0)]);
}

#[test]
fn accessors_report_the_kept_material() {
    let plan = CutPlan::from_keep(
        10.0,
        vec![TimeRange::new(6.0, 10.0), TimeRange::new(0.0, 2.0)],
    );
    assert_ranges(&plan, &[(0.0, 2.0), (6.0, 10.0)]);
    assert!((plan.kept_seconds() - 6.0).abs() < 1e-12);
    assert!((plan.kept_ratio() - 0.6).abs() < 1e-12);
    assert!(plan.is_kept(0.0) && plan.is_kept(1.999) && plan.is_kept(6.0));
    assert!(!plan.is_kept(2.0) && !plan.is_kept(5.9) && !plan.is_kept(10.0));
    assert!(!plan.is_kept(f64::NAN) && !plan.is_kept(-1.0));
    assert_eq!(plan.cuts(), vec![TimeRange::new(2.0, 6.0)]);
    assert_eq!(CutPlan::keep_all(0.0).kept_ratio(), 1.0);
}

#[test]
fn from_keep_merges_overlaps_and_clips() {
    let plan = CutPlan::from_keep(
        5.0,
        vec![
            TimeRange::new(-1.0, 1.0),
            TimeRange::new(0.5, 2.0),
            TimeRange::new(2.0, 2.5),
            TimeRange::new(3.0, 3.0),
            TimeRange::new(4.0, 9.0),
            TimeRange::new(f64::NAN, 1.0),
            TimeRange::new(4.5, f64::INFINITY),
        ],
    );
    assert_ranges(&plan, &[(0.0, 2.5), (4.0, 5.0)]);
}

#[test]
fn options_and_modes_use_readable_json() {
    let json = serde_json::to_string(&SnapMode::Bar).unwrap_or_default();
    assert_eq!(json, "\"bar\"");
    let partial: Option<CutOptions> =
        serde_json::from_str(r#"{"min_keep": 4.0, "snap": "onset"}"#).ok();
    let expected = CutOptions {
        min_keep: 4.0,
        snap: SnapMode::Onset,
        ..CutOptions::default()
    };
    assert_eq!(partial, Some(expected));
}

// ---- property tests over random masks ----

use crate::synth::Lcg;

/// A mask of runs of random length, so both short glitches and long bad stretches occur.
fn random_mask(rng: &mut Lcg, bins: usize, bad_fraction: f64) -> Vec<bool> {
    let mut out = Vec::with_capacity(bins);
    while out.len() < bins {
        let value = rng.unit_f64() < bad_fraction;
        let run = 1 + rng.below(12) as usize;
        out.extend(std::iter::repeat_n(value, run.min(bins - out.len())));
    }
    out
}

fn random_options(rng: &mut Lcg) -> CutOptions {
    let modes = [
        SnapMode::Off,
        SnapMode::Onset,
        SnapMode::Beat,
        SnapMode::Bar,
    ];
    CutOptions {
        min_keep: rng.unit_f64() * 3.0,
        min_cut: rng.unit_f64() * 1.0,
        pre_pad: rng.unit_f64() * 0.3,
        post_pad: rng.unit_f64() * 0.3,
        snap: modes[rng.below(4) as usize],
        snap_tolerance: rng.unit_f64() * 0.5,
    }
}

fn random_grid(rng: &mut Lcg, duration: f64) -> BeatGrid {
    let period = 0.3 + rng.unit_f64() * 0.6;
    let phase = rng.unit_f64() * period;
    let beats: Vec<f64> = (0..)
        .map(|k| phase + f64::from(k) * period)
        .take_while(|&t| t < duration)
        .collect();
    let downbeats = beats.iter().step_by(4).copied().collect();
    let onsets = (0..(duration * 3.0) as usize)
        .map(|_| rng.unit_f64() * duration)
        .collect();
    BeatGrid {
        tempo_bpm: 60.0 / period,
        beats,
        downbeats,
        onsets,
    }
}

fn assert_normalised(plan: &CutPlan) {
    assert!(plan.duration.is_finite() && plan.duration >= 0.0);
    for r in &plan.keep {
        assert!(r.start >= 0.0 && r.end <= plan.duration, "{r:?} outside");
        assert!(r.end - r.start > 0.0, "{r:?} empty");
    }
    for pair in plan.keep.windows(2) {
        assert!(pair[0].end < pair[1].start, "{pair:?} overlap or touch");
    }
    let total = plan.kept_seconds() + plan.cuts().iter().map(|c| c.duration()).sum::<f64>();
    assert!(
        (total - plan.duration).abs() < 1e-6,
        "keep + cuts != duration"
    );
}

#[test]
fn random_plans_obey_every_rule() {
    let mut rng = Lcg::new(42);
    for _ in 0..600 {
        let bins = 1 + rng.below(300) as usize;
        let bin_seconds = 0.05 + rng.unit_f64() * 0.3;
        let duration = bins as f64 * bin_seconds - rng.unit_f64() * bin_seconds * 0.9;
        let bad_fraction = rng.unit_f64();
        let bad = random_mask(&mut rng, bins, bad_fraction);
        let options = random_options(&mut rng);
        let grid = random_grid(&mut rng, duration);
        let plan = CutPlan::from_bad_mask(&bad, bin_seconds, duration, &options, Some(&grid));

        assert_normalised(&plan);
        for cut in plan.cuts() {
            assert!(
                cut.duration() + 1e-6 >= options.min_cut,
                "short cut {cut:?}"
            );
        }
        if plan.keep.len() > 1 {
            for r in &plan.keep {
                assert!(r.duration() + 1e-6 >= options.min_keep, "short piece {r:?}");
            }
        }
        if bad.iter().any(|b| !b) {
            assert!(!plan.keep.is_empty(), "kept nothing from a usable take");
        } else if duration >= options.min_cut + 1e-6 {
            assert!(plan.keep.is_empty(), "kept something of an all-bad take");
        }
    }
}

#[test]
fn random_plans_only_place_boundaries_on_bin_edges_pads_or_grid() {
    let mut rng = Lcg::new(7);
    for _ in 0..300 {
        let bins = 1 + rng.below(200) as usize;
        let bin_seconds = 0.25;
        let duration = bins as f64 * bin_seconds;
        let bad = random_mask(&mut rng, bins, 0.4);
        let options = random_options(&mut rng);
        let grid = random_grid(&mut rng, duration);
        let plan = CutPlan::from_bad_mask(&bad, bin_seconds, duration, &options, Some(&grid));
        let points = snap_points(Some(&grid), options.snap);
        let on_bin_edge = |t: f64| ((t / bin_seconds).round() * bin_seconds - t).abs() < 1e-9;
        let on_point = |t: f64| points.iter().any(|p| (p - t).abs() < 1e-12);
        for r in &plan.keep {
            let start_ok =
                r.start == 0.0 || on_point(r.start) || on_bin_edge(r.start + options.pre_pad);
            let end_ok =
                r.end == duration || on_point(r.end) || on_bin_edge(r.end - options.post_pad);
            assert!(start_ok && end_ok, "{r:?} has a boundary from nowhere");
        }
    }
}

#[test]
fn without_thresholds_or_snapping_kept_time_is_exactly_good_bins_plus_pads() {
    let mut rng = Lcg::new(99);
    let bin_seconds = 0.1;
    for _ in 0..300 {
        let bins = 1 + rng.below(150) as usize;
        let duration = bins as f64 * bin_seconds;
        let bad_fraction = rng.unit_f64();
        let bad = random_mask(&mut rng, bins, bad_fraction);
        let pre_pad = f64::from(rng.below(4)) * 0.05;
        let post_pad = f64::from(rng.below(4)) * 0.05;
        let options = CutOptions {
            pre_pad,
            post_pad,
            ..bare()
        };
        let plan = CutPlan::from_bad_mask(&bad, bin_seconds, duration, &options, None);
        // Probe halfway between the 0.05 s steps any boundary can sit on.
        for k in 0..(duration / 0.01) as usize {
            let t = (k as f64 + 0.5) * 0.01;
            if ((t / 0.05).round() * 0.05 - t).abs() < 0.004 {
                continue;
            }
            let protected = bad.iter().enumerate().any(|(i, &b)| {
                !b && t >= i as f64 * bin_seconds - pre_pad
                    && t < (i + 1) as f64 * bin_seconds + post_pad
            });
            assert_eq!(plan.is_kept(t), protected, "at {t} s");
        }
    }
}

#[test]
fn overrides_keep_and_cut_stretches_and_the_later_one_wins() {
    let plan = CutPlan::from_keep(
        10.0,
        vec![TimeRange::new(0.0, 4.0), TimeRange::new(6.0, 10.0)],
    );
    let keep = |a, b| Override {
        range: TimeRange::new(a, b),
        decision: Decision::Keep,
    };
    let cut = |a, b| Override {
        range: TimeRange::new(a, b),
        decision: Decision::Cut,
    };
    // The cut kept: one piece. A kept stretch cut: a gap, reaching past the end is clipped.
    assert_eq!(
        plan.overridden(&[keep(4.0, 6.0)]).keep,
        [TimeRange::new(0.0, 10.0)]
    );
    assert_eq!(
        plan.overridden(&[cut(1.0, 2.0), cut(9.0, 12.0)]).keep,
        [
            TimeRange::new(0.0, 1.0),
            TimeRange::new(2.0, 4.0),
            TimeRange::new(6.0, 9.0)
        ]
    );
    // Overlapping: the later decides.
    assert_eq!(
        plan.overridden(&[keep(3.0, 7.0), cut(5.0, 8.0)]).keep,
        [TimeRange::new(0.0, 5.0), TimeRange::new(8.0, 10.0)]
    );
    assert_eq!(plan.overridden(&[]), plan);
    // In another timeline's seconds: shifted into the plan's.
    assert_eq!(keep(14.0, 16.0).shifted(10.0), keep(4.0, 6.0));
}
