use std::sync::Arc;

use candle_core::DType;

use super::*;
use crate::engine::cut_plan::{CutOptions, CutPlan, SnapMode};
use crate::engine::features::{log_mel_of, FeatureConfig, FeatureStats, LogMelExtractor};
use crate::engine::model::{Autoencoder, ModelConfig};
use crate::engine::pairs::{
    contextual_descriptors, ClassifierTraining, PairClassifier, PriorWeight, PRIOR_WEIGHT,
};
use crate::engine::slicer::Slicer;

/// A small untrained network: its scores are arbitrary but deterministic, which is all a
/// comparison of two paths through it needs.
pub(crate) fn tiny_model() -> Arc<Slicer> {
    Arc::new(Slicer::reconstruction_only(tiny_autoencoder()))
}

pub(crate) fn tiny_autoencoder() -> Autoencoder {
    let features = FeatureConfig::default();
    let stats = FeatureStats {
        mean: vec![-4.0; features.n_mels],
        std: vec![3.0; features.n_mels],
    };
    let mut config = ModelConfig::seed_design(features, stats);
    config.hidden_dims = vec![4, 8];
    config.latent_dim = 8;
    Autoencoder::new(config, DType::F32, 7).unwrap()
}

/// Tones with a changing pitch and a burst of noise: enough variety that segment scores differ.
pub(crate) fn signal(seconds: f64, rate: u32) -> Vec<f32> {
    let n = (seconds * f64::from(rate)) as usize;
    let mut seed = 12345u32;
    (0..n)
        .map(|i| {
            let t = i as f64 / f64::from(rate);
            let f = 220.0 * (1.0 + (t * 0.7).floor() * 0.25);
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let noise = (seed >> 8) as f64 / f64::from(1u32 << 24) - 0.5;
            let burst = if (2.0..2.6).contains(&t) { noise } else { 0.0 };
            (0.3 * (2.0 * std::f64::consts::PI * f * t).sin() + burst) as f32
        })
        .collect()
}

/// Pushes `audio` in blocks cycling through `sizes` and returns every event.
fn stream_events(
    model: &Arc<Slicer>,
    rate: u32,
    audio: &[f32],
    sizes: &[usize],
) -> Vec<StreamEvent> {
    let mut analyser = StreamingAnalyser::new(model.clone(), rate).unwrap();
    let mut events = Vec::new();
    let mut at = 0;
    for &size in sizes.iter().cycle() {
        if at >= audio.len() {
            break;
        }
        let end = (at + size).min(audio.len());
        analyser.push(&audio[at..end], &mut events).unwrap();
        at = end;
    }
    events
}

fn segments(events: &[StreamEvent]) -> Vec<(f64, f64)> {
    events
        .iter()
        .filter_map(|e| match *e {
            StreamEvent::Segment { start, score, .. } => Some((start, score)),
            _ => None,
        })
        .collect()
}

fn bins(events: &[StreamEvent]) -> Vec<f64> {
    events
        .iter()
        .filter_map(|e| match *e {
            StreamEvent::Bin { score, .. } => Some(score),
            _ => None,
        })
        .collect()
}

/// The offline timeline of the same audio.
fn offline(model: &Slicer, rate: u32, audio: &[f32]) -> crate::engine::scoring::ScoreTimeline {
    let mut ex = LogMelExtractor::new(model.features()).unwrap();
    let spec = log_mel_of(&mut ex, &[audio.to_vec()], rate).unwrap();
    let duration = audio.len() as f64 / f64::from(rate);
    model.score_log_mel(&spec, duration).unwrap()
}

fn assert_close(a: f64, b: f64, what: &str) {
    assert!(
        (a - b).abs() <= 1e-4 * b.abs().max(1e-3),
        "{what}: streamed {a} vs offline {b}"
    );
}

#[test]
fn streamed_scores_match_the_offline_path_at_every_rate() {
    let model = tiny_model();
    for rate in [44_100, 22_050, 8_000] {
        let audio = signal(5.0, rate);
        let streamed = segments(&stream_events(&model, rate, &audio, &[1, 333, 4096, 17]));
        let timeline = offline(&model, rate, &audio);
        // The offline path adds one segment aligned to the end of the file; the stream has no end
        // and leaves a last, unfilled batch unscored.
        let full = timeline.segments.len() - 1;
        assert!(
            streamed.len() + STREAM_BATCH > full && full > 10,
            "{rate}: {} of {full}",
            streamed.len()
        );
        for (i, (start, score)) in streamed.iter().enumerate().take(full) {
            assert!((start - timeline.segments[i].start).abs() < 1e-9);
            assert_close(
                *score,
                timeline.segments[i].score,
                &format!("{rate} Hz segment {i}"),
            );
        }
        let offline_bins = timeline.bin_scores();
        let streamed_bins = bins(&stream_events(&model, rate, &audio, &[4096]));
        // Bins the end-aligned tail segment touches differ by construction.
        let comparable = streamed_bins
            .len()
            .min(offline_bins.len().saturating_sub(5));
        assert!(comparable > 10);
        for i in 0..comparable {
            assert_close(
                streamed_bins[i],
                offline_bins[i],
                &format!("{rate} Hz bin {i}"),
            );
        }
    }
}

