//! From block searches to runs: which raw offset each block of the edit most plausibly comes
//! from, chosen jointly over the whole edit so that a span stays one span.
//!
//! Every block gets a few candidate offsets (its own search, its neighbours' best offsets) with
//! their correlation, plus "no match". A Viterbi pass then picks one per block, maximising total
//! correlation minus a penalty per change of offset: an editor makes few joins, so a span keeps
//! its offset through quiet or ambiguous blocks (a repeated loop, a held chord), and switches
//! only when the new offset explains the following blocks clearly better.

use super::retakes::{credit_later_takes, score_near};
use super::search::{parallel_map, Candidate, RawIndex};
use super::signal::energy;

/// Length of a search block, in coarse samples (1 s): long enough to identify a passage, short
/// enough that the shortest kept spans (about a second) still fill most of a block.
const BLOCK: usize = 4_000;
/// Shortest block worth searching with (50 ms): anything shorter is not identifiable.
pub(super) const MIN_BLOCK: usize = 200;
/// Candidates kept from a block's own search.
const OWN_CANDIDATES: usize = 4;
/// Candidates borrowed from each nearby searched block.
const BORROWED_CANDIDATES: usize = 3;
/// How many blocks either side lend their candidates.
const REACH: usize = 4;
/// Score of "this block matches nothing": a candidate must beat it to be worth a span.
const NONE_SCORE: f32 = 0.2;
/// Cost of changing offset between blocks, in units of correlation.
const SWITCH_PENALTY: f32 = 0.6;
/// Cost of a change that jumps back in the raw (a reorder or a repeat). Editors mostly keep
/// the order of a take, and music repeats itself (a chorus, a sampled loop) often enough that a
/// passage also matches some earlier place nearly as well: jumping back needs strong evidence.
const BACKWARD_PENALTY: f32 = 3.0;
/// Cost of entering or leaving "no match": half a backward jump, so that a detour through it
/// is never a cheap way around [`BACKWARD_PENALTY`].
const NONE_PENALTY: f32 = BACKWARD_PENALTY / 2.0;
/// A run is a match only if its best block correlates at least this well.
pub(super) const ACCEPT: f32 = 0.5;
/// Blocks quieter than this fraction of the edit's mean block energy (-50 dB) carry no evidence.
const SILENT_FRACTION: f64 = 1e-5;
/// Offsets within this many coarse samples (12 ms) are the same offset. Sustained notes make
/// correlation peaks at multiples of their period nearly as high as the true one, so one span's
/// blocks may peak a few milliseconds apart; the fine stage finds the exact offset.
pub(super) const SAME_OFFSET: i64 = 48;
/// Candidates whose peaks lie this close (coarse samples) are one candidate.
const DUPLICATE: i64 = 2;

/// Where the search blocks of the edit lie (coarse samples).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Layout {
    /// Block length.
    pub len: usize,
    /// Start of each block, ascending; the last block ends at the end of the edit.
    pub starts: Vec<usize>,
}

impl Layout {
    /// Blocks of one second (or the whole of a shorter clip) every quarter block.
    pub fn new(edited_len: usize, raw_len: usize) -> Self {
        let len = BLOCK.min(edited_len).min(raw_len).max(1);
        let hop = (len / 4).max(1);
        let mut starts: Vec<usize> = (0..)
            .map(|b| b * hop)
            .take_while(|s| s + len <= edited_len)
            .collect();
        if let Some(&last) = starts.last() {
            if last + len < edited_len {
                starts.push(edited_len - len);
            }
        }
        Self { len, starts }
    }
}

/// Consecutive blocks assigned the same offset (or no match).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Run {
    /// First block.
    pub first: usize,
    /// Last block (inclusive).
    pub last: usize,
    /// Raw position minus edited position, coarse samples; `None` when nothing matched.
    pub offset: Option<i64>,
    /// Best block correlation at that offset.
    pub best: f32,
}

