//! The timeline analysis thread: a thin loop around the engine's [`SessionEdit`]. It hears the
//! audio thread's blocks at their song positions, plans the whole timeline again when a second
//! of new audio has been analysed or the settings changed, and publishes the plan to the audio
//! thread and a snapshot of it to the editor. What it has analysed goes into the project's
//! state (`SlicerParams::saved_analysis`) every few seconds of playing something new, and when
//! it stops.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::Result;

use super::{GatePlan, PlanLink, SavedAnalysis, SessionStore, StoredSession};
use crate::engine::edit::EditOptions;
use crate::engine::session::{SessionEdit, SessionPlan, FINGERPRINT_BLOCK};
use crate::plugin::params::SlicerParams;
use crate::plugin::shared::{Clock, InputBlock, Status, TransportTag};
use crate::plugin::snapshot::{scaled_score, CutMarker, Levels, ModelInfo, Snapshot, TimelineBin};
use crate::plugin::transport::host_grid;

/// How long the thread sleeps when there is no input.
const IDLE: Duration = Duration::from_millis(2);
/// Least time between two editor snapshots.
const SNAPSHOT_INTERVAL: Duration = Duration::from_millis(50);
/// New audio that makes the plan stale, in seconds.
const REPLAN_SECONDS: f64 = 1.0;
/// Least time between two saves of the analysis into the project's state while playing.
const SAVE_INTERVAL: Duration = Duration::from_secs(10);
/// Time without input after which the transport is taken to have stopped, and what it played
/// is saved at once: a project saved right after a pass then holds all of it.
const SAVE_WHEN_STOPPED: Duration = Duration::from_millis(500);

/// Everything the timeline analysis thread is started with.
pub struct WorkerSetup {
    /// Queues shared with the audio thread.
    pub link: Arc<PlanLink>,
    /// Status shared with the editor.
    pub status: Arc<Status>,
    /// Parameters (the threshold and planning rules).
    pub params: Arc<SlicerParams>,
    /// Where the session is kept between activations.
    pub store: SessionStore,
    /// The model as the editor describes it.
    pub model_info: ModelInfo,
    /// The id of the project's saved analysis the session continues, if any.
    pub saved_id: Option<u64>,
    /// A note for the editor (a saved analysis that could not be restored).
    pub notice: Option<String>,
}

/// Starts the timeline analysis thread on the song's `session` and the `stream` heard before
/// (see [`StoredSession`]), which go back into the setup's store when the thread ends.
pub fn spawn(
    setup: WorkerSetup,
    session: SessionEdit,
    stream: Option<SessionEdit>,
) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("audio-slicer timeline".into())
        .spawn(move || {
            let link = setup.link.clone();
            let status = setup.status.clone();
            let mut worker = Worker::new(setup, session, stream);
            // A panic in the engine must not take the host down: catch it and say so.
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| worker.run()));
            let message = match outcome {
                Ok(Ok(())) => return worker.store(),
                Ok(Err(e)) => format!("analysis stopped: {e:#}"),
                Err(_) => "analysis stopped: internal error (panic)".to_owned(),
            };
            link.failed.store(true, Ordering::Release);
            status.publish(Arc::new(Snapshot::fault(message)));
        })
}

/// What the last plan was made from.
#[derive(Clone, Copy, PartialEq)]
struct Planned {
    key: u64,
    heard_new: u64,
}

struct Worker {
    setup: WorkerSetup,
    /// The song's timeline.
    session: SessionEdit,
    /// The stream of a host that has not played its transport; planned instead of the song
    /// while there is one.
    stream: Option<SessionEdit>,
    planned: Option<Planned>,
    last_plan: SessionPlan,
    /// The newest transport tag with a tempo, and the timeline sample it was taken at.
    tempo: Option<(u64, TransportTag)>,
    latest: Option<TransportTag>,
    /// A plan box taken back from the slot, to be filled next.
    spare: Option<Box<GatePlan>>,
    busy: Duration,
    last_snapshot: Instant,
    dirty: bool,
    /// The id of the last save into the project's state (or of the one restored).
    saved_id: Option<u64>,
    /// [`SessionEdit::heard_new`] at the last save.
    saved_heard: u64,
    last_save: Instant,
    /// When the last input block arrived.
    last_input: Instant,
    /// Where the block after the last one starts, if it continues it.
    next: Option<(Clock, u64)>,
}

impl Worker {
    fn new(setup: WorkerSetup, session: SessionEdit, stream: Option<SessionEdit>) -> Self {
        Self {
            planned: None,
            last_plan: SessionPlan::default(),
            tempo: None,
            latest: None,
            spare: None,
            busy: Duration::ZERO,
            last_snapshot: Instant::now() - SNAPSHOT_INTERVAL,
            dirty: true,
            saved_id: setup.saved_id,
            saved_heard: session.heard_new(),
            last_save: Instant::now(),
            last_input: Instant::now(),
            next: None,
            session,
            stream,
            setup,
        }
    }

    /// The session being planned: the stream while there is one, else the song.
    fn active(&self) -> &SessionEdit {
        self.stream.as_ref().unwrap_or(&self.session)
    }

