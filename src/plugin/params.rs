//! The plugin's parameters and the state saved with the project beside them.

use std::sync::{Arc, Mutex};

use nice_plug::prelude::*;
use serde::{Deserialize, Serialize};

use crate::engine::cut_plan::{CutOptions, Override, SnapMode};
use crate::engine::edit::ThresholdMode;
use crate::engine::render::DEFAULT_CROSSFADE_SECONDS;
use crate::plugin::overrides;
use crate::plugin::timeline::AnalysisSlot;
use crate::plugin::view::View;

/// Longest crossfade the parameter allows, in seconds. The lookahead includes half of it so a
/// ramp centred on a cut can start before the cut.
pub const MAX_CROSSFADE_SECONDS: f32 = 0.1;

/// What the plugin does with the audio.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum GateMode {
    /// Score and mark only; the audio passes (delayed by the lookahead) untouched.
    #[id = "analyse"]
    #[name = "Analyse only"]
    Analyse,
    /// Silence the cuts with equal-power ramps.
    #[id = "gate"]
    #[name = "Gate"]
    Gate,
    /// The opposite: hear only what would be cut.
    #[id = "audition"]
    #[name = "Audition cuts"]
    Audition,
}

/// How the plugin learns the track it gates.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Analysis {
    /// Analyse the host timeline as it plays and gate every analysed position from the plan of
    /// the whole track, with no added latency; positions never heard pass untouched.
    #[id = "timeline"]
    #[name = "Timeline"]
    Timeline,
    /// Decide from a sliding window, delaying the audio by the lookahead: one pass renders an
    /// edit of a track never played before.
    #[id = "lookahead"]
    #[name = "Lookahead"]
    Lookahead,
}

/// What cut boundaries snap to.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Snap {
    /// Boundaries stay where detection put them.
    #[id = "off"]
    #[name = "Off"]
    Off,
    /// The nearest beat (host tempo, or the engine's beat tracker without one).
    #[id = "beat"]
    #[name = "Beat"]
    Beat,
    /// The nearest bar start.
    #[id = "bar"]
    #[name = "Bar"]
    Bar,
}

impl Snap {
    /// The engine's snap mode.
    pub fn mode(self) -> SnapMode {
        match self {
            Snap::Off => SnapMode::Off,
            Snap::Beat => SnapMode::Beat,
            Snap::Bar => SnapMode::Bar,
        }
    }
}

/// Editor settings saved with the project.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EditorSettings {
    /// What stretch of the song the timeline shows.
    pub view: View,
    /// Folder the marker exports are written to (empty: the home folder).
    pub export_dir: String,
}

/// Every automatable parameter, plus the model choice and editor settings.
#[derive(Params)]
pub struct SlicerParams {
    /// Model directory chosen in the editor; empty for the built-in default model.
    #[persist = "model-path"]
    pub model_path: Arc<Mutex<String>>,
    /// Editor settings.
    #[persist = "editor"]
    pub editor: Arc<Mutex<EditorSettings>>,
    /// Stretches kept or cut by hand in the editor, in song seconds, in the order they were
    /// made (see [`crate::plugin::overrides`]).
    #[persist = "overrides"]
    pub overrides: Arc<Mutex<Vec<Override>>>,
    /// The timeline analysis, saved with the project so an export in a new session of the
    /// host gates what an earlier one heard.
    #[persist = "timeline-analysis"]
    pub saved_analysis: AnalysisSlot,

