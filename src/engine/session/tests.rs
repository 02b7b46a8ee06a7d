use base64::Engine as _;

use super::*;
use crate::engine::cut_plan::CutOptions;
use crate::engine::edit::{plan_edit_of_log_mel, ThresholdMode};
use crate::engine::features::{log_mel_of, LogMelExtractor};
use crate::engine::stream::tests::{signal, tiny_classifier_model, tiny_model};
use crate::engine::timeline::TimeRange;

/// Options that cut something with an untrained model: a threshold inside its score range.
fn options(threshold: f64) -> EditOptions {
    EditOptions {
        threshold: ThresholdMode::Absolute(threshold),
        cut: CutOptions {
            min_cut: 0.1,
            min_keep: 0.1,
            ..CutOptions::default()
        },
        ..EditOptions::default()
    }
}

fn push_in_blocks(session: &mut SessionEdit, position: u64, audio: &[f32], sizes: &[usize]) {
    let mut at = 0;
    for &size in sizes.iter().cycle() {
        if at >= audio.len() {
            break;
        }
        let end = (at + size).min(audio.len());
        session.push(position + at as u64, &audio[at..end]).unwrap();
        at = end;
    }
}

fn no_host_grid(_: u64, _: u64) -> Option<BeatGrid> {
    None
}

fn assert_same_keep(a: &[TimeRange], b: &[TimeRange], tolerance: f64) {
    assert_eq!(a.len(), b.len(), "{a:?} vs {b:?}");
    for (x, y) in a.iter().zip(b) {
        assert!(
            (x.start - y.start).abs() <= tolerance && (x.end - y.end).abs() <= tolerance,
            "{a:?} vs {b:?}"
        );
    }
}

#[test]
fn a_session_heard_in_blocks_plans_what_the_offline_edit_plans() {
    let rate = 22_050;
    let audio = signal(9.0, rate);
    for model in [tiny_classifier_model(3, 12), tiny_model()] {
        let mut extractor = LogMelExtractor::new(model.features()).unwrap();
        let spec = log_mel_of(&mut extractor, std::slice::from_ref(&audio), rate).unwrap();
        let duration = audio.len() as f64 / f64::from(rate);
        let probe =
            plan_edit_of_log_mel(&model, &spec, duration, &options(0.0), &mut |_, _| {}).unwrap();
        let mut scores: Vec<f64> = probe.timeline.segments.iter().map(|s| s.score).collect();
        scores.sort_by(f64::total_cmp);
        let mut session = SessionEdit::new(model.clone(), rate).unwrap();
        push_in_blocks(&mut session, 1000, &audio, &[512, 3000, 77]);
        // Two thresholds: the second plan reuses the first one's scoring.
        let mut cut_something = false;
        for quantile in [0.3, 0.7] {
            let threshold = scores[(quantile * scores.len() as f64) as usize];
            let opts = options(threshold);
            let offline =
                plan_edit_of_log_mel(&model, &spec, duration, &opts, &mut |_, _| {}).unwrap();
            let plan = session.plan(&opts, &mut no_host_grid).unwrap();
            assert_eq!(plan.regions.len(), 1);
            let region = &plan.regions[0];
            assert_eq!((region.start, region.samples), (1000, audio.len() as u64));
            assert_eq!(
                region.timeline.segments.len(),
                offline.timeline.segments.len()
            );
            for (a, b) in region
                .timeline
                .segments
                .iter()
                .zip(&offline.timeline.segments)
            {
                assert!((a.start - b.start).abs() < 1e-9);
                assert!((a.score - b.score).abs() < 1e-4, "{a:?} vs {b:?}");
            }
            cut_something |= offline.plan.keep != [TimeRange::new(0.0, duration)];
            assert_same_keep(&region.plan.keep, &offline.plan.keep, 1e-3);
        }
        assert!(cut_something, "the comparison needs a plan that cuts");
    }
}

