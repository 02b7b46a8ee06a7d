//! Streaming analysis: the offline scoring path ([`super::scoring`]) rebuilt so that audio can
//! arrive in blocks of any size, at any sample rate, as it does inside a DAW.
//!
//! [`StreamingAnalyser`] resamples with the same rubato FFT resampler the offline path uses (in
//! fixed input chunks, its start-up delay trimmed), frames with the same centred, zero-padded
//! STFT, scores every segment of `segment_frames` frames at a step of `hop_frames`, and averages
//! the segments covering each bin exactly as [`super::scoring::ScoreTimeline::bin_scores`] does.
//! With a pair classifier in the model, each segment's descriptor waits for its long context
//! ([`StreamingContext`]) and the bin scores are cut probabilities instead.
//! A bin's score is final once the last segment covering it is scored; the
//! [`OnlinePlanner`] then turns final bins into committed keep/cut decisions a fixed lookahead
//! later. Nothing here knows about plugins or GUIs.
//!
//! Times are in seconds of the stream (the first pushed sample is at 0), so the caller can map
//! them to its own sample positions at its own rate.

mod context;
mod history;
mod planner;
#[cfg(test)]
pub(crate) mod tests;

use std::collections::VecDeque;
use std::sync::Arc;

use anyhow::{anyhow, Result};
use candle_core::Tensor;
use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Indexing, Resampler};

pub use context::{StreamingContext, MEDIAN_CAPACITY};
pub use history::{HistoryBin, ScoreHistory};
pub use planner::{Decision, OnlinePlanner, PlannerSettings};

use super::beats::{track_beats, BeatGrid};
use super::features::LogMelExtractor;
use super::model::SegmentMeasure;
use super::pairs::descriptors::{local_dim, local_rows};
use super::pairs::{PriorWeight, SegmentDescriptors, PRIOR_WEIGHT};
use super::slicer::Slicer;

/// Input samples per resampler call; the offline path ([`super::features::resample_mono`]) uses
/// the same chunk, so both produce the same analysis-rate signal.
pub const RESAMPLER_CHUNK: usize = 1024;

/// Segments scored in one forward pass. A pass over eight segments costs little more than a
/// pass over one (the model's per-call overhead dominates at these sizes; see BENCHMARKS.md),
/// so the stream waits until eight are ready, which adds seven segment steps to
/// [`StreamingAnalyser::analysis_delay_seconds`].
pub const STREAM_BATCH: usize = 8;

/// Seconds of recent log-mel frames kept for the engine's own beat tracker, used for snapping
/// when the host gives no tempo: long enough for a tempo estimate to settle over a few bars.
const BEAT_CONTEXT_SECONDS: f64 = 8.0;

/// What the analyser found in the audio pushed so far.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum StreamEvent {
    /// A segment was scored; it spans `[start, end)` seconds.
    Segment {
        /// Start in stream seconds.
        start: f64,
        /// End in stream seconds.
        end: f64,
        /// Reconstruction error, or cut probability with a classifier (higher is worse).
        score: f64,
    },
    /// A bin's score is final: the mean of the segments covering `[start, end)`.
    Bin {
        /// Bin index from the stream start.
        index: usize,
        /// Start in stream seconds.
        start: f64,
        /// End in stream seconds.
        end: f64,
        /// Mean score of the covering segments.
        score: f64,
    },
}

/// Scores mono audio pushed in blocks of any length, one bin at a time.
pub struct StreamingAnalyser {
    model: Arc<Slicer>,
    /// The classifier's context, when the model has a classifier.
    context: Option<StreamingContext>,
    /// Local descriptor rows of the batch being scored.
    local: Vec<f32>,
    /// Contextual rows completed by the batch.
    contextual: Vec<f32>,
    extractor: LogMelExtractor,
    resampler: Option<Fft<f32>>,
    /// Input gathered for the next resampler call.
    chunk_in: Vec<f32>,
    /// Resampler output scratch.
    chunk_out: Vec<f32>,
    /// Resampler output samples still to drop (its start-up delay).
    to_trim: usize,
    /// Analysis-rate samples, zero-padded at the front by half a window as the offline frames are.
    signal: Vec<f32>,
    /// Index, in the padded signal, of `signal[0]`.
    signal_offset: usize,
    /// Normalised frames not yet needed by every pending segment, frame-major.
    frames: VecDeque<Vec<f32>>,
    /// Index of `frames[0]`.
    frames_offset: usize,
    /// Unnormalised recent frames for the beat tracker.
    recent_raw: VecDeque<Vec<f32>>,
    /// Index of the next segment to score (segment `k` starts at frame `k * hop_frames`).
    next_segment: usize,
    /// Per open bin: sum and count of covering segment scores; `bins[0]` is bin `bins_offset`.
    bins: VecDeque<(f64, usize)>,
    bins_offset: usize,
    hop_frames: usize,
    scratch: Vec<f32>,
}

