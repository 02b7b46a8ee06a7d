//! Log-mel features: downmix, resample to the analysis rate, STFT, mel filterbank, log.
//!
//! Conventions follow librosa's defaults (periodic Hann window, zero-padded centred frames,
//! Slaney mel scale and area normalisation, unnormalised power spectrum) so that features can be
//! checked against an independent reference, see `tests/fixtures/features/`.

use std::sync::Arc;

use anyhow::{anyhow, Result};
use realfft::{RealFftPlanner, RealToComplex};
use rubato::audioadapter_buffers::direct::SequentialSliceOfVecs;
use rubato::{Fft, FixedSync, Resampler};
use serde::{Deserialize, Serialize};

mod streaming;

pub use streaming::StreamingLogMel;

/// Input frames per resampler chunk (rubato's FFT resampler), shared by the whole-signal and the
/// streaming paths so that the two give the same samples.
const RESAMPLER_CHUNK: usize = 1024;

/// Parameters of the log-mel analysis. Stored with every model, since a model only understands
/// the features it was trained on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureConfig {
    /// Analysis sample rate in Hz; input is resampled to it.
    pub sample_rate: u32,
    /// FFT length in samples.
    pub n_fft: usize,
    /// Hop between frames in samples.
    pub hop: usize,
    /// Number of mel bands.
    pub n_mels: usize,
    /// Lowest band edge in Hz.
    pub f_min: f32,
    /// Highest band edge in Hz (at most half the analysis rate).
    pub f_max: f32,
    /// Added to mel power before the log so that digital silence stays finite.
    pub log_eps: f32,
}

impl Default for FeatureConfig {
    fn default() -> Self {
        Self {
            sample_rate: 22_050,
            n_fft: 1024,
            hop: 256,
            n_mels: 64,
            f_min: 0.0,
            f_max: 11_025.0,
            log_eps: 1e-6,
        }
    }
}

impl FeatureConfig {
    /// Frames per second of analysis.
    pub fn frame_rate(&self) -> f64 {
        f64::from(self.sample_rate) / self.hop as f64
    }

    /// Checks that the parameters make sense, so a corrupt model config fails early and clearly.
    pub fn validate(&self) -> Result<()> {
        if self.sample_rate < 1000 || self.n_fft < 16 || self.hop == 0 || self.n_mels == 0 {
            return Err(anyhow!("invalid feature parameters: {self:?}"));
        }
        let edges_ok = self.f_min >= 0.0 && self.f_max > self.f_min;
        // Written so that NaN parameters fail too.
        let floor_ok = self.log_eps > 0.0 && self.log_eps.is_finite();
        if !edges_ok || !floor_ok {
            return Err(anyhow!("invalid mel band edges or log floor: {self:?}"));
        }
        Ok(())
    }
}

/// A log-mel spectrogram, frame-major: frame `t` occupies `data[t * n_mels .. (t + 1) * n_mels]`.
#[derive(Debug, Clone, PartialEq)]
pub struct LogMel {
    /// Number of mel bands per frame.
    pub n_mels: usize,
    /// Frames per second.
    pub frame_rate: f64,
    /// The values, frame-major.
    pub data: Vec<f32>,
}

impl LogMel {
    /// Number of frames.
    pub fn frames(&self) -> usize {
        self.data.len() / self.n_mels.max(1)
    }

    /// The bands of frame `t`.
    pub fn frame(&self, t: usize) -> &[f32] {
        &self.data[t * self.n_mels..(t + 1) * self.n_mels]
    }
}

/// Hz to mel on the Slaney scale: linear below 1 kHz, logarithmic above.
pub fn hz_to_mel(hz: f64) -> f64 {
    const F_SP: f64 = 200.0 / 3.0;
    const MIN_LOG_HZ: f64 = 1000.0;
    let min_log_mel = MIN_LOG_HZ / F_SP;
    let logstep = 6.4f64.ln() / 27.0;
    if hz >= MIN_LOG_HZ {
        min_log_mel + (hz / MIN_LOG_HZ).ln() / logstep
    } else {
        hz / F_SP
    }
}

