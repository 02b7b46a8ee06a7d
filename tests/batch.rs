//! Many recordings in one command: `edit` of several files or a folder into an output folder,
//! where one bad file does not stop the rest, and `apply` of one cut list to the other
//! recordings of a session.

mod common;

use common::*;

fn wav_samples(path: &std::path::Path) -> Vec<i32> {
    hound::WavReader::open(path)
        .unwrap()
        .samples::<i32>()
        .map(Result::unwrap)
        .collect()
}

#[test]
fn several_recordings_are_edited_into_a_folder_and_one_bad_file_stops_nothing() {
    let dir = scratch("batch-edit");
    let takes = dir.join("takes");
    std::fs::create_dir_all(&takes).unwrap();
    for seed in [1, 3] {
        let take = noisy_take(&dir, seed);
        std::fs::rename(&take, takes.join(format!("take{seed}.wav"))).unwrap();
    }
    let broken = dir.join("broken.wav");
    std::fs::write(&broken, "not audio at all").unwrap();
    let out = dir.join("edits");
    let run = cli(&[
        "edit",
        takes.to_str().unwrap(),
        broken.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "-m",
        tiny_model().to_str().unwrap(),
        "--snap",
        "off",
    ]);
    let err = stderr(&run);
    assert!(!run.status.success(), "a failed file must fail the run");
    assert!(
        err.contains("broken.wav") && err.contains("1 of 3"),
        "{err}"
    );
    for name in ["take1", "take3"] {
        assert!(out.join(format!("{name}.wav")).is_file(), "{name} missing");
        let list = read_json(&out.join(format!("{name}.cuts.json")));
        // Each take opens with 3 s of noise: cut.
        assert!(list["keep"][0][0].as_f64().unwrap() > 2.0, "{list}");
    }
    assert!(!out.join("broken.wav").exists());
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(stdout.contains("edited 2 of 3 recordings"), "{stdout}");
}

#[test]
fn two_recordings_that_would_share_an_output_name_are_refused_before_any_work() {
    let dir = scratch("batch-clash");
    let (a, b) = (dir.join("a"), dir.join("b"));
    for d in [&a, &b] {
        std::fs::create_dir_all(d).unwrap();
        noisy_take(d, 5);
    }
    let out = dir.join("edits");
    let run = cli(&[
        "edit",
        a.join("raw.wav").to_str().unwrap(),
        b.join("raw.wav").to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "-m",
        tiny_model().to_str().unwrap(),
    ]);
    assert!(!run.status.success());
    assert!(
        stderr(&run).contains("would both be written as"),
        "{}",
        stderr(&run)
    );
    assert!(!out.exists());
}

#[test]
fn a_cut_list_applies_sample_exactly_to_the_other_recordings_of_the_session() {
    let dir = scratch("batch-apply");
    let raw = noisy_take(&dir, 7);
    let out = dir.join("edited.wav");
    let run = run_edit(&raw, &out, tiny_model(), &["--snap", "off"]);
    assert!(run.status.success(), "{}", stderr(&run));
    // A second "stem" of the same session: other audio, the same length.
    let stems = dir.join("stems");
    std::fs::create_dir_all(&stems).unwrap();
    let seconds = f64::from(hound::WavReader::open(&raw).unwrap().duration()) / 22050.0;
    write_wav(
        &stems.join("bass.wav"),
        22050,
        &[music(seconds, 22050, 40)],
        false,
    );
    std::fs::copy(&raw, stems.join("raw.wav")).unwrap();
    // And a recording of another session.
    write_wav(
        &stems.join("other.wav"),
        22050,
        &[music(4.0, 22050, 41)],
        false,
    );
    let applied = dir.join("applied");
    let run = cli(&[
        "apply",
        dir.join("edited.cuts.json").to_str().unwrap(),
        stems.to_str().unwrap(),
        "-o",
        applied.to_str().unwrap(),
    ]);
    let err = stderr(&run);
    assert!(!run.status.success());
    assert!(
        err.contains("other.wav") && err.contains("not a recording of the same session"),
        "{err}"
    );
    // The raw recording cut by the list is the edit itself, sample for sample.
    assert_eq!(wav_samples(&applied.join("raw.wav")), wav_samples(&out));
    assert_eq!(
        wav_samples(&applied.join("bass.wav")).len(),
        wav_samples(&out).len()
    );
}
