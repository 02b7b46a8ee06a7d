//! Turning per-bin "this sounds bad" flags into a cut plan a musician would sign off on: no
//! stutter-cuts, no chopped attacks, boundaries on the beat where one is near, and no scraps of
//! music too short to be worth keeping.
//!
//! [`CutPlan::from_bad_mask`] applies its rules in this order:
//! 1. runs of bad bins become cut regions; a detected cut shorter than `min_cut` is ignored;
//! 2. each kept region grows by `pre_pad` before it and `post_pad` after it (cuts shrink, and
//!    a cut the pads swallow disappears);
//! 3. interior boundaries snap to the grid (see [`SnapMode`]);
//! 4. any cut now shorter than `min_cut` is dropped (the music either side joins);
//! 5. kept pieces shorter than `min_keep` are dropped, unless that would drop them all.

use serde::{Deserialize, Serialize};

use super::beats::BeatGrid;
use super::timeline::{total_duration, TimeRange};

/// Gaps and overlaps smaller than this (seconds) are floating-point noise, not edits.
const EPSILON: f64 = 1e-9;

/// What edit boundaries are pulled towards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SnapMode {
    /// Boundaries stay where the detection put them.
    Off,
    /// Boundaries move to the nearest note onset.
    Onset,
    /// Boundaries move to the nearest beat.
    Beat,
    /// Boundaries move to the nearest bar start (downbeat).
    Bar,
}

/// How a cut plan is shaped. All values are in seconds; negative or non-finite values act as 0.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CutOptions {
    /// Kept pieces shorter than this are cut too, since a fragment that short sounds like a glitch.
    pub min_keep: f64,
    /// Cuts shorter than this are not made: a tiny cut is more audible than what it removes.
    pub min_cut: f64,
    /// Music kept before each kept region starts, so a note's attack is not clipped.
    pub pre_pad: f64,
    /// Music kept after each kept region ends, so a note's decay is not chopped.
    pub post_pad: f64,
    /// What boundaries snap to.
    pub snap: SnapMode,
    /// How far a boundary may move when snapping.
    pub snap_tolerance: f64,
}

impl Default for CutOptions {
    fn default() -> Self {
        Self {
            min_keep: 2.0,
            min_cut: 0.5,
            pre_pad: 0.05,
            post_pad: 0.1,
            snap: SnapMode::Beat,
            snap_tolerance: 0.25,
        }
    }
}

impl CutOptions {
    /// A copy with every length made finite and non-negative, so later arithmetic cannot go wrong.
    fn sanitised(&self) -> Self {
        Self {
            min_keep: non_negative(self.min_keep),
            min_cut: non_negative(self.min_cut),
            pre_pad: non_negative(self.pre_pad),
            post_pad: non_negative(self.post_pad),
            snap: self.snap,
            snap_tolerance: non_negative(self.snap_tolerance),
        }
    }
}

/// `x` if it is a finite non-negative number, else 0.
fn non_negative(x: f64) -> f64 {
    if x.is_finite() && x > 0.0 {
        x
    } else {
        0.0
    }
}

/// What a user decided for a stretch by hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    /// Kept whatever the model says.
    Keep,
    /// Cut whatever the model says.
    Cut,
}

/// A stretch kept or cut by hand, overruling the plan.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Override {
    /// The stretch, in seconds.
    pub range: TimeRange,
    /// What happens to it.
    pub decision: Decision,
}

impl Override {
    /// The same override `by` seconds earlier (into the seconds of something starting there).
    pub fn shifted(self, by: f64) -> Self {
        Self {
            range: TimeRange::new(self.range.start - by, self.range.end - by),
            ..self
        }
    }
}

/// Which parts of a recording survive the edit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CutPlan {
    /// Length of the source, in seconds.
    pub duration: f64,
    /// Kept ranges: ascending, non-overlapping, non-empty, inside `[0, duration]`.
    pub keep: Vec<TimeRange>,
}

impl CutPlan {
    /// A plan that keeps the whole recording (nothing at all when `duration` is not positive).
    pub fn keep_all(duration: f64) -> Self {
        let duration = non_negative(duration);
        Self::from_keep(duration, vec![TimeRange::new(0.0, duration)])
    }

    /// A plan keeping the given ranges, normalised: clipped to `[0, duration]`, sorted, with
    /// overlapping or touching ranges merged and empty ones removed.
    pub fn from_keep(duration: f64, keep: Vec<TimeRange>) -> Self {
        let duration = non_negative(duration);
        Self {
            duration,
            keep: normalise(keep, duration),
        }
    }