    /// The clock of [`Self::active`]'s positions.
    fn clock(&self) -> Clock {
        match self.stream {
            Some(_) => Clock::Stream,
            None => Clock::Song,
        }
    }

    fn run(&mut self) -> Result<()> {
        let link = self.setup.link.clone();
        // The plan of what was heard before this activation, counted as the first block.
        self.plan_if(|_, _| true)?;
        link.consumed.fetch_add(1, Ordering::AcqRel);
        while !link.stop.load(Ordering::Acquire) {
            match link.input.pop() {
                Some(block) => {
                    let started = Instant::now();
                    self.take(&block)?;
                    self.busy += started.elapsed();
                    self.last_input = Instant::now();
                    link.consumed.fetch_add(1, Ordering::AcqRel);
                }
                None => {
                    // Idle in real time: plan what is new at once. Offline, plans are made only
                    // where the input says, so a bounce does not depend on the analysis' speed.
                    if !link.rendering.load(Ordering::Acquire) {
                        self.plan_if(|planned, now| planned != now)?;
                        if self.last_save.elapsed() >= SAVE_INTERVAL
                            || self.last_input.elapsed() >= SAVE_WHEN_STOPPED
                        {
                            self.save()?;
                        }
                    }
                    self.publish(self.dirty);
                    std::thread::park_timeout(IDLE);
                }
            }
            self.publish(false);
        }
        // What was played before the stop was heard: analyse it too.
        while let Some(block) = link.input.pop() {
            self.take(&block)?;
        }
        self.save()?;
        // The editor keeps the last state after the activation ends.
        self.setup.status.publish(Arc::new(self.snapshot()));
        Ok(())
    }

    /// Saves the analysis into the project's state if something new was heard since the last
    /// save. A state the host loaded meanwhile is left alone: the next activation continues
    /// it instead.
    fn save(&mut self) -> Result<()> {
        self.last_save = Instant::now();
        if self.session.heard_new() == self.saved_heard {
            return Ok(());
        }
        let slot = &self.setup.params.saved_analysis;
        let current = |slot: &Option<SavedAnalysis>| slot.as_ref().map(|s| s.id);
        if current(&slot.lock()) != self.saved_id {
            return Ok(());
        }
        let saved = SavedAnalysis::new(self.setup.model_info.source.clone(), self.session.save()?);
        let id = saved.id;
        let mut slot = slot.lock();
        if current(&slot) == self.saved_id {
            *slot = Some(saved);
            self.saved_id = Some(id);
        }
        self.saved_heard = self.session.heard_new();
        Ok(())
    }

    /// Hears one block, and plans again if it brought a second of new audio or the settings
    /// changed.
    fn take(&mut self, block: &InputBlock) -> Result<()> {
        let tag = block.transport;
        if tag.playing && tag.tempo.is_some() && tag.beats.is_some() {
            self.tempo = Some((block.position, tag));
        }
        self.latest = Some(tag);
        // A jump (a pass from the start again, a locate) first plans everything heard before
        // it: offline, the audio thread gates the block from that plan.
        if self.next != Some((block.clock, block.position)) {
            self.plan_if(|planned, now| planned != now)?;
        }
        self.next = Some((block.clock, block.position + block.len as u64));
        let session = match block.clock {
            Clock::Song => {
                // The host plays its song: what it streamed before is no part of it.
                if self.stream.take().is_some() {
                    self.planned = None;
                }
                &mut self.session
            }
            Clock::Stream => match &mut self.stream {
                Some(stream) => stream,
                empty => {
                    self.planned = None;
                    let model = self.session.model().clone();
                    empty.insert(SessionEdit::new(model, self.session.rate())?)
                }
            },
        };
        session.push(block.position, &block.samples[..block.len])?;
        let step = (REPLAN_SECONDS * f64::from(self.session.rate())) as u64;
        self.plan_if(|planned, now| {
            planned.key != now.key || now.heard_new >= planned.heard_new + step
        })?;
        self.dirty = true;
        Ok(())
    }

    /// Plans the whole timeline when `stale(last, now)` says so (or nothing was planned yet),
    /// and publishes the plan.
    fn plan_if(&mut self, stale: impl Fn(Planned, Planned) -> bool) -> Result<()> {
        let params = self.setup.params.clone();
        let now = Planned {
            key: params.plan_key(),
            heard_new: self.active().heard_new(),
        };
        if self.planned.is_some_and(|planned| !stale(planned, now)) {
            return Ok(());
        }
        let options = EditOptions {
            threshold: params.threshold_mode(),
            cut: params.cut_options(),
            ..EditOptions::default()
        };
        let rate_hz = self.session.rate();
        let rate = f64::from(rate_hz);
        let tempo = self.tempo;
        // The host's grid, the tempo held at its newest value; without one each region tracks
        // its own beats.
        let mut grid_of = |start: u64, samples: u64| {
            let (at, tag) = tempo?;
            let origin = start as f64 / rate;
            let mut grid = host_grid(
                &tag,
                at as f64 / rate,
                origin - 1.0,
                origin + samples as f64 / rate + 1.0,
            )?;
            for list in [&mut grid.beats, &mut grid.downbeats] {
                list.iter_mut().for_each(|t| *t -= origin);
            }
            Some(grid)
        };
        let session = self.stream.as_mut().unwrap_or(&mut self.session);
        self.last_plan = session
            .plan(&options, &mut grid_of)?
            .overridden(&params.overrides(), rate_hz);
        self.planned = Some(now);
        self.send_plan(rate_hz);
        self.dirty = true;
        Ok(())
    }

