//! The readers of what users hand the tool (cut lists, model directories, audio files) over
//! corrupted input: each either reads it or returns an error naming the file, and never panics.
//!
//! The case count is bounded for CI; `PROPTEST_CASES=100000 cargo test --release --test
//! fuzz_readers` runs them for longer.

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::OnceLock;

use audio_slicer::engine::audio_io::read_audio;
use audio_slicer::engine::cut_list::CutList;
use audio_slicer::engine::slicer::Slicer;
use common::*;
use proptest::prelude::*;

/// `name` for this process alone, so a long run beside the test suite keeps its own files.
fn own(name: &str) -> String {
    format!("{name}-{}", std::process::id())
}

/// How a valid file is damaged: bytes overwritten, a cut, or bytes inserted.
#[derive(Debug, Clone)]
enum Damage {
    Overwrite(Vec<(usize, u8)>),
    Truncate(usize),
    Insert(usize, Vec<u8>),
}

fn damage() -> impl Strategy<Value = Damage> {
    prop_oneof![
        prop::collection::vec((any::<usize>(), any::<u8>()), 1..16).prop_map(Damage::Overwrite),
        any::<usize>().prop_map(Damage::Truncate),
        (any::<usize>(), prop::collection::vec(any::<u8>(), 1..32))
            .prop_map(|(at, bytes)| Damage::Insert(at, bytes)),
    ]
}

fn damaged(original: &[u8], damage: &Damage) -> Vec<u8> {
    let mut bytes = original.to_vec();
    let n = bytes.len().max(1);
    match damage {
        Damage::Overwrite(edits) => {
            for &(at, value) in edits {
                if let Some(b) = bytes.get_mut(at % n) {
                    *b = value;
                }
            }
        }
        Damage::Truncate(at) => bytes.truncate(at % n),
        Damage::Insert(at, extra) => {
            let at = at % n;
            bytes.splice(at..at, extra.iter().copied());
        }
    }
    bytes
}

/// Runs `read` and fails the case on a panic; an error must name `path`.
fn reads_or_names(path: &Path, read: impl FnOnce() -> anyhow::Result<()>) {
    let outcome = catch_unwind(AssertUnwindSafe(read));
    match outcome {
        Err(_) => panic!("the reader panicked on {}", path.display()),
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            let message = format!("{e:#}");
            let name = path.file_name().unwrap().to_string_lossy();
            assert!(message.contains(name.as_ref()), "{message}");
        }
    }
}

fn valid_wav() -> &'static [u8] {
    static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
    BYTES.get_or_init(|| {
        let dir = scratch(&own("fuzz-wav-source"));
        let path = dir.join("take.wav");
        write_wav(&path, 22050, &[music(0.3, 22050, 1)], false);
        std::fs::read(path).unwrap()
    })
}

/// A copy of the tiny model of its own, so other test binaries retraining theirs do not matter.
fn valid_model() -> &'static Path {
    static DIR: OnceLock<std::path::PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = scratch(&own("fuzz-model-source"));
        copy_files(tiny_model(), &dir);
        dir
    })
}

fn copy_files(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

fn valid_cut_list() -> String {
    r#"{"version":1,"source":"raw.wav","sample_rate":44100,"duration":92.4,
        "keep":[[2.72,8.79],{"start":10.68,"end":13.86}],
        "segments":[{"start":0.0,"end":0.743,"score":1.93}],"threshold":2.69,"model":"default"}"#
        .to_owned()
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|c| c.parse().ok())
            .unwrap_or(48),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn damaged_cut_lists_are_read_or_refused(d in damage()) {
        let dir = scratch(&own("fuzz-cut-list"));
        let path = dir.join("edit.cuts.json");
        std::fs::write(&path, damaged(valid_cut_list().as_bytes(), &d)).unwrap();
        reads_or_names(&path, || {
            let list = CutList::read_json(&path)?;
            // Whatever reads is valid: ascending, inside the duration.
            list.validate()?;
            Ok(())
        });
    }

    #[test]
    fn damaged_audio_files_are_decoded_or_refused(d in damage()) {
        let dir = scratch(&own("fuzz-audio"));
        let path = dir.join("take.wav");
        std::fs::write(&path, damaged(valid_wav(), &d)).unwrap();
        reads_or_names(&path, || {
            let clip = read_audio(&path)?;
            anyhow::ensure!(
                clip.channels.iter().flatten().all(|x| x.is_finite()),
                "{}: decoded samples are not finite",
                path.display()
            );
            Ok(())
        });
    }

    #[test]
    fn damaged_model_files_are_loaded_or_refused(d in damage(), which in 0usize..2) {
        let dir = scratch(&own("fuzz-model"));
        let model = dir.join("model");
        copy_files(valid_model(), &model);
        let file = model.join(["config.json", "model.safetensors"][which]);
        let bytes = std::fs::read(&file).unwrap();
        std::fs::write(&file, damaged(&bytes, &d)).unwrap();
        reads_or_names(&model, || Slicer::from_checkpoint(&model).map(|_| ()));
    }
}