    /// The plan for a recording whose bin `i` — covering `[i·bin_seconds, (i+1)·bin_seconds)`,
    /// clipped to `duration` — is flagged bad when `bad[i]` is true. Bins past the mask's end
    /// count as good. See the module documentation for the rules and their order; snapping
    /// uses `grid` and is skipped without one.
    ///
    /// Guarantees: a cut is never shorter than `min_cut`; a kept piece is never shorter than
    /// `min_keep` unless it is the only one (when every piece is too short, the longest stays,
    /// so `min_keep` alone never empties the plan); the plan keeps nothing only when the mask
    /// marks everything bad. A non-positive `bin_seconds` means no bin can be placed, so
    /// everything is kept.
    pub fn from_bad_mask(
        bad: &[bool],
        bin_seconds: f64,
        duration: f64,
        options: &CutOptions,
        grid: Option<&BeatGrid>,
    ) -> Self {
        let duration = non_negative(duration);
        if !(bin_seconds.is_finite() && bin_seconds > 0.0) {
            return Self::keep_all(duration);
        }
        let options = options.sanitised();

        let detected = bad_runs(bad, bin_seconds, duration);
        let worth_cutting = at_least(detected, options.min_cut);
        let keep = complement(&worth_cutting, duration);
        let keep = pad(&keep, options.pre_pad, options.post_pad, duration);
        let points = snap_points(grid, options.snap);
        let keep = snap(&keep, &points, options.snap_tolerance, duration);
        let cuts = at_least(complement(&keep, duration), options.min_cut);
        let keep = drop_short_keeps(complement(&cuts, duration), options.min_keep);
        Self::from_keep(duration, keep)
    }

    /// The removed ranges: everything in `[0, duration]` not kept, ascending.
    pub fn cuts(&self) -> Vec<TimeRange> {
        let keep = normalise(self.keep.clone(), non_negative(self.duration));
        complement(&keep, non_negative(self.duration))
    }

    /// Total kept time, in seconds.
    pub fn kept_seconds(&self) -> f64 {
        total_duration(&self.keep)
    }

    /// Fraction of the recording kept, in `[0, 1]`; 1 for an empty recording, since nothing of
    /// it was removed.
    pub fn kept_ratio(&self) -> f64 {
        if self.duration > 0.0 {
            (self.kept_seconds() / self.duration).clamp(0.0, 1.0)
        } else {
            1.0
        }
    }

    /// This plan with `overrides` applied in order, so a later one wins where two overlap. They
    /// are in the plan's seconds and may reach outside it. No cut rule applies to them: a
    /// stretch decided by hand stays as it was decided.
    pub fn overridden(&self, overrides: &[Override]) -> Self {
        let mut keep = self.keep.clone();
        for o in overrides {
            keep = match o.decision {
                Decision::Keep => {
                    keep.push(o.range);
                    normalise(keep, self.duration)
                }
                Decision::Cut => {
                    let mut cuts = complement(&keep, self.duration);
                    cuts.push(o.range);
                    complement(&normalise(cuts, self.duration), self.duration)
                }
            };
        }
        Self::from_keep(self.duration, keep)
    }

    /// Whether source time `t` (seconds) survives the edit.
    pub fn is_kept(&self, t: f64) -> bool {
        self.keep.iter().any(|r| r.contains(t))
    }
}

/// Ranges sorted, clipped to `[0, duration]`, merged where they overlap or touch, and with empty
/// or NaN ones removed (infinite ends simply clip).
fn normalise(ranges: Vec<TimeRange>, duration: f64) -> Vec<TimeRange> {
    let mut clipped: Vec<TimeRange> = ranges
        .into_iter()
        .filter(|r| !r.start.is_nan() && !r.end.is_nan())
        .map(|r| TimeRange::new(r.start.clamp(0.0, duration), r.end.clamp(0.0, duration)))
        .filter(|r| r.end - r.start > EPSILON)
        .collect();
    clipped.sort_by(|a, b| a.start.total_cmp(&b.start));
    let mut merged: Vec<TimeRange> = Vec::with_capacity(clipped.len());
    for r in clipped {
        match merged.last_mut() {
            Some(last) if r.start <= last.end + EPSILON => last.end = last.end.max(r.end),
            _ => merged.push(r),
        }
    }
    merged
}

/// Everything in `[0, duration]` outside `ranges` (which must be normalised).
fn complement(ranges: &[TimeRange], duration: f64) -> Vec<TimeRange> {
    let mut gaps = Vec::with_capacity(ranges.len() + 1);
    let mut cursor = 0.0;
    for r in ranges {
        gaps.push(TimeRange::new(cursor, r.start));
        cursor = r.end;
    }
    gaps.push(TimeRange::new(cursor, duration));
    normalise(gaps, duration)
}

