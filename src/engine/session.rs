//! A session's audio as a DAW plays it: heard in blocks of any size, keyed to timeline
//! positions, analysed once, and planned again on demand with the offline planner.
//!
//! [`SessionEdit`] keeps, per contiguous region of the timeline it has heard, what planning
//! needs instead of the audio: the log-mel frames, the segments' local descriptors (the
//! autoencoder's work, nearly all of scoring's) and a fingerprint of the audio. Planning puts
//! the descriptors in the context of the whole region (its median, its neighbourhoods) and runs
//! the same planner as the command line's `edit` ([`plan_cuts`]): a new threshold or rule
//! re-plans every region without analysing anything again.
//!
//! Hearing a region again (the transport looped, or the song is played twice) analyses
//! nothing: the audio is checked against the fingerprint instead. Where it differs (a region
//! re-recorded or moved), the old analysis ends there and the new audio is analysed in its
//! place; what lies beyond is dropped until it is heard again. Hosts ramp the first and last
//! milliseconds of a pass, so audio must differ for a few blocks in a row before it counts as
//! changed.
//!
//! Digital silence is where a track has no audio: it joins a region only when sound follows it
//! in the same run, so a pass that rolls on past the end of the track's audio plans what the
//! command line plans for the file, and silence heard over analysed audio (a muted pass, an
//! export's pre-roll) replaces nothing.

mod saved;
#[cfg(test)]
mod tests;

pub use saved::SavedSession;

use std::sync::Arc;

use anyhow::{anyhow, Result};
use serde::{Deserialize, Serialize};

use super::beats::{track_beats, BeatGrid};
use super::boundaries::ChangeCurve;
use super::cut_plan::CutPlan;
use super::edit::{plan_cuts, EditOptions};
use super::features::{FeatureConfig, LogMel, StreamingLogMel};
use super::pairs::descriptors::{describe_segments, segment_starts, SegmentDescriptors};
use super::scoring::ScoreTimeline;
use super::slicer::Slicer;

/// Timeline samples per fingerprint value. Blocks are aligned to multiples of this from the
/// timeline's zero, so two hearings of one position are compared block by block whatever
/// position each started at.
pub const FINGERPRINT_BLOCK: u64 = 4096;

/// Consecutive whole fingerprint blocks that must differ before a replay is taken for new
/// audio. Hosts change the first and last few milliseconds of a pass (Ardour declicks the
/// first ~1000 samples when its transport starts rolling, and fades out when it stops), so
/// one block that differs is not yet a new take; three blocks (0.28 s at 44.1 kHz) are.
const DIVERGING_BLOCKS: u32 = 3;

/// Segments described at once as the audio arrives: the autoencoder's batch.
const DESCRIBE_BATCH: usize = 64;

/// The audio of a timeline, analysed as heard, planned on demand.
pub struct SessionEdit {
    model: Arc<Slicer>,
    rate: u32,
    /// Heard regions, ascending by start and never overlapping.
    regions: Vec<Region>,
    /// What the next sample continues.
    cursor: Cursor,
    /// Samples analysed since the session began, replaced ones included.
    heard_new: u64,
}

/// Where the stream of heard audio stands.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Cursor {
    /// Nothing heard yet, or the last block ended a run.
    Idle,
    /// Extending `regions[index]`, whose analysis is open; `next` is the timeline sample
    /// expected next.
    Extending {
        index: usize,
        next: u64,
        /// Samples of digital silence heard since the region's last sound: they join the region
        /// only if sound follows them in this run.
        silence: u64,
    },
    /// Hearing `regions[index]` again, comparing it with its fingerprint.
    Replaying {
        index: usize,
        next: u64,
        /// Sum of squares of the current fingerprint block so far, and whether the block was
        /// heard from its start (only whole blocks are compared).
        sum: f64,
        whole: bool,
        /// Differing blocks heard in a row, if the last compared block differed.
        differing: Option<Differing>,
    },
}

/// A run of consecutive replayed blocks that differ from the fingerprint.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Differing {
    /// Timeline sample where the first of them starts.
    from: u64,
    /// How many blocks differed.
    blocks: u32,
}

