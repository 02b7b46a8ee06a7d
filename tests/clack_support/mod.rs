//! A minimal CLAP host on clack-host for the tests that load the bundled plugin: it offers the
//! GUI (nice-plug requires it) and latency extensions, loads a model through the plugin's
//! state, renders offline with a playing transport, and pumps main-thread callbacks for the
//! editor.

#![allow(dead_code)]

use std::ffi::CString;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

use clack_extensions::gui::{
    GuiApiType, GuiConfiguration, GuiSize, HostGui, HostGuiImpl, PluginGui,
};
use clack_extensions::latency::{HostLatency, HostLatencyImpl, PluginLatency};
use clack_extensions::render::{PluginRender, RenderMode};
use clack_extensions::state::PluginState;
use clack_host::events::event_types::{
    MidiEvent, NoteOffEvent, NoteOnEvent, TransportEvent, TransportFlags,
};
use clack_host::events::EventFlags;
use clack_host::prelude::*;
use clack_host::utils::{BeatTime, SecondsTime};

/// Samples per process call.
pub const BLOCK: usize = 1024;
/// Host tempo of the transport sent with every block.
pub const TEMPO: f64 = 120.0;
const PLUGIN_ID: &str = "org.audio-slicer.audio-slicer";

#[derive(Default)]
pub struct Shared {
    latency: OnceLock<Option<PluginLatency>>,
    render: OnceLock<Option<PluginRender>>,
    state: OnceLock<Option<PluginState>>,
    gui: OnceLock<Option<PluginGui>>,
    /// The plugin asked for a main-thread callback.
    callback: AtomicBool,
}

impl<'a> SharedHandler<'a> for Shared {
    fn initializing(&self, instance: InitializingPluginHandle<'a>) {
        let _ = self.latency.set(instance.get_extension());
        let _ = self.render.set(instance.get_extension());
        let _ = self.state.set(instance.get_extension());
        let _ = self.gui.set(instance.get_extension());
    }
    fn request_restart(&self) {}
    fn request_process(&self) {}
    fn request_callback(&self) {
        self.callback.store(true, Ordering::Release);
    }
}

// nice-plug's editor needs the host's GUI extension, so the host that opens the editor offers it.
impl HostGuiImpl for Shared {
    fn resize_hints_changed(&self) {}
    fn request_resize(&self, _new_size: GuiSize) -> Result<(), HostError> {
        Ok(())
    }
    fn request_show(&self) -> Result<(), HostError> {
        Ok(())
    }
    fn request_hide(&self) -> Result<(), HostError> {
        Ok(())
    }
    fn closed(&self, _was_destroyed: bool) {}
}

pub struct MainThread;

impl MainThreadHandler<'_> for MainThread {}

impl HostLatencyImpl for MainThread {
    fn changed(&self) {}
}

/// The test host; `GUI` says whether it offers the `clap.gui` extension (a batch renderer or
/// a validator may not).
pub struct TestHost<const GUI: bool>;

/// The host the editor opens in.
pub type Host = TestHost<true>;

impl<const GUI: bool> HostHandlers for TestHost<GUI> {
    type Shared<'a> = Shared;
    type MainThread<'a> = MainThread;
    type AudioProcessor<'a> = ();

    fn declare_extensions(builder: &mut HostExtensions<Self>, _shared: &Self::Shared<'_>) {
        if GUI {
            builder.register::<HostGui>();
        }
        builder.register::<HostLatency>();
    }
}

/// Loads the bundle and instantiates the plugin in a `TestHost<GUI>`; the entry must outlive
/// the instance.
fn instantiate<const GUI: bool>() -> (PluginEntry, PluginInstance<TestHost<GUI>>) {
    let path = bundle();
    assert!(
        path.exists(),
        "{} is missing: bundle the plugin first",
        path.display()
    );
    let host_info = HostInfo::new("audio-slicer test host", "audio-slicer", "", "0.1").unwrap();
    let entry = unsafe { PluginEntry::load(&path) }.expect("cannot load the bundle");
    let id = CString::new(PLUGIN_ID).unwrap();
    let instance = PluginInstance::<TestHost<GUI>>::new(
        |_| Shared::default(),
        |_| MainThread,
        &entry,
        &id,
        &host_info,
    )
    .expect("cannot instantiate the plugin");
    (entry, instance)
}