    /// Cut above the model's own calibrated threshold, as the command line does with no
    /// `--threshold`; off, cut above [`Self::threshold`] (see [`Self::threshold_mode`]).
    #[id = "model-threshold"]
    pub model_threshold: BoolParam,
    /// The score above which a stretch is cut when "Model threshold" is off: the command line's
    /// `--threshold`. Projects saved when the threshold was a multiple of the model's (id
    /// `threshold`) are converted on load.
    #[id = "score-threshold"]
    pub threshold: FloatParam,
    /// Detected cuts shorter than this (seconds) are left in.
    #[id = "min-cut"]
    pub min_cut: FloatParam,
    /// Kept pieces shorter than this (seconds) are cut, as far as the lookahead sees.
    #[id = "min-keep"]
    pub min_keep: FloatParam,
    /// Audio kept before each kept piece (seconds).
    #[id = "pre-pad"]
    pub pre_pad: FloatParam,
    /// Audio kept after each kept piece (seconds).
    #[id = "post-pad"]
    pub post_pad: FloatParam,
    /// Length of the equal-power ramps at each cut (seconds).
    #[id = "crossfade"]
    pub crossfade: FloatParam,
    /// What cut boundaries snap to.
    #[id = "snap"]
    pub snap: EnumParam<Snap>,
    /// What happens to the audio.
    #[id = "mode"]
    pub mode: EnumParam<GateMode>,
    /// Timeline or lookahead analysis (a change starts the other mode at once).
    #[id = "analysis"]
    pub analysis: EnumParam<Analysis>,
    /// Whether scores and cuts are sent as MIDI.
    #[id = "midi-out"]
    pub midi_out: BoolParam,
    /// MIDI channel (1-16) of the score CC and the cut notes.
    #[id = "midi-channel"]
    pub midi_channel: IntParam,
    /// Controller number the score is sent on.
    #[id = "midi-cc"]
    pub midi_cc: IntParam,
    /// Note held for the length of each cut.
    #[id = "cut-note"]
    pub cut_note: IntParam,
}

/// A seconds parameter from 0 to `max` with millisecond display.
fn seconds(name: &str, default: f64, max: f32) -> FloatParam {
    FloatParam::new(
        name,
        default as f32,
        FloatRange::Skewed {
            min: 0.0,
            max,
            factor: FloatRange::skew_factor(-1.0),
        },
    )
    .with_unit(" s")
    .with_value_to_string(formatters::v2s_f32_rounded(3))
}

/// The threshold parameter's default: the built-in model's calibrated threshold, so that
/// turning "Model threshold" off starts from what the built-in model used (a unit test holds it
/// to the shipped model).
pub const BUILT_IN_THRESHOLD: f32 = 0.5;
/// The highest threshold the parameter takes: above the scores of every method (a classifier's
/// probabilities end at 1; reconstruction errors and novelty distances of kept audio sit
/// around 0.1 to 3).
const MAX_THRESHOLD: f32 = 10.0;
/// The lowest: a threshold of zero would cut everything.
const MIN_THRESHOLD: f32 = 0.001;

impl Default for SlicerParams {
    fn default() -> Self {
        let cut = CutOptions::default();
        Self {
            model_path: Arc::new(Mutex::new(String::new())),
            saved_analysis: AnalysisSlot::default(),
            overrides: Arc::new(Mutex::new(Vec::new())),
            editor: Arc::new(Mutex::new(EditorSettings::default())),
            model_threshold: BoolParam::new("Model threshold", true),
            threshold: FloatParam::new(
                "Threshold",
                BUILT_IN_THRESHOLD,
                FloatRange::Skewed {
                    min: MIN_THRESHOLD,
                    max: MAX_THRESHOLD,
                    // Classifier probabilities (0.05..0.95) take most of the travel.
                    factor: FloatRange::skew_factor(-2.0),
                },
            )
            .with_value_to_string(formatters::v2s_f32_rounded(3)),
            min_cut: seconds("Min cut", cut.min_cut, 2.0),
            min_keep: seconds("Min keep", cut.min_keep, 10.0),
            pre_pad: seconds("Pre pad", cut.pre_pad, 0.5),
            post_pad: seconds("Post pad", cut.post_pad, 0.5),
            crossfade: seconds(
                "Crossfade",
                DEFAULT_CROSSFADE_SECONDS,
                MAX_CROSSFADE_SECONDS,
            ),
            snap: EnumParam::new("Snap", Snap::Beat),
            mode: EnumParam::new("Mode", GateMode::Gate),
            // No latency; projects saved before the parameter existed keep Lookahead
            // (`AudioSlicer::filter_state`).
            analysis: EnumParam::new("Analysis", Analysis::Timeline),
            midi_out: BoolParam::new("MIDI out", true),
            midi_channel: IntParam::new("MIDI channel", 1, IntRange::Linear { min: 1, max: 16 }),
            midi_cc: IntParam::new("Score CC", 20, IntRange::Linear { min: 0, max: 119 }),
            cut_note: IntParam::new("Cut note", 60, IntRange::Linear { min: 0, max: 127 })
                .with_value_to_string(formatters::v2s_i32_key_formatter())
                .with_string_to_value(formatters::s2v_i32_key_formatter()),
        }
    }
}

