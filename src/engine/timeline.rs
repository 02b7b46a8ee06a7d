//! Time-domain vocabulary shared by every engine stage: ranges of source time and scored segments.

use serde::{Deserialize, Serialize};

/// A half-open span of source time `[start, end)`, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TimeRange {
    /// Start, in seconds of the source.
    pub start: f64,
    /// End (exclusive), in seconds of the source.
    pub end: f64,
}

impl TimeRange {
    /// A range from `start` to `end` seconds.
    pub fn new(start: f64, end: f64) -> Self {
        Self { start, end }
    }

    /// Length in seconds (never negative).
    pub fn duration(&self) -> f64 {
        (self.end - self.start).max(0.0)
    }

    /// Whether `t` lies inside the range.
    pub fn contains(&self, t: f64) -> bool {
        t >= self.start && t < self.end
    }
}

/// The summed length of `ranges` in seconds: 0.0 (not Rust's empty-sum -0.0, which prints as
/// "-0.0 s") when there are none.
pub fn total_duration(ranges: &[TimeRange]) -> f64 {
    ranges.iter().fold(0.0, |sum, r| sum + r.duration())
}

/// Seconds that two lists of ascending, non-overlapping ranges have in common.
pub fn overlap_seconds(a: &[TimeRange], b: &[TimeRange]) -> f64 {
    let (mut i, mut j, mut sum) = (0, 0, 0.0);
    while i < a.len() && j < b.len() {
        sum += (a[i].end.min(b[j].end) - a[i].start.max(b[j].start)).max(0.0);
        if a[i].end < b[j].end {
            i += 1;
        } else {
            j += 1;
        }
    }
    sum
}

/// One analysed segment of source audio and how bad it sounds (higher = worse).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Segment {
    /// Start, in seconds of the source.
    pub start: f64,
    /// End (exclusive), in seconds of the source.
    pub end: f64,
    /// Badness score; its scale depends on the model (reconstruction error for the autoencoder).
    pub score: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_kept_totals_positive_zero() {
        let total = total_duration(&[]);
        assert!(total == 0.0 && total.is_sign_positive());
        assert_eq!(format!("{:.1}", 100.0 * total / 5.0), "0.0");
        let ranges = [TimeRange::new(1.0, 2.5), TimeRange::new(3.0, 2.0)];
        assert_eq!(total_duration(&ranges), 1.5);
    }

    #[test]
    fn overlap_sums_the_common_parts_of_two_range_lists() {
        let a = [TimeRange::new(0.0, 2.0), TimeRange::new(3.0, 6.0)];
        let b = [TimeRange::new(1.0, 4.0), TimeRange::new(5.0, 9.0)];
        assert_eq!(overlap_seconds(&a, &b), 1.0 + 1.0 + 1.0);
        assert_eq!(overlap_seconds(&a, &[]), 0.0);
    }
}
