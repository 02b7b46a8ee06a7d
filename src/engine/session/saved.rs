//! A session's analysis as a project keeps it: per region, the scoring planning reads and the
//! fingerprint replays are compared with, packed into a few bytes a second (never audio or
//! spectrogram frames). A restored session plans exactly as the live one did; its regions are
//! closed (audio heard after them starts new regions) and are analysed again only where the
//! audio at their position changes.

use anyhow::{bail, ensure, Context, Result};
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use std::io::{Read, Write};
use std::sync::Arc;

use super::region::{Region, Scored};
use super::{Cursor, SessionEdit, FINGERPRINT_BLOCK};
use crate::engine::beats::BeatGrid;
use crate::engine::boundaries::ChangeCurve;
use crate::engine::scoring::ScoreTimeline;
use crate::engine::slicer::Slicer;

/// Layout of [`SavedRegion::packed`]: 2 stores each array as byte planes (every value's first
/// byte, then every second byte...), which deflates a fifth smaller than 1's values one after
/// another; 1 is still read. Another version is refused, never misread.
const FORMAT: u32 = 2;
/// The formats this version reads.
const READS: [u32; 2] = [1, 2];

/// The analysis of a session, as saved with a project.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedSession {
    format: u32,
    /// Sample rate the timeline was heard at.
    rate: u32,
    regions: Vec<SavedRegion>,
}

/// One region's scoring and fingerprint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct SavedRegion {
    start: u64,
    samples: u64,
    first_block: u64,
    tempo_bpm: f64,
    frame_rate: f64,
    segment_frames: u32,
    hop_frames: u32,
    duration: f64,
    /// The arrays (see [`pack`]), deflated, in base64 so the host's JSON state holds them as
    /// one string.
    packed: String,
}

impl SavedSession {
    /// The sample rate the saved timeline was heard at.
    pub fn rate(&self) -> u32 {
        self.rate
    }

    /// Bytes the packed analysis takes (what the project grows by).
    pub fn packed_bytes(&self) -> usize {
        self.regions.iter().map(|r| r.packed.len()).sum()
    }
}

impl SessionEdit {
    /// The analysis of everything heard, for saving. Regions not scored since they last
    /// changed are scored first.
    pub fn save(&mut self) -> Result<SavedSession> {
        let rate = f64::from(self.rate);
        let mut regions = Vec::with_capacity(self.regions.len());
        for region in self.regions.iter_mut().filter(|r| r.heard()) {
            let (start, samples, first_block) = (region.start, region.samples, region.first_block);
            let fingerprint = region.fingerprint.clone();
            let scored = region.score(&self.model, rate)?;
            regions.push(SavedRegion::of(
                start,
                samples,
                first_block,
                &fingerprint,
                scored,
            )?);
        }
        Ok(SavedSession {
            format: FORMAT,
            rate: self.rate,
            regions,
        })
    }

    /// A session continuing `saved`, scored with `model` (the one it was saved with: the
    /// scores are the model's). Fails, naming the problem, on a damaged or foreign state.
    pub fn restore(model: Arc<Slicer>, saved: &SavedSession) -> Result<Self> {
        ensure!(
            READS.contains(&saved.format),
            "the saved analysis has format {} (this version reads {READS:?})",
            saved.format
        );
        let planes = saved.format >= 2;
        let mut session = Self::new(model, saved.rate)?;
        let frame_rate = session.model.features().frame_rate();
        let mut end = 0;
        for (i, region) in saved.regions.iter().enumerate() {
            let restored = region
                .restore(frame_rate, planes)
                .with_context(|| format!("saved analysis, region {}", i + 1))?;
            ensure!(
                restored.start >= end,
                "saved analysis, region {}: overlaps the one before",
                i + 1
            );
            end = restored.start + restored.samples;
            session.regions.push(restored);
        }
        session.cursor = Cursor::Idle;
        Ok(session)
    }
}

impl SavedRegion {
    fn of(
        start: u64,
        samples: u64,
        first_block: u64,
        fingerprint: &[f32],
        scored: &Scored,
    ) -> Result<Self> {
        let frame_rate = scored.curve.frame_rate;
        let timeline = &scored.timeline;
        let frames = |seconds: f64| (seconds * frame_rate).round() as u32;
        let mut out = Packer::default();
        out.floats(fingerprint.iter().copied());
        out.deltas(timeline.segments.iter().map(|s| frames(s.start)));
        out.floats(timeline.segments.iter().map(|s| s.score as f32));
        out.codes(&scored.curve.codes);
        for list in [
            &scored.beats.beats,
            &scored.beats.downbeats,
            &scored.beats.onsets,
        ] {
            out.deltas(list.iter().map(|&t| frames(t)));
        }
        let mut deflate =
            flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        deflate.write_all(&out.bytes)?;
        Ok(Self {
            start,
            samples,
            first_block,
            tempo_bpm: scored.beats.tempo_bpm,
            frame_rate,
            segment_frames: frames(timeline.segment_seconds),
            hop_frames: frames(timeline.hop_seconds),
            duration: timeline.duration,
            packed: base64::engine::general_purpose::STANDARD.encode(deflate.finish()?),
        })
    }