/// Mel (Slaney scale) to Hz.
pub fn mel_to_hz(mel: f64) -> f64 {
    const F_SP: f64 = 200.0 / 3.0;
    const MIN_LOG_HZ: f64 = 1000.0;
    let min_log_mel = MIN_LOG_HZ / F_SP;
    let logstep = 6.4f64.ln() / 27.0;
    if mel >= min_log_mel {
        MIN_LOG_HZ * (logstep * (mel - min_log_mel)).exp()
    } else {
        F_SP * mel
    }
}

/// Triangular mel filters with Slaney area normalisation, `n_mels` rows of `n_fft / 2 + 1`.
pub fn mel_filterbank(config: &FeatureConfig) -> Vec<Vec<f32>> {
    let bins = config.n_fft / 2 + 1;
    let sr = f64::from(config.sample_rate);
    let fft_freqs: Vec<f64> = (0..bins)
        .map(|k| k as f64 * sr / config.n_fft as f64)
        .collect();
    let lo = hz_to_mel(f64::from(config.f_min));
    let hi = hz_to_mel(f64::from(config.f_max));
    let edges: Vec<f64> = (0..config.n_mels + 2)
        .map(|i| mel_to_hz(lo + (hi - lo) * i as f64 / (config.n_mels + 1) as f64))
        .collect();
    (0..config.n_mels)
        .map(|m| {
            let (left, centre, right) = (edges[m], edges[m + 1], edges[m + 2]);
            let norm = 2.0 / (right - left);
            fft_freqs
                .iter()
                .map(|&f| {
                    let rising = (f - left) / (centre - left);
                    let falling = (right - f) / (right - centre);
                    (rising.min(falling).max(0.0) * norm) as f32
                })
                .collect()
        })
        .collect()
}

/// Computes log-mel frames; holds the FFT plan, window and filterbank so repeated calls (many
/// files, or a streaming analysis thread) allocate nothing per frame.
pub struct LogMelExtractor {
    config: FeatureConfig,
    fft: Arc<dyn RealToComplex<f32>>,
    window: Vec<f32>,
    /// Sparse filterbank: per band, the first bin and its weights.
    bands: Vec<(usize, Vec<f32>)>,
    frame_buf: Vec<f32>,
    spectrum: Vec<realfft::num_complex::Complex<f32>>,
    power: Vec<f32>,
    fft_scratch: Vec<realfft::num_complex::Complex<f32>>,
}

impl LogMelExtractor {
    /// Prepares an extractor for `config`.
    pub fn new(config: &FeatureConfig) -> Result<Self> {
        config.validate()?;
        let fft = RealFftPlanner::<f32>::new().plan_fft_forward(config.n_fft);
        // Periodic Hann, as spectral analysis (and librosa) uses.
        let window = (0..config.n_fft)
            .map(|n| {
                let phase = 2.0 * std::f64::consts::PI * n as f64 / config.n_fft as f64;
                (0.5 - 0.5 * phase.cos()) as f32
            })
            .collect();
        let bands = mel_filterbank(config)
            .into_iter()
            .map(|row| {
                let first = row.iter().position(|&w| w > 0.0).unwrap_or(0);
                let last = row.iter().rposition(|&w| w > 0.0).map_or(first, |l| l + 1);
                (first, row[first..last].to_vec())
            })
            .collect();
        Ok(Self {
            spectrum: fft.make_output_vec(),
            fft_scratch: fft.make_scratch_vec(),
            frame_buf: fft.make_input_vec(),
            power: vec![0.0; config.n_fft / 2 + 1],
            config: config.clone(),
            fft,
            window,
            bands,
        })
    }

    /// The configuration in use.
    pub fn config(&self) -> &FeatureConfig {
        &self.config
    }

