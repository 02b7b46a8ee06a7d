//! From runs of blocks to sample-accurate pieces: each run's offset refined on the fine
//! waveform, and each join placed where one offset stops explaining the edit and the next
//! starts to.
//!
//! A join is a change point: the edit sample `t` that minimises the squared residual of the left
//! piece's model before `t` plus the right piece's after it. The model of a matched piece is the
//! raw at its offset times its gain; "no match" is modelled as a residual of half the edit's own
//! energy. Across an equal-power crossfade the two residuals cross near its middle.

use realfft::RealFftPlanner;

use super::path::{Layout, Run};
use super::signal::{energy_prefix, DECIMATION};

/// Residual of "no match", as a fraction of the edit's energy: a true match leaves far less
/// (lossy coding costs a few per cent), a wrong one leaves more than all of it.
const NONE_COST: f64 = 0.5;
/// Longest stretch used to refine an offset and measure a gain (fine samples, 4 s).
const PROBE_MAX: usize = 64_000;
/// How far (fine samples, 20 ms) the exact offset may lie from the coarse one: the coarse stage
/// may have settled on a neighbouring period of a sustained note.
const REFINE_REACH: i64 = 320;
/// Bias of the join towards the right-hand piece, as a fraction of the edit's energy: where both
/// pieces explain the audio (a false start copies the opening of the take after it), the join
/// goes where the right-hand piece starts to explain it, crediting the material to the later take.
const PREFER_RIGHT: f64 = 0.1;
/// Fine offsets within this many samples (0.5 ms) are the same offset: two runs of one span
/// refined on different stretches may land a sample or two apart.
const SAME_OFFSET: i64 = 8;

/// A stretch of the edit, in fine samples, and where it comes from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Piece {
    /// First edited sample.
    pub start: usize,
    /// End (exclusive).
    pub end: usize,
    /// Raw sample minus edited sample; `None` for audio that matched nothing.
    pub offset: Option<i64>,
    /// Edited level over raw level.
    pub gain: f64,
}

/// Refines `runs` (from the coarse search over `layout`) into pieces tiling `[0, edited.len())`.
pub(super) fn refine(raw: &[f32], edited: &[f32], layout: &Layout, runs: &[Run]) -> Vec<Piece> {
    let scale = DECIMATION;
    // Each run's region: from its first block's start to its last block's end, and its core,
    // the part clear of the blocks it shares with its neighbours.
    let regions: Vec<(usize, usize)> = runs
        .iter()
        .map(|r| {
            let start = layout.starts[r.first] * scale;
            let end = ((layout.starts[r.last] + layout.len) * scale).min(edited.len());
            (start, end.max(start))
        })
        .collect();
    let mut pieces: Vec<Piece> = runs
        .iter()
        .zip(&regions)
        .map(|(run, &(start, end))| {
            let probe = probe_of(start, end, layout.len * scale);
            let (offset, gain) = match run.offset {
                Some(coarse) => {
                    let offset = refine_offset(raw, edited, probe, coarse * scale as i64);
                    (Some(offset), gain_of(raw, edited, probe, offset))
                }
                None => (None, 1.0),
            };
            Piece {
                start,
                end,
                offset,
                gain,
            }
        })
        .collect();

    // Place each join between neighbouring runs.
    let half_block = layout.len * scale / 2;
    let mut previous_join = 0usize;
    for i in 0..pieces.len().saturating_sub(1) {
        let (left, right) = (pieces[i], pieces[i + 1]);
        let left_mid = (left.start + left.end) / 2;
        let right_mid = (right.start + right.end) / 2;
        let last_left_block = layout.starts[runs[i].last] * scale;
        let first_right_block = (layout.starts[runs[i + 1].first] + layout.len) * scale;
        let lo = last_left_block
            .saturating_sub(half_block)
            .max(left_mid)
            .max(previous_join);
        let hi = (first_right_block + half_block)
            .min(right_mid)
            .min(edited.len())
            .max(lo);
        let join = change_point(raw, edited, lo, hi, &left, &right);
        pieces[i].end = join;
        pieces[i + 1].start = join;
        previous_join = join;
    }
    if let Some(first) = pieces.first_mut() {
        first.start = 0;
    }
    if let Some(last) = pieces.last_mut() {
        last.end = edited.len();
    }
    clip_to_raw(&mut pieces, raw.len());
    merge(pieces)
}

/// The stretch of a region used to refine its offset: the region minus a quarter block at each
/// end (which may belong to a neighbour), at most [`PROBE_MAX`] around its middle.
fn probe_of(start: usize, end: usize, block: usize) -> (usize, usize) {
    let (mut a, mut b) = (start, end);
    if b - a > block {
        a += block / 4;
        b -= block / 4;
    }
    if b - a > PROBE_MAX {
        let mid = (a + b) / 2;
        a = mid - PROBE_MAX / 2;
        b = a + PROBE_MAX;
    }
    (a, b)
}

/// The fine offset within [`REFINE_REACH`] of `guess` that best correlates the edit with the raw
/// over `probe`, by FFT cross-correlation normalised by the raw's energy under the probe.
fn refine_offset(raw: &[f32], edited: &[f32], probe: (usize, usize), guess: i64) -> i64 {
    let e = &edited[probe.0..probe.1];
    // The raw around the guess, padded with silence where it runs off either end.
    let from = probe.0 as i64 + guess - REFINE_REACH;
    let window: Vec<f32> = (0..e.len() as i64 + 2 * REFINE_REACH)
        .map(|i| sample(raw, from + i))
        .collect();
    let correlation = cross_correlate(e, &window);
    let prefix = energy_prefix(&window);
    let mut best = (guess, f64::NEG_INFINITY);
    for (lag, &c) in correlation.iter().enumerate() {
        let raw_energy = prefix[lag + e.len()] - prefix[lag];
        let score = f64::from(c) / raw_energy.max(f64::MIN_POSITIVE).sqrt();
        if score > best.1 {
            best = (from - probe.0 as i64 + lag as i64, score);
        }
    }
    best.0
}

