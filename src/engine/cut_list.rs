//! The cut list: what to keep of a source recording, why, and the same decision exported for DAWs.
//!
//! The JSON form is the project's own record (and what the benchmark scorer reads); the Audacity
//! label track and REAPER region CSV let a musician audit the cuts in their own editor.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, ensure, Context};
use serde::{Deserialize, Deserializer, Serialize};

use super::timeline::{Segment, TimeRange};

/// The only cut-list format version this build reads and writes.
pub const CUT_LIST_VERSION: u32 = 1;

/// Keep ranges may overshoot the duration by this much (seconds): durations and range ends come
/// from different sample-count-to-seconds conversions, and a microsecond is far below one sample.
const RANGE_TOLERANCE: f64 = 1e-6;

/// Gaps shorter than this (seconds) between keep ranges are float noise, not cuts.
const MIN_CUT: f64 = 1e-9;

/// A decision about one source recording: the parts to keep, the segment scores behind it.
///
/// Serialises to `{"version":1,"source","sample_rate","duration","keep":[[start,end],...],
/// "segments":[{"start","end","score"}],"threshold","model"}`. `keep` is in source seconds,
/// ascending and non-overlapping.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CutList {
    /// Format version; always [`CUT_LIST_VERSION`].
    pub version: u32,
    /// The source recording this list applies to (as given by the user).
    pub source: String,
    /// Sample rate of the source, in Hz.
    pub sample_rate: u32,
    /// Length of the source, in seconds.
    pub duration: f64,
    /// Source ranges to keep, `[start, end]` in seconds, ascending and non-overlapping.
    #[serde(deserialize_with = "deserialize_ranges")]
    pub keep: Vec<[f64; 2]>,
    /// Every scored segment (higher = worse); optional in files written by other tools.
    #[serde(default)]
    pub segments: Vec<Segment>,
    /// Score above which a segment was judged bad.
    pub threshold: f64,
    /// Name or path of the model that produced the scores.
    pub model: String,
}

impl CutList {
    /// A version-1 cut list from its parts; `keep` is stored as given (see [`CutList::validate`]).
    pub fn new(
        source: impl Into<String>,
        sample_rate: u32,
        duration: f64,
        keep: &[TimeRange],
        segments: Vec<Segment>,
        threshold: f64,
        model: impl Into<String>,
    ) -> Self {
        Self {
            version: CUT_LIST_VERSION,
            source: source.into(),
            sample_rate,
            duration,
            keep: keep.iter().map(|r| [r.start, r.end]).collect(),
            segments,
            threshold,
            model: model.into(),
        }
    }

    /// The keep ranges as [`TimeRange`]s, in stored order.
    pub fn keep_ranges(&self) -> Vec<TimeRange> {
        self.keep
            .iter()
            .map(|&[s, e]| TimeRange::new(s, e))
            .collect()
    }

    /// The regions removed: the complement of `keep` within `[0, duration]`, ascending.
    ///
    /// Tolerates unsorted or overlapping keep ranges (they are merged first), so it is safe on
    /// lists that have not been validated.
    pub fn cut_ranges(&self) -> Vec<TimeRange> {
        complement_within(&self.keep_ranges(), self.duration)
    }

    /// Checks everything a reader relies on: version 1, finite numbers, and keep ranges that are
    /// non-empty, inside `[0, duration]`, ascending and non-overlapping.
    pub fn validate(&self) -> anyhow::Result<()> {
        ensure!(
            self.version == CUT_LIST_VERSION,
            "unsupported version {} (this build reads version {CUT_LIST_VERSION})",
            self.version
        );
        ensure!(
            self.duration.is_finite() && self.duration >= 0.0,
            "duration {} is not a finite, non-negative number of seconds",
            self.duration
        );
        ensure!(
            self.threshold.is_finite(),
            "threshold {} is not finite",
            self.threshold
        );
        self.validate_keep()?;
        self.validate_segments()
    }

    fn validate_keep(&self) -> anyhow::Result<()> {
        let mut previous_end = 0.0_f64;
        for (i, &[start, end]) in self.keep.iter().enumerate() {
            ensure!(
                start.is_finite() && end.is_finite(),
                "keep[{i}] = [{start}, {end}] is not finite"
            );
            ensure!(
                start < end,
                "keep[{i}] = [{start}, {end}] is empty or reversed"
            );
            ensure!(
                start >= 0.0 && end <= self.duration + RANGE_TOLERANCE,
                "keep[{i}] = [{start}, {end}] lies outside the source [0, {}]",
                self.duration
            );
            ensure!(
                start >= previous_end,
                "keep[{i}] starts at {start} s, before keep[{}] ends at {previous_end} s \
                 (ranges must be ascending and non-overlapping)",
                i.saturating_sub(1)
            );
            previous_end = end;
        }
        Ok(())
    }

