//! `audio-slicer evaluate`: edit every test raw of a benchmark folder and score the edits the
//! same way as the benchmark's own scorer.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context, Result};
use audio_slicer::engine::audio_io::{read_audio, AudioClip};
use audio_slicer::engine::cut_list::CutList;
use audio_slicer::engine::edit::{cut_list_of, plan_edit};
use audio_slicer::engine::model::Autoencoder;
use audio_slicer::engine::pairs::ClassifierTraining;
use audio_slicer::engine::slicer::Slicer;
use audio_slicer::engine::timeline::total_duration;
use audio_slicer::engine::training::{
    audio_files_in, file_with_stem, load_features, save_model_atomically, train_on_spectrograms,
    TrainOptions,
};
use audio_slicer::research::crossval::{cross_validate, CrossValStep};
use audio_slicer::research::level_gate::LevelGate;
use audio_slicer::research::metrics::{load_truths, score_dir, BenchReport};
use clap::Args;

use crate::options::{at_hop, positive_count, EditTuning, MethodArg};
use crate::progress::ProgressOptions;
use crate::train::build_model;

/// Arguments of `evaluate`. On a folder with `truth/` it scores against the truth; on a user's
/// training folder (`input/` + `desired_output/`, no `truth/`) it cross-validates.
#[derive(Args, Debug)]
pub struct EvaluateArgs {
    /// Benchmark folder with train/, test/ and truth/ (like ../shared/bench/dev), or your own
    /// training folder with input/ and desired_output/ (cross-validation).
    pub bench_dir: PathBuf,
    /// Use this model instead of training one on BENCH_DIR/train.
    #[arg(short = 'm', long = "model")]
    pub model: Option<PathBuf>,
    /// Folder for the trained model, the cut lists and the report.
    #[arg(short = 'o', long = "out", default_value = "evaluate-out")]
    pub out: PathBuf,
    /// Folds of the cross-validation on a training folder without truth files.
    #[arg(long, default_value_t = 5, value_parser = positive_count)]
    pub folds: usize,
    /// Which split of the truth files to edit and score.
    #[arg(long, default_value = "test")]
    pub split: String,
    /// Training epochs when training.
    #[arg(long, default_value_t = TrainOptions::default().epochs, value_parser = positive_count)]
    pub epochs: usize,
    /// Random seed when training.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Score the level-gate baseline (Strip Silence style, -40 dBFS) instead of a model.
    #[arg(long, conflicts_with_all = ["model", "edited_only", "autoencoder_from", "method", "hop_frames"])]
    pub level_gate: bool,
    /// When training: what to train (default: pair-classifier).
    #[arg(long, value_enum, conflicts_with = "model")]
    pub method: Option<MethodArg>,
    /// When training: learn only from the edited files (the same as --method edited-novelty).
    #[arg(long, conflicts_with = "method")]
    pub edited_only: bool,
    /// When training: reuse the autoencoder of this model directory.
    #[arg(long, value_name = "MODEL_DIR")]
    pub autoencoder_from: Option<PathBuf>,
    #[command(flatten)]
    pub edit: EditTuning,
}

/// Runs `evaluate`: on a benchmark folder with truth files, or by cross-validation on a user's
/// own training folder.
pub fn run(args: EvaluateArgs) -> Result<()> {
    if !args.bench_dir.join("truth").is_dir() && args.bench_dir.join("desired_output").is_dir() {
        return run_cross_validation(&args);
    }
    let model = match (&args.model, args.level_gate) {
        (_, true) => None,
        (Some(dir), false) => Some(at_hop(Slicer::from_checkpoint(dir)?, args.edit.hop_frames)?),
        (None, false) => Some(at_hop(train_for_bench(&args)?, args.edit.hop_frames)?),
    };
    let truths = load_truths(&args.bench_dir, &args.split)?;
    if truths.is_empty() {
        return Err(anyhow!(
            "{} has no truth files for split '{}'",
            args.bench_dir.join("truth").display(),
            args.split
        ));
    }
    let pred_dir = cut_list_dir(&args.out)?;
    let raws = audio_files_in(&args.bench_dir.join(&args.split).join("input"))?;
    for truth in &truths {
        let raw = find_by_stem(&raws, &truth.name)?;
        let clip = read_audio(raw)?;
        let source = raw.display().to_string();
        let list = match &model {
            Some(model) => {
                let decision = plan_edit(model, &clip, &args.edit.to_options())?;
                cut_list_of(&decision, &source, clip.sample_rate, model.name())
            }
            None => level_gate_cut_list(&clip, &source),
        };
        write_cut_list(&pred_dir, &truth.name, &list)?;
        let kept = total_duration(&list.keep_ranges());
        eprintln!(
            "{}: kept {:.1} % (human {:.1} %)",
            truth.name,
            100.0 * kept / list.duration.max(f64::EPSILON),
            100.0 * truth.kept_ratio
        );
    }
    let report = score_dir(&args.bench_dir, &pred_dir, &args.split)?;
    println!("{}", report.to_table());
    let report_path = write_report(&args.out, &report)?;
    eprintln!(
        "cut lists in {}, report in {}",
        pred_dir.display(),
        report_path.display()
    );
    Ok(())
}

