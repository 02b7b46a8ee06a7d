//! Log-mel features of a recording fed a block at a time, equal sample for sample to
//! [`log_mel_of`](super::log_mel_of) on the whole recording, so a file of any length is analysed
//! without ever holding its audio.

use anyhow::{anyhow, Result};
use rubato::audioadapter_buffers::direct::SequentialSliceOfVecs;
use rubato::{Fft, FixedSync, Indexing, Resampler};

use super::{FeatureConfig, LogMel, LogMelExtractor, RESAMPLER_CHUNK};
#[cfg(doc)]
use crate::engine::audio_io::downmix_into;

/// Builds a [`LogMel`] from blocks of any size of the mono mix at the source rate.
pub struct StreamingLogMel {
    extractor: LogMelExtractor,
    resampler: Option<ChunkResampler>,
    /// Analysis-rate samples from the start of the next frame on (in the zero-padded signal).
    pending: Vec<f32>,
    /// Frames made so far, frame-major.
    data: Vec<f32>,
    /// Analysis-rate samples received so far.
    samples: usize,
    /// Frames handed out by [`Self::take_frames`].
    taken: usize,
}

impl StreamingLogMel {
    /// An analysis of audio arriving at `input_rate` Hz.
    pub fn new(config: &FeatureConfig, input_rate: u32) -> Result<Self> {
        let extractor = LogMelExtractor::new(config)?;
        let resampler = (input_rate != config.sample_rate)
            .then(|| ChunkResampler::new(input_rate, config.sample_rate))
            .transpose()?;
        Ok(Self {
            // Frames are centred: the first one starts half a window before the signal.
            pending: vec![0.0; config.n_fft / 2],
            extractor,
            resampler,
            data: Vec::new(),
            samples: 0,
            taken: 0,
        })
    }

    /// Adds the next block of the mono mix (see [`downmix_into`]).
    pub fn push(&mut self, mono: &[f32]) -> Result<()> {
        match &mut self.resampler {
            Some(resampler) => {
                let (pending, samples) = (&mut self.pending, &mut self.samples);
                resampler.push(mono, &mut |out| {
                    pending.extend_from_slice(out);
                    *samples += out.len();
                })?;
            }
            None => {
                self.pending.extend_from_slice(mono);
                self.samples += mono.len();
            }
        }
        self.make_frames();
        Ok(())
    }

    /// Moves the frames made so far (frame-major) onto the end of `out`: an open analysis hands
    /// out its final frames as they come, and [`Self::finish`] then returns only the rest.
    pub fn take_frames(&mut self, out: &mut Vec<f32>) {
        self.taken += self.data.len() / self.extractor.config().n_mels;
        out.append(&mut self.data);
    }

    /// The frames [`Self::finish`] would still add if the audio ended now (the last windows,
    /// zero-padded), leaving the analysis open for more audio. The resampler's delay (a few
    /// milliseconds) is not flushed, so its last samples are not in them.
    pub fn closing_frames(&mut self) -> Vec<f32> {
        let (n_fft, hop, n_mels) = {
            let c = self.extractor.config();
            (c.n_fft, c.hop, c.n_mels)
        };
        let total = 1 + self.samples / hop;
        let made = self.taken + self.data.len() / n_mels;
        let mut padded = self.pending.clone();
        padded.resize(padded.len() + n_fft / 2, 0.0);
        let missing = total.saturating_sub(made);
        let mut out = vec![0.0; missing * n_mels];
        for (k, frame) in out.chunks_exact_mut(n_mels).enumerate() {
            let start = k * hop;
            if start + n_fft > padded.len() {
                padded.resize(start + n_fft, 0.0);
            }
            self.extractor
                .frame_into(&padded[start..start + n_fft], frame);
        }
        out
    }