/// Searches the blocks of `edited` in `raw` (both coarse, band-passed) and returns the runs, in
/// edit order, covering every block.
pub(super) fn find_runs(raw: &[f32], edited: &[f32], layout: &Layout) -> Vec<Run> {
    let index = RawIndex::new(raw, layout.len);
    let blocks: Vec<&[f32]> = layout
        .starts
        .iter()
        .map(|&s| &edited[s..s + layout.len])
        .collect();
    let energies: Vec<f64> = blocks.iter().map(|b| energy(b)).collect();
    let mean_energy = energies.iter().sum::<f64>() / energies.len().max(1) as f64;
    let silent: Vec<bool> = energies
        .iter()
        .map(|&e| e <= mean_energy * SILENT_FRACTION || e <= f64::MIN_POSITIVE)
        .collect();
    let n = blocks.len();
    // Every other block is searched in full; the rest borrow their neighbours' offsets, which
    // halves the cost and still finds every span of more than about half a second.
    let is_anchor = |b: usize| b % 2 == 0 || b + 1 == n;
    let searched: Vec<Vec<Candidate>> = parallel_map(
        n,
        || index.scratch(),
        |b, scratch| {
            if is_anchor(b) && !silent[b] {
                index.search(blocks[b], OWN_CANDIDATES, scratch)
            } else {
                Vec::new()
            }
        },
    );
    let offsets_of = |b: usize, count: usize| {
        searched[b]
            .iter()
            .take(count)
            .map(move |c| c.position - layout.starts[b] as i64)
    };
    let mut scored: Vec<Vec<(i64, f32)>> = parallel_map(
        n,
        || index.scratch(),
        |b, scratch| {
            if silent[b] {
                return Vec::new();
            }
            let mut offsets: Vec<i64> = offsets_of(b, OWN_CANDIDATES).collect();
            for near in b.saturating_sub(REACH)..(b + REACH + 1).min(n) {
                offsets.extend(offsets_of(near, BORROWED_CANDIDATES));
            }
            let mut scored = score_offsets(&index, raw, blocks[b], layout.starts[b], &offsets);
            let best = scored.iter().map(|c| c.1).fold(f32::MIN, f32::max);
            if best < ACCEPT && !is_anchor(b) {
                // The neighbours' offsets do not explain this block: search it in full.
                let own: Vec<i64> = index
                    .search(blocks[b], OWN_CANDIDATES, scratch)
                    .iter()
                    .map(|c| c.position - layout.starts[b] as i64)
                    .collect();
                offsets.extend(own);
                scored = score_offsets(&index, raw, blocks[b], layout.starts[b], &offsets);
            }
            scored
        },
    );
    lend_to_silent_blocks(&mut scored, &silent);
    let mut path = best_path(&scored, &silent);
    credit_later_takes(&mut path, &scored, &silent);
    tidy(runs_of(&path, &scored))
}

/// Scores each distinct offset for the block starting at `start` by the height of its nearest
/// correlation peak.
fn score_offsets(
    index: &RawIndex,
    raw: &[f32],
    block: &[f32],
    start: usize,
    offsets: &[i64],
) -> Vec<(i64, f32)> {
    let mut distinct: Vec<i64> = offsets.to_vec();
    distinct.sort_unstable();
    distinct.dedup();
    let mut scored: Vec<(i64, f32)> = distinct
        .into_iter()
        .map(|o| {
            let peak = index.peak_near(raw, block, o + start as i64);
            (peak.position - start as i64, peak.score)
        })
        .collect();
    scored.sort_by_key(|c| c.0);
    scored.dedup_by(|next, kept| {
        let duplicate = (next.0 - kept.0).abs() <= DUPLICATE;
        if duplicate && next.1 > kept.1 {
            *kept = *next;
        }
        duplicate
    });
    scored
}

/// Silent blocks carry no evidence, so they take the offsets of the nearest sounding blocks on
/// both sides: a pause inside a kept span then stays inside it, however long it is.
fn lend_to_silent_blocks(scored: &mut [Vec<(i64, f32)>], silent: &[bool]) {
    let n = scored.len();
    let mut previous: Option<usize> = None;
    let mut lent: Vec<Vec<(i64, f32)>> = vec![Vec::new(); n];
    for b in 0..n {
        if !silent[b] {
            previous = Some(b);
            continue;
        }
        let next = (b + 1..n).find(|&k| !silent[k]);
        for source in previous.into_iter().chain(next) {
            lent[b].extend(scored[source].iter().map(|&(o, _)| (o, 0.0)));
        }
    }
    for (s, l) in scored.iter_mut().zip(lent) {
        if !l.is_empty() {
            *s = l;
        }
    }
}