/// One contiguous stretch of the timeline as it was heard.
struct Region {
    /// Timeline sample of its first sample.
    start: u64,
    /// Samples heard.
    samples: u64,
    /// The analysis of a region heard in this session; `None` for one restored from a saved
    /// session, which keeps only its scoring.
    live: Option<Live>,
    /// Mean square of each whole fingerprint block inside the region, from `first_block`.
    fingerprint: Vec<f32>,
    first_block: u64,
    /// Sum of squares of the fingerprint block being heard.
    pending_sum: f64,
    /// The last scoring, kept while the region does not change.
    scored: Option<Scored>,
    /// Samples kept for a replay that may yet turn out to differ: the current fingerprint
    /// block's, and those of the differing blocks before it, so a new region can start at the
    /// first differing block's first sample.
    replay_buffer: Vec<f32>,
}

/// What a region heard in this session is analysed from.
struct Live {
    /// The open analysis, until the region is cut short.
    features: Option<StreamingLogMel>,
    /// Final log-mel frames so far.
    spec: LogMel,
    /// Local descriptors of the segments lying inside `spec` at the model's step (none for a
    /// model scored by reconstruction alone).
    local: Option<SegmentDescriptors>,
}

/// A region's scoring: everything planning reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Scored {
    samples: u64,
    timeline: ScoreTimeline,
    beats: BeatGrid,
    curve: ChangeCurve,
}

/// One region's edit.
#[derive(Debug, Clone)]
pub struct PlannedRegion {
    /// Timeline sample of the region's first sample.
    pub start: u64,
    /// Length in samples.
    pub samples: u64,
    /// Per-segment scores, in seconds from the region's start.
    pub timeline: ScoreTimeline,
    /// The score above which audio is cut.
    pub threshold: f64,
    /// Kept ranges, in seconds from the region's start.
    pub plan: CutPlan,
}

/// The edit of everything heard, region by region.
#[derive(Debug, Clone, Default)]
pub struct SessionPlan {
    /// Planned regions, ascending by start.
    pub regions: Vec<PlannedRegion>,
}

impl SessionPlan {
    /// The cut spans in timeline samples at `rate` Hz, ascending.
    pub fn cut_samples(&self, rate: u32) -> Vec<(u64, u64)> {
        let rate = f64::from(rate);
        let mut cuts = Vec::new();
        for region in &self.regions {
            let at = |t: f64| region.start + ((t * rate).round() as u64).min(region.samples);
            let mut from = 0.0;
            for kept in
                region
                    .plan
                    .keep
                    .iter()
                    .chain(std::iter::once(&super::timeline::TimeRange::new(
                        region.plan.duration,
                        region.plan.duration,
                    )))
            {
                if kept.start > from {
                    cuts.push((at(from), at(kept.start)));
                }
                from = kept.end;
            }
        }
        cuts.retain(|(a, b)| b > a);
        cuts
    }

    /// The analysed spans in timeline samples, ascending.
    pub fn coverage(&self) -> Vec<(u64, u64)> {
        self.regions
            .iter()
            .map(|r| (r.start, r.start + r.samples))
            .collect()
    }
}

impl SessionEdit {
    /// An empty session for audio at `rate` Hz, scored with `model` at its own step.
    pub fn new(model: Arc<Slicer>, rate: u32) -> Result<Self> {
        // Fail here, not on the first block, if the rate cannot be analysed.
        StreamingLogMel::new(model.features(), rate)?;
        Ok(Self {
            model,
            rate,
            regions: Vec::new(),
            cursor: Cursor::Idle,
            heard_new: 0,
        })
    }

    /// The scoring model.
    pub fn model(&self) -> &Arc<Slicer> {
        &self.model
    }

    /// The sample rate of the audio.
    pub fn rate(&self) -> u32 {
        self.rate
    }

    /// Forgets everything heard.
    pub fn clear(&mut self) {
        self.regions.clear();
        self.cursor = Cursor::Idle;
    }

