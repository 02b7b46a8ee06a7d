//! A bounded record of recent bin scores and decisions, for a timeline display: hours of audio
//! must not grow memory without bound, so the oldest bins fall off the end.

use std::collections::VecDeque;

/// One bin as a timeline shows it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HistoryBin {
    /// Start in stream seconds.
    pub start: f64,
    /// End in stream seconds.
    pub end: f64,
    /// Bin score (NaN when none could be computed).
    pub score: f64,
    /// Whether the bin was kept; `None` until the planner commits it.
    pub keep: Option<bool>,
}

/// The last `capacity` bins, oldest first.
#[derive(Debug, Clone)]
pub struct ScoreHistory {
    bins: VecDeque<HistoryBin>,
    capacity: usize,
    /// Index (from the stream start) of `bins[0]`.
    first_index: usize,
}

impl ScoreHistory {
    /// An empty history holding at most `capacity` bins (at least one).
    pub fn new(capacity: usize) -> Self {
        Self {
            bins: VecDeque::with_capacity(capacity.max(1)),
            capacity: capacity.max(1),
            first_index: 0,
        }
    }

    /// Forgets everything.
    pub fn clear(&mut self) {
        self.bins.clear();
        self.first_index = 0;
    }

    /// Records final bin `index`; bins must arrive in order.
    pub fn push(&mut self, index: usize, start: f64, end: f64, score: f64) {
        if self.bins.is_empty() {
            self.first_index = index;
        }
        if self.bins.len() == self.capacity {
            self.bins.pop_front();
            self.first_index += 1;
        }
        self.bins.push_back(HistoryBin {
            start,
            end,
            score,
            keep: None,
        });
    }

    /// Marks the bins overlapping `[start, end)` (stream seconds) by their larger part.
    pub fn mark(&mut self, start: f64, end: f64, keep: bool) {
        for bin in self.bins.iter_mut().rev() {
            if bin.end <= start {
                break;
            }
            let overlap = bin.end.min(end) - bin.start.max(start);
            if overlap * 2.0 >= bin.end - bin.start || bin.keep.is_none() && overlap > 0.0 {
                bin.keep = Some(keep);
            }
        }
    }

    /// The bins held, oldest first.
    pub fn bins(&self) -> impl ExactSizeIterator<Item = &HistoryBin> + '_ {
        self.bins.iter()
    }

    /// Number of bins held.
    pub fn len(&self) -> usize {
        self.bins.len()
    }

    /// Whether no bin is held.
    pub fn is_empty(&self) -> bool {
        self.bins.is_empty()
    }

    /// Index of the oldest bin held.
    pub fn first_index(&self) -> usize {
        self.first_index
    }

    /// Most bins ever held.
    pub fn capacity(&self) -> usize {
        self.capacity
    }
}
