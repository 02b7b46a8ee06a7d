//! The analysis thread: takes the audio thread's blocks, runs the engine's streaming analyser
//! and online planner, hands decisions back to the audio thread and snapshots to the editor.
//! It may allocate and take its time; it never holds anything the audio thread waits on.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::Result;

use crate::engine::cut_plan::SnapMode;
use crate::engine::slicer::Slicer;
use crate::engine::stream::{
    Decision, OnlinePlanner, PlannerSettings, ScoreHistory, StreamEvent, StreamingAnalyser,
};

use super::params::SlicerParams;
use super::shared::{GateEvent, InputBlock, Link, Status};
use super::snapshot::{scaled_score, CutMarker, ModelInfo, Snapshot, TimelineBin};
use super::transport::SongClock;

/// How long the thread sleeps when there is no input; short against any lookahead.
const IDLE: Duration = Duration::from_millis(2);
/// Least time between two editor snapshots; the editor repaints no faster than this matters.
const SNAPSHOT_INTERVAL: Duration = Duration::from_millis(50);
/// Bins kept for the editor: 20 minutes at the default model's bin length (0.19 s), so three
/// hours of audio take no more memory than twenty minutes.
pub const HISTORY_BINS: usize = 6400;
/// Cut markers kept for the editor and the exports.
pub const MAX_CUTS: usize = 4096;

/// Everything the analysis thread is started with.
pub struct AnalysisSetup {
    /// Queues shared with the audio thread.
    pub link: Arc<Link>,
    /// Status shared with the editor.
    pub status: Arc<Status>,
    /// Parameters (read for the threshold and planning rules).
    pub params: Arc<SlicerParams>,
    /// The streaming analyser, built on the loaded model at the host rate.
    pub analyser: StreamingAnalyser,
    /// Planner lookahead in seconds.
    pub lookahead: f64,
    /// Host sample rate.
    pub rate: u32,
    /// The model as the editor describes it.
    pub model_info: ModelInfo,
}

/// Starts the analysis thread.
pub fn spawn(setup: AnalysisSetup) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("audio-slicer analysis".into())
        .spawn(move || {
            let link = setup.link.clone();
            let status = setup.status.clone();
            let mut worker = Worker::new(setup);
            // A panic in the engine must not take the host down: catch it and say so.
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| worker.run()));
            let message = match outcome {
                Ok(Ok(())) => return,
                Ok(Err(e)) => format!("analysis stopped: {e:#}"),
                Err(_) => "analysis stopped: internal error (panic)".to_owned(),
            };
            link.failed.store(true, Ordering::Release);
            status.publish(Arc::new(Snapshot::fault(message)));
        })
}

struct Worker {
    setup: AnalysisSetup,
    planner: OnlinePlanner,
    history: ScoreHistory,
    clock: SongClock,
    cuts: VecDeque<CutMarker>,
    events: Vec<StreamEvent>,
    decisions: Vec<Decision>,
    generation: u32,
    /// Stream position of the analyser's time 0.
    origin: u64,
    /// Stream position expected next.
    expected: u64,
    /// Where the planner has decided up to (stream samples).
    horizon: u64,
    busy: Duration,
    analysed_samples: u64,
    last_snapshot: Instant,
    dirty: bool,
}

impl Worker {
    fn new(setup: AnalysisSetup) -> Self {
        let planner = OnlinePlanner::new(setup.analyser.bin_seconds(), setup.lookahead);
        let clock = SongClock::new(setup.rate);
        Self {
            planner,
            history: ScoreHistory::new(HISTORY_BINS),
            clock,
            cuts: VecDeque::new(),
            events: Vec::new(),
            decisions: Vec::new(),
            generation: 0,
            origin: 0,
            expected: 0,
            horizon: 0,
            busy: Duration::ZERO,
            analysed_samples: 0,
            last_snapshot: Instant::now() - SNAPSHOT_INTERVAL,
            dirty: true,
            setup,
        }
    }