/// The Viterbi path: per block, the chosen offset (or `None`).
fn best_path(scored: &[Vec<(i64, f32)>], silent: &[bool]) -> Vec<Option<i64>> {
    let states: Vec<Vec<Option<i64>>> = scored
        .iter()
        .map(|c| {
            c.iter()
                .map(|&(o, _)| Some(o))
                .chain(std::iter::once(None))
                .collect()
        })
        .collect();
    let gain = |b: usize, s: usize| -> f32 {
        match scored[b].get(s) {
            _ if silent[b] => 0.0,
            Some(&(_, score)) => score,
            None => NONE_SCORE,
        }
    };
    let cost = |a: Option<i64>, b: Option<i64>| -> f32 {
        match (a, b) {
            (Some(x), Some(y)) if (x - y).abs() <= SAME_OFFSET => 0.0,
            (Some(x), Some(y)) if y < x => BACKWARD_PENALTY,
            (Some(_), Some(_)) => SWITCH_PENALTY,
            (None, None) => 0.0,
            _ => NONE_PENALTY,
        }
    };
    let n = states.len();
    if n == 0 {
        return Vec::new();
    }
    let mut value: Vec<f32> = (0..states[0].len()).map(|s| gain(0, s)).collect();
    let mut back: Vec<Vec<usize>> = vec![Vec::new(); n];
    for b in 1..n {
        let mut next = Vec::with_capacity(states[b].len());
        for (s, &state) in states[b].iter().enumerate() {
            let (from, best) = states[b - 1]
                .iter()
                .enumerate()
                .map(|(p, &prev)| (p, value[p] - cost(prev, state)))
                .fold(
                    (0, f32::NEG_INFINITY),
                    |acc, x| if x.1 > acc.1 { x } else { acc },
                );
            back[b].push(from);
            next.push(best + gain(b, s));
        }
        value = next;
    }
    let mut s = (0..value.len())
        .max_by(|&a, &b| value[a].total_cmp(&value[b]))
        .unwrap_or(0);
    let mut path = vec![None; n];
    for b in (0..n).rev() {
        path[b] = states[b].get(s).copied().flatten();
        if b > 0 {
            s = back[b].get(s).copied().unwrap_or(0);
        }
    }
    path
}

/// Groups the path into runs; a run's offset is that of its best-correlating block.
fn runs_of(path: &[Option<i64>], scored: &[Vec<(i64, f32)>]) -> Vec<Run> {
    // Blocks given to a later take may hold its offset only to within the tolerance.
    let score_of = |b: usize, o: i64| score_near(&scored[b], o).max(0.0);
    let mut runs: Vec<Run> = Vec::new();
    for (b, &state) in path.iter().enumerate() {
        let score = state.map_or(0.0, |o| score_of(b, o));
        match runs.last_mut() {
            Some(run) if same(run.offset, state) => {
                run.last = b;
                if score > run.best {
                    run.best = score;
                    run.offset = state;
                }
            }
            _ => runs.push(Run {
                first: b,
                last: b,
                offset: state,
                best: score,
            }),
        }
    }
    runs
}

fn same(a: Option<i64>, b: Option<i64>) -> bool {
    match (a, b) {
        (Some(x), Some(y)) => (x - y).abs() <= SAME_OFFSET,
        (None, None) => true,
        _ => false,
    }
}

/// Demotes weak runs to "no match", then merges neighbours that are one run: adjacent runs with
/// the same status, and two runs with the same offset around a stretch that matched nothing
/// (an editor removes material; replacing a passage by foreign audio of exactly the same length
/// is not an edit this tool expects).
fn tidy(runs: Vec<Run>) -> Vec<Run> {
    let mut out: Vec<Run> = Vec::with_capacity(runs.len());
    for mut run in runs {
        if run.best < ACCEPT {
            run.offset = None;
        }
        if let Some(last) = out.last_mut() {
            if same(last.offset, run.offset) {
                absorb(last, &run);
                continue;
            }
        }
        let bridged = out.len() >= 2
            && out[out.len() - 1].offset.is_none()
            && run.offset.is_some()
            && same(out[out.len() - 2].offset, run.offset);
        if bridged {
            out.pop();
            if let Some(last) = out.last_mut() {
                absorb(last, &run);
            }
            continue;
        }
        out.push(run);
    }
    out
}

fn absorb(into: &mut Run, run: &Run) {
    into.last = run.last;
    if run.best > into.best {
        into.best = run.best;
        into.offset = run.offset;
    }
}
