//! The recording median the pair classifier's descriptors are measured against, joined with a
//! prior (see [`super::PRIOR_WEIGHT`]): exact over a whole recording offline, and over a
//! bounded, evenly thinned sample of what a stream has heard so far.

use super::descriptors::MedianPrior;

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

    /// Joins `prior` (one value per column) with the rows, as its share of them; the median
    /// is the prior's values before any row arrives.
    pub fn with_prior(mut self, prior: MedianPrior) -> Self {
        if prior.fits(self.dim) {
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
            // The prior's share is one of the evenly thinned sample too; its minimum counts
            // whole segments, each sampled row `stride` of them.
            let prior_rows = self
                .prior
                .as_ref()
                .map_or(0, |p| p.copies_in_sample(rows, self.stride));
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
pub(super) fn middle_with_copies(
    values: &mut [f32],
    value: f32,
    copies: usize,
    rank: usize,
) -> f32 {
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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn a_prior_is_clamped_into_the_central_band_whatever_the_length() {
        let prior = |value: f32| MedianPrior {
            values: vec![value],
            share: 0.5,
            min_copies: 0,
        };
        let median_of = |value: f32, copies_of_ramp: usize| {
            let mut m = RunningMedian::new(1, 512).with_prior(prior(value));
            assert_eq!(m.median(), &[value], "before any row");
            for _ in 0..copies_of_ramp {
                (0..100).for_each(|v| m.push(&[v as f32]));
            }
            let median = m.median()[0];
            m.clear();
            assert_eq!(m.median(), &[value], "after clearing");
            median
        };
        // Half a share: the prior, clamped into the quartiles of 0..100.
        for ramps in [1, 4] {
            assert_eq!(median_of(60.0, ramps), 60.0, "{ramps} ramps");
            assert_eq!(median_of(10.0, ramps), 25.0, "{ramps} ramps");
            assert_eq!(median_of(95.0, ramps), 75.0, "{ramps} ramps");
        }
    }
}
