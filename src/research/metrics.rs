//! Benchmark scoring: a faithful port of the external scorer `score_bench.py`.
//!
//! Every figure must match the Python script to the last digit, so this module copies its
//! arithmetic literally: 10 ms cells with Python's round-half-to-even index rounding, Python's
//! slice semantics (negative ends count from the back), counts pooled over pairs, a tie-averaged
//! rank AUC, `np.median`, and the script's two different roundings of output figures (Python's
//! correctly rounded `round()` on floats, numpy's scale-rint-unscale on numpy scalars).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::ops::Range;
use std::path::{Path, PathBuf};

use anyhow::{ensure, Context};
use serde::{Deserialize, Serialize};

use crate::engine::cut_list::{deserialize_ranges, CutList};
use crate::engine::timeline::{Segment, TimeRange};

/// Scoring resolution in seconds (one mask cell).
pub const RES: f64 = 0.01;

/// Longest raw recording a truth may describe (24 h), so a corrupt duration cannot make the
/// scorer allocate without bound.
const MAX_DURATION_S: f64 = 86_400.0;

/// One bad stretch of a raw recording, as labelled in the truth.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Defect {
    /// Kind of defect (`count_in`, `hum`, `talk`, ...); `type` in the JSON.
    #[serde(rename = "type")]
    pub kind: String,
    /// Start, in raw seconds.
    pub start: f64,
    /// End, in raw seconds.
    pub end: f64,
}

/// The truth for one benchmark pair (`BENCH/truth/NAME.json`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Truth {
    /// Pair name; predictions are looked up as `NAME.json` or `NAME.cuts.json`.
    pub name: String,
    /// Split the pair belongs to (`train` or `test`).
    #[serde(default)]
    pub split: String,
    /// Length of the raw recording, in seconds.
    pub raw_duration: f64,
    /// Raw intervals the human edit kept, `[start, end]` seconds, in order.
    #[serde(deserialize_with = "deserialize_ranges")]
    pub kept: Vec<[f64; 2]>,
    /// Edited length over raw length.
    pub kept_ratio: f64,
    /// Every labelled bad stretch of the raw recording.
    pub defects: Vec<Defect>,
}

/// An automatic edit of one raw recording, as the scorer sees it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Prediction {
    /// Raw ranges kept by the edit.
    pub keep: Vec<TimeRange>,
    /// Scored segments (higher = worse), used only for the segment AUC.
    pub segments: Vec<Segment>,
}

impl From<&CutList> for Prediction {
    fn from(list: &CutList) -> Self {
        Self {
            keep: list.keep_ranges(),
            segments: list.segments.clone(),
        }
    }
}

/// The subset of a cut list that the scorer reads; other fields are ignored, like the script.
#[derive(Deserialize)]
struct PredictionFile {
    #[serde(deserialize_with = "deserialize_ranges")]
    keep: Vec<[f64; 2]>,
    #[serde(default)]
    segments: Vec<Segment>,
}

/// Every figure the scorer prints, in its order and with its rounding.
///
/// Serialises to the same JSON as `score_bench.py --json`, except that a NaN AUC (one class
/// empty) is `null` rather than Python's non-standard `NaN`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BenchReport {
    /// Pairs that had a prediction.
    pub pairs: usize,
    /// Names of truth pairs with no prediction file.
    pub missing: Vec<String>,
    /// Share of cut cells that should have been cut (4 decimals).
    pub cut_precision: f64,
    /// Share of bad cells that were cut (4 decimals).
    pub cut_recall: f64,
    /// Harmonic mean of cut precision and recall (4 decimals).
    pub cut_f1: f64,
    /// Share of the kept music that the edit removed (4 decimals).
    pub music_lost: f64,
    /// Share of bad cells left in, `1 - cut_recall` (4 decimals).
    pub junk_left: f64,
    /// Median distance from each true boundary to the nearest predicted one, seconds (3 decimals).
    pub boundary_median_s: Option<f64>,
    /// Share of true boundaries with a predicted one within 0.25 s (3 decimals).
    #[serde(rename = "boundary_within_0.25s")]
    pub boundary_within_0_25s: Option<f64>,
    /// Rank AUC of segment scores against "mostly bad" labels (4 decimals); `None` without
    /// segments or when every segment has the same label.
    pub segment_auc: Option<f64>,
    /// Recall of cut cells per kind of defect (3 decimals).
    pub recall_by_type: BTreeMap<String, f64>,
    /// Per pair: name, predicted kept share, true kept ratio, cut F1 (3 decimals each).
    pub per_pair: Vec<(String, f64, f64, f64)>,
}

