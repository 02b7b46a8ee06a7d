//! `audio-slicer`: train models on your edits, score and edit raw recordings, measure edits.
//!
//! A thin shell over [`audio_slicer::engine`]: argument parsing, progress and file naming live
//! here, the work is done by the engine.

mod align;
mod apply;
mod batch;
mod edit;
mod evaluate;
mod options;
mod progress;
mod train;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Learns what good audio sounds like from your own edits, then finds and cuts the bad parts of
/// raw recordings.
#[derive(Parser)]
#[command(name = "audio-slicer", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train a model on the edited files of DATA_DIR/desired_output/.
    Train(train::TrainArgs),
    /// Score a recording per segment: JSON, CSV and a PNG plot.
    Score(edit::ScoreArgs),
    /// Edit recordings: cut the bad parts, write the audio, a cut list and a plot.
    Edit(edit::EditArgs),
    /// Apply one cut list to other recordings of the same session (stems, a video's audio).
    Apply(apply::ApplyArgs),
    /// Train (or take -m), edit every test raw of a benchmark folder and score the edits.
    Evaluate(evaluate::EvaluateArgs),
    /// Find which spans of a raw recording its human edit kept; write them as a cut list.
    Align(align::AlignArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Train(args) => train::run(args),
        Command::Score(args) => edit::run_score(args),
        Command::Edit(args) => edit::run_edit(args),
        Command::Apply(args) => apply::run(args),
        Command::Evaluate(args) => evaluate::run(args),
        Command::Align(args) => align::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
