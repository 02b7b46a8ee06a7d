//! What the keep/cut classifier sees of each segment.
//!
//! Each segment is described by the autoencoder's view of it (reconstruction error and latent
//! code) and by its spectral envelope and dynamics. Every descriptor is then put in context:
//! relative to the recording's own median (so a quiet session is not all "bad") and averaged
//! over a short and a long neighbourhood (so a pause inside a phrase differs from a pause
//! between takes). Nothing here names a kind of junk: the classifier learns what matters from
//! the user's own kept and cut spans.

use anyhow::Result;
use candle_core::{DType, Tensor};

use super::median::middle_with_copies;
use super::PriorWeight;
use crate::engine::features::LogMel;
use crate::engine::model::{normalised_segment_batch, Autoencoder};

const BATCH: usize = 64;

/// Descriptors of consecutive segments of one recording, row-major `[segments, dim]`.
#[derive(Debug, Clone)]
pub struct SegmentDescriptors {
    /// First frame of each segment.
    pub starts: Vec<usize>,
    /// Values, one row of `dim` per segment.
    pub values: Vec<f32>,
    /// Row length.
    pub dim: usize,
}

impl SegmentDescriptors {
    /// Row `i`.
    pub fn row(&self, i: usize) -> &[f32] {
        &self.values[i * self.dim..(i + 1) * self.dim]
    }

    /// Number of segments.
    pub fn len(&self) -> usize {
        self.starts.len()
    }

    /// Whether there are no segments.
    pub fn is_empty(&self) -> bool {
        self.starts.is_empty()
    }
}

/// Segment starts every `hop` frames, the last one aligned to the end.
pub fn segment_starts(frames: usize, segment: usize, hop: usize) -> Vec<usize> {
    let mut starts: Vec<usize> = (0..frames.saturating_sub(segment) + 1)
        .step_by(hop.max(1))
        .collect();
    let tail = frames.saturating_sub(segment);
    if starts.last() != Some(&tail) {
        starts.push(tail);
    }
    starts
}

/// Length of a local descriptor for a model: error, latent, band means and band spreads.
pub fn local_dim(model: &Autoencoder) -> usize {
    1 + model.config().latent_dim + 2 * model.config().features.n_mels
}

/// Local descriptors of every segment of an unnormalised spectrogram, calling
/// `report(done, total)` with the segments described so far after each batch (the
/// autoencoder's work, nearly all of scoring's). Each batch is normalised with the autoencoder's
/// feature statistics as it is gathered, so no normalised copy of a long recording is made.
pub fn local_descriptors_reporting(
    model: &Autoencoder,
    spec: &LogMel,
    hop: usize,
    report: &mut dyn FnMut(usize, usize),
) -> Result<SegmentDescriptors> {
    let starts = segment_starts(spec.frames(), model.config().segment_frames, hop);
    describe_segments(model, spec, starts, hop, report)
}

/// Local descriptors of the segments of `spec` starting at `starts` (ascending; each segment
/// `segment_frames` long, inside `spec`). Runs of starts `hop` apart share the encoder's work.
pub fn describe_segments(
    model: &Autoencoder,
    spec: &LogMel,
    starts: Vec<usize>,
    hop: usize,
    report: &mut dyn FnMut(usize, usize),
) -> Result<SegmentDescriptors> {
    let seg = model.config().segment_frames;
    let stats = &model.config().stats;
    let dim = local_dim(model);
    let mut values = Vec::with_capacity(starts.len() * dim);
    let mut done = 0;
    let shared = model.shares_overlapping(hop);
    for chunk in starts.chunks(BATCH) {
        for run in evenly_spaced_runs(chunk, hop) {
            let x = normalised_segment_batch(spec, stats, run, seg, DType::F32, model.device())?;
            let fits = run[run.len() - 1] + seg <= spec.frames();
            let z = if shared && fits {
                // One wide stretch through the encoder instead of each segment on its own.
                let width = run[run.len() - 1] - run[0] + seg;
                let wide = normalised_segment_batch(
                    spec,
                    stats,
                    &run[..1],
                    width,
                    DType::F32,
                    model.device(),
                )?;
                model.encode_overlapping(&wide, hop, run.len())?
            } else {
                model.encode(&x)?
            };
            local_rows_of_latents(model, &x, &z, &mut values)?;
        }
        done += chunk.len();
        report(done, starts.len());
    }
    Ok(SegmentDescriptors {
        starts,
        values,
        dim,
    })
}

