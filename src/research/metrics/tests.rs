//! Tests of the parent module.
use super::*;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/metrics")
}

/// Scores every `CASE/pred` under `root` and compares with the script's `CASE/expected.json`.
fn check_cases(root: &Path) -> usize {
    let mut checked = 0;
    let mut cases: Vec<PathBuf> = fs::read_dir(root.join("cases"))
        .expect("cases directory")
        .map(|e| e.expect("entry").path())
        .collect();
    cases.sort();
    for case in cases {
        let report = score_dir(&root.join("bench"), &case.join("pred"), "test")
            .unwrap_or_else(|e| panic!("{}: {e:#}", case.display()));
        let expected: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(case.join("expected.json")).unwrap()).unwrap();
        let actual = serde_json::to_value(&report).unwrap();
        assert_eq!(actual, expected, "case {}", case.display());
        checked += 1;
    }
    checked
}

#[test]
fn reproduces_python_scorer_on_fixtures() {
    assert!(check_cases(&fixtures()) >= 4);
    // Extra generated cases can be checked ad hoc by pointing this variable at their root.
    if let Some(extra) = std::env::var_os("AUDIO_SLICER_METRICS_CASES") {
        check_cases(Path::new(&extra));
    }
}

#[test]
fn load_truths_filters_split_and_sorts_by_name() {
    let truths = load_truths(&fixtures().join("bench"), "test").unwrap();
    let names: Vec<&str> = truths.iter().map(|t| t.name.as_str()).collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    assert!(names.len() >= 2);
    assert_eq!(names, sorted);
    assert!(load_truths(&fixtures().join("bench"), "train")
        .unwrap()
        .is_empty());
    let err = load_truths(Path::new("/nonexistent/bench"), "test").unwrap_err();
    assert!(format!("{err:#}").contains("/nonexistent/bench/truth"));
}

#[test]
fn missing_prediction_dir_is_an_error_naming_it() {
    let err = score_dir(
        &fixtures().join("bench"),
        Path::new("/no/such/preds"),
        "test",
    );
    assert!(format!("{:#}", err.unwrap_err()).contains("/no/such/preds"));
}

fn truth(duration: f64, kept: &[[f64; 2]], defects: &[(&str, f64, f64)]) -> Truth {
    Truth {
        name: "t".into(),
        split: "test".into(),
        raw_duration: duration,
        kept: kept.to_vec(),
        kept_ratio: 0.5,
        defects: defects
            .iter()
            .map(|&(kind, start, end)| Defect {
                kind: kind.into(),
                start,
                end,
            })
            .collect(),
    }
}

#[test]
fn perfect_prediction_scores_perfectly() {
    let t = truth(
        10.0,
        &[[2.0, 8.0]],
        &[("hum", 0.0, 2.0), ("talk", 8.0, 10.0)],
    );
    let segments = vec![
        Segment {
            start: 0.0,
            end: 2.0,
            score: 0.9,
        },
        Segment {
            start: 2.0,
            end: 8.0,
            score: 0.1,
        },
        Segment {
            start: 8.0,
            end: 10.0,
            score: 0.8,
        },
    ];
    let p = Prediction {
        keep: vec![TimeRange::new(2.0, 8.0)],
        segments,
    };
    let report = score(&[t], &BTreeMap::from([("t".to_string(), p)]));
    assert_eq!(
        (report.cut_precision, report.cut_recall, report.cut_f1),
        (1.0, 1.0, 1.0)
    );
    assert_eq!((report.music_lost, report.junk_left), (0.0, 0.0));
    assert_eq!(report.boundary_median_s, Some(0.0));
    assert_eq!(report.segment_auc, Some(1.0));
    assert_eq!(report.recall_by_type["hum"], 1.0);
    assert_eq!(report.per_pair, vec![("t".to_string(), 0.6, 0.5, 1.0)]);
}

#[test]
fn missing_predictions_and_one_class_auc() {
    let t = truth(4.0, &[[0.0, 4.0]], &[]);
    let p = Prediction {
        keep: vec![],
        segments: vec![Segment {
            start: 0.0,
            end: 1.0,
            score: 0.3,
        }],
    };
    let mut other = t.clone();
    other.name = "u".into();
    let report = score(&[t, other], &BTreeMap::from([("t".to_string(), p)]));
    assert_eq!(report.missing, vec!["u".to_string()]);
    assert_eq!(report.pairs, 1);
    assert_eq!(report.segment_auc, None); // every segment is "kept music"
    assert_eq!(report.music_lost, 1.0);
    let json = serde_json::to_string(&report).unwrap();
    assert!(json.contains("\"boundary_within_0.25s\":") && json.contains("\"segment_auc\":null"));
}

#[test]
fn rank_auc_averages_ties() {
    // Ranks 1, 2.5, 2.5, 4; positives hold 2.5 + 4, minus 2*3/2, over 2*2 pairs.
    let scores = [0.1, 0.5, 0.5, 0.9];
    let labels = [false, false, true, true];
    assert_eq!(rank_auc(&scores, &labels), (6.5 - 3.0) / 4.0);
    assert!(rank_auc(&scores, &[true; 4]).is_nan());
    assert_eq!(
        tie_averaged_ranks(&[2.0, f64::NAN, 1.0, 2.0]),
        vec![2.5, 4.0, 1.0, 2.5]
    );
}

#[test]
fn cell_rounding_is_half_to_even_and_slices_follow_python() {
    assert_eq!(cell_index(0.125), Some(12)); // 12.5 -> 12, where f64::round gives 13
    assert_eq!(cell_index(0.135), Some(14)); // 13.5 (rounded product) -> 14
    assert_eq!(cell_index(f64::NAN), None);
    assert_eq!(py_slice(10, -3, 10), 7..10);
    assert_eq!(py_slice(10, 4, -2), 4..8);
    assert_eq!(py_slice(10, 12, 20), 10..10);
    assert_eq!(py_slice(10, 5, 3), 5..5);
    assert_eq!(interval_cells(-1.0, -0.05, 10), 0..5); // the script's negative-end quirk
}

#[test]
fn python_and_numpy_rounding_differ_as_in_python() {
    assert_eq!(python_round(0.0005, 3), 0.001);
    assert_eq!(numpy_round(0.0005, 3), 0.0);
    assert_eq!(python_round(0.0625, 3), 0.062);
    assert_eq!(python_round(2.675, 2), 2.67);
    assert_eq!(numpy_round(0.1875, 3), 0.188);
    assert!(python_round(f64::NAN, 3).is_nan());
}

#[test]
fn median_matches_numpy() {
    assert_eq!(numpy_median(&[3.0, 1.0, 2.0]), Some(2.0));
    assert_eq!(numpy_median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
    assert_eq!(numpy_median(&[]), None);
}

#[test]
fn table_lists_every_figure() {
    let t = truth(10.0, &[[2.0, 8.0]], &[("hum", 0.0, 2.0)]);
    let p = Prediction {
        keep: vec![TimeRange::new(1.0, 8.0)],
        segments: vec![],
    };
    let table = score(&[t], &BTreeMap::from([("t".to_string(), p)])).to_table();
    for needle in [
        "cut precision",
        "cut recall",
        "cut F1",
        "music lost",
        "junk left",
        "boundary median",
        "within 0.25 s",
        "segment AUC",
        "n/a",
        "hum",
        "0.500",
        "t ",
        // Keeps 7 of 10 s; the truth file says its edit kept half.
        "kept, mean over pairs",
        "70.00 % (human 50.00 %)",
    ] {
        assert!(table.contains(needle), "{needle:?} missing from\n{table}");
    }
}