    /// Ends the current run: the next block starts a new one wherever it is. A replay that
    /// differed for fewer than [`DIVERGING_BLOCKS`] when the run ended changed nothing, and a
    /// region that heard only digital silence is dropped.
    pub fn break_run(&mut self) {
        match self.cursor {
            Cursor::Replaying { index, .. } => self.regions[index].replay_buffer.clear(),
            Cursor::Extending { index, .. } if self.regions[index].samples == 0 => {
                self.regions.remove(index);
            }
            _ => {}
        }
        self.cursor = Cursor::Idle;
    }

    /// The analysed spans in timeline samples, ascending.
    pub fn coverage(&self) -> Vec<(u64, u64)> {
        self.heard_regions()
            .map(|r| (r.start, r.start + r.samples))
            .collect()
    }

    /// The regions that heard sound: a run that has heard only digital silence so far keeps
    /// an empty one.
    fn heard_regions(&self) -> impl Iterator<Item = &Region> {
        self.regions.iter().filter(|r| r.samples > 0)
    }

    /// Samples of audio analysed (replays not counted).
    pub fn analysed_samples(&self) -> u64 {
        self.regions.iter().map(|r| r.samples).sum()
    }

    /// Samples analysed since the session began, those analysed again after a change
    /// included: it grows exactly when something new was heard, so a plan made at one count
    /// is current until it moves.
    pub fn heard_new(&self) -> u64 {
        self.heard_new
    }

    /// Hears mono `samples` starting at timeline sample `position`. A block that does not
    /// continue the last one starts a new run there.
    pub fn push(&mut self, position: u64, samples: &[f32]) -> Result<()> {
        let expected = match self.cursor {
            Cursor::Idle => None,
            Cursor::Extending { next, .. } | Cursor::Replaying { next, .. } => Some(next),
        };
        if expected != Some(position) {
            self.break_run();
        }
        let (mut at, mut rest) = (position, samples);
        while !rest.is_empty() {
            let used = self.step(at, rest)?;
            at += used as u64;
            rest = &rest[used..];
        }
        Ok(())
    }

