//! Tests of the parent module.
use super::*;

fn sample() -> CutList {
    CutList::new(
        "take1.wav",
        44_100,
        10.0,
        &[TimeRange::new(1.0, 4.0), TimeRange::new(6.5, 9.0)],
        vec![
            Segment {
                start: 0.0,
                end: 1.0,
                score: 0.83,
            },
            Segment {
                start: 1.0,
                end: 4.0,
                score: 0.1,
            },
            Segment {
                start: 4.0,
                end: 5.0,
                score: 0.4,
            },
            Segment {
                start: 5.0,
                end: 6.5,
                score: 1.25,
            },
            Segment {
                start: 6.5,
                end: 9.0,
                score: 0.2,
            },
        ],
        0.3,
        "models/ae.safetensors",
    )
}

/// A fresh directory under the system temp dir, unique per test and process.
fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cut_list_{tag}_{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("create temp dir");
    dir
}

fn read_err(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    fs::write(&path, text).expect("write fixture");
    let err = CutList::read_json(&path).expect_err("list should be rejected");
    let msg = format!("{err:#}");
    assert!(
        msg.contains(&path.display().to_string()),
        "no path in: {msg}"
    );
    msg
}

#[test]
fn json_round_trip_preserves_everything() {
    let dir = temp_dir("roundtrip");
    let path = dir.join("a.cuts.json");
    let list = sample();
    list.write_json(&path).unwrap();
    assert_eq!(CutList::read_json(&path).unwrap(), list);
}

#[test]
fn json_has_exact_key_names_and_pair_form() {
    let value = serde_json::to_value(sample()).unwrap();
    let mut keys: Vec<&str> = value
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "duration",
            "keep",
            "model",
            "sample_rate",
            "segments",
            "source",
            "threshold",
            "version"
        ]
    );
    assert_eq!(value["version"], 1);
    assert_eq!(value["keep"], serde_json::json!([[1.0, 4.0], [6.5, 9.0]]));
    assert_eq!(
        value["segments"][0],
        serde_json::json!({"start": 0.0, "end": 1.0, "score": 0.83})
    );
}

#[test]
fn object_form_keep_and_missing_segments_are_accepted() {
    let dir = temp_dir("objects");
    let path = dir.join("b.json");
    let text = r#"{"version":1,"source":"x.wav","sample_rate":48000,"duration":5,
        "keep":[{"start":0.5,"end":1},[2,3]],"threshold":0.1,"model":"m"}"#;
    fs::write(&path, text).unwrap();
    let list = CutList::read_json(&path).unwrap();
    assert_eq!(list.keep, vec![[0.5, 1.0], [2.0, 3.0]]);
    assert!(list.segments.is_empty());
}

