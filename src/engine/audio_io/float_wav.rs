//! 32-bit float WAV written the way sox and libsndfile write it: a WAVE_FORMAT_IEEE_FLOAT `fmt `
//! chunk of 18 bytes and a `fact` chunk. hound 3.5 writes float as WAVE_FORMAT_EXTENSIBLE, which
//! sox reads with a warning ("wave header missing extended part of fmt chunk").

use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::Path;

use anyhow::{bail, Result};

/// Bytes before the samples: RIFF header 12, `fmt ` 8 + 18, `fact` 8 + 4, `data` header 8.
const HEADER_BYTES: u64 = 58;
/// The `fmt ` tag of IEEE float samples.
const WAVE_FORMAT_IEEE_FLOAT: u16 = 3;

/// A float WAV being written; [`Self::finish`] fills in the sizes.
pub(super) struct FloatWavWriter {
    file: BufWriter<File>,
    channels: usize,
    frames: u64,
}

impl FloatWavWriter {
    pub(super) fn create(path: &Path, sample_rate: u32, channels: u16) -> Result<Self> {
        let mut file = BufWriter::new(File::create(path)?);
        let block_align = channels * 4;
        let mut header = Vec::with_capacity(HEADER_BYTES as usize);
        header.extend_from_slice(b"RIFF\0\0\0\0WAVEfmt ");
        header.extend_from_slice(&18u32.to_le_bytes());
        header.extend_from_slice(&WAVE_FORMAT_IEEE_FLOAT.to_le_bytes());
        header.extend_from_slice(&channels.to_le_bytes());
        header.extend_from_slice(&sample_rate.to_le_bytes());
        header.extend_from_slice(&(sample_rate * u32::from(block_align)).to_le_bytes());
        header.extend_from_slice(&block_align.to_le_bytes());
        header.extend_from_slice(&32u16.to_le_bytes());
        header.extend_from_slice(&0u16.to_le_bytes());
        header.extend_from_slice(b"fact");
        header.extend_from_slice(&4u32.to_le_bytes());
        header.extend_from_slice(&0u32.to_le_bytes());
        header.extend_from_slice(b"data\0\0\0\0");
        debug_assert_eq!(header.len() as u64, HEADER_BYTES);
        file.write_all(&header)?;
        Ok(Self {
            file,
            channels: usize::from(channels),
            frames: 0,
        })
    }

    /// Appends planar samples, interleaving them.
    pub(super) fn write(&mut self, block: &[Vec<f32>]) -> Result<()> {
        let frames = block.first().map_or(0, Vec::len);
        let bytes = (self.frames + frames as u64) * self.channels as u64 * 4;
        if HEADER_BYTES + bytes - 8 > u64::from(u32::MAX) {
            bail!("the audio is too long for a WAV file (over 4 GiB)");
        }
        for i in 0..frames {
            for ch in block.iter().take(self.channels) {
                self.file.write_all(&ch[i].to_le_bytes())?;
            }
        }
        self.frames += frames as u64;
        Ok(())
    }

    /// Writes the chunk sizes and flushes.
    pub(super) fn finish(mut self) -> Result<()> {
        // Sizes fit: `write` refuses audio past 4 GiB.
        let data_bytes = (self.frames * self.channels as u64 * 4) as u32;
        let patch = |file: &mut BufWriter<File>, at: u64, value: u32| -> Result<()> {
            file.seek(SeekFrom::Start(at))?;
            file.write_all(&value.to_le_bytes())?;
            Ok(())
        };
        patch(&mut self.file, 4, (HEADER_BYTES - 8) as u32 + data_bytes)?;
        patch(&mut self.file, 46, self.frames as u32)?;
        patch(&mut self.file, 54, data_bytes)?;
        self.file.flush()?;
        Ok(())
    }
}
