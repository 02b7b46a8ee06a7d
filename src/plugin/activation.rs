//! The plugin's running state, how it is started, and how it is started again while the host
//! keeps the plugin active.
//!
//! What should run can change after activation: another Analysis mode, another model, or a
//! project's state loaded after the host activated the plugin (Ardour applies a saved project
//! that way; nice-plug, unlike NIH-plug, does not re-initialise a plugin after a state load).
//! Asking the host for a restart is not enough, as Ardour never honours one. So the plugin
//! starts the new state itself, on a thread of its own ([`Rebuilder`]): the audio thread asks
//! for it, keeps processing with the old state until the new one arrives on a lock-free queue,
//! swaps them, reports the new latency, and hands the old state back to that thread to be
//! dropped (which joins its analysis thread). Offline, the audio thread waits for the new
//! state, so a bounce never depends on how fast it was built.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam::queue::ArrayQueue;
use nice_plug::prelude::*;

use super::analysis::{self, AnalysisSetup};
use super::params::{Analysis, SlicerParams, MAX_CROSSFADE_SECONDS};
use super::shared::{Link, Status, BLOCK};
use super::snapshot::Snapshot;
use super::timeline::{self, PlanLink, SessionStore, WorkerSetup};
use super::{model, process, AudioSlicer};
use crate::engine::cut_plan::CutOptions;
use crate::engine::session::SessionEdit;
use crate::engine::stream::StreamingAnalyser;

/// Seconds of input the queue to the analysis thread holds, so a slow moment of the analysis
/// (or of the machine) does not drop audio.
const INPUT_QUEUE_SECONDS: f64 = 8.0;
/// Decisions and scores in flight from the analysis thread to the audio thread.
const EVENT_QUEUE: usize = 4096;
/// How long the rebuild thread sleeps between looks at its queue and the parameters.
const REBUILD_IDLE: Duration = Duration::from_millis(20);
/// How long an offline render sleeps between checks on a state being built.
const OFFLINE_POLL: Duration = Duration::from_micros(200);

/// An activation's audio-thread state, by analysis mode.
pub enum Running {
    /// Decisions from a sliding window, behind a delay line.
    Lookahead(process::Running),
    /// Gating from the plan of the analysed timeline.
    Timeline(timeline::Running),
}

impl Running {
    /// The latency it adds, in samples.
    pub fn latency(&self) -> usize {
        match self {
            Running::Lookahead(running) => running.latency(),
            Running::Timeline(_) => 0,
        }
    }

    /// Whether the last buffer was rendered offline.
    pub fn rendering(&self) -> bool {
        match self {
            Running::Lookahead(running) => running.rendering(),
            Running::Timeline(running) => running.rendering(),
        }
    }

    /// Starts the stream position again (see each mode's `reset`).
    pub fn reset(&mut self) {
        match self {
            Running::Lookahead(running) => running.reset(),
            Running::Timeline(running) => running.reset(),
        }
    }

    /// Processes one host buffer.
    pub fn process(
        &mut self,
        buffer: &mut Buffer,
        context: &mut impl ProcessContext<AudioSlicer>,
        params: &SlicerParams,
        status: &Status,
    ) {
        match self {
            Running::Lookahead(running) => running.process(buffer, context, params, status),
            Running::Timeline(running) => running.process(buffer, context, params, status),
        }
    }
}

/// What a running state was started for: the plugin starts another when this changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recipe {
    analysis: Analysis,
    /// How many project states the host had loaded (a state may bring another model or a
    /// saved analysis).
    state_loads: u64,
}

impl Recipe {
    /// What `params` ask for now.
    pub fn current(params: &SlicerParams) -> Self {
        Self {
            analysis: params.analysis.value(),
            state_loads: params.saved_analysis.loads(),
        }
    }
}

/// Everything a running state is started from; cloned into the rebuild thread.
#[derive(Clone)]
pub struct Starter {
    /// The plugin's parameters.
    pub params: Arc<SlicerParams>,
    /// The plugin's status, where a failure to start is reported.
    pub status: Arc<Status>,
    /// The timeline analysis kept between activations.
    pub sessions: SessionStore,
    /// Whether the host has played its transport (see [`timeline::Running`]).
    pub song_seen: Arc<AtomicBool>,
    /// Host sample rate.
    pub rate: f32,
    /// Output channels.
    pub channels: usize,
    /// Longest buffer the host sends.
    pub max_block: usize,
    /// The host said at activation that it renders offline.
    pub offline: bool,
}