/// Appends the local descriptor of every segment of a normalised batch `[b, 1, n_mels, frames]`
/// to `out`: the one definition the offline and the streaming paths share.
pub fn local_rows(model: &Autoencoder, x: &Tensor, out: &mut Vec<f32>) -> Result<()> {
    local_rows_of_latents(model, x, &model.encode(x)?, out)
}

/// [`local_rows`] of a batch whose latents `z` are already known.
fn local_rows_of_latents(
    model: &Autoencoder,
    x: &Tensor,
    z: &Tensor,
    out: &mut Vec<f32>,
) -> Result<()> {
    let seg = model.config().segment_frames;
    let n_mels = model.config().features.n_mels;
    let err = (model.decode(z)? - x)?
        .sqr()?
        .flatten_from(1)?
        .mean(1)?
        .to_vec1::<f32>()?;
    let z = z.to_vec2::<f32>()?;
    let bands = band_statistics(x, n_mels, seg)?;
    for ((e, z), (means, spreads)) in err.iter().zip(&z).zip(&bands) {
        out.push(*e);
        out.extend_from_slice(z);
        out.extend_from_slice(means);
        out.extend_from_slice(spreads);
    }
    Ok(())
}

/// `starts` split into runs in which each start is `hop` after the previous one.
fn evenly_spaced_runs(starts: &[usize], hop: usize) -> impl Iterator<Item = &[usize]> {
    starts.chunk_by(move |a, b| b.checked_sub(*a) == Some(hop))
}

/// Per-band mean and standard deviation over time of each segment in a batch.
fn band_statistics(x: &Tensor, n_mels: usize, seg: usize) -> Result<Vec<(Vec<f32>, Vec<f32>)>> {
    let b = x.dim(0)?;
    let data = x.flatten_all()?.to_vec1::<f32>()?;
    let mut out = Vec::with_capacity(b);
    for s in 0..b {
        let mut means = Vec::with_capacity(n_mels);
        let mut spreads = Vec::with_capacity(n_mels);
        for m in 0..n_mels {
            let row = &data[(s * n_mels + m) * seg..(s * n_mels + m + 1) * seg];
            let mean = row.iter().sum::<f32>() / seg as f32;
            let var = row.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / seg as f32;
            means.push(mean);
            spreads.push(var.sqrt());
        }
        out.push((means, spreads));
    }
    Ok(out)
}

/// A typical recording median and the share of a recording's segments it counts for when
/// joined with them (see [`with_context`]). Counted as a share, not as a fixed amount of
/// audio, the joined median is the prior clamped into the recording's central band of that
/// width (the quantiles `0.5 ± share / 2`), whatever the recording's length: a long run of
/// junk cannot outweigh it, and repeating a recording changes nothing.
#[derive(Debug, Clone, PartialEq)]
pub struct MedianPrior {
    /// One value per local descriptor column.
    pub values: Vec<f32>,
    /// Copies of the prior per recording segment, in `[0, 1]`.
    pub share: f64,
    /// Fewest copies, however short the recording (or however little of a stream was heard).
    pub min_copies: usize,
}

impl MedianPrior {
    /// A prior of `values` with `weight`, for segments every `hop_frames` frames of
    /// `frame_rate`.
    pub fn new(values: Vec<f32>, weight: PriorWeight, hop_frames: usize, frame_rate: f64) -> Self {
        let min_copies =
            (weight.min_seconds.max(0.0) * frame_rate / hop_frames.max(1) as f64).round();
        Self {
            values,
            share: weight.share,
            min_copies: min_copies as usize,
        }
    }

    /// Copies of the prior joined with `rows` recording segments.
    pub fn copies(&self, rows: usize) -> usize {
        self.copies_in_sample(rows, 1)
    }

