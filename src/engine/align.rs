//! Alignment of a raw recording with its human edit: which spans of the raw the edit kept.
//!
//! An edit is a subset of the raw: spans kept in order (usually), joined with short crossfades,
//! perhaps re-encoded lossily and at another level. The alignment runs in three stages:
//!
//! 1. **Search** ([`path`]): the edit is cut into 1 s blocks every 0.25 s. Every other block is
//!    found in the raw by normalised cross-correlation of band-passed (about 0.7 kHz) 4 kHz
//!    waveforms over every raw offset at once (overlap-save FFT); the others try their
//!    neighbours' offsets. Normalisation makes the score blind to gain, and each candidate is
//!    scored by the interpolated height of its peak, since a true offset falls between samples.
//! 2. **Path** ([`path`], [`retakes`]): a Viterbi pass picks one offset per block, penalising
//!    changes and, heavily, jumps back in the raw, so a span survives quiet, sustained or
//!    repetitive passages (music repeats itself; editors mostly keep order). Where the end of a
//!    span is matched equally well by a later take (a false start copies the opening of the
//!    take after it), the later take gets it.
//! 3. **Refine** ([`refine`]): each run of blocks gets a sample-exact offset (FFT correlation of
//!    the 16 kHz waveforms within 20 ms of the coarse one) and a gain, and each join is placed
//!    at the change point between the two neighbouring models; equal-power crossfades of 50 ms
//!    land within a few milliseconds of their middle.
//! 4. **Report**: spans in seconds, with the reorders and repeats an editor may have made, and
//!    each cut stretch labelled junk or another take of kept music ([`crate::engine::takes`]).
//!
//! The cost is dominated by the search, about one FFT correlation of the whole raw at 4 kHz per
//! 0.5 s of the edit: about a second for a three-minute pair on two cores.

mod path;
mod refine;
mod retakes;
mod search;
mod signal;

pub(crate) use search::parallel_map;

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};

use super::audio_io::AudioClip;
use super::takes::pitch_classes::PitchClasses;
use super::takes::{label_cuts, LabelledCut};
use super::timeline::TimeRange;
use path::{find_runs, Layout, MIN_BLOCK};
use refine::refine;
use signal::{energy, prepare, Track, FINE_RATE};

/// Spans shorter than this (seconds) are not reported: no editor keeps 20 ms of a take, so they
/// are artefacts of a join, and their audio counts as unmatched.
const MIN_SPAN_SECONDS: f64 = 0.02;
/// Overlaps and backward steps in the raw up to this long (seconds) are join imprecision, not a
/// repeat or a reorder.
const ORDER_TOLERANCE_SECONDS: f64 = 0.05;
/// Below this RMS (-100 dBFS) a whole clip is silence, with nothing to align.
const SILENT_RMS: f64 = 1e-5;

/// One stretch of the edit and the raw stretch it was taken from (same length).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AlignedSpan {
    /// Where it came from, in raw seconds.
    pub raw: TimeRange,
    /// Where it lies in the edit, in edited seconds.
    pub edited: TimeRange,
}

/// How an edit was made from a raw recording.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alignment {
    /// The kept spans in edit order; consecutive spans meet at the editor's joins.
    pub spans: Vec<AlignedSpan>,
    /// Whether every span starts in the raw after the previous one ends: false when the editor
    /// moved material earlier (a reorder) or used it again (a repeat).
    pub in_order: bool,
    /// Indices into `spans` of spans whose raw range overlaps an earlier span's.
    pub repeated: Vec<usize>,
    /// Seconds of the edit that match no part of the raw with confidence.
    pub unmatched_seconds: f64,
    /// The raw stretches the edit left out, in raw order, each labelled junk or another take of
    /// kept material.
    pub cuts: Vec<LabelledCut>,
}

impl Alignment {
    /// The raw ranges the edit kept, clipped to `[0, raw_duration]`, merged where they overlap
    /// or touch, ascending: the keep list of a cut list.
    pub fn kept_ranges(&self, raw_duration: f64) -> Vec<TimeRange> {
        let limit = if raw_duration.is_finite() {
            raw_duration.max(0.0)
        } else {
            f64::MAX
        };
        let mut ranges: Vec<TimeRange> = self
            .spans
            .iter()
            .map(|s| TimeRange::new(s.raw.start.clamp(0.0, limit), s.raw.end.clamp(0.0, limit)))
            .filter(|r| r.end > r.start)
            .collect();
        ranges.sort_by(|a, b| a.start.total_cmp(&b.start));
        let mut merged: Vec<TimeRange> = Vec::with_capacity(ranges.len());
        for r in ranges {
            match merged.last_mut() {
                Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
                _ => merged.push(r),
            }
        }
        merged
    }