#[test]
fn cut_spans_are_in_timeline_samples() {
    let model = tiny_classifier_model(3, 12);
    let rate = 22_050;
    let audio = signal(6.0, rate);
    let mut session = SessionEdit::new(model.clone(), rate).unwrap();
    session.push(50_000, &audio).unwrap();
    let plan = session.plan(&options(0.5), &mut no_host_grid).unwrap();
    let region = &plan.regions[0];
    let cuts = plan.cut_samples(rate);
    let kept: u64 = region
        .plan
        .keep
        .iter()
        .map(|k| ((k.end - k.start) * f64::from(rate)).round() as u64)
        .sum();
    let cut: u64 = cuts.iter().map(|(a, b)| b - a).sum();
    assert!(kept.abs_diff(audio.len() as u64 - cut) <= 2 * region.plan.keep.len() as u64 + 2);
    assert!(cuts
        .iter()
        .all(|&(a, b)| a >= 50_000 && b <= 50_000 + audio.len() as u64));
}

#[test]
fn hearing_a_region_again_analyses_nothing_and_changes_no_plan() {
    let model = tiny_classifier_model(3, 12);
    let rate = 44_100;
    let audio = signal(6.0, rate);
    let mut session = SessionEdit::new(model.clone(), rate).unwrap();
    push_in_blocks(&mut session, 0, &audio, &[1024]);
    let opts = options(0.5);
    let first = session.plan(&opts, &mut no_host_grid).unwrap();
    // The whole song again, then a loop from an unaligned point in the middle.
    push_in_blocks(&mut session, 0, &audio, &[700]);
    push_in_blocks(&mut session, 30_001, &audio[30_001..90_000], &[333]);
    assert_eq!(session.coverage(), vec![(0, audio.len() as u64)]);
    assert_eq!(session.analysed_samples(), audio.len() as u64);
    assert_eq!(session.heard_new(), audio.len() as u64);
    let again = session.plan(&opts, &mut no_host_grid).unwrap();
    assert_eq!(again.cut_samples(rate), first.cut_samples(rate));
    // Playing on past the end extends the region, as if it had never stopped.
    let longer = signal(7.0, rate);
    push_in_blocks(&mut session, 100_000, &longer[100_000..], &[512]);
    assert_eq!(session.coverage(), vec![(0, longer.len() as u64)]);
}

#[test]
fn changed_audio_replaces_the_old_analysis_from_where_it_differs() {
    let model = tiny_model();
    let rate = 44_100;
    let audio = signal(6.0, rate);
    let mut session = SessionEdit::new(model.clone(), rate).unwrap();
    session.push(0, &audio).unwrap();
    // A new take over 2-4 s, heard from 1 s on: the first second matches.
    let mut changed = audio.clone();
    for x in &mut changed[2 * 44_100..4 * 44_100] {
        *x *= 0.5;
    }
    push_in_blocks(&mut session, 44_100, &changed[44_100..4 * 44_100], &[1000]);
    let from = (2 * 44_100 / FINGERPRINT_BLOCK) * FINGERPRINT_BLOCK;
    assert_eq!(session.coverage(), vec![(0, from), (from, 4 * 44_100)]);
    assert_eq!(
        session.heard_new(),
        audio.len() as u64 + (4 * 44_100 - from)
    );
    // The first region's plan still covers its part; the new take is planned on its own.
    let plan = session.plan(&options(0.0), &mut no_host_grid).unwrap();
    assert_eq!(plan.coverage(), session.coverage());
}