/// Reads `BENCH/truth/*.json` in file-name order and keeps the pairs of `split`.
///
/// Files of other splits are only checked for a `split` field, as the script never reads them
/// further.
pub fn load_truths(bench_dir: &Path, split: &str) -> anyhow::Result<Vec<Truth>> {
    let truth_dir = bench_dir.join("truth");
    let mut truths = Vec::new();
    for path in truth_files(&truth_dir)? {
        if let Some(truth) = load_truth(&path, split)? {
            truths.push(truth);
        }
    }
    Ok(truths)
}

/// `*.json` files of a directory, sorted like Python's `sorted(glob(...))` (hidden files skipped).
fn truth_files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let entries = fs::read_dir(dir)
        .with_context(|| format!("reading benchmark truth directory {}", dir.display()))?;
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.with_context(|| format!("listing {}", dir.display()))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        if name.ends_with(".json") && !name.starts_with('.') && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

fn load_truth(path: &Path, split: &str) -> anyhow::Result<Option<Truth>> {
    let text = fs::read_to_string(path)
        .with_context(|| format!("reading truth file {}", path.display()))?;
    let value: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("parsing truth file {}", path.display()))?;
    if value.get("split").and_then(|s| s.as_str()) != Some(split) {
        return Ok(None);
    }
    let truth: Truth = serde_json::from_value(value)
        .with_context(|| format!("reading fields of truth file {}", path.display()))?;
    ensure!(
        truth.raw_duration.is_finite() && (0.0..=MAX_DURATION_S).contains(&truth.raw_duration),
        "truth file {}: raw_duration {} is not between 0 and {MAX_DURATION_S} s",
        path.display(),
        truth.raw_duration
    );
    Ok(Some(truth))
}

/// Reads one prediction (`keep` as pairs or objects, optional `segments`), like the script.
pub fn read_prediction(path: &Path) -> anyhow::Result<Prediction> {
    let text = fs::read_to_string(path)
        .with_context(|| format!("reading prediction {}", path.display()))?;
    let file: PredictionFile = serde_json::from_str(&text)
        .with_context(|| format!("parsing prediction {}", path.display()))?;
    Ok(Prediction {
        keep: file
            .keep
            .iter()
            .map(|&[s, e]| TimeRange::new(s, e))
            .collect(),
        segments: file.segments,
    })
}

/// Scores `PRED_DIR/NAME.json` (or `NAME.cuts.json`) against the `split` truths of `BENCH_DIR`,
/// exactly as `score_bench.py BENCH_DIR PRED_DIR --split SPLIT` does.
pub fn score_dir(bench_dir: &Path, pred_dir: &Path, split: &str) -> anyhow::Result<BenchReport> {
    let truths = load_truths(bench_dir, split)?;
    ensure!(
        pred_dir.is_dir(),
        "prediction directory {} does not exist",
        pred_dir.display()
    );
    let mut predictions = BTreeMap::new();
    for truth in &truths {
        let candidates = [
            pred_dir.join(format!("{}.json", truth.name)),
            pred_dir.join(format!("{}.cuts.json", truth.name)),
        ];
        if let Some(path) = candidates.iter().find(|p| p.exists()) {
            predictions.insert(truth.name.clone(), read_prediction(path)?);
        }
    }
    Ok(score(&truths, &predictions))
}

/// Scores predictions (by pair name) against truths, pooling every pair at 10 ms resolution.
///
/// `truths` should be one split, as [`load_truths`] returns them; pairs without a prediction
/// are listed in `missing`.
pub fn score(truths: &[Truth], predictions: &BTreeMap<String, Prediction>) -> BenchReport {
    let mut pool = Pool::default();
    for truth in truths {
        match predictions.get(&truth.name) {
            Some(prediction) => pool.add_pair(truth, prediction),
            None => pool.missing.push(truth.name.clone()),
        }
    }
    pool.report()
}

/// Counts pooled over pairs (`tot`, `per_type`, `bdist`, `seg_s`/`seg_l`, `rows` in the script).
#[derive(Default)]
struct Pool {
    tp: u64,
    fp: u64,
    fn_: u64,
    keep: u64,
    lost: u64,
    per_type: BTreeMap<String, (u64, u64)>,
    boundary_distances: Vec<f64>,
    segment_scores: Vec<f64>,
    segment_labels: Vec<bool>,
    rows: Vec<(String, f64, f64, f64)>,
    missing: Vec<String>,
}

