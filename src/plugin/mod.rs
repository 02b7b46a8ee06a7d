//! Audio Slicer as a VST3/CLAP insert: a thin shell over the engine's session analysis.
//!
//! Threads: the host's audio thread ([`AudioSlicer::process`]) copies input into fixed-size
//! blocks on a lock-free queue and gates the audio, either from the plan of the whole analysed
//! timeline with no added latency ([`timeline`], the Timeline mode) or from the decisions of a
//! sliding window behind a delay line ([`analysis`], the Lookahead mode); the analysis thread
//! publishes plans to it and snapshots to the editor ([`editor`]), which only reads them. A
//! change of mode, model or loaded project state starts the new state on a thread of its own
//! ([`activation`]) while the old one keeps playing. In real time the audio thread never
//! allocates, locks or waits; when the host renders offline (as it says at activation, or as
//! [`pace`] notices from a render running faster than real time) it waits for the analysis,
//! so bounces are exact and identical. Any fault passes the audio through unchanged and is
//! reported in the editor.

mod activation;
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

use nice_plug::plugin::ParamValue;
use nice_plug::prelude::*;

use self::activation::{Basis, Built, Rebuilder, Recipe, Running, Starter};
use self::params::SlicerParams;
use self::shared::Status;
use self::snapshot::Snapshot;
use self::timeline::SessionStore;

/// The plugin.
pub struct AudioSlicer {
    params: Arc<SlicerParams>,
    status: Arc<Status>,
    /// Per-activation state; `None` while inactive or after a fault.
    running: Option<Box<Running>>,
    /// What `running` was started for; `None` while inactive.
    recipe: Option<Recipe>,
    /// Starts another running state when the parameters ask for one while active.
    rebuilder: Option<Rebuilder>,
    /// The host's setup of the current activation; `None` while inactive.
    setup: Option<Setup>,
    /// The timeline analysis, kept between activations.
    sessions: SessionStore,
    /// Whether the host has played its transport since the plugin was created (see
    /// [`timeline::Running`]).
    song_seen: Arc<AtomicBool>,
}

/// What the host set an activation up with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Setup {
    rate_bits: u32,
    channels: u32,
    max_block: u32,
    offline: bool,
}