impl StreamingAnalyser {
    /// An analyser for mono audio at `input_rate` Hz, scoring segments at the model's step
    /// ([`Slicer::hop_frames`]).
    pub fn new(model: Arc<Slicer>, input_rate: u32) -> Result<Self> {
        let features = model.features().clone();
        let context = classifier_context(&model, PRIOR_WEIGHT);
        let hop_frames = model.hop_frames();
        let extractor = LogMelExtractor::new(&features)?;
        if input_rate == 0 {
            return Err(anyhow!("sample rate must be positive"));
        }
        let resampler = if input_rate == features.sample_rate {
            None
        } else {
            Some(
                Fft::<f32>::new(
                    input_rate as usize,
                    features.sample_rate as usize,
                    RESAMPLER_CHUNK,
                    1,
                    FixedSync::Input,
                )
                .map_err(|e| {
                    anyhow!(
                        "cannot resample {input_rate} Hz to {} Hz: {e}",
                        features.sample_rate
                    )
                })?,
            )
        };
        let out_max = resampler.as_ref().map_or(0, Resampler::output_frames_max);
        let mut analyser = Self {
            context,
            local: Vec::new(),
            contextual: Vec::new(),
            extractor,
            chunk_in: Vec::with_capacity(RESAMPLER_CHUNK),
            chunk_out: vec![0.0; out_max],
            to_trim: 0,
            signal: Vec::new(),
            signal_offset: 0,
            frames: VecDeque::new(),
            frames_offset: 0,
            recent_raw: VecDeque::new(),
            next_segment: 0,
            bins: VecDeque::new(),
            bins_offset: 0,
            hop_frames,
            scratch: Vec::new(),
            resampler,
            model,
        };
        analyser.reset();
        Ok(analyser)
    }

    /// How much the classifier's prior median counts for ([`PriorWeight::NONE`]: the median
    /// is that of the stream alone). Forgets all audio.
    pub fn set_prior_weight(&mut self, weight: PriorWeight) {
        self.context = classifier_context(&self.model, weight);
        self.reset();
    }

    /// Forgets all audio: the next pushed sample is stream time 0 again.
    pub fn reset(&mut self) {
        if let Some(r) = self.resampler.as_mut() {
            r.reset();
            self.to_trim = r.output_delay();
        }
        self.chunk_in.clear();
        self.signal.clear();
        self.signal.resize(self.extractor.config().n_fft / 2, 0.0);
        self.signal_offset = 0;
        self.frames.clear();
        self.frames_offset = 0;
        self.recent_raw.clear();
        self.next_segment = 0;
        self.bins.clear();
        self.bins_offset = 0;
        if let Some(context) = self.context.as_mut() {
            context.reset();
        }
    }

    /// The model scoring the audio.
    pub fn model(&self) -> &Arc<Slicer> {
        &self.model
    }

    /// Length of one bin (and the step between segments) in seconds.
    pub fn bin_seconds(&self) -> f64 {
        self.hop_frames as f64 / self.extractor.config().frame_rate()
    }

    /// Length of one segment in seconds.
    pub fn segment_seconds(&self) -> f64 {
        self.model.segment_frames() as f64 / self.extractor.config().frame_rate()
    }