#[test]
fn block_size_does_not_change_the_result() {
    let model = tiny_model();
    let audio = signal(3.0, 48_000);
    let a = stream_events(&model, 48_000, &audio, &[1, 2, 3, 5000]);
    let b = stream_events(&model, 48_000, &audio, &[16384]);
    let scores = |e: &[StreamEvent]| segments(e).into_iter().map(|(_, s)| s).collect::<Vec<_>>();
    assert_eq!(scores(&a).len(), scores(&b).len());
    for (x, y) in scores(&a).iter().zip(scores(&b)) {
        assert_close(*x, y, "same audio, other blocks");
    }
}

#[test]
fn bins_are_final_within_the_stated_analysis_delay() {
    for (model, rate) in [
        (tiny_model(), 8_000u32),
        (tiny_model(), 44_100),
        (tiny_model(), 96_000),
        (tiny_classifier_model(1, 4), 44_100),
    ] {
        let audio = signal(3.0, rate);
        let mut analyser = StreamingAnalyser::new(model.clone(), rate).unwrap();
        let delay = analyser.analysis_delay_seconds(rate);
        let mut events = Vec::new();
        let mut seen = 0;
        for (i, block) in audio.chunks(64).enumerate() {
            analyser.push(block, &mut events).unwrap();
            let now = ((i + 1) * 64) as f64 / f64::from(rate);
            for e in &events[seen..] {
                if let StreamEvent::Bin { start, .. } = *e {
                    assert!(
                        now - start <= delay,
                        "{rate} Hz: bin at {start} final at {now}"
                    );
                }
            }
            seen = events.len();
        }
        // The bound is not slack by more than a batch, a bin and a resampler chunk either.
        let last_final = bins(&events).len() as f64 * analyser.bin_seconds();
        let stale = 3.0 - last_final;
        let slack = (STREAM_BATCH + 1) as f64 * analyser.bin_seconds() + 0.2;
        assert!(
            stale <= delay && stale > delay - slack,
            "{stale} vs {delay}"
        );
    }
}

#[test]
fn non_finite_input_reads_as_silence() {
    let model = tiny_model();
    let mut audio = signal(4.0, 22_050);
    let clean = audio.clone();
    audio[1000] = f32::NAN;
    audio[2000] = f32::INFINITY;
    let mut zeroed = clean;
    zeroed[1000] = 0.0;
    zeroed[2000] = 0.0;
    let a = segments(&stream_events(&model, 22_050, &audio, &[512]));
    let b = segments(&stream_events(&model, 22_050, &zeroed, &[512]));
    assert!(!a.is_empty());
    assert_eq!(a, b);
    assert!(a.iter().all(|(_, s)| s.is_finite()));
}

fn settings(cut: CutOptions) -> PlannerSettings {
    PlannerSettings {
        threshold: 0.5,
        cut,
    }
}

/// Runs a mask through the online planner, returning its decisions.
fn plan_online(
    mask: &[bool],
    bin: f64,
    lookahead: f64,
    s: &PlannerSettings,
) -> (Vec<Decision>, f64) {
    let mut planner = OnlinePlanner::new(bin, lookahead);
    let mut out = Vec::new();
    for (i, &bad) in mask.iter().enumerate() {
        planner.push_bin(i, if bad { 1.0 } else { 0.0 }, s, None, &mut out);
    }
    (out, planner.committed())
}