#[test]
fn digital_silence_over_heard_audio_replaces_nothing() {
    let model = tiny_model();
    let rate = 44_100;
    let audio = signal(4.0, rate);
    let mut session = SessionEdit::new(model.clone(), rate).unwrap();
    push_in_blocks(&mut session, 0, &audio, &[1024]);
    let opts = options(0.0);
    let first = session.plan(&opts, &mut no_host_grid).unwrap();
    // A host's pre-roll or a muted pass: silence at the analysed positions, then the audio.
    push_in_blocks(&mut session, 0, &vec![0.0; 2 * 44_100], &[1024]);
    push_in_blocks(&mut session, 0, &audio, &[512]);
    assert_eq!(session.coverage(), vec![(0, audio.len() as u64)]);
    assert_eq!(session.heard_new(), audio.len() as u64);
    let again = session.plan(&opts, &mut no_host_grid).unwrap();
    assert_eq!(again.cut_samples(rate), first.cut_samples(rate));
    // Quiet audio that is not digital silence is new audio.
    let quiet: Vec<f32> = audio.iter().map(|x| x * 1e-3).collect();
    push_in_blocks(&mut session, 0, &quiet, &[1024]);
    assert_eq!(session.heard_new(), 2 * audio.len() as u64);
}

/// `audio` as a host plays it from its start: declicked (a linear fade over the first `fade`
/// samples), as Ardour does when its transport starts rolling.
fn faded_in(audio: &[f32], fade: usize) -> Vec<f32> {
    let mut faded = audio.to_vec();
    for (i, x) in faded.iter_mut().take(fade).enumerate() {
        *x *= i as f32 / fade as f32;
    }
    faded
}

#[test]
fn a_pass_the_host_faded_in_or_out_replays_the_analysis() {
    let model = tiny_classifier_model(3, 12);
    let rate = 44_100;
    let audio = signal(6.0, rate);
    // Analysed in a pass that was faded in (a real-time pass in Ardour) ...
    let mut session = SessionEdit::new(model.clone(), rate).unwrap();
    push_in_blocks(&mut session, 0, &faded_in(&audio, 1000), &[1024]);
    let opts = options(0.5);
    let first = session.plan(&opts, &mut no_host_grid).unwrap();
    // ... then played clean (an export), then faded in again and stopped with a fade-out in
    // the middle of a block.
    push_in_blocks(&mut session, 0, &audio, &[1024]);
    session.break_run();
    let mut stopped = faded_in(&audio[..100_000], 2000);
    for (i, x) in stopped.iter_mut().rev().take(3000).enumerate() {
        *x *= i as f32 / 3000.0;
    }
    push_in_blocks(&mut session, 0, &stopped, &[512]);
    session.break_run();
    assert_eq!(session.coverage(), vec![(0, audio.len() as u64)]);
    assert_eq!(session.heard_new(), audio.len() as u64);
    let again = session.plan(&opts, &mut no_host_grid).unwrap();
    assert_eq!(again.cut_samples(rate), first.cut_samples(rate));
}

#[test]
fn audio_that_differs_for_a_moment_replaces_nothing_and_to_the_end_replaces_the_rest() {
    let model = tiny_model();
    let rate = 44_100;
    let audio = signal(6.0, rate);
    let mut session = SessionEdit::new(model.clone(), rate).unwrap();
    session.push(0, &audio).unwrap();
    let block = FINGERPRINT_BLOCK as usize;
    // Two blocks that differ in the middle of a replay: a host's ramp, not a new take.
    let mut blip = audio.clone();
    for x in &mut blip[10 * block..12 * block] {
        *x *= 0.5;
    }
    push_in_blocks(&mut session, 0, &blip, &[1000]);
    assert_eq!(session.coverage(), vec![(0, audio.len() as u64)]);
    assert_eq!(session.heard_new(), audio.len() as u64);
    // A change over the last two whole blocks, played on past the end: the rest is new from
    // where it began to differ.
    let whole_blocks = audio.len() / block;
    let from = (whole_blocks - 2) * block;
    let mut changed = signal(7.0, rate);
    for x in &mut changed[from..] {
        *x *= 0.5;
    }
    session.break_run();
    push_in_blocks(&mut session, 0, &changed, &[1000]);
    assert_eq!(
        session.coverage(),
        vec![(0, from as u64), (from as u64, changed.len() as u64)]
    );
}

