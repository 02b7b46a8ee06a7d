//! The online cut planner: final bin scores in, committed keep/cut decisions out.
//!
//! Rather than a second set of rules, it runs the offline planner ([`CutPlan::from_bad_mask`])
//! on a sliding window of bins and commits only the part of the plan that can no longer change
//! for lack of lookahead: everything more than `lookahead` (plus the snap tolerance) behind the
//! newest final bin. The window reaches back far enough that a kept piece or a cut running into
//! it is seen at full length, and is followed by assumed-good bins so a piece of music that has
//! only just resumed is not mistaken for a too-short keep. With a lookahead at least as long as
//! `min_cut + pre_pad + post_pad` the committed plan equals the offline plan; a `min_keep`
//! longer than the lookahead is enforced as far as the lookahead sees.

use std::collections::VecDeque;

use crate::engine::beats::BeatGrid;
use crate::engine::cut_plan::{CutOptions, CutPlan, SnapMode};

/// How bins become cuts.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannerSettings {
    /// Bins scoring above this are bad.
    pub threshold: f64,
    /// Cut planning rules (lengths in seconds).
    pub cut: CutOptions,
}

/// A committed decision: stream time `[start, end)` is kept or cut.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Decision {
    /// Start in stream seconds.
    pub start: f64,
    /// End in stream seconds.
    pub end: f64,
    /// Whether the audio is kept.
    pub keep: bool,
}

/// Commits keep/cut decisions a fixed lookahead behind the newest final bin.
pub struct OnlinePlanner {
    bin_seconds: f64,
    lookahead_seconds: f64,
    /// Bad flags of recent bins; `bad[0]` is bin `first_bin`.
    bad: VecDeque<bool>,
    first_bin: usize,
    /// Everything before this stream time is decided.
    committed: f64,
}

impl OnlinePlanner {
    /// A planner for bins `bin_seconds` long that looks `lookahead_seconds` ahead.
    pub fn new(bin_seconds: f64, lookahead_seconds: f64) -> Self {
        Self {
            bin_seconds,
            lookahead_seconds: lookahead_seconds.max(0.0),
            bad: VecDeque::new(),
            first_bin: 0,
            committed: 0.0,
        }
    }

    /// Forgets every bin and decision.
    pub fn reset(&mut self) {
        self.bad.clear();
        self.first_bin = 0;
        self.committed = 0.0;
    }

    /// Stream time before which everything is decided.
    pub fn committed(&self) -> f64 {
        self.committed
    }

    /// Whether any bin in the window is bad: without one there is no boundary to snap, so a
    /// caller can skip building a beat grid.
    pub fn has_bad_bins(&self) -> bool {
        self.bad.iter().any(|&b| b)
    }

    /// How long after a bin ends its decision is committed: the lookahead plus room for a
    /// boundary to snap earlier by the tolerance.
    pub fn commit_delay(&self, settings: &PlannerSettings) -> f64 {
        self.lookahead_seconds + snap_room(&settings.cut)
    }

    /// Adds the next final bin (bins must arrive in order, from 0) and appends the decisions it
    /// settles to `out`. `grid` (stream seconds) is what boundaries snap to; `None` or an empty
    /// grid leaves them where detection put them. A non-finite score counts as good, since the
    /// plugin must never cut audio it could not judge.
    pub fn push_bin(
        &mut self,
        index: usize,
        score: f64,
        settings: &PlannerSettings,
        grid: Option<&BeatGrid>,
        out: &mut Vec<Decision>,
    ) {
        if self.bad.is_empty() {
            self.first_bin = index;
        }
        while self.first_bin + self.bad.len() < index {
            self.bad.push_back(false);
        }
        self.bad
            .push_back(score.is_finite() && score > settings.threshold);

        let visible_end = (index + 1) as f64 * self.bin_seconds;
        let commit_to = visible_end - self.commit_delay(settings);
        if commit_to > self.committed {
            self.commit(commit_to, settings, grid, out);
        }
        self.trim(settings);
    }

    /// Runs the offline planner over the window and records its verdict on
    /// `[committed, commit_to)`.
    fn commit(
        &mut self,
        commit_to: f64,
        settings: &PlannerSettings,
        grid: Option<&BeatGrid>,
        out: &mut Vec<Decision>,
    ) {
        let cut = &settings.cut;
        let window_start = self.first_bin as f64 * self.bin_seconds;
        // Assumed-good bins after the newest one: enough that music just resuming counts as a
        // full-length keep until the lookahead shows otherwise.
        let tail = (cut.min_keep.max(0.0) / self.bin_seconds).ceil() as usize + 1;
        let mut mask: Vec<bool> = self.bad.iter().copied().collect();
        mask.resize(mask.len() + tail, false);
        let duration = mask.len() as f64 * self.bin_seconds;
        let local_grid = grid
            .filter(|g| !g.is_empty())
            .map(|g| shifted(g, window_start));
        let plan =
            CutPlan::from_bad_mask(&mask, self.bin_seconds, duration, cut, local_grid.as_ref());
        let (from, to) = (self.committed - window_start, commit_to - window_start);
        let mut cursor = from;
        for keep in &plan.keep {
            let (s, e) = (keep.start.max(from), keep.end.min(to));
            if e <= s {
                continue;
            }
            if s > cursor {
                push_decision(out, cursor + window_start, s + window_start, false);
            }
            push_decision(out, s + window_start, e + window_start, true);
            cursor = e;
        }
        if cursor < to {
            push_decision(out, cursor + window_start, commit_to, false);
        }
        self.committed = commit_to;
    }

    /// Drops bins too old to affect any future commit.
    fn trim(&mut self, settings: &PlannerSettings) {
        let cut = &settings.cut;
        // A keep or cut running into the window must be seen whole for the min-keep and
        // min-cut rules, padding included.
        let context = cut.min_keep.max(0.0)
            + cut.min_cut.max(0.0)
            + cut.pre_pad.max(0.0)
            + cut.post_pad.max(0.0)
            + 2.0 * snap_room(cut);
        let oldest = ((self.committed - context) / self.bin_seconds).floor();
        let oldest = if oldest > 0.0 { oldest as usize } else { 0 };
        while self.first_bin < oldest && !self.bad.is_empty() {
            self.bad.pop_front();
            self.first_bin += 1;
        }
    }
}

/// Time a snapped boundary may move earlier.
fn snap_room(cut: &CutOptions) -> f64 {
    if cut.snap == SnapMode::Off {
        0.0
    } else {
        cut.snap_tolerance.max(0.0)
    }
}

/// Appends a decision, merging it into the previous one when they continue each other.
fn push_decision(out: &mut Vec<Decision>, start: f64, end: f64, keep: bool) {
    if let Some(last) = out.last_mut() {
        if last.keep == keep && (last.end - start).abs() < 1e-9 {
            last.end = end;
            return;
        }
    }
    out.push(Decision { start, end, keep });
}

/// `grid` with every time moved earlier by `by` seconds.
fn shifted(grid: &BeatGrid, by: f64) -> BeatGrid {
    let shift = |v: &Vec<f64>| v.iter().map(|t| t - by).collect();
    BeatGrid {
        tempo_bpm: grid.tempo_bpm,
        beats: shift(&grid.beats),
        downbeats: shift(&grid.downbeats),
        onsets: shift(&grid.onsets),
    }
}