    /// Copies of the prior joined with a sample of `rows` segments, each standing for `stride`
    /// segments of the recording.
    pub fn copies_in_sample(&self, rows: usize, stride: usize) -> usize {
        let share = (self.share.clamp(0.0, 1.0) * rows as f64).round() as usize;
        share.max(self.min_copies.div_ceil(stride.max(1)))
    }

    /// Whether it applies to rows of `dim` columns and counts for anything.
    pub fn fits(&self, dim: usize) -> bool {
        self.values.len() == dim && (self.share > 0.0 || self.min_copies > 0)
    }
}

/// Puts local descriptors in context: `[local - recording median, mean over ±short,
/// mean over ±long, recording median]`, four blocks of the local width. With a prior, the
/// "recording median" is that of the recording's segments joined with the prior's copies.
pub fn with_context(
    local: &SegmentDescriptors,
    short: usize,
    long: usize,
    prior: Option<&MedianPrior>,
) -> SegmentDescriptors {
    let mut rows = ContextRows::new(local, short, long, prior);
    rows.next_chunk(local.len())
        .unwrap_or_else(|| SegmentDescriptors {
            starts: Vec::new(),
            values: Vec::new(),
            dim: 4 * local.dim,
        })
}

/// The rows of [`with_context`] a chunk at a time, so that scoring a long recording holds its
/// local descriptors and one chunk of contextual rows (four times as wide), not all of them.
pub struct ContextRows<'a> {
    local: &'a SegmentDescriptors,
    median: Vec<f32>,
    short: WindowMeans,
    long: WindowMeans,
    next: usize,
    short_mean: Vec<f32>,
    long_mean: Vec<f32>,
}

impl<'a> ContextRows<'a> {
    /// Contextual rows of `local` with means over ±`short` and ±`long` rows.
    pub fn new(
        local: &'a SegmentDescriptors,
        short: usize,
        long: usize,
        prior: Option<&MedianPrior>,
    ) -> Self {
        Self {
            median: recording_median(local, prior),
            short: WindowMeans::new(short, local.dim),
            long: WindowMeans::new(long, local.dim),
            next: 0,
            short_mean: Vec::with_capacity(local.dim),
            long_mean: Vec::with_capacity(local.dim),
            local,
        }
    }

    /// The next (at most) `rows` contextual rows, or `None` when all have been given.
    pub fn next_chunk(&mut self, rows: usize) -> Option<SegmentDescriptors> {
        let (n, d) = (self.local.len(), self.local.dim);
        if self.next >= n {
            return None;
        }
        let range = self.next..(self.next + rows.max(1)).min(n);
        let mut values = Vec::with_capacity(range.len() * d * 4);
        for i in range.clone() {
            self.short.mean_at(self.local, i, &mut self.short_mean);
            self.long.mean_at(self.local, i, &mut self.long_mean);
            push_contextual_row(
                &mut values,
                self.local.row(i),
                &self.median,
                &self.short_mean,
                &self.long_mean,
            );
        }
        self.next = range.end;
        Some(SegmentDescriptors {
            starts: self.local.starts[range].to_vec(),
            values,
            dim: d * 4,
        })
    }
}

/// Appends one contextual row, `[local - median, short mean, long mean, median]`: the layout
/// the offline and the streaming paths share.
pub fn push_contextual_row(
    out: &mut Vec<f32>,
    local: &[f32],
    median: &[f32],
    short_mean: &[f32],
    long_mean: &[f32],
) {
    out.extend(local.iter().zip(median).map(|(v, m)| v - m));
    out.extend_from_slice(short_mean);
    out.extend_from_slice(long_mean);
    out.extend_from_slice(median);
}

/// Per-column median of a recording's rows (the middle element of each sorted column).
pub fn column_medians(local: &SegmentDescriptors) -> Vec<f32> {
    recording_median(local, None)
}

