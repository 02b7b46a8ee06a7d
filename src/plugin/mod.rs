//! Audio Slicer as a VST3/CLAP insert: a thin shell over the engine's streaming analysis.
//!
//! Threads: the host's audio thread ([`AudioSlicer::process`]) copies input into fixed-size
//! blocks on a lock-free queue, delays the audio by the lookahead and gates it from the
//! decisions the analysis thread ([`analysis`]) publishes; the editor ([`editor`]) reads the
//! snapshots the analysis thread publishes. In real time the audio thread never allocates,
//! locks or waits (undecided audio is kept); when the host renders offline (as it says at
//! activation, or as [`pace`] notices from a render running faster than real time) it waits
//! for the analysis, so bounces are exact and identical. Any fault passes the audio through unchanged
//! and is reported in the editor.

pub mod analysis;
pub mod buffers;
mod clap_entry;
mod editor;
pub mod gate;
pub mod midi_file;
pub mod model;
pub mod pace;
pub mod params;
mod process;
pub mod shared;
pub mod snapshot;
pub mod timeline;
pub mod transport;

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use nice_plug::prelude::*;

use self::analysis::AnalysisSetup;
use self::params::{Analysis, SlicerParams, MAX_CROSSFADE_SECONDS};
use self::shared::{Link, Status, BLOCK};
use self::snapshot::Snapshot;
use self::timeline::{PlanLink, SessionStore, WorkerSetup};
use crate::engine::cut_plan::CutOptions;
use crate::engine::session::SessionEdit;
use crate::engine::stream::StreamingAnalyser;

/// Seconds of input the queue to the analysis thread holds, so a slow moment of the analysis
/// (or of the machine) does not drop audio.
const INPUT_QUEUE_SECONDS: f64 = 8.0;
/// Decisions and scores in flight from the analysis thread to the audio thread.
const EVENT_QUEUE: usize = 4096;

/// The plugin.
pub struct AudioSlicer {
    params: Arc<SlicerParams>,
    status: Arc<Status>,
    /// Per-activation state; `None` while inactive or after a fault.
    running: Option<Running>,
    /// The timeline analysis, kept between activations.
    sessions: SessionStore,
    /// Whether the host has played its transport since the plugin was created (see
    /// [`timeline::Running`]).
    song_seen: Arc<AtomicBool>,
    /// A restart was asked for and has not happened yet.
    restart_requested: bool,
}

/// An activation's audio-thread state, by analysis mode.
enum Running {
    Lookahead(process::Running),
    Timeline(timeline::Running),
}

impl Running {
    fn analysis(&self) -> Analysis {
        match self {
            Running::Lookahead(_) => Analysis::Lookahead,
            Running::Timeline(_) => Analysis::Timeline,
        }
    }

    fn latency(&self) -> usize {
        match self {
            Running::Lookahead(running) => running.latency(),
            Running::Timeline(_) => 0,
        }
    }
}

impl Default for AudioSlicer {
    fn default() -> Self {
        Self {
            params: Arc::new(SlicerParams::default()),
            status: Arc::new(Status::default()),
            running: None,
            sessions: SessionStore::default(),
            song_seen: Arc::default(),
            restart_requested: false,
        }
    }
}

impl AudioSlicer {
    /// The shared status (for tests and the editor).
    pub fn status(&self) -> &Arc<Status> {
        &self.status
    }

    /// The parameters.
    pub fn slicer_params(&self) -> &Arc<SlicerParams> {
        &self.params
    }

