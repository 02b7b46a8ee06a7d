//! Finding where a block of the edit occurs in the raw recording: normalised cross-correlation
//! over every raw offset at once, by overlap-save FFT correlation against a precomputed index.

use std::sync::Arc;

use realfft::num_complex::Complex;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};

/// A raw window's energy is floored at this fraction of the block's before normalising, so near
/// silence in the raw cannot produce a huge correlation; it allows for a 40 dB gain change.
const GAIN_FLOOR: f64 = 1e-4;
/// Peaks closer than this (coarse samples, 10 ms) are one peak: the side lobes of a match are
/// not separate candidates.
const PEAK_RADIUS: usize = 40;
/// Correlations below this are never candidates; it only saves work, the path search judges.
const MIN_SCORE: f32 = 0.05;
/// How far (coarse samples) [`RawIndex::peak_near`] looks for the top of a correlation peak.
const CLIMB_REACH: i64 = 2;

/// A raw position where a block may come from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Candidate {
    /// Raw sample (coarse rate) where the block starts.
    pub position: i64,
    /// Normalised cross-correlation there, at most 1.
    pub score: f32,
}

/// The raw recording prepared for repeated block searches: its FFT segments and energy.
pub(super) struct RawIndex {
    block_len: usize,
    fft_len: usize,
    /// Valid correlation outputs per segment.
    step: usize,
    /// Raw positions a whole block fits at.
    positions: usize,
    forward: Arc<dyn RealToComplex<f32>>,
    inverse: Arc<dyn ComplexToReal<f32>>,
    segments: Vec<Vec<Complex<f32>>>,
    prefix: Vec<f64>,
}

/// Per-thread buffers for [`RawIndex::search`].
pub(super) struct Scratch {
    time: Vec<f32>,
    spectrum: Vec<Complex<f32>>,
    product: Vec<Complex<f32>>,
    fft_scratch: Vec<Complex<f32>>,
}

impl RawIndex {
    /// Indexes `raw` (coarse, band-passed) for blocks of `block_len` samples.
    pub fn new(raw: &[f32], block_len: usize) -> Self {
        let block_len = block_len.max(1);
        // Four block lengths per FFT wastes a quarter of each transform on overlap, a fair
        // trade between transform size and the number of segments.
        let fft_len = (4 * block_len).next_power_of_two().max(64);
        let step = fft_len - block_len + 1;
        let positions = (raw.len() + 1).saturating_sub(block_len);
        let mut planner = RealFftPlanner::<f32>::new();
        let forward = planner.plan_fft_forward(fft_len);
        let inverse = planner.plan_fft_inverse(fft_len);
        let mut scratch = forward.make_scratch_vec();
        let mut time = forward.make_input_vec();
        let segments = (0..positions.div_ceil(step))
            .map(|s| {
                let start = s * step;
                let end = (start + fft_len).min(raw.len());
                time.fill(0.0);
                time[..end - start].copy_from_slice(&raw[start..end]);
                let mut spectrum = forward.make_output_vec();
                // Buffer lengths come from the plan, so the transform cannot fail.
                let _ = forward.process_with_scratch(&mut time, &mut spectrum, &mut scratch);
                spectrum
            })
            .collect();
        Self {
            block_len,
            fft_len,
            step,
            positions,
            forward,
            inverse,
            segments,
            prefix: super::signal::energy_prefix(raw),
        }
    }

    /// Buffers for one searching thread.
    pub fn scratch(&self) -> Scratch {
        let fft_scratch_len = self
            .forward
            .get_scratch_len()
            .max(self.inverse.get_scratch_len());
        Scratch {
            time: self.forward.make_input_vec(),
            spectrum: self.forward.make_output_vec(),
            product: self.inverse.make_input_vec(),
            fft_scratch: vec![Complex::default(); fft_scratch_len],
        }
    }