/// The recording median of [`with_context`]: per column, the middle of the recording's rows
/// joined with `prior`'s copies (what a [`RunningMedian`](super::median::RunningMedian) holding
/// every row gives), one column at a time so the rows are never copied whole.
fn recording_median(local: &SegmentDescriptors, prior: Option<&MedianPrior>) -> Vec<f32> {
    let (n, d) = (local.len(), local.dim);
    let prior = prior.filter(|p| p.fits(d));
    if n == 0 {
        return prior.map_or_else(|| vec![0.0; d], |p| p.values.clone());
    }
    let copies = prior.map_or(0, |p| p.copies(n));
    let mid = (n + copies) / 2;
    let mut column = Vec::with_capacity(n);
    (0..d)
        .map(|c| {
            column.clear();
            column.extend(local.values.iter().skip(c).step_by(d).copied());
            match prior {
                None => *column.select_nth_unstable_by(mid, f32::total_cmp).1,
                Some(p) => middle_with_copies(&mut column, p.values[c], copies, mid),
            }
        })
        .collect()
}

/// Means of rows `i - radius ..= i + radius` (clipped to the recording) for ascending `i`, from
/// two running prefix sums: the sums a whole prefix table would hold, added in the same order,
/// in memory of two rows whatever the recording's length.
struct WindowMeans {
    radius: usize,
    low: RunningPrefix,
    high: RunningPrefix,
}

impl WindowMeans {
    fn new(radius: usize, dim: usize) -> Self {
        Self {
            radius,
            low: RunningPrefix::new(dim),
            high: RunningPrefix::new(dim),
        }
    }

    /// Writes the mean around row `i` (called with `i` ascending) into `out`.
    fn mean_at(&mut self, local: &SegmentDescriptors, i: usize, out: &mut Vec<f32>) {
        let lo = i.saturating_sub(self.radius);
        let hi = (i + self.radius + 1).min(local.len());
        self.low.advance_to(local, lo);
        self.high.advance_to(local, hi);
        let count = (hi - lo) as f64;
        out.clear();
        out.extend(
            self.high
                .sum
                .iter()
                .zip(&self.low.sum)
                .map(|(h, l)| ((h - l) / count) as f32),
        );
    }
}

/// The sum of rows `0..at`, per column, in f64.
struct RunningPrefix {
    at: usize,
    sum: Vec<f64>,
}

impl RunningPrefix {
    fn new(dim: usize) -> Self {
        Self {
            at: 0,
            sum: vec![0.0; dim],
        }
    }