impl Starter {
    /// Starts what the parameters ask for now. On failure the audio passes through unchanged:
    /// the editor says why, and `None` is returned with the recipe that failed.
    pub fn start(&self) -> (Recipe, Option<Box<Running>>) {
        let recipe = Recipe::current(&self.params);
        match self.try_start(recipe.analysis) {
            Ok(running) => (recipe, Some(Box::new(running))),
            Err(message) => {
                nice_error!("{message}");
                self.status.publish(Arc::new(Snapshot::fault(message)));
                (recipe, None)
            }
        }
    }

    fn try_start(&self, analysis: Analysis) -> Result<Running, String> {
        let rate = self.rate;
        if !(rate.is_finite() && rate >= 1000.0) {
            return Err(format!("unsupported sample rate {rate} Hz"));
        }
        let rate_hz = rate.round() as u32;
        let dir = self.params.model_dir();
        let loaded = model::load(dir.as_deref()).map_err(|e| format!("model not loaded: {e:#}"))?;
        match analysis {
            Analysis::Timeline => self.start_timeline(loaded, rate_hz),
            Analysis::Lookahead => self.start_lookahead(loaded, rate_hz),
        }
    }

    fn start_lookahead(&self, loaded: model::LoadedModel, rate: u32) -> Result<Running, String> {
        let analyser = StreamingAnalyser::new(loaded.model.clone(), rate)
            .map_err(|e| format!("cannot analyse at {rate} Hz: {e:#}"))?;
        // Lookahead: the analysis delay; for the planner, a segment or the default min-keep if
        // longer, so short kept pieces between cuts are cut as the offline edit cuts them; room
        // to snap a boundary earlier; and half the longest ramp so a ramp can start before its
        // cut.
        let lookahead = analyser
            .segment_seconds()
            .max(CutOptions::default().min_keep);
        let latency_seconds = analyser.analysis_delay_seconds(rate)
            + lookahead
            + CutOptions::default().snap_tolerance
            + f64::from(MAX_CROSSFADE_SECONDS) / 2.0;
        let latency = (latency_seconds * f64::from(rate)).ceil() as usize;
        let link = Arc::new(Link::new(self.input_blocks(rate), EVENT_QUEUE));
        let info = analysis::model_info(&loaded.model, &loaded.source);
        self.status.publish(Arc::new(Snapshot {
            model: info.clone(),
            ..Snapshot::default()
        }));
        let thread = analysis::spawn(AnalysisSetup {
            link: link.clone(),
            status: self.status.clone(),
            params: self.params.clone(),
            analyser,
            lookahead,
            rate,
            model_info: info,
        })
        .map_err(|e| format!("cannot start the analysis thread: {e}"))?;
        Ok(Running::Lookahead(process::Running::new(
            link,
            thread,
            self.channels,
            self.max_block,
            latency,
            rate as f32,
            self.offline,
        )))
    }