    /// Loads the model and starts the analysis for `rate`, returning the running state and its
    /// latency, or why it cannot run.
    fn start(
        &self,
        rate: f32,
        channels: usize,
        max_block: usize,
        offline: bool,
    ) -> Result<Running, String> {
        if !(rate.is_finite() && rate >= 1000.0) {
            return Err(format!("unsupported sample rate {rate} Hz"));
        }
        let rate_hz = rate.round() as u32;
        let dir = self.params.model_dir();
        let loaded = model::load(dir.as_deref()).map_err(|e| format!("model not loaded: {e:#}"))?;
        if self.params.analysis.value() == Analysis::Timeline {
            return self.start_timeline(loaded, rate_hz, max_block, offline);
        }
        let hop = loaded.model.default_hop_frames();
        let analyser = StreamingAnalyser::new(loaded.model.clone(), rate_hz, hop)
            .map_err(|e| format!("cannot analyse at {rate} Hz: {e:#}"))?;
        // Lookahead: the analysis delay; for the planner, a segment or the default min-keep if
        // longer, so short kept pieces between cuts are cut as the offline edit cuts them; room
        // to snap a boundary earlier; and half the longest ramp so a ramp can start before its
        // cut.
        let lookahead = analyser
            .segment_seconds()
            .max(CutOptions::default().min_keep);
        let latency_seconds = analyser.analysis_delay_seconds(rate_hz)
            + lookahead
            + CutOptions::default().snap_tolerance
            + f64::from(MAX_CROSSFADE_SECONDS) / 2.0;
        let latency = (latency_seconds * f64::from(rate)).ceil() as usize;
        let blocks = ((INPUT_QUEUE_SECONDS * f64::from(rate)) as usize + max_block).div_ceil(BLOCK);
        let link = Arc::new(Link::new(blocks, EVENT_QUEUE));
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
            rate: rate_hz,
            model_info: info,
        })
        .map_err(|e| format!("cannot start the analysis thread: {e}"))?;
        Ok(Running::Lookahead(process::Running::new(
            link, thread, channels, max_block, latency, rate, offline,
        )))
    }

    /// Starts timeline analysis, continuing the session heard before when it was heard at this
    /// rate with this model.
    fn start_timeline(
        &self,
        loaded: model::LoadedModel,
        rate: u32,
        max_block: usize,
        offline: bool,
    ) -> Result<Running, String> {
        let info = analysis::model_info(&loaded.model, &loaded.source);
        let kept = match self.sessions.lock() {
            Ok(mut slot) => slot.take(),
            Err(poisoned) => poisoned.into_inner().take(),
        };
        let saved = match self.params.saved_analysis.lock() {
            Ok(slot) => slot.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        };
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
                        SessionEdit::new(loaded.model.clone(), rate)
                            .map_err(|e| format!("cannot analyse at {rate} Hz: {e:#}"))?
                    }
                }
            }
            _ => SessionEdit::new(loaded.model.clone(), rate)
                .map_err(|e| format!("cannot analyse at {rate} Hz: {e:#}"))?,
        };
        let blocks = ((INPUT_QUEUE_SECONDS * f64::from(rate)) as usize + max_block).div_ceil(BLOCK);
        let link = Arc::new(PlanLink::new(blocks));
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
            max_block,
            rate as f32,
            offline,
            self.song_seen.clone(),
        )))
    }
}

impl Plugin for AudioSlicer {
    const NAME: &'static str = "Audio Slicer";
    const VENDOR: &'static str = "Audio Slicer";
    const URL: &'static str = env!("CARGO_PKG_HOMEPAGE");
    const EMAIL: &'static str = "";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    const AUDIO_IO_LAYOUTS: &'static [AudioIOLayout] = &[
        AudioIOLayout {
            main_input_channels: NonZeroU32::new(2),
            main_output_channels: NonZeroU32::new(2),
            ..AudioIOLayout::const_default()
        },
        AudioIOLayout {
            main_input_channels: NonZeroU32::new(1),
            main_output_channels: NonZeroU32::new(1),
            ..AudioIOLayout::const_default()
        },
    ];
    const MIDI_OUTPUT: MidiConfig = MidiConfig::MidiCCs;
    const SAMPLE_ACCURATE_AUTOMATION: bool = false;