    fn validate_segments(&self) -> anyhow::Result<()> {
        for (i, s) in self.segments.iter().enumerate() {
            ensure!(
                s.start.is_finite() && s.end.is_finite() && s.score.is_finite(),
                "segments[{i}] = {{start {}, end {}, score {}}} is not finite",
                s.start,
                s.end,
                s.score
            );
            ensure!(
                s.start <= s.end,
                "segments[{i}] ends at {} s, before it starts at {} s",
                s.end,
                s.start
            );
        }
        Ok(())
    }

    /// Writes the list as pretty JSON after validating it, since JSON cannot carry NaN or
    /// infinities and an invalid list would be unreadable later.
    pub fn write_json(&self, path: &Path) -> anyhow::Result<()> {
        self.validate()
            .with_context(|| format!("refusing to write invalid cut list {}", path.display()))?;
        let text = serde_json::to_string_pretty(self)
            .with_context(|| format!("encoding cut list for {}", path.display()))?;
        fs::write(path, text + "\n").with_context(|| format!("writing cut list {}", path.display()))
    }

    /// Reads and validates a cut list; `keep` items may be `[start, end]` or `{"start","end"}`.
    pub fn read_json(path: &Path) -> anyhow::Result<Self> {
        let text = fs::read_to_string(path)
            .with_context(|| format!("reading cut list {}", path.display()))?;
        let list: Self = serde_json::from_str(&text)
            .with_context(|| format!("parsing cut list {}", path.display()))?;
        list.validate()
            .with_context(|| format!("invalid cut list {}", path.display()))?;
        Ok(list)
    }

    /// An Audacity label track (File > Import > Labels): one `start\tend\tlabel` line per cut,
    /// seconds to 6 decimals, labelled `cut N (score X)` with the worst overlapping segment score.
    pub fn to_audacity_labels(&self) -> String {
        self.cut_ranges()
            .iter()
            .enumerate()
            .map(|(i, cut)| {
                format!(
                    "{:.6}\t{:.6}\t{}\n",
                    cut.start,
                    cut.end,
                    self.cut_label(i + 1, cut)
                )
            })
            .collect()
    }

    /// A REAPER Region/Marker Manager import CSV: header `#,Name,Start,End,Length`, then one
    /// `R<n>,cut <n>,<start>,<end>,<length>` row per cut.
    ///
    /// Times are `h:mm:ss.mmm`: REAPER exports this CSV in the project's ruler format (bars.beats
    /// by default), which would depend on tempo, while colon-separated clock times are what
    /// third-party converters feed its import. The file is UTF-8 without a BOM, which REAPER
    /// requires.
    pub fn to_reaper_csv(&self) -> String {
        let mut out = String::from("#,Name,Start,End,Length\n");
        for (i, cut) in self.cut_ranges().iter().enumerate() {
            // Length comes from the rounded ends so the three columns agree exactly.
            let (start, end) = (millis(cut.start), millis(cut.end));
            out.push_str(&format!(
                "R{n},cut {n},{},{},{}\n",
                clock(start),
                clock(end),
                clock(end.saturating_sub(start)),
                n = i + 1
            ));
        }
        out
    }

    /// Writes the cut list (JSON), the Audacity label track and the REAPER region list to the
    /// three paths given, usually [`sidecar_paths`] of the edited audio (or temporary names
    /// standing in for them).
    pub fn write_sidecars(&self, [json, labels, csv]: [&Path; 3]) -> anyhow::Result<()> {
        self.write_json(json)?;
        write_text(labels, &self.to_audacity_labels(), "Audacity label track")?;
        write_text(csv, &self.to_reaper_csv(), "REAPER region list")
    }

    /// `cut N (score X)` with the worst score of any segment overlapping the cut, or `cut N`.
    fn cut_label(&self, n: usize, cut: &TimeRange) -> String {
        let worst = self
            .segments
            .iter()
            .filter(|s| s.start < cut.end && s.end > cut.start && s.score.is_finite())
            .map(|s| s.score)
            .fold(None, |acc: Option<f64>, x| {
                Some(acc.map_or(x, |a| a.max(x)))
            });
        match worst {
            Some(score) => format!("cut {n} (score {})", two_significant(score)),
            None => format!("cut {n}"),
        }
    }
}