    /// Starts timeline analysis, continuing the session heard before when it was heard at this
    /// rate with this model and the project's state has not changed since.
    fn start_timeline(&self, loaded: model::LoadedModel, rate: u32) -> Result<Running, String> {
        let info = analysis::model_info(&loaded.model, &loaded.source);
        let kept = match self.sessions.lock() {
            Ok(mut slot) => slot.take(),
            Err(poisoned) => poisoned.into_inner().take(),
        };
        let saved = self.params.saved_analysis.get();
        let saved_id = saved.as_ref().map(|s| s.id);
        let (kept, stream) = match kept {
            Some(stored) if stored.source == loaded.source && stored.session.rate() == rate => {
                // The song heard before, unless the host loaded another state since.
                let song = (stored.saved_id == saved_id).then_some(stored.session);
                (song, stored.stream)
            }
            _ => (None, None),
        };
        let mut notice = None;
        let fresh = || {
            SessionEdit::new(loaded.model.clone(), rate)
                .map_err(|e| format!("cannot analyse at {rate} Hz: {e:#}"))
        };
        let session = match (kept, saved) {
            (Some(session), _) => session,
            (_, Some(saved)) if saved.model == loaded.source && saved.session.rate() == rate => {
                match SessionEdit::restore(loaded.model.clone(), &saved.session) {
                    Ok(session) => session,
                    Err(e) => {
                        notice = Some(format!(
                            "the project's saved analysis was not restored ({e:#}); \
                             play the track to analyse it again"
                        ));
                        nice_warn!("{e:#}");
                        fresh()?
                    }
                }
            }
            _ => fresh()?,
        };
        let link = Arc::new(PlanLink::new(self.input_blocks(rate)));
        self.status.publish(Arc::new(Snapshot {
            model: info.clone(),
            ..Snapshot::default()
        }));
        let setup = WorkerSetup {
            link: link.clone(),
            status: self.status.clone(),
            params: self.params.clone(),
            store: self.sessions.clone(),
            model_info: info,
            saved_id,
            notice,
        };
        let thread = timeline::spawn(setup, session, stream)
            .map_err(|e| format!("cannot start the analysis thread: {e}"))?;
        Ok(Running::Timeline(timeline::Running::new(
            link,
            thread,
            self.max_block,
            rate as f32,
            self.offline,
            self.song_seen.clone(),
        )))
    }

    /// Blocks of input the queue to the analysis thread holds.
    fn input_blocks(&self, rate: u32) -> usize {
        ((INPUT_QUEUE_SECONDS * f64::from(rate)) as usize + self.max_block).div_ceil(BLOCK)
    }
}

/// What the rebuild thread answers a request with.
pub enum Built {
    /// The running state still serves what the parameters ask for (see [`Basis`]): it keeps
    /// running, undisturbed.
    Unchanged(Recipe),
    /// A new state for `Recipe`, or `None` when it could not start (the editor says why).
    Started(Recipe, Option<Box<Running>>),
}

/// What a running state was started from, as far as a parameter or a project state can
/// change it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Basis {
    analysis: Analysis,
    model_dir: Option<String>,
    /// [`AnalysisSlot::loads`](super::timeline::AnalysisSlot::loads).
    state_loads: u64,
}

impl Basis {
    /// What `params` start now.
    pub fn current(params: &SlicerParams) -> Self {
        Self {
            analysis: params.analysis.value(),
            model_dir: params.model_dir(),
            state_loads: params.saved_analysis.loads(),
        }
    }

    /// Whether a state started from `self` can go on running for `now`: the same mode and
    /// model, and for Timeline analysis no other saved analysis loaded. A Lookahead window
    /// holds nothing a state load replaces; starting it again would only lose the audio in
    /// its delay line. A recipe that changed and changed back (a host that sets every
    /// parameter as it starts) starts nothing either.
    fn still_serves(&self, now: &Basis) -> bool {
        self.analysis == now.analysis
            && self.model_dir == now.model_dir
            && (now.analysis == Analysis::Lookahead || self.state_loads == now.state_loads)
    }
}

/// What the audio thread asks of the rebuild thread.
enum Request {
    /// Start what the parameters ask for now, even if it is what runs already (the user
    /// picked a model again, which may have been retrained).
    Force,
    /// Drop a state the audio thread no longer uses.
    Retire(Box<Running>),
}

/// Queues between the audio thread and the rebuild thread.
struct RebuildLink {
    requests: ArrayQueue<Request>,
    built: ArrayQueue<Built>,
    stop: AtomicBool,
    /// What the newest state handed over was started from (the audio thread never reads it).
    basis: Mutex<Basis>,
}