    fn run(&mut self) -> Result<()> {
        let link = self.setup.link.clone();
        while !link.stop.load(Ordering::Acquire) {
            match link.input.pop() {
                Some(block) => {
                    let started = Instant::now();
                    self.take(&block)?;
                    self.busy += started.elapsed();
                }
                None => {
                    // Idle: the editor gets the latest state at once.
                    self.publish(self.dirty);
                    std::thread::park_timeout(IDLE);
                }
            }
            self.publish(false);
        }
        Ok(())
    }

    /// Analyses one block, restarting first if the audio thread reset or dropped input.
    fn take(&mut self, block: &InputBlock) -> Result<()> {
        if block.generation != self.generation || block.position != self.expected {
            self.restart(block);
        }
        self.clock.push(block.position, block.transport);
        self.expected = block.position + block.len as u64;
        self.events.clear();
        self.setup
            .analyser
            .push(&block.samples[..block.len], &mut self.events)?;
        self.analysed_samples += block.len as u64;
        let events = std::mem::take(&mut self.events);
        for event in &events {
            if let StreamEvent::Bin {
                index,
                start,
                end,
                score,
            } = *event
            {
                self.bin(index, start, end, score)?;
            }
        }
        self.events = events;
        // Progress is news for the editor even before a bin is final (the classifier's
        // context holds the first bins back for seconds).
        self.dirty = true;
        self.setup.link.set_horizon(self.generation, self.horizon);
        Ok(())
    }

    fn restart(&mut self, block: &InputBlock) {
        if block.generation != self.generation {
            self.history.clear();
            self.cuts.clear();
            self.clock.clear();
            self.horizon = 0;
            self.analysed_samples = 0;
            self.busy = Duration::ZERO;
        } else {
            // Input was dropped: whatever fell in the gap stays as it was played, kept.
            self.send(GateEvent::Decision {
                start: self.horizon,
                end: block.position,
                keep: true,
            });
            self.horizon = block.position;
        }
        self.generation = block.generation;
        self.origin = block.position;
        self.setup.analyser.reset();
        self.planner.reset();
    }

    /// Stream position of analyser time `t`.
    fn position(&self, t: f64) -> u64 {
        self.origin + (t.max(0.0) * f64::from(self.setup.rate)).round() as u64
    }

    fn bin(&mut self, index: usize, start: f64, end: f64, score: f64) -> Result<()> {
        let params = &self.setup.params;
        let threshold = params.threshold_with(self.setup.model_info.calibrated_threshold);
        let settings = PlannerSettings {
            threshold,
            cut: params.cut_options(),
        };
        self.history.push(index, start, end, score);
        self.send(GateEvent::Score {
            position: self.position(start),
            scaled: scaled_score(score, threshold),
        });
        // The bin's own flag is not in the planner yet, so it is checked here too.
        let could_cut = self.planner.has_bad_bins() || score > threshold;
        let grid = match settings.cut.snap {
            SnapMode::Off => None,
            _ if !could_cut => None,
            _ => {
                let around = self.planner.committed();
                let span = settings.cut.min_keep + 2.0 * self.planner.commit_delay(&settings) + end
                    - around;
                let origin_seconds = self.origin as f64 / f64::from(self.setup.rate);
                self.clock
                    .grid(origin_seconds + around - span, origin_seconds + end + span)
                    .map(|mut g| {
                        for list in [&mut g.beats, &mut g.downbeats] {
                            list.iter_mut().for_each(|t| *t -= origin_seconds);
                        }
                        g
                    })
                    .or_else(|| Some(self.setup.analyser.recent_beats()))
            }
        };
        self.decisions.clear();
        let mut decisions = std::mem::take(&mut self.decisions);
        self.planner
            .push_bin(index, score, &settings, grid.as_ref(), &mut decisions);
        for d in &decisions {
            let (start, end) = (self.position(d.start), self.position(d.end));
            self.send(GateEvent::Decision {
                start,
                end,
                keep: d.keep,
            });
            self.history.mark(d.start, d.end, d.keep);
            if !d.keep {
                self.mark_cut(start, end);
            }
            self.horizon = self.horizon.max(end);
        }
        self.decisions = decisions;
        self.dirty = true;
        Ok(())
    }