/// Runs of consecutive bad bins as time ranges, normalised.
fn bad_runs(bad: &[bool], bin_seconds: f64, duration: f64) -> Vec<TimeRange> {
    let mut runs = Vec::new();
    let mut run_start: Option<usize> = None;
    for (i, &is_bad) in bad.iter().chain(std::iter::once(&false)).enumerate() {
        match (is_bad, run_start) {
            (true, None) => run_start = Some(i),
            (false, Some(first)) => {
                runs.push(TimeRange::new(
                    first as f64 * bin_seconds,
                    i as f64 * bin_seconds,
                ));
                run_start = None;
            }
            _ => {}
        }
    }
    normalise(runs, duration)
}

/// The ranges at least `min` long (within floating-point noise).
fn at_least(ranges: Vec<TimeRange>, min: f64) -> Vec<TimeRange> {
    ranges
        .into_iter()
        .filter(|r| r.duration() + EPSILON >= min)
        .collect()
}

/// Kept ranges grown by the pads, then normalised so swallowed cuts disappear. Edges of the
/// recording cannot grow further, which clipping takes care of.
fn pad(keep: &[TimeRange], pre: f64, post: f64, duration: f64) -> Vec<TimeRange> {
    let grown = keep
        .iter()
        .map(|r| TimeRange::new(r.start - pre, r.end + post))
        .collect();
    normalise(grown, duration)
}

/// The grid times boundaries may snap to under `mode`, sorted, finite only.
fn snap_points(grid: Option<&BeatGrid>, mode: SnapMode) -> Vec<f64> {
    let Some(grid) = grid else {
        return Vec::new();
    };
    let source: &[f64] = match mode {
        SnapMode::Off => &[],
        SnapMode::Onset => &grid.onsets,
        SnapMode::Beat => &grid.beats,
        SnapMode::Bar => grid.bars(),
    };
    let mut points: Vec<f64> = source.iter().copied().filter(|t| t.is_finite()).collect();
    points.sort_by(f64::total_cmp);
    points
}

/// Kept ranges with each interior boundary moved to the nearest snap point within `tolerance`
/// that keeps the plan sane: a start must stay after the previous range's (snapped) end and
/// before its own end, and an end after its own start and before the next range's start. So
/// pieces never empty, invert or swap, and a cut may shrink but never closes up through
/// snapping alone. Boundaries at 0 and `duration` never move.
fn snap(keep: &[TimeRange], points: &[f64], tolerance: f64, duration: f64) -> Vec<TimeRange> {
    if points.is_empty() {
        return keep.to_vec();
    }
    let mut snapped: Vec<TimeRange> = Vec::with_capacity(keep.len());
    let mut previous_end = 0.0;
    for (i, r) in keep.iter().enumerate() {
        let next_start = keep.get(i + 1).map_or(duration, |n| n.start);
        let start = if r.start <= 0.0 {
            r.start
        } else {
            nearest_point(points, r.start, tolerance, |p| {
                p > previous_end && p < r.end
            })
            .unwrap_or(r.start)
        };
        let end = if r.end >= duration {
            r.end
        } else {
            nearest_point(points, r.end, tolerance, |p| p > start && p < next_start)
                .unwrap_or(r.end)
        };
        previous_end = end;
        snapped.push(TimeRange::new(start, end));
    }
    normalise(snapped, duration)
}

/// The point of sorted `points` nearest `t`, at most `tolerance` away, that passes `allowed`.
fn nearest_point(
    points: &[f64],
    t: f64,
    tolerance: f64,
    allowed: impl Fn(f64) -> bool,
) -> Option<f64> {
    let from = points.partition_point(|&p| p < t - tolerance);
    let to = points.partition_point(|&p| p <= t + tolerance);
    points
        .get(from..to)?
        .iter()
        .copied()
        .filter(|&p| allowed(p))
        .min_by(|a, b| (a - t).abs().total_cmp(&(b - t).abs()))
}

/// The pieces at least `min_keep` long; if there are pieces but none is long enough, the
/// longest alone, because a plan that silently discards a whole take is never what was meant.
fn drop_short_keeps(keep: Vec<TimeRange>, min_keep: f64) -> Vec<TimeRange> {
    let long_enough = at_least(keep.clone(), min_keep);
    if !long_enough.is_empty() {
        return long_enough;
    }
    let longest = keep.into_iter().reduce(|best, r| {
        if r.duration() > best.duration() {
            r
        } else {
            best
        }
    });
    longest.into_iter().collect()
}

#[cfg(test)]
mod tests;