    fn restore(&self, frame_rate: f64, planes: bool) -> Result<Region> {
        ensure!(
            self.frame_rate == frame_rate,
            "analysed at {} frames a second, the model works at {frame_rate}",
            self.frame_rate
        );
        ensure!(
            self.first_block == self.start.div_ceil(FINGERPRINT_BLOCK),
            "its fingerprint does not start at its first whole block"
        );
        let deflated = base64::engine::general_purpose::STANDARD
            .decode(&self.packed)
            .context("the packed analysis is not base64")?;
        let mut bytes = Vec::new();
        flate2::read::DeflateDecoder::new(&deflated[..])
            .read_to_end(&mut bytes)
            .context("the packed analysis does not inflate")?;
        let mut input = Unpacker {
            bytes: &bytes,
            planes,
        };
        let fingerprint = input.floats()?;
        let starts = input.deltas()?;
        let scores = input.floats()?;
        let codes = input.codes()?;
        let mut times = || -> Result<Vec<f64>> {
            Ok(input
                .deltas()?
                .into_iter()
                .map(|f| f64::from(f) / frame_rate)
                .collect())
        };
        let (beats, downbeats, onsets) = (times()?, times()?, times()?);
        ensure!(
            input.bytes.is_empty(),
            "the packed analysis has trailing bytes"
        );
        ensure!(
            starts.len() == scores.len(),
            "segments and scores differ in number"
        );
        let blocks_inside =
            ((self.start + self.samples) / FINGERPRINT_BLOCK).saturating_sub(self.first_block);
        ensure!(
            fingerprint.len() as u64 == blocks_inside,
            "its fingerprint has {} blocks, the region {blocks_inside}",
            fingerprint.len()
        );
        ensure!(
            self.duration.is_finite() && self.duration >= 0.0,
            "its duration is {}",
            self.duration
        );
        let timeline = ScoreTimeline::from_frames(
            starts
                .into_iter()
                .map(|s| s as usize)
                .zip(scores.into_iter().map(f64::from)),
            self.segment_frames as usize,
            self.hop_frames as usize,
            frame_rate,
            self.duration,
        );
        let scored = Scored {
            samples: self.samples,
            timeline,
            beats: BeatGrid {
                tempo_bpm: self.tempo_bpm,
                beats,
                downbeats,
                onsets,
            },
            curve: ChangeCurve { codes, frame_rate },
        };
        Ok(Region::restored(
            self.start,
            self.samples,
            self.first_block,
            fingerprint,
            scored,
        ))
    }
}

/// Little-endian arrays, each after its length, as byte planes: the bytes of like values in
/// one place deflate far better than values one after another.
#[derive(Default)]
struct Packer {
    bytes: Vec<u8>,
}

impl Packer {
    fn len(&mut self, n: usize) {
        self.bytes.extend((n as u32).to_le_bytes());
    }

    fn planes<const N: usize>(&mut self, values: &[[u8; N]]) {
        self.len(values.len());
        for k in 0..N {
            self.bytes.extend(values.iter().map(|v| v[k]));
        }
    }

    fn floats(&mut self, values: impl Iterator<Item = f32>) {
        self.planes(&values.map(f32::to_le_bytes).collect::<Vec<_>>());
    }

    /// Ascending values as differences from the one before: mostly equal, so they deflate to
    /// almost nothing.
    fn deltas(&mut self, values: impl Iterator<Item = u32>) {
        let mut last = 0u32;
        let bytes: Vec<[u8; 4]> = values
            .map(|v| {
                let d = v.wrapping_sub(last);
                last = v;
                d.to_le_bytes()
            })
            .collect();
        self.planes(&bytes);
    }

    /// A smooth curve's codes, as differences, zigzagged so that small steps down as well as
    /// up leave their high byte zero.
    fn codes(&mut self, codes: &[u16]) {
        let mut last = 0u16;
        let bytes: Vec<[u8; 2]> = codes
            .iter()
            .map(|&c| {
                let d = c.wrapping_sub(last) as i16;
                last = c;
                (((d << 1) ^ (d >> 15)) as u16).to_le_bytes()
            })
            .collect();
        self.planes(&bytes);
    }
}