    /// Adds a cut to the markers, joining it to the previous one when they touch.
    fn mark_cut(&mut self, start: u64, end: u64) {
        let (s, sb) = self.clock.song_time(start);
        let (e, eb) = self.clock.song_time(end);
        if let Some(last) = self.cuts.back_mut() {
            if (last.end - s).abs() < 1e-6 {
                last.end = e;
                last.end_beats = eb;
                return;
            }
        }
        if self.cuts.len() == MAX_CUTS {
            self.cuts.pop_front();
        }
        self.cuts.push_back(CutMarker {
            start: s,
            end: e,
            start_beats: sb,
            end_beats: eb,
        });
    }

    /// Hands an event to the audio thread, waiting for room (the audio thread drains the queue
    /// every block, so the wait is short) unless asked to stop.
    fn send(&self, event: GateEvent) {
        let link = &self.setup.link;
        let mut item = (self.generation, event);
        while let Err(back) = link.events.push(item) {
            if link.stop.load(Ordering::Acquire) {
                return;
            }
            item = back;
            std::thread::sleep(IDLE);
        }
    }

    /// Publishes a snapshot for the editor when something changed and the last one is old
    /// enough, or when `force`d.
    fn publish(&mut self, force: bool) {
        if !(force || self.dirty && self.last_snapshot.elapsed() >= SNAPSHOT_INTERVAL) {
            return;
        }
        let rate = f64::from(self.setup.rate);
        let status = &self.setup.status;
        let written = status.written.load(Ordering::Relaxed);
        let latency = u64::from(status.latency_samples.load(Ordering::Relaxed));
        let audio_seconds = self.analysed_samples as f64 / rate;
        let transport = self.clock.latest();
        let bins = self
            .history
            .bins()
            .map(|b| {
                let (start, beats) = self.clock.song_time(self.position(b.start));
                TimelineBin {
                    start,
                    length: b.end - b.start,
                    beats,
                    score: b.score,
                    keep: b.keep,
                }
            })
            .collect();
        let snapshot = Snapshot {
            bins,
            cuts: self.cuts.iter().copied().collect(),
            threshold: self
                .setup
                .params
                .threshold_with(self.setup.model_info.calibrated_threshold),
            model: self.setup.model_info.clone(),
            lag_seconds: written.saturating_sub(self.horizon + latency) as f64 / rate,
            load: if audio_seconds > 0.0 {
                self.busy.as_secs_f64() / audio_seconds
            } else {
                0.0
            },
            analysed_seconds: audio_seconds,
            coverage: Vec::new(),
            levels: Default::default(),
            tempo: transport.and_then(|t| t.tempo),
            time_sig: transport.and_then(|t| t.time_sig),
            fault: None,
            notice: None,
        };
        if status.try_publish(Arc::new(snapshot)) {
            self.dirty = false;
            self.last_snapshot = Instant::now();
        }
    }
}

/// The editor's description of a model.
pub fn model_info(model: &Slicer, source: &str) -> ModelInfo {
    // The autoencoder's calibration percentiles only describe the model when they set the
    // threshold: not when a classifier or the novelty scorer scores it.
    let calibration = match model.context_scorer() {
        Some(_) => None,
        None => model.autoencoder().config().calibration.as_ref(),
    };
    ModelInfo {
        name: model.name().to_owned(),
        source: source.to_owned(),
        method: model.method().to_owned(),
        calibration: calibration
            .map(|c| c.percentiles.clone())
            .unwrap_or_default(),
        calibrated_threshold: model.default_threshold().unwrap_or(f64::NAN),
    }
}