#[test]
fn digital_silence_joins_a_region_only_when_sound_follows_it() {
    let model = tiny_model();
    let rate = 44_100;
    let audio = signal(4.0, rate);
    let opts = options(0.0);
    let mut alone = SessionEdit::new(model.clone(), rate).unwrap();
    push_in_blocks(&mut alone, 0, &audio, &[1024]);
    let expected = alone.plan(&opts, &mut no_host_grid).unwrap();
    // A pass that rolls on for a second past the end of the track's audio plans the audio.
    let mut session = SessionEdit::new(model.clone(), rate).unwrap();
    let mut rolled_on = audio.clone();
    rolled_on.resize(audio.len() + rate as usize, 0.0);
    push_in_blocks(&mut session, 0, &rolled_on, &[1024]);
    let end = audio.len() as u64;
    assert_eq!(session.coverage(), vec![(0, end)]);
    let plan = session.plan(&opts, &mut no_host_grid).unwrap();
    assert_eq!(plan.cut_samples(rate), expected.cut_samples(rate));
    // Silence alone where nothing was heard starts no region, before or after a break.
    let far = 10 * end;
    push_in_blocks(&mut session, far, &vec![0.0; 20_000], &[1024]);
    assert_eq!(session.coverage(), vec![(0, end)]);
    session.break_run();
    assert_eq!(session.coverage(), vec![(0, end)]);
    assert_eq!(session.analysed_samples(), end);
    // Silence followed by sound in one run is part of the region: a gap between two clips.
    let mut gap = vec![0.0; 30_000];
    gap.extend_from_slice(&audio[..50_000]);
    push_in_blocks(&mut session, far, &gap, &[1000]);
    assert_eq!(session.coverage(), vec![(0, end), (far, far + 80_000)]);
}

#[test]
fn a_region_shorter_than_a_block_is_compared_too() {
    let model = tiny_model();
    let rate = 44_100;
    let audio = signal(3.0, rate);
    let other: Vec<f32> = audio.iter().map(|x| 0.5 * x).collect();
    // A host heard 2560 samples of something else at the stream's start (pedalboard primes a
    // plugin before a render), then plays the track from the start.
    let mut session = SessionEdit::new(model.clone(), rate).unwrap();
    session.push(0, &other[..2560]).unwrap();
    session.break_run();
    push_in_blocks(&mut session, 0, &audio, &[1024]);
    assert_eq!(session.coverage(), vec![(0, audio.len() as u64)]);
    assert_eq!(session.heard_new(), 2560 + audio.len() as u64);
    let mut alone = SessionEdit::new(model.clone(), rate).unwrap();
    push_in_blocks(&mut alone, 0, &audio, &[1024]);
    let opts = options(0.0);
    assert_eq!(
        session
            .plan(&opts, &mut no_host_grid)
            .unwrap()
            .cut_samples(rate),
        alone
            .plan(&opts, &mut no_host_grid)
            .unwrap()
            .cut_samples(rate)
    );
    // The same 2560 samples heard again are a replay: nothing is analysed twice.
    let mut same = SessionEdit::new(model.clone(), rate).unwrap();
    same.push(0, &audio[..2560]).unwrap();
    same.break_run();
    push_in_blocks(&mut same, 0, &audio, &[1024]);
    assert_eq!(same.heard_new(), audio.len() as u64);
}

