//! Preparing a clip for alignment: one finite mono signal at the fine analysis rate, and a
//! band-passed copy at the coarse rate for the offset search.

use anyhow::{bail, Result};

use crate::engine::audio_io::AudioClip;
use crate::engine::features::resample_mono;

/// Rate of the waveform that joins are placed on. 16 kHz keeps everything lossy codecs preserve
/// well and gives 62.5 µs resolution, far finer than the 20 ms the alignment promises.
pub(super) const FINE_RATE: u32 = 16_000;
/// Fine samples per coarse sample.
pub(super) const DECIMATION: usize = 4;
/// Rate of the offset search: 2 kHz of bandwidth identifies a passage of music unambiguously,
/// and a quarter of the samples makes the search over every raw offset four times cheaper.
pub(super) const COARSE_RATE: u32 = FINE_RATE / DECIMATION as u32;

/// Lowest and highest sample rates accepted. Below 4 kHz there is too little bandwidth to match;
/// the upper bound stops a corrupt header from making the resampler allocate without limit.
const MIN_RATE: u32 = 4_000;
const MAX_RATE: u32 = 768_000;

/// Pre-emphasis coefficient: a first-difference filter that tilts music's falling spectrum
/// towards flat, so correlation peaks are sharp instead of as wide as a bass note.
const PRE_EMPHASIS: f32 = 0.95;

/// A clip reduced to what alignment needs.
pub(super) struct Track {
    /// Mono at [`FINE_RATE`]; sample `n` lies at `n / FINE_RATE` seconds of the clip.
    pub fine: Vec<f32>,
    /// Pre-emphasised mono at [`COARSE_RATE`].
    pub coarse: Vec<f32>,
}

/// Downmixes, repairs, resamples and band-passes `clip`; `what` names it in errors.
pub(super) fn prepare(clip: &AudioClip, what: &str) -> Result<Track> {
    if !(MIN_RATE..=MAX_RATE).contains(&clip.sample_rate) {
        bail!(
            "the {what} has an unsupported sample rate of {} Hz (expected {MIN_RATE} to \
             {MAX_RATE} Hz)",
            clip.sample_rate
        );
    }
    if clip.frames() == 0 {
        bail!("the {what} holds no audio samples");
    }
    let mut mono = clip.mono();
    // Clips built in memory have not been through `read_audio`'s repair.
    for s in &mut mono {
        if !s.is_finite() {
            *s = 0.0;
        }
    }
    let fine = resample_mono(&mono, clip.sample_rate, FINE_RATE)?;
    let mut coarse = resample_mono(&fine, FINE_RATE, COARSE_RATE)?;
    pre_emphasise(&mut coarse);
    smooth(&mut coarse);
    Ok(Track { fine, coarse })
}

/// The `[1, 2, 1] / 4` filter, in place: it removes the top of the coarse band, which pre-emphasis
/// made dominant. A true offset falls between coarse samples; near the Nyquist frequency half a
/// sample is half a cycle, so without this the correlation at the nearest whole sample can fall
/// below that of a wrong offset. Emphasis and smoothing together leave a band around 0.7 kHz.
fn smooth(signal: &mut [f32]) {
    let mut previous = 0.0f32;
    for n in 0..signal.len() {
        let next = signal.get(n + 1).copied().unwrap_or(0.0);
        let current = signal[n];
        signal[n] = 0.25 * previous + 0.5 * current + 0.25 * next;
        previous = current;
    }
}

/// `x[n] - PRE_EMPHASIS * x[n - 1]`, in place.
fn pre_emphasise(signal: &mut [f32]) {
    for n in (1..signal.len()).rev() {
        signal[n] -= PRE_EMPHASIS * signal[n - 1];
    }
}

/// Sum of squares, in f64 so that minutes of audio add up without losing the quiet parts.
pub(super) fn energy(signal: &[f32]) -> f64 {
    signal.iter().map(|&s| f64::from(s) * f64::from(s)).sum()
}

/// Prefix sums of squares: `prefix[i]` is the energy of `signal[..i]`.
pub(super) fn energy_prefix(signal: &[f32]) -> Vec<f64> {
    let mut prefix = Vec::with_capacity(signal.len() + 1);
    let mut acc = 0.0f64;
    prefix.push(acc);
    for &s in signal {
        acc += f64::from(s) * f64::from(s);
        prefix.push(acc);
    }
    prefix
}