    /// Indices of spans that start in the raw before the previous span ends: where the editor
    /// jumped back (a reorder or a repeat). Empty exactly when `in_order` is true.
    pub fn out_of_order(&self) -> Vec<usize> {
        out_of_order(&self.spans)
    }
}

/// Finds which spans of `raw` make up `edited`.
///
/// Fails with a message saying why when either clip is empty, silent, shorter than 50 ms or at an
/// unusable sample rate, and when no part of the edit matches the raw (unrelated files).
/// Sample rates and channel counts of the two clips may differ.
pub fn align(raw: &AudioClip, edited: &AudioClip) -> Result<Alignment> {
    let raw_track = prepare(raw, "raw recording")?;
    let edited_track = prepare(edited, "edited file")?;
    check_usable(&raw_track, "raw recording")?;
    check_usable(&edited_track, "edited file")?;

    let layout = Layout::new(edited_track.coarse.len(), raw_track.coarse.len());
    let runs = find_runs(&raw_track.coarse, &edited_track.coarse, &layout);
    if runs.iter().all(|r| r.offset.is_none()) {
        bail!(no_match_message());
    }
    let pieces = refine(&raw_track.fine, &edited_track.fine, &layout, &runs);

    let seconds = |samples: i64| samples as f64 / f64::from(FINE_RATE);
    let (raw_duration, edited_duration) = (raw.duration(), edited.duration());
    let spans: Vec<AlignedSpan> = pieces
        .iter()
        .filter_map(|p| {
            let offset = p.offset?;
            let edited_range = TimeRange::new(
                seconds(p.start as i64).min(edited_duration),
                seconds(p.end as i64).min(edited_duration),
            );
            let raw_range = TimeRange::new(
                seconds(p.start as i64 + offset).clamp(0.0, raw_duration),
                seconds(p.end as i64 + offset).clamp(0.0, raw_duration),
            );
            (edited_range.duration() >= MIN_SPAN_SECONDS).then_some(AlignedSpan {
                raw: raw_range,
                edited: edited_range,
            })
        })
        .collect();
    if spans.is_empty() {
        bail!(no_match_message());
    }
    let matched: f64 = spans.iter().map(|s| s.edited.duration()).sum();
    let mut alignment = Alignment {
        in_order: out_of_order(&spans).is_empty(),
        repeated: repeated_spans(&spans),
        unmatched_seconds: (edited_duration - matched).max(0.0),
        spans,
        cuts: Vec::new(),
    };
    let pitch_classes = PitchClasses::of(&raw_track.fine, FINE_RATE);
    alignment.cuts = label_cuts(
        &pitch_classes,
        &alignment.kept_ranges(raw_duration),
        raw_duration,
    );
    Ok(alignment)
}

fn no_match_message() -> String {
    "no part of the edited file matches the raw recording (are they the same session?)".into()
}

/// Rejects clips that cannot be aligned: too short to identify, or silent.
fn check_usable(track: &Track, what: &str) -> Result<()> {
    if track.coarse.len() < MIN_BLOCK {
        bail!(
            "the {what} is too short to align ({:.3} s; at least {:.2} s is needed)",
            track.fine.len() as f64 / f64::from(FINE_RATE),
            MIN_BLOCK as f64 * signal::DECIMATION as f64 / f64::from(FINE_RATE)
        );
    }
    let rms = (energy(&track.fine) / track.fine.len().max(1) as f64).sqrt();
    if rms < SILENT_RMS {
        bail!("the {what} is silent: there is nothing to align");
    }
    Ok(())
}

fn out_of_order(spans: &[AlignedSpan]) -> Vec<usize> {
    (1..spans.len())
        .filter(|&i| spans[i].raw.start < spans[i - 1].raw.end - ORDER_TOLERANCE_SECONDS)
        .collect()
}

/// Indices of spans whose raw range overlaps an earlier span's by more than the tolerance.
fn repeated_spans(spans: &[AlignedSpan]) -> Vec<usize> {
    (1..spans.len())
        .filter(|&j| {
            spans[..j].iter().any(|earlier| {
                let overlap = spans[j].raw.end.min(earlier.raw.end)
                    - spans[j].raw.start.max(earlier.raw.start);
                overlap > ORDER_TOLERANCE_SECONDS
            })
        })
        .collect()
}

#[cfg(test)]
mod tests;