fn train_for_bench(args: &EvaluateArgs) -> Result<Slicer> {
    let options = TrainOptions {
        epochs: args.epochs,
        seed: args.seed,
        name: "evaluate".into(),
        ..TrainOptions::default()
    };
    let train_dir = args.bench_dir.join("train");
    let classifier = ClassifierTraining {
        seed: args.seed,
        ..ClassifierTraining::default()
    };
    let model = build_model(
        &train_dir,
        &options,
        &classifier,
        MethodArg::resolve(args.method, args.edited_only),
        args.autoencoder_from.as_deref(),
        &ProgressOptions::default(),
    )?;
    // The model is evaluate's own product in its own output folder: a rerun replaces it.
    save_model_atomically(&model, &args.out.join("model"), true)?;
    Ok(model)
}

/// k-fold cross-validation on `DATA_DIR/{input,desired_output}`: no truth files needed.
fn run_cross_validation(args: &EvaluateArgs) -> Result<()> {
    if let Some(hop) = args.edit.hop_frames {
        return Err(anyhow!(
            "--hop-frames {hop}: cross-validation trains pair classifiers, which score at the \
             step they were trained at"
        ));
    }
    let method = MethodArg::resolve(args.method, args.edited_only);
    if method != MethodArg::PairClassifier {
        return Err(anyhow!(
            "{} has no truth/ folder, so evaluate cross-validates, which trains the pair classifier only; {} is evaluated on a benchmark folder with truth/",
            args.bench_dir.display(),
            method.name()
        ));
    }
    let options = TrainOptions {
        epochs: args.epochs,
        seed: args.seed,
        name: "cross-validation".into(),
        ..TrainOptions::default()
    };
    let shared = args.autoencoder_from.clone();
    let features = match &shared {
        Some(dir) => Autoencoder::from_checkpoint(dir)?.config().features.clone(),
        None => options.features.clone(),
    };
    let classifier = ClassifierTraining {
        seed: args.seed,
        ..ClassifierTraining::default()
    };
    let pred_dir = cut_list_dir(&args.out)?;
    let report = cross_validate(
        &args.bench_dir,
        args.folds,
        &features,
        &classifier,
        &mut |edited| match &shared {
            Some(dir) => Autoencoder::from_checkpoint(dir),
            None => {
                let specs = load_features(edited, &options.features)?;
                let names: Vec<String> = edited.iter().map(|p| p.display().to_string()).collect();
                train_on_spectrograms(specs, &names, &options, &mut |_| {})
            }
        },
        &|_| args.edit.to_options(),
        &mut |step| {
            match step {
                CrossValStep::Aligning(name) => eprintln!("aligning {name} with its edit"),
                CrossValStep::Training { fold, folds } => {
                    eprintln!("fold {fold} of {folds}: training")
                }
                CrossValStep::Edited {
                    name,
                    kept_ratio,
                    human_kept_ratio,
                    list,
                } => {
                    eprintln!(
                        "{name}: kept {:.1} % (your edit {:.1} %)",
                        100.0 * kept_ratio,
                        100.0 * human_kept_ratio
                    );
                    write_cut_list(&pred_dir, name, list)?;
                }
            }
            Ok(())
        },
    )?;
    println!("Cross-validation against your own edits (recovered by alignment):");
    println!("{}", report.to_table());
    write_report(&args.out, &report)?;
    Ok(())
}

/// Creates `OUT/cuts`, where both kinds of evaluation leave one cut list per edited recording.
fn cut_list_dir(out: &Path) -> Result<PathBuf> {
    let dir = out.join("cuts");
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(dir)
}

/// Writes the cut list of recording `name` as `DIR/NAME.cuts.json`.
fn write_cut_list(dir: &Path, name: &str, list: &CutList) -> Result<()> {
    list.write_json(&dir.join(format!("{name}.cuts.json")))
}

/// Writes `OUT/report.json`, prints the same JSON, and returns the file's path.
fn write_report(out: &Path, report: &BenchReport) -> Result<PathBuf> {
    let json = serde_json::to_string_pretty(report)?;
    let path = out.join("report.json");
    std::fs::write(&path, &json).with_context(|| format!("cannot write {}", path.display()))?;
    println!("{json}");
    Ok(path)
}

/// The Strip-Silence-style baseline: -40 dBFS, 0.5 s minimum silence, 0.1 s pads; segments
/// ranked by their level.
fn level_gate_cut_list(clip: &AudioClip, source: &str) -> CutList {
    let gate = LevelGate::default();
    let plan = gate.plan(clip);
    let segments = LevelGate::segments(clip, 0.743, 0.186);
    CutList::new(
        source,
        clip.sample_rate,
        clip.duration(),
        &plan.keep,
        segments,
        gate.threshold_db,
        "level-gate",
    )
}

fn find_by_stem<'a>(files: &'a [PathBuf], name: &str) -> Result<&'a Path> {
    file_with_stem(files, name)
        .ok_or_else(|| anyhow!("no raw recording named {name}.* in the benchmark's input folder"))
}