    /// The `keep` best-matching raw positions for `block` (exactly `block_len` samples), best
    /// first and at least [`PEAK_RADIUS`] apart. Empty for a silent block or a short raw.
    pub fn search(&self, block: &[f32], keep: usize, scratch: &mut Scratch) -> Vec<Candidate> {
        let block_energy = super::signal::energy(block);
        if block.len() != self.block_len || block_energy <= f64::MIN_POSITIVE || keep == 0 {
            return Vec::new();
        }
        scratch.time.fill(0.0);
        scratch.time[..block.len()].copy_from_slice(block);
        let _ = self.forward.process_with_scratch(
            &mut scratch.time,
            &mut scratch.spectrum,
            &mut scratch.fft_scratch,
        );
        let mut top = TopPeaks::new(keep * 4);
        let scale = 1.0 / self.fft_len as f64;
        for (s, segment) in self.segments.iter().enumerate() {
            for ((p, x), b) in scratch
                .product
                .iter_mut()
                .zip(segment)
                .zip(&scratch.spectrum)
            {
                *p = x * b.conj();
            }
            // The DC and Nyquist bins of a real signal's spectrum are real; rounding must not
            // make the inverse transform reject them.
            if let Some(first) = scratch.product.first_mut() {
                first.im = 0.0;
            }
            if let Some(last) = scratch.product.last_mut() {
                last.im = 0.0;
            }
            let _ = self.inverse.process_with_scratch(
                &mut scratch.product,
                &mut scratch.time,
                &mut scratch.fft_scratch,
            );
            let base = s * self.step;
            let valid = self.step.min(self.positions.saturating_sub(base));
            for (j, &c) in scratch.time[..valid].iter().enumerate() {
                let p = base + j;
                let raw_energy = self.prefix[p + self.block_len] - self.prefix[p];
                let denominator = (block_energy * raw_energy.max(block_energy * GAIN_FLOOR)).sqrt();
                let score = (f64::from(c) * scale / denominator) as f32;
                top.offer(p, score);
            }
        }
        top.finish(keep)
    }

    /// The correlation peak nearest `position`: the best whole-sample lag within
    /// [`CLIMB_REACH`] and the height of the parabola through it and its neighbours.
    ///
    /// A true offset lies between coarse samples, and half a sample at the top of the band costs
    /// far more correlation than at the bottom, so whole-sample values would rank candidates by
    /// the luck of where their peak falls; the interpolated height ranks them by how well they
    /// match.
    pub fn peak_near(&self, raw: &[f32], block: &[f32], position: i64) -> Candidate {
        let block_energy = super::signal::energy(block);
        let at = |p: i64| self.score_with_energy(raw, block, block_energy, p);
        let mut values: Vec<(i64, f32)> = (-CLIMB_REACH..=CLIMB_REACH)
            .map(|d| (position + d, at(position + d)))
            .collect();
        let best = (0..values.len())
            .max_by(|&a, &b| values[a].1.total_cmp(&values[b].1))
            .unwrap_or(0);
        let (peak, y0) = values[best];
        let below = if best > 0 {
            values[best - 1].1
        } else {
            at(peak - 1)
        };
        let above = values.get(best + 1).map_or_else(|| at(peak + 1), |v| v.1);
        values.clear();
        let curvature = below - 2.0 * y0 + above;
        let height = if curvature < 0.0 {
            let delta = 0.5 * (below - above) / curvature;
            y0 - 0.25 * (below - above) * delta
        } else {
            y0
        };
        Candidate {
            position: peak,
            score: height.clamp(-1.0, 1.0),
        }
    }