    /// The longest time, in seconds, from an input sample arriving to the score of its bin being
    /// final: a whole segment and half a window past the bin's start, the segments waiting to
    /// fill a batch, the classifier's long context if any, plus what the resampler holds back
    /// (one input chunk and its filter delay). An upper bound, so a lookahead built on it is
    /// never short.
    pub fn analysis_delay_seconds(&self, input_rate: u32) -> f64 {
        let features = self.extractor.config();
        let rate = f64::from(features.sample_rate);
        let seg = self.model.segment_frames();
        let bin_samples = (self.hop_frames * features.hop) as f64;
        let context_frames = self
            .context
            .as_ref()
            .map_or(0, |c| c.delay_rows() * self.hop_frames);
        let batch_frames = (STREAM_BATCH - 1) * self.hop_frames;
        let frames_after =
            ((seg - 1 + batch_frames + context_frames) * features.hop + features.n_fft / 2) as f64;
        let resampler = self.resampler.as_ref().map_or(0.0, |r| {
            (r.output_delay() + r.output_frames_max()) as f64 / rate
                + r.input_frames_max() as f64 / f64::from(input_rate)
        });
        // A sample late in its bin waits less than one at the start, so the start is the bound;
        // one more bin covers rounding of bin edges to host samples.
        (frames_after + bin_samples) / rate + resampler
    }

    /// Pushes mono samples at the input rate and appends what became known to `events`.
    /// Non-finite samples are read as silence so one bad sample cannot poison the analysis.
    pub fn push(&mut self, samples: &[f32], events: &mut Vec<StreamEvent>) -> Result<()> {
        if self.resampler.is_none() {
            self.signal
                .extend(samples.iter().map(|&s| if s.is_finite() { s } else { 0.0 }));
            return self.analyse(events);
        }
        let mut rest = samples;
        while !rest.is_empty() {
            let take = (RESAMPLER_CHUNK - self.chunk_in.len()).min(rest.len());
            self.chunk_in.extend(
                rest[..take]
                    .iter()
                    .map(|&s| if s.is_finite() { s } else { 0.0 }),
            );
            rest = &rest[take..];
            if self.chunk_in.len() == RESAMPLER_CHUNK {
                self.resample_chunk()?;
                self.chunk_in.clear();
            }
        }
        self.analyse(events)
    }

    fn resample_chunk(&mut self) -> Result<()> {
        let Some(resampler) = self.resampler.as_mut() else {
            return Ok(());
        };
        let input = InterleavedSlice::new(&self.chunk_in[..], 1, RESAMPLER_CHUNK)
            .map_err(|e| anyhow!("resampler input: {e}"))?;
        let out_len = self.chunk_out.len();
        let mut output = InterleavedSlice::new_mut(&mut self.chunk_out[..], 1, out_len)
            .map_err(|e| anyhow!("resampler output: {e}"))?;
        let indexing = Indexing {
            input_offset: 0,
            output_offset: 0,
            active_channels_mask: None,
            partial_len: None,
        };
        let (_, produced) = resampler
            .process_into_buffer(&input, &mut output, Some(&indexing))
            .map_err(|e| anyhow!("resampling failed: {e}"))?;
        let skip = self.to_trim.min(produced);
        self.to_trim -= skip;
        self.signal
            .extend_from_slice(&self.chunk_out[skip..produced]);
        Ok(())
    }

    /// Frames every complete window, scores every complete segment, finalises covered bins.
    fn analyse(&mut self, events: &mut Vec<StreamEvent>) -> Result<()> {
        let config = self.extractor.config().clone();
        let frame_rate = config.frame_rate();
        let beat_context = (BEAT_CONTEXT_SECONDS * frame_rate).ceil() as usize;
        let mut next_frame = self.frames_offset + self.frames.len();
        let mut band = vec![0.0f32; config.n_mels];
        while next_frame * config.hop + config.n_fft <= self.signal_offset + self.signal.len() {
            let at = next_frame * config.hop - self.signal_offset;
            self.extractor
                .frame_into(&self.signal[at..at + config.n_fft], &mut band);
            if self.recent_raw.len() == beat_context {
                self.recent_raw.pop_front();
            }
            self.recent_raw.push_back(band.clone());
            let stats = &self.model.autoencoder().config().stats;
            let normalised = band
                .iter()
                .zip(&stats.mean)
                .zip(&stats.std)
                .map(|((v, m), s)| (v - m) / s)
                .collect();
            self.frames.push_back(normalised);
            next_frame += 1;
        }
        // Samples before the next frame's window are never read again.
        let keep_from = (next_frame * config.hop).saturating_sub(self.signal_offset);
        let drop = keep_from.min(self.signal.len());
        self.signal.drain(..drop);
        self.signal_offset += drop;
        self.score_ready_segments(events, frame_rate, false)
    }