/// Instantiates the bundled plugin in a host without `clap.gui`, asks it for its editor as
/// such a host might, and returns whether creating the editor succeeded.
pub fn editor_created_in_a_host_without_gui() -> bool {
    let (_entry, mut instance) = instantiate::<false>();
    let gui = instance
        .access_shared_handler(|h| *h.gui.get().unwrap())
        .expect("the plugin offers its GUI extension");
    let config = GuiConfiguration {
        api_type: GuiApiType::X11,
        is_floating: false,
    };
    gui.create(&instance.plugin_handle(), config).is_ok()
}

/// The bundled plugin (or `AUDIO_SLICER_CLAP`).
pub fn bundle() -> PathBuf {
    std::env::var_os("AUDIO_SLICER_CLAP").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bundled/Audio Slicer.clap"),
        PathBuf::from,
    )
}

/// What the host got back from one render.
pub struct Output {
    pub audio: Vec<Vec<f32>>,
    /// `(position, status byte, data1, data2)` of MIDI and note events.
    pub midi: Vec<(usize, u8, u8, u8)>,
    pub latency: usize,
}

/// The bundled plugin, instantiated in the test host.
pub struct ClapSession {
    pub instance: PluginInstance<Host>,
    _entry: PluginEntry,
}

impl ClapSession {
    /// Loads the bundle and instantiates the plugin.
    pub fn open() -> Self {
        let (entry, instance) = instantiate::<true>();
        Self {
            instance,
            _entry: entry,
        }
    }

    /// The plugin's GUI extension.
    pub fn gui(&self) -> PluginGui {
        self.instance
            .access_shared_handler(|h| *h.gui.get().unwrap())
            .expect("no GUI extension")
    }

    /// Runs the main-thread callback if the plugin asked for one.
    pub fn pump(&mut self) {
        let asked = self
            .instance
            .access_shared_handler(|h| h.callback.swap(false, Ordering::AcqRel));
        if asked {
            self.instance.call_on_main_thread_callback();
        }
    }

    /// The plugin's saved state: nice-plug's JSON (after its little-endian u64 length).
    pub fn state(&mut self) -> serde_json::Value {
        let state = self.state_extension();
        let mut saved = Vec::new();
        state
            .save(&self.instance.plugin_handle(), &mut saved)
            .unwrap();
        serde_json::from_slice(&saved[8..]).unwrap()
    }

    /// Loads `json` as the plugin's state, as a DAW restoring a project does.
    pub fn load_state(&mut self, json: &serde_json::Value) {
        let state = self.state_extension();
        let body = serde_json::to_vec(json).unwrap();
        let mut bytes = (body.len() as u64).to_le_bytes().to_vec();
        bytes.extend_from_slice(&body);
        state
            .load(&self.instance.plugin_handle(), &mut bytes.as_slice())
            .unwrap();
    }

    fn state_extension(&self) -> PluginState {
        self.instance
            .access_shared_handler(|h| *h.state.get().unwrap())
            .expect("no state extension")
    }

    /// Points the plugin at a model directory through its saved state, and checks the state
    /// reads back.
    pub fn use_model(&mut self, dir: &Path) {
        let mut json = self.state();
        let dir = dir.display().to_string();
        json["fields"]["model-path"] =
            serde_json::Value::String(serde_json::to_string(&dir).unwrap());
        self.load_state(&json);
        assert!(
            self.state().to_string().contains(&dir),
            "state did not round-trip"
        );
    }

    /// Sets the Analysis parameter ("timeline" or "lookahead") through the saved state.
    pub fn use_analysis(&mut self, id: &str) {
        let mut json = self.state();
        json["params"]["analysis"] = serde_json::json!({ "string": id });
        self.load_state(&json);
    }

