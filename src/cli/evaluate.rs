//! `audio-slicer evaluate`: edit every test raw of a benchmark folder and score the edits the
//! same way as the benchmark's own scorer.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context, Result};
use audio_slicer::engine::audio_io::read_audio;
use audio_slicer::engine::edit::{cut_list_of, plan_edit};
use audio_slicer::engine::metrics::{load_truths, score_dir};
use audio_slicer::engine::slicer::Slicer;
use audio_slicer::engine::training::{audio_files_in, save_model_atomically, TrainOptions};
use clap::Args;

use crate::options::EditTuning;
use crate::train::build_model;

/// Arguments of `evaluate`.
#[derive(Args, Debug)]
pub struct EvaluateArgs {
    /// Benchmark folder with train/, test/ and truth/ (like ../shared/bench/dev).
    pub bench_dir: PathBuf,
    /// Use this model instead of training one on BENCH_DIR/train.
    #[arg(short = 'm', long = "model")]
    pub model: Option<PathBuf>,
    /// Folder for the trained model, the cut lists and the report.
    #[arg(short = 'o', long = "out", default_value = "evaluate-out")]
    pub out: PathBuf,
    /// Which split of the truth files to edit and score.
    #[arg(long, default_value = "test")]
    pub split: String,
    /// Training epochs when training.
    #[arg(long, default_value_t = TrainOptions::default().epochs)]
    pub epochs: usize,
    /// Random seed when training.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// When training: learn only from the edited files (the seed's autoencoder alone).
    #[arg(long)]
    pub edited_only: bool,
    /// When training: reuse the autoencoder of this model directory.
    #[arg(long, value_name = "MODEL_DIR")]
    pub autoencoder_from: Option<PathBuf>,
    #[command(flatten)]
    pub edit: EditTuning,
}

/// Runs `evaluate`.
pub fn run(args: EvaluateArgs) -> Result<()> {
    let model = match &args.model {
        Some(dir) => Slicer::from_checkpoint(dir)?,
        None => train_for_bench(&args)?,
    };
    let truths = load_truths(&args.bench_dir, &args.split)?;
    if truths.is_empty() {
        return Err(anyhow!(
            "{} has no truth files for split '{}'",
            args.bench_dir.join("truth").display(),
            args.split
        ));
    }
    let pred_dir = args.out.join("cuts");
    std::fs::create_dir_all(&pred_dir)
        .with_context(|| format!("cannot create {}", pred_dir.display()))?;
    let options = args.edit.to_options(&model);
    let raws = audio_files_in(&args.bench_dir.join(&args.split).join("input"))?;
    for truth in &truths {
        let raw = find_by_stem(&raws, &truth.name)?;
        let clip = read_audio(raw)?;
        let decision = plan_edit(&model, &clip, &options)?;
        let list = cut_list_of(
            &decision,
            &raw.display().to_string(),
            clip.sample_rate,
            model.name(),
        );
        list.write_json(&pred_dir.join(format!("{}.cuts.json", truth.name)))?;
        eprintln!(
            "{}: kept {:.1} % (human {:.1} %)",
            truth.name,
            100.0 * decision.plan.kept_ratio(),
            100.0 * truth.kept_ratio
        );
    }
    let report = score_dir(&args.bench_dir, &pred_dir, &args.split)?;
    println!("{}", report.to_table());
    let json = serde_json::to_string_pretty(&report)?;
    let report_path = args.out.join("report.json");
    std::fs::write(&report_path, &json)
        .with_context(|| format!("cannot write {}", report_path.display()))?;
    println!("{json}");
    eprintln!("cut lists in {}, report in {}", pred_dir.display(), report_path.display());
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
    let model = build_model(
        &train_dir,
        &options,
        args.edited_only,
        args.autoencoder_from.as_deref(),
    )?;
    save_model_atomically(&model, &args.out.join("model"))?;
    Ok(model)
}

fn find_by_stem<'a>(files: &'a [PathBuf], name: &str) -> Result<&'a Path> {
    files
        .iter()
        .find(|p| p.file_stem().is_some_and(|s| s == name))
        .map(PathBuf::as_path)
        .ok_or_else(|| anyhow!("no raw recording named {name}.* in the benchmark's input folder"))
}