    /// Log-mel of one frame of `n_fft` samples, written into `out` (`n_mels` values).
    pub fn frame_into(&mut self, samples: &[f32], out: &mut [f32]) {
        for ((dst, &s), &w) in self.frame_buf.iter_mut().zip(samples).zip(&self.window) {
            *dst = s * w;
        }
        // Lengths are fixed at construction, so the transform cannot fail.
        let _ = self.fft.process_with_scratch(
            &mut self.frame_buf,
            &mut self.spectrum,
            &mut self.fft_scratch,
        );
        for (p, c) in self.power.iter_mut().zip(&self.spectrum) {
            *p = c.norm_sqr();
        }
        for (o, (first, weights)) in out.iter_mut().zip(&self.bands) {
            let energy: f32 = weights
                .iter()
                .zip(&self.power[*first..])
                .map(|(w, p)| w * p)
                .sum();
            *o = (energy + self.config.log_eps).ln();
        }
    }

    /// Log-mel of a mono signal already at the analysis rate, with centred, zero-padded frames:
    /// frame `t` is centred on sample `t * hop`, and there are `1 + len / hop` frames.
    pub fn compute(&mut self, signal: &[f32]) -> LogMel {
        let (n_fft, hop, n_mels) = (self.config.n_fft, self.config.hop, self.config.n_mels);
        let frames = 1 + signal.len() / hop;
        let half = n_fft / 2;
        let mut padded = vec![0.0f32; signal.len() + 2 * half];
        padded[half..half + signal.len()].copy_from_slice(signal);
        let mut data = vec![0.0f32; frames * n_mels];
        for (t, out) in data.chunks_exact_mut(n_mels).enumerate() {
            let start = t * hop;
            let frame = &padded[start..start + n_fft];
            self.frame_into(frame, out);
        }
        LogMel {
            n_mels,
            frame_rate: self.config.frame_rate(),
            data,
        }
    }
}

/// Resamples a mono signal; returns it unchanged when the rates already match.
pub fn resample_mono(signal: &[f32], from_rate: u32, to_rate: u32) -> Result<Vec<f32>> {
    if from_rate == to_rate || signal.is_empty() {
        return Ok(signal.to_vec());
    }
    let mut resampler = Fft::<f32>::new(
        from_rate as usize,
        to_rate as usize,
        RESAMPLER_CHUNK,
        1,
        FixedSync::Input,
    )
    .map_err(|e| anyhow!("cannot resample from {from_rate} Hz to {to_rate} Hz: {e}"))?;
    let input = [signal.to_vec()];
    let adapter = SequentialSliceOfVecs::new(&input[..], 1, signal.len())
        .map_err(|e| anyhow!("resampler input: {e}"))?;
    let out = resampler
        .process_all(&adapter, signal.len(), None)
        .map_err(|e| anyhow!("resampling failed: {e}"))?;
    Ok(out.take_data())
}

/// Downmixed, resampled log-mel of planar audio at `sample_rate`.
pub fn log_mel_of(
    extractor: &mut LogMelExtractor,
    channels: &[Vec<f32>],
    sample_rate: u32,
) -> Result<LogMel> {
    let mono = super::audio_io::downmix(channels);
    let analysis_rate = extractor.config().sample_rate;
    let resampled = resample_mono(&mono, sample_rate, analysis_rate)?;
    Ok(extractor.compute(&resampled))
}

/// Per-band mean and standard deviation of log-mel values, learned from training data so the
/// model sees inputs of unit scale whatever the recording level of the training set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureStats {
    /// Mean of each band.
    pub mean: Vec<f32>,
    /// Standard deviation of each band (floored so no band divides by zero).
    pub std: Vec<f32>,
}

impl FeatureStats {
    /// Statistics over every frame of every spectrogram.
    pub fn fit(spectrograms: &[LogMel]) -> Result<Self> {
        let n_mels = spectrograms
            .first()
            .map(|s| s.n_mels)
            .ok_or_else(|| anyhow!("no features to learn statistics from"))?;
        let mut sum = vec![0.0f64; n_mels];
        let mut sum_sq = vec![0.0f64; n_mels];
        let mut count = 0usize;
        for spec in spectrograms {
            for frame in spec.data.chunks_exact(n_mels) {
                for (i, &v) in frame.iter().enumerate() {
                    sum[i] += f64::from(v);
                    sum_sq[i] += f64::from(v) * f64::from(v);
                }
                count += 1;
            }
        }
        if count == 0 {
            return Err(anyhow!("no feature frames to learn statistics from"));
        }
        let n = count as f64;
        let mean: Vec<f32> = sum.iter().map(|s| (s / n) as f32).collect();
        let std = sum_sq
            .iter()
            .zip(&sum)
            .map(|(sq, s)| ((sq / n - (s / n).powi(2)).max(0.0).sqrt() as f32).max(1e-3))
            .collect();
        Ok(Self { mean, std })
    }