#[test]
fn a_replay_that_ended_inside_a_block_leaves_nothing_to_the_next_run() {
    let model = tiny_model();
    let rate = 44_100;
    let audio = signal(5.0, rate);
    assert_ne!(audio.len() as u64 % FINGERPRINT_BLOCK, 0);
    let mut session = SessionEdit::new(model.clone(), rate).unwrap();
    session.push(0, &audio).unwrap();
    session.push(0, &audio).unwrap();
    // Other audio at the same place, from the start: analysed as if heard first.
    let other: Vec<f32> = audio.iter().rev().copied().collect();
    push_in_blocks(&mut session, 0, &other, &[1000]);
    let mut fresh = SessionEdit::new(model.clone(), rate).unwrap();
    fresh.push(0, &other).unwrap();
    assert_eq!(session.coverage(), fresh.coverage());
    let opts = options(0.0);
    let (a, b) = (
        session.plan(&opts, &mut no_host_grid).unwrap(),
        fresh.plan(&opts, &mut no_host_grid).unwrap(),
    );
    assert_eq!(a.regions[0].timeline, b.regions[0].timeline);
}

#[test]
fn a_run_that_reaches_a_heard_region_replays_it() {
    let model = tiny_model();
    let rate = 44_100;
    let audio = signal(6.0, rate);
    let mut session = SessionEdit::new(model.clone(), rate).unwrap();
    session.push(100_000, &audio[100_000..]).unwrap();
    push_in_blocks(&mut session, 0, &audio[..200_000], &[4096]);
    assert_eq!(
        session.coverage(),
        vec![(0, 100_000), (100_000, audio.len() as u64)]
    );
    assert_eq!(session.analysed_samples(), audio.len() as u64);
}

#[test]
fn a_region_shorter_than_a_segment_is_kept_whole() {
    for model in [tiny_classifier_model(3, 12), tiny_model()] {
        let rate = 44_100;
        let mut session = SessionEdit::new(model.clone(), rate).unwrap();
        let empty = session.plan(&options(0.0), &mut no_host_grid).unwrap();
        assert!(empty.regions.is_empty());
        session.push(0, &signal(0.05, rate)).unwrap();
        let plan = session.plan(&options(0.0), &mut no_host_grid).unwrap();
        assert_eq!(plan.coverage(), vec![(0, 2205)]);
        assert!(plan.cut_samples(rate).is_empty());
    }
}

/// The plans of two sessions, region by region, equal in every figure.
fn assert_same_plans(a: &SessionPlan, b: &SessionPlan) {
    assert_eq!(a.regions.len(), b.regions.len());
    for (x, y) in a.regions.iter().zip(&b.regions) {
        assert_eq!((x.start, x.samples), (y.start, y.samples));
        assert_eq!(x.timeline, y.timeline);
        assert_eq!(x.threshold, y.threshold);
        assert_eq!(x.plan.keep, y.plan.keep);
    }
}

#[test]
fn a_restored_session_plans_exactly_as_the_saved_one() {
    for model in [tiny_classifier_model(3, 12), tiny_model()] {
        let rate = 44_100;
        let audio = signal(8.0, rate);
        let mut session = SessionEdit::new(model.clone(), rate).unwrap();
        // Two regions, the second still open when saved.
        session.push(0, &audio[..150_000]).unwrap();
        push_in_blocks(&mut session, 200_000, &audio[200_000..], &[999]);
        let probe = session.plan(&options(0.0), &mut no_host_grid).unwrap();
        let mut scores: Vec<f64> = probe.regions[1]
            .timeline
            .segments
            .iter()
            .map(|s| s.score)
            .collect();
        scores.sort_by(f64::total_cmp);
        let saved = session.save().unwrap();
        // Through JSON, as a host's state holds it.
        let json = serde_json::to_string(&saved).unwrap();
        let saved: SavedSession = serde_json::from_str(&json).unwrap();
        let mut restored = SessionEdit::restore(model.clone(), &saved).unwrap();
        assert_eq!(restored.coverage(), session.coverage());
        assert_eq!(restored.heard_new(), 0);
        let mut cut_something = false;
        for quantile in [0.2, 0.6] {
            let opts = options(scores[(quantile * scores.len() as f64) as usize]);
            let live = session.plan(&opts, &mut no_host_grid).unwrap();
            cut_something |= !live.cut_samples(rate).is_empty();
            assert_same_plans(&restored.plan(&opts, &mut no_host_grid).unwrap(), &live);
        }
        assert!(cut_something, "the comparison needs a plan that cuts");
        // Hearing the saved audio again analyses nothing; changed audio is analysed anew.
        push_in_blocks(&mut restored, 0, &audio[..150_000], &[512]);
        assert_eq!(restored.heard_new(), 0);
        let mut changed = audio[200_000..].to_vec();
        changed.iter_mut().for_each(|x| *x *= 0.5);
        restored.push(200_000, &changed).unwrap();
        let from = 200_000u64.div_ceil(FINGERPRINT_BLOCK) * FINGERPRINT_BLOCK;
        assert_eq!(
            restored.coverage(),
            vec![(0, 150_000), (200_000, from), (from, audio.len() as u64)]
        );
        restored.plan(&options(0.0), &mut no_host_grid).unwrap();
    }
}

