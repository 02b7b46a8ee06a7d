//! What a session keeps of each stretch of the timeline it heard: the live analysis (log-mel
//! frames, the segments' local descriptors), a fingerprint of the audio to recognise it when
//! it is heard again, and the scoring that planning reads.

use anyhow::{anyhow, Result};
use serde::{Deserialize, Serialize};

use super::FINGERPRINT_BLOCK;
use crate::engine::beats::{track_beats, BeatGrid};
use crate::engine::boundaries::ChangeCurve;
use crate::engine::features::{FeatureConfig, LogMel, StreamingLogMel};
use crate::engine::pairs::descriptors::{describe_segments, segment_starts, SegmentDescriptors};
use crate::engine::scoring::ScoreTimeline;
use crate::engine::slicer::Slicer;

/// One contiguous stretch of the timeline as it was heard.
pub(super) struct Region {
    /// Timeline sample of its first sample.
    pub(super) start: u64,
    /// Samples heard.
    pub(super) samples: u64,
    /// The analysis of a region heard in this session; `None` for one restored from a saved
    /// session, which keeps only its scoring.
    pub(super) live: Option<Live>,
    /// Mean square of each whole fingerprint block inside the region, from `first_block`.
    pub(super) fingerprint: Vec<f32>,
    pub(super) first_block: u64,
    /// Sum of squares of the fingerprint block being heard.
    pub(super) pending_sum: f64,
    /// The last scoring, kept while the region does not change.
    pub(super) scored: Option<Scored>,
    /// Samples kept for a replay that may yet turn out to differ: the current fingerprint
    /// block's, and those of the differing blocks before it, so a new region can start at the
    /// first differing block's first sample.
    pub(super) replay_buffer: Vec<f32>,
}

/// What a region heard in this session is analysed from.
pub(super) struct Live {
    /// The open analysis, until the region is cut short.
    pub(super) features: Option<StreamingLogMel>,
    /// Final log-mel frames so far.
    pub(super) spec: LogMel,
    /// Local descriptors of the segments lying inside `spec` at the model's step (none for a
    /// model scored by reconstruction alone).
    pub(super) local: Option<SegmentDescriptors>,
}

/// A region's scoring: everything planning reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct Scored {
    pub(super) samples: u64,
    pub(super) timeline: ScoreTimeline,
    pub(super) beats: BeatGrid,
    pub(super) curve: ChangeCurve,
}

impl Region {
    /// An empty region at `start`; `describes` when the model scores from local descriptors.
    pub(super) fn open(
        start: u64,
        features: &FeatureConfig,
        rate: u32,
        describes: bool,
    ) -> Result<Self> {
        let live = Live {
            features: Some(StreamingLogMel::new(features, rate)?),
            spec: LogMel {
                n_mels: features.n_mels,
                frame_rate: features.frame_rate(),
                data: Vec::new(),
            },
            local: describes.then(|| SegmentDescriptors {
                starts: Vec::new(),
                values: Vec::new(),
                dim: 0,
            }),
        };
        Ok(Self {
            start,
            samples: 0,
            live: Some(live),
            fingerprint: Vec::new(),
            first_block: start.div_ceil(FINGERPRINT_BLOCK),
            pending_sum: 0.0,
            scored: None,
            replay_buffer: Vec::new(),
        })
    }

    /// A region restored from a saved session: closed, planned from its saved scoring.
    pub(super) fn restored(
        start: u64,
        samples: u64,
        first_block: u64,
        fingerprint: Vec<f32>,
        scored: Scored,
    ) -> Self {
        Self {
            start,
            samples,
            live: None,
            fingerprint,
            first_block,
            pending_sum: 0.0,
            scored: Some(scored),
            replay_buffer: Vec::new(),
        }
    }

    pub(super) fn contains(&self, at: u64) -> bool {
        at >= self.start && at < self.start + self.samples
    }

    /// Whether the region heard sound: a run that has heard only digital silence so far keeps
    /// an empty one.
    pub(super) fn heard(&self) -> bool {
        self.samples > 0
    }

