//! The pair classifier's context ([`crate::engine::pairs::with_context`]) computed as segment
//! descriptors arrive one at a time.
//!
//! Offline, each segment is compared with the median of the whole recording and averaged over
//! a short and a long window on both sides. A stream has no whole recording: a segment's row
//! is emitted once its long window's last segment has arrived, and the median is that of every
//! segment seen so far (a bounded, evenly thinned sample of them once the stream is long),
//! steadied by the same prior the offline path uses ([`crate::engine::pairs::MedianPrior`]).
//! The windows are exactly the offline ones, so the rows differ from the offline rows only
//! through the median, and only while the stream is shorter than the recording.

use std::collections::VecDeque;

use crate::engine::pairs::descriptors::{push_contextual_row, MedianPrior};

/// Rows sampled for the median before the sample is thinned: half an hour of segments at the
/// default classifier step (93 ms) kept one by one, about 3 MB at the default width.
pub const MEDIAN_CAPACITY: usize = 8192;

/// While the sample holds no more rows than this, the median is recomputed for every row, so
/// short streams match the offline median exactly; beyond it, whenever a sixteenth is new.
const EXACT_BELOW: usize = 256;

/// Per-column median of the rows seen so far, over a bounded sample that stays spread evenly
/// over the whole stream: when full, every other sampled row is dropped and the sampling step
/// doubles.
#[derive(Debug, Clone)]
pub struct RunningMedian {
    dim: usize,
    capacity: usize,
    sample: Vec<f32>,
    stride: usize,
    seen: usize,
    stale: usize,
    median: Vec<f32>,
    column: Vec<f32>,
    /// Per-column prior median and how many rows it counts for.
    prior: Option<MedianPrior>,
}

impl RunningMedian {
    /// An empty median of rows of `dim` values, sampling at most `capacity` rows (at least 2).
    pub fn new(dim: usize, capacity: usize) -> Self {
        let capacity = capacity.max(2);
        Self {
            dim,
            capacity,
            sample: Vec::with_capacity(capacity * dim),
            stride: 1,
            seen: 0,
            stale: 0,
            median: vec![0.0; dim],
            column: Vec::with_capacity(capacity),
            prior: None,
        }
    }

    /// Counts `prior` (one value per column) as its number of rows, before any row arrives.
    pub fn with_prior(mut self, prior: MedianPrior) -> Self {
        if prior.values.len() == self.dim && prior.rows > 0 {
            self.median.clone_from(&prior.values);
            self.prior = Some(prior);
        }
        self
    }

    /// Forgets every row; the prior stays.
    pub fn clear(&mut self) {
        self.sample.clear();
        self.stride = 1;
        self.seen = 0;
        self.stale = 0;
        match &self.prior {
            Some(prior) => self.median.clone_from(&prior.values),
            None => self.median.fill(0.0),
        }
    }

    /// Rows in the sample.
    pub fn sampled(&self) -> usize {
        self.sample.len() / self.dim.max(1)
    }

    /// Adds a row.
    pub fn push(&mut self, row: &[f32]) {
        if self.seen % self.stride == 0 {
            if self.sampled() == self.capacity {
                self.halve();
            }
            if self.seen % self.stride == 0 {
                self.sample.extend_from_slice(row);
                self.stale += 1;
            }
        }
        self.seen += 1;
    }

    /// Keeps every other sampled row: those at multiples of the doubled stride.
    fn halve(&mut self) {
        let d = self.dim;
        let rows = self.sampled();
        for (to, from) in (0..rows).step_by(2).enumerate() {
            self.sample.copy_within(from * d..(from + 1) * d, to * d);
        }
        self.sample.truncate(rows.div_ceil(2) * d);
        self.stride *= 2;
    }

    /// The per-column median (the middle element of the sorted column, as offline).
    pub fn median(&mut self) -> &[f32] {
        let rows = self.sampled();
        if self.stale > 0 && (rows <= EXACT_BELOW || self.stale * 16 >= rows) {
            // Sampled rows stand for `stride` rows each; so do the prior's.
            let prior_rows = self
                .prior
                .as_ref()
                .map_or(0, |p| p.rows.div_ceil(self.stride));
            let mid = (rows + prior_rows) / 2;
            for c in 0..self.dim {
                self.column.clear();
                self.column
                    .extend(self.sample.iter().skip(c).step_by(self.dim).copied());
                self.median[c] = match &self.prior {
                    None => *self.column.select_nth_unstable_by(mid, f32::total_cmp).1,
                    Some(prior) => {
                        middle_with_copies(&mut self.column, prior.values[c], prior_rows, mid)
                    }
                };
            }
            self.stale = 0;
        }
        &self.median
    }
}

