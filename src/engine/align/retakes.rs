//! False starts: giving the end of a span to the later take that repeats it.

use super::path::{ACCEPT, SAME_OFFSET};

/// Blocks at the end of a span that may overlap the join after it (a block's length in hops).
const BLOCKS_PER_JOIN: usize = 4;
/// Candidates within this much correlation of each other explain a block equally well.
const TIE_MARGIN: f32 = 0.03;
/// A later take lies at least this far (coarse samples, 0.5 s) after the span's own
/// continuation: nearer offsets are the same passage one period of a sustained note away, and
/// no false start is that short.
const MIN_TAKE_SHIFT: i64 = 2_000;

/// Moves the tail of a span to a later take where both explain it equally.
///
/// A false start copies the opening of the take that follows it, and sits right after the
/// previous kept span in the raw. The path that simply continues that span through the false
/// start explains the edit as well as the one that jumps to the real take, with one join fewer,
/// so the Viterbi pass prefers it. Editors cut false starts, so where the last blocks before a
/// forward join are explained at least as well by an offset between the two spans' (a later
/// take, up to and including the next span itself), those blocks are given to it. Of several
/// such takes, the one that explains the longest tail wins, and the rest of the tail is then
/// searched again.
pub(super) fn credit_later_takes(
    path: &mut [Option<i64>],
    scored: &[Vec<(i64, f32)>],
    silent: &[bool],
) {
    // Backwards, so that a tail given to one take is then searched for an earlier one: a false
    // start may copy the whole of a short take and the opening of the one after it.
    for b in (0..path.len().saturating_sub(1)).rev() {
        let (Some(here), Some(next)) = (path[b], path[b + 1]) else {
            continue;
        };
        if next - here < MIN_TAKE_SHIFT {
            continue;
        }
        // `b` is the last block of a span followed by a forward join.
        let in_span = |k: usize| path[k] == Some(here) && !silent[k];
        let tied = |k: usize, take: i64| {
            let own = score_near(&scored[k], here);
            let other = score_near(&scored[k], take);
            other >= ACCEPT && other >= own - TIE_MARGIN
        };
        // The span's last few blocks overlap the join and match neither side fully, so a take
        // may first tie a few blocks before `b`.
        let tail: Vec<usize> = (0..=BLOCKS_PER_JOIN)
            .map_while(|d| b.checked_sub(d))
            .take_while(|&k| in_span(k))
            .collect();
        let mut takes: Vec<i64> = tail
            .iter()
            .flat_map(|&k| scored[k].iter().map(|c| c.0))
            .filter(|&o| o - here >= MIN_TAKE_SHIFT && o <= next + SAME_OFFSET)
            .collect();
        takes.sort_unstable();
        takes.dedup();
        let mut best: Option<(usize, i64)> = None;
        for take in takes {
            let Some(&start) = tail.iter().find(|&&k| tied(k, take)) else {
                continue;
            };
            let mut first = start;
            while first > 0 && in_span(first - 1) && tied(first - 1, take) {
                first -= 1;
            }
            if best.is_none_or(|(f, _)| first < f) {
                best = Some((first, take));
            }
        }
        // Keep at least one block of the span itself.
        if let Some((first, take)) = best.filter(|&(f, _)| f > 0 && path[f - 1] == Some(here)) {
            for p in &mut path[first..=b] {
                *p = Some(take);
            }
        }
    }
}

/// A block's best score at an offset within [`SAME_OFFSET`] of `offset` (minus infinity if none).
pub(super) fn score_near(candidates: &[(i64, f32)], offset: i64) -> f32 {
    candidates
        .iter()
        .filter(|c| (c.0 - offset).abs() <= SAME_OFFSET)
        .map(|c| c.1)
        .fold(f32::NEG_INFINITY, f32::max)
}
