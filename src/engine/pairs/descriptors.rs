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

use super::median::RunningMedian;
use crate::engine::features::LogMel;
use crate::engine::model::{segment_batch, Autoencoder};

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

/// Local descriptors of every segment of a normalised spectrogram.
pub fn local_descriptors(
    model: &Autoencoder,
    spec: &LogMel,
    hop: usize,
) -> Result<SegmentDescriptors> {
    local_descriptors_reporting(model, spec, hop, &mut |_, _| {})
}

/// [`local_descriptors`], calling `report(done, total)` with the segments described so far
/// after each batch (the autoencoder's work, nearly all of scoring's).
pub fn local_descriptors_reporting(
    model: &Autoencoder,
    spec: &LogMel,
    hop: usize,
    report: &mut dyn FnMut(usize, usize),
) -> Result<SegmentDescriptors> {
    let seg = model.config().segment_frames;
    let starts = segment_starts(spec.frames(), seg, hop);
    let dim = local_dim(model);
    let mut values = Vec::with_capacity(starts.len() * dim);
    let mut done = 0;
    for chunk in starts.chunks(BATCH) {
        let x = segment_batch(spec, chunk, seg, DType::F32, model.device())?;
        local_rows(model, &x, &mut values)?;
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
    let seg = model.config().segment_frames;
    let n_mels = model.config().features.n_mels;
    let z = model.encode(x)?;
    let err = (model.decode(&z)? - x)?
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

/// A typical recording median and how many segments' worth it counts for when joined with a
/// recording's own segments (see [`with_context`]).
#[derive(Debug, Clone, PartialEq)]
pub struct MedianPrior {
    /// One value per local descriptor column.
    pub values: Vec<f32>,
    /// Segments it counts for.
    pub rows: usize,
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
    let (n, d) = (local.len(), local.dim);
    let median = match prior {
        None => column_medians(local),
        Some(prior) => {
            let mut running = RunningMedian::new(d, n.max(2)).with_prior(prior.clone());
            (0..n).for_each(|i| running.push(local.row(i)));
            running.median().to_vec()
        }
    };
    let short_mean = windowed_means(local, short);
    let long_mean = windowed_means(local, long);
    let mut values = Vec::with_capacity(n * d * 4);
    for i in 0..n {
        let window = i * d..(i + 1) * d;
        push_contextual_row(
            &mut values,
            local.row(i),
            &median,
            &short_mean[window.clone()],
            &long_mean[window],
        );
    }
    SegmentDescriptors {
        starts: local.starts.clone(),
        values,
        dim: d * 4,
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
    (0..local.dim)
        .map(|c| {
            let mut col: Vec<f32> = (0..local.len()).map(|i| local.row(i)[c]).collect();
            col.sort_by(f32::total_cmp);
            col.get(col.len() / 2).copied().unwrap_or(0.0)
        })
        .collect()
}

/// Mean of rows `i - radius ..= i + radius` (clipped to the recording) for every row, via
/// prefix sums so long windows cost the same as short ones.
fn windowed_means(local: &SegmentDescriptors, radius: usize) -> Vec<f32> {
    let (n, d) = (local.len(), local.dim);
    let mut prefix = vec![0.0f64; (n + 1) * d];
    for i in 0..n {
        for c in 0..d {
            prefix[(i + 1) * d + c] = prefix[i * d + c] + f64::from(local.row(i)[c]);
        }
    }
    let mut out = Vec::with_capacity(n * d);
    for i in 0..n {
        let lo = i.saturating_sub(radius);
        let hi = (i + radius + 1).min(n);
        let count = (hi - lo) as f64;
        for c in 0..d {
            out.push(((prefix[hi * d + c] - prefix[lo * d + c]) / count) as f32);
        }
    }
    out
}

#[cfg(test)]
mod tests {
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
}