/// `out[j] = sum_i a[i] * b[i + j]` for every `j` with `a` inside `b` (`b.len() - a.len() + 1`
/// values), by FFT.
fn cross_correlate(a: &[f32], b: &[f32]) -> Vec<f32> {
    if a.is_empty() || b.len() < a.len() {
        return Vec::new();
    }
    let n = b.len().next_power_of_two();
    let mut planner = RealFftPlanner::<f32>::new();
    let forward = planner.plan_fft_forward(n);
    let inverse = planner.plan_fft_inverse(n);
    let mut buffer = forward.make_input_vec();
    buffer[..a.len()].copy_from_slice(a);
    let mut spectrum_a = forward.make_output_vec();
    // Lengths come from the plans, so the transforms cannot fail.
    let _ = forward.process(&mut buffer, &mut spectrum_a);
    buffer.fill(0.0);
    buffer[..b.len()].copy_from_slice(b);
    let mut spectrum = forward.make_output_vec();
    let _ = forward.process(&mut buffer, &mut spectrum);
    for (x, y) in spectrum.iter_mut().zip(&spectrum_a) {
        *x *= y.conj();
    }
    if let Some(first) = spectrum.first_mut() {
        first.im = 0.0;
    }
    if let Some(last) = spectrum.last_mut() {
        last.im = 0.0;
    }
    let _ = inverse.process(&mut spectrum, &mut buffer);
    let scale = 1.0 / n as f32;
    buffer[..=b.len() - a.len()]
        .iter()
        .map(|v| v * scale)
        .collect()
}

/// Least-squares gain of the edit over the raw at `offset`, on `probe`.
fn gain_of(raw: &[f32], edited: &[f32], probe: (usize, usize), offset: i64) -> f64 {
    let (mut er, mut rr) = (0.0f64, 0.0f64);
    for (n, &e) in edited.iter().enumerate().take(probe.1).skip(probe.0) {
        let r = f64::from(sample(raw, n as i64 + offset));
        er += f64::from(e) * r;
        rr += r * r;
    }
    if rr > f64::MIN_POSITIVE && er > 0.0 {
        er / rr
    } else {
        1.0
    }
}

/// `signal[i]`, or silence outside it.
fn sample(signal: &[f32], i: i64) -> f32 {
    usize::try_from(i)
        .ok()
        .and_then(|i| signal.get(i))
        .copied()
        .unwrap_or(0.0)
}

/// Squared residual of `piece`'s model at edited sample `n`.
fn residual(raw: &[f32], edited: &[f32], piece: &Piece, n: usize) -> f64 {
    let e = f64::from(edited[n]);
    match piece.offset {
        Some(o) => {
            let d = e - piece.gain * f64::from(sample(raw, n as i64 + o));
            d * d
        }
        None => NONE_COST * e * e,
    }
}

/// The `t` in `[lo, hi]` minimising the left residual on `[lo, t)` plus the right on `[t, hi)`.
fn change_point(
    raw: &[f32],
    edited: &[f32],
    lo: usize,
    hi: usize,
    left: &Piece,
    right: &Piece,
) -> usize {
    // Cost(t) - Cost(lo) is a running sum of (left - right) residuals; its minimum is the join.
    let mut running = 0.0f64;
    let mut best = (lo, 0.0f64);
    for n in lo..hi {
        let e = f64::from(edited[n]);
        running +=
            residual(raw, edited, left, n) - residual(raw, edited, right, n) + PREFER_RIGHT * e * e;
        if running < best.1 {
            best = (n + 1, running);
        }
    }
    best.0
}

/// Shrinks matched pieces to the edited samples whose raw counterpart exists; the rest of the
/// edit (e.g. padding an encoder added) becomes unmatched.
fn clip_to_raw(pieces: &mut Vec<Piece>, raw_len: usize) {
    let mut out = Vec::with_capacity(pieces.len());
    for piece in pieces.drain(..) {
        let Some(o) = piece.offset else {
            out.push(piece);
            continue;
        };
        let first_valid = usize::try_from(-o).unwrap_or(0);
        let end_valid = usize::try_from(raw_len as i64 - o).unwrap_or(0);
        let (start, end) = (piece.start.max(first_valid), piece.end.min(end_valid));
        if start >= end {
            out.push(Piece {
                offset: None,
                ..piece
            });
            continue;
        }
        let unmatched = |s: usize, e: usize| Piece {
            start: s,
            end: e,
            offset: None,
            gain: 1.0,
        };
        if start > piece.start {
            out.push(unmatched(piece.start, start));
        }
        out.push(Piece {
            start,
            end,
            ..piece
        });
        if end < piece.end {
            out.push(unmatched(end, piece.end));
        }
    }
    *pieces = out;
}

/// Drops empty pieces and joins neighbours with the same offset (or both unmatched).
fn merge(pieces: Vec<Piece>) -> Vec<Piece> {
    let mut out: Vec<Piece> = Vec::with_capacity(pieces.len());
    for piece in pieces.into_iter().filter(|p| p.end > p.start) {
        if let Some(last) = out.last_mut() {
            let same = match (last.offset, piece.offset) {
                (Some(a), Some(b)) => (a - b).abs() <= SAME_OFFSET,
                (None, None) => true,
                _ => false,
            };
            if same {
                last.end = piece.end;
                continue;
            }
        }
        out.push(piece);
    }
    out
}
