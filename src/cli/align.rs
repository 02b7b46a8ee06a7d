//! `audio-slicer align`: recover which spans of a raw recording a human edit kept, as a cut list.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use audio_slicer::engine::align::{align, Alignment};
use audio_slicer::engine::audio_io::read_audio;
use audio_slicer::engine::cut_list::CutList;
use audio_slicer::engine::outputs::{require_extension, OutputSet};
use audio_slicer::engine::takes::CutKind;
use audio_slicer::engine::timeline::total_duration;
use clap::Args;

/// Arguments of `align`.
#[derive(Args, Debug)]
pub struct AlignArgs {
    /// The raw recording.
    pub raw: PathBuf,
    /// The human edit of it (any format, rate or level).
    pub edited: PathBuf,
    /// Cut list to write (default: RAW's name with .cuts.json, in the current folder, which is
    /// the name the benchmark scorer looks for).
    #[arg(short = 'o', long = "out")]
    pub out: Option<PathBuf>,
    /// Replace the cut list if it already exists.
    #[arg(long)]
    pub force: bool,
}

/// Runs `align`.
pub fn run(args: AlignArgs) -> Result<()> {
    let out = args.out.clone().unwrap_or_else(|| default_out(&args.raw));
    require_extension(&out, "json", "the cut list (JSON)")?;
    let outputs = OutputSet::prepare(
        std::slice::from_ref(&out),
        &[&args.raw, &args.edited],
        args.force,
    )?;
    let raw = read_audio(&args.raw)?;
    let edited = read_audio(&args.edited)?;
    let alignment = align(&raw, &edited).with_context(|| {
        format!(
            "cannot align {} with {}",
            args.edited.display(),
            args.raw.display()
        )
    })?;
    print_spans(&alignment);

    let keep = alignment.kept_ranges(raw.duration());
    let kept = total_duration(&keep);
    let list = CutList::new(
        args.raw.display().to_string(),
        raw.sample_rate,
        raw.duration(),
        &keep,
        Vec::new(),
        0.0,
        "alignment",
    );
    list.write_json(outputs.temp_path(&out)?)?;
    outputs.commit()?;
    println!(
        "kept {kept:.2} s of {:.2} s ({:.1} %) in {} ranges; {:.2} s of the edit unmatched",
        raw.duration(),
        100.0 * kept / raw.duration().max(f64::MIN_POSITIVE),
        keep.len(),
        alignment.unmatched_seconds
    );
    println!("wrote {}", out.display());
    Ok(())
}

/// One line per span, flagging the ones the editor moved or used twice, then one per cut
/// stretch with its label.
fn print_spans(alignment: &Alignment) {
    let moved = alignment.out_of_order();
    for (i, span) in alignment.spans.iter().enumerate() {
        let flag = if alignment.repeated.contains(&i) {
            "  [repeated]"
        } else if moved.contains(&i) {
            "  [reordered]"
        } else {
            ""
        };
        println!(
            "span {:>2}: raw {:>9.3} - {:>9.3} s -> edited {:>9.3} - {:>9.3} s{flag}",
            i + 1,
            span.raw.start,
            span.raw.end,
            span.edited.start,
            span.edited.end
        );
    }
    for cut in &alignment.cuts {
        let what = match cut.kind {
            CutKind::Junk => "junk".to_string(),
            CutKind::Take { of, distance } => format!(
                "take of raw {:.3} - {:.3} s (distance {distance:.3})",
                of.start, of.end
            ),
        };
        println!(
            "cut    : raw {:>9.3} - {:>9.3} s: {what}",
            cut.raw.start, cut.raw.end
        );
    }
    if !alignment.in_order {
        println!(
            "note: the edit does not keep the raw's order; the cut list keeps each raw range once"
        );
    }
}

fn default_out(raw: &Path) -> PathBuf {
    let stem = raw
        .file_stem()
        .map_or_else(|| "aligned".into(), |s| s.to_string_lossy().into_owned());
    PathBuf::from(format!("{stem}.cuts.json"))
}