    /// Scores the complete segments in whole batches, and with `all` the rest too (the end of
    /// a stream).
    fn score_ready_segments(
        &mut self,
        events: &mut Vec<StreamEvent>,
        frame_rate: f64,
        all: bool,
    ) -> Result<()> {
        let seg = self.model.segment_frames();
        let available = self.frames_offset + self.frames.len();
        let mut remaining = (available + 1)
            .saturating_sub(seg)
            .div_ceil(self.hop_frames)
            .saturating_sub(self.next_segment);
        while remaining >= STREAM_BATCH || (all && remaining > 0) {
            let batch = remaining.min(STREAM_BATCH);
            let (first, scores) = self.score_batch(batch)?;
            self.emit_segments(first, scores, frame_rate, events);
            self.next_segment += batch;
            remaining -= batch;
        }
        // Frames before the next segment's start are never read again.
        let first_needed = self.next_segment * self.hop_frames;
        while self.frames_offset < first_needed && !self.frames.is_empty() {
            self.frames.pop_front();
            self.frames_offset += 1;
        }
        Ok(())
    }

    /// Reports scored segments `first..` and adds them to their bins.
    fn emit_segments(
        &mut self,
        first: usize,
        scores: Vec<f64>,
        frame_rate: f64,
        events: &mut Vec<StreamEvent>,
    ) {
        let seg = self.model.segment_frames();
        for (i, score) in scores.into_iter().enumerate() {
            let k = first + i;
            let start_frame = k * self.hop_frames;
            events.push(StreamEvent::Segment {
                start: start_frame as f64 / frame_rate,
                end: (start_frame + seg) as f64 / frame_rate,
                score,
            });
            self.add_segment(k, seg, score, frame_rate, events);
        }
    }

    /// The stream ended: scores the segments still waiting for context (their windows clipped
    /// at the end, as offline) and finalises every open bin. Used when a whole file is streamed;
    /// a live stream never ends.
    pub fn finish(&mut self, events: &mut Vec<StreamEvent>) -> Result<()> {
        let frame_rate = self.extractor.config().frame_rate();
        self.score_ready_segments(events, frame_rate, true)?;
        if let Some(context) = self.context.as_mut() {
            let first = context.next_index();
            self.contextual.clear();
            if context.finish(&mut self.contextual) > 0 {
                let scores = self.classify_contextual()?;
                self.emit_segments(first, scores, frame_rate, events);
            }
        }
        self.emit_final_bins(usize::MAX, self.bin_seconds(), events);
        Ok(())
    }

    /// Cut probabilities of the rows in `self.contextual`.
    fn classify_contextual(&mut self) -> Result<Vec<f64>> {
        let (Some(scorer), Some(_)) = (self.model.context_scorer(), &self.context) else {
            return Ok(Vec::new());
        };
        let dim = 4 * local_dim(self.model.autoencoder());
        // The rows are lent to the scorer and taken back, so the buffer is reused, not copied.
        let descriptors = SegmentDescriptors {
            starts: vec![0; self.contextual.len() / dim],
            values: std::mem::take(&mut self.contextual),
            dim,
        };
        let scores = scorer.score(&descriptors);
        self.contextual = descriptors.values;
        scores
    }

    /// Scores segments `next_segment .. next_segment + count` in one forward pass. Returns the
    /// index of the first segment whose score became known and the scores from there on: the
    /// same segments by reconstruction error; with a classifier, those whose context completed.
    fn score_batch(&mut self, count: usize) -> Result<(usize, Vec<f64>)> {
        let seg = self.model.segment_frames();
        let n_mels = self.extractor.config().n_mels;
        self.scratch.clear();
        for i in 0..count {
            let start = (self.next_segment + i) * self.hop_frames - self.frames_offset;
            // The model's layout is [batch, 1, n_mels, frames]: band-major within a segment.
            for m in 0..n_mels {
                self.scratch
                    .extend((0..seg).map(|t| self.frames[start + t][m]));
            }
        }
        let model = self.model.autoencoder();
        let input = Tensor::from_slice(&self.scratch, (count, 1, n_mels, seg), model.device())?
            .to_dtype(model.dtype())?;
        let Some(context) = self.context.as_mut() else {
            // `Score`: a dual autoencoder's edited-minus-raw error, otherwise the error itself.
            let errors = model
                .measure(&input, SegmentMeasure::Score)?
                .to_dtype(candle_core::DType::F64)?
                .to_vec1::<f64>()?;
            return Ok((self.next_segment, errors));
        };
        let first = context.next_index();
        self.local.clear();
        local_rows(model, &input, &mut self.local)?;
        self.contextual.clear();
        let dim = local_dim(model);
        for row in self.local.chunks_exact(dim) {
            context.push(row, &mut self.contextual);
        }
        Ok((first, self.classify_contextual()?))
    }

