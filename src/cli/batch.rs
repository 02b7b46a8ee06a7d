//! Many recordings in one command: folders expanded to their audio files, one output name per
//! input in an output folder, the work spread over the cores, and a summary at the end in which
//! one failing file does not hide (or stop) the others.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use anyhow::{bail, Result};
use audio_slicer::engine::training::audio_files_in;

/// The recordings named: files as given, folders replaced by the audio files directly in them.
pub fn expand_inputs(given: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut inputs = Vec::new();
    for path in given {
        if path.is_dir() {
            let files = audio_files_in(path)?;
            if files.is_empty() {
                bail!("{} holds no audio files", path.display());
            }
            inputs.extend(files);
        } else {
            inputs.push(path.clone());
        }
    }
    Ok(inputs)
}

/// `(input, DIR/NAME.wav)` for every input, refusing two inputs that would get one name.
pub fn batch_outputs(inputs: &[PathBuf], dir: &Path) -> Result<Vec<(PathBuf, PathBuf)>> {
    let mut taken: HashMap<PathBuf, &Path> = HashMap::new();
    let mut jobs = Vec::with_capacity(inputs.len());
    for input in inputs {
        let name = input
            .file_stem()
            .map_or_else(|| "audio".into(), |s| s.to_string_lossy().into_owned());
        let out = dir.join(format!("{name}.wav"));
        if let Some(other) = taken.insert(out.clone(), input) {
            bail!(
                "{} and {} would both be written as {}: edit them in separate runs or rename one",
                other.display(),
                input.display(),
                out.display()
            );
        }
        jobs.push((input.clone(), out));
    }
    Ok(jobs)
}

/// Whether `path` ends in `.EXT`, in any case.
pub fn has_extension(path: &Path, ext: &str) -> bool {
    path.extension()
        .is_some_and(|e| e.to_string_lossy().eq_ignore_ascii_case(ext))
}

/// Runs `work` on every `(input, output)` with up to `jobs` at once (default: one per core),
/// printing a line as each finishes and a summary at the end (errors only when `quiet`).
/// Fails, after all have run, if any did, naming them.
pub fn run_batch(
    jobs: &[(PathBuf, PathBuf)],
    threads: Option<usize>,
    done_verb: &str,
    quiet: bool,
    work: impl Fn(&Path, &Path) -> Result<String> + Sync,
) -> Result<()> {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let threads = threads.unwrap_or(cores).clamp(1, jobs.len().max(1));
    let next = AtomicUsize::new(0);
    let finished = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some((input, out)) = jobs.get(i) else {
                    break;
                };
                let result = work(input, out);
                let n = finished.fetch_add(1, Ordering::Relaxed) + 1;
                match result {
                    Ok(summary) if !quiet => {
                        println!("[{n}/{}] {}: {summary}", jobs.len(), input.display());
                    }
                    Ok(_) => {}
                    Err(e) => {
                        eprintln!("[{n}/{}] {}: error: {e:#}", jobs.len(), input.display());
                        if let Ok(mut f) = failures.lock() {
                            f.push(input.display().to_string());
                        }
                    }
                }
            });
        }
    });
    let failed = failures.into_inner().unwrap_or_default();
    let ok = jobs.len() - failed.len();
    if !quiet {
        println!("{done_verb} {ok} of {} recordings", jobs.len());
    }
    if !failed.is_empty() {
        bail!(
            "{} of {} recordings failed: {}",
            failed.len(),
            jobs.len(),
            failed.join(", ")
        );
    }
    Ok(())
}