    /// Renders `input` offline at `rate` with a playing transport.
    pub fn render(&mut self, input: &[Vec<f32>], rate: u32) -> Output {
        let (render, latency) = self
            .instance
            .access_shared_handler(|h| (*h.render.get().unwrap(), *h.latency.get().unwrap()));
        let (render, latency) = (
            render.expect("no render extension"),
            latency.expect("no latency extension"),
        );
        render
            .set(&self.instance.plugin_handle(), RenderMode::Offline)
            .unwrap();
        let config = PluginAudioConfiguration {
            sample_rate: f64::from(rate),
            min_frames_count: 1,
            max_frames_count: BLOCK as u32,
        };
        let processor = self.instance.activate(|_, _| (), config).unwrap();
        let latency = latency.get(&self.instance.plugin_handle()) as usize;
        let mut processor = processor.start_processing().unwrap();

        let frames = input[0].len();
        let mut audio = vec![Vec::with_capacity(frames); input.len()];
        let mut midi = Vec::new();
        let mut inputs = vec![vec![0.0f32; BLOCK]; input.len()];
        let mut outputs = vec![vec![0.0f32; BLOCK]; input.len()];
        let mut in_ports = AudioPorts::with_capacity(input.len(), 1);
        let mut out_ports = AudioPorts::with_capacity(input.len(), 1);
        let mut events = EventBuffer::new();
        for start in (0..frames).step_by(BLOCK) {
            let n = BLOCK.min(frames - start);
            for (buf, ch) in inputs.iter_mut().zip(input) {
                buf[..n].copy_from_slice(&ch[start..start + n]);
            }
            let in_audio = in_ports.with_input_buffers([AudioPortBuffer {
                latency: 0,
                channels: AudioPortBufferType::f32_input_only(
                    inputs
                        .iter_mut()
                        .map(|b| InputChannel::variable(&mut b[..n])),
                ),
            }]);
            let mut out_audio = out_ports.with_output_buffers([AudioPortBuffer {
                latency: 0,
                channels: AudioPortBufferType::f32_output_only(
                    outputs.iter_mut().map(|b| &mut b[..n]),
                ),
            }]);
            events.clear();
            let transport = transport_at(start, rate);
            processor
                .process(
                    &in_audio,
                    &mut out_audio,
                    &InputEvents::empty(),
                    &mut OutputEvents::from_buffer(&mut events),
                    Some(start as u64),
                    Some(&transport),
                )
                .unwrap();
            for (acc, buf) in audio.iter_mut().zip(&outputs) {
                acc.extend_from_slice(&buf[..n]);
            }
            for event in events.iter() {
                let at = start + event.header().time() as usize;
                if let Some(m) = event.as_event::<MidiEvent>() {
                    let d = m.data();
                    midi.push((at, d[0], d[1], d[2]));
                } else if let Some(e) = event.as_event::<NoteOnEvent>() {
                    midi.push((at, 0x90, e.key().into_specific().unwrap_or(0) as u8, 127));
                } else if let Some(e) = event.as_event::<NoteOffEvent>() {
                    midi.push((at, 0x80, e.key().into_specific().unwrap_or(0) as u8, 0));
                }
            }
        }
        let processor = processor.stop_processing();
        self.instance.deactivate(processor);
        midi.sort_by_key(|m| m.0);
        Output {
            audio,
            midi,
            latency,
        }
    }
}

/// A playing 4/4 transport at 120 BPM positioned at sample `at`.
fn transport_at(at: usize, rate: u32) -> TransportEvent {
    let seconds = at as f64 / f64::from(rate);
    let beats = seconds * TEMPO / 60.0;
    TransportEvent {
        header: EventHeader::new_core(0, EventFlags::empty()),
        flags: TransportFlags::IS_PLAYING
            | TransportFlags::HAS_TEMPO
            | TransportFlags::HAS_BEATS_TIMELINE
            | TransportFlags::HAS_SECONDS_TIMELINE
            | TransportFlags::HAS_TIME_SIGNATURE,
        song_pos_beats: BeatTime::from_float(beats),
        song_pos_seconds: SecondsTime::from_float(seconds),
        tempo: TEMPO,
        tempo_inc: 0.0,
        loop_start_beats: BeatTime::from_int(0),
        loop_end_beats: BeatTime::from_int(0),
        loop_start_seconds: SecondsTime::from_int(0),
        loop_end_seconds: SecondsTime::from_int(0),
        bar_start: BeatTime::from_float((beats / 4.0).floor() * 4.0),
        bar_number: (beats / 4.0).floor() as i32,
        time_signature_numerator: 4,
        time_signature_denominator: 4,
    }
}