/// Reads what [`Packer`] wrote (`planes`), or format 1's values one after another.
struct Unpacker<'a> {
    bytes: &'a [u8],
    planes: bool,
}

impl Unpacker<'_> {
    fn take<const N: usize>(&mut self) -> Result<[u8; N]> {
        if self.bytes.len() < N {
            bail!("the packed analysis ends early");
        }
        let (head, rest) = self.bytes.split_at(N);
        self.bytes = rest;
        Ok(head.try_into().expect("split at N"))
    }

    /// An array of `N`-byte values.
    fn values<const N: usize>(&mut self) -> Result<Vec<[u8; N]>> {
        let n = u32::from_le_bytes(self.take()?) as usize;
        ensure!(
            n.saturating_mul(N) <= self.bytes.len(),
            "the packed analysis ends early"
        );
        let (head, rest) = self.bytes.split_at(n * N);
        self.bytes = rest;
        Ok((0..n)
            .map(|i| {
                std::array::from_fn(|k| {
                    if self.planes {
                        head[k * n + i]
                    } else {
                        head[i * N + k]
                    }
                })
            })
            .collect())
    }

    fn floats(&mut self) -> Result<Vec<f32>> {
        let values: Vec<f32> = self.values()?.into_iter().map(f32::from_le_bytes).collect();
        ensure!(
            values.iter().all(|v| v.is_finite()),
            "the packed analysis holds a value that is not a number"
        );
        Ok(values)
    }

    fn deltas(&mut self) -> Result<Vec<u32>> {
        let mut last = 0u32;
        Ok(self
            .values()?
            .into_iter()
            .map(|b| {
                last = last.wrapping_add(u32::from_le_bytes(b));
                last
            })
            .collect())
    }

    fn codes(&mut self) -> Result<Vec<u16>> {
        let planes = self.planes;
        let mut last = 0u16;
        Ok(self
            .values()?
            .into_iter()
            .map(|b| {
                let v = u16::from_le_bytes(b);
                let d = if planes {
                    ((v >> 1) as i16 ^ -((v & 1) as i16)) as u16
                } else {
                    v
                };
                last = last.wrapping_add(d);
                last
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrays_round_trip_as_byte_planes() {
        let mut out = Packer::default();
        out.floats([0.25f32, -1.5, 3.0].into_iter());
        out.deltas([3u32, 3, 10, 4_000_000].into_iter());
        out.codes(&[100, 90, 65_535, 0, 7]);
        let mut input = Unpacker {
            bytes: &out.bytes,
            planes: true,
        };
        assert_eq!(input.floats().unwrap(), vec![0.25, -1.5, 3.0]);
        assert_eq!(input.deltas().unwrap(), vec![3, 3, 10, 4_000_000]);
        assert_eq!(input.codes().unwrap(), vec![100, 90, 65_535, 0, 7]);
        assert!(input.bytes.is_empty());
        // A small step down leaves the high byte zero.
        let mut down = Packer::default();
        down.codes(&[5, 4]);
        assert_eq!(&down.bytes[4..], &[10, 1, 0, 0]);
    }

    #[test]
    fn format_one_values_one_after_another_are_still_read() {
        // Format 1: each array's length, then its values little-endian one after another; codes
        // as plain wrapping differences.
        let mut bytes = Vec::new();
        bytes.extend(2u32.to_le_bytes());
        bytes.extend(0.5f32.to_le_bytes());
        bytes.extend(2.0f32.to_le_bytes());
        bytes.extend(2u32.to_le_bytes());
        bytes.extend(7u32.to_le_bytes());
        bytes.extend(3u32.to_le_bytes());
        bytes.extend(3u32.to_le_bytes());
        for d in [100u16, 90u16.wrapping_sub(100), 5] {
            bytes.extend(d.to_le_bytes());
        }
        let mut input = Unpacker {
            bytes: &bytes,
            planes: false,
        };
        assert_eq!(input.floats().unwrap(), vec![0.5, 2.0]);
        assert_eq!(input.deltas().unwrap(), vec![7, 10]);
        assert_eq!(input.codes().unwrap(), vec![100, 90, 95]);
        assert!(input.bytes.is_empty());
        let mut short = Unpacker {
            bytes: &bytes[..10],
            planes: false,
        };
        assert!(short.floats().is_err());
    }
}