impl Pool {
    fn add_pair(&mut self, truth: &Truth, prediction: &Prediction) {
        let n = cell_count(truth.raw_duration);
        let true_keep = mask(truth.kept.iter().map(|&[s, e]| (s, e)), n);
        let pred_keep = mask(prediction.keep.iter().map(|r| (r.start, r.end)), n);

        let (mut tp, mut fp, mut fn_) = (0u64, 0u64, 0u64);
        for (&t, &p) in true_keep.iter().zip(&pred_keep) {
            match (t, p) {
                (false, false) => tp += 1,
                (true, false) => fp += 1,
                (false, true) => fn_ += 1,
                (true, true) => {}
            }
        }
        self.tp += tp;
        self.fp += fp;
        self.fn_ += fn_;
        self.keep += count_true(&true_keep);
        self.lost += fp;

        self.add_defects(truth, &pred_keep);
        self.add_boundaries(truth, &true_keep, &pred_keep);
        self.add_segments(&prediction.segments, &true_keep);

        let pred_mean = mean_true(&pred_keep);
        let f1 = (2 * tp) as f64 / (2 * tp + fp + fn_).max(1) as f64;
        self.rows.push((
            truth.name.clone(),
            numpy_round(pred_mean, 3),
            python_round(truth.kept_ratio, 3),
            python_round(f1, 3),
        ));
    }

    fn add_defects(&mut self, truth: &Truth, pred_keep: &[bool]) {
        for defect in &truth.defects {
            let cells = interval_cells(defect.start, defect.end, pred_keep.len());
            let cut = pred_keep[cells.clone()].iter().filter(|&&k| !k).count() as u64;
            let entry = self.per_type.entry(defect.kind.clone()).or_default();
            entry.0 += cut;
            entry.1 += cells.len() as u64;
        }
    }

    fn add_boundaries(&mut self, truth: &Truth, true_keep: &[bool], pred_keep: &[bool]) {
        let predicted = boundaries(pred_keep);
        for b in boundaries(true_keep) {
            let distance = predicted
                .iter()
                .map(|p| (p - b).abs())
                .reduce(numpy_min)
                .unwrap_or(truth.raw_duration);
            self.boundary_distances.push(distance);
        }
    }

    fn add_segments(&mut self, segments: &[Segment], true_keep: &[bool]) {
        let n = true_keep.len() as i64;
        for s in segments {
            let (Some(a0), Some(b0)) = (cell_index(s.start), cell_index(s.end)) else {
                continue; // Python's int(round(nan)) raises; skipping is the only non-crash.
            };
            if b0 > a0 {
                let window = &true_keep[py_slice(true_keep.len(), a0, b0.min(n))];
                let cut_share = window.iter().filter(|&&k| !k).count() as f64 / window.len() as f64;
                self.segment_scores.push(s.score);
                // An empty window gives NaN, and NaN > 0.5 is false, as in numpy.
                self.segment_labels.push(cut_share > 0.5);
            }
        }
    }

    fn report(self) -> BenchReport {
        let precision = self.tp as f64 / (self.tp + self.fp).max(1) as f64;
        let recall = self.tp as f64 / (self.tp + self.fn_).max(1) as f64;
        let f1 = 2.0 * precision * recall / (precision + recall).max(1e-9);
        let distances = &self.boundary_distances;
        let within = distances.iter().filter(|&&d| d <= 0.25).count() as f64;
        BenchReport {
            pairs: self.rows.len(),
            missing: self.missing,
            cut_precision: python_round(precision, 4),
            cut_recall: python_round(recall, 4),
            cut_f1: python_round(f1, 4),
            music_lost: python_round(self.lost as f64 / self.keep.max(1) as f64, 4),
            junk_left: python_round(1.0 - recall, 4),
            boundary_median_s: numpy_median(distances).map(|m| python_round(m, 3)),
            boundary_within_0_25s: (!distances.is_empty())
                .then(|| python_round(within / distances.len() as f64, 3)),
            segment_auc: segment_auc(&self.segment_scores, &self.segment_labels),
            recall_by_type: self
                .per_type
                .into_iter()
                .map(|(kind, (cut, total))| {
                    (kind, python_round(cut as f64 / total.max(1) as f64, 3))
                })
                .collect(),
            per_pair: self.rows,
        }
    }
}

