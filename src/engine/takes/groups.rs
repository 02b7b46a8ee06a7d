//! Take groups: passages a recording performs more than once, found in the raw alone.
//!
//! At edit time there is no edit to say what was kept, so the recording is matched against
//! itself: every window is looked for everywhere else in the recording (never where it
//! overlaps itself) with the tolerant matching of [`super::matching`]. Windows that match form
//! members; members that match each other form a group. Produced music repeats itself (loops,
//! choruses) and the editor keeps every copy, so a group is a candidate, not a decision.

use std::ops::Range;

use crate::engine::align::parallel_map;
use crate::engine::timeline::TimeRange;

use super::matching::best_match;
use super::pitch_classes::PitchClasses;
use super::{mostly_quiet, performs_again, WINDOW, WINDOW_HOP};

/// A window that performs a passage found elsewhere in the recording.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Repeat {
    /// The window's frames.
    pub at: (usize, usize),
    /// The frames of its best match elsewhere (first, last inclusive).
    pub twin: (usize, usize),
    /// How far apart they are (0 identical, 1 unrelated).
    pub distance: f32,
}

/// A passage performed more than once: its members, in recording order.
#[derive(Debug, Clone, PartialEq)]
pub struct TakeGroup {
    /// Where each performance lies, raw seconds, ascending.
    pub members: Vec<TimeRange>,
}

/// Every window of the recording that matches a passage elsewhere in it.
pub fn repeats(track: &PitchClasses) -> Vec<Repeat> {
    let n = track.frames.len();
    if n < 2 * WINDOW {
        return Vec::new();
    }
    let starts: Vec<usize> = (0..=n - WINDOW).step_by(WINDOW_HOP).collect();
    let found = parallel_map(
        starts.len(),
        || (),
        |i, _| {
            let s = starts[i];
            if mostly_quiet(track, s..s + WINDOW) {
                return None;
            }
            let query = &track.frames[s..s + WINDOW];
            // Everywhere but the window itself.
            let elsewhere: [Range<usize>; 2] = [0..s, s + WINDOW..n];
            let best = elsewhere
                .into_iter()
                .filter(|r| r.len() >= WINDOW / 2)
                .filter_map(|r| {
                    best_match(query, &track.frames[r.clone()]).map(|m| Repeat {
                        at: (s, s + WINDOW),
                        twin: (r.start + m.first, r.start + m.last),
                        distance: m.distance,
                    })
                })
                .min_by(|a, b| a.distance.total_cmp(&b.distance))?;
            performs_again(query, best.distance).then_some(best)
        },
    );
    found.into_iter().flatten().collect()
}

/// How far (frames) the lag between a window and its twin may drift from one window to the
/// next within one repeated passage: a second, for a take played a little faster or slower.
const LAG_DRIFT: i64 = 10;

/// A passage performed again elsewhere: consecutive windows whose twins follow at a steady lag.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RepeatRun {
    /// Its frames.
    pub at: (usize, usize),
    /// The frames of the other performance.
    pub twin: (usize, usize),
    /// Its windows, an index range into the repeats it was built from.
    pub windows: (usize, usize),
}

impl RepeatRun {
    /// Signed frames from this performance to the other.
    pub fn lag(&self) -> i64 {
        self.twin.0 as i64 - self.at.0 as i64
    }
}

/// Chains `repeats` (in window order, as [`repeats`] returns them) into runs: a window continues
/// the previous run when it follows it by one hop and its twin lies at about the same lag.
pub fn repeat_runs(repeats: &[Repeat]) -> Vec<RepeatRun> {
    let mut runs: Vec<RepeatRun> = Vec::new();
    for (i, r) in repeats.iter().enumerate() {
        let lag = r.twin.0 as i64 - r.at.0 as i64;
        let continues = runs.last().is_some_and(|run| {
            let last = &repeats[run.windows.1 - 1];
            let last_lag = last.twin.0 as i64 - last.at.0 as i64;
            r.at.0 == last.at.0 + WINDOW_HOP && (lag - last_lag).abs() <= LAG_DRIFT
        });
        match runs.last_mut() {
            Some(run) if continues => {
                run.at.1 = r.at.1;
                run.twin = (run.twin.0.min(r.twin.0), run.twin.1.max(r.twin.1));
                run.windows.1 = i + 1;
            }
            _ => runs.push(RepeatRun {
                at: r.at,
                twin: r.twin,
                windows: (i, i + 1),
            }),
        }
    }
    runs
}

/// Groups repeated passages: every run and its twin are members, and members that overlap by
/// more than half the shorter one are one performance, so three takes of a passage make one
/// group of three.
pub fn take_groups(track: &PitchClasses, runs: &[RepeatRun]) -> Vec<TakeGroup> {
    // Performances, each with the group it belongs to (union-find by index).
    let mut spans: Vec<(usize, usize)> = Vec::new();
    let mut parent: Vec<usize> = Vec::new();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    let place = |span: (usize, usize), spans: &mut Vec<(usize, usize)>, parent: &mut Vec<usize>| {
        let same = spans.iter().position(|&(a, b)| {
            let overlap = b.min(span.1).saturating_sub(a.max(span.0));
            2 * overlap > (b - a).min(span.1 - span.0)
        });
        match same {
            Some(i) => {
                spans[i] = (spans[i].0.min(span.0), spans[i].1.max(span.1));
                i
            }
            None => {
                spans.push(span);
                parent.push(parent.len());
                parent.len() - 1
            }
        }
    };
    // A window matches once most of it is the passage, so a run's windows reach up to a
    // quarter window beyond it on average at either end.
    let trim = |(a, b): (usize, usize)| (a + WINDOW / 4, (b - WINDOW / 4).max(a + WINDOW / 4 + 1));
    for run in runs {
        let a = place(trim(run.at), &mut spans, &mut parent);
        let b = place(trim((run.twin.0, run.twin.1 + 1)), &mut spans, &mut parent);
        let (ra, rb) = (root(&mut parent, a), root(&mut parent, b));
        parent[ra] = rb;
    }
    let mut groups: Vec<(usize, Vec<TimeRange>)> = Vec::new();
    for (i, &(a, b)) in spans.iter().enumerate() {
        let range = TimeRange::new(track.frame_time(a).0, track.frame_time(b - 1).1);
        let r = root(&mut parent, i);
        match groups.iter_mut().find(|g| g.0 == r) {
            Some(g) => g.1.push(range),
            None => groups.push((r, vec![range])),
        }
    }
    groups
        .into_iter()
        .map(|(_, mut members)| {
            members.sort_by(|a, b| a.start.total_cmp(&b.start));
            TakeGroup { members }
        })
        .collect()
}