    /// Takes as many samples from the start of `samples` (at `at`) as the current state can,
    /// at least one. Returns how many.
    fn step(&mut self, at: u64, samples: &[f32]) -> Result<usize> {
        match self.cursor {
            Cursor::Idle => {
                // Heard audio is replayed before an open region that ends here is extended:
                // a region never grows into the next one.
                let heard = self.regions.iter().position(|r| r.contains(at));
                let open_end = self
                    .regions
                    .iter()
                    .position(|r| r.is_open() && r.start + r.samples == at);
                self.cursor = if let Some(index) = heard {
                    // A replay that ended inside a block left its samples: they are not
                    // this run's.
                    self.regions[index].replay_buffer.clear();
                    Cursor::Replaying {
                        index,
                        next: at,
                        sum: 0.0,
                        whole: at % FINGERPRINT_BLOCK == 0,
                        differing: None,
                    }
                } else if let Some(index) = open_end {
                    Cursor::Extending {
                        index,
                        next: at,
                        silence: 0,
                    }
                } else {
                    let index = self.regions.partition_point(|r| r.start < at);
                    let region = self.open_region(at)?;
                    self.regions.insert(index, region);
                    Cursor::Extending {
                        index,
                        next: at,
                        silence: 0,
                    }
                };
                Ok(0)
            }
            Cursor::Extending { index, silence, .. } => {
                // A region grows up to the next one's start; from there it is a replay.
                let room = self
                    .regions
                    .get(index + 1)
                    .map_or(u64::MAX, |next| next.start - at);
                let n = (samples.len() as u64).min(room) as usize;
                let taken = &samples[..n];
                // Silence after the last sound (a pass that rolls on past the end of the
                // track's audio) joins the region only once sound follows it.
                let silence = match taken.iter().rposition(|&x| x != 0.0) {
                    None => silence + n as u64,
                    Some(last) => {
                        let region = &mut self.regions[index];
                        region.extend_silence(silence)?;
                        region.extend(&taken[..=last])?;
                        region.describe(&self.model, DESCRIBE_BATCH)?;
                        self.heard_new += silence + last as u64 + 1;
                        (n - 1 - last) as u64
                    }
                };
                let next = at + n as u64;
                self.cursor = Cursor::Extending {
                    index,
                    next,
                    silence,
                };
                if n as u64 == room {
                    self.break_run();
                }
                Ok(n)
            }
            Cursor::Replaying {
                index,
                mut sum,
                mut whole,
                mut differing,
                ..
            } => {
                let region = &mut self.regions[index];
                let end = region.start + region.samples;
                if at == end {
                    // The region's last block is partial: compare what was heard of it too (a
                    // restored region keeps no sum for it), or a region shorter than a block
                    // could never be found changed.
                    let block_start = at / FINGERPRINT_BLOCK * FINGERPRINT_BLOCK;
                    if whole && block_start < at && region.live.is_some() {
                        let heard = (sum / FINGERPRINT_BLOCK as f64) as f32;
                        let stored = (region.pending_sum / FINGERPRINT_BLOCK as f64) as f32;
                        if heard != 0.0 && !same_fingerprint(stored, heard) {
                            differing = Some(differing.unwrap_or(Differing {
                                from: block_start,
                                blocks: 0,
                            }));
                        }
                    }
                    // Audio that differed up to the end of what was heard before is new: the
                    // region ends where it began to differ.
                    if let Some(differing) = differing {
                        return self.diverge(index, differing.from, 0);
                    }
                    // Past what was heard before: the rest is new. It extends the region while
                    // its analysis is open, and starts the next region otherwise (at its first
                    // sound).
                    region.replay_buffer.clear();
                    self.cursor = match region.is_open() {
                        true => Cursor::Extending {
                            index,
                            next: at,
                            silence: 0,
                        },
                        false => Cursor::Idle,
                    };
                    return Ok(0);
                }
                let block_end = (at / FINGERPRINT_BLOCK + 1) * FINGERPRINT_BLOCK;
                let n = (samples.len() as u64).min(block_end - at).min(end - at) as usize;
                let taken = &samples[..n];
                sum += taken
                    .iter()
                    .map(|&x| f64::from(x) * f64::from(x))
                    .sum::<f64>();
                region.replay_buffer.extend_from_slice(taken);
                let next = at + n as u64;
                if next == block_end {
                    let block = at / FINGERPRINT_BLOCK;
                    let heard = (sum / FINGERPRINT_BLOCK as f64) as f32;
                    differing = match (whole, region.fingerprint_of(block)) {
                        // Digital silence over analysed audio is the track muted or not
                        // playing (a host's export pre-roll, a mute), not new audio: gated or
                        // not it sounds the same, so it never replaces the analysis.
                        (true, Some(stored))
                            if heard != 0.0 && !same_fingerprint(stored, heard) =>
                        {
                            let from = block * FINGERPRINT_BLOCK;
                            Some(
                                differing.map_or(Differing { from, blocks: 1 }, |d| Differing {
                                    blocks: d.blocks + 1,
                                    ..d
                                }),
                            )
                        }
                        _ => None,
                    };
                    match differing {
                        Some(d) if d.blocks >= DIVERGING_BLOCKS => {
                            return self.diverge(index, d.from, n);
                        }
                        Some(_) => {}
                        None => region.replay_buffer.clear(),
                    }
                    (sum, whole) = (0.0, true);
                }
                self.cursor = Cursor::Replaying {
                    index,
                    next,
                    sum,
                    whole,
                    differing,
                };
                Ok(n)
            }
        }
    }