fn segment_auc(scores: &[f64], labels: &[bool]) -> Option<f64> {
    if scores.is_empty() {
        return None;
    }
    let value = python_round(rank_auc(scores, labels), 4);
    (!value.is_nan()).then_some(value)
}

/// `int(round(raw_duration / RES))`, clamped to the allowed length (and to 0 for bad input).
fn cell_count(raw_duration: f64) -> usize {
    let max_cells = (MAX_DURATION_S / RES) as i64;
    cell_index(raw_duration).map_or(0, |n| n.clamp(0, max_cells) as usize)
}

/// `int(round(t / RES))` with Python's round-half-to-even; `None` where Python would raise.
fn cell_index(t: f64) -> Option<i64> {
    let cells = (t / RES).round_ties_even();
    // The saturating cast keeps huge values ordered correctly against any real cell count.
    cells.is_finite().then_some(cells as i64)
}

/// The range Python's `seq[start:stop]` selects in a sequence of `len` items (step 1).
fn py_slice(len: usize, start: i64, stop: i64) -> Range<usize> {
    let len_i = len as i64;
    let clamp = |i: i64| {
        if i < 0 {
            (i + len_i).max(0)
        } else {
            i.min(len_i)
        }
    };
    let (start, stop) = (clamp(start) as usize, clamp(stop) as usize);
    start..stop.max(start)
}

/// The cells `m[max(0, round(a)):min(n, round(b))]` that the script's `mask()` sets.
///
/// An end before 0 becomes a negative slice end, which Python counts from the back: the
/// script's quirk, kept on purpose.
fn interval_cells(a: f64, b: f64, n: usize) -> Range<usize> {
    match (cell_index(a), cell_index(b)) {
        (Some(lo), Some(hi)) => py_slice(n, lo.max(0), hi.min(n as i64)),
        _ => 0..0,
    }
}

fn mask(intervals: impl Iterator<Item = (f64, f64)>, n: usize) -> Vec<bool> {
    let mut m = vec![false; n];
    for (a, b) in intervals {
        m[interval_cells(a, b, n)].fill(true);
    }
    m
}

/// Times (s) of the cells after which the mask changes: `flatnonzero(diff(m)) * RES`.
fn boundaries(m: &[bool]) -> Vec<f64> {
    m.windows(2)
        .enumerate()
        .filter(|(_, w)| w[0] != w[1])
        .map(|(i, _)| i as f64 * RES)
        .collect()
}

fn count_true(m: &[bool]) -> u64 {
    m.iter().filter(|&&x| x).count() as u64
}

/// `m.mean()` of a boolean array (NaN when empty, like numpy).
fn mean_true(m: &[bool]) -> f64 {
    count_true(m) as f64 / m.len() as f64
}

/// `np.min` of two values: NaN wins.
fn numpy_min(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.min(b)
    }
}

/// `np.median`: middle value, or the mean of the two middle values; NaN if any is NaN.
fn numpy_median(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    if values.iter().any(|v| v.is_nan()) {
        return Some(f64::NAN);
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    Some(if sorted.len() % 2 == 1 {
        sorted[mid]
    } else {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    })
}

/// The script's `auc()`: Mann-Whitney AUC from stable-sorted ranks with ties averaged; NaN when
/// either class is empty. Higher scores should mean "bad" (label true).
fn rank_auc(scores: &[f64], labels: &[bool]) -> f64 {
    let n = scores.len().min(labels.len());
    let (scores, labels) = (&scores[..n], &labels[..n]);
    let positives = labels.iter().filter(|&&l| l).count();
    let negatives = n - positives;
    if positives == 0 || negatives == 0 {
        return f64::NAN;
    }
    let ranks = tie_averaged_ranks(scores);
    // Ranks are multiples of 0.5, so this sum is exact in any order, as numpy's pairwise sum is.
    let positive_rank_sum: f64 = ranks
        .iter()
        .zip(labels)
        .filter(|(_, &l)| l)
        .map(|(r, _)| r)
        .sum();
    let (p, q) = (positives as u64, negatives as u64);
    (positive_rank_sum - (p * (p + 1)) as f64 / 2.0) / (p * q) as f64
}

/// 1-based ranks in stable ascending order (NaN last, like numpy), ties given their mean rank.
fn tie_averaged_ranks(scores: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&i, &j| numpy_order(scores[i], scores[j]));
    let mut ranks = vec![0.0; scores.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && scores[order[j + 1]] == scores[order[i]] {
            j += 1;
        }
        let rank = (i + j + 2) as f64 / 2.0;
        for &k in &order[i..=j] {
            ranks[k] = rank;
        }
        i = j + 1;
    }
    ranks
}