    /// The spectrogram of everything pushed (less the frames [`Self::take_frames`] took).
    pub fn finish(mut self) -> Result<LogMel> {
        if let Some(resampler) = self.resampler.take() {
            let (pending, samples) = (&mut self.pending, &mut self.samples);
            resampler.finish(&mut |out| {
                pending.extend_from_slice(out);
                *samples += out.len();
            })?;
        }
        let config = self.extractor.config().clone();
        self.pending
            .resize(self.pending.len() + config.n_fft / 2, 0.0);
        self.make_frames();
        let frames = (1 + self.samples / config.hop).saturating_sub(self.taken);
        debug_assert_eq!(self.data.len(), frames * config.n_mels);
        self.data.truncate(frames * config.n_mels);
        Ok(LogMel {
            n_mels: config.n_mels,
            frame_rate: config.frame_rate(),
            data: self.data,
        })
    }

    /// Makes every frame whose window has fully arrived.
    fn make_frames(&mut self) {
        let (n_fft, hop, n_mels) = {
            let c = self.extractor.config();
            (c.n_fft, c.hop, c.n_mels)
        };
        let mut start = 0;
        while start + n_fft <= self.pending.len() {
            let t = self.data.len();
            self.data.resize(t + n_mels, 0.0);
            let (window, out) = (&self.pending[start..start + n_fft], &mut self.data[t..]);
            self.extractor.frame_into(window, out);
            start += hop;
        }
        self.pending.drain(..start);
    }
}

/// rubato's FFT resampler driven a block at a time exactly as `process_all` drives it over a
/// whole signal: full chunks while more than a chunk is left, then the rest as a partial chunk,
/// then zeros until the delay is flushed; the first `output_delay` frames are dropped and the
/// output is `ceil(ratio * input)` frames long.
struct ChunkResampler {
    inner: Fft<f32>,
    /// Input not yet resampled.
    pending: Vec<f32>,
    output: Vec<Vec<f32>>,
    /// Output frames still to drop (the resampler's delay).
    to_skip: usize,
    input_frames: usize,
    output_frames: usize,
}

impl ChunkResampler {
    fn new(from_rate: u32, to_rate: u32) -> Result<Self> {
        let inner = Fft::<f32>::new(
            from_rate as usize,
            to_rate as usize,
            RESAMPLER_CHUNK,
            1,
            FixedSync::Input,
        )
        .map_err(|e| anyhow!("cannot resample from {from_rate} Hz to {to_rate} Hz: {e}"))?;
        Ok(Self {
            output: vec![vec![0.0; inner.output_frames_max()]],
            to_skip: inner.output_delay(),
            inner,
            pending: Vec::new(),
            input_frames: 0,
            output_frames: 0,
        })
    }

    fn push(&mut self, input: &[f32], sink: &mut dyn FnMut(&[f32])) -> Result<()> {
        self.pending.extend_from_slice(input);
        self.input_frames += input.len();
        let chunk = self.inner.input_frames_next();
        let mut offset = 0;
        // Strictly more than a chunk: `process_all` sends the last chunk, even a full one, as a
        // partial chunk, which only `finish` knows to be the last.
        while self.pending.len() - offset > chunk {
            offset += self.process(offset, None, usize::MAX, sink)?;
        }
        self.pending.drain(..offset);
        Ok(())
    }

    fn finish(mut self, sink: &mut dyn FnMut(&[f32])) -> Result<()> {
        let expected = (self.inner.resample_ratio() * self.input_frames as f64).ceil() as usize;
        if !self.pending.is_empty() {
            self.process(0, Some(self.pending.len()), expected, sink)?;
        }
        self.pending.clear();
        while self.output_frames < expected {
            self.process(0, Some(0), expected, sink)?;
        }
        Ok(())
    }