#[test]
fn online_plan_equals_the_offline_plan_when_the_lookahead_suffices() {
    let bin = 0.1;
    let cut = CutOptions {
        min_keep: 0.5,
        min_cut: 0.3,
        pre_pad: 0.05,
        post_pad: 0.1,
        snap: SnapMode::Off,
        snap_tolerance: 0.0,
    };
    // Runs of every length around the limits: short blips, long cuts, short keeps between.
    let runs = [
        (false, 20),
        (true, 2),
        (false, 10),
        (true, 8),
        (false, 3),
        (true, 6),
        (false, 4),
    ];
    let mut mask = Vec::new();
    for _ in 0..3 {
        for &(bad, n) in &runs {
            mask.extend(std::iter::repeat_n(bad, n));
        }
    }
    mask.extend(std::iter::repeat_n(false, 30));
    let s = settings(cut.clone());
    let (decisions, committed) = plan_online(&mask, bin, 1.0, &s);
    let offline = CutPlan::from_bad_mask(&mask, bin, mask.len() as f64 * bin, &cut, None);
    assert!(committed > mask.len() as f64 * bin - 1.5);
    assert!(offline.cuts().len() >= 3, "the fixture must contain cuts");
    // Decisions tile [0, committed) in order.
    let mut cursor = 0.0;
    for d in &decisions {
        assert!((d.start - cursor).abs() < 1e-9 && d.end > d.start);
        cursor = d.end;
    }
    assert!((cursor - committed).abs() < 1e-9);
    let mut t = 0.005;
    while t < committed {
        let online = decisions
            .iter()
            .find(|d| d.start <= t && t < d.end)
            .unwrap()
            .keep;
        assert_eq!(online, offline.is_kept(t), "at {t} s");
        t += 0.01;
    }
}

#[test]
fn unscorable_bins_are_kept_and_snapping_uses_the_grid() {
    let cut = CutOptions {
        min_keep: 0.0,
        min_cut: 0.0,
        pre_pad: 0.0,
        post_pad: 0.0,
        snap: SnapMode::Beat,
        snap_tolerance: 0.15,
    };
    let s = settings(cut);
    let mut planner = OnlinePlanner::new(0.1, 0.5);
    let grid = BeatGrid {
        tempo_bpm: 120.0,
        beats: (0..40).map(|b| f64::from(b) * 0.5 + 0.07).collect(),
        downbeats: Vec::new(),
        onsets: Vec::new(),
    };
    let mut out = Vec::new();
    for i in 0..40 {
        let score = match i {
            5..=9 => f64::NAN,
            20..=29 => 1.0,
            _ => 0.0,
        };
        planner.push_bin(i, score, &s, Some(&grid), &mut out);
    }
    let cuts: Vec<&Decision> = out.iter().filter(|d| !d.keep).collect();
    assert_eq!(cuts.len(), 1, "{out:?}");
    // Bins 20..30 are [2.0, 3.0); the nearest beats within 0.15 s are 2.07 and 3.07.
    assert!(
        (cuts[0].start - 2.07).abs() < 1e-9 && (cuts[0].end - 3.07).abs() < 1e-9,
        "{out:?}"
    );
}

#[test]
fn history_is_bounded_and_marks_decisions() {
    let mut h = ScoreHistory::new(100);
    for i in 0..10_000 {
        h.push(i, i as f64, i as f64 + 1.0, 0.5);
    }
    assert_eq!(h.len(), 100);
    assert_eq!(h.first_index(), 9_900);
    h.mark(9_950.0, 9_960.0, false);
    let cut = h.bins().filter(|b| b.keep == Some(false)).count();
    assert_eq!(cut, 10);
    assert!(h.bins().filter(|b| b.keep.is_none()).count() == 90);
}

/// The tiny autoencoder with a small classifier trained on its own descriptors of the test
/// signal (labels alternate, so the probabilities vary): context radii `short` and `long` rows.
pub(crate) fn tiny_classifier_model(short: usize, long: usize) -> Arc<Slicer> {
    let autoencoder = tiny_autoencoder();
    let hop = 8;
    let mut ex = LogMelExtractor::new(&autoencoder.config().features).unwrap();
    let spec = log_mel_of(&mut ex, &[signal(6.0, 22_050)], 22_050).unwrap();
    let desc = contextual_descriptors(&autoencoder, &spec, hop, (short, long), None).unwrap();
    let labels: Vec<f32> = (0..desc.len()).map(|i| ((i / 5) % 2) as f32).collect();
    let options = ClassifierTraining {
        hidden: 4,
        epochs: 1,
        members: 1,
        ..ClassifierTraining::default()
    };
    let clf = PairClassifier::train(&desc.values, &labels, (hop, short, long), &options).unwrap();
    Arc::new(Slicer::with_classifier(autoencoder, clf))
}

