//! Reading any common audio file into planar `f32`, and writing WAV.
//!
//! Every error names the file and the problem, because users point the tool at whole folders of
//! recordings and need to know which one is broken.

use std::path::Path;

use anyhow::{anyhow, Context, Result};
use serde::{Deserialize, Serialize};

mod reader;

pub use reader::AudioReader;

/// Decoded audio: one `Vec<f32>` per channel, all the same length, samples in [-1, 1].
#[derive(Debug, Clone, PartialEq)]
pub struct AudioClip {
    /// Sample rate in Hz.
    pub sample_rate: u32,
    /// Planar samples, one vector per channel.
    pub channels: Vec<Vec<f32>>,
    /// How many NaN or infinite samples were found on reading and replaced by silence.
    pub repaired_samples: usize,
}

impl AudioClip {
    /// A clip from planar samples.
    pub fn new(sample_rate: u32, channels: Vec<Vec<f32>>) -> Self {
        Self {
            sample_rate,
            channels,
            repaired_samples: 0,
        }
    }

    /// Number of sample frames (samples per channel).
    pub fn frames(&self) -> usize {
        self.channels.first().map_or(0, Vec::len)
    }

    /// Length in seconds.
    pub fn duration(&self) -> f64 {
        self.frames() as f64 / f64::from(self.sample_rate.max(1))
    }

    /// The average of all channels: analysis looks at the whole mix, not at one side.
    pub fn mono(&self) -> Vec<f32> {
        downmix(&self.channels)
    }
}

/// Averages planar channels into one.
pub fn downmix(channels: &[Vec<f32>]) -> Vec<f32> {
    let frames = channels.first().map_or(0, Vec::len);
    let mut out = vec![0.0f32; frames];
    if channels.is_empty() {
        return out;
    }
    for ch in channels {
        for (o, s) in out.iter_mut().zip(ch) {
            *o += *s;
        }
    }
    let scale = 1.0 / channels.len() as f32;
    out.iter_mut().for_each(|o| *o *= scale);
    out
}

/// Decodes WAV, FLAC, Ogg Vorbis or MP3 at any rate and channel count, whole.
///
/// Fails with the file named when it is missing, not audio, truncated or holds no samples.
/// NaN and infinite samples (possible in float WAV) are replaced by silence and counted in
/// [`AudioClip::repaired_samples`], since one bad sample should not make a whole session unusable.
/// Long recordings are better read a block at a time with [`AudioReader`].
pub fn read_audio(path: &Path) -> Result<AudioClip> {
    let mut reader = AudioReader::open(path)?;
    let mut channels = vec![Vec::new(); reader.channels()];
    while let Some(block) = reader.next_block()? {
        for (ch, plane) in channels.iter_mut().zip(block) {
            ch.extend_from_slice(plane);
        }
    }
    Ok(AudioClip {
        sample_rate: reader.sample_rate(),
        channels,
        repaired_samples: reader.repaired_samples(),
    })
}

/// Sample encodings for WAV output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum WavFormat {
    /// 16-bit integer PCM.
    Int16,
    /// 24-bit integer PCM.
    Int24,
    /// 32-bit IEEE float.
    Float32,
}

/// Writes planar samples as a WAV file with the given rate and encoding.
///
/// Integer formats clip to full scale rather than wrap, since wrap-around is a loud click.
pub fn write_wav(path: &Path, clip: &AudioClip, format: WavFormat) -> Result<()> {
    write_wav_inner(path, clip, format)
        .with_context(|| format!("cannot write WAV file {}", path.display()))
}

fn write_wav_inner(path: &Path, clip: &AudioClip, format: WavFormat) -> Result<()> {
    let channel_count = u16::try_from(clip.channels.len().max(1))
        .map_err(|_| anyhow!("too many channels ({})", clip.channels.len()))?;
    let (bits_per_sample, sample_format) = match format {
        WavFormat::Int16 => (16, hound::SampleFormat::Int),
        WavFormat::Int24 => (24, hound::SampleFormat::Int),
        WavFormat::Float32 => (32, hound::SampleFormat::Float),
    };
    let spec = hound::WavSpec {
        channels: channel_count,
        sample_rate: clip.sample_rate,
        bits_per_sample,
        sample_format,
    };
    let mut writer = hound::WavWriter::create(path, spec)?;
    let frames = clip.frames();
    for i in 0..frames {
        for ch in &clip.channels {
            let s = ch[i];
            match format {
                WavFormat::Float32 => writer.write_sample(s)?,
                WavFormat::Int16 => writer.write_sample(quantise(s, 16) as i16)?,
                WavFormat::Int24 => writer.write_sample(quantise(s, 24))?,
            }
        }
    }
    writer.finalize()?;
    Ok(())
}

fn quantise(sample: f32, bits: u32) -> i32 {
    let full_scale = (1i64 << (bits - 1)) as f64;
    let v = (f64::from(sample) * full_scale).round();
    v.clamp(-full_scale, full_scale - 1.0) as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantise_clips_instead_of_wrapping() {
        assert_eq!(quantise(2.0, 16), 32767);
        assert_eq!(quantise(-2.0, 16), -32768);
        assert_eq!(quantise(0.5, 16), 16384);
        assert_eq!(quantise(-1.0, 24), -8_388_608);
    }

    #[test]
    fn downmix_averages_channels() {
        let m = downmix(&[vec![1.0, 0.0], vec![0.0, 1.0]]);
        assert_eq!(m, vec![0.5, 0.5]);
        assert!(downmix(&[]).is_empty());
    }
}
