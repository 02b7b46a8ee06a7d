//! Takes: which cut stretches of a recording are other performances of music the edit kept.
//!
//! A false start or a bad take is cut only because a better performance of the same passage
//! exists elsewhere in the recording; talk, hum or a count-in is cut for what it is. A raw
//! stretch the editor cut that matches kept material (in notes and their order, whatever the
//! level, tone, key or tempo) is therefore **another take**; one that matches nothing kept is
//! **junk**. Both labels come from the audio pair alone.
//!
//! Each cut stretch is read in windows of a few seconds; a window is a take when the best
//! placement of its pitch-class profiles anywhere in the kept audio ([`matching`]) is close,
//! and clearly closer than one fixed profile would be: a drone, a hum, a howl or a held chord
//! matches any sustained note, which proves nothing.

pub mod groups;
pub mod matching;
#[cfg(feature = "research")]
pub mod model;
pub mod pitch_classes;

use serde::{Deserialize, Serialize};

use crate::engine::align::parallel_map;
use crate::engine::cut_list::complement_within;
use crate::engine::timeline::TimeRange;
use matching::{best_match, static_distance};
use pitch_classes::PitchClasses;

/// Window length and hop (frames): long enough to hold a phrase's notes in order, short enough
/// to label a false start of two seconds.
const WINDOW: usize = 30;
const WINDOW_HOP: usize = 5;
/// How far (seconds) a label may be off where a take meets junk inside one cut stretch: half a
/// window, since a window matches once most of it is the take.
pub const LABEL_RESOLUTION_SECONDS: f64 = WINDOW as f64 / pitch_classes::FRAME_RATE / 2.0;
/// Cut stretches shorter than this (frames) are too short to identify: junk.
const MIN_FRAMES: usize = 5;
/// A window is a take when its best match is at most this distance (one minus cosine)...
const MAX_DISTANCE: f32 = 0.35;
/// ...and at most this fraction of its static distance.
const MAX_STATIC_SHARE: f32 = 0.9;

/// Why a raw stretch was cut.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum CutKind {
    /// Matches nothing the edit kept.
    Junk,
    /// Another performance of kept material.
    Take {
        /// The kept raw stretch it performs again.
        of: TimeRange,
        /// Its best window's distance from it (0 identical, 1 unrelated).
        distance: f32,
    },
}

/// A raw stretch the edit cut, and why.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LabelledCut {
    /// Where it lies, in raw seconds.
    pub raw: TimeRange,
    /// Junk or another take.
    #[serde(flatten)]
    pub kind: CutKind,
}

/// The raw stretches of `cuts` labelled take, in order.
pub fn take_ranges(cuts: &[LabelledCut]) -> Vec<TimeRange> {
    cuts.iter()
        .filter(|c| matches!(c.kind, CutKind::Take { .. }))
        .map(|c| c.raw)
        .collect()
}

/// The stretches of a recording outside `kept` (raw seconds, ascending), each labelled junk or
/// take; `duration` is the recording's length.
pub fn label_cuts(track: &PitchClasses, kept: &[TimeRange], duration: f64) -> Vec<LabelledCut> {
    let kept_frames: Vec<std::ops::Range<usize>> = kept
        .iter()
        .map(|r| track.frames_in(r.start, r.end))
        .collect();
    let mut out = Vec::new();
    for gap in complement_within(kept, duration) {
        let frames = track.frames_in(gap.start, gap.end);
        if frames.len() < MIN_FRAMES {
            out.push(LabelledCut {
                raw: gap,
                kind: CutKind::Junk,
            });
            continue;
        }
        let votes = window_votes(track, frames.clone(), &kept_frames);
        out.extend(runs(gap, &frames, &votes, track));
    }
    out
}

/// A window's verdict when it is a take: its distance and the raw frames it performs again.
#[derive(Debug, Clone, Copy)]
struct Vote {
    distance: f32,
    /// Which kept stretch it matched, and the first and last raw frames matched there.
    kept: usize,
    first: usize,
    last: usize,
}