#[test]
fn a_damaged_saved_analysis_is_refused_with_the_reason() {
    let model = tiny_model();
    let mut session = SessionEdit::new(model.clone(), 44_100).unwrap();
    session.push(0, &signal(3.0, 44_100)).unwrap();
    let saved = serde_json::to_value(session.save().unwrap()).unwrap();
    let with = |edit: &dyn Fn(&mut serde_json::Value)| {
        let mut value = saved.clone();
        edit(&mut value);
        let saved: SavedSession = serde_json::from_value(value).unwrap();
        format!(
            "{:#}",
            SessionEdit::restore(model.clone(), &saved).err().unwrap()
        )
    };
    let message = with(&|v| v["regions"][0]["packed"] = "not base64!".into());
    assert!(
        message.contains("region 1") && message.contains("base64"),
        "{message}"
    );
    let message = with(&|v| {
        let packed = v["regions"][0]["packed"].as_str().unwrap().to_owned();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(packed)
            .unwrap();
        let short = base64::engine::general_purpose::STANDARD.encode(&bytes[..bytes.len() / 2]);
        v["regions"][0]["packed"] = short.into();
    });
    assert!(message.contains("region 1"), "{message}");
    let message = with(&|v| v["format"] = 99.into());
    assert!(message.contains("format 99"), "{message}");
    let message = with(&|v| v["regions"][0]["samples"] = 10_000_000.into());
    assert!(message.contains("fingerprint"), "{message}");
}

#[test]
fn levels_are_each_blocks_mean_square_and_survive_a_save() {
    let rate = 22_050;
    // A quiet second and a loud one, heard as two regions.
    let quiet = vec![0.1f32; rate as usize];
    let loud = vec![0.5f32; rate as usize];
    let mut session = SessionEdit::new(tiny_model(), rate).unwrap();
    push_in_blocks(&mut session, 0, &quiet, &[700]);
    session.push(100_000, &loud).unwrap();
    let levels: Vec<(u64, Vec<f32>)> = session.levels().map(|(a, l)| (a, l.to_vec())).collect();
    assert_eq!(levels.len(), 2);
    // Whole blocks only, starting at the first block boundary inside each region.
    assert_eq!(levels[0].0, 0);
    assert_eq!(
        levels[0].1.len(),
        rate as usize / FINGERPRINT_BLOCK as usize
    );
    assert_eq!(
        levels[1].0,
        100_000u64.div_ceil(FINGERPRINT_BLOCK) * FINGERPRINT_BLOCK
    );
    for (level, (_, blocks)) in [0.01, 0.25].into_iter().zip(&levels) {
        assert!(
            blocks.iter().all(|&ms| (ms - level).abs() < 1e-5),
            "{blocks:?}"
        );
    }
    let restored = SessionEdit::restore(tiny_model(), &session.save().unwrap()).unwrap();
    let again: Vec<(u64, Vec<f32>)> = restored.levels().map(|(a, l)| (a, l.to_vec())).collect();
    assert_eq!(again, levels);
}
