//! Reading any common audio file into planar `f32`, and writing WAV.
//!
//! Every error names the file and the problem, because users point the tool at whole folders of
//! recordings and need to know which one is broken.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context, Result};
use serde::{Deserialize, Serialize};

mod float_wav;
mod reader;

use float_wav::FloatWavWriter;

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
    let mut out = Vec::new();
    downmix_into(channels, &mut out);
    out
}

/// [`downmix`] into `out` (replacing what it held), so a stream of blocks reuses one buffer.
pub fn downmix_into(channels: &[Vec<f32>], out: &mut Vec<f32>) {
    out.clear();
    out.resize(channels.first().map_or(0, Vec::len), 0.0);
    if channels.is_empty() {
        return;
    }
    for ch in channels {
        for (o, s) in out.iter_mut().zip(ch) {
            *o += *s;
        }
    }
    let scale = 1.0 / channels.len() as f32;
    out.iter_mut().for_each(|o| *o *= scale);
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

/// The sample rate and length in frames of an audio file, found by decoding it (container
/// headers do not always state the length, or state it wrongly).
pub fn audio_length(path: &Path) -> Result<(u32, usize)> {
    let mut reader = AudioReader::open(path)?;
    while reader.next_block()?.is_some() {}
    Ok((reader.sample_rate(), reader.frames_read() as usize))
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
    let mut sink = WavSink::create(path, clip.sample_rate, clip.channels.len(), format)?;
    sink.write(&clip.channels)?;
    sink.finish()
}

/// A WAV file written a block at a time, so an edit of any length is written in constant memory.
///
/// Integer formats clip to full scale rather than wrap, since wrap-around is a loud click.
pub struct WavSink {
    path: PathBuf,
    writer: WavWriter,
}

enum WavWriter {
    Int(hound::WavWriter<BufWriter<File>>, u32),
    Float(FloatWavWriter),
}

impl WavSink {
    /// Creates `path` for `channels` channels at `sample_rate` Hz in `format`.
    pub fn create(
        path: &Path,
        sample_rate: u32,
        channels: usize,
        format: WavFormat,
    ) -> Result<Self> {
        let open = || -> Result<WavWriter> {
            let channels = u16::try_from(channels.max(1))
                .map_err(|_| anyhow!("too many channels ({channels})"))?;
            let bits = match format {
                WavFormat::Int16 => 16,
                WavFormat::Int24 => 24,
                WavFormat::Float32 => {
                    return Ok(WavWriter::Float(FloatWavWriter::create(
                        path,
                        sample_rate,
                        channels,
                    )?))
                }
            };
            let spec = hound::WavSpec {
                channels,
                sample_rate,
                bits_per_sample: bits as u16,
                sample_format: hound::SampleFormat::Int,
            };
            Ok(WavWriter::Int(hound::WavWriter::create(path, spec)?, bits))
        };
        let writer = open().with_context(|| format!("cannot write WAV file {}", path.display()))?;
        Ok(Self {
            path: path.to_path_buf(),
            writer,
        })
    }

    /// Appends planar samples (every channel the same length).
    pub fn write(&mut self, block: &[Vec<f32>]) -> Result<()> {
        let written = match &mut self.writer {
            WavWriter::Float(writer) => writer.write(block),
            WavWriter::Int(writer, bits) => write_int_samples(writer, *bits, block),
        };
        written.with_context(|| format!("cannot write WAV file {}", self.path.display()))
    }

    /// Completes the file's header.
    pub fn finish(self) -> Result<()> {
        let finished = match self.writer {
            WavWriter::Float(writer) => writer.finish(),
            WavWriter::Int(writer, _) => writer.finalize().map_err(Into::into),
        };
        finished.with_context(|| format!("cannot write WAV file {}", self.path.display()))
    }
}

/// Appends planar samples to an integer WAV, interleaved and quantised to `bits`.
fn write_int_samples(
    writer: &mut hound::WavWriter<BufWriter<File>>,
    bits: u32,
    block: &[Vec<f32>],
) -> Result<()> {
    for i in 0..block.first().map_or(0, Vec::len) {
        for ch in block {
            writer.write_sample(quantise(ch[i], bits))?;
        }
    }
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
    fn float_wav_has_the_plain_float_header_and_round_trips_exactly() {
        let path =
            std::env::temp_dir().join(format!("audio_slicer_f32_{}.wav", std::process::id()));
        let channels: Vec<Vec<f32>> = (0..8)
            .map(|c| {
                (0..1001)
                    .map(|i| (i * (c + 1)) as f32 / 9000.0 - 0.3)
                    .collect()
            })
            .collect();
        let clip = AudioClip::new(48_000, channels);
        write_wav(&path, &clip, WavFormat::Float32).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let u16_at = |i: usize| u16::from_le_bytes([bytes[i], bytes[i + 1]]);
        let u32_at = |i: usize| u32::from_le_bytes(bytes[i..i + 4].try_into().unwrap());
        assert_eq!(&bytes[12..16], b"fmt ");
        assert_eq!((u32_at(16), u16_at(20), u16_at(22)), (18, 3, 8));
        assert_eq!((&bytes[38..42], u32_at(46)), (&b"fact"[..], 1001));
        assert_eq!((&bytes[50..54], u32_at(54)), (&b"data"[..], 1001 * 8 * 4));
        assert_eq!(u32_at(4) as usize, bytes.len() - 8);
        assert_eq!(read_audio(&path).unwrap(), clip);
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn downmix_averages_channels() {
        let m = downmix(&[vec![1.0, 0.0], vec![0.0, 1.0]]);
        assert_eq!(m, vec![0.5, 0.5]);
        assert!(downmix(&[]).is_empty());
    }
}
