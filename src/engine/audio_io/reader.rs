//! Decoding a file a block at a time, so that a recording of any length is read in constant
//! memory: the analysis and the render each take one pass over it.

use std::fs::File;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use symphonia::core::codecs::audio::{AudioDecoder, AudioDecoderOptions};
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, FormatReader, TrackType};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;

/// An open audio file (WAV, FLAC, Ogg Vorbis or MP3) handing out planar blocks of samples.
///
/// Opening decodes the first block, so the sample rate and channel count are those of real
/// audio and a file without any is refused at once. NaN and infinite samples are replaced by
/// silence and counted. Every error names the file.
pub struct AudioReader {
    path: PathBuf,
    format: Box<dyn FormatReader>,
    decoder: Box<dyn AudioDecoder>,
    track_id: u32,
    sample_rate: u32,
    block: Vec<Vec<f32>>,
    /// The first block, decoded by `open` and not yet handed out.
    first_pending: bool,
    /// Set once decoding has failed, so a reader that panicked inside the decoder is not used again.
    failed: bool,
    frames_read: u64,
    repaired_samples: usize,
}

impl AudioReader {
    /// Opens `path` and decodes its first block.
    pub fn open(path: &Path) -> Result<Self> {
        guard(|| Self::open_inner(path))
            .with_context(|| format!("cannot read audio file {}", path.display()))
    }

    fn open_inner(path: &Path) -> Result<Self> {
        let file = File::open(path).map_err(|e| anyhow!("{e}"))?;
        if file.metadata().map(|m| m.len()).unwrap_or(0) == 0 {
            bail!("the file is empty (0 bytes)");
        }
        let mss = MediaSourceStream::new(Box::new(file), Default::default());
        let mut hint = Hint::new();
        if let Some(ext) = path.extension().and_then(|e| e.to_str()) {
            hint.with_extension(ext);
        }
        let format = symphonia::default::get_probe()
            .probe(
                &hint,
                mss,
                FormatOptions::default(),
                MetadataOptions::default(),
            )
            .map_err(|e| {
                anyhow!("not a recognised audio file (WAV, FLAC, Ogg Vorbis, MP3): {e}")
            })?;
        let track = format
            .default_track(TrackType::Audio)
            .ok_or_else(|| anyhow!("the file has no audio track"))?;
        let track_id = track.id;
        let params = track
            .codec_params
            .as_ref()
            .and_then(|p| p.audio())
            .ok_or_else(|| anyhow!("the audio track has no codec parameters"))?
            .clone();
        let decoder = symphonia::default::get_codecs()
            .make_audio_decoder(&params, &AudioDecoderOptions::default())
            .map_err(|e| anyhow!("unsupported codec: {e}"))?;
        let mut reader = Self {
            path: path.to_path_buf(),
            format,
            decoder,
            track_id,
            sample_rate: params.sample_rate.unwrap_or(0),
            block: Vec::new(),
            first_pending: false,
            failed: false,
            frames_read: 0,
            repaired_samples: 0,
        };
        if !reader.decode_block()? {
            bail!("the file contains no audio samples");
        }
        if reader.sample_rate == 0 {
            bail!("the file does not state its sample rate");
        }
        reader.first_pending = true;
        Ok(reader)
    }

    /// The file being read.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Sample rate in Hz.
    pub fn sample_rate(&self) -> u32 {
        self.sample_rate
    }

    /// Number of channels.
    pub fn channels(&self) -> usize {
        self.block.len()
    }

    /// Sample frames handed out so far (all of them once [`Self::next_block`] returned `None`).
    pub fn frames_read(&self) -> u64 {
        self.frames_read
    }

    /// NaN or infinite samples replaced by silence so far.
    pub fn repaired_samples(&self) -> usize {
        self.repaired_samples
    }

    /// The next block of planar samples (every channel the same length, at least one frame),
    /// or `None` at the end of the stream. The block is overwritten by the next call.
    pub fn next_block(&mut self) -> Result<Option<&[Vec<f32>]>> {
        if self.first_pending {
            self.first_pending = false;
        } else if !self.decode_next()? {
            return Ok(None);
        }
        self.frames_read += self.block[0].len() as u64;
        Ok(Some(&self.block))
    }

    fn decode_next(&mut self) -> Result<bool> {
        if self.failed {
            bail!(
                "cannot read audio file {}: decoding already failed",
                self.path.display()
            );
        }
        let decoded = guard(|| self.decode_block());
        if decoded.is_err() {
            self.failed = true;
        }
        decoded.with_context(|| format!("cannot read audio file {}", self.path.display()))
    }

    /// Decodes packets until one yields samples; `false` at the end of the stream.
    fn decode_block(&mut self) -> Result<bool> {
        loop {
            let packet = match self.format.next_packet() {
                Ok(Some(packet)) => packet,
                Ok(None) => return Ok(false),
                Err(SymphoniaError::IoError(e))
                    if e.kind() == std::io::ErrorKind::UnexpectedEof =>
                {
                    bail!("the file is truncated (the stream ends in the middle of its data)")
                }
                Err(e) => bail!("the stream is damaged: {e}"),
            };
            if packet.track_id != self.track_id {
                continue;
            }
            let decoded = match self.decoder.decode(&packet) {
                Ok(buf) => buf,
                // A single corrupt packet in a long take is better skipped than fatal.
                Err(SymphoniaError::DecodeError(_)) => continue,
                Err(SymphoniaError::IoError(e))
                    if e.kind() == std::io::ErrorKind::UnexpectedEof =>
                {
                    bail!("the file is truncated (the last packet is incomplete)")
                }
                Err(e) => bail!("decoding failed: {e}"),
            };
            let channels_before = self.block.len();
            self.sample_rate = decoded.spec().rate();
            decoded.copy_to_vecs_planar(&mut self.block);
            if channels_before != 0 && self.block.len() != channels_before {
                bail!("the channel count changes in the middle of the stream");
            }
            if self.block.first().is_none_or(Vec::is_empty) {
                continue;
            }
            self.repaired_samples += repair_non_finite(&mut self.block);
            return Ok(true);
        }
    }
}

/// Runs `f`, turning a panic inside the decoder into an error.
///
/// A decoder bug must not take the program down on a damaged file: symphonia-format-riff
/// 0.6.1, for one, overflows a u16 on some damaged WAV headers (a panic where overflow checks
/// are on), found by tests/fuzz_readers.rs.
fn guard<T>(f: impl FnOnce() -> Result<T>) -> Result<T> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|panic| {
        let why = panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        Err(anyhow!("the decoder failed on damaged data ({why})"))
    })
}

/// Replaces NaN/Inf with 0 and returns how many were replaced.
fn repair_non_finite(channels: &mut [Vec<f32>]) -> usize {
    let mut repaired = 0;
    for s in channels.iter_mut().flatten() {
        if !s.is_finite() {
            *s = 0.0;
            repaired += 1;
        }
    }
    repaired
}