/// The parts of `[0, duration]` outside every `keep` range, ascending.
///
/// Tolerates unsorted, overlapping, out-of-range or non-finite keep ranges (bad ones are
/// clipped or ignored), so it is safe on lists that have not been validated.
pub fn complement_within(keep: &[TimeRange], duration: f64) -> Vec<TimeRange> {
    let duration = finite_or_zero(duration).max(0.0);
    let mut kept: Vec<TimeRange> = keep
        .iter()
        .filter(|r| r.start.is_finite() && r.end.is_finite())
        .map(|r| TimeRange::new(r.start.clamp(0.0, duration), r.end.clamp(0.0, duration)))
        .filter(|r| r.end > r.start)
        .collect();
    kept.sort_by(|a, b| a.start.total_cmp(&b.start));

    let mut cuts = Vec::new();
    let mut cursor = 0.0_f64;
    for r in kept {
        push_gap(&mut cuts, cursor, r.start);
        cursor = cursor.max(r.end);
    }
    push_gap(&mut cuts, cursor, duration);
    cuts
}

/// The sidecar paths for an edited audio file `OUT.<ext>`: `[OUT.cuts.json, OUT.labels.txt,
/// OUT.regions.csv]` (`OUT.cuts.json` is the cut list, an Audacity label track and REAPER regions).
///
/// Naming the output after the raw recording's stem (`NAME.wav`) makes `NAME.cuts.json` exactly
/// what the benchmark scorer looks for.
pub fn sidecar_paths(out_audio_path: &Path) -> anyhow::Result<[PathBuf; 3]> {
    if out_audio_path.file_stem().is_none() {
        bail!(
            "cannot name cut-list files after {}: it has no file name",
            out_audio_path.display()
        );
    }
    Ok([
        out_audio_path.with_extension("cuts.json"),
        out_audio_path.with_extension("labels.txt"),
        out_audio_path.with_extension("regions.csv"),
    ])
}

fn write_text(path: &Path, text: &str, what: &str) -> anyhow::Result<()> {
    fs::write(path, text).with_context(|| format!("writing {what} {}", path.display()))
}

fn push_gap(cuts: &mut Vec<TimeRange>, from: f64, to: f64) {
    if to - from > MIN_CUT {
        cuts.push(TimeRange::new(from, to));
    }
}

fn finite_or_zero(x: f64) -> f64 {
    if x.is_finite() {
        x
    } else {
        0.0
    }
}

/// Whole milliseconds, clamped at zero (the saturating cast also maps NaN to 0).
fn millis(seconds: f64) -> u64 {
    (seconds * 1000.0).round().max(0.0) as u64
}

/// `h:mm:ss.mmm`, the clock form REAPER parses as hours, minutes and seconds.
fn clock(ms: u64) -> String {
    let (h, rest) = (ms / 3_600_000, ms % 3_600_000);
    let (m, rest) = (rest / 60_000, rest % 60_000);
    format!("{h}:{m:02}:{:02}.{:03}", rest / 1000, rest % 1000)
}

/// Two significant digits: model scores range from ~1e-4 (reconstruction error) to ~10.
fn two_significant(x: f64) -> String {
    if x == 0.0 {
        return "0".to_string();
    }
    let magnitude = x.abs().log10().floor() as i32;
    let decimals = (1 - magnitude).clamp(0, 12) as usize;
    format!("{x:.decimals$}")
}

/// Deserialises a list of time ranges written either as `[start, end]` pairs or as
/// `{"start": .., "end": ..}` objects, as the benchmark scorer accepts both.
pub(crate) fn deserialize_ranges<'de, D>(deserializer: D) -> Result<Vec<[f64; 2]>, D::Error>
where
    D: Deserializer<'de>,
{
    let items = Vec::<serde_json::Value>::deserialize(deserializer)?;
    items
        .iter()
        .enumerate()
        .map(|(i, item)| range_item(item).ok_or_else(|| bad_range_item::<D::Error>(i, item)))
        .collect()
}

fn range_item(item: &serde_json::Value) -> Option<[f64; 2]> {
    match item {
        serde_json::Value::Array(pair) if pair.len() == 2 => {
            Some([pair[0].as_f64()?, pair[1].as_f64()?])
        }
        serde_json::Value::Object(map) => {
            Some([map.get("start")?.as_f64()?, map.get("end")?.as_f64()?])
        }
        _ => None,
    }
}

fn bad_range_item<E: serde::de::Error>(i: usize, item: &serde_json::Value) -> E {
    E::custom(format!(
        "range {i} is {item}, expected [start, end] or {{\"start\": s, \"end\": e}} in seconds"
    ))
}

mod reaper_project;
#[cfg(test)]
mod tests;