    /// Normalises a spectrogram in place.
    pub fn apply(&self, spec: &mut LogMel) {
        for frame in spec.data.chunks_exact_mut(spec.n_mels) {
            for ((v, m), s) in frame.iter_mut().zip(&self.mean).zip(&self.std) {
                *v = (*v - m) / s;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mel_scale_round_trips() {
        for hz in [0.0, 200.0, 999.0, 1000.0, 4000.0, 11025.0] {
            assert!((mel_to_hz(hz_to_mel(hz)) - hz).abs() < 1e-6);
        }
        assert!((hz_to_mel(1000.0) - 15.0).abs() < 1e-12);
    }

    #[test]
    fn frame_count_and_silence_are_finite() {
        let mut ex = LogMelExtractor::new(&FeatureConfig::default()).unwrap();
        let spec = ex.compute(&vec![0.0; 2560]);
        assert_eq!(spec.frames(), 11);
        assert!(spec.data.iter().all(|v| (*v - 1e-6f32.ln()).abs() < 1e-3));
        assert_eq!(ex.compute(&[0.5]).frames(), 1);
    }

    #[test]
    fn a_tone_peaks_in_the_band_that_contains_it() {
        let config = FeatureConfig::default();
        let mut ex = LogMelExtractor::new(&config).unwrap();
        let tone: Vec<f32> = (0..22050)
            .map(|n| (2.0 * std::f32::consts::PI * 3000.0 * n as f32 / 22050.0).sin())
            .collect();
        let spec = ex.compute(&tone);
        let frame = spec.frame(40);
        let peak = (0..config.n_mels)
            .max_by(|&a, &b| frame[a].total_cmp(&frame[b]))
            .unwrap();
        let centre = |m: usize| {
            let lo = hz_to_mel(0.0);
            let hi = hz_to_mel(11025.0);
            mel_to_hz(lo + (hi - lo) * (m + 1) as f64 / 65.0)
        };
        assert!(centre(peak - 1) < 3000.0 && centre(peak + 1) > 3000.0);
    }

    #[test]
    fn resampling_keeps_duration_and_pitch() {
        let tone: Vec<f32> = (0..44100)
            .map(|n| (2.0 * std::f32::consts::PI * 1000.0 * n as f32 / 44100.0).sin())
            .collect();
        let out = resample_mono(&tone, 44100, 22050).unwrap();
        assert!((out.len() as i64 - 22050).abs() <= 2, "{}", out.len());
        // Zero crossings per second stay at 2000 for a 1 kHz tone.
        let crossings = out[1000..21000]
            .windows(2)
            .filter(|w| (w[0] < 0.0) != (w[1] < 0.0))
            .count();
        assert!((crossings as i64 - 1814).abs() <= 4, "{crossings}");
    }

    #[test]
    fn stats_normalise_to_zero_mean_unit_variance() {
        let spec = LogMel {
            n_mels: 2,
            frame_rate: 1.0,
            data: vec![1.0, 10.0, 3.0, 10.0, 5.0, 10.0],
        };
        let stats = FeatureStats::fit(std::slice::from_ref(&spec)).unwrap();
        let mut normed = spec.clone();
        stats.apply(&mut normed);
        let band0: Vec<f32> = normed.data.iter().step_by(2).copied().collect();
        assert!((band0.iter().sum::<f32>()).abs() < 1e-5);
        assert!(normed.data.iter().all(|v| v.is_finite()));
        assert!(FeatureStats::fit(&[]).is_err());
    }
}