    type Editor = editor::SlicerEditor;
    type SysExMessage = ();
    type BackgroundTask = ();

    fn params(&self) -> Arc<dyn Params> {
        self.params.clone()
    }

    fn editor(&mut self, _async_executor: AsyncExecutor<Self>) -> Option<Self::Editor> {
        editor::create(self.params.clone(), self.status.clone())
    }

    fn activate(
        &mut self,
        layout: &AudioIOLayout,
        config: &BufferConfig,
        context: &mut impl ActivateContext<Self>,
    ) -> bool {
        // Stop (and join) the previous analysis before starting another.
        self.running = None;
        self.restart_requested = false;
        let channels = layout.main_output_channels.map_or(0, NonZeroU32::get) as usize;
        let offline = config.process_mode == ProcessMode::Offline;
        let max_block = config.max_buffer_size.max(1) as usize;
        self.status.audio_faults.store(0, Ordering::Relaxed);
        self.status
            .sample_rate
            .store(config.sample_rate.round() as u32, Ordering::Relaxed);
        match self.start(config.sample_rate, channels, max_block, offline) {
            Ok(running) => {
                let latency = running.latency() as u32;
                self.status
                    .latency_samples
                    .store(latency, Ordering::Relaxed);
                context.set_latency_samples(latency);
                self.running = Some(running);
            }
            Err(message) => {
                // Keep the host's session working: pass audio through and say why.
                nice_error!("{message}");
                self.status.latency_samples.store(0, Ordering::Relaxed);
                context.set_latency_samples(0);
                self.status.publish(Arc::new(Snapshot::fault(message)));
            }
        }
        true
    }

    fn reset(&mut self) {
        match self.running.as_mut() {
            Some(Running::Lookahead(running)) => running.reset(),
            Some(Running::Timeline(running)) => running.reset(),
            None => {}
        }
    }

    fn deactivate(&mut self) {
        self.running = None;
    }

    fn process(
        &mut self,
        buffer: &mut Buffer,
        _aux: &mut AuxiliaryBuffers,
        context: &mut impl ProcessContext<Self>,
    ) -> ProcessStatus {
        // A new model, or another analysis mode, takes a new activation.
        let mode_changed = self
            .running
            .as_ref()
            .is_some_and(|r| r.analysis() != self.params.analysis.value());
        if self.status.model_changed.swap(false, Ordering::AcqRel)
            || (mode_changed && !self.restart_requested)
        {
            self.restart_requested = true;
            context.request_restart();
        }
        match self.running.as_mut() {
            Some(Running::Lookahead(running)) => {
                running.process(buffer, context, &self.params, &self.status)
            }
            Some(Running::Timeline(running)) => {
                running.process(buffer, context, &self.params, &self.status)
            }
            None => {}
        }
        ProcessStatus::Normal
    }
}

impl ClapPlugin for AudioSlicer {
    const CLAP_ID: &'static str = "org.audio-slicer.audio-slicer";
    const CLAP_DESCRIPTION: Option<&'static str> =
        Some("Scores a track with a model learnt from your edits, marks and gates the bad parts");
    const CLAP_MANUAL_URL: Option<&'static str> = None;
    const CLAP_SUPPORT_URL: Option<&'static str> = None;
    const CLAP_FEATURES: &'static [ClapFeature] = &[
        ClapFeature::AudioEffect,
        ClapFeature::Analyzer,
        ClapFeature::Gate,
        ClapFeature::Mono,
        ClapFeature::Stereo,
    ];
}

impl Vst3Plugin for AudioSlicer {
    const VST3_CLASS_ID: [u8; 16] = *b"AudioSlicerLA001";
    const VST3_SUBCATEGORIES: &'static [Vst3SubCategory] = &[
        Vst3SubCategory::Fx,
        Vst3SubCategory::Analyzer,
        Vst3SubCategory::Dynamics,
    ];
}

nice_export_vst3!(AudioSlicer);