    /// The replay of `regions[index]` differs from its fingerprint from the block starting at
    /// `from` on: the old analysis ends there, and a new region takes the samples buffered
    /// since (the last `n` of which are still to be counted as taken).
    fn diverge(&mut self, index: usize, from: u64, n: usize) -> Result<usize> {
        let buffered = std::mem::take(&mut self.regions[index].replay_buffer);
        let features = self.model.features().clone();
        let region = &mut self.regions[index];
        region.truncate(from, self.rate, &features, self.model.segment_frames());
        let mut index = index;
        if region.samples == 0 {
            self.regions.remove(index);
        } else {
            index += 1;
        }
        let mut region = self.open_region(from)?;
        region.extend(&buffered)?;
        self.heard_new += buffered.len() as u64;
        self.regions.insert(index, region);
        self.cursor = Cursor::Extending {
            index,
            next: from + buffered.len() as u64,
            silence: 0,
        };
        Ok(n)
    }

    fn open_region(&self, start: u64) -> Result<Region> {
        Region::open(
            start,
            self.model.features(),
            self.rate,
            self.model.context_scorer().is_some(),
        )
    }

    /// Plans every region with `options`. `grid_of(start, samples)` gives the beats a region
    /// snaps to, in seconds from its start (the host's grid); `None` tracks the region's own.
    pub fn plan(
        &mut self,
        options: &EditOptions,
        grid_of: &mut dyn FnMut(u64, u64) -> Option<BeatGrid>,
    ) -> Result<SessionPlan> {
        let rate = f64::from(self.rate);
        let mut planned = Vec::with_capacity(self.regions.len());
        for region in self.regions.iter_mut().filter(|r| r.samples > 0) {
            let (start, samples) = (region.start, region.samples);
            let grid = grid_of(start, samples);
            let scored = region.score(&self.model, rate)?;
            let (threshold, plan) = plan_cuts(
                &self.model,
                &scored.curve,
                &scored.timeline,
                grid.as_ref().unwrap_or(&scored.beats),
                options,
            )?;
            planned.push(PlannedRegion {
                start,
                samples,
                timeline: scored.timeline.clone(),
                threshold,
                plan,
            });
        }
        Ok(SessionPlan { regions: planned })
    }
}

impl Region {
    /// An empty region at `start`; `describes` when the model scores from local descriptors.
    fn open(start: u64, features: &FeatureConfig, rate: u32, describes: bool) -> Result<Self> {
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
    fn restored(
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

    fn contains(&self, at: u64) -> bool {
        at >= self.start && at < self.start + self.samples
    }

    /// Whether the region's analysis is open for more audio.
    fn is_open(&self) -> bool {
        self.live.as_ref().is_some_and(|l| l.features.is_some())
    }

    fn fingerprint_of(&self, block: u64) -> Option<f32> {
        let i = block.checked_sub(self.first_block)?;
        self.fingerprint.get(i as usize).copied()
    }

    /// Appends `samples` of digital silence to the open analysis and the fingerprint.
    fn extend_silence(&mut self, samples: u64) -> Result<()> {
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
    fn extend(&mut self, samples: &[f32]) -> Result<()> {
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
                    self.fingerprint
                        .push((self.pending_sum / FINGERPRINT_BLOCK as f64) as f32);
                }
                self.pending_sum = 0.0;
            }
        }
        Ok(())
    }

    /// Describes the segments that now lie whole inside the final frames, once at least
    /// `batch` of them are waiting (1 describes every one).
    fn describe(&mut self, model: &Slicer, batch: usize) -> Result<()> {
        let Some(live) = self.live.as_mut() else {
            return Ok(());
        };
        live.describe(model, batch)
    }

    /// Ends the region at timeline sample `at`: its analysis closes, and what reaches past
    /// `at` is dropped.
    fn truncate(&mut self, at: u64, rate: u32, features: &FeatureConfig, segment_frames: usize) {
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
    fn score(&mut self, model: &Slicer, rate: f64) -> Result<&Scored> {
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
    fn describe(&mut self, model: &Slicer, batch: usize) -> Result<()> {
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
    fn score(&mut self, model: &Slicer, duration: f64) -> Result<(ScoreTimeline, LogMel)> {
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
    fn truncate(&mut self, samples: u64, seconds: f64, frames: usize) {
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
fn same_fingerprint(stored: f32, heard: f32) -> bool {
    (stored - heard).abs() <= 1e-4 * stored.max(heard) + 1e-10
}