/// numpy's sort order for floats: ascending, -0.0 equal to 0.0, NaNs after everything.
fn numpy_order(a: f64, b: f64) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        (false, false) => a.partial_cmp(&b).unwrap_or(Ordering::Equal),
    }
}

/// Python's `round(x, digits)` on a float: the decimal nearest to the exact binary value, ties
/// to even. Rust's fixed-precision formatting rounds the same exact value the same way.
fn python_round(x: f64, digits: usize) -> f64 {
    if !x.is_finite() {
        return x;
    }
    format!("{x:.digits$}").parse().unwrap_or(x)
}

/// numpy's `round(np.float64, digits)`: scale by 10^digits, round half to even, scale back.
/// It differs from [`python_round`] near ties (0.0005 -> 0.0 here, 0.001 in Python).
fn numpy_round(x: f64, digits: i32) -> f64 {
    let scale = 10f64.powi(digits);
    (x * scale).round_ties_even() / scale
}

impl BenchReport {
    /// A human-readable table of every figure, recall by kind of defect, and per-pair rows.
    pub fn to_table(&self) -> String {
        let mut out = String::new();
        self.write_summary(&mut out);
        self.write_recall_by_type(&mut out);
        self.write_pairs(&mut out);
        out
    }

    fn write_summary(&self, out: &mut String) {
        let missing = if self.missing.is_empty() {
            String::new()
        } else {
            format!(
                " ({} missing: {})",
                self.missing.len(),
                self.missing.join(", ")
            )
        };
        let _ = writeln!(out, "Benchmark: {} pairs scored{missing}", self.pairs);
        let rows: [(&str, String); 9] = [
            ("cut precision", format!("{:.4}", self.cut_precision)),
            ("cut recall", format!("{:.4}", self.cut_recall)),
            ("cut F1", format!("{:.4}", self.cut_f1)),
            ("music lost", percent(self.music_lost)),
            ("junk left", percent(self.junk_left)),
            ("boundary median (s)", optional(self.boundary_median_s, 3)),
            (
                "boundaries within 0.25 s",
                optional(self.boundary_within_0_25s, 3),
            ),
            ("segment AUC", optional(self.segment_auc, 4)),
            ("kept, mean over pairs", self.kept_shares()),
        ];
        for (label, value) in rows {
            let _ = writeln!(out, "  {label:<26}{value:>10}");
        }
    }

    /// The edits' mean kept share next to the human edits': how much shorter the edit came out.
    fn kept_shares(&self) -> String {
        if self.per_pair.is_empty() {
            return "n/a".into();
        }
        let n = self.per_pair.len() as f64;
        let edit: f64 = self.per_pair.iter().map(|p| p.1).sum::<f64>() / n;
        let human: f64 = self.per_pair.iter().map(|p| p.2).sum::<f64>() / n;
        format!("{} (human {})", percent(edit), percent(human))
    }

    fn write_recall_by_type(&self, out: &mut String) {
        let _ = writeln!(out, "Recall by kind of defect");
        if self.recall_by_type.is_empty() {
            let _ = writeln!(out, "  (none)");
        }
        for (kind, recall) in &self.recall_by_type {
            let _ = writeln!(out, "  {kind:<26}{recall:>10.3}");
        }
    }

    fn write_pairs(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "Per pair\n  {:<16}{:>10}{:>12}{:>10}",
            "name", "kept", "truth kept", "cut F1"
        );
        for (name, kept, truth_kept, f1) in &self.per_pair {
            let _ = writeln!(out, "  {name:<16}{kept:>10.3}{truth_kept:>12.3}{f1:>10.3}");
        }
    }
}

fn percent(share: f64) -> String {
    format!("{:.2} %", share * 100.0)
}

fn optional(value: Option<f64>, digits: usize) -> String {
    value.map_or_else(|| "n/a".to_string(), |v| format!("{v:.digits$}"))
}

#[cfg(test)]
mod tests;
