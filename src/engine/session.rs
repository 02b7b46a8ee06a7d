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

mod region;
mod saved;
#[cfg(test)]
mod tests;

pub use saved::SavedSession;

use region::{fingerprint, same_fingerprint, Region};

use std::sync::Arc;

use anyhow::Result;

use super::beats::BeatGrid;
use super::cut_plan::{CutPlan, Override};
use super::edit::{plan_cuts, EditOptions};
use super::features::StreamingLogMel;
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

impl Differing {
    /// The run `before` continued by a differing block from `from` on, or started by it.
    fn continued(before: Option<Self>, from: u64) -> Self {
        before.map_or(Self { from, blocks: 1 }, |d| Self {
            blocks: d.blocks + 1,
            ..d
        })
    }
}

/// Whether a block heard with sum of squares `sum` differs from its `stored` fingerprint.
/// Digital silence over analysed audio is the track muted or not playing (a host's export
/// pre-roll, a mute), not new audio: gated or not it sounds the same, so it never differs.
fn differs(stored: f32, sum: f64) -> bool {
    let heard = fingerprint(sum);
    heard != 0.0 && !same_fingerprint(stored, heard)
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

    /// This edit with `overrides`, in timeline seconds at `rate` Hz, applied to every region
    /// (see [`CutPlan::overridden`]).
    pub fn overridden(mut self, overrides: &[Override], rate: u32) -> Self {
        if overrides.is_empty() {
            return self;
        }
        for region in &mut self.regions {
            let origin = region.start as f64 / f64::from(rate);
            let local: Vec<Override> = overrides.iter().map(|o| o.shifted(origin)).collect();
            region.plan = region.plan.overridden(&local);
        }
        self
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
            Cursor::Extending { index, .. } if !self.regions[index].heard() => {
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

    /// The regions that heard sound ([`Region::heard`]).
    fn heard_regions(&self) -> impl Iterator<Item = &Region> {
        self.regions.iter().filter(|r| r.heard())
    }

    /// The loudness of what was heard, for a waveform: per region, the timeline sample where
    /// its first whole block starts and the mean square of each block of
    /// [`FINGERPRINT_BLOCK`] samples (the fingerprint it is recognised by).
    pub fn levels(&self) -> impl Iterator<Item = (u64, &[f32])> + '_ {
        self.heard_regions()
            .map(|r| (r.first_block * FINGERPRINT_BLOCK, r.fingerprint.as_slice()))
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
                    if whole
                        && block_start < at
                        && region.live.is_some()
                        && differs(fingerprint(region.pending_sum), sum)
                    {
                        differing = Some(Differing::continued(differing, block_start));
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
                    differing = match (whole, region.fingerprint_of(block)) {
                        (true, Some(stored)) if differs(stored, sum) => {
                            Some(Differing::continued(differing, block * FINGERPRINT_BLOCK))
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
        for region in self.regions.iter_mut().filter(|r| r.heard()) {
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