    /// Whether the region's analysis is open for more audio.
    pub(super) fn is_open(&self) -> bool {
        self.live.as_ref().is_some_and(|l| l.features.is_some())
    }

    pub(super) fn fingerprint_of(&self, block: u64) -> Option<f32> {
        let i = block.checked_sub(self.first_block)?;
        self.fingerprint.get(i as usize).copied()
    }

    /// Appends `samples` of digital silence to the open analysis and the fingerprint.
    pub(super) fn extend_silence(&mut self, samples: u64) -> Result<()> {
        const ZEROS: [f32; 1024] = [0.0; 1024];
        let mut left = samples;
        while left > 0 {
            let n = left.min(ZEROS.len() as u64) as usize;
            self.extend(&ZEROS[..n])?;
            left -= n as u64;
        }
        Ok(())
    }

    /// Appends samples to the open analysis and the fingerprint.
    pub(super) fn extend(&mut self, samples: &[f32]) -> Result<()> {
        let live = self
            .live
            .as_mut()
            .ok_or_else(|| anyhow!("internal error: extending a restored region"))?;
        let features = live
            .features
            .as_mut()
            .ok_or_else(|| anyhow!("internal error: extending a closed region"))?;
        features.push(samples)?;
        features.take_frames(&mut live.spec.data);
        for &x in samples {
            let at = self.start + self.samples;
            self.pending_sum += f64::from(x) * f64::from(x);
            self.samples += 1;
            if (at + 1) % FINGERPRINT_BLOCK == 0 {
                if at + 1 - FINGERPRINT_BLOCK >= self.start {
                    self.fingerprint.push(fingerprint(self.pending_sum));
                }
                self.pending_sum = 0.0;
            }
        }
        Ok(())
    }

    /// Describes the segments that now lie whole inside the final frames, once at least
    /// `batch` of them are waiting (1 describes every one).
    pub(super) fn describe(&mut self, model: &Slicer, batch: usize) -> Result<()> {
        let Some(live) = self.live.as_mut() else {
            return Ok(());
        };
        live.describe(model, batch)
    }

    /// Ends the region at timeline sample `at`: its analysis closes, and what reaches past
    /// `at` is dropped.
    pub(super) fn truncate(
        &mut self,
        at: u64,
        rate: u32,
        features: &FeatureConfig,
        segment_frames: usize,
    ) {
        let samples = at.saturating_sub(self.start).min(self.samples);
        self.samples = samples;
        self.pending_sum = 0.0;
        // Frame k's window ends half a window after k hops.
        let seconds = samples as f64 / f64::from(rate);
        let analysis = seconds * f64::from(features.sample_rate) - (features.n_fft / 2) as f64;
        let frames = if analysis < 0.0 {
            0
        } else {
            (analysis / features.hop as f64).floor() as usize + 1
        };
        match self.live.as_mut() {
            Some(live) => {
                live.features = None;
                self.scored = None;
                let frames = frames.min(live.spec.frames());
                live.spec.data.truncate(frames * live.spec.n_mels);
                if let Some(local) = live.local.as_mut() {
                    let kept = local
                        .starts
                        .partition_point(|&s| s + segment_frames <= frames);
                    local.starts.truncate(kept);
                    local.values.truncate(kept * local.dim);
                }
            }
            // Nothing to score again from: the saved scoring is cut at the same place.
            None => {
                if let Some(scored) = self.scored.as_mut() {
                    scored.truncate(samples, seconds, frames);
                }
            }
        }
        let blocks = (self.start + samples) / FINGERPRINT_BLOCK;
        self.fingerprint
            .truncate(blocks.saturating_sub(self.first_block) as usize);
    }

    /// Scores the region as it stands, reusing the last scoring when nothing changed.
    pub(super) fn score(&mut self, model: &Slicer, rate: f64) -> Result<&Scored> {
        if self.scored.as_ref().map(|s| s.samples) != Some(self.samples) {
            let live = self
                .live
                .as_mut()
                .ok_or_else(|| anyhow!("internal error: a restored region lost its scoring"))?;
            let duration = self.samples as f64 / rate;
            let (mut timeline, spec) = live.score(model, duration)?;
            // Scores are kept (and saved) at single precision, so a restored session plans
            // exactly as this one.
            for segment in &mut timeline.segments {
                segment.score = f64::from(segment.score as f32);
            }
            self.scored = Some(Scored {
                samples: self.samples,
                timeline,
                beats: track_beats(&spec.data, spec.n_mels, spec.frame_rate),
                curve: ChangeCurve::of(&spec),
            });
        }
        self.scored
            .as_ref()
            .ok_or_else(|| anyhow!("internal error: region not scored"))
    }
}

