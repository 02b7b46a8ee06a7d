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
use crate::engine::pairs::RunningMedian;

/// Rows sampled for the median before the sample is thinned: half an hour of segments at the
/// default classifier step (93 ms) kept one by one, about 3 MB at the default width.
pub const MEDIAN_CAPACITY: usize = 8192;

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
}