#[test]
fn invalid_lists_are_rejected_naming_the_file_and_problem() {
    let dir = temp_dir("invalid");
    let head = r#""source":"x","sample_rate":1,"duration":10,"threshold":0,"model":"m""#;
    let cases = [
        (
            "version.json",
            format!(r#"{{"version":2,{head},"keep":[]}}"#),
            "version 2",
        ),
        (
            "overlap.json",
            format!(r#"{{"version":1,{head},"keep":[[0,3],[2,4]]}}"#),
            "before keep[0]",
        ),
        (
            "descending.json",
            format!(r#"{{"version":1,{head},"keep":[[5,6],[1,2]]}}"#),
            "keep[1]",
        ),
        (
            "reversed.json",
            format!(r#"{{"version":1,{head},"keep":[[3,1]]}}"#),
            "reversed",
        ),
        (
            "range.json",
            format!(r#"{{"version":1,{head},"keep":[[9,12]]}}"#),
            "outside",
        ),
        (
            "negative.json",
            format!(r#"{{"version":1,{head},"keep":[[-1,2]]}}"#),
            "outside",
        ),
        (
            "shape.json",
            format!(r#"{{"version":1,{head},"keep":[[1,2,3]]}}"#),
            "expected [start, end]",
        ),
        (
            "type.json",
            format!(r#"{{"version":1,{head},"keep":[["a","b"]]}}"#),
            "range 0",
        ),
        (
            "missing.json",
            r#"{"version":1,"keep":[]}"#.to_string(),
            "missing field",
        ),
        ("syntax.json", "{not json".to_string(), "parsing cut list"),
    ];
    for (name, text, problem) in cases {
        let msg = read_err(&dir, name, &text);
        assert!(
            msg.contains(problem),
            "{name}: expected {problem:?} in: {msg}"
        );
    }
    let missing = dir.join("absent.json");
    let msg = format!("{:#}", CutList::read_json(&missing).unwrap_err());
    assert!(
        msg.contains("absent.json") && msg.contains("reading cut list"),
        "{msg}"
    );
}

#[test]
fn write_refuses_non_finite_numbers() {
    let dir = temp_dir("nonfinite");
    let mut list = sample();
    list.threshold = f64::NAN;
    let path = dir.join("nan.json");
    let msg = format!("{:#}", list.write_json(&path).unwrap_err());
    assert!(
        msg.contains("threshold") && msg.contains("nan.json"),
        "{msg}"
    );
    assert!(!path.exists());
}

#[test]
fn cut_ranges_complement_keep_within_duration() {
    let cuts = sample().cut_ranges();
    assert_eq!(
        cuts,
        vec![
            TimeRange::new(0.0, 1.0),
            TimeRange::new(4.0, 6.5),
            TimeRange::new(9.0, 10.0)
        ]
    );
    let all = CutList::new("s", 1, 3.0, &[TimeRange::new(0.0, 3.0)], vec![], 0.0, "m");
    assert!(all.cut_ranges().is_empty());
    let none = CutList::new("s", 1, 3.0, &[], vec![], 0.0, "m");
    assert_eq!(none.cut_ranges(), vec![TimeRange::new(0.0, 3.0)]);
}

#[test]
fn cut_ranges_tolerate_unsorted_overlapping_keep() {
    let mut list = CutList::new("s", 1, 10.0, &[], vec![], 0.0, "m");
    list.keep = vec![
        [5.0, 7.0],
        [1.0, 3.0],
        [2.0, 4.0],
        [f64::NAN, 1.0],
        [8.0, 20.0],
    ];
    assert_eq!(
        list.cut_ranges(),
        vec![
            TimeRange::new(0.0, 1.0),
            TimeRange::new(4.0, 5.0),
            TimeRange::new(7.0, 8.0)
        ]
    );
    assert_eq!(list.keep_ranges()[1], TimeRange::new(1.0, 3.0));
}

#[test]
fn audacity_labels_for_known_list() {
    let expected = "0.000000\t1.000000\tcut 1 (score 0.83)\n\
                    4.000000\t6.500000\tcut 2 (score 1.2)\n\
                    9.000000\t10.000000\tcut 3\n";
    assert_eq!(sample().to_audacity_labels(), expected);
    let mut bare = sample();
    bare.segments.clear();
    assert!(bare
        .to_audacity_labels()
        .starts_with("0.000000\t1.000000\tcut 1\n"));
}

#[test]
fn reaper_csv_for_known_list() {
    let mut list = sample();
    list.duration = 3725.5;
    list.keep = vec![[1.0, 4.0], [6.5, 3600.25]];
    let expected = "#,Name,Start,End,Length\n\
                    R1,cut 1,0:00:00.000,0:00:01.000,0:00:01.000\n\
                    R2,cut 2,0:00:04.000,0:00:06.500,0:00:02.500\n\
                    R3,cut 3,1:00:00.250,1:02:05.500,0:02:05.250\n";
    assert_eq!(list.to_reaper_csv(), expected);
}

#[test]
fn sidecars_replace_the_audio_extension() {
    let dir = temp_dir("sidecars");
    let written = sidecar_paths(&dir.join("edited.wav")).unwrap();
    let [a, b, c] = &written;
    sample().write_sidecars([a, b, c]).unwrap();
    let names: Vec<_> = written
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        [
            "edited.cuts.json",
            "edited.labels.txt",
            "edited.regions.csv"
        ]
    );
    assert_eq!(CutList::read_json(&written[0]).unwrap(), sample());
    assert_eq!(
        fs::read_to_string(&written[1]).unwrap(),
        sample().to_audacity_labels()
    );
    assert_eq!(
        fs::read_to_string(&written[2]).unwrap(),
        sample().to_reaper_csv()
    );
    assert!(sidecar_paths(Path::new("/")).is_err());
}

#[test]
fn score_label_uses_two_significant_digits() {
    assert_eq!(two_significant(0.83), "0.83");
    assert_eq!(two_significant(0.000347), "0.00035");
    assert_eq!(two_significant(12.7), "13");
    assert_eq!(two_significant(0.0), "0");
}