    fn advance_to(&mut self, local: &SegmentDescriptors, row: usize) {
        while self.at < row {
            for (s, v) in self.sum.iter_mut().zip(local.row(self.at)) {
                *s += f64::from(*v);
            }
            self.at += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::median::RunningMedian;
    use super::*;

    fn descriptors(rows: &[[f32; 2]]) -> SegmentDescriptors {
        SegmentDescriptors {
            starts: (0..rows.len()).collect(),
            values: rows.iter().flatten().copied().collect(),
            dim: 2,
        }
    }

    #[test]
    fn starts_cover_the_tail() {
        assert_eq!(segment_starts(100, 64, 16), vec![0, 16, 32, 36]);
        assert_eq!(segment_starts(10, 64, 16), vec![0]);
        assert_eq!(segment_starts(80, 64, 16), vec![0, 16]);
    }

    #[test]
    fn context_blocks_are_relative_short_long_and_median() {
        let local = descriptors(&[[1.0, 0.0], [2.0, 0.0], [3.0, 0.0], [10.0, 0.0]]);
        let ctx = with_context(&local, 1, 10, None);
        assert_eq!(ctx.dim, 8);
        let row = ctx.row(1);
        // Median of [1,2,3,10] at index 2 of the sorted column is 3.
        assert_eq!(row[0], 2.0 - 3.0);
        assert_eq!(row[2], 2.0); // mean of rows 0..=2
        assert_eq!(row[4], 4.0); // mean of all rows
        assert_eq!(row[6], 3.0);
    }

    #[test]
    fn a_prior_counts_for_its_share_or_its_minimum_whichever_is_more() {
        let prior = MedianPrior {
            values: vec![0.0],
            share: 0.5,
            min_copies: 30,
        };
        assert_eq!(prior.copies(20), 30);
        assert_eq!(prior.copies(100), 50);
        assert_eq!(prior.copies_in_sample(100, 4), 50);
        assert_eq!(prior.copies_in_sample(10, 4), 8);
        let minute = PriorWeight {
            share: 0.5,
            min_seconds: 60.0,
        };
        // 60 s of 86.13 frames a second, a segment every 8 frames.
        assert_eq!(
            MedianPrior::new(vec![0.0], minute, 8, 86.1328125).min_copies,
            646
        );
        assert!(!MedianPrior::new(vec![0.0], PriorWeight::NONE, 8, 86.1).fits(1));
    }

    #[test]
    fn the_median_with_a_prior_is_the_same_for_a_recording_and_the_recording_repeated() {
        let (n, d) = (100, 3);
        let values: Vec<f32> = (0..n * d)
            .map(|i| ((i * 7919) % 1009) as f32 / 97.0 - 4.0)
            .collect();
        let repeated = |copies: usize| SegmentDescriptors {
            starts: (0..n * copies).collect(),
            values: values.repeat(copies),
            dim: d,
        };
        // One prior value inside each column's central band, one below it, one above it.
        let prior = MedianPrior {
            values: vec![0.5, -3.9, 6.0],
            share: 0.5,
            min_copies: 30,
        };
        let alone = recording_median(&repeated(1), Some(&prior));
        assert_eq!(alone[0], 0.5, "a prior inside the band is the median");
        assert!(
            alone[1] > -3.9 && alone[2] < 6.0,
            "{alone:?}: clamped into the band"
        );
        for copies in [2, 5, 20] {
            assert_eq!(recording_median(&repeated(copies), Some(&prior)), alone);
        }
    }

    #[test]
    fn chunked_context_rows_equal_a_whole_prefix_table_and_running_median() {
        let (n, d) = (301, 3);
        let values: Vec<f32> = (0..n * d)
            .map(|i| ((i * 7919) % 1009) as f32 / 97.0 - 4.0)
            .collect();
        let local = SegmentDescriptors {
            starts: (0..n).map(|i| 8 * i).collect(),
            values,
            dim: d,
        };
        let prior = MedianPrior {
            values: vec![0.5, -1.0, 2.0],
            share: 0.4,
            min_copies: 0,
        };
        // The reference: a whole prefix table and a running median holding every row.
        let mut prefix = vec![0.0f64; (n + 1) * d];
        for i in 0..n {
            for c in 0..d {
                prefix[(i + 1) * d + c] = prefix[i * d + c] + f64::from(local.row(i)[c]);
            }
        }
        let means = |i: usize, r: usize| -> Vec<f32> {
            let (lo, hi) = (i.saturating_sub(r), (i + r + 1).min(n));
            (0..d)
                .map(|c| ((prefix[hi * d + c] - prefix[lo * d + c]) / (hi - lo) as f64) as f32)
                .collect()
        };
        let mut running = RunningMedian::new(d, n).with_prior(prior.clone());
        (0..n).for_each(|i| running.push(local.row(i)));
        let median = running.median().to_vec();
        let mut expected = Vec::new();
        for i in 0..n {
            push_contextual_row(
                &mut expected,
                local.row(i),
                &median,
                &means(i, 5),
                &means(i, 60),
            );
        }
        let whole = with_context(&local, 5, 60, Some(&prior));
        assert!(whole.values == expected);
        let mut rows = ContextRows::new(&local, 5, 60, Some(&prior));
        let mut chunked = Vec::new();
        let mut starts = Vec::new();
        while let Some(chunk) = rows.next_chunk(17) {
            chunked.extend(chunk.values);
            starts.extend(chunk.starts);
        }
        assert!(chunked == expected);
        assert_eq!(starts, local.starts);
        assert_eq!(column_medians(&local), {
            let mut plain = RunningMedian::new(d, n);
            (0..n).for_each(|i| plain.push(local.row(i)));
            plain.median().to_vec()
        });
    }
}