/// Streams `audio` (zero-padded at the end by half a window, as offline frames are) through
/// `model` to the end; returns every segment's start and score, and how many were scored only
/// when the stream ended.
fn stream_to_end(
    model: &Arc<Slicer>,
    audio: &[f32],
    prior: PriorWeight,
) -> (Vec<(f64, f64)>, usize) {
    let config = model.features();
    let mut padded = audio.to_vec();
    padded.extend(std::iter::repeat_n(0.0, config.n_fft / 2));
    let mut analyser = StreamingAnalyser::new(model.clone(), config.sample_rate).unwrap();
    analyser.set_prior_weight(prior);
    let mut events = Vec::new();
    for block in padded.chunks(700) {
        analyser.push(block, &mut events).unwrap();
    }
    let before_finish = segments(&events).len();
    analyser.finish(&mut events).unwrap();
    let streamed = segments(&events);
    let at_finish = streamed.len() - before_finish;
    (streamed, at_finish)
}

#[test]
fn streamed_classifier_reaches_the_offline_probabilities_once_it_has_heard_everything() {
    let (short, long) = (2, 6);
    let model = tiny_classifier_model(short, long);
    let config = model.features().clone();
    let (seg, hop) = (model.segment_frames(), model.hop_frames());
    // A length whose centred frames leave no end-aligned extra segment offline.
    let audio = signal(4.0, config.sample_rate);
    let len = config.hop * (seg - 1 + hop * ((audio.len() / config.hop - seg) / hop));
    let audio = &audio[..len];
    let mut ex = LogMelExtractor::new(&config).unwrap();
    let spec = log_mel_of(&mut ex, &[audio.to_vec()], config.sample_rate).unwrap();
    let clf = model.classifier().unwrap();

    // Without a prior the median is the stream's alone, which ends as the recording's.
    let desc =
        contextual_descriptors(model.autoencoder(), &spec, hop, (short, long), None).unwrap();
    let offline_plain = clf.predict(&desc).unwrap();
    let (streamed, at_finish) = stream_to_end(&model, audio, PriorWeight::NONE);
    assert_eq!(streamed.len(), desc.len());
    // The last rows wait for context (and the last ones for a full batch) until the stream ends.
    assert!(
        at_finish >= long && at_finish < long + STREAM_BATCH,
        "{at_finish}"
    );
    for (i, ((start, _), offline)) in streamed.iter().zip(&desc.starts).enumerate() {
        let expected = *offline as f64 / config.frame_rate();
        assert!((start - expected).abs() < 1e-9, "segment {i} start");
    }
    // Rows scored after the stream had heard every row used the recording's median, as
    // offline; earlier rows used the median of what had been heard by then.
    let heard_all = streamed.len() - 1 - long;
    for (i, ((_, a), b)) in streamed.iter().zip(&offline_plain).enumerate() {
        if i >= heard_all {
            assert_close(*a, *b, &format!("row {i}"));
        }
    }
    let differs = streamed
        .iter()
        .zip(&offline_plain)
        .any(|((_, a), b)| (a - b).abs() > 1e-4);
    assert!(
        differs,
        "an early median should change some early probability"
    );

    // With the model's prior (the default), the end of the stream meets the offline scores of
    // the same model.
    let timeline = offline(&model, config.sample_rate, audio);
    let (streamed, _) = stream_to_end(&model, audio, PRIOR_WEIGHT);
    assert_eq!(streamed.len(), timeline.segments.len());
    for (i, ((_, a), b)) in streamed.iter().zip(&timeline.segments).enumerate() {
        if i >= heard_all {
            assert_close(*a, b.score, &format!("row {i} with the prior"));
        }
    }
}

#[test]
fn a_classifier_scores_at_its_own_step() {
    let model = tiny_classifier_model(1, 4);
    let only = |m: Arc<Slicer>| Arc::try_unwrap(m).ok().unwrap();
    assert!(only(tiny_classifier_model(1, 4))
        .with_hop_frames(16)
        .is_err());
    assert!(only(tiny_classifier_model(1, 4)).with_hop_frames(8).is_ok());
    assert_eq!(
        only(tiny_model()).with_hop_frames(16).unwrap().hop_frames(),
        16
    );
    let analyser = StreamingAnalyser::new(model.clone(), 44_100).unwrap();
    let plain_at_8 = Arc::new(only(tiny_model()).with_hop_frames(8).unwrap());
    let plain = StreamingAnalyser::new(plain_at_8, 44_100).unwrap();
    // Four rows of eight frames of context wait on top of the segment.
    let extra = analyser.analysis_delay_seconds(44_100) - plain.analysis_delay_seconds(44_100);
    let expected = 4.0 * 8.0 * 256.0 / 22_050.0;
    assert!((extra - expected).abs() < 1e-9, "{extra} vs {expected}");
}
