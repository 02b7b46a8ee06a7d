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
pub mod editor;
pub mod gate;
pub mod midi_file;
pub mod model;
pub mod overrides;
pub mod pace;
pub mod params;
mod process;
pub mod shared;
pub mod snapshot;
pub mod timeline;
pub mod transport;
pub mod view;

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
        convert_threshold_multiple(state);
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
        self.status.set_playhead(context.transport().pos_seconds());
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

/// Projects saved when the threshold was a multiple of the model's calibrated threshold (id
/// `threshold`) get the setting it stood for: the model's own threshold at 1, else the
/// absolute threshold of the multiple times the calibrated threshold of the model the project
/// names. A project whose model cannot be read any more (its load fails visibly when the
/// plugin starts) keeps the model's own.
fn convert_threshold_multiple(state: &mut PluginState) {
    let Some(ParamValue::F32(multiple)) = state.params.remove("threshold") else {
        return;
    };
    if state.params.contains_key("model-threshold") {
        return;
    }
    let dir: Option<String> = state
        .fields
        .get("model-path")
        .and_then(|json| serde_json::from_str::<String>(json).ok())
        .filter(|dir| !dir.trim().is_empty());
    let absolute = if (multiple - 1.0).abs() < 1e-6 {
        None
    } else {
        match model::load(dir.as_deref()) {
            Ok(loaded) => loaded
                .model
                .default_threshold()
                .map(|t| (t * f64::from(multiple)) as f32),
            Err(e) => {
                nice_log!("threshold x{multiple} kept as the model's own: {e:#}");
                None
            }
        }
    };
    state.params.insert(
        "model-threshold".into(),
        ParamValue::Bool(absolute.is_none()),
    );
    if let Some(t) = absolute {
        state
            .params
            .insert("score-threshold".into(), ParamValue::F32(t));
    }
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
    use crate::engine::edit::ThresholdMode;

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

    /// The threshold settings of a state: whether it uses the model's, and the absolute one.
    fn threshold_of(state: &PluginState) -> (Option<bool>, Option<f32>) {
        let model = match state.params.get("model-threshold") {
            Some(ParamValue::Bool(b)) => Some(*b),
            _ => None,
        };
        let absolute = match state.params.get("score-threshold") {
            Some(ParamValue::F32(v)) => Some(*v),
            _ => None,
        };
        (model, absolute)
    }

    #[test]
    fn old_threshold_multiples_become_the_threshold_they_stood_for() {
        let calibrated = model::load(None)
            .unwrap()
            .model
            .default_threshold()
            .unwrap();
        for (multiple, settings) in [
            (1.0, (Some(true), None)),
            (1.5, (Some(false), Some((1.5 * calibrated) as f32))),
        ] {
            let mut state = state_with(None);
            state
                .params
                .insert("threshold".into(), ParamValue::F32(multiple));
            AudioSlicer::filter_state(&mut state);
            assert_eq!(threshold_of(&state), settings, "x{multiple}");
            assert!(!state.params.contains_key("threshold"));
        }
        // A state saved with today's parameters is left as it is.
        let mut state = state_with(None);
        state
            .params
            .insert("model-threshold".into(), ParamValue::Bool(false));
        state
            .params
            .insert("score-threshold".into(), ParamValue::F32(0.7));
        AudioSlicer::filter_state(&mut state);
        assert_eq!(threshold_of(&state), (Some(false), Some(0.7)));
    }

    #[test]
    fn the_threshold_is_the_models_own_until_it_is_set_absolute() {
        let params = SlicerParams::default();
        assert_eq!(params.threshold_mode(), ThresholdMode::Calibrated);
        assert_eq!(params.threshold_with(0.42), 0.42);
        // The knob starts where the built-in model's calibration puts it.
        let built_in = model::load(None).unwrap().model.default_threshold();
        assert_eq!(built_in, Some(f64::from(params::BUILT_IN_THRESHOLD)));
        let plugin = AudioSlicer::default();
        let p = plugin.params.clone();
        unsafe {
            let map = p.param_map();
            let set = |id: &str, plain: f32| {
                let (_, ptr, _) = map.iter().find(|(i, _, _)| i == id).unwrap();
                ptr._internal_set_normalized_value(ptr.preview_normalized(plain));
            };
            set("model-threshold", 0.0);
            set("score-threshold", 0.62);
        }
        // Through the normalised value, as hosts set it: equal to a few parts in a million.
        let ThresholdMode::Absolute(t) = p.threshold_mode() else {
            panic!("{:?}", p.threshold_mode());
        };
        assert!((t - 0.62).abs() < 1e-5, "{t}");
        assert_eq!(p.threshold_with(0.42), t);
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