    /// Adds segment `k`'s score to the bins it covers and emits every bin it completes.
    ///
    /// Coverage is computed in seconds exactly as [`super::scoring::ScoreTimeline::bin_scores`]
    /// computes it (including its floating-point rounding at bin edges), so streamed bin scores
    /// equal the offline ones.
    fn add_segment(
        &mut self,
        k: usize,
        seg: usize,
        score: f64,
        frame_rate: f64,
        events: &mut Vec<StreamEvent>,
    ) {
        let frame_seconds = 1.0 / frame_rate;
        let bin_seconds = self.hop_frames as f64 * frame_seconds;
        let first_bin = |segment: usize| {
            let start = (segment * self.hop_frames) as f64 * frame_seconds;
            (start / bin_seconds).floor().max(0.0) as usize
        };
        let end = (k * self.hop_frames + seg) as f64 * frame_seconds;
        let (first, last) = (first_bin(k), (end / bin_seconds).ceil() as usize);
        while self.bins_offset + self.bins.len() < last {
            self.bins.push_back((0.0, 0));
        }
        for b in first.max(self.bins_offset)..last {
            let slot = &mut self.bins[b - self.bins_offset];
            slot.0 += score;
            slot.1 += 1;
        }
        // Later segments start at or after the next one, so bins before its first are final.
        self.emit_final_bins(first_bin(k + 1), bin_seconds, events);
    }

    /// Emits every open bin before index `before` (all of them for `usize::MAX`) with the mean
    /// of its segments' scores (NaN if none covered it), `bin_seconds` long each.
    fn emit_final_bins(&mut self, before: usize, bin_seconds: f64, events: &mut Vec<StreamEvent>) {
        while self.bins_offset < before {
            let Some((sum, count)) = self.bins.pop_front() else {
                break;
            };
            let index = self.bins_offset;
            events.push(StreamEvent::Bin {
                index,
                start: index as f64 * bin_seconds,
                end: (index + 1) as f64 * bin_seconds,
                score: if count > 0 {
                    sum / count as f64
                } else {
                    f64::NAN
                },
            });
            self.bins_offset += 1;
        }
    }

    /// Beats, bars and onsets of the last few seconds, tracked by the engine's own beat tracker,
    /// in stream seconds. Used to snap cuts when the host reports no tempo.
    pub fn recent_beats(&self) -> BeatGrid {
        let n_mels = self.extractor.config().n_mels;
        let frame_rate = self.extractor.config().frame_rate();
        let first = (self.frames_offset + self.frames.len()).saturating_sub(self.recent_raw.len());
        let data: Vec<f32> = self.recent_raw.iter().flatten().copied().collect();
        let mut grid = track_beats(&data, n_mels, frame_rate);
        let shift = first as f64 / frame_rate;
        for list in [&mut grid.beats, &mut grid.downbeats, &mut grid.onsets] {
            list.iter_mut().for_each(|t| *t += shift);
        }
        grid
    }
}

/// The classifier's streaming context for `model`, if it has a classifier, with its median prior
/// weighing `weight`.
fn classifier_context(model: &Slicer, weight: PriorWeight) -> Option<StreamingContext> {
    let scorer = model.context_scorer()?;
    let dim = local_dim(model.autoencoder());
    let (_, short, long) = scorer.geometry();
    Some(
        match scorer.median_prior(dim, model.features().frame_rate(), weight) {
            Some(prior) => StreamingContext::with_prior(dim, short, long, prior),
            None => StreamingContext::new(dim, short, long),
        },
    )
}