    /// Resamples one chunk from `offset` of the pending input, emitting at most `limit` frames
    /// in all; returns the input frames used.
    fn process(
        &mut self,
        offset: usize,
        partial_len: Option<usize>,
        limit: usize,
        sink: &mut dyn FnMut(&[f32]),
    ) -> Result<usize> {
        let input = std::slice::from_ref(&self.pending);
        let adapter_in = SequentialSliceOfVecs::new(input, 1, self.pending.len())
            .map_err(|e| anyhow!("resampler input: {e}"))?;
        let out_frames = self.output[0].len();
        let mut adapter_out = SequentialSliceOfVecs::new_mut(&mut self.output, 1, out_frames)
            .map_err(|e| anyhow!("resampler output: {e}"))?;
        let indexing = Indexing {
            input_offset: offset,
            output_offset: 0,
            active_channels_mask: None,
            partial_len,
        };
        let (used, made) = self
            .inner
            .process_into_buffer(&adapter_in, &mut adapter_out, Some(&indexing))
            .map_err(|e| anyhow!("resampling failed: {e}"))?;
        let skipped = made.min(self.to_skip);
        self.to_skip -= skipped;
        let wanted = (made - skipped).min(limit - self.output_frames);
        sink(&self.output[0][skipped..skipped + wanted]);
        self.output_frames += wanted;
        Ok(used)
    }
}

#[cfg(test)]
mod tests {
    use super::super::log_mel_of;
    use super::*;
    use crate::engine::audio_io::downmix;

    fn noise(len: usize, seed: u64) -> Vec<f32> {
        let mut rng = crate::synth::Lcg::new(seed);
        (0..len).map(|_| rng.sample()).collect()
    }

    fn streamed(channels: &[Vec<f32>], rate: u32, blocks: &[usize]) -> LogMel {
        let mut analysis = StreamingLogMel::new(&FeatureConfig::default(), rate).unwrap();
        let mut at = 0;
        let mut sizes = blocks.iter().cycle();
        while at < channels[0].len() {
            let end = (at + sizes.next().unwrap()).min(channels[0].len());
            let block: Vec<Vec<f32>> = channels.iter().map(|c| c[at..end].to_vec()).collect();
            analysis.push(&downmix(&block)).unwrap();
            at = end;
        }
        analysis.finish().unwrap()
    }

    #[test]
    fn blocks_of_any_size_give_the_whole_file_analysis_bit_for_bit() {
        let config = FeatureConfig::default();
        for (rate, len) in [
            (44_100, 44_100 + 77),
            (48_000, 1000),
            (22_050, 30_001),
            (8000, 1024),
        ] {
            let channels = vec![noise(len, 1), noise(len, 2)];
            let mut extractor = LogMelExtractor::new(&config).unwrap();
            let whole = log_mel_of(&mut extractor, &channels, rate).unwrap();
            for blocks in [&[1024][..], &[1, 4095, 333], &[len]] {
                let s = streamed(&channels, rate, blocks);
                assert_eq!(
                    s.frames(),
                    whole.frames(),
                    "{rate} Hz, {len} frames, {blocks:?}"
                );
                assert!(s.data == whole.data, "{rate} Hz, {len} frames, {blocks:?}");
            }
        }
    }

    #[test]
    fn taken_and_closing_frames_are_the_whole_analysis_while_it_stays_open() {
        // At the analysis rate (no resampler delay) the closing frames are exactly those that
        // finish adds; taking frames as they come loses none and repeats none.
        let config = FeatureConfig::default();
        let signal = noise(30_001, 3);
        let mut extractor = LogMelExtractor::new(&config).unwrap();
        let whole = log_mel_of(&mut extractor, std::slice::from_ref(&signal), 22_050).unwrap();
        let mut analysis = StreamingLogMel::new(&config, 22_050).unwrap();
        let mut taken = Vec::new();
        for block in signal.chunks(777) {
            analysis.push(block).unwrap();
            analysis.take_frames(&mut taken);
        }
        let mut open = taken.clone();
        open.extend(analysis.closing_frames());
        assert!(open == whole.data);
        // Still open: more audio, then finish, gives the rest of the frames.
        analysis.push(&signal[..5000]).unwrap();
        taken.extend(analysis.finish().unwrap().data);
        let longer: Vec<f32> = signal.iter().chain(&signal[..5000]).copied().collect();
        let whole = log_mel_of(&mut extractor, &[longer], 22_050).unwrap();
        assert!(taken == whole.data);
    }
}