/// One verdict per window of `frames` (start within the gap, `None` for junk), windows starting
/// every [`WINDOW_HOP`] and the last one ending at the end of the gap.
///
/// Each kept stretch is searched on its own: a path across the seam between two kept stretches
/// would match music that was never played in that order.
fn window_votes(
    track: &PitchClasses,
    frames: std::ops::Range<usize>,
    kept: &[std::ops::Range<usize>],
) -> Vec<(usize, Option<Vote>)> {
    let gap = &track.frames[frames];
    let len = WINDOW.min(gap.len());
    let mut starts: Vec<usize> = (0..=gap.len() - len).step_by(WINDOW_HOP).collect();
    if starts.last().is_some_and(|&s| s + len < gap.len()) {
        starts.push(gap.len() - len);
    }
    // Each window searches every kept stretch: spread over the cores.
    parallel_map(
        starts.len(),
        || (),
        |i, _| {
            let s = starts[i];
            let query = &gap[s..s + len];
            let best = kept
                .iter()
                .enumerate()
                .filter_map(|(k, r)| {
                    best_match(query, &track.frames[r.clone()]).map(|m| Vote {
                        distance: m.distance,
                        kept: k,
                        first: r.start + m.first,
                        last: r.start + m.last,
                    })
                })
                .min_by(|a, b| a.distance.total_cmp(&b.distance));
            let vote = best.filter(|v| performs_again(query, v.distance));
            (s, vote)
        },
    )
}

/// Splits a gap into runs of take and junk frames: each frame follows the window whose centre
/// is nearest, after a three-window majority so that one odd window does not split a take.
fn runs(
    gap: TimeRange,
    frames: &std::ops::Range<usize>,
    votes: &[(usize, Option<Vote>)],
    track: &PitchClasses,
) -> Vec<LabelledCut> {
    let is_take: Vec<bool> = (0..votes.len())
        .map(|i| {
            let (lo, hi) = (i.saturating_sub(1), (i + 1).min(votes.len() - 1));
            let yes = (lo..=hi).filter(|&k| votes[k].1.is_some()).count();
            yes * 2 > hi - lo + 1
        })
        .collect();
    let half = WINDOW.min(frames.len()) / 2;
    let window_of = |f: usize| {
        (0..votes.len())
            .min_by_key(|&i| (votes[i].0 + half).abs_diff(f))
            .unwrap_or(0)
    };
    let time = |f: usize| {
        if f == 0 {
            gap.start
        } else if f == frames.len() {
            gap.end
        } else {
            track.frame_time(frames.start + f).0
        }
    };
    let mut out = Vec::new();
    let mut run_start = 0;
    for f in 1..=frames.len() {
        let (first_window, window) = (window_of(run_start), window_of(f.min(frames.len() - 1)));
        if f < frames.len() && is_take[window] == is_take[first_window] {
            continue;
        }
        let kind = if is_take[first_window] {
            take_of(&votes[first_window..=window_of(f - 1)], track)
        } else {
            CutKind::Junk
        };
        out.push(LabelledCut {
            raw: TimeRange::new(time(run_start), time(f)),
            kind,
        });
        run_start = f;
    }
    out
}

/// The kept stretch a run of take windows performs: the best window's match, widened to the
/// other windows that matched the same kept stretch.
fn take_of(votes: &[(usize, Option<Vote>)], track: &PitchClasses) -> CutKind {
    let matched: Vec<Vote> = votes.iter().filter_map(|v| v.1).collect();
    // A run voted take by its neighbours may hold no matching window of its own.
    let Some(best) = matched
        .iter()
        .min_by(|a, b| a.distance.total_cmp(&b.distance))
    else {
        return CutKind::Junk;
    };
    let same = || matched.iter().filter(|v| v.kept == best.kept);
    let first = same().map(|v| v.first).min().unwrap_or(best.first);
    let last = same().map(|v| v.last).max().unwrap_or(best.last);
    CutKind::Take {
        of: TimeRange::new(track.frame_time(first).0, track.frame_time(last).1),
        distance: best.distance,
    }
}

/// Whether `query`, whose best match lies `distance` away, performs that passage again: close
/// enough, and clearly closer than its own mean profile explains it (see the module
/// documentation).
fn performs_again(query: &[pitch_classes::Profile], distance: f32) -> bool {
    distance <= MAX_DISTANCE && distance <= MAX_STATIC_SHARE * static_distance(query)
}

/// Whether most frames of `window` (frames of `track`) are quiet: it has too few notes to match.
fn mostly_quiet(track: &PitchClasses, window: std::ops::Range<usize>) -> bool {
    let len = window.len();
    window.filter(|&t| track.is_quiet(t)).count() * 2 > len
}

#[cfg(test)]
mod tests;