/// The MIDI output settings, in the ranges MIDI bytes take. The parameters' own ranges already
/// hold them there; this is the one place they become bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MidiSettings {
    /// Whether scores and cuts are sent.
    pub enabled: bool,
    /// Channel, 0-15 (shown to users as 1-16).
    pub channel: u8,
    /// Controller number of the score, 0-127.
    pub cc: u8,
    /// Note of the cuts, 0-127.
    pub note: u8,
}

impl SlicerParams {
    /// The MIDI output settings the parameters describe.
    pub fn midi(&self) -> MidiSettings {
        let byte = |v: i32, max: i32| v.clamp(0, max) as u8;
        MidiSettings {
            enabled: self.midi_out.value(),
            channel: byte(self.midi_channel.value() - 1, 15),
            cc: byte(self.midi_cc.value(), 127),
            note: byte(self.cut_note.value(), 127),
        }
    }

    /// The threshold the parameters ask for: the model's calibrated one, or the absolute score.
    pub fn threshold_mode(&self) -> ThresholdMode {
        if self.model_threshold.value() {
            ThresholdMode::Calibrated
        } else {
            ThresholdMode::Absolute(f64::from(self.threshold.value()))
        }
    }

    /// The absolute threshold in use with a model whose calibrated threshold is `calibrated`.
    pub fn threshold_with(&self, calibrated: f64) -> f64 {
        match self.threshold_mode() {
            ThresholdMode::Absolute(t) => t,
            _ => calibrated,
        }
    }

    /// The cut planning options the parameters describe.
    pub fn cut_options(&self) -> CutOptions {
        CutOptions {
            min_keep: f64::from(self.min_keep.value()),
            min_cut: f64::from(self.min_cut.value()),
            pre_pad: f64::from(self.pre_pad.value()),
            post_pad: f64::from(self.post_pad.value()),
            snap: self.snap.value().mode(),
            snap_tolerance: CutOptions::default().snap_tolerance,
        }
    }

    /// A key of everything a plan depends on (threshold, cut rules and the overrides; not the
    /// crossfade or the mode, which only the audio thread applies). Equal keys plan the same
    /// edit.
    pub fn plan_key(&self) -> u64 {
        let cut = self.cut_options();
        let mut key: u64 = 0xcbf2_9ce4_8422_2325;
        let words = [
            self.threshold.value().to_bits(),
            u32::from(self.model_threshold.value()),
            self.min_cut.value().to_bits(),
            self.min_keep.value().to_bits(),
            self.pre_pad.value().to_bits(),
            self.post_pad.value().to_bits(),
            cut.snap as u32,
        ];
        // The analysis thread asks for this key at every block: the overrides are hashed under
        // their lock, not copied out of it.
        let overrides = self.overrides.lock();
        let overrides = overrides.as_deref().map_or(&[][..], |o| o.as_slice());
        // FNV-1a over the words.
        for word in words
            .into_iter()
            .map(u64::from)
            .chain(overrides::key(overrides))
        {
            for byte in word.to_le_bytes() {
                key = (key ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
            }
        }
        key
    }

    /// The stretches kept or cut by hand.
    pub fn overrides(&self) -> Vec<Override> {
        self.overrides.lock().map(|o| o.clone()).unwrap_or_default()
    }

    /// The model directory chosen, or `None` for the built-in model.
    pub fn model_dir(&self) -> Option<String> {
        let path = self
            .model_path
            .lock()
            .map(|p| p.clone())
            .unwrap_or_default();
        (!path.trim().is_empty()).then_some(path)
    }
}