impl Default for AudioSlicer {
    fn default() -> Self {
        Self {
            params: Arc::new(SlicerParams::default()),
            status: Arc::new(Status::default()),
            running: None,
            recipe: None,
            rebuilder: None,
            setup: None,
            sessions: SessionStore::default(),
            song_seen: Arc::default(),
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

    /// Reports `latency` samples to the host and the editor.
    fn report_latency(&self, latency: usize, context: &mut impl ProcessContext<Self>) {
        let latency = latency as u32;
        self.status
            .latency_samples
            .store(latency, Ordering::Relaxed);
        context.set_latency_samples(latency);
    }

    /// Swaps in the running state the parameters ask for when the rebuild thread has it ready
    /// (a user's pick of a model asks for one even if it is the same). Offline, waits for it,
    /// so a bounce does not depend on how fast it starts.
    fn follow_parameters(&mut self, context: &mut impl ProcessContext<Self>) {
        let Some(rebuilder) = self.rebuilder.as_mut() else {
            return;
        };
        if self.status.model_changed.swap(false, Ordering::AcqRel) {
            rebuilder.force();
        }
        let expecting = self.recipe != Some(Recipe::current(&self.params));
        let wait = self.running.as_deref().is_some_and(Running::rendering);
        match rebuilder.take(expecting, wait) {
            None => {}
            Some(Built::Unchanged(recipe)) => self.recipe = Some(recipe),
            Some(Built::Started(recipe, running)) => {
                self.recipe = Some(recipe);
                self.report_latency(running.as_deref().map_or(0, Running::latency), context);
                let old = std::mem::replace(&mut self.running, running);
                if let (Some(old), Some(rebuilder)) = (old, self.rebuilder.as_ref()) {
                    rebuilder.retire(old);
                }
            }
        }
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

    fn filter_state(state: &mut PluginState) {
        // Projects saved before the Analysis parameter existed ran the lookahead: they keep it.
        state
            .params
            .entry("analysis".into())
            .or_insert_with(|| ParamValue::String("lookahead".into()));
    }

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
        let setup = Setup {
            rate_bits: config.sample_rate.to_bits(),
            channels: layout.main_output_channels.map_or(0, NonZeroU32::get),
            max_block: config.max_buffer_size,
            offline: config.process_mode == ProcessMode::Offline,
        };
        // Activated again with nothing changed (the host loaded a state that asks for what
        // runs: JUCE hosts load back the state they just read): what runs keeps running, its
        // analysis and delay line intact.
        if self.setup == Some(setup)
            && self.recipe == Some(Recipe::current(&self.params))
            && self
                .rebuilder
                .as_ref()
                .is_some_and(|r| r.serves(&Basis::current(&self.params)))
        {
            let latency = self.running.as_deref().map_or(0, Running::latency) as u32;
            context.set_latency_samples(latency);
            return true;
        }
        self.setup = Some(setup);
        // Stop (and join) the previous analysis before starting another.
        self.rebuilder = None;
        self.running = None;
        self.status.audio_faults.store(0, Ordering::Relaxed);
        self.status
            .sample_rate
            .store(config.sample_rate.round() as u32, Ordering::Relaxed);
        self.status.model_changed.store(false, Ordering::Relaxed);
        let starter = Starter {
            params: self.params.clone(),
            status: self.status.clone(),
            sessions: self.sessions.clone(),
            song_seen: self.song_seen.clone(),
            rate: config.sample_rate,
            channels: layout.main_output_channels.map_or(0, NonZeroU32::get) as usize,
            max_block: config.max_buffer_size.max(1) as usize,
            offline: config.process_mode == ProcessMode::Offline,
        };
        let basis = Basis::current(&self.params);
        // On failure the audio passes through and the editor says why.
        let (recipe, running) = starter.start();
        let latency = running.as_deref().map_or(0, Running::latency) as u32;
        self.status
            .latency_samples
            .store(latency, Ordering::Relaxed);
        context.set_latency_samples(latency);
        self.running = running;
        self.recipe = Some(recipe);
        match Rebuilder::spawn(starter, recipe, basis) {
            Ok(rebuilder) => self.rebuilder = Some(rebuilder),
            Err(e) => {
                // What runs keeps running; only changes of mode or model wait for the next
                // activation.
                nice_error!("cannot start the rebuild thread: {e}");
                self.status.publish(Arc::new(Snapshot::fault(format!(
                    "changes of Analysis or model apply at the next activation \
                     (cannot start a thread: {e})"
                ))));
            }
        }
        true
    }

    fn reset(&mut self) {
        if let Some(running) = self.running.as_mut() {
            running.reset();
        }
    }

    fn deactivate(&mut self) {
        // The rebuild thread first: it may hold a state being started.
        self.rebuilder = None;
        self.setup = None;
        self.running = None;
        self.recipe = None;
    }

    fn process(
        &mut self,
        buffer: &mut Buffer,
        _aux: &mut AuxiliaryBuffers,
        context: &mut impl ProcessContext<Self>,
    ) -> ProcessStatus {
        self.follow_parameters(context);
        if let Some(running) = self.running.as_mut() {
            running.process(buffer, context, &self.params, &self.status);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn state_with(analysis: Option<&str>) -> PluginState {
        let mut state = PluginState {
            version: String::new(),
            params: Default::default(),
            fields: Default::default(),
        };
        if let Some(id) = analysis {
            let value = ParamValue::String(id.into());
            state.params.insert("analysis".into(), value);
        }
        AudioSlicer::filter_state(&mut state);
        state
    }

    fn analysis_of(state: &PluginState) -> Option<&str> {
        match state.params.get("analysis") {
            Some(ParamValue::String(id)) => Some(id),
            _ => None,
        }
    }

    #[test]
    fn timeline_is_the_default_and_older_projects_keep_the_lookahead() {
        assert_eq!(
            SlicerParams::default().analysis.value(),
            params::Analysis::Timeline
        );
        assert_eq!(analysis_of(&state_with(None)), Some("lookahead"));
        for id in ["timeline", "lookahead"] {
            assert_eq!(analysis_of(&state_with(Some(id))), Some(id));
        }
    }
}