/// The element of rank `rank` of `values` joined with `copies` copies of `value`.
fn middle_with_copies(values: &mut [f32], value: f32, copies: usize, rank: usize) -> f32 {
    let below = values
        .iter()
        .filter(|v| v.total_cmp(&value).is_lt())
        .count();
    if rank < below {
        *values.select_nth_unstable_by(rank, f32::total_cmp).1
    } else if rank < below + copies {
        value
    } else {
        *values
            .select_nth_unstable_by(rank - copies, f32::total_cmp)
            .1
    }
}

/// Turns local descriptor rows into the classifier's contextual rows as the stream advances.
#[derive(Debug, Clone)]
pub struct StreamingContext {
    dim: usize,
    short: usize,
    long: usize,
    /// Rows still inside some pending row's long window; `window[0]` is row `window_start`.
    window: VecDeque<Vec<f32>>,
    window_start: usize,
    pushed: usize,
    next_out: usize,
    median: RunningMedian,
    short_mean: Vec<f32>,
    long_mean: Vec<f32>,
}

impl StreamingContext {
    /// Context of rows of `dim` values with window radii `short` and `long` (in rows).
    pub fn new(dim: usize, short: usize, long: usize) -> Self {
        Self::with_median(dim, short, long, RunningMedian::new(dim, MEDIAN_CAPACITY))
    }

    /// The same, with the median starting from a prior (see [`RunningMedian::with_prior`]).
    pub fn with_prior(dim: usize, short: usize, long: usize, prior: MedianPrior) -> Self {
        let median = RunningMedian::new(dim, MEDIAN_CAPACITY).with_prior(prior);
        Self::with_median(dim, short, long, median)
    }

    fn with_median(dim: usize, short: usize, long: usize, median: RunningMedian) -> Self {
        Self {
            dim,
            short,
            long: long.max(short),
            window: VecDeque::new(),
            window_start: 0,
            pushed: 0,
            next_out: 0,
            median,
            short_mean: vec![0.0; dim],
            long_mean: vec![0.0; dim],
        }
    }

    /// Forgets every row.
    pub fn reset(&mut self) {
        let mut median = self.median.clone();
        median.clear();
        *self = Self::with_median(self.dim, self.short, self.long, median);
    }

    /// Rows a row waits for before its context is complete.
    pub fn delay_rows(&self) -> usize {
        self.long
    }

    /// Index of the next row to be emitted.
    pub fn next_index(&self) -> usize {
        self.next_out
    }

    /// Adds the next local row and appends every contextual row it completes to `out`;
    /// returns how many were appended (they continue from [`Self::next_index`] before the call).
    pub fn push(&mut self, row: &[f32], out: &mut Vec<f32>) -> usize {
        self.median.push(row);
        self.window.push_back(row.to_vec());
        self.pushed += 1;
        let mut emitted = 0;
        while self.next_out + self.long < self.pushed {
            self.emit(out);
            emitted += 1;
        }
        emitted
    }

    /// The stream ended: emits every row still waiting, with windows clipped at the end as
    /// offline; returns how many.
    pub fn finish(&mut self, out: &mut Vec<f32>) -> usize {
        let mut emitted = 0;
        while self.next_out < self.pushed {
            self.emit(out);
            emitted += 1;
        }
        emitted
    }

    fn emit(&mut self, out: &mut Vec<f32>) {
        let i = self.next_out;
        mean_rows(
            &self.window,
            self.window_start,
            i.saturating_sub(self.short)..(i + self.short + 1).min(self.pushed),
            &mut self.short_mean,
        );
        mean_rows(
            &self.window,
            self.window_start,
            i.saturating_sub(self.long)..(i + self.long + 1).min(self.pushed),
            &mut self.long_mean,
        );
        let median = self.median.median();
        push_contextual_row(
            out,
            &self.window[i - self.window_start],
            median,
            &self.short_mean,
            &self.long_mean,
        );
        self.next_out += 1;
        // The next row's long window starts here at the earliest.
        while self.window_start + self.long < self.next_out {
            self.window.pop_front();
            self.window_start += 1;
        }
    }
}