    /// Fills a plan box from the last plan and puts it in the audio thread's slot.
    fn send_plan(&mut self, rate: u32) {
        let link = &self.setup.link;
        let mut plan = self
            .spare
            .take()
            .or_else(|| link.recycle.pop())
            .unwrap_or_default();
        plan.clock = self.clock();
        plan.edges.clear();
        for (a, b) in self.last_plan.cut_samples(rate) {
            // Cuts that touch join into one.
            if plan.edges.last() == Some(&a) {
                plan.edges.pop();
            } else {
                plan.edges.push(a);
            }
            plan.edges.push(b);
        }
        plan.coverage.clear();
        plan.coverage.extend(self.last_plan.coverage());
        plan.scores.clear();
        let rate = f64::from(rate);
        for region in &self.last_plan.regions {
            plan.scores
                .extend(region.timeline.segments.iter().map(|segment| {
                    (
                        region.start + (segment.start * rate).round() as u64,
                        scaled_score(segment.score, region.threshold),
                    )
                }));
        }
        // One slot: a plan the audio thread has not taken yet is replaced, and refilled next.
        self.spare = link.plans.force_push(plan);
    }

    /// Song seconds to quarter notes, from the newest tempo.
    fn beats_at(&self, seconds: f64, rate: f64) -> Option<f64> {
        let (at, tag) = self.tempo?;
        Some(tag.beats? + (seconds - at as f64 / rate) * tag.tempo? / 60.0)
    }

    /// Publishes a snapshot of the last plan for the editor when something changed and the
    /// last one is old enough, or when `force`d.
    fn publish(&mut self, force: bool) {
        if !(force || self.dirty && self.last_snapshot.elapsed() >= SNAPSHOT_INTERVAL) {
            return;
        }
        if self.setup.status.try_publish(Arc::new(self.snapshot())) {
            self.dirty = false;
            self.last_snapshot = Instant::now();
        }
    }

    /// The editor's view of the last plan.
    fn snapshot(&self) -> Snapshot {
        let session = self.active();
        let rate = f64::from(session.rate());
        let plan = &self.last_plan;
        let mut bins = Vec::new();
        for region in &plan.regions {
            let origin = region.start as f64 / rate;
            let kept = |t: f64| region.plan.keep.iter().any(|k| k.contains(t));
            bins.extend(region.timeline.segments.iter().map(|s| {
                let start = origin + s.start;
                TimelineBin {
                    start,
                    length: region.timeline.hop_seconds,
                    beats: self.beats_at(start, rate),
                    score: s.score,
                    keep: Some(kept(s.start + region.timeline.hop_seconds / 2.0)),
                }
            }));
        }
        let cuts = plan
            .cut_samples(session.rate())
            .into_iter()
            .map(|(a, b)| {
                let (start, end) = (a as f64 / rate, b as f64 / rate);
                CutMarker {
                    start,
                    end,
                    start_beats: self.beats_at(start, rate),
                    end_beats: self.beats_at(end, rate),
                }
            })
            .collect();
        let analysed = session.analysed_samples() as f64 / rate;
        let info = &self.setup.model_info;
        Snapshot {
            bins,
            cuts,
            threshold: plan
                .regions
                .first()
                .map_or(info.calibrated_threshold, |r| r.threshold),
            model: info.clone(),
            lag_seconds: 0.0,
            load: if analysed > 0.0 {
                self.busy.as_secs_f64() / (session.heard_new() as f64 / rate)
            } else {
                0.0
            },
            analysed_seconds: analysed,
            coverage: plan
                .coverage()
                .into_iter()
                .map(|(a, b)| (a as f64 / rate, b as f64 / rate))
                .collect(),
            levels: Levels {
                block_seconds: FINGERPRINT_BLOCK as f64 / rate,
                runs: session
                    .levels()
                    .map(|(at, blocks)| (at as f64 / rate, blocks.to_vec()))
                    .collect(),
            },
            tempo: self.latest.and_then(|t| t.tempo),
            time_sig: self.latest.and_then(|t| t.time_sig),
            fault: None,
            notice: self.setup.notice.clone(),
        }
    }

    /// Keeps the session for the next activation.
    fn store(self) {
        let stored = StoredSession {
            source: self.setup.model_info.source,
            session: self.session,
            stream: self.stream,
            saved_id: self.saved_id,
        };
        *lock(&self.setup.store) = Some(stored);
    }
}

/// Locks `mutex`, taking over a poisoned one (its holder panicked; the data is still whole,
/// as every writer replaces it in one assignment).
fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
