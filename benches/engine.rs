//! Engine speed, reported as ratios measured in one run: times real time for features, scoring
//! and a whole edit of a 10-minute file, and training throughput in segments per second.
//!
//! Run with `cargo bench --bench engine`. Needs the shipped model in models/default.

use std::path::Path;
use std::time::Instant;

use audio_slicer::engine::audio_io::{write_wav, AudioClip, WavFormat};
use audio_slicer::engine::cut_list::sidecar_paths;
use audio_slicer::engine::edit::{
    cut_list_of, plan_edit_of_log_mel, render_edit_file, EditOptions, RecordingAnalysis,
};
use audio_slicer::engine::features::{log_mel_of, FeatureConfig, LogMel, LogMelExtractor};
use audio_slicer::engine::model::{segment_batch, Autoencoder};
use audio_slicer::engine::plot::{plot_scores, PlotInput};
use audio_slicer::engine::slicer::Slicer;
use audio_slicer::engine::training::TrainOptions;
use candle_core::DType;
use candle_nn::{AdamW, Optimizer, ParamsAdamW};

/// Ten minutes of a harmonic, noisy, amplitude-modulated signal: enough structure for every stage.
fn session(seconds: f64, sample_rate: u32) -> AudioClip {
    let n = (seconds * f64::from(sample_rate)) as usize;
    let mut state = 1u64;
    let mut mono = Vec::with_capacity(n);
    for i in 0..n {
        let t = i as f64 / f64::from(sample_rate);
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let noise = ((state >> 40) as f64 / (1u64 << 24) as f64) - 0.5;
        let env = 0.5 + 0.5 * (2.0 * std::f64::consts::PI * 2.0 * t).sin();
        let tone: f64 = (1..5)
            .map(|h| (2.0 * std::f64::consts::PI * 220.0 * h as f64 * t).sin() / h as f64)
            .sum();
        mono.push((0.2 * env * tone + 0.02 * noise) as f32);
    }
    AudioClip::new(sample_rate, vec![mono.clone(), mono])
}