/// Column means of rows `range` (absolute indices) of a window starting at row `start`, summed
/// in f64 as the offline prefix sums are.
fn mean_rows(
    window: &VecDeque<Vec<f32>>,
    start: usize,
    range: std::ops::Range<usize>,
    out: &mut [f32],
) {
    let count = range.len().max(1) as f64;
    for (c, o) in out.iter_mut().enumerate() {
        let sum: f64 = range.clone().map(|r| f64::from(window[r - start][c])).sum();
        *o = (sum / count) as f32;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::pairs::{with_context, SegmentDescriptors};

    fn rows(n: usize, dim: usize) -> Vec<f32> {
        let mut seed = 99u32;
        (0..n * dim)
            .map(|_| {
                seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (seed >> 8) as f32 / (1u32 << 24) as f32
            })
            .collect()
    }

    #[test]
    fn finished_stream_equals_the_offline_context_for_its_last_rows() {
        let (n, dim, short, long) = (60, 3, 2, 7);
        let values = rows(n, dim);
        let offline = with_context(
            &SegmentDescriptors {
                starts: (0..n).collect(),
                values: values.clone(),
                dim,
            },
            short,
            long,
            None,
        );
        let mut ctx = StreamingContext::new(dim, short, long);
        let mut out = Vec::new();
        let mut emitted = 0;
        for (i, row) in values.chunks(dim).enumerate() {
            emitted += ctx.push(row, &mut out);
            // A row's context is complete `long` rows later, never sooner.
            assert_eq!(emitted, (i + 1).saturating_sub(long));
        }
        emitted += ctx.finish(&mut out);
        assert_eq!(emitted, n);
        // Rows emitted after the last row arrived saw the whole recording's median.
        let wide = 4 * dim;
        for i in n - 1 - long..n {
            let (a, b) = (&out[i * wide..(i + 1) * wide], offline.row(i));
            for (x, y) in a.iter().zip(b) {
                assert!((x - y).abs() < 1e-6, "row {i}: {a:?} vs {b:?}");
            }
        }
        // Earlier rows differ only in the median blocks: the windows are the offline ones.
        for i in 0..n - 1 - long {
            let (a, b) = (&out[i * wide..(i + 1) * wide], offline.row(i));
            for c in dim..3 * dim {
                assert!((a[c] - b[c]).abs() < 1e-6, "row {i} column {c}");
            }
        }
    }

    #[test]
    fn median_is_exact_while_small_and_stays_bounded_and_central_when_long() {
        let mut m = RunningMedian::new(1, 64);
        for v in [5.0, 1.0, 4.0, 2.0, 3.0] {
            m.push(&[v]);
        }
        assert_eq!(m.median(), &[3.0]);
        // A ramp of 10 000 values: the thinned sample spans all of it, so its median is central.
        let mut m = RunningMedian::new(1, 64);
        for v in 0..10_000 {
            m.push(&[v as f32]);
        }
        assert!(m.sampled() <= 64);
        let median = m.median()[0];
        assert!((4_000.0..6_000.0).contains(&median), "{median}");
    }

    #[test]
    fn a_prior_holds_the_median_until_enough_rows_outweigh_it() {
        let mut m = RunningMedian::new(1, 64).with_prior(MedianPrior {
            values: vec![10.0],
            rows: 20,
        });
        assert_eq!(m.median(), &[10.0]);
        for _ in 0..10 {
            m.push(&[0.0]);
        }
        // 10 zeros against 20 copies of the prior: still the prior.
        assert_eq!(m.median(), &[10.0]);
        for _ in 0..15 {
            m.push(&[0.0]);
        }
        assert_eq!(m.median(), &[0.0]);
        m.clear();
        assert_eq!(m.median(), &[10.0]);
        // Values on both sides of the prior: the rank lands among them.
        let mut m = RunningMedian::new(1, 64).with_prior(MedianPrior {
            values: vec![5.0],
            rows: 1,
        });
        for v in [1.0, 2.0, 3.0, 7.0, 8.0, 9.0, 10.0] {
            m.push(&[v]);
        }
        assert_eq!(m.median(), &[7.0]);
    }
}
