//! Timeline analysis: the plugin analyses the host timeline as it plays and gates every
//! analysed position from the plan of the whole track, with no added latency.
//!
//! The audio thread ([`running`]) sends the downmixed input keyed to the song position; the
//! analysis thread ([`worker`]) feeds it to the engine's [`SessionEdit`], plans the whole
//! timeline again when there is new audio or the settings change, and hands the audio thread a
//! [`GatePlan`] by pointer. Plans travel in boxes on lock-free queues and come back to be
//! refilled, so the audio thread never allocates or frees one.

mod running;
mod worker;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crossbeam::queue::ArrayQueue;
use nice_plug::params::persist::PersistentField;
use serde::{Deserialize, Serialize};

use super::shared::{Clock, InputBlock};
use crate::engine::fades::{fade_in, fade_out};
use crate::engine::session::{SavedSession, SessionEdit};

pub use running::Running;
pub use worker::{spawn, WorkerSetup};

/// A session's analysis kept between activations (a host re-activates the plugin to bounce),
/// with the model source and rate it belongs to.
pub type SessionStore = Arc<Mutex<Option<StoredSession>>>;

/// The analysis of a timeline and what it was made with.
pub struct StoredSession {
    /// Where the model came from ("built-in" or its directory).
    pub source: String,
    /// The session itself (its rate is the rate it was heard at): the song's timeline.
    pub session: SessionEdit,
    /// What a host that never played its transport streamed ([`Clock::Stream`]): kept apart
    /// from the song's analysis, which it must never replace, and never saved.
    pub stream: Option<SessionEdit>,
    /// The [`SavedAnalysis::id`] of the project's saved analysis this session continues: one
    /// that no longer matches the project's means the host loaded another state since.
    pub saved_id: Option<u64>,
}

/// The timeline analysis as the project saves it (the `timeline-analysis` state field).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedAnalysis {
    /// Tells one save from another (see [`StoredSession::saved_id`]).
    pub id: u64,
    /// Where the model came from ("built-in" or its directory): the scores are its scores.
    pub model: String,
    /// The analysis.
    pub session: SavedSession,
}

impl SavedAnalysis {
    /// A save of `session`, made with the model from `model`, with a new id.
    pub fn new(model: String, session: SavedSession) -> Self {
        static SAVES: AtomicU64 = AtomicU64::new(0);
        // Unique within the process by the counter, and across processes (a project saved by
        // another run) by the clock.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        let count = SAVES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Self {
            id: nanos ^ count.rotate_right(16),
            model,
            session,
        }
    }
}

/// The project's saved analysis (the `timeline-analysis` state field), counting the states the
/// host loads into it that bring another analysis: such a load after activation (Ardour loads
/// a project that way) asks the plugin to start again from what was loaded.
#[derive(Debug, Default)]
pub struct AnalysisSlot {
    analysis: Mutex<Option<SavedAnalysis>>,
    loads: AtomicU64,
}

impl AnalysisSlot {
    /// The saved analysis, locked. A panic elsewhere while it was held leaves a whole value
    /// (every write replaces it at once), so a poisoned lock is used as it is.
    pub fn lock(&self) -> MutexGuard<'_, Option<SavedAnalysis>> {
        self.analysis
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A copy of the saved analysis.
    pub fn get(&self) -> Option<SavedAnalysis> {
        self.lock().clone()
    }

    /// How many states with another analysis than the slot's the host has loaded into it.
    pub fn loads(&self) -> u64 {
        self.loads.load(Ordering::Acquire)
    }
}

impl<'a> PersistentField<'a, Option<SavedAnalysis>> for AnalysisSlot {
    fn set(&self, new_value: Option<SavedAnalysis>) {
        let mut slot = self.lock();
        let id = |analysis: &Option<SavedAnalysis>| analysis.as_ref().map(|a| a.id);
        // A host that loads back the state it just read from the plugin (JUCE hosts do) brings
        // nothing new: the running analysis continues it.
        if id(&slot) != id(&new_value) {
            self.loads.fetch_add(1, Ordering::AcqRel);
        }
        *slot = new_value;
    }

    fn map<F, R>(&self, f: F) -> R
    where
        F: Fn(&Option<SavedAnalysis>) -> R,
    {
        f(&self.lock())
    }
}

/// The gain at timeline sample `q` of a window `[start, end)` with equal-power ramps of `ramp`
/// samples centred on its edges, as [`GatePlan::target`] ramps a kept piece.
pub fn window_gain(q: u64, start: u64, end: u64, ramp: usize) -> f32 {
    let lead = (ramp / 2) as i64;
    let rel = |e: u64| q as i64 - (e as i64 - lead);
    (fade_in(rel(start), ramp) * fade_out(rel(end), ramp)) as f32
}

/// The plan of the whole analysed timeline, as the audio thread gates it.
#[derive(Debug, Default, Clone)]
pub struct GatePlan {
    /// The timeline the positions below are on.
    pub clock: Clock,
    /// Keep/cut edges in timeline samples, ascending: each even index starts a cut, the odd
    /// one after it ends the cut.
    pub edges: Vec<u64>,
    /// Analysed spans in timeline samples, ascending; everything else passes untouched.
    pub coverage: Vec<(u64, u64)>,
    /// Segment starts in timeline samples with their scores scaled to 0..=1 (the threshold at
    /// one half), ascending, for the score CC.
    pub scores: Vec<(u64, f32)>,
}

impl GatePlan {
    /// Whether timeline sample `q` has been analysed.
    pub fn covers(&self, q: u64) -> bool {
        let i = self.coverage.partition_point(|&(start, _)| start <= q);
        i > 0 && q < self.coverage[i - 1].1
    }