impl RebuildLink {
    fn basis(&self) -> MutexGuard<'_, Basis> {
        self.basis.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The rebuild thread of one activation; dropping it stops the thread and drops whatever it
/// still holds.
///
/// The thread watches the parameters itself, so a state the host loads is started as soon as
/// it is loaded, not when the host next processes (`ardour7-export` loads a project and
/// exports it at once).
pub struct Rebuilder {
    link: Arc<RebuildLink>,
    thread: Option<JoinHandle<()>>,
    /// A forced build was asked for and nothing was taken since.
    forcing: bool,
}

impl Rebuilder {
    /// Starts the thread that starts states from `starter`; `recipe` and `basis` are what the
    /// running state was started for and from.
    pub fn spawn(starter: Starter, recipe: Recipe, basis: Basis) -> std::io::Result<Self> {
        // At most one state is built and not yet taken; the audio thread retires one state
        // per state taken.
        let link = Arc::new(RebuildLink {
            basis: Mutex::new(basis),
            requests: ArrayQueue::new(8),
            built: ArrayQueue::new(1),
            stop: AtomicBool::new(false),
        });
        let thread_link = link.clone();
        let thread = std::thread::Builder::new()
            .name("audio-slicer-rebuild".into())
            .spawn(move || {
                let mut watcher = Watcher {
                    starter,
                    recipe,
                    link: thread_link,
                };
                watcher.run();
            })?;
        Ok(Self {
            link,
            thread: Some(thread),
            forcing: false,
        })
    }

    /// Whether the state running (and none waiting to be taken) was started from `basis`.
    pub fn serves(&self, basis: &Basis) -> bool {
        self.link.built.is_empty() && *self.link.basis() == *basis
    }

    /// Asks for a new state even if the parameters ask for the one running.
    pub fn force(&mut self) {
        if self.link.requests.push(Request::Force).is_ok() {
            self.forcing = true;
            self.wake();
        }
    }

    /// A state (or answer) the thread has ready. With `wait`, and a state coming (`expecting`,
    /// or a forced build asked for), waits until it is ready (offline renders).
    pub fn take(&mut self, expecting: bool, wait: bool) -> Option<Built> {
        loop {
            if let Some(built) = self.link.built.pop() {
                self.forcing = false;
                return Some(built);
            }
            let alive = self.thread.as_ref().is_some_and(|t| !t.is_finished());
            if !(wait && (expecting || self.forcing) && alive) {
                return None;
            }
            self.wake();
            std::thread::sleep(OFFLINE_POLL);
        }
    }

    /// Hands `running` to the rebuild thread to be dropped there.
    pub fn retire(&self, running: Box<Running>) {
        if let Err(Request::Retire(running)) = self.link.requests.push(Request::Retire(running)) {
            // Cannot happen (one retirement per state taken, and room for several): dropping
            // it here joins its thread on the audio thread, which still beats leaking it.
            drop(running);
        }
        self.wake();
    }

    fn wake(&self) {
        if let Some(thread) = &self.thread {
            thread.thread().unpark();
        }
    }
}

impl Drop for Rebuilder {
    fn drop(&mut self) {
        self.link.stop.store(true, Ordering::Release);
        self.wake();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        // A state built and never taken goes down here, off the audio thread.
        while self.link.built.pop().is_some() {}
        while self.link.requests.pop().is_some() {}
    }
}

/// The rebuild thread's view: what the newest state it handed over was started for (from:
/// [`RebuildLink::basis`]).
struct Watcher {
    starter: Starter,
    recipe: Recipe,
    link: Arc<RebuildLink>,
}

impl Watcher {
    fn run(&mut self) {
        let mut forced = false;
        while !self.link.stop.load(Ordering::Acquire) {
            while let Some(request) = self.link.requests.pop() {
                match request {
                    Request::Force => forced = true,
                    Request::Retire(running) => drop(running),
                }
            }
            // One state at a time in the hand-over slot: the next is built once it is taken.
            // The basis is watched too: a project state may bring another model.
            let params = &self.starter.params;
            if self.link.built.is_empty()
                && (forced
                    || Recipe::current(params) != self.recipe
                    || Basis::current(params) != *self.link.basis())
            {
                let built = self.build(forced);
                forced = false;
                let _ = self.link.built.push(built);
            }
            std::thread::park_timeout(REBUILD_IDLE);
        }
    }

    fn build(&mut self, forced: bool) -> Built {
        let params = &self.starter.params;
        let now = Basis::current(params);
        let built = if !forced && self.link.basis().still_serves(&now) {
            self.recipe = Recipe::current(params);
            Built::Unchanged(self.recipe)
        } else {
            let (recipe, running) = self.starter.start();
            self.recipe = recipe;
            Built::Started(recipe, running)
        };
        // Only once the state is built: until then `Rebuilder::serves` says the old basis.
        *self.link.basis() = now;
        built
    }
}