impl Live {
    /// See [`Region::describe`].
    pub(super) fn describe(&mut self, model: &Slicer, batch: usize) -> Result<()> {
        let (seg, hop) = (model.segment_frames(), model.hop_frames());
        let Some(local) = self.local.as_mut() else {
            return Ok(());
        };
        let next = local.starts.last().map_or(0, |s| s + hop);
        let frames = self.spec.frames();
        if frames < seg || next + seg > frames {
            return Ok(());
        }
        let waiting = (frames - seg - next) / hop + 1;
        if waiting < batch {
            return Ok(());
        }
        let starts: Vec<usize> = (0..waiting).map(|k| next + k * hop).collect();
        let new = describe_segments(model.autoencoder(), &self.spec, starts, hop, &mut |_, _| {})?;
        local.dim = new.dim;
        local.starts.extend(new.starts);
        local.values.extend(new.values);
        Ok(())
    }

    /// Scores the analysis as it stands (closing an open one's last frames on a copy); returns
    /// the timeline and the spectrogram it was scored from.
    pub(super) fn score(
        &mut self,
        model: &Slicer,
        duration: f64,
    ) -> Result<(ScoreTimeline, LogMel)> {
        let mut spec = self.spec.clone();
        if let Some(features) = self.features.as_mut() {
            spec.data.extend(features.closing_frames());
        }
        let timeline = match model.context_scorer() {
            // The descriptors of segments inside the final frames are kept; only those
            // touching the closing frames are described here.
            Some(scorer) => {
                self.describe(model, 1)?;
                let (seg, hop) = (model.segment_frames(), model.hop_frames());
                let starts = segment_starts(spec.frames(), seg, hop);
                let mut local = self.local.clone().unwrap_or(SegmentDescriptors {
                    starts: Vec::new(),
                    values: Vec::new(),
                    dim: 0,
                });
                let known = local.starts.len().min(starts.len());
                local.starts.truncate(known);
                local.values.truncate(known * local.dim);
                let rest = describe_segments(
                    model.autoencoder(),
                    &spec,
                    starts[known..].to_vec(),
                    hop,
                    &mut |_, _| {},
                )?;
                local.dim = rest.dim;
                local.starts.extend(rest.starts);
                local.values.extend(rest.values);
                model.score_descriptors(scorer, &local, spec.frame_rate, duration)?
            }
            None => model.score_log_mel(&spec, duration)?,
        };
        Ok((timeline, spec))
    }
}

impl Scored {
    /// Cuts the scoring at `samples` (`seconds`, `frames` analysis frames): segments, beats and
    /// the change curve past it are dropped.
    pub(super) fn truncate(&mut self, samples: u64, seconds: f64, frames: usize) {
        self.samples = samples;
        let timeline = &mut self.timeline;
        timeline.segments.retain(|s| s.end <= seconds);
        timeline.duration = seconds;
        for list in [
            &mut self.beats.beats,
            &mut self.beats.downbeats,
            &mut self.beats.onsets,
        ] {
            list.retain(|&t| t < seconds);
        }
        self.curve.codes.truncate(frames);
    }
}

/// Whether two fingerprint values are the same audio: equal to within float rounding of a sum
/// over one block (a host that plays the same samples gives the same values).
/// The fingerprint of a block whose samples' squares sum to `sum`: its mean square.
pub(super) fn fingerprint(sum: f64) -> f32 {
    (sum / FINGERPRINT_BLOCK as f64) as f32
}

pub(super) fn same_fingerprint(stored: f32, heard: f32) -> bool {
    (stored - heard).abs() <= 1e-4 * stored.max(heard) + 1e-10
}