    /// The gain at `q` with equal-power ramps of `ramp` samples centred on each edge (as
    /// [`crate::engine::render::render_gated`] draws them); 1 where nothing was analysed.
    pub fn target(&self, q: u64, ramp: usize) -> f32 {
        if !self.covers(q) {
            return 1.0;
        }
        let lead = (ramp / 2) as i64;
        let i = self.edges.partition_point(|&e| e <= q);
        let rel = |e: u64| q as i64 - (e as i64 - lead);
        let prev = i.checked_sub(1).map(|k| self.edges[k]);
        let next = self.edges.get(i).copied();
        if i % 2 == 0 {
            let fin = prev.map_or(1.0, |p| fade_in(rel(p), ramp));
            let fout = next.map_or(1.0, |n| fade_out(rel(n), ramp));
            (fin * fout) as f32
        } else {
            let tail = prev.map_or(0.0, |p| fade_out(rel(p), ramp));
            let head = next.map_or(0.0, |n| fade_in(rel(n), ramp));
            tail.max(head) as f32
        }
    }

    /// Whether the gain is one value over all of `q0..q1`: no edge's ramp and no coverage
    /// boundary touches the span.
    pub fn steady(&self, q0: u64, q1: u64, ramp: usize) -> bool {
        let lead = (ramp / 2) as u64;
        // An edge at `e` shapes `e - lead .. e - lead + ramp`.
        let from = (q0 + lead).saturating_sub(ramp as u64);
        let i = self.edges.partition_point(|&e| e < from);
        let edge_near = self.edges.get(i).is_some_and(|&e| e <= q1 + lead);
        let j = self.coverage.partition_point(|&(_, end)| end <= q0);
        let boundary_near = self
            .coverage
            .get(j)
            .is_some_and(|&(start, end)| (start > q0 && start < q1) || end < q1);
        !edge_near && !boundary_near
    }

    /// Index range of the edges inside `q0..q1`.
    pub fn edges_in(&self, q0: u64, q1: u64) -> std::ops::Range<usize> {
        self.edges.partition_point(|&e| e < q0)..self.edges.partition_point(|&e| e < q1)
    }

    /// The scores inside `q0..q1`.
    pub fn scores_in(&self, q0: u64, q1: u64) -> &[(u64, f32)] {
        let a = self.scores.partition_point(|&(p, _)| p < q0);
        let b = self.scores.partition_point(|&(p, _)| p < q1);
        &self.scores[a..b]
    }
}

/// Queues and flags shared by the audio thread and the timeline analysis thread.
pub struct PlanLink {
    /// Input, audio thread to analysis thread.
    pub input: ArrayQueue<InputBlock>,
    /// The newest plan, analysis thread to audio thread (one slot: a newer plan replaces one
    /// not yet taken).
    pub plans: ArrayQueue<Box<GatePlan>>,
    /// Plans the audio thread has replaced, back to the analysis thread to be refilled.
    pub recycle: ArrayQueue<Box<GatePlan>>,
    /// Input blocks the analysis thread has finished with (their plans published).
    pub consumed: AtomicU64,
    /// The audio thread renders offline: plan only where the input says, never when idle, so
    /// a bounce is the same however fast the analysis runs.
    pub rendering: AtomicBool,
    /// Asks the analysis thread to finish.
    pub stop: AtomicBool,
    /// Set by the analysis thread when it has given up (see the status for why).
    pub failed: AtomicBool,
}

/// Plans alive at once: the audio thread's, one in the slot, one being filled, and one taken
/// back from the slot. The recycle queue holds them all, so returning one never fails.
const PLANS_IN_FLIGHT: usize = 4;

impl PlanLink {
    /// Queues for `input_blocks` blocks of input.
    pub fn new(input_blocks: usize) -> Self {
        Self {
            input: ArrayQueue::new(input_blocks.max(1)),
            plans: ArrayQueue::new(1),
            recycle: ArrayQueue::new(PLANS_IN_FLIGHT),
            consumed: AtomicU64::new(0),
            rendering: AtomicBool::new(false),
            stop: AtomicBool::new(false),
            failed: AtomicBool::new(false),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> GatePlan {
        GatePlan {
            clock: Clock::Song,
            edges: vec![1000, 2000, 5000, 6000],
            coverage: vec![(0, 4000), (4000, 8000)],
            scores: vec![(0, 0.1), (1000, 0.9), (7000, 0.2)],
        }
    }

    #[test]
    fn gains_ramp_around_edges_and_pass_outside_the_coverage() {
        let plan = plan();
        let ramp = 100;
        assert_eq!(plan.target(500, ramp), 1.0);
        assert_eq!(plan.target(1500, ramp), 0.0);
        assert_eq!(plan.target(3000, ramp), 1.0);
        assert_eq!(plan.target(9000, ramp), 1.0);
        // Centred, equal-power ramps.
        for k in 0..ramp as u64 {
            let (out, inn) = (plan.target(950 + k, ramp), plan.target(1950 + k, ramp));
            assert!((out * out + inn * inn - 1.0).abs() < 1e-5);
        }
        assert!(plan.steady(100, 900, ramp) && plan.steady(1100, 1900, ramp));
        assert!(!plan.steady(900, 1000, ramp) && !plan.steady(3900, 4100, ramp));
        assert_eq!(plan.edges_in(0, 2000), 0..1);
        assert_eq!(plan.scores_in(500, 7001), &[(1000, 0.9), (7000, 0.2)]);
    }
}