    /// Normalised correlation of `block` with the raw at `position`, which may hang over either
    /// end of the raw (the missing part counts as silence).
    fn score_with_energy(
        &self,
        raw: &[f32],
        block: &[f32],
        block_energy: f64,
        position: i64,
    ) -> f32 {
        if block_energy <= f64::MIN_POSITIVE {
            return 0.0;
        }
        let skip = usize::try_from(-position).unwrap_or(0).min(block.len());
        let start = usize::try_from(position).unwrap_or(0);
        if start >= raw.len() || skip >= block.len() {
            return 0.0;
        }
        let len = (block.len() - skip).min(raw.len() - start);
        let dot: f64 = block[skip..skip + len]
            .iter()
            .zip(&raw[start..start + len])
            .map(|(&a, &b)| f64::from(a) * f64::from(b))
            .sum();
        let raw_energy = self.prefix[start + len] - self.prefix[start];
        (dot / (block_energy * raw_energy.max(block_energy * GAIN_FLOOR)).sqrt()) as f32
    }
}

/// The best peaks seen so far, kept apart by [`PEAK_RADIUS`].
struct TopPeaks {
    items: Vec<Candidate>,
    capacity: usize,
    /// Scores at or below this cannot enter.
    floor: f32,
}

impl TopPeaks {
    fn new(capacity: usize) -> Self {
        Self {
            items: Vec::with_capacity(capacity),
            capacity: capacity.max(1),
            floor: MIN_SCORE,
        }
    }

    fn offer(&mut self, position: usize, score: f32) {
        // NaN is not greater than the floor either, so it never enters.
        if score.partial_cmp(&self.floor) != Some(std::cmp::Ordering::Greater) {
            return;
        }
        let position = position as i64;
        let near = self
            .items
            .iter()
            .position(|c| c.position.abs_diff(position) <= PEAK_RADIUS as u64);
        match near {
            Some(i) if self.items[i].score >= score => return,
            Some(i) => self.items[i] = Candidate { position, score },
            None if self.items.len() < self.capacity => {
                self.items.push(Candidate { position, score })
            }
            None => {
                let weakest = self.weakest();
                self.items[weakest] = Candidate { position, score };
            }
        }
        if self.items.len() == self.capacity {
            self.floor = self.items[self.weakest()].score;
        }
    }

    fn weakest(&self) -> usize {
        (0..self.items.len())
            .min_by(|&a, &b| self.items[a].score.total_cmp(&self.items[b].score))
            .unwrap_or(0)
    }

    /// The `keep` best, after a final pass removing peaks that drifted within range of a better one.
    fn finish(mut self, keep: usize) -> Vec<Candidate> {
        self.items.sort_by(|a, b| b.score.total_cmp(&a.score));
        let mut out: Vec<Candidate> = Vec::with_capacity(keep);
        for c in self.items {
            if out.len() == keep {
                break;
            }
            if out
                .iter()
                .all(|o| o.position.abs_diff(c.position) > PEAK_RADIUS as u64)
            {
                out.push(c);
            }
        }
        out
    }
}

/// `f(i, state)` for every `i` in `0..n`, spread over the machine's cores; `make_state` builds
/// each thread's private buffers.
pub(crate) fn parallel_map<T, S>(
    n: usize,
    make_state: impl Fn() -> S + Sync,
    f: impl Fn(usize, &mut S) -> T + Sync,
) -> Vec<T>
where
    T: Send,
{
    let threads = std::thread::available_parallelism()
        .map_or(1, |p| p.get())
        .clamp(1, 8)
        .min(n.max(1));
    if threads <= 1 {
        let mut state = make_state();
        return (0..n).map(|i| f(i, &mut state)).collect();
    }
    let mut results: Vec<Option<T>> = (0..n).map(|_| None).collect();
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (f, make_state) = (&f, &make_state);
                // Interleaved indices balance the load when some items are cheaper than others.
                scope.spawn(move || {
                    let mut state = make_state();
                    (t..n)
                        .step_by(threads)
                        .map(|i| (i, f(i, &mut state)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for handle in handles {
            // A worker only panics if `f` does; re-raise it rather than return partial results.
            match handle.join() {
                Ok(part) => {
                    for (i, value) in part {
                        results[i] = Some(value);
                    }
                }
                Err(payload) => std::panic::resume_unwind(payload),
            }
        }
    });
    results.into_iter().flatten().collect()
}