fn main() {
    let model_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/default");
    let model = Slicer::from_checkpoint(&model_dir).expect("models/default loads");
    let seconds = 600.0;
    let clip = session(seconds, 44100);
    println!(
        "Audio Slicer engine benchmark: {seconds:.0} s of 44.1 kHz stereo, {} threads available",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );

    let mut extractor = LogMelExtractor::new(&FeatureConfig::default()).unwrap();
    let t = Instant::now();
    let spec = log_mel_of(&mut extractor, &clip.channels, clip.sample_rate).unwrap();
    let features_s = t.elapsed().as_secs_f64();
    println!(
        "features (downmix, resample, STFT, mel, log; one thread): {:>8.0}x real time",
        seconds / features_s
    );

    let t = Instant::now();
    let hop = model.hop_frames();
    let timeline = model.score_log_mel(&spec, clip.duration()).unwrap();
    let scoring_s = t.elapsed().as_secs_f64();
    println!(
        "scoring, default model ({}, hop {hop} frames, {} segments): {:>8.1}x real time",
        model.method(),
        timeline.segments.len(),
        seconds / scoring_s
    );
    let plain = Slicer::reconstruction_only(Autoencoder::from_checkpoint(&model_dir).unwrap());
    let t = Instant::now();
    let quarter = plain.hop_frames();
    let timeline = plain.score_log_mel(&spec, clip.duration()).unwrap();
    let plain_s = t.elapsed().as_secs_f64();
    println!(
        "scoring, its autoencoder alone (reconstruction error, hop {quarter} frames, {} segments): {:>8.1}x real time",
        timeline.segments.len(),
        seconds / plain_s
    );

    encoder_forward(plain.autoencoder(), &spec, hop, seconds);

    let dir = std::env::temp_dir().join(format!("audio-slicer-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let input = dir.join("session.wav");
    write_wav(&input, &clip, WavFormat::Int16).unwrap();
    let t = Instant::now();
    let raw = RecordingAnalysis::of_file(&input, model.features()).unwrap();
    let options = EditOptions::default();
    let decision =
        plan_edit_of_log_mel(&model, &raw.spec, raw.duration(), &options, &mut |_, _| {}).unwrap();
    let out = dir.join("edited.wav");
    render_edit_file(
        &input,
        raw.frames,
        &decision.plan.keep,
        options.crossfade,
        &out,
        WavFormat::Int24,
    )
    .unwrap();
    let [json, labels, csv] = sidecar_paths(&out).unwrap();
    cut_list_of(&decision, "session.wav", raw.sample_rate, "default")
        .write_sidecars([&json, &labels, &csv])
        .unwrap();
    plot_scores(
        &dir.join("edited.png"),
        &PlotInput {
            title: "bench",
            waveform: &raw.waveform,
            segments: &decision.timeline.segments,
            threshold: decision.threshold,
            keep: &decision.plan.keep,
            duration: raw.duration(),
        },
    )
    .unwrap();
    let edit_s = t.elapsed().as_secs_f64();
    println!("edit end to end (read, score, plan, render, write WAV, cut lists, plot): {:>8.1}x real time ({edit_s:.1} s)", seconds / edit_s);
    let _ = std::fs::remove_dir_all(&dir);

    // Training throughput: optimiser steps on batches of the default size, nothing else.
    let options = TrainOptions::default();
    let config = model.autoencoder().config().clone();
    let fresh = Autoencoder::new(config, DType::F32, 1).unwrap();
    let mut optimiser = AdamW::new(fresh.varmap().all_vars(), ParamsAdamW::default()).unwrap();
    let seg = fresh.config().segment_frames;
    let n_mels = fresh.config().features.n_mels;
    let steps = 20;
    let mut normalised = spec.clone();
    model.autoencoder().config().stats.apply(&mut normalised);
    let t = Instant::now();
    for step in 0..steps {
        let starts: Vec<usize> = (0..options.batch_size)
            .map(|i| (step * 131 + i * 977) % (spec.frames() - seg))
            .collect();
        let x = segment_batch(&normalised, &starts, seg, DType::F32, fresh.device()).unwrap();
        let loss = fresh.segment_errors(&x).unwrap().mean_all().unwrap();
        optimiser.backward_step(&loss).unwrap();
    }
    let train_s = t.elapsed().as_secs_f64();
    println!(
        "training steps, default architecture ({n_mels} mels x {seg} frames), batch {}: {:>8.0} segments/s",
        options.batch_size,
        (steps * options.batch_size) as f64 / train_s
    );
}

/// The encoder's forward pass over every segment at `hop`, through candle's stock path (each
/// segment on its own, 64 at a time) and through the shared path (one wide stretch per 64
/// segments), in the same run.
fn encoder_forward(model: &Autoencoder, spec: &LogMel, hop: usize, seconds: f64) {
    let seg = model.config().segment_frames;
    let mut normalised = spec.clone();
    model.config().stats.apply(&mut normalised);
    let starts: Vec<usize> = (0..=normalised.frames() - seg).step_by(hop).collect();
    let dev = model.device();
    let t = Instant::now();
    for run in starts.chunks(64) {
        let x = segment_batch(&normalised, run, seg, DType::F32, dev).unwrap();
        model.encode(&x).unwrap();
    }
    let stock_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    for run in starts.chunks(64) {
        let width = run[run.len() - 1] - run[0] + seg;
        let wide = segment_batch(&normalised, &run[..1], width, DType::F32, dev).unwrap();
        model.encode_overlapping(&wide, hop, run.len()).unwrap();
    }
    let shared_s = t.elapsed().as_secs_f64();
    println!(
        "encoder forward, {} segments at hop {hop}: stock {:>6.1}x real time, shared {:>6.1}x real time, ratio {:.2}",
        starts.len(),
        seconds / stock_s,
        seconds / shared_s,
        stock_s / shared_s
    );
}
